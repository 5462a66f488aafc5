// Shared pieces of the comparison, logic, Where and Min/Max ops: their shape inference and the
// broadcasting loops that read Bool tensors as bytes (0 or 1) and write Bool results.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

// Equal, Greater, Less, GreaterOrEqual, LessOrEqual: two inputs of one dtype (float32, int64 or
// int32; Bool too when `allowBool`, as ONNX's Equal allows), Bool output of the broadcast shape.
Status inferComparison(std::string_view op, std::span<const TensorInfo> in,
                       std::span<TensorInfo> out, bool allowBool = false);

// And, Or: two Bool inputs, Bool output of the broadcast shape.
Status inferLogicBinary(std::string_view op, std::span<const TensorInfo> in,
                        std::span<TensorInfo> out);

// Min, Max: 1..n inputs of one dtype (float32, int64 or int32), output of the shape all of them
// broadcast to.
Status inferVariadicBroadcast(std::string_view op, std::span<const TensorInfo> in,
                              std::span<TensorInfo> out);

// ONNX import of the two-input comparison and logic ops: both inputs kept; opset<7 legacy
// broadcasting is refused (importBroadcastBinary).
Result<OnnxImport> importComparison(const OnnxNodeIn& node);

// out[o] = cmp(a[ia], b[ib]) as a Bool byte, over the broadcast index; a and b hold T.
template <class T, class Cmp>
void compareLoop(const Tensor& a, const Tensor& b, Tensor& out, Cmp cmp) {
    const T* pa = reinterpret_cast<const T*>(a.raw());
    const T* pb = reinterpret_cast<const T*>(b.raw());
    auto* po = reinterpret_cast<uint8_t*>(out.raw());
    forEachBroadcast(out.shape(), a.shape(), b.shape(), [&](int64_t o, int64_t ia, int64_t ib) {
        po[o] = cmp(pa[ia], pb[ib]) ? 1 : 0;
    });
}

// The comparison reference for every dtype inferComparison accepts. Bool inputs are read as
// bytes, any non-zero byte counting as true, so a stray byte from a file cannot be UB.
template <class Cmp>
Status compareReference(std::string_view op, const Tensor& a, const Tensor& b, Tensor& out,
                        Cmp cmp) {
    switch (a.dtype()) {
        case DataType::Float32:
            compareLoop<float>(a, b, out, cmp);
            return {};
        case DataType::Int64:
            compareLoop<int64_t>(a, b, out, cmp);
            return {};
        case DataType::Int32:
            compareLoop<int32_t>(a, b, out, cmp);
            return {};
        case DataType::Bool:
            compareLoop<uint8_t>(a, b, out,
                                 [&](uint8_t x, uint8_t y) { return cmp(x != 0, y != 0); });
            return {};
        default:
            return makeError(ErrorCode::Unsupported,
                             std::string(op) + " of " + dtypeText(a.dtype()));
    }
}

// out[o] = fn(a[ia] != 0, b[ib] != 0) over Bool tensors.
template <class Fn>
void logicLoop(const Tensor& a, const Tensor& b, Tensor& out, Fn fn) {
    compareLoop<uint8_t>(a, b, out, [&](uint8_t x, uint8_t y) { return fn(x != 0, y != 0); });
}

// Min and Max: out = in[0] broadcast to out's shape, then out[o] = pick(out[o], in[k][ik]) for
// each further input k, in order.
template <class T, class Pick>
void foldBroadcastLoop(std::span<const Tensor* const> in, Tensor& out, Pick pick) {
    T* po = out.data<T>();
    const Shape& shape = out.shape();
    const T* p0 = in[0]->data<T>();
    forEachBroadcast(shape, shape, in[0]->shape(),
                     [&](int64_t o, int64_t, int64_t i0) { po[o] = p0[i0]; });
    for (size_t k = 1; k < in.size(); ++k) {
        const T* pk = in[k]->data<T>();
        forEachBroadcast(shape, shape, in[k]->shape(),
                         [&](int64_t o, int64_t, int64_t ik) { po[o] = pick(po[o], pk[ik]); });
    }
}

// The Min/Max reference for every dtype inferVariadicBroadcast accepts.
template <class Pick>
Status foldReference(std::string_view op, std::span<const Tensor* const> in, Tensor& out,
                     Pick pick) {
    switch (out.dtype()) {
        case DataType::Float32:
            foldBroadcastLoop<float>(in, out, pick);
            return {};
        case DataType::Int64:
            foldBroadcastLoop<int64_t>(in, out, pick);
            return {};
        case DataType::Int32:
            foldBroadcastLoop<int32_t>(in, out, pick);
            return {};
        default:
            return makeError(ErrorCode::Unsupported,
                             std::string(op) + " of " + dtypeText(out.dtype()));
    }
}

// Min/Max import: every input kept (1..n, none absent); opset<6's consumed_inputs dropped.
Result<OnnxImport> importVariadic(const OnnxNodeIn& node);

}  // namespace prunelab::engine

// Shared pieces of the element-wise and tensor ops: numpy broadcasting (shapes, strides and an
// index walker any runtime may reuse), the one-input float kernel helper, and the small ONNX
// mapping helpers (constant operands, axis normalisation) that many op files need.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine {

// ---- Broadcasting (numpy rules: align trailing dims; a dim of 1 or a missing one stretches) --

// The broadcast shape of a and b, or ShapeMismatch "cannot broadcast [1, 3, 4] with [1, 5]".
Result<Shape> broadcastShapes(const Shape& a, const Shape& b);
// True when `from` broadcasts to exactly `to` (one-directional, as PRelu's slope does).
bool broadcastsTo(const Shape& from, const Shape& to);
// Row-major strides in elements: [2, 3, 4] -> [12, 4, 1].
std::vector<int64_t> contiguousStrides(const Shape& shape);
// Strides of a contiguous tensor of shape `in` read as if broadcast to `out` (same rank as
// out): 0 along stretched or missing dims. `in` must broadcast to `out`.
std::vector<int64_t> broadcastStrides(const Shape& in, const Shape& out);

// Calls fn(o, ia, ib) for every flat output index o of shape `out` in row-major order, with
// ia / ib the flat indices of the elements of a / b that broadcast onto it. Cost: O(1)
// amortised per element (an odometer over the output index), no division per element.
template <class Fn>
void forEachBroadcast(const Shape& out, const Shape& a, const Shape& b, Fn&& fn) {
    const int64_t total = elementCount(out);
    if (total == 0) return;
    const std::vector<int64_t> sa = broadcastStrides(a, out);
    const std::vector<int64_t> sb = broadcastStrides(b, out);
    std::vector<int64_t> index(out.size(), 0);
    int64_t ia = 0;
    int64_t ib = 0;
    for (int64_t o = 0; o < total; ++o) {
        fn(o, ia, ib);
        // Step the output index like an odometer; each input's offset moves with it.
        for (size_t d = out.size(); d-- > 0;) {
            ++index[d];
            ia += sa[d];
            ib += sb[d];
            if (index[d] < out[d]) break;
            ia -= sa[d] * out[d];
            ib -= sb[d] * out[d];
            index[d] = 0;
        }
    }
}

// out[o] = fn(a[ia], b[ib]) over the broadcast index; all three tensors hold T.
template <class T, class Fn>
void binaryBroadcastLoop(const Tensor& a, const Tensor& b, Tensor& out, Fn&& fn) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    forEachBroadcast(out.shape(), a.shape(), b.shape(),
                     [&](int64_t o, int64_t ia, int64_t ib) { po[o] = fn(pa[ia], pb[ib]); });
}

// Integer add/sub/mul that wrap in two's complement like ONNX Runtime and numpy do: signed
// overflow is undefined behaviour in C++, unsigned arithmetic is not.
template <class T>
T wrapAdd(T x, T y) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
}
template <class T>
T wrapSub(T x, T y) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
}
template <class T>
T wrapMul(T x, T y) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
}

// Shape inference of Add/Sub/Mul/Div: two present inputs of the same dtype (float32, int64 or
// int32), output = broadcast shape.
Status inferBroadcastArithmetic(std::string_view op, std::span<const TensorInfo> in,
                                std::span<TensorInfo> out);

// ONNX import of Add/Sub/Mul/Div/Pow: both inputs kept. Opset < 7's `broadcast`/`axis`
// attributes (legacy, non-numpy broadcasting) are refused as Unsupported.
Result<OnnxImport> importBroadcastBinary(const OnnxNodeIn& node);

// ---- One-input float32 ops (Relu, Sigmoid, Tanh, ...) ----

// One present float32 input; the output has its dtype and shape.
Status inferUnaryFloat(std::string_view op, std::span<const TensorInfo> in,
                       std::span<TensorInfo> out);

// y[i] = fn(x[i]) over float32 tensors of the same shape.
template <class Fn>
void unaryFloatLoop(const Tensor& x, Tensor& y, Fn&& fn) {
    std::span<const float> src = x.span<float>();
    std::span<float> dst = y.span<float>();
    for (size_t i = 0; i < src.size(); ++i) dst[i] = fn(src[i]);
}

// ---- Checks shared by the ops' shape inference ----

// InvalidArgument unless minCount <= in.size() <= maxCount and the first minCount are present.
Status expectInputs(std::string_view op, std::span<const TensorInfo> in, size_t minCount,
                    size_t maxCount);
// Maps axis in [-rank, rank) to [0, rank); InvalidArgument "<what> -5 is out of range for
// rank 4" otherwise.
Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, std::string_view what);
// "float32", for messages.
std::string dtypeText(DataType type);

// ---- ONNX mapping helpers ----

// The node's ONNX attributes (an empty set when the importer passed none).
const Attributes& onnxAttrs(const OnnxNodeIn& node);
// True when ONNX input `index` exists and is not an empty optional slot.
bool hasOnnxInput(const OnnxNodeIn& node, size_t index);
// The integer elements of constant input `index`; Unsupported when it is computed at run time
// ("Reshape's shape input must be a constant"). `what` names it: "Reshape's shape".
Result<std::vector<int64_t>> constantInts(const OnnxNodeIn& node, size_t index,
                                          std::string_view what);
// The single float of constant scalar input `index` (Clip's bounds, Pad's constant_value).
Result<float> constantScalar(const OnnxNodeIn& node, size_t index, std::string_view what);
// Keeps ONNX input 0 as the only IR input, no attributes (Relu, Sigmoid, ...; opset 6's
// legacy `consumed_inputs` attribute is dropped). InvalidArgument when input 0 is missing.
Result<OnnxImport> importFirstInput(const OnnxNodeIn& node);
// Every ONNX input kept as an IR input in place, no attributes (Relu, Add, Identity...).
OnnxImport importInputsAsIs(const OnnxNodeIn& node);
// One ONNX node of type `opType` with all IR inputs and the canonical attributes as written.
std::vector<OnnxNodeOut> exportAsIs(const Node& node, std::string_view opType);
// Operand builders for exporters.
OnnxOperand irOperand(int index);
OnnxOperand constantOperand(Tensor value);
// A 1-D int64 tensor holding `values` (the shape-like operands of Slice, Reshape...).
Tensor int64Vector(const std::vector<int64_t>& values);

}  // namespace prunelab::engine

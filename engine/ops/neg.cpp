// Neg: y = -x, float32, int64 or int32 (integers wrap: -INT_MIN stays INT_MIN, as in ONNX
// Runtime and numpy).
#include <type_traits>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Neg", in, 1, 1));
    const DataType t = in[0].dtype;
    if (t != DataType::Float32 && t != DataType::Int64 && t != DataType::Int32) {
        return makeError(ErrorCode::Unsupported,
                         "Neg supports float32, int64 and int32, not " + dtypeText(t));
    }
    out[0].dtype = t;
    out[0].shape = in[0].shape;
    return {};
}

template <class T>
void negLoop(const Tensor& x, Tensor& y) {
    std::span<const T> src = x.span<T>();
    std::span<T> dst = y.span<T>();
    for (size_t i = 0; i < src.size(); ++i) {
        // 0 - x in unsigned arithmetic for integers: signed overflow would be undefined.
        if constexpr (std::is_integral_v<T>) {
            dst[i] = wrapSub<T>(T(0), src[i]);
        } else {
            dst[i] = -src[i];
        }
    }
}

// y = -x
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    switch (in[0]->dtype()) {
        case DataType::Float32:
            negLoop<float>(*in[0], *out[0]);
            return {};
        case DataType::Int64:
            negLoop<int64_t>(*in[0], *out[0]);
            return {};
        case DataType::Int32:
            negLoop<int32_t>(*in[0], *out[0]);
            return {};
        default:
            return makeError(ErrorCode::Unsupported, "Neg of " + dtypeText(in[0]->dtype()));
    }
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Neg");
}

}  // namespace

const OpDef kOpDefNeg = {OpKind::Neg, "Neg", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

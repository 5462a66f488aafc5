// Pow: C = A ^ B with numpy broadcasting; a float32 base with a float32, int64 or int32
// exponent (ONNX allows mixed types here, and x^2 with an int exponent is common).
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Pow", in, 2, 2));
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported,
                         "Pow supports a float32 base, not " + dtypeText(in[0].dtype));
    }
    const DataType e = in[1].dtype;
    if (e != DataType::Float32 && e != DataType::Int64 && e != DataType::Int32) {
        return makeError(ErrorCode::Unsupported,
                         "Pow supports float32, int64 or int32 exponents, not " + dtypeText(e));
    }
    PL_TRY_ASSIGN(Shape shape, broadcastShapes(in[0].shape, in[1].shape));
    out[0].dtype = DataType::Float32;
    out[0].shape = std::move(shape);
    return {};
}

// out[o] = base[ia] ^ exponent[ib]; the exponent is read as double so int64 exponents stay
// exact and std::pow picks the exact integer-power path (e.g. (-2)^3 = -8, not NaN).
template <class E>
void powLoop(const Tensor& base, const Tensor& exponent, Tensor& c) {
    const float* pa = base.data<float>();
    const E* pb = exponent.data<E>();
    float* pc = c.data<float>();
    forEachBroadcast(c.shape(), base.shape(), exponent.shape(),
                     [&](int64_t o, int64_t ia, int64_t ib) {
                         pc[o] = static_cast<float>(
                             std::pow(static_cast<double>(pa[ia]), static_cast<double>(pb[ib])));
                     });
}

// C[i] = A[a(i)] ^ B[b(i)]
// where i is an index of C and a(i), b(i) are i with stretched dims of A and B set to 0.
// A negative base with a non-integer exponent gives NaN, as in IEEE pow.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    switch (in[1]->dtype()) {
        case DataType::Float32:
            powLoop<float>(*in[0], *in[1], *out[0]);
            break;
        case DataType::Int64:
            powLoop<int64_t>(*in[0], *in[1], *out[0]);
            break;
        case DataType::Int32:
            powLoop<int32_t>(*in[0], *in[1], *out[0]);
            break;
        default:
            return makeError(ErrorCode::Unsupported,
                             "Pow exponent of " + dtypeText(in[1]->dtype()));
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importBroadcastBinary(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Pow");
}

}  // namespace

const OpDef kOpDefPow = {OpKind::Pow, "Pow", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

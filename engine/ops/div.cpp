// Div: C = A / B with numpy broadcasting; float32, int64 and int32. Integer division truncates
// toward zero (as C++ and ONNX Runtime do, unlike numpy's floor division).
#include <limits>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferBroadcastArithmetic("Div", in, out);
}

// Integer division: -7 / 2 = -3 (truncation). A zero divisor is an error rather than a crash;
// INT_MIN / -1 (which overflows) wraps to INT_MIN like two's-complement hardware would.
template <class T>
Status integerDivide(const Tensor& a, const Tensor& b, Tensor& c) {
    for (T divisor : b.span<T>()) {
        if (divisor == 0) return makeError(ErrorCode::InvalidArgument, "integer division by zero");
    }
    binaryBroadcastLoop<T>(a, b, c, [](T x, T y) {
        if (y == -1) return wrapSub<T>(0, x);
        return static_cast<T>(x / y);
    });
    return {};
}

// C[i] = A[a(i)] / B[b(i)]
// where i is an index of C and a(i), b(i) are i with stretched dims of A and B set to 0.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    Tensor& c = *out[0];
    switch (a.dtype()) {
        case DataType::Float32:
            // IEEE: x / 0 = +-inf, 0 / 0 = NaN.
            binaryBroadcastLoop<float>(a, b, c, [](float x, float y) { return x / y; });
            return {};
        case DataType::Int64:
            return integerDivide<int64_t>(a, b, c);
        case DataType::Int32:
            return integerDivide<int32_t>(a, b, c);
        default:
            return makeError(ErrorCode::Unsupported, "Div of " + dtypeText(a.dtype()));
    }
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importBroadcastBinary(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Div");
}

}  // namespace

const OpDef kOpDefDiv = {OpKind::Div, "Div", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

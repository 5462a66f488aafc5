// Add: C = A + B with numpy broadcasting; float32, int64 and int32 (shape arithmetic).
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferBroadcastArithmetic("Add", in, out);
}

// C[i] = A[a(i)] + B[b(i)]
// where i is an index of C and a(i), b(i) are i with stretched dims of A and B set to 0.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    Tensor& c = *out[0];
    switch (a.dtype()) {
        case DataType::Float32:
            binaryBroadcastLoop<float>(a, b, c, [](float x, float y) { return x + y; });
            break;
        case DataType::Int64:
            // Integers wrap on overflow like ONNX Runtime (see wrapAdd).
            binaryBroadcastLoop<int64_t>(a, b, c, wrapAdd<int64_t>);
            break;
        case DataType::Int32:
            binaryBroadcastLoop<int32_t>(a, b, c, wrapAdd<int32_t>);
            break;
        default:
            return makeError(ErrorCode::Unsupported, "Add of " + dtypeText(a.dtype()));
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importBroadcastBinary(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Add");
}

}  // namespace

const OpDef kOpDefAdd = {OpKind::Add, "Add", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

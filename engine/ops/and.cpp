// And: C = A and B, element-wise over bool tensors with numpy broadcasting.
#include "engine/ops/logic.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferLogicBinary("And", in, out);
}

// C[i] = A[a(i)] and B[b(i)]
// where i is an index of C and a(i), b(i) are i with stretched dims of A and B set to 0.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    logicLoop(*in[0], *in[1], *out[0], [](bool x, bool y) { return x && y; });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importComparison(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "And");
}

}  // namespace

const OpDef kOpDefAnd = {OpKind::And, "And", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

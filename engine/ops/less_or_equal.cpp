// LessOrEqual: C = (A <= B), numpy broadcasting; float32, int64 or int32 inputs,
// bool output. Any comparison with NaN is false (IEEE 754). ONNX added it in opset 12.
#include "engine/ops/logic.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferComparison("LessOrEqual", in, out);
}

// C[i] = (A[a(i)] <= B[b(i)]) ? 1 : 0
// where i is an index of C and a(i), b(i) are i with stretched dims of A and B set to 0.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    return compareReference("LessOrEqual", *in[0], *in[1], *out[0],
                            [](auto x, auto y) { return x <= y; });
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importComparison(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "LessOrEqual");
}

}  // namespace

const OpDef kOpDefLessOrEqual = {OpKind::LessOrEqual, "LessOrEqual", infer, reference,
                                 importOnnx,          exportOnnx,    {}};

}  // namespace prunelab::engine

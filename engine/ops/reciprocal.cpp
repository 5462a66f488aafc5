// Reciprocal: y = 1 / x, float32 (1/0 = inf with 0's sign).

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Reciprocal", in, out);
}

// y = 1 / x
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return 1.0f / x; });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Reciprocal");
}

}  // namespace

const OpDef kOpDefReciprocal = {OpKind::Reciprocal, "Reciprocal", infer, reference,
                                importOnnx,         exportOnnx,   {}};

}  // namespace prunelab::engine

// Relu: y = max(x, 0), float32.
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Relu", in, out);
}

// y = max(x, 0)
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return x > 0.0f ? x : 0.0f; });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Relu");
}

}  // namespace

const OpDef kOpDefRelu = {OpKind::Relu, "Relu", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Ceil: y = ceil(x), the smallest integer >= x, float32.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Ceil", in, out);
}

// y = ceil(x)
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return std::ceil(x); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Ceil");
}

}  // namespace

const OpDef kOpDefCeil = {OpKind::Ceil, "Ceil", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Floor: y = floor(x), the largest integer <= x, float32.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Floor", in, out);
}

// y = floor(x)
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return std::floor(x); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Floor");
}

}  // namespace

const OpDef kOpDefFloor = {OpKind::Floor, "Floor", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

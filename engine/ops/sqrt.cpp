// Sqrt: y = sqrt(x), float32 (NaN for x < 0, as IEEE says).
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Sqrt", in, out);
}

// y = sqrt(x); sqrt(-1) = NaN, sqrt(-0) = -0
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return std::sqrt(x); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Sqrt");
}

}  // namespace

const OpDef kOpDefSqrt = {OpKind::Sqrt, "Sqrt", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Erf: y = erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt, float32
// (GELU's building block).
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Erf", in, out);
}

// y = erf(x) = 2/sqrt(pi) * int_0^x e^(-t^2) dt
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return std::erf(x); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Erf");
}

}  // namespace

const OpDef kOpDefErf = {OpKind::Erf, "Erf", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

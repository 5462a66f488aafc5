// Log: y = ln(x), float32 (log(0) = -inf, log(x < 0) = NaN).
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Log", in, out);
}

// y = ln(x)
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return std::log(x); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Log");
}

}  // namespace

const OpDef kOpDefLog = {OpKind::Log, "Log", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

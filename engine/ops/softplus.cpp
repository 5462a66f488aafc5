// Softplus: y = ln(1 + e^x), a smooth ReLU, float32. Computed as max(x, 0) + ln(1 + e^-|x|) so
// e^x never overflows (the naive form gives inf from x = 89 on) and no precision is lost for
// large negative x.
#include <algorithm>
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"
#include "engine/ops/softplus.h"

namespace prunelab::engine {

double softplus(double x) {
    // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): equal for both signs of x, and e^-|x| <= 1.
    if (std::isnan(x)) return x;
    return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Softplus", in, out);
}

// y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), in double, rounded once to float32.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) { return static_cast<float>(softplus(x)); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Softplus");
}

}  // namespace

const OpDef kOpDefSoftplus = {OpKind::Softplus, "Softplus", infer, reference,
                              importOnnx,       exportOnnx, {}};

}  // namespace prunelab::engine

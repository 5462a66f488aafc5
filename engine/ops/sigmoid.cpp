// Sigmoid: y = 1 / (1 + e^-x), float32.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Sigmoid", in, out);
}

// y = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0: there e^-x would overflow to inf
// below x = -88 and round the (tiny but representable) result to 0.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) {
        if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
        const float e = std::exp(x);
        return e / (1.0f + e);
    });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Sigmoid");
}

}  // namespace

const OpDef kOpDefSigmoid = {OpKind::Sigmoid, "Sigmoid",  infer, reference,
                             importOnnx,      exportOnnx, {}};

}  // namespace prunelab::engine

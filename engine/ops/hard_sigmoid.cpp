// HardSigmoid: y = max(0, min(1, alpha * x + beta)), alpha 0.2 and beta 0.5 by default; float32.
#include <algorithm>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

constexpr float kDefaultAlpha = 0.2f;
constexpr float kDefaultBeta = 0.5f;

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("HardSigmoid", in, out);
}

// y = max(0, min(1, alpha * x + beta)): a piecewise-linear stand-in for the sigmoid.
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const float alpha = node.attrs.getFloat("alpha", kDefaultAlpha);
    const float beta = node.attrs.getFloat("beta", kDefaultBeta);
    unaryFloatLoop(*in[0], *out[0], [alpha, beta](float x) {
        return std::max(0.0f, std::min(1.0f, alpha * x + beta));
    });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    result.attrs.set("alpha", onnxAttrs(node).getFloat("alpha", kDefaultAlpha));
    result.attrs.set("beta", onnxAttrs(node).getFloat("beta", kDefaultBeta));
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    std::vector<OnnxNodeOut> chain = exportAsIs(node, "HardSigmoid");
    chain[0].attrs = Attributes{};
    chain[0].attrs.set("alpha", node.attrs.getFloat("alpha", kDefaultAlpha));
    chain[0].attrs.set("beta", node.attrs.getFloat("beta", kDefaultBeta));
    return chain;
}

}  // namespace

const OpDef kOpDefHardSigmoid = {OpKind::HardSigmoid, "HardSigmoid", infer, reference,
                                 importOnnx,          exportOnnx,    {}};

}  // namespace prunelab::engine

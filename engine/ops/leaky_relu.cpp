// LeakyRelu: y = x for x >= 0, alpha * x otherwise (alpha defaults to 0.01), float32.
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

constexpr float kDefaultAlpha = 0.01f;

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("LeakyRelu", in, out);
}

// y = x        if x >= 0
//     alpha*x  otherwise
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const float alpha = node.attrs.getFloat("alpha", kDefaultAlpha);
    unaryFloatLoop(*in[0], *out[0], [alpha](float x) { return x >= 0.0f ? x : alpha * x; });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    result.attrs.set("alpha", onnxAttrs(node).getFloat("alpha", kDefaultAlpha));
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    std::vector<OnnxNodeOut> chain = exportAsIs(node, "LeakyRelu");
    chain[0].attrs = Attributes{};
    chain[0].attrs.set("alpha", node.attrs.getFloat("alpha", kDefaultAlpha));
    return chain;
}

}  // namespace

const OpDef kOpDefLeakyRelu = {OpKind::LeakyRelu, "LeakyRelu", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

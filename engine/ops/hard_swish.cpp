// HardSwish: y = x * max(0, min(1, x / 6 + 1/2)), float32 (MobileNetV3's cheap swish).
// ONNX added it in opset 14, so the opset-13 export writes HardSigmoid followed by Mul.
#include <algorithm>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("HardSwish", in, out);
}

// y = x * max(0, min(1, x / 6 + 0.5)) = x * relu6(x + 3) / 6
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0],
                   [](float x) { return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

// Opset 13 has no HardSwish: HardSigmoid(alpha = 1/6, beta = 0.5) then Mul by x. An importer
// reading this back sees two nodes; a fusion pass may merge them again.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node&, const Graph&) {
    OnnxNodeOut gate;
    gate.opType = "HardSigmoid";
    gate.attrs.set("alpha", 1.0f / 6.0f);
    gate.attrs.set("beta", 0.5f);
    gate.inputs = {irOperand(0)};
    OnnxNodeOut mul;
    mul.opType = "Mul";
    mul.inputs = {irOperand(0), OnnxOperand{OnnxOperand::Kind::Chained, 0, {}}};
    return std::vector<OnnxNodeOut>{gate, mul};
}

}  // namespace

const OpDef kOpDefHardSwish = {OpKind::HardSwish, "HardSwish", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

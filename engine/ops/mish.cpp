// Mish: y = x * tanh(softplus(x)) = x * tanh(ln(1 + e^x)), float32 (YOLOv4's activation; ncnn's
// Mish layer imports as this op). ONNX added it in opset 18, so the opset-13 export writes
// Softplus, Tanh, Mul.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"
#include "engine/ops/softplus.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Mish", in, out);
}

// y = x * tanh(ln(1 + e^x)), in double with the overflow-safe softplus. The limits: y -> x as
// x -> +inf, y -> 0 as x -> -inf (where x * tanh(0) would be -inf * 0 = NaN, so -inf maps to
// -0 by its limit).
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], [](float x) {
        if (std::isinf(x)) return x > 0 ? x : -0.0f;
        const double v = x;
        return static_cast<float>(v * std::tanh(softplus(v)));
    });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

// Softplus(x) -> Tanh -> Mul by x: the opset-13 spelling of Mish.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node&, const Graph&) {
    OnnxNodeOut soft;
    soft.opType = "Softplus";
    soft.inputs = {irOperand(0)};
    OnnxNodeOut tanh;
    tanh.opType = "Tanh";
    tanh.inputs = {OnnxOperand{OnnxOperand::Kind::Chained, 0, {}}};
    OnnxNodeOut mul;
    mul.opType = "Mul";
    mul.inputs = {irOperand(0), OnnxOperand{OnnxOperand::Kind::Chained, 1, {}}};
    return std::vector<OnnxNodeOut>{soft, tanh, mul};
}

}  // namespace

const OpDef kOpDefMish = {OpKind::Mish, "Mish", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// ConstantOfShape: a tensor of the canonical `shape` filled with the one element of the
// `value` tensor (float32 0 by default); its dtype is the value's. No inputs in the IR.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Tensor defaultValue() {
    return Tensor::fromVector<float>({1}, {0.0f});
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("ConstantOfShape", in, 0, 0));
    const Tensor* value = node.attrs.getTensor("value");
    if (value != nullptr && value->elements() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "ConstantOfShape value must hold one element, got shape " +
                             shapeToString(value->shape()));
    }
    const Shape shape = node.attrs.getInts("shape");
    PL_TRY(checkedElementCount(shape));
    out[0].dtype = value != nullptr ? value->dtype() : DataType::Float32;
    out[0].shape = shape;
    return {};
}

// Y[i] = value for every i (the value's bytes copied into each element).
Status reference(const Node& node, std::span<const Tensor* const>, std::span<Tensor* const> out) {
    const Tensor* given = node.attrs.getTensor("value");
    const Tensor value = given != nullptr ? *given : defaultValue();
    Tensor& y = *out[0];
    const size_t elementSize = dataTypeSize(y.dtype());
    for (int64_t i = 0; i < y.elements(); ++i) {
        std::memcpy(y.raw() + static_cast<size_t>(i) * elementSize, value.raw(), elementSize);
    }
    return {};
}

// The shape input (1-D int64) must be constant; `value` is a one-element tensor attribute.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(std::vector<int64_t> shape, constantInts(node, 0, "ConstantOfShape's shape"));
    for (int64_t d : shape) {
        if (d < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "ConstantOfShape shape " + shapeToString(shape) + " is negative");
        }
    }
    const Tensor* value = onnxAttrs(node).getTensor("value");
    if (value != nullptr && value->elements() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "ConstantOfShape value must hold one element, got shape " +
                             shapeToString(value->shape()));
    }
    OnnxImport result;
    result.attrs.set("shape", shape);
    result.attrs.set("value", value != nullptr ? *value : defaultValue());
    return result;
}

// Opset 13: the shape as a constant int64 input, the value as a tensor attribute.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    const Tensor* value = node.attrs.getTensor("value");
    OnnxNodeOut constant;
    constant.opType = "ConstantOfShape";
    constant.attrs.set("value", value != nullptr ? *value : defaultValue());
    constant.inputs = {constantOperand(int64Vector(node.attrs.getInts("shape")))};
    return std::vector<OnnxNodeOut>{constant};
}

}  // namespace

const OpDef kOpDefConstantOfShape = {
    OpKind::ConstantOfShape, "ConstantOfShape", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

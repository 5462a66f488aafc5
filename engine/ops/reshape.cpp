// Reshape: the same elements under a new shape. The canonical `shape` is fully resolved at
// import (ONNX's 0 = "copy this dim" and -1 = "infer this dim" applied), so it is exact here.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Reshape", in, 1, 1));
    if (!node.attrs.has("shape")) {
        return makeError(ErrorCode::InvalidArgument, "Reshape has no `shape` attribute");
    }
    const Shape shape = node.attrs.getInts("shape");
    PL_TRY_ASSIGN(int64_t count, checkedElementCount(shape));
    if (count != elementCount(in[0].shape)) {
        return makeError(ErrorCode::ShapeMismatch, "cannot reshape " + shapeToString(in[0].shape) +
                                                       " to " + shapeToString(shape));
    }
    out[0].dtype = in[0].dtype;
    out[0].shape = shape;
    return {};
}

// Row-major order is unchanged, so the bytes are copied as they are: Y.flat[i] = X.flat[i].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (in[0]->bytes() != 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->bytes());
    return {};
}

// ONNX shape -> resolved shape: a 0 copies the input's dim at that index (unless allowzero=1,
// opset 14, where 0 means an empty dim), and one -1 takes whatever count is left.
Result<Shape> resolveShape(const Shape& input, const std::vector<int64_t>& spec, bool allowZero) {
    Shape shape(spec.begin(), spec.end());
    int inferIndex = -1;
    int64_t known = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allowZero) {
            if (i >= input.size()) {
                return makeError(ErrorCode::InvalidArgument,
                                 "Reshape shape " + shapeToString(spec) + " copies dim " +
                                     std::to_string(i) + " of the rank-" +
                                     std::to_string(input.size()) + " input");
            }
            shape[i] = input[i];
        }
        if (shape[i] == -1) {
            if (inferIndex >= 0) {
                return makeError(ErrorCode::InvalidArgument,
                                 "Reshape shape " + shapeToString(spec) + " has more than one -1");
            }
            inferIndex = static_cast<int>(i);
        } else if (shape[i] < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "Reshape shape " + shapeToString(spec) + " has a negative dim");
        } else {
            if (shape[i] > 0 && known > kMaxTensorElements / shape[i]) {
                return makeError(ErrorCode::OutOfRange, "Reshape shape " + shapeToString(spec) +
                                                            " has more than 2^32 elements");
            }
            known *= shape[i];
        }
    }
    const int64_t total = elementCount(input);
    if (inferIndex >= 0) {
        if (known == 0 || total % known != 0) {
            return makeError(ErrorCode::ShapeMismatch, "cannot reshape " + shapeToString(input) +
                                                           " to " + shapeToString(spec));
        }
        shape[static_cast<size_t>(inferIndex)] = total / known;
    }
    return shape;
}

// The shape is an attribute before opset 5 and a constant input from 5 on.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const Attributes& attrs = onnxAttrs(node);
    std::vector<int64_t> spec;
    if (node.opset < 5) {
        spec = attrs.getInts("shape");
    } else {
        PL_TRY_ASSIGN(spec, constantInts(node, 1, "Reshape's shape"));
    }
    PL_TRY_ASSIGN(Shape shape,
                  resolveShape(node.inputs[0].shape, spec, attrs.getInt("allowzero", 0) != 0));
    result.attrs.set("shape", std::vector<int64_t>(shape.begin(), shape.end()));
    return result;
}

// Opset 13 reads a 0 as "copy the input dim" and has no allowzero, so an empty dim can only
// be written where the input's dim at that index is itself 0.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph& graph) {
    const std::vector<int64_t> shape = node.attrs.getInts("shape");
    const Shape& input = graph.value(node.inputs[0]).shape;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && (i >= input.size() || input[i] != 0)) {
            return makeError(ErrorCode::Unsupported,
                             "Reshape to " + shapeToString(shape) +
                                 " (an empty dim) cannot be written in ONNX opset 13");
        }
    }
    OnnxNodeOut reshape;
    reshape.opType = "Reshape";
    reshape.inputs = {irOperand(0), constantOperand(int64Vector(shape))};
    return std::vector<OnnxNodeOut>{reshape};
}

}  // namespace

const OpDef kOpDefReshape = {OpKind::Reshape, "Reshape",  infer, reference,
                             importOnnx,      exportOnnx, {}};

}  // namespace prunelab::engine

// The shared half of ReduceMax, ReduceMin and ReduceSum (see reduce.h): axes, shape inference
// and the ONNX mapping; each op's file holds its own reference kernel.
#include "engine/ops/reduce.h"

#include <algorithm>
#include <string>

#include "engine/ops/elementwise.h"

namespace prunelab::engine {

Result<std::vector<bool>> reduceAxes(std::string_view op, const Node& node, size_t rank) {
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    const bool noop = node.attrs.getInt("noop_with_empty_axes", 0) != 0;
    std::vector<bool> reduced(rank, axes.empty() && !noop);
    for (int64_t axis : axes) {
        if (axis < 0 || axis >= static_cast<int64_t>(rank)) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " axis " + std::to_string(axis) +
                                 " is out of range for rank " + std::to_string(rank));
        }
        reduced[static_cast<size_t>(axis)] = true;
    }
    return reduced;
}

Status inferReduce(std::string_view op, const Node& node, std::span<const TensorInfo> in,
                   std::span<TensorInfo> out, bool emptyAllowed) {
    PL_TRY(expectInputs(op, in, 1, 1));
    if (in[0].dtype != DataType::Float32 && in[0].dtype != DataType::Int64) {
        return makeError(
            ErrorCode::Unsupported,
            std::string(op) + " supports float32 and int64, got " + dtypeText(in[0].dtype));
    }
    const Shape& x = in[0].shape;
    PL_TRY_ASSIGN(std::vector<bool> reduced, reduceAxes(op, node, x.size()));
    const bool keepDims = node.attrs.getInt("keepdims", 1) != 0;
    out[0].dtype = in[0].dtype;
    out[0].shape.clear();
    for (size_t d = 0; d < x.size(); ++d) {
        if (reduced[d] && x[d] == 0 && !emptyAllowed) {
            return makeError(ErrorCode::ShapeMismatch, std::string(op) + " over the empty axis " +
                                                           std::to_string(d) + " of " +
                                                           shapeToString(x) + " has no answer");
        }
        if (!reduced[d]) {
            out[0].shape.push_back(x[d]);
        } else if (keepDims) {
            out[0].shape.push_back(1);
        }
    }
    return {};
}

Result<OnnxImport> importReduce(std::string_view op, const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) {
        return makeError(ErrorCode::InvalidArgument, std::string(op) + " needs an input");
    }
    const Attributes& a = onnxAttrs(node);
    const auto rank = static_cast<int64_t>(node.inputs[0].shape.size());
    std::vector<int64_t> axes = a.getInts("axes");
    if (hasOnnxInput(node, 1)) {
        // ReduceSum-13 and every reduce from opset 18: axes is an input, folded when constant.
        PL_TRY_ASSIGN(axes, constantInts(node, 1, std::string(op) + "'s axes"));
    }
    for (int64_t& axis : axes) {
        PL_TRY_ASSIGN(axis, normalizeAxis(axis, rank, std::string(op) + " axis"));
    }
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    OnnxImport result;
    result.attrs.set("axes", axes);
    result.attrs.set("keepdims", a.getInt("keepdims", 1) != 0 ? int64_t(1) : int64_t(0));
    const bool noop = a.getInt("noop_with_empty_axes", 0) != 0 && axes.empty();
    result.attrs.set("noop_with_empty_axes", noop ? int64_t(1) : int64_t(0));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportReduce(std::string_view op, const Node& node) {
    OnnxNodeOut out;
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    out.inputs = {irOperand(0)};
    if (axes.empty() && node.attrs.getInt("noop_with_empty_axes", 0) != 0) {
        out.opType = "Identity";  // reduces nothing: the input as it is
        return std::vector<OnnxNodeOut>{std::move(out)};
    }
    out.opType = std::string(op);
    out.attrs.set("keepdims", node.attrs.getInt("keepdims", 1));
    if (op == "ReduceSum") {
        if (!axes.empty()) out.inputs.push_back(constantOperand(int64Vector(axes)));
    } else if (!axes.empty()) {
        out.attrs.set("axes", axes);
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace prunelab::engine

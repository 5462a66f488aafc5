// Split: cuts a tensor along `axis` into pieces of the canonical `split` sizes, one output
// each. Any dtype (it moves bytes).
#include <algorithm>
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Split", in, 1, 1));
    const Shape& shape = in[0].shape;
    const int64_t axis = node.attrs.getInt("axis", 0);
    const std::vector<int64_t> split = node.attrs.getInts("split");
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) {
        return makeError(ErrorCode::InvalidArgument, "Split axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(shape.size()));
    }
    if (split.size() != out.size()) {
        return makeError(ErrorCode::InvalidArgument, "Split has " + std::to_string(split.size()) +
                                                         " sizes for " +
                                                         std::to_string(out.size()) + " outputs");
    }
    int64_t total = 0;
    for (int64_t s : split) {
        if (s < 0) return makeError(ErrorCode::InvalidArgument, "Split sizes must be >= 0");
        total += s;
    }
    if (total != shape[static_cast<size_t>(axis)]) {
        return makeError(ErrorCode::ShapeMismatch,
                         "Split sizes add up to " + std::to_string(total) + " but axis " +
                             std::to_string(axis) + " of " + shapeToString(shape) + " has " +
                             std::to_string(shape[static_cast<size_t>(axis)]));
    }
    for (size_t k = 0; k < out.size(); ++k) {
        out[k].dtype = in[0].dtype;
        out[k].shape = shape;
        out[k].shape[static_cast<size_t>(axis)] = split[k];
    }
    return {};
}

// The inverse of Concat: view X as [outer][dim_axis * inner]; output k takes, from each outer
// row, the split[k] * inner elements after those of outputs 0..k-1.
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    const size_t axis = static_cast<size_t>(node.attrs.getInt("axis", 0));
    const size_t elementSize = dataTypeSize(x.dtype());
    int64_t outer = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];

    const std::byte* src = x.raw();
    for (int64_t o = 0; o < outer; ++o) {
        for (Tensor* y : out) {
            const size_t rowBytes = static_cast<size_t>(y->shape()[axis] * inner) * elementSize;
            if (rowBytes == 0) continue;
            std::memcpy(y->raw() + static_cast<size_t>(o) * rowBytes, src, rowBytes);
            src += rowBytes;
        }
    }
    return {};
}

// Sizes: the `split` attribute (opset < 13) or constant input 1 (13+); without them an equal
// split over the outputs. Opset 18's `num_outputs` allows an uneven split: ceil-sized pieces
// and a smaller last one.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const Attributes& attrs = onnxAttrs(node);
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    PL_TRY_ASSIGN(int64_t axis, normalizeAxis(attrs.getInt("axis", 0), rank, "Split axis"));
    const int64_t dim = node.inputs[0].shape[static_cast<size_t>(axis)];

    std::vector<int64_t> split;
    if (node.opset < 13 && attrs.has("split")) {
        split = attrs.getInts("split");
    } else if (node.opset >= 13 && hasOnnxInput(node, 1)) {
        PL_TRY_ASSIGN(split, constantInts(node, 1, "Split's split"));
    } else {
        const int64_t n = attrs.getInt("num_outputs", node.outputCount);
        if (n <= 0) return makeError(ErrorCode::InvalidArgument, "Split needs at least 1 output");
        if (dim % n == 0) {
            split.assign(static_cast<size_t>(n), dim / n);
        } else if (node.opset >= 18) {
            const int64_t piece = (dim + n - 1) / n;
            for (int64_t k = 0; k < n; ++k)
                split.push_back(std::max<int64_t>(0, std::min(piece, dim - k * piece)));
        } else {
            return makeError(ErrorCode::InvalidArgument,
                             "Split of a dim of " + std::to_string(dim) + " into " +
                                 std::to_string(n) + " equal parts is not possible");
        }
    }
    if (static_cast<int>(split.size()) != node.outputCount) {
        return makeError(ErrorCode::InvalidArgument,
                         "Split has " + std::to_string(split.size()) + " sizes for " +
                             std::to_string(node.outputCount) + " outputs");
    }
    result.attrs.set("axis", axis);
    result.attrs.set("split", split);
    return result;
}

// Opset 13: the sizes as a constant int64 input.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut split;
    split.opType = "Split";
    split.attrs.set("axis", node.attrs.getInt("axis", 0));
    split.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("split")))};
    return std::vector<OnnxNodeOut>{split};
}

}  // namespace

const OpDef kOpDefSplit = {OpKind::Split, "Split", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

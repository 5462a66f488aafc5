// Unsqueeze: inserts size-1 dims so that they sit at `axes` of the output (canonical:
// non-negative, sorted, relative to the output rank); any dtype.
#include <algorithm>
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Unsqueeze", in, 1, 1));
    const Shape& shape = in[0].shape;
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    const size_t rank = shape.size() + axes.size();
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes) {
        if (a < 0 || a >= static_cast<int64_t>(rank) || inserted[static_cast<size_t>(a)]) {
            return makeError(ErrorCode::InvalidArgument, "Unsqueeze axes " + shapeToString(axes) +
                                                             " do not fit output rank " +
                                                             std::to_string(rank));
        }
        inserted[static_cast<size_t>(a)] = true;
    }
    out[0].dtype = in[0].dtype;
    out[0].shape.clear();
    size_t next = 0;  // next input dim to place
    for (size_t d = 0; d < rank; ++d) out[0].shape.push_back(inserted[d] ? 1 : shape[next++]);
    return {};
}

// New size-1 dims do not move any element: Y.flat[i] = X.flat[i].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (in[0]->bytes() != 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->bytes());
    return {};
}

// Axes: the attribute before opset 13, a required constant input from 13 on. Negative axes
// count from the end of the output.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    std::vector<int64_t> given;
    if (node.opset < 13) {
        if (!onnxAttrs(node).has("axes")) {
            return makeError(ErrorCode::InvalidArgument, "Unsqueeze needs axes");
        }
        given = onnxAttrs(node).getInts("axes");
    } else {
        PL_TRY_ASSIGN(given, constantInts(node, 1, "Unsqueeze's axes"));
    }
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size() + given.size());
    std::vector<int64_t> axes;
    for (int64_t a : given) {
        PL_TRY_ASSIGN(int64_t axis, normalizeAxis(a, rank, "Unsqueeze axis"));
        axes.push_back(axis);
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
        return makeError(ErrorCode::InvalidArgument,
                         "Unsqueeze axes " + shapeToString(given) + " repeat an axis");
    }
    result.attrs.set("axes", axes);
    return result;
}

// Opset 13: axes as a constant int64 input.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut unsqueeze;
    unsqueeze.opType = "Unsqueeze";
    unsqueeze.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("axes")))};
    return std::vector<OnnxNodeOut>{unsqueeze};
}

}  // namespace

const OpDef kOpDefUnsqueeze = {OpKind::Unsqueeze, "Unsqueeze", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

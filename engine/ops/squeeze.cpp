// Squeeze: removes the size-1 dims listed in `axes` (canonical: non-negative, sorted); any
// dtype. Without axes in the file, every size-1 dim is removed (resolved at import).
#include <algorithm>
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Squeeze", in, 1, 1));
    const Shape& shape = in[0].shape;
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    std::vector<bool> drop(shape.size(), false);
    for (int64_t a : axes) {
        if (a < 0 || a >= static_cast<int64_t>(shape.size()) || drop[static_cast<size_t>(a)]) {
            return makeError(ErrorCode::InvalidArgument, "Squeeze axes " + shapeToString(axes) +
                                                             " do not fit rank " +
                                                             std::to_string(shape.size()));
        }
        if (shape[static_cast<size_t>(a)] != 1) {
            return makeError(ErrorCode::ShapeMismatch, "Squeeze of axis " + std::to_string(a) +
                                                           " of " + shapeToString(shape) +
                                                           ", which is not 1");
        }
        drop[static_cast<size_t>(a)] = true;
    }
    out[0].dtype = in[0].dtype;
    out[0].shape.clear();
    for (size_t d = 0; d < shape.size(); ++d) {
        if (!drop[d]) out[0].shape.push_back(shape[d]);
    }
    return {};
}

// Only size-1 dims go, so the row-major order is unchanged: Y.flat[i] = X.flat[i].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (in[0]->bytes() != 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->bytes());
    return {};
}

// Axes: the attribute before opset 13, an optional constant input from 13 on; absent means
// every size-1 dim. Negative axes count from the end.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const Shape& shape = node.inputs[0].shape;
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<int64_t> given;
    bool hasAxes = false;
    if (node.opset < 13) {
        hasAxes = onnxAttrs(node).has("axes");
        given = onnxAttrs(node).getInts("axes");
    } else if (hasOnnxInput(node, 1)) {
        hasAxes = true;
        PL_TRY_ASSIGN(given, constantInts(node, 1, "Squeeze's axes"));
    }
    std::vector<int64_t> axes;
    if (hasAxes) {
        for (int64_t a : given) {
            PL_TRY_ASSIGN(int64_t axis, normalizeAxis(a, rank, "Squeeze axis"));
            axes.push_back(axis);
        }
        std::sort(axes.begin(), axes.end());
        if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
            return makeError(ErrorCode::InvalidArgument,
                             "Squeeze axes " + shapeToString(given) + " repeat an axis");
        }
    } else {
        for (int64_t d = 0; d < rank; ++d) {
            if (shape[static_cast<size_t>(d)] == 1) axes.push_back(d);
        }
    }
    result.attrs.set("axes", axes);
    return result;
}

// Opset 13: axes as a constant int64 input (written even when empty, to keep it exact).
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut squeeze;
    squeeze.opType = "Squeeze";
    squeeze.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("axes")))};
    return std::vector<OnnxNodeOut>{squeeze};
}

}  // namespace

const OpDef kOpDefSqueeze = {OpKind::Squeeze, "Squeeze",  infer, reference,
                             importOnnx,      exportOnnx, {}};

}  // namespace prunelab::engine

// Shape: the input's dims [start, end) as a 1-D int64 tensor (opset 15 semantics; the
// canonical start/end are resolved, non-negative and clamped). Any input dtype.
#include <algorithm>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Shape", in, 1, 1));
    const int64_t rank = static_cast<int64_t>(in[0].shape.size());
    const int64_t start = node.attrs.getInt("start", 0);
    const int64_t end = node.attrs.getInt("end", rank);
    if (start < 0 || start > rank || end < 0 || end > rank) {
        return makeError(ErrorCode::InvalidArgument,
                         "Shape start " + std::to_string(start) + " / end " + std::to_string(end) +
                             " are out of range for rank " + std::to_string(rank));
    }
    out[0].dtype = DataType::Int64;
    out[0].shape = {std::max<int64_t>(0, end - start)};
    return {};
}

// Y[i] = X.shape[start + i] for 0 <= i < end - start
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const int64_t start = node.attrs.getInt("start", 0);
    int64_t* y = out[0]->data<int64_t>();
    for (int64_t i = 0; i < out[0]->elements(); ++i) y[i] = in[0]->dim(start + i);
    return {};
}

// Opset 15's start/end: negative values count from the end, then both clamp to [0, rank].
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    const Attributes& attrs = onnxAttrs(node);
    auto resolve = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    result.attrs.set("start", resolve(attrs.getInt("start", 0)));
    result.attrs.set("end", resolve(attrs.getInt("end", rank)));
    return result;
}

// Opset 13's Shape has no start/end: the whole shape is plain Shape; a part of it becomes
// Shape then Slice (which imports back as two nodes, not one with start/end).
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph& graph) {
    const int64_t rank = static_cast<int64_t>(graph.value(node.inputs[0]).shape.size());
    const int64_t start = node.attrs.getInt("start", 0);
    const int64_t end = node.attrs.getInt("end", rank);
    OnnxNodeOut shape;
    shape.opType = "Shape";
    shape.inputs = {irOperand(0)};
    if (start == 0 && end == rank) return std::vector<OnnxNodeOut>{shape};
    OnnxNodeOut slice;
    slice.opType = "Slice";
    slice.inputs = {OnnxOperand{OnnxOperand::Kind::Chained, 0, {}},
                    constantOperand(int64Vector({start})), constantOperand(int64Vector({end})),
                    constantOperand(int64Vector({0}))};
    return std::vector<OnnxNodeOut>{shape, slice};
}

}  // namespace

const OpDef kOpDefShape = {OpKind::Shape, "Shape", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

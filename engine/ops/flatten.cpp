// Flatten: reshapes to 2-D [prod(dims before axis), prod(dims from axis on)]; any dtype.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Flatten", in, 1, 1));
    const Shape& shape = in[0].shape;
    const int64_t axis = node.attrs.getInt("axis", 1);
    // axis == rank is legal: [prod(all), 1].
    if (axis < 0 || axis > static_cast<int64_t>(shape.size())) {
        return makeError(ErrorCode::InvalidArgument, "Flatten axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(shape.size()));
    }
    int64_t rows = 1;
    int64_t cols = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
        (static_cast<int64_t>(d) < axis ? rows : cols) *= shape[d];
    }
    out[0].dtype = in[0].dtype;
    out[0].shape = {rows, cols};
    return {};
}

// Row-major order is unchanged: Y.flat[i] = X.flat[i].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (in[0]->bytes() != 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->bytes());
    return {};
}

// axis defaults to 1; opset 11 allows negative axes in [-rank, rank], normalised here.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    int64_t axis = onnxAttrs(node).getInt("axis", 1);
    if (axis != rank) {
        PL_TRY_ASSIGN(axis, normalizeAxis(axis, rank, "Flatten axis"));
    }
    result.attrs.set("axis", axis);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Flatten");
}

}  // namespace

const OpDef kOpDefFlatten = {OpKind::Flatten, "Flatten",  infer, reference,
                             importOnnx,      exportOnnx, {}};

}  // namespace prunelab::engine

// Gather: picks slices of X along `axis` by integer indices (negative ones count from the
// end): Y.shape = X.shape[:axis] ++ indices.shape ++ X.shape[axis+1:]. Any data dtype.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

// Every index must lie in [-dim, dim).
Status checkIndices(const Tensor& indices, int64_t dim) {
    for (int64_t i : indices.toInt64Vector()) {
        if (i < -dim || i >= dim) {
            return makeError(ErrorCode::InvalidArgument, "Gather index " + std::to_string(i) +
                                                             " is out of range for a dim of " +
                                                             std::to_string(dim));
        }
    }
    return {};
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Gather", in, 2, 2));
    const Shape& shape = in[0].shape;
    const int64_t axis = node.attrs.getInt("axis", 0);
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) {
        return makeError(ErrorCode::InvalidArgument, "Gather axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(shape.size()));
    }
    if (in[1].dtype != DataType::Int64 && in[1].dtype != DataType::Int32) {
        return makeError(ErrorCode::InvalidArgument,
                         "Gather indices must be int64 or int32, got " + dtypeText(in[1].dtype));
    }
    if (in[1].constant != nullptr) {
        PL_TRY(checkIndices(*in[1].constant, shape[static_cast<size_t>(axis)]));
    }
    out[0].dtype = in[0].dtype;
    out[0].shape.assign(shape.begin(), shape.begin() + axis);
    out[0].shape.insert(out[0].shape.end(), in[1].shape.begin(), in[1].shape.end());
    out[0].shape.insert(out[0].shape.end(), shape.begin() + axis + 1, shape.end());
    return {};
}

// View X as [outer][dim][inner] (outer = prod(dims before axis), inner = prod(dims after)):
//   Y[o][k][i] = X[o][idx[k] < 0 ? idx[k] + dim : idx[k]][i]   for k over the flat indices.
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    const size_t axis = static_cast<size_t>(node.attrs.getInt("axis", 0));
    const int64_t dim = x.shape()[axis];
    PL_TRY(checkIndices(*in[1], dim));
    const std::vector<int64_t> indices = in[1]->toInt64Vector();
    int64_t outer = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
    const size_t sliceBytes = static_cast<size_t>(inner) * dataTypeSize(x.dtype());
    if (sliceBytes == 0) return {};

    std::byte* dst = out[0]->raw();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t index : indices) {
            const int64_t row = index < 0 ? index + dim : index;
            std::memcpy(dst, x.raw() + static_cast<size_t>(o * dim + row) * sliceBytes, sliceBytes);
            dst += sliceBytes;
        }
    }
    return {};
}

// axis defaults to 0; negative axes count from the end of X's dims.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0) || !hasOnnxInput(node, 1)) {
        return makeError(ErrorCode::InvalidArgument, "Gather needs data and indices");
    }
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    PL_TRY_ASSIGN(int64_t axis,
                  normalizeAxis(onnxAttrs(node).getInt("axis", 0), rank, "Gather axis"));
    OnnxImport result;
    result.inputs = {0, 1};
    result.attrs.set("axis", axis);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Gather");
}

}  // namespace

const OpDef kOpDefGather = {OpKind::Gather, "Gather", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

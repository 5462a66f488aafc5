// Concat: joins tensors of one dtype along `axis`; every other dim must match. Any dtype
// (it moves bytes), since shape computations concatenate int64 vectors.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.empty()) return makeError(ErrorCode::InvalidArgument, "Concat needs at least one input");
    PL_TRY(expectInputs("Concat", in, in.size(), in.size()));
    const int64_t axis = node.attrs.getInt("axis", 0);
    const Shape& first = in[0].shape;
    const int64_t rank = static_cast<int64_t>(first.size());
    if (axis < 0 || axis >= rank) {
        return makeError(ErrorCode::InvalidArgument, "Concat axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(rank));
    }
    Shape shape = first;
    shape[static_cast<size_t>(axis)] = 0;
    for (const TensorInfo& t : in) {
        if (t.dtype != in[0].dtype) {
            return makeError(
                ErrorCode::InvalidArgument,
                "Concat inputs mix " + dtypeText(in[0].dtype) + " and " + dtypeText(t.dtype));
        }
        bool fits = t.shape.size() == first.size();
        for (size_t d = 0; fits && d < first.size(); ++d) {
            fits = static_cast<int64_t>(d) == axis || t.shape[d] == first[d];
        }
        if (!fits) {
            return makeError(ErrorCode::ShapeMismatch,
                             "cannot concatenate " + shapeToString(first) + " with " +
                                 shapeToString(t.shape) + " along axis " + std::to_string(axis));
        }
        shape[static_cast<size_t>(axis)] += t.shape[static_cast<size_t>(axis)];
    }
    out[0].dtype = in[0].dtype;
    out[0].shape = std::move(shape);
    return {};
}

// View every tensor as [outer][dim_axis * inner] with outer = prod(dims before axis) and
// inner = prod(dims after axis). Then for each outer row the output is the inputs' rows one
// after another:  Y[o] = X0[o] ++ X1[o] ++ ...
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    Tensor& y = *out[0];
    const size_t axis = static_cast<size_t>(node.attrs.getInt("axis", 0));
    const size_t elementSize = dataTypeSize(y.dtype());
    int64_t outer = 1;
    for (size_t d = 0; d < axis; ++d) outer *= y.shape()[d];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < y.shape().size(); ++d) inner *= y.shape()[d];

    std::byte* dst = y.raw();
    for (int64_t o = 0; o < outer; ++o) {
        for (const Tensor* x : in) {
            const size_t rowBytes = static_cast<size_t>(x->shape()[axis] * inner) * elementSize;
            if (rowBytes == 0) continue;
            std::memcpy(dst, x->raw() + static_cast<size_t>(o) * rowBytes, rowBytes);
            dst += rowBytes;
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (node.inputs.empty()) {
        return makeError(ErrorCode::InvalidArgument, "Concat needs at least one input");
    }
    const Attributes& attrs = onnxAttrs(node);
    if (!attrs.has("axis")) return makeError(ErrorCode::InvalidArgument, "Concat needs an axis");
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    PL_TRY_ASSIGN(int64_t axis, normalizeAxis(attrs.getInt("axis"), rank, "Concat axis"));
    OnnxImport result = importInputsAsIs(node);
    result.attrs.set("axis", axis);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Concat");
}

}  // namespace

const OpDef kOpDefConcat = {OpKind::Concat, "Concat", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

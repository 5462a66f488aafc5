// Transpose: permutes the dims, Y.shape[i] = X.shape[perm[i]]; any dtype. The canonical perm
// is explicit (ONNX's default, reversed dims, is filled in at import).
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status checkPerm(const std::vector<int64_t>& perm, size_t rank) {
    std::vector<bool> seen(rank, false);
    bool valid = perm.size() == rank;
    for (size_t i = 0; valid && i < perm.size(); ++i) {
        valid = perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) &&
                !seen[static_cast<size_t>(perm[i])];
        if (valid) seen[static_cast<size_t>(perm[i])] = true;
    }
    if (!valid) {
        return makeError(ErrorCode::InvalidArgument, "Transpose perm " + shapeToString(perm) +
                                                         " is not a permutation of " +
                                                         std::to_string(rank) + " dims");
    }
    return {};
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Transpose", in, 1, 1));
    const std::vector<int64_t> perm = node.attrs.getInts("perm");
    PL_TRY(checkPerm(perm, in[0].shape.size()));
    out[0].dtype = in[0].dtype;
    out[0].shape.clear();
    for (int64_t p : perm) out[0].shape.push_back(in[0].shape[static_cast<size_t>(p)]);
    return {};
}

// Y[i_0, ..., i_n-1] = X[j] where j[perm[k]] = i_k.
// Walks Y in row-major order; `from` holds the stride in X of each Y dim (X's stride of
// dim perm[k]), so the X offset is sum_k i_k * from[k].
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    const std::vector<int64_t> perm = node.attrs.getInts("perm");
    const std::vector<int64_t> xStrides = contiguousStrides(x.shape());
    const Shape& yShape = y.shape();
    std::vector<int64_t> from(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) from[k] = xStrides[static_cast<size_t>(perm[k])];

    const size_t elementSize = dataTypeSize(x.dtype());
    std::vector<int64_t> index(yShape.size(), 0);
    int64_t src = 0;
    for (int64_t o = 0; o < y.elements(); ++o) {
        std::memcpy(y.raw() + static_cast<size_t>(o) * elementSize,
                    x.raw() + static_cast<size_t>(src) * elementSize, elementSize);
        for (size_t d = yShape.size(); d-- > 0;) {  // odometer step over Y's index
            ++index[d];
            src += from[d];
            if (index[d] < yShape[d]) break;
            src -= from[d] * yShape[d];
            index[d] = 0;
        }
    }
    return {};
}

// perm defaults to the reversed dims; negative entries are normalised.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    const Attributes& attrs = onnxAttrs(node);
    std::vector<int64_t> perm;
    if (attrs.has("perm")) {
        for (int64_t p : attrs.getInts("perm")) {
            PL_TRY_ASSIGN(int64_t axis, normalizeAxis(p, rank, "Transpose perm entry"));
            perm.push_back(axis);
        }
    } else {
        for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    }
    PL_TRY(checkPerm(perm, static_cast<size_t>(rank)));
    result.attrs.set("perm", perm);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Transpose");
}

}  // namespace

const OpDef kOpDefTranspose = {OpKind::Transpose, "Transpose", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

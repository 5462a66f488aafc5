// Tile: repeats X along each dim, Y.shape[d] = X.shape[d] * repeats[d]; any dtype. The
// canonical `repeats` (one non-negative count per dim) is ONNX's constant repeats input.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status checkRepeats(const std::vector<int64_t>& repeats, const Shape& x) {
    if (repeats.size() != x.size()) {
        return makeError(ErrorCode::ShapeMismatch, "Tile repeats " + shapeToString(repeats) +
                                                       " need one count per dim of " +
                                                       shapeToString(x));
    }
    for (int64_t r : repeats) {
        if (r < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "Tile repeats " + shapeToString(repeats) + " has a negative count");
        }
    }
    return {};
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Tile", in, 1, 1));
    const std::vector<int64_t> repeats = node.attrs.getInts("repeats");
    PL_TRY(checkRepeats(repeats, in[0].shape));
    Shape shape;
    for (size_t d = 0; d < repeats.size(); ++d) {
        if (repeats[d] != 0 && in[0].shape[d] > kMaxTensorElements / repeats[d]) {
            return makeError(ErrorCode::ShapeMismatch, "Tile of " + shapeToString(in[0].shape) +
                                                           " by " + shapeToString(repeats) +
                                                           " is too large");
        }
        shape.push_back(in[0].shape[d] * repeats[d]);
    }
    PL_TRY(checkedElementCount(shape));
    out[0].dtype = in[0].dtype;
    out[0].shape = std::move(shape);
    return {};
}

// Y[o_0, ..., o_n-1] = X[o_0 % X.shape[0], ..., o_n-1 % X.shape[n-1]].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    const Shape& shape = y.shape();
    const std::vector<int64_t> strides = contiguousStrides(x.shape());
    const size_t size = dataTypeSize(x.dtype());
    std::vector<int64_t> index(shape.size(), 0);
    for (int64_t o = 0; o < y.elements(); ++o) {
        int64_t i = 0;
        for (size_t d = 0; d < shape.size(); ++d) i += (index[d] % x.shape()[d]) * strides[d];
        std::memcpy(y.raw() + static_cast<size_t>(o) * size,
                    x.raw() + static_cast<size_t>(i) * size, size);
        for (size_t d = shape.size(); d-- > 0;) {  // next row-major output index
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) {
        return makeError(ErrorCode::InvalidArgument, "Tile needs an input");
    }
    if (node.opset < 6 || node.inputs.size() > 2) {
        // Tile-1 took (input, tiles, axis): one axis at a time, a different meaning of input 1.
        return makeError(ErrorCode::Unsupported,
                         "Tile before opset 6 (tiles and axis inputs) is not supported");
    }
    PL_TRY_ASSIGN(std::vector<int64_t> repeats, constantInts(node, 1, "Tile's repeats"));
    PL_TRY(checkRepeats(repeats, node.inputs[0].shape));
    OnnxImport result;
    result.attrs.set("repeats", repeats);
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "Tile";
    out.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("repeats")))};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefTile = {OpKind::Tile, "Tile", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

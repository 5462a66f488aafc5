// Where: Y = cond ? X : Y' element by element, with numpy broadcasting across all three inputs
// (cond bool; X and Y' of one dtype, any of the engine's). Masks in attention and detection
// post-processing export to it.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Where", in, 3, 3));
    if (in[0].dtype != DataType::Bool) {
        return makeError(ErrorCode::InvalidArgument,
                         "Where condition must be bool, got " + dtypeText(in[0].dtype));
    }
    if (in[1].dtype != in[2].dtype) {
        return makeError(ErrorCode::InvalidArgument, "Where needs X and Y of one type, got " +
                                                         dtypeText(in[1].dtype) + " and " +
                                                         dtypeText(in[2].dtype));
    }
    if (dataTypeSize(in[1].dtype) == 0) {
        return makeError(ErrorCode::Unsupported, "Where of " + dtypeText(in[1].dtype));
    }
    auto xy = broadcastShapes(in[1].shape, in[2].shape);
    if (!xy.ok())
        return makeError(ErrorCode::ShapeMismatch, "Where X and Y: " + xy.error().message);
    auto all = broadcastShapes(in[0].shape, *xy);
    if (!all.ok()) {
        return makeError(ErrorCode::ShapeMismatch, "Where condition: " + all.error().message);
    }
    out[0].dtype = in[1].dtype;
    out[0].shape = std::move(*all);
    return {};
}

// out[i] = cond[c(i)] ? X[x(i)] : Y[y(i)]
// where c(i), x(i), y(i) are the output index i with each input's stretched dims set to 0: the
// output coordinates times each input's broadcast strides (0 along a stretched dim). Elements
// are copied as bytes, so one loop serves every dtype.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& cond = *in[0];
    const Tensor& x = *in[1];
    const Tensor& y = *in[2];
    Tensor& result = *out[0];
    const Shape& shape = result.shape();
    const std::vector<int64_t> sc = broadcastStrides(cond.shape(), shape);
    const std::vector<int64_t> sx = broadcastStrides(x.shape(), shape);
    const std::vector<int64_t> sy = broadcastStrides(y.shape(), shape);
    const size_t size = dataTypeSize(result.dtype());
    const auto* pc = reinterpret_cast<const uint8_t*>(cond.raw());
    for (int64_t o = 0; o < result.elements(); ++o) {
        int64_t rest = o;
        int64_t ic = 0, ix = 0, iy = 0;
        for (size_t d = shape.size(); d-- > 0;) {
            const int64_t coord = rest % shape[d];
            rest /= shape[d];
            ic += coord * sc[d];
            ix += coord * sx[d];
            iy += coord * sy[d];
        }
        const std::byte* src = pc[ic] != 0 ? x.raw() + static_cast<size_t>(ix) * size
                                           : y.raw() + static_cast<size_t>(iy) * size;
        std::memcpy(result.raw() + static_cast<size_t>(o) * size, src, size);
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (node.inputs.size() != 3 || !hasOnnxInput(node, 0) || !hasOnnxInput(node, 1) ||
        !hasOnnxInput(node, 2)) {
        return makeError(ErrorCode::InvalidArgument, "Where takes 3 inputs (condition, X, Y)");
    }
    return importInputsAsIs(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Where");
}

}  // namespace

const OpDef kOpDefWhere = {OpKind::Where, "Where", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Expand: broadcasts X to a larger shape (numpy rules, one direction: X stretches, the target
// does not shrink); any dtype. The canonical `shape` is the output shape, resolved at import
// from ONNX's shape operand (which may itself hold 1s that X's dims win over).
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Expand", in, 1, 1));
    const Shape target = node.attrs.getInts("shape");
    if (!broadcastsTo(in[0].shape, target)) {
        return makeError(ErrorCode::ShapeMismatch, "Expand cannot broadcast " +
                                                       shapeToString(in[0].shape) + " to " +
                                                       shapeToString(target));
    }
    PL_TRY(checkedElementCount(target));  // a hostile file's shape must not allocate 2^60
    out[0].dtype = in[0].dtype;
    out[0].shape = target;
    return {};
}

// Y[o_0, ..., o_n-1] = X[i] with i_d = o_d where X's dim d (aligned to the right) is the
// output's, and i_d = 0 where it is 1 (stretched); X's missing leading dims are ignored.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    const size_t size = dataTypeSize(x.dtype());
    // Reading X through broadcast strides (0 on stretched dims) is exactly the rule above.
    forEachBroadcast(y.shape(), x.shape(), x.shape(), [&](int64_t o, int64_t i, int64_t) {
        std::memcpy(y.raw() + static_cast<size_t>(o) * size,
                    x.raw() + static_cast<size_t>(i) * size, size);
    });
    return {};
}

// ONNX's output shape is broadcast(X.shape, shape): a 1 in `shape` keeps X's dim.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) {
        return makeError(ErrorCode::InvalidArgument, "Expand needs an input");
    }
    PL_TRY_ASSIGN(std::vector<int64_t> shape, constantInts(node, 1, "Expand's shape"));
    for (int64_t d : shape) {
        if (d < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "Expand's shape " + shapeToString(shape) + " has a negative dim");
        }
    }
    PL_TRY_ASSIGN(Shape target, broadcastShapes(node.inputs[0].shape, shape));
    OnnxImport result;
    result.attrs.set("shape", std::vector<int64_t>(target.begin(), target.end()));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "Expand";
    out.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("shape")))};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefExpand = {OpKind::Expand, "Expand", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Clip: y = min(max(x, min), max), float32. The bounds are canonical attributes (-inf / +inf
// when absent); ONNX has them as attributes before opset 11 and as constant inputs from 11 on.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    const float lo = node.attrs.getFloat("min", -kInf);
    const float hi = node.attrs.getFloat("max", kInf);
    if (std::isnan(lo) || std::isnan(hi)) {
        return makeError(ErrorCode::InvalidArgument, "Clip bounds must not be NaN");
    }
    return inferUnaryFloat("Clip", in, out);
}

// y = min(max(x, min), max). When min > max every element becomes max (as in ONNX Runtime).
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const float lo = node.attrs.getFloat("min", -kInf);
    const float hi = node.attrs.getFloat("max", kInf);
    unaryFloatLoop(*in[0], *out[0], [lo, hi](float x) { return std::min(std::max(x, lo), hi); });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    float lo = -kInf;
    float hi = kInf;
    if (node.opset < 11) {
        // Opset 6: attributes; the spec's defaults are the float range, which clips nothing.
        lo = onnxAttrs(node).getFloat("min", -kInf);
        hi = onnxAttrs(node).getFloat("max", kInf);
    } else {
        // Opset 11+: optional inputs 1 (min) and 2 (max), folded here so must be constant.
        if (hasOnnxInput(node, 1)) {
            PL_TRY_ASSIGN(lo, constantScalar(node, 1, "Clip's min"));
        }
        if (hasOnnxInput(node, 2)) {
            PL_TRY_ASSIGN(hi, constantScalar(node, 2, "Clip's max"));
        }
    }
    result.attrs.set("min", lo);
    result.attrs.set("max", hi);
    return result;
}

// Opset 13: bounds as scalar float32 constant inputs (infinite ones included, so the
// round trip gives back the same attributes).
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut clip;
    clip.opType = "Clip";
    clip.inputs = {irOperand(0), constantOperand(Tensor::scalar(node.attrs.getFloat("min", -kInf))),
                   constantOperand(Tensor::scalar(node.attrs.getFloat("max", kInf)))};
    return std::vector<OnnxNodeOut>{clip};
}

}  // namespace

const OpDef kOpDefClip = {OpKind::Clip, "Clip", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// PRelu: y = x for x >= 0, slope * x otherwise, with a learned slope tensor that broadcasts
// one way onto x (typically [C, 1, 1] against NCHW); float32.
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("PRelu", in, 2, 2));
    if (in[0].dtype != DataType::Float32 || in[1].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "PRelu supports float32, got " +
                                                     dtypeText(in[0].dtype) + " and " +
                                                     dtypeText(in[1].dtype));
    }
    if (!broadcastsTo(in[1].shape, in[0].shape)) {
        return makeError(ErrorCode::ShapeMismatch, "PRelu slope " + shapeToString(in[1].shape) +
                                                       " does not broadcast to the input " +
                                                       shapeToString(in[0].shape));
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = in[0].shape;
    return {};
}

// y[i] = x[i]                 if x[i] >= 0
//        slope[s(i)] * x[i]   otherwise, s(i) = i with the slope's stretched dims set to 0
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    binaryBroadcastLoop<float>(*in[0], *in[1], *out[0],
                               [](float x, float slope) { return x >= 0.0f ? x : slope * x; });
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (node.inputs.size() != 2 || !hasOnnxInput(node, 1)) {
        return makeError(ErrorCode::InvalidArgument, "PRelu needs an input and a slope");
    }
    return importInputsAsIs(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "PRelu");
}

}  // namespace

const OpDef kOpDefPRelu = {OpKind::PRelu, "PRelu", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

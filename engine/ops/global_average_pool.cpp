// GlobalAveragePool: the mean over all spatial dims of X[N][C][spatial...], keeping them as 1s.
// Shape inference, the reference kernel and the ONNX mapping (no attributes).
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status inferGlobalAveragePool(const Node&, std::span<const TensorInfo> in,
                              std::span<TensorInfo> out) {
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "GlobalAveragePool takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "GlobalAveragePool supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    const Shape& x = in[0].shape;
    if (x.size() < 3) {
        return makeError(ErrorCode::ShapeMismatch,
                         "GlobalAveragePool needs [N, C, spatial...], got " + shapeToString(x));
    }
    for (size_t i = 2; i < x.size(); ++i) {
        if (x[i] < 1) {
            return makeError(ErrorCode::ShapeMismatch,
                             "GlobalAveragePool input " + shapeToString(x) + " has no pixels");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = x;
    for (size_t i = 2; i < x.size(); ++i) out[0].shape[i] = 1;
    return {};
}

// y[n][c] = (1 / (H*W*...)) * sum over every spatial position p of x[n][c][p]
Status referenceGlobalAveragePool(const Node&, std::span<const Tensor* const> in,
                                  std::span<Tensor* const> out) {
    const Shape& x = in[0]->shape();
    int64_t pixels = 1;
    for (size_t i = 2; i < x.size(); ++i) pixels *= x[i];
    const float* src = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t nc = 0; nc < x[0] * x[1]; ++nc) {
        double sum = 0.0;
        for (int64_t p = 0; p < pixels; ++p) sum += src[nc * pixels + p];
        y[nc] = static_cast<float>(sum / static_cast<double>(pixels));
    }
    return {};
}

Result<OnnxImport> importGlobalAveragePool(const OnnxNodeIn& node) {
    if (node.inputs.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "GlobalAveragePool takes one input");
    }
    OnnxImport result;
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportGlobalAveragePool(const Node&, const Graph&) {
    OnnxNodeOut out;
    out.opType = "GlobalAveragePool";
    out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefGlobalAveragePool = {OpKind::GlobalAveragePool,
                                       "GlobalAveragePool",
                                       inferGlobalAveragePool,
                                       referenceGlobalAveragePool,
                                       importGlobalAveragePool,
                                       exportGlobalAveragePool,
                                       {}};

}  // namespace prunelab::engine

// BatchNormalization, inference form: per-channel affine normalisation with the stored running
// mean and variance. Shape inference, the reference kernel and the ONNX mapping (training
// mode is refused).
#include <cmath>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status inferBatchNormalization(const Node&, std::span<const TensorInfo> in,
                               std::span<TensorInfo> out) {
    if (in.size() != 5 || out.size() != 1) {
        return makeError(
            ErrorCode::InvalidArgument,
            "BatchNormalization takes X, scale, B, mean, var and has one output; got " +
                std::to_string(in.size()) + " inputs");
    }
    for (const TensorInfo& t : in) {
        if (t.dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported,
                             "BatchNormalization supports float32 only, got " +
                                 std::string(dataTypeName(t.dtype)));
        }
    }
    const Shape& x = in[0].shape;
    if (x.size() < 2) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "BatchNormalization needs X of rank >= 2 ([N, C, ...]), got " + shapeToString(x));
    }
    const char* names[] = {"X", "scale", "B", "mean", "var"};
    for (size_t i = 1; i < 5; ++i) {
        if (in[i].shape != Shape{x[1]}) {
            return makeError(ErrorCode::ShapeMismatch,
                             std::string(names[i]) + " has shape " + shapeToString(in[i].shape) +
                                 " but X has " + std::to_string(x[1]) + " channels");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = x;
    return {};
}

// y[n][c][...] = scale[c] * (x[n][c][...] - mean[c]) / sqrt(var[c] + epsilon) + B[c]
Status referenceBatchNormalization(const Node& node, std::span<const Tensor* const> in,
                                   std::span<Tensor* const> out) {
    const Shape& shape = in[0]->shape();
    const double epsilon = node.attrs.getFloat("epsilon", 1e-5f);
    const float* x = in[0]->data<float>();
    const float* scale = in[1]->data<float>();
    const float* bias = in[2]->data<float>();
    const float* mean = in[3]->data<float>();
    const float* var = in[4]->data<float>();
    float* y = out[0]->data<float>();
    const int64_t channels = shape[1];
    int64_t inner = 1;
    for (size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
    for (int64_t n = 0; n < shape[0]; ++n) {
        for (int64_t c = 0; c < channels; ++c) {
            const double invStd = 1.0 / std::sqrt(static_cast<double>(var[c]) + epsilon);
            const int64_t base = (n * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) {
                const double centred = static_cast<double>(x[base + i]) - mean[c];
                y[base + i] = static_cast<float>(scale[c] * centred * invStd + bias[c]);
            }
        }
    }
    return {};
}

Result<OnnxImport> importBatchNormalization(const OnnxNodeIn& node) {
    const Attributes& a = *node.attrs;
    if (node.outputCount > 1 || a.getInt("training_mode", 0) != 0) {
        return makeError(ErrorCode::Unsupported,
                         "BatchNormalization in training mode (running statistics as outputs) is "
                         "not supported; export the model in eval mode");
    }
    if (a.getInt("spatial", 1) == 0) {
        return makeError(ErrorCode::Unsupported,
                         "BatchNormalization with spatial=0 (per-pixel statistics) is not "
                         "supported");
    }
    if (node.inputs.size() != 5) {
        return makeError(ErrorCode::InvalidArgument,
                         "BatchNormalization needs X, scale, B, mean and var");
    }
    OnnxImport result;
    result.attrs.set("epsilon", a.getFloat("epsilon", 1e-5f));
    result.inputs = {0, 1, 2, 3, 4};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportBatchNormalization(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "BatchNormalization";
    out.attrs.set("epsilon", node.attrs.getFloat("epsilon", 1e-5f));
    for (int i = 0; i < 5; ++i) out.inputs.push_back({OnnxOperand::Kind::IrInput, i, {}});
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefBatchNormalization = {OpKind::BatchNormalization,
                                        "BatchNormalization",
                                        inferBatchNormalization,
                                        referenceBatchNormalization,
                                        importBatchNormalization,
                                        exportBatchNormalization,
                                        {}};

}  // namespace prunelab::engine

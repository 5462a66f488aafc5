// InstanceNormalization: each (n, c) plane of X[N][C][spatial...] normalised by its own mean and
// variance, then scaled and shifted per channel. Shape inference, the reference kernel and the
// ONNX mapping (inputs X, scale, B; epsilon).
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("InstanceNormalization", in, 3, 3));
    const char* names[] = {"X", "scale", "B"};
    for (size_t i = 0; i < 3; ++i) {
        if (in[i].dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, std::string("InstanceNormalization ") +
                                                         names[i] + " must be float32, got " +
                                                         dtypeText(in[i].dtype));
        }
    }
    const Shape& x = in[0].shape;
    if (x.size() < 3) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "InstanceNormalization needs X as [N, C, spatial...], got " + shapeToString(x));
    }
    for (size_t i = 1; i < 3; ++i) {
        if (in[i].shape != Shape{x[1]}) {
            return makeError(ErrorCode::ShapeMismatch,
                             std::string("InstanceNormalization ") + names[i] + " has shape " +
                                 shapeToString(in[i].shape) + " but X " + shapeToString(x) +
                                 " has " + std::to_string(x[1]) + " channels");
        }
    }
    for (size_t d = 2; d < x.size(); ++d) {
        if (x[d] < 1) {
            return makeError(ErrorCode::ShapeMismatch, "InstanceNormalization input " +
                                                           shapeToString(x) +
                                                           " has no pixels to normalise over");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = x;
    return {};
}

// For each (n, c), over its P spatial positions p:
//   mean = (1/P) sum_p x[n][c][p],  var = (1/P) sum_p (x[n][c][p] - mean)^2
//   y[n][c][p] = scale[c] * (x[n][c][p] - mean) / sqrt(var + epsilon) + B[c]
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Shape& shape = in[0]->shape();
    const double epsilon = node.attrs.getFloat("epsilon", 1e-5f);
    const float* x = in[0]->data<float>();
    const float* scale = in[1]->data<float>();
    const float* bias = in[2]->data<float>();
    float* y = out[0]->data<float>();
    int64_t pixels = 1;
    for (size_t d = 2; d < shape.size(); ++d) pixels *= shape[d];
    for (int64_t nc = 0; nc < shape[0] * shape[1]; ++nc) {
        const int64_t c = nc % shape[1];
        const float* plane = x + nc * pixels;
        double mean = 0.0;
        for (int64_t p = 0; p < pixels; ++p) mean += plane[p];
        mean /= static_cast<double>(pixels);
        double var = 0.0;
        for (int64_t p = 0; p < pixels; ++p) var += (plane[p] - mean) * (plane[p] - mean);
        var /= static_cast<double>(pixels);
        const double invStd = 1.0 / std::sqrt(var + epsilon);
        for (int64_t p = 0; p < pixels; ++p) {
            y[nc * pixels + p] =
                static_cast<float>(scale[c] * (plane[p] - mean) * invStd + bias[c]);
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0) || !hasOnnxInput(node, 1) || !hasOnnxInput(node, 2)) {
        return makeError(ErrorCode::InvalidArgument, "InstanceNormalization needs X, scale and B");
    }
    OnnxImport result;
    result.attrs.set("epsilon", onnxAttrs(node).getFloat("epsilon", 1e-5f));
    result.inputs = {0, 1, 2};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "InstanceNormalization";
    out.attrs.set("epsilon", node.attrs.getFloat("epsilon", 1e-5f));
    out.inputs = {irOperand(0), irOperand(1), irOperand(2)};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefInstanceNormalization = {OpKind::InstanceNormalization,
                                           "InstanceNormalization",
                                           infer,
                                           reference,
                                           importOnnx,
                                           exportOnnx,
                                           {}};

}  // namespace prunelab::engine

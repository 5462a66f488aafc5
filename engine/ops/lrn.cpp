// LRN, local response normalisation across channels (AlexNet's): each element divided by a
// power of the summed squares of its neighbouring channels. Shape inference, the reference
// kernel and the ONNX mapping (size, alpha, beta, bias).
#include <algorithm>
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("LRN", in, 1, 1));
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported,
                         "LRN supports float32 only, got " + dtypeText(in[0].dtype));
    }
    if (in[0].shape.size() < 3) {
        return makeError(ErrorCode::ShapeMismatch,
                         "LRN needs X as [N, C, spatial...], got " + shapeToString(in[0].shape));
    }
    if (node.attrs.getInt("size", 0) < 1) {
        return makeError(
            ErrorCode::InvalidArgument,
            "LRN size must be at least 1, got " + std::to_string(node.attrs.getInt("size", 0)));
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = in[0].shape;
    return {};
}

// For channel c of C, with the window c - floor((size-1)/2) .. c + ceil((size-1)/2) clipped
// to [0, C-1]:
//   square_sum[n][c][p] = sum over c' in the window of x[n][c'][p]^2
//   y[n][c][p] = x[n][c][p] / (bias + alpha / size * square_sum[n][c][p])^beta
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Shape& shape = in[0]->shape();
    const int64_t size = node.attrs.getInt("size", 1);
    const double alpha = node.attrs.getFloat("alpha", 1e-4f);
    const double beta = node.attrs.getFloat("beta", 0.75f);
    const double bias = node.attrs.getFloat("bias", 1.0f);
    const int64_t channels = shape[1];
    int64_t pixels = 1;
    for (size_t d = 2; d < shape.size(); ++d) pixels *= shape[d];
    const int64_t below = (size - 1) / 2, above = size - 1 - below;  // floor, ceil
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t n = 0; n < shape[0]; ++n) {
        for (int64_t c = 0; c < channels; ++c) {
            const int64_t from = std::max<int64_t>(0, c - below);
            const int64_t to = std::min<int64_t>(channels - 1, c + above);
            for (int64_t p = 0; p < pixels; ++p) {
                double squares = 0.0;
                for (int64_t k = from; k <= to; ++k) {
                    const double v = x[(n * channels + k) * pixels + p];
                    squares += v * v;
                }
                const int64_t at = (n * channels + c) * pixels + p;
                y[at] = static_cast<float>(
                    x[at] / std::pow(bias + alpha / static_cast<double>(size) * squares, beta));
            }
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) return makeError(ErrorCode::InvalidArgument, "LRN needs an input");
    const Attributes& a = onnxAttrs(node);
    if (!a.has("size")) {
        return makeError(ErrorCode::InvalidArgument, "LRN needs its 'size' attribute");
    }
    OnnxImport result;
    result.attrs.set("size", a.getInt("size", 1));
    result.attrs.set("alpha", a.getFloat("alpha", 1e-4f));
    result.attrs.set("beta", a.getFloat("beta", 0.75f));
    result.attrs.set("bias", a.getFloat("bias", 1.0f));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "LRN");
}

}  // namespace

const OpDef kOpDefLRN = {OpKind::LRN, "LRN", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

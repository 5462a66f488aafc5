// GlobalMaxPool: the largest value over all spatial dims of X[N][C][spatial...], keeping them as
// 1s. Shape inference, the reference kernel and the ONNX mapping (no attributes).
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("GlobalMaxPool", in, 1, 1));
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported,
                         "GlobalMaxPool supports float32 only, got " + dtypeText(in[0].dtype));
    }
    const Shape& x = in[0].shape;
    if (x.size() < 3) {
        return makeError(ErrorCode::ShapeMismatch,
                         "GlobalMaxPool needs [N, C, spatial...], got " + shapeToString(x));
    }
    for (size_t d = 2; d < x.size(); ++d) {
        if (x[d] < 1) {
            return makeError(ErrorCode::ShapeMismatch,
                             "GlobalMaxPool input " + shapeToString(x) + " has no pixels");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = x;
    for (size_t d = 2; d < x.size(); ++d) out[0].shape[d] = 1;
    return {};
}

// y[n][c] = max over every spatial position p of x[n][c][p].
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Shape& x = in[0]->shape();
    int64_t pixels = 1;
    for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
    const float* src = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t nc = 0; nc < x[0] * x[1]; ++nc) {
        float m = src[nc * pixels];
        for (int64_t p = 1; p < pixels; ++p) {
            if (src[nc * pixels + p] > m) m = src[nc * pixels + p];
        }
        y[nc] = m;
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "GlobalMaxPool");
}

}  // namespace

const OpDef kOpDefGlobalMaxPool = {
    OpKind::GlobalMaxPool, "GlobalMaxPool", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

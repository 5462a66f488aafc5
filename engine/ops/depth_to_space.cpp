// DepthToSpace: moves blocks of channels into blocksize x blocksize spatial tiles (NCHW), in
// DCR (depth-column-row) or CRD (column-row-depth) order. Shape inference, the reference
// kernel and the ONNX mapping.
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status inferDepthToSpace(const Node& node, std::span<const TensorInfo> in,
                         std::span<TensorInfo> out) {
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "DepthToSpace takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "DepthToSpace supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    const Shape& x = in[0].shape;
    if (x.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "DepthToSpace needs NCHW input, got " + shapeToString(x));
    }
    const int64_t block = node.attrs.getInt("blocksize", 0);
    if (block < 1) {
        return makeError(
            ErrorCode::InvalidArgument,
            "DepthToSpace 'blocksize' must be at least 1, got " + std::to_string(block));
    }
    const std::string mode = node.attrs.getString("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") {
        return makeError(ErrorCode::InvalidArgument,
                         "DepthToSpace 'mode' must be DCR or CRD, got '" + mode + "'");
    }
    // A file's blocksize (ONNX, ncnn's PixelShuffle) can be any int64: the products are checked.
    int64_t area = 0, height = 0, width = 0;
    if (__builtin_mul_overflow(block, block, &area) ||
        __builtin_mul_overflow(x[2], block, &height) ||
        __builtin_mul_overflow(x[3], block, &width)) {
        return makeError(ErrorCode::OutOfRange, "DepthToSpace 'blocksize' " +
                                                    std::to_string(block) + " on " +
                                                    shapeToString(x) + " overflows int64");
    }
    if (x[1] % area != 0) {
        return makeError(ErrorCode::ShapeMismatch,
                         "input has " + std::to_string(x[1]) +
                             " channels, not divisible by blocksize^2 = " + std::to_string(area));
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = {x[0], x[1] / area, height, width};
    return {};
}

// With b = blocksize and C' = C / b^2, output pixel (h*b + i, w*b + j) of channel c reads
//   DCR: y[n][c][h*b + i][w*b + j] = x[n][(i*b + j)*C' + c][h][w]
//   CRD: y[n][c][h*b + i][w*b + j] = x[n][c*b*b + i*b + j][h][w]
Status referenceDepthToSpace(const Node& node, std::span<const Tensor* const> in,
                             std::span<Tensor* const> out) {
    const Shape& xs = in[0]->shape();
    const int64_t b = node.attrs.getInt("blocksize", 1);
    const bool dcr = node.attrs.getString("mode", "DCR") == "DCR";
    const int64_t c2 = xs[1] / (b * b), h = xs[2], w = xs[3];
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t n = 0; n < xs[0]; ++n) {
        for (int64_t c = 0; c < c2; ++c) {
            for (int64_t oh = 0; oh < h * b; ++oh) {
                for (int64_t ow = 0; ow < w * b; ++ow) {
                    const int64_t i = oh % b, j = ow % b;
                    const int64_t ic = dcr ? (i * b + j) * c2 + c : c * b * b + i * b + j;
                    y[((n * c2 + c) * h * b + oh) * w * b + ow] =
                        x[((n * xs[1] + ic) * h + oh / b) * w + ow / b];
                }
            }
        }
    }
    return {};
}

Result<OnnxImport> importDepthToSpace(const OnnxNodeIn& node) {
    const Attributes& a = *node.attrs;
    if (!a.has("blocksize")) {
        return makeError(ErrorCode::InvalidArgument, "DepthToSpace needs blocksize");
    }
    OnnxImport result;
    result.attrs.set("blocksize", a.getInt("blocksize"));
    // Opsets before 11 have no mode: they are DCR.
    result.attrs.set("mode", a.getString("mode", "DCR"));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportDepthToSpace(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "DepthToSpace";
    out.attrs.set("blocksize", node.attrs.getInt("blocksize", 1));
    out.attrs.set("mode", node.attrs.getString("mode", "DCR"));
    out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefDepthToSpace = {OpKind::DepthToSpace,
                                  "DepthToSpace",
                                  inferDepthToSpace,
                                  referenceDepthToSpace,
                                  importDepthToSpace,
                                  exportDepthToSpace,
                                  {}};

}  // namespace prunelab::engine

// Conv: 2-D grouped, dilated, padded convolution (NCHW). Shape inference, the reference kernel,
// the ONNX mapping, and the parameter parsing of conv.h that the CPU runtime and pools reuse.
#include "engine/ops/conv.h"

#include <algorithm>
#include <limits>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

std::string sizeText(int64_t h, int64_t w) {
    return std::to_string(h) + "x" + std::to_string(w);
}

}  // namespace

// ---- Parameter parsing (conv.h) ----

Result<std::vector<int64_t>> convAttrInts(const Attributes& attrs, const std::string& name,
                                          size_t count, int64_t fallback, int64_t minValue,
                                          std::string_view op) {
    std::vector<int64_t> v = attrs.getInts(name, std::vector<int64_t>(count, fallback));
    if (v.size() != count) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(op) + " '" + name + "' has " + std::to_string(v.size()) +
                             " values, expected " + std::to_string(count));
    }
    // Far beyond any real model, and small enough that the window arithmetic (pads plus
    // (kernel - 1) * dilation) cannot overflow int64 on a hostile file's values.
    constexpr int64_t kMaxValue = (int64_t{1} << 31) - 1;
    for (int64_t x : v) {
        if (x < minValue) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " '" + name + "' values must be at least " +
                                 std::to_string(minValue) + ", got " + std::to_string(x));
        }
        if (x > kMaxValue) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " '" + name + "' values must be at most " +
                                 std::to_string(kMaxValue) + ", got " + std::to_string(x));
        }
    }
    return v;
}

int64_t slidingOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                          int64_t padBegin, int64_t padEnd, bool ceilMode) {
    const int64_t span = in + padBegin + padEnd - ((kernel - 1) * dilation + 1);
    if (span < 0) return 0;
    int64_t out = span / stride + 1;
    if (ceilMode && span % stride != 0) {
        out += 1;
        // A window that would start in the end padding is dropped: it sees no input.
        if ((out - 1) * stride >= in + padBegin) out -= 1;
    }
    return out;
}

Result<ConvParams> convParams(const Node& node, const Shape& x, const Shape& w) {
    if (x.size() != 4) {
        return makeError(ErrorCode::Unsupported,
                         "only 2-D convolutions are supported (input has rank " +
                             std::to_string(x.size()) + ", expected NCHW)");
    }
    if (w.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch, "weight has shape " + shapeToString(w) +
                                                       ", expected [out, in/group, kh, kw]");
    }
    PL_TRY_ASSIGN(auto strides, convAttrInts(node.attrs, "strides", 2, 1, 1, "Conv"));
    PL_TRY_ASSIGN(auto pads, convAttrInts(node.attrs, "pads", 4, 0, 0, "Conv"));
    PL_TRY_ASSIGN(auto dilations, convAttrInts(node.attrs, "dilations", 2, 1, 1, "Conv"));
    ConvParams p;
    p.group = node.attrs.getInt("group", 1);
    if (p.group < 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "Conv 'group' must be at least 1, got " + std::to_string(p.group));
    }
    p.batch = x[0];
    p.inChannels = x[1];
    p.inH = x[2];
    p.inW = x[3];
    p.outChannels = w[0];
    p.kernelH = w[2];
    p.kernelW = w[3];
    p.strideH = strides[0];
    p.strideW = strides[1];
    p.padTop = pads[0];
    p.padLeft = pads[1];
    p.padBottom = pads[2];
    p.padRight = pads[3];
    p.dilationH = dilations[0];
    p.dilationW = dilations[1];
    const std::string withGroup = " with group " + std::to_string(p.group);
    if (p.inChannels % p.group != 0) {
        return makeError(ErrorCode::ShapeMismatch, "input has " + std::to_string(p.inChannels) +
                                                       " channels, not divisible" + withGroup);
    }
    if (p.outChannels % p.group != 0 || p.outChannels == 0) {
        return makeError(ErrorCode::ShapeMismatch,
                         "weight has " + std::to_string(p.outChannels) +
                             " output channels, not a positive multiple of group " +
                             std::to_string(p.group));
    }
    if (w[1] != p.inChannels / p.group) {
        return makeError(ErrorCode::ShapeMismatch, "weight has " + std::to_string(w[1]) +
                                                       " input channels per group but input has " +
                                                       std::to_string(p.inChannels) + " channels" +
                                                       withGroup);
    }
    if (p.kernelH < 1 || p.kernelW < 1) {
        return makeError(ErrorCode::ShapeMismatch,
                         "weight has an empty kernel " + sizeText(p.kernelH, p.kernelW));
    }
    p.outH =
        slidingOutputSize(p.inH, p.kernelH, p.strideH, p.dilationH, p.padTop, p.padBottom, false);
    p.outW =
        slidingOutputSize(p.inW, p.kernelW, p.strideW, p.dilationW, p.padLeft, p.padRight, false);
    if (p.outH < 1 || p.outW < 1) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "the dilated kernel " +
                sizeText((p.kernelH - 1) * p.dilationH + 1, (p.kernelW - 1) * p.dilationW + 1) +
                " does not fit the padded input " +
                sizeText(p.inH + p.padTop + p.padBottom, p.inW + p.padLeft + p.padRight));
    }
    return p;
}

// ---- ONNX helpers (conv.h) ----

Result<std::vector<int64_t>> onnxSpatialInts(const Attributes& onnxAttrs, const std::string& name,
                                             size_t count, int64_t fallback, std::string_view op) {
    // ONNX leaves the minimum to each op; the canonical parsers check the ranges later.
    return convAttrInts(onnxAttrs, name, count, fallback, std::numeric_limits<int64_t>::min(), op);
}

Result<std::vector<int64_t>> onnxResolveAutoPad(const Attributes& onnxAttrs, int64_t inH,
                                                int64_t inW, const std::vector<int64_t>& kernel,
                                                const std::vector<int64_t>& strides,
                                                const std::vector<int64_t>& dilations,
                                                std::string_view op) {
    const std::string autoPad = onnxAttrs.getString("auto_pad", "NOTSET");
    if (autoPad == "NOTSET" || autoPad.empty()) {
        return onnxSpatialInts(onnxAttrs, "pads", 4, 0, op);
    }
    if (autoPad == "VALID") return std::vector<int64_t>(4, 0);
    if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(op) + " has unknown auto_pad '" + autoPad + "'");
    }
    std::vector<int64_t> pads(4, 0);
    const int64_t in[2] = {inH, inW};
    for (size_t i = 0; i < 2; ++i) {
        if (strides[i] < 1) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " 'strides' values must be at least 1");
        }
        // SAME: out = ceil(in / stride); pad just enough for the last window to fit.
        const int64_t out = (in[i] + strides[i] - 1) / strides[i];
        const int64_t effectiveKernel = (kernel[i] - 1) * dilations[i] + 1;
        const int64_t total =
            std::max<int64_t>(0, (out - 1) * strides[i] + effectiveKernel - in[i]);
        const int64_t small = total / 2, large = total - total / 2;
        pads[i] = autoPad == "SAME_UPPER" ? small : large;  // begin
        pads[i + 2] = total - pads[i];                      // end
    }
    return pads;
}

// ---- The op ----

namespace {

Status inferConv(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.size() < 2 || in.size() > 3 || !in[0].present() || !in[1].present()) {
        return makeError(ErrorCode::InvalidArgument, "Conv takes X, W and an optional B; got " +
                                                         std::to_string(in.size()) + " inputs");
    }
    if (out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "Conv has exactly one output");
    }
    for (const TensorInfo& t : in) {
        if (t.present() && t.dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, "Conv supports float32 only, got " +
                                                         std::string(dataTypeName(t.dtype)));
        }
    }
    PL_TRY_ASSIGN(ConvParams p, convParams(node, in[0].shape, in[1].shape));
    if (in.size() == 3 && in[2].present() && in[2].shape != Shape{p.outChannels}) {
        return makeError(ErrorCode::ShapeMismatch,
                         "bias has shape " + shapeToString(in[2].shape) + " but the weight has " +
                             std::to_string(p.outChannels) + " output channels");
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = {p.batch, p.outChannels, p.outH, p.outW};
    return {};
}

// y[n][o][oh][ow] = B[o] + sum over c < C/group, kh, kw of
//     x[n][g*C/group + c][oh*strideH - padTop + kh*dilationH][ow*strideW - padLeft + kw*dilationW]
//     * W[o][c][kh][kw]
// where g = o / (O/group) is the group of output channel o, and x is 0 outside the input
// (zero padding). Sums run in double so the reference is more exact than any fast path.
Status referenceConv(const Node& node, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(ConvParams p, convParams(node, in[0]->shape(), in[1]->shape()));
    const float* x = in[0]->data<float>();
    const float* w = in[1]->data<float>();
    const float* bias = in.size() > 2 && in[2] != nullptr ? in[2]->data<float>() : nullptr;
    float* y = out[0]->data<float>();
    const int64_t cPerGroup = p.inChannelsPerGroup(), oPerGroup = p.outChannelsPerGroup();

    for (int64_t n = 0; n < p.batch; ++n) {
        for (int64_t o = 0; o < p.outChannels; ++o) {
            const int64_t g = o / oPerGroup;
            for (int64_t oh = 0; oh < p.outH; ++oh) {
                for (int64_t ow = 0; ow < p.outW; ++ow) {
                    double sum = bias != nullptr ? bias[o] : 0.0;
                    for (int64_t c = 0; c < cPerGroup; ++c) {
                        const int64_t ic = g * cPerGroup + c;
                        for (int64_t kh = 0; kh < p.kernelH; ++kh) {
                            const int64_t ih = oh * p.strideH - p.padTop + kh * p.dilationH;
                            if (ih < 0 || ih >= p.inH) continue;  // zero padding
                            for (int64_t kw = 0; kw < p.kernelW; ++kw) {
                                const int64_t iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
                                if (iw < 0 || iw >= p.inW) continue;
                                const float xv =
                                    x[((n * p.inChannels + ic) * p.inH + ih) * p.inW + iw];
                                const float wv =
                                    w[((o * cPerGroup + c) * p.kernelH + kh) * p.kernelW + kw];
                                sum += static_cast<double>(xv) * wv;
                            }
                        }
                    }
                    y[((n * p.outChannels + o) * p.outH + oh) * p.outW + ow] =
                        static_cast<float>(sum);
                }
            }
        }
    }
    return {};
}

Result<OnnxImport> importConv(const OnnxNodeIn& node) {
    if (node.inputs.size() < 2 || !node.inputs[0].present() || !node.inputs[1].present()) {
        return makeError(ErrorCode::InvalidArgument, "Conv needs inputs X and W");
    }
    const Shape& x = node.inputs[0].shape;
    const Shape& w = node.inputs[1].shape;
    if (x.size() != 4 || w.size() != 4) {
        return makeError(ErrorCode::Unsupported,
                         "only 2-D convolutions are supported (input has rank " +
                             std::to_string(x.size()) + ", weight rank " +
                             std::to_string(w.size()) + ")");
    }
    const Attributes& a = *node.attrs;
    const std::vector<int64_t> kernel = {w[2], w[3]};
    if (a.has("kernel_shape") && a.getInts("kernel_shape") != kernel) {
        return makeError(ErrorCode::ShapeMismatch,
                         "Conv kernel_shape " + shapeToString(a.getInts("kernel_shape")) +
                             " does not match the weight's " + shapeToString(kernel));
    }
    PL_TRY_ASSIGN(auto strides, onnxSpatialInts(a, "strides", 2, 1, "Conv"));
    PL_TRY_ASSIGN(auto dilations, onnxSpatialInts(a, "dilations", 2, 1, "Conv"));
    PL_TRY_ASSIGN(auto pads, onnxResolveAutoPad(a, x[2], x[3], kernel, strides, dilations, "Conv"));
    OnnxImport result;
    result.attrs.set("strides", strides);
    result.attrs.set("pads", pads);
    result.attrs.set("dilations", dilations);
    result.attrs.set("group", a.getInt("group", 1));
    result.inputs = {0, 1};
    if (node.inputs.size() > 2 && node.inputs[2].present()) result.inputs.push_back(2);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportConv(const Node& node, const Graph& graph) {
    if (node.inputs.size() < 2) {
        return makeError(ErrorCode::InvalidArgument, "Conv needs inputs X and W");
    }
    PL_TRY_ASSIGN(ConvParams p, convParams(node, graph.value(node.inputs[0]).shape,
                                           graph.value(node.inputs[1]).shape));
    OnnxNodeOut out;
    out.opType = "Conv";
    out.attrs.set("kernel_shape", std::vector<int64_t>{p.kernelH, p.kernelW});
    out.attrs.set("strides", std::vector<int64_t>{p.strideH, p.strideW});
    out.attrs.set("pads", std::vector<int64_t>{p.padTop, p.padLeft, p.padBottom, p.padRight});
    out.attrs.set("dilations", std::vector<int64_t>{p.dilationH, p.dilationW});
    out.attrs.set("group", p.group);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] != kNoValue) {
            out.inputs.push_back({OnnxOperand::Kind::IrInput, static_cast<int>(i), {}});
        }
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefConv = {OpKind::Conv, "Conv",     inferConv, referenceConv,
                          importConv,   exportConv, {}};

}  // namespace prunelab::engine

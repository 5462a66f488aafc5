// ConvTranspose: 2-D transposed (fractionally strided) convolution, NCHW, the adjoint of Conv.
// Shape inference, the reference kernel, the ONNX mapping (output_shape and auto_pad resolved
// into pads) and convTransposeParams (conv.h) for the CPU runtime.
#include <algorithm>
#include <vector>

#include "engine/ops/conv.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

std::string sizeText(int64_t h, int64_t w) {
    return std::to_string(h) + "x" + std::to_string(w);
}

}  // namespace

Result<ConvParams> convTransposeParams(const Node& node, const Shape& x, const Shape& w) {
    if (x.size() != 4) {
        return makeError(ErrorCode::Unsupported,
                         "only 2-D convolutions are supported (input has rank " +
                             std::to_string(x.size()) + ", expected NCHW)");
    }
    if (w.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch, "weight has shape " + shapeToString(w) +
                                                       ", expected [in, out/group, kh, kw]");
    }
    const char* op = "ConvTranspose";
    PL_TRY_ASSIGN(auto strides, convAttrInts(node.attrs, "strides", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto pads, convAttrInts(node.attrs, "pads", 4, 0, 0, op));
    PL_TRY_ASSIGN(auto dilations, convAttrInts(node.attrs, "dilations", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto outputPadding, convAttrInts(node.attrs, "output_padding", 2, 0, 0, op));
    ConvParams p;
    p.group = node.attrs.getInt("group", 1);
    if (p.group < 1) {
        return makeError(
            ErrorCode::InvalidArgument,
            "ConvTranspose 'group' must be at least 1, got " + std::to_string(p.group));
    }
    p.batch = x[0];
    p.inChannels = x[1];
    p.inH = x[2];
    p.inW = x[3];
    p.outChannels = w[1] * p.group;
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
    p.outputPaddingH = outputPadding[0];
    p.outputPaddingW = outputPadding[1];
    const std::string withGroup = " with group " + std::to_string(p.group);
    if (p.inChannels % p.group != 0) {
        return makeError(ErrorCode::ShapeMismatch, "input has " + std::to_string(p.inChannels) +
                                                       " channels, not divisible" + withGroup);
    }
    if (w[0] != p.inChannels) {
        return makeError(ErrorCode::ShapeMismatch,
                         "weight has " + std::to_string(w[0]) + " input channels but input has " +
                             std::to_string(p.inChannels) + " channels" + withGroup);
    }
    if (w[1] < 1 || p.kernelH < 1 || p.kernelW < 1) {
        return makeError(ErrorCode::ShapeMismatch,
                         "weight has an empty dimension: " + shapeToString(w));
    }
    p.outH = p.strideH * (p.inH - 1) + p.outputPaddingH + (p.kernelH - 1) * p.dilationH + 1 -
             p.padTop - p.padBottom;
    p.outW = p.strideW * (p.inW - 1) + p.outputPaddingW + (p.kernelW - 1) * p.dilationW + 1 -
             p.padLeft - p.padRight;
    if (p.outH < 1 || p.outW < 1) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "pads " + shapeToString(pads) + " crop the whole " +
                sizeText(p.outH + p.padTop + p.padBottom, p.outW + p.padLeft + p.padRight) +
                " output");
    }
    return p;
}

namespace {

Status inferConvTranspose(const Node& node, std::span<const TensorInfo> in,
                          std::span<TensorInfo> out) {
    if (in.size() < 2 || in.size() > 3 || !in[0].present() || !in[1].present()) {
        return makeError(ErrorCode::InvalidArgument,
                         "ConvTranspose takes X, W and an optional B; got " +
                             std::to_string(in.size()) + " inputs");
    }
    if (out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "ConvTranspose has exactly one output");
    }
    for (const TensorInfo& t : in) {
        if (t.present() && t.dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, "ConvTranspose supports float32 only, got " +
                                                         std::string(dataTypeName(t.dtype)));
        }
    }
    PL_TRY_ASSIGN(ConvParams p, convTransposeParams(node, in[0].shape, in[1].shape));
    if (in.size() == 3 && in[2].present() && in[2].shape != Shape{p.outChannels}) {
        return makeError(ErrorCode::ShapeMismatch, "bias has shape " + shapeToString(in[2].shape) +
                                                       " but the output has " +
                                                       std::to_string(p.outChannels) + " channels");
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = {p.batch, p.outChannels, p.outH, p.outW};
    return {};
}

// Every input pixel scatters a weighted copy of its kernel into the output:
//   y[n][g*O/group + o][ih*strideH - padTop + kh*dilationH][iw*strideW - padLeft + kw*dilationW]
//       += x[n][g*C/group + c][ih][iw] * W[g*C/group + c][o][kh][kw]
// for c < C/group, o < O/group; positions outside the output are cropped (that is what the
// pads mean here), output_padding only extends the end. Then y += B[o]. Sums run in double.
Status referenceConvTranspose(const Node& node, std::span<const Tensor* const> in,
                              std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(ConvParams p, convTransposeParams(node, in[0]->shape(), in[1]->shape()));
    const float* x = in[0]->data<float>();
    const float* w = in[1]->data<float>();
    const float* bias = in.size() > 2 && in[2] != nullptr ? in[2]->data<float>() : nullptr;
    const int64_t cPerGroup = p.inChannelsPerGroup(), oPerGroup = p.outChannelsPerGroup();
    std::vector<double> sum(static_cast<size_t>(out[0]->elements()), 0.0);

    for (int64_t n = 0; n < p.batch; ++n) {
        for (int64_t ic = 0; ic < p.inChannels; ++ic) {
            const int64_t g = ic / cPerGroup;
            for (int64_t ih = 0; ih < p.inH; ++ih) {
                for (int64_t iw = 0; iw < p.inW; ++iw) {
                    const double xv = x[((n * p.inChannels + ic) * p.inH + ih) * p.inW + iw];
                    for (int64_t o = 0; o < oPerGroup; ++o) {
                        const int64_t oc = g * oPerGroup + o;
                        for (int64_t kh = 0; kh < p.kernelH; ++kh) {
                            const int64_t oh = ih * p.strideH - p.padTop + kh * p.dilationH;
                            if (oh < 0 || oh >= p.outH) continue;  // cropped by the pads
                            for (int64_t kw = 0; kw < p.kernelW; ++kw) {
                                const int64_t ow = iw * p.strideW - p.padLeft + kw * p.dilationW;
                                if (ow < 0 || ow >= p.outW) continue;
                                const float wv =
                                    w[((ic * oPerGroup + o) * p.kernelH + kh) * p.kernelW + kw];
                                sum[static_cast<size_t>(
                                    ((n * p.outChannels + oc) * p.outH + oh) * p.outW + ow)] +=
                                    xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    float* y = out[0]->data<float>();
    const int64_t plane = p.outH * p.outW;
    for (size_t i = 0; i < sum.size(); ++i) {
        const int64_t oc = static_cast<int64_t>(i) / plane % p.outChannels;
        y[i] = static_cast<float>(sum[i] + (bias != nullptr ? bias[oc] : 0.0f));
    }
    return {};
}

// Splits the total padding of one axis like ONNX (and ONNX Runtime since 1.17): the odd pixel
// goes to the end for SAME_UPPER and to the beginning otherwise.
void distributePadding(const std::string& autoPad, int64_t total, int64_t& begin, int64_t& end) {
    begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    end = total - begin;
}

Result<OnnxImport> importConvTranspose(const OnnxNodeIn& node) {
    if (node.inputs.size() < 2 || !node.inputs[0].present() || !node.inputs[1].present()) {
        return makeError(ErrorCode::InvalidArgument, "ConvTranspose needs inputs X and W");
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
    const char* op = "ConvTranspose";
    const std::vector<int64_t> kernel = {w[2], w[3]};
    if (a.has("kernel_shape") && a.getInts("kernel_shape") != kernel) {
        return makeError(ErrorCode::ShapeMismatch,
                         "ConvTranspose kernel_shape " + shapeToString(a.getInts("kernel_shape")) +
                             " does not match the weight's " + shapeToString(kernel));
    }
    PL_TRY_ASSIGN(auto strides, convAttrInts(a, "strides", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto dilations, convAttrInts(a, "dilations", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto outputPadding, convAttrInts(a, "output_padding", 2, 0, 0, op));
    const std::string autoPad = a.getString("auto_pad", "NOTSET");
    std::vector<int64_t> pads(4, 0);

    // The natural output length before any padding crops it.
    auto fullLength = [&](size_t i) {
        return strides[i] * (x[2 + i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1;
    };
    if (a.has("output_shape")) {
        // output_shape holds the spatial dims (or all of N, C, H, W): pads follow from it.
        std::vector<int64_t> target = a.getInts("output_shape");
        if (target.size() == 4) target.erase(target.begin(), target.begin() + 2);
        if (target.size() != 2) {
            return makeError(ErrorCode::InvalidArgument, "ConvTranspose output_shape " +
                                                             shapeToString(target) +
                                                             " must have 2 (H, W) or 4 values");
        }
        for (size_t i = 0; i < 2; ++i) {
            const int64_t total = fullLength(i) - target[i];
            if (total >= 0) {
                distributePadding(autoPad, total, pads[i], pads[i + 2]);
            } else {
                // Larger than the kernel reaches: the extra end pixels get only the bias,
                // which is exactly what output_padding means.
                outputPadding[i] -= total;
            }
        }
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        for (size_t i = 0; i < 2; ++i) {
            const int64_t total = std::max<int64_t>(0, fullLength(i) - x[2 + i] * strides[i]);
            distributePadding(autoPad, total, pads[i], pads[i + 2]);
        }
    } else if (autoPad == "NOTSET" || autoPad.empty()) {
        PL_TRY_ASSIGN(pads, onnxSpatialInts(a, "pads", 4, 0, op));
    } else if (autoPad != "VALID") {
        return makeError(ErrorCode::InvalidArgument,
                         "ConvTranspose has unknown auto_pad '" + autoPad + "'");
    }
    OnnxImport result;
    result.attrs.set("strides", strides);
    result.attrs.set("pads", pads);
    result.attrs.set("dilations", dilations);
    result.attrs.set("group", a.getInt("group", 1));
    result.attrs.set("output_padding", outputPadding);
    result.inputs = {0, 1};
    if (node.inputs.size() > 2 && node.inputs[2].present()) result.inputs.push_back(2);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportConvTranspose(const Node& node, const Graph& graph) {
    if (node.inputs.size() < 2) {
        return makeError(ErrorCode::InvalidArgument, "ConvTranspose needs inputs X and W");
    }
    PL_TRY_ASSIGN(ConvParams p, convTransposeParams(node, graph.value(node.inputs[0]).shape,
                                                    graph.value(node.inputs[1]).shape));
    OnnxNodeOut out;
    out.opType = "ConvTranspose";
    out.attrs.set("kernel_shape", std::vector<int64_t>{p.kernelH, p.kernelW});
    out.attrs.set("strides", std::vector<int64_t>{p.strideH, p.strideW});
    out.attrs.set("pads", std::vector<int64_t>{p.padTop, p.padLeft, p.padBottom, p.padRight});
    out.attrs.set("dilations", std::vector<int64_t>{p.dilationH, p.dilationW});
    out.attrs.set("group", p.group);
    out.attrs.set("output_padding", std::vector<int64_t>{p.outputPaddingH, p.outputPaddingW});
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] != kNoValue) {
            out.inputs.push_back({OnnxOperand::Kind::IrInput, static_cast<int>(i), {}});
        }
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefConvTranspose = {OpKind::ConvTranspose,
                                   "ConvTranspose",
                                   inferConvTranspose,
                                   referenceConvTranspose,
                                   importConvTranspose,
                                   exportConvTranspose,
                                   {}};

}  // namespace prunelab::engine

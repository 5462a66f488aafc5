// ncnn layer mappings, part 1: the Importer's helpers and dispatch, then the layers that carry
// weights or compute element-wise (Convolution, Deconvolution, Pooling, InnerProduct,
// BinaryOp, Eltwise, activations). Data-movement layers are in ncnn_shape_layers.cpp.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "plugins/import-ncnn/ncnn_internal.h"

namespace prunelab::ncnn::internal {

using engine::Attributes;
using engine::DataType;
using engine::ErrorCode;
using engine::makeError;
using engine::Node;
using engine::OpKind;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::Tensor;
using engine::ValueId;

// ---- Helpers -----------------------------------------------------------------------------

Result<ValueId> Importer::input(const Layer& layer, size_t i) const {
    auto it = blobs.find(layer.bottoms[i]);
    if (it == blobs.end()) {
        return makeError(ErrorCode::NotFound,
                         "reads blob '" + layer.bottoms[i] + "', which no earlier layer produces");
    }
    return it->second;
}

Status Importer::expectCounts(const Layer& layer, size_t bottoms, size_t tops) const {
    if (layer.bottoms.size() == bottoms && layer.tops.size() == tops) return {};
    return makeError(ErrorCode::Corrupt, "expects " + std::to_string(bottoms) + " input(s) and " +
                                             std::to_string(tops) + " output(s)");
}

ValueId Importer::constant(const std::string& name, Tensor value) {
    return m_graph.addConstant(m_graph.uniqueName(name), std::move(value));
}

Result<ValueId> Importer::emit(OpKind op, const std::string& nodeName, std::vector<ValueId> inputs,
                               const std::string& top, Attributes attrs) {
    const std::string valueName = m_graph.uniqueName(top.empty() ? nodeName + "_out" : top);
    const ValueId out = m_graph.addValue(valueName, DataType::Float32, {});
    Node& node = m_graph.addNode(op, nodeName, std::move(inputs), {out}, std::move(attrs));
    std::vector<engine::TensorInfo> info;
    PL_TRY(engine::inferNode(m_graph, node, info));
    m_graph.value(out).dtype = info[0].dtype;
    m_graph.value(out).shape = info[0].shape;
    if (!top.empty()) blobs[top] = out;
    return out;
}

// ncnn's fused activations: 0 none, 1 relu, 2 leaky relu(slope), 3 clip(min, max), 4 sigmoid,
// 5 mish, 6 hardswish(alpha, beta).
Result<ValueId> Importer::emitActivation(const Layer& layer, ValueId x, int64_t type,
                                         const std::vector<float>& params, const std::string& top) {
    const std::string name = layer.name + "_act";
    Attributes attrs;
    switch (type) {
        case 1:
            return emit(OpKind::Relu, name, {x}, top);
        case 2:
            attrs.set("alpha", params.empty() ? 0.0f : params[0]);
            return emit(OpKind::LeakyRelu, name, {x}, top, attrs);
        case 3:
            if (params.size() < 2) {
                return makeError(ErrorCode::Corrupt, "clip activation needs min and max");
            }
            attrs.set("min", params[0]);
            attrs.set("max", params[1]);
            return emit(OpKind::Clip, name, {x}, top, attrs);
        case 4:
            return emit(OpKind::Sigmoid, name, {x}, top);
        case 5:
            return emit(OpKind::Mish, name, {x}, top);
        case 6: {
            if (params.size() < 2) {
                return makeError(ErrorCode::Corrupt, "hardswish activation needs alpha and beta");
            }
            // x * clip(alpha*x + beta, 0, 1): ONNX HardSwish when alpha is 1/6, else spelled out.
            if (std::abs(params[0] - 1.0f / 6.0f) < 1e-6f && params[1] == 0.5f) {
                return emit(OpKind::HardSwish, name, {x}, top);
            }
            attrs.set("alpha", params[0]);
            attrs.set("beta", params[1]);
            PL_TRY_ASSIGN(ValueId gate, emit(OpKind::HardSigmoid, name + "_gate", {x}, "", attrs));
            return emit(OpKind::Mul, name, {x, gate}, top);
        }
        default:
            return makeError(ErrorCode::Unsupported,
                             "fused activation_type " + std::to_string(type) +
                                 " is not supported (0 none, 1 relu, 2 leaky, 3 clip, 4 sigmoid, "
                                 "5 mish, 6 hardswish)");
    }
}

// ---- Dispatch and the parameterless layers -------------------------------------------------

Status Importer::importLayer(const Layer& layer, int64_t height, int64_t width) {
    const ParamDict& p = layer.params;
    const std::string& t = layer.type;
    if (t == "Input") {
        PL_TRY(expectCounts(layer, 0, 1));
        PL_TRY_ASSIGN(int64_t c, p.getInt(2, 0));
        if (c <= 0) c = 3;
        const ValueId v = m_graph.addValue(layer.tops[0], DataType::Float32, {1, c, height, width});
        m_graph.inputs.push_back(v);
        blobs[layer.tops[0]] = v;
        return {};
    }
    if (t == "Split") {  // ncnn's fan-out: every top is the same tensor, so alias it
        if (layer.bottoms.size() != 1) return expectCounts(layer, 1, layer.tops.size());
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        for (const std::string& top : layer.tops) blobs[top] = x;
        return {};
    }
    if (t == "Convolution") return convolution(layer, false);
    if (t == "ConvolutionDepthWise") return convolution(layer, true);
    if (t == "Deconvolution") return deconvolution(layer, false);
    if (t == "DeconvolutionDepthWise") return deconvolution(layer, true);
    if (t == "BinaryOp") return binaryOp(layer);
    if (t == "Eltwise") return eltwise(layer);
    if (t == "Pooling") return pooling(layer);
    if (t == "InnerProduct") return innerProduct(layer);
    if (t == "Interp") return interp(layer);
    if (t == "Concat") return concat(layer);
    if (t == "PixelShuffle") return pixelShuffle(layer);
    if (t == "Reshape") return reshape(layer);
    if (t == "Permute") return permute(layer);
    if (t == "Softmax") return softmax(layer);
    if (t == "Crop") return crop(layer);
    if (t == "Padding") return padding(layer);
    if (t == "Flatten") return flatten(layer);
    if (t == "PReLU" || t == "ReLU" || t == "Sigmoid" || t == "Dropout" || t == "Clip" ||
        t == "HardSigmoid" || t == "HardSwish" || t == "Mish") {
        return activationLayer(layer);
    }
    return makeError(ErrorCode::Unsupported, "layer type '" + t + "' is not supported");
}

// One input, one output, element-wise: PReLU (slopes from the .bin), ReLU (0 slope),
// Sigmoid, Mish, Dropout (0 scale, must be 1), Clip (0 min, 1 max), HardSigmoid and HardSwish
// (0 alpha = 0.2, 1 beta = 0.5: y = clip(alpha*x + beta, 0, 1), times x for HardSwish).
Status Importer::activationLayer(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    const std::string& t = layer.type;
    const std::string& top = layer.tops[0];
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    Attributes attrs;
    if (t == "PReLU") {
        PL_TRY_ASSIGN(int64_t n, p.getInt(0, 0));
        if (n < 1) return makeError(ErrorCode::Corrupt, "num_slope must be positive");
        const Shape& xs = shapeOf(x);
        if (n != 1 && (xs.size() < 2 || xs[1] != n)) {
            return makeError(ErrorCode::Corrupt, "num_slope " + std::to_string(n) +
                                                     " does not match the input's channels in " +
                                                     engine::shapeToString(xs));
        }
        PL_TRY_ASSIGN(std::vector<float> slope, m_bin.load(n, false, "slopes"));
        // One slope per channel broadcasts as [C, 1, ...] over [1, C, ...]; a single one as [1].
        Shape shape = {n};
        if (n != 1) shape.resize(xs.size() - 1, 1);
        PL_TRY(emit(OpKind::PRelu, layer.name,
                    {x, constant(layer.name + "_slope", Tensor::fromVector<float>(shape, slope))},
                    top));
        return {};
    }
    if (t == "ReLU") {
        PL_TRY_ASSIGN(float slope, p.getFloat(0, 0.0f));
        if (slope != 0.0f) attrs.set("alpha", slope);
        PL_TRY(emit(slope != 0.0f ? OpKind::LeakyRelu : OpKind::Relu, layer.name, {x}, top, attrs));
        return {};
    }
    if (t == "Sigmoid") {
        PL_TRY(emit(OpKind::Sigmoid, layer.name, {x}, top));
        return {};
    }
    if (t == "Mish") {  // x * tanh(ln(1 + e^x)), no parameters
        PL_TRY(emit(OpKind::Mish, layer.name, {x}, top));
        return {};
    }
    if (t == "Dropout") {
        PL_TRY_ASSIGN(float scale, p.getFloat(0, 1.0f));
        if (scale != 1.0f) return makeError(ErrorCode::Unsupported, "Dropout scale != 1");
        PL_TRY(emit(OpKind::Identity, layer.name, {x}, top));
        return {};
    }
    if (t == "Clip") {
        PL_TRY_ASSIGN(float lo, p.getFloat(0, -INFINITY));
        PL_TRY_ASSIGN(float hi, p.getFloat(1, INFINITY));
        if (lo > hi) {
            return makeError(ErrorCode::Corrupt, "Clip min " + std::to_string(lo) +
                                                     " is above max " + std::to_string(hi));
        }
        attrs.set("min", lo);
        attrs.set("max", hi);
        PL_TRY(emit(OpKind::Clip, layer.name, {x}, top, attrs));
        return {};
    }
    // HardSigmoid / HardSwish
    PL_TRY_ASSIGN(float alpha, p.getFloat(0, 0.2f));
    PL_TRY_ASSIGN(float beta, p.getFloat(1, 0.5f));
    if (alpha == 0.0f) {
        return makeError(ErrorCode::Unsupported, t + " alpha 0 (ncnn divides by alpha)");
    }
    if (t == "HardSwish") {
        PL_TRY(emitActivation(layer, x, 6, {alpha, beta}, top));
        return {};
    }
    attrs.set("alpha", alpha);
    attrs.set("beta", beta);
    PL_TRY(emit(OpKind::HardSigmoid, layer.name, {x}, top, attrs));
    return {};
}

// ---- Weighted layers ---------------------------------------------------------------------

Status Importer::convolution(const Layer& layer, bool depthwise) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t outC, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t kw, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t kh, p.getInt(11, kw));
    PL_TRY_ASSIGN(int64_t dw, p.getInt(2, 1));
    PL_TRY_ASSIGN(int64_t dh, p.getInt(12, dw));
    PL_TRY_ASSIGN(int64_t sw, p.getInt(3, 1));
    PL_TRY_ASSIGN(int64_t sh, p.getInt(13, sw));
    PL_TRY_ASSIGN(int64_t padL, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t padT, p.getInt(14, padL));
    PL_TRY_ASSIGN(int64_t padR, p.getInt(15, padL));
    PL_TRY_ASSIGN(int64_t padB, p.getInt(16, padT));
    PL_TRY_ASSIGN(float padValue, p.getFloat(18, 0.0f));
    PL_TRY_ASSIGN(int64_t biasTerm, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t weightSize, p.getInt(6, 0));
    PL_TRY_ASSIGN(int64_t group, p.getInt(7, 1));
    PL_TRY_ASSIGN(int64_t int8Scale, p.getInt(8, 0));
    PL_TRY_ASSIGN(int64_t actType, p.getInt(9, 0));
    PL_TRY_ASSIGN(std::vector<float> actParams, p.getFloats(10));
    if (!depthwise) group = 1;  // plain Convolution has no group parameter
    if (padL < 0 || padT < 0 || padR < 0 || padB < 0 || padValue != 0.0f) {
        // -233/-234 are ncnn's SAME_UPPER/SAME_LOWER; non-zero pad_value has no Conv equivalent.
        return makeError(ErrorCode::Unsupported, "automatic (SAME) or non-zero-value padding");
    }
    if (int8Scale != 0) return makeError(ErrorCode::Unsupported, "int8 convolution");
    const Shape& xs = shapeOf(x);
    if (outC < 1 || kw < 1 || kh < 1 || dw < 1 || dh < 1 || sw < 1 || sh < 1 || group < 1 ||
        xs.size() != 4 || xs[1] % group != 0 || outC % group != 0) {
        return makeError(ErrorCode::Corrupt,
                         "invalid parameters: num_output " + std::to_string(outC) + ", kernel " +
                             std::to_string(kh) + "x" + std::to_string(kw) + ", group " +
                             std::to_string(group) + " on input " + engine::shapeToString(xs));
    }
    const int64_t inPerGroup = xs[1] / group;
    // Parameters are 32-bit and dims <= 2^32, so each pair fits int64; the four may not.
    int64_t expected = 0;
    const bool overflow = __builtin_mul_overflow(outC * inPerGroup, kh * kw, &expected);
    if (overflow || weightSize != expected) {
        return makeError(ErrorCode::Corrupt,
                         "weight_data_size " + std::to_string(weightSize) + " does not match " +
                             "num_output*in*kh*kw/group = " +
                             (overflow ? std::string("more than 2^63") : std::to_string(expected)));
    }
    PL_TRY_ASSIGN(std::vector<float> weights, m_bin.load(weightSize, true, "weights"));
    std::vector<ValueId> inputs = {
        x, m_graph.addConstant(m_graph.uniqueName(layer.name + "_weight"),
                               Tensor::fromVector<float>({outC, inPerGroup, kh, kw}, weights))};
    if (biasTerm != 0) {
        PL_TRY_ASSIGN(std::vector<float> bias, m_bin.load(outC, false, "bias"));
        inputs.push_back(m_graph.addConstant(m_graph.uniqueName(layer.name + "_bias"),
                                             Tensor::fromVector<float>({outC}, bias)));
    }
    Attributes attrs;
    attrs.set("strides", std::vector<int64_t>{sh, sw});
    attrs.set("pads", std::vector<int64_t>{padT, padL, padB, padR});
    attrs.set("dilations", std::vector<int64_t>{dh, dw});
    attrs.set("group", group);
    const std::string& top = layer.tops[0];
    PL_TRY_ASSIGN(ValueId conv,
                  emit(OpKind::Conv, layer.name, inputs, actType == 0 ? top : "", attrs));
    if (actType != 0) PL_TRY(emitActivation(layer, conv, actType, actParams, top));
    return {};
}

// One spatial axis of ncnn's Deconvolution output. ncnn scatters into the full extent
// (in-1)*stride + dilation*(k-1) + 1, adds bias and the activation, appends `outputPad` zeros
// at the end (zeros, not bias: they are added after the activation), then cuts `cutBegin` /
// `cutEnd`. As IR: ConvTranspose with pads {cutBegin, cutEnd - outputPad} when that is >= 0,
// and a zero Pad for whatever part of the appended zeros survives the cut.
struct DeconvAxis {
    int64_t padBegin = 0, padEnd = 0, zeroTail = 0;
};

Result<DeconvAxis> deconvAxis(int64_t full, int64_t outputPad, int64_t cutBegin, int64_t cutEnd,
                              const char* axis) {
    const std::string where = std::string(" along ") + axis;
    if (cutBegin < 0 || cutEnd < 0 || full + outputPad - cutBegin - cutEnd < 1) {
        return makeError(ErrorCode::Corrupt, "padding cuts " + std::to_string(cutBegin) + "+" +
                                                 std::to_string(cutEnd) + " leave nothing of " +
                                                 std::to_string(full + outputPad) + where);
    }
    if (cutBegin >= full) {
        return makeError(ErrorCode::Unsupported,
                         "the output would hold only output padding" + where);
    }
    return DeconvAxis{cutBegin, std::max<int64_t>(0, cutEnd - outputPad),
                      std::max<int64_t>(0, outputPad - cutEnd)};
}

// ncnn Deconvolution(DepthWise): 0 num_output, 1/11 kernel w/h, 2/12 dilation, 3/13 stride,
// 4/15/14/16 pad left/right/top/bottom, 18/19 output_pad right/bottom, 20/21 output w/h (with
// pads -233 SAME_UPPER / -234 SAME_LOWER), 5 bias_term, 6 weight_data_size, 7 group
// (DepthWise only), 9/10 activation, 28 dynamic_weight. Weights are [g][out/g][in/g][kh][kw]
// with no kernel flip: y[o][i*stride + ki*dilation][...] += x[c][i][...] * W[o][c][ki][...].
Status Importer::deconvolution(const Layer& layer, bool depthwise) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t outC, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t kw, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t kh, p.getInt(11, kw));
    PL_TRY_ASSIGN(int64_t dw, p.getInt(2, 1));
    PL_TRY_ASSIGN(int64_t dh, p.getInt(12, dw));
    PL_TRY_ASSIGN(int64_t sw, p.getInt(3, 1));
    PL_TRY_ASSIGN(int64_t sh, p.getInt(13, sw));
    PL_TRY_ASSIGN(int64_t padL, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t padR, p.getInt(15, padL));
    PL_TRY_ASSIGN(int64_t padT, p.getInt(14, padL));
    PL_TRY_ASSIGN(int64_t padB, p.getInt(16, padT));
    PL_TRY_ASSIGN(int64_t outPadR, p.getInt(18, 0));
    PL_TRY_ASSIGN(int64_t outPadB, p.getInt(19, outPadR));
    PL_TRY_ASSIGN(int64_t outW, p.getInt(20, 0));
    PL_TRY_ASSIGN(int64_t outH, p.getInt(21, outW));
    PL_TRY_ASSIGN(int64_t biasTerm, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t weightSize, p.getInt(6, 0));
    PL_TRY_ASSIGN(int64_t group, p.getInt(7, 1));
    PL_TRY_ASSIGN(int64_t actType, p.getInt(9, 0));
    PL_TRY_ASSIGN(std::vector<float> actParams, p.getFloats(10));
    PL_TRY_ASSIGN(int64_t dynamicWeight, p.getInt(28, 0));
    if (!depthwise) group = 1;  // plain Deconvolution has no group parameter
    if (dynamicWeight != 0) {
        return makeError(ErrorCode::Unsupported, "dynamic_weight (weights from a second input)");
    }
    const Shape xs = shapeOf(x);
    constexpr int64_t kMax = 1 << 16;  // far above any real layer; keeps the products in range
    const auto inRange = [&](int64_t v, int64_t lo) { return v >= lo && v <= kMax; };
    if (!inRange(outC, 1) || !inRange(kw, 1) || !inRange(kh, 1) || !inRange(dw, 1) ||
        !inRange(dh, 1) || !inRange(sw, 1) || !inRange(sh, 1) || !inRange(group, 1) ||
        !inRange(outPadR, 0) || !inRange(outPadB, 0) || xs.size() != 4 || xs[1] % group != 0 ||
        outC % group != 0) {
        return makeError(ErrorCode::Corrupt,
                         "invalid parameters: num_output " + std::to_string(outC) + ", kernel " +
                             std::to_string(kh) + "x" + std::to_string(kw) + ", stride " +
                             std::to_string(sh) + "x" + std::to_string(sw) + ", dilation " +
                             std::to_string(dh) + "x" + std::to_string(dw) + ", output_pad " +
                             std::to_string(outPadB) + "x" + std::to_string(outPadR) + ", group " +
                             std::to_string(group) + " on input " + engine::shapeToString(xs));
    }
    // Which rows/columns ncnn's cut_padding removes, in its order of precedence.
    const int64_t fullH = (xs[2] - 1) * sh + dh * (kh - 1) + 1;
    const int64_t fullW = (xs[3] - 1) * sw + dw * (kw - 1) + 1;
    int64_t cutT = 0, cutB = 0, cutL = 0, cutR = 0;
    const bool anyNegative = padL < 0 || padR < 0 || padT < 0 || padB < 0;
    if (padL > 0 || padR > 0 || padT > 0 || padB > 0) {
        if (anyNegative) {
            return makeError(ErrorCode::Corrupt, "pads mix positive and negative values");
        }
        cutT = padT, cutB = padB, cutL = padL, cutR = padR;
    } else if (outW > 0 && outH > 0) {
        const auto has = [&](int64_t v) {
            return padL == v || padR == v || padT == v || padB == v;
        };
        if (!has(-233) && !has(-234)) {
            return makeError(ErrorCode::Corrupt,
                             "output_w/output_h need pads -233 (SAME_UPPER) or -234 (SAME_LOWER)");
        }
        const bool upper = has(-233);
        const int64_t hCut = fullH + outPadB - outH, wCut = fullW + outPadR - outW;
        if (hCut < 0 || wCut < 0) {
            return makeError(ErrorCode::Corrupt, "output size " + std::to_string(outH) + "x" +
                                                     std::to_string(outW) +
                                                     " is larger than the deconvolution's " +
                                                     std::to_string(fullH + outPadB) + "x" +
                                                     std::to_string(fullW + outPadR));
        }
        cutT = upper ? hCut / 2 : hCut - hCut / 2, cutB = hCut - cutT;
        cutL = upper ? wCut / 2 : wCut - wCut / 2, cutR = wCut - cutL;
    } else if (anyNegative || outW < 0 || outH < 0 || (outW > 0) != (outH > 0)) {
        return makeError(ErrorCode::Corrupt,
                         "pads -233/-234 or output_w/output_h need both output_w and output_h");
    }
    PL_TRY_ASSIGN(DeconvAxis rows, deconvAxis(fullH, outPadB, cutT, cutB, "height"));
    PL_TRY_ASSIGN(DeconvAxis cols, deconvAxis(fullW, outPadR, cutL, cutR, "width"));

    const int64_t inPerGroup = xs[1] / group, outPerGroup = outC / group;
    int64_t expected = 0;
    if (__builtin_mul_overflow(outC * inPerGroup, kh * kw, &expected) || weightSize != expected) {
        return makeError(ErrorCode::Corrupt,
                         "weight_data_size " + std::to_string(weightSize) + " does not match " +
                             "num_output*in*kh*kw/group = " + std::to_string(expected));
    }
    PL_TRY_ASSIGN(std::vector<float> weights, m_bin.load(weightSize, true, "weights"));
    // ncnn [g][o][c][k] -> ConvTranspose [g*C/g + c][o][k] (input channels first).
    std::vector<float> w(weights.size());
    const size_t k = static_cast<size_t>(kh * kw);
    const auto og = static_cast<size_t>(outPerGroup), cg = static_cast<size_t>(inPerGroup);
    for (size_t g = 0; g < static_cast<size_t>(group); ++g) {
        for (size_t o = 0; o < og; ++o) {
            for (size_t c = 0; c < cg; ++c) {
                const float* from = &weights[((g * og + o) * cg + c) * k];
                std::copy(from, from + k, &w[((g * cg + c) * og + o) * k]);
            }
        }
    }
    std::vector<ValueId> inputs = {
        x, constant(layer.name + "_weight",
                    Tensor::fromVector<float>({xs[1], outPerGroup, kh, kw}, w))};
    if (biasTerm != 0) {
        PL_TRY_ASSIGN(std::vector<float> bias, m_bin.load(outC, false, "bias"));
        inputs.push_back(constant(layer.name + "_bias", Tensor::fromVector<float>({outC}, bias)));
    }
    Attributes attrs;
    attrs.set("strides", std::vector<int64_t>{sh, sw});
    attrs.set("pads", std::vector<int64_t>{rows.padBegin, cols.padBegin, rows.padEnd, cols.padEnd});
    attrs.set("dilations", std::vector<int64_t>{dh, dw});
    attrs.set("group", group);
    attrs.set("output_padding", std::vector<int64_t>{0, 0});
    const std::string& top = layer.tops[0];
    const bool tail = rows.zeroTail > 0 || cols.zeroTail > 0;
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::ConvTranspose, layer.name, inputs,
                                  actType == 0 && !tail ? top : "", attrs));
    if (actType != 0) {
        PL_TRY_ASSIGN(y, emitActivation(layer, y, actType, actParams, tail ? "" : top));
    }
    if (tail) {
        Attributes pad;
        pad.set("pads", std::vector<int64_t>{0, 0, 0, 0, 0, 0, rows.zeroTail, cols.zeroTail});
        pad.set("mode", std::string("constant"));
        pad.set("value", 0.0f);
        PL_TRY(emit(OpKind::Pad, layer.name + "_output_pad", {y}, top, pad));
    }
    return {};
}

// ncnn BinaryOp: 0 op_type, 1 with_scalar, 2 b (the scalar). Types 0 add, 1 sub, 2 mul, 3 div,
// 4 max, 5 min, 6 pow, 7 rsub (b - a), 8 rdiv (b / a), 9 rpow (b ^ a). max/min exist only
// against a scalar (as Clip): the IR has no element-wise Max/Min.
Status Importer::binaryOp(const Layer& layer) {
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(int64_t opType, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t withScalar, p.getInt(1, 0));
    PL_TRY_ASSIGN(float scalar, p.getFloat(2, 0.0f));
    if (withScalar != 0 && withScalar != 1) {
        return makeError(ErrorCode::Corrupt, "with_scalar must be 0 or 1");
    }
    PL_TRY(expectCounts(layer, withScalar != 0 ? 1 : 2, 1));
    static const OpKind kOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div};
    OpKind op{};
    bool reversed = false;
    if (opType >= 0 && opType <= 3) {
        op = kOps[opType];
    } else if (opType == 6 || opType == 9) {
        op = OpKind::Pow;
        reversed = opType == 9;
    } else if (opType == 7 || opType == 8) {
        op = opType == 7 ? OpKind::Sub : OpKind::Div;
        reversed = true;
    } else if ((opType == 4 || opType == 5) && withScalar == 0) {
        return makeError(ErrorCode::Unsupported,
                         "BinaryOp max/min of two blobs (the IR has no element-wise Max/Min; "
                         "only with_scalar=1 is supported)");
    } else if (opType != 4 && opType != 5) {
        return makeError(ErrorCode::Unsupported,
                         "BinaryOp op_type " + std::to_string(opType) +
                             " (supported: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, "
                             "7 rsub, 8 rdiv, 9 rpow)");
    }
    PL_TRY_ASSIGN(ValueId a, input(layer, 0));
    const std::string& top = layer.tops[0];
    if (opType == 4 || opType == 5) {  // max(a, s) = Clip(min = s); min(a, s) = Clip(max = s)
        Attributes attrs;
        attrs.set("min", opType == 4 ? scalar : -INFINITY);
        attrs.set("max", opType == 5 ? scalar : INFINITY);
        PL_TRY(emit(OpKind::Clip, layer.name, {a}, top, attrs));
        return {};
    }
    ValueId b = engine::kNoValue;
    if (withScalar != 0) {
        b = constant(layer.name + "_b", Tensor::scalar(scalar));
    } else {
        PL_TRY_ASSIGN(b, input(layer, 1));
    }
    PL_TRY(emit(op, layer.name, reversed ? std::vector<ValueId>{b, a} : std::vector<ValueId>{a, b},
                top));
    return {};
}

// ncnn Eltwise: 0 op_type (0 prod, 1 sum, 2 max), 1 coeffs (sum only).
Status Importer::eltwise(const Layer& layer) {
    if (layer.bottoms.size() < 2 || layer.tops.size() != 1) {
        return makeError(ErrorCode::Corrupt, "Eltwise needs at least two inputs and one output");
    }
    PL_TRY_ASSIGN(int64_t opType, layer.params.getInt(0, 0));
    PL_TRY_ASSIGN(std::vector<float> coeffs, layer.params.getFloats(1));
    for (float c : coeffs) {
        if (c != 1.0f) return makeError(ErrorCode::Unsupported, "Eltwise with coefficients != 1");
    }
    if (opType != 0 && opType != 1) {
        return makeError(ErrorCode::Unsupported, "Eltwise max has no IR op");
    }
    PL_TRY_ASSIGN(ValueId acc, input(layer, 0));
    for (size_t i = 1; i < layer.bottoms.size(); ++i) {
        PL_TRY_ASSIGN(ValueId next, input(layer, i));
        const bool last = i + 1 == layer.bottoms.size();
        PL_TRY_ASSIGN(acc, emit(opType == 0 ? OpKind::Mul : OpKind::Add,
                                last ? layer.name : layer.name + "_" + std::to_string(i),
                                {acc, next}, last ? layer.tops[0] : ""));
    }
    return {};
}

// ncnn Pooling: 0 type (0 max, 1 avg), 1/11 kernel, 2/12 stride, 3/13/14/15 pads (l t r b),
// 4 global, 5 pad_mode (0 full, 1 valid, 2 SAME_UPPER, 3 SAME_LOWER), 6 avg count_include_pad.
Status Importer::pooling(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t type, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t kw, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t kh, p.getInt(11, kw));
    PL_TRY_ASSIGN(int64_t sw, p.getInt(2, 1));
    PL_TRY_ASSIGN(int64_t sh, p.getInt(12, sw));
    PL_TRY_ASSIGN(int64_t padL, p.getInt(3, 0));
    PL_TRY_ASSIGN(int64_t padT, p.getInt(13, padL));
    PL_TRY_ASSIGN(int64_t padR, p.getInt(14, padL));
    PL_TRY_ASSIGN(int64_t padB, p.getInt(15, padT));
    PL_TRY_ASSIGN(int64_t global, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t padMode, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t includePad, p.getInt(6, 0));
    PL_TRY_ASSIGN(int64_t adaptive, p.getInt(7, 0));
    const Shape xs = shapeOf(x);
    if (type != 0 && type != 1) {
        return makeError(ErrorCode::Unsupported, "pooling_type " + std::to_string(type));
    }
    if (adaptive != 0 || xs.size() != 4) {
        return makeError(ErrorCode::Unsupported, "adaptive pooling or a non-4-D input");
    }
    const std::string& top = layer.tops[0];
    if (global != 0) {
        if (type == 1) {
            PL_TRY(emit(OpKind::GlobalAveragePool, layer.name, {x}, top));
            return {};
        }
        kh = xs[2];  // global max = one window over the whole plane
        kw = xs[3];
        sh = sw = 1;
        padL = padT = padR = padB = 0;
        padMode = 1;
    }
    if (kw < 1 || kh < 1 || sw < 1 || sh < 1 || padL < 0 || padT < 0 || padR < 0 || padB < 0) {
        return makeError(ErrorCode::Corrupt, "invalid kernel, stride or padding");
    }
    if (padMode == 0) {
        // ncnn "full" padding: extra bottom/right padding so the last window fits (ceil
        // rounding), added explicitly here so no ceil_mode subtleties remain.
        const int64_t wTail = (xs[3] + padL + padR - kw) % sw;
        const int64_t hTail = (xs[2] + padT + padB - kh) % sh;
        if (wTail > 0) padR += sw - wTail;
        if (hTail > 0) padB += sh - hTail;
    } else if (padMode == 2 || padMode == 3) {
        const int64_t wPad = std::max<int64_t>(0, kw + (xs[3] - 1) / sw * sw - xs[3]);
        const int64_t hPad = std::max<int64_t>(0, kh + (xs[2] - 1) / sh * sh - xs[2]);
        const bool upper = padMode == 2;  // SAME_UPPER puts the odd pixel at the end
        padL = upper ? wPad / 2 : wPad - wPad / 2;
        padR = wPad - padL;
        padT = upper ? hPad / 2 : hPad - hPad / 2;
        padB = hPad - padT;
    } else if (padMode != 1) {
        return makeError(ErrorCode::Unsupported, "pad_mode " + std::to_string(padMode));
    }
    Attributes attrs;
    attrs.set("kernel_shape", std::vector<int64_t>{kh, kw});
    attrs.set("strides", std::vector<int64_t>{sh, sw});
    attrs.set("pads", std::vector<int64_t>{padT, padL, padB, padR});
    attrs.set("dilations", std::vector<int64_t>{1, 1});
    attrs.set("ceil_mode", int64_t(0));
    if (type == 1) attrs.set("count_include_pad", int64_t(includePad != 0 ? 1 : 0));
    PL_TRY(emit(type == 0 ? OpKind::MaxPool : OpKind::AveragePool, layer.name, {x}, top, attrs));
    return {};
}

// ncnn InnerProduct: 0 num_output, 1 bias_term, 2 weight_data_size, 8 int8, 9/10 activation.
// Flattens everything after the batch dim, then Gemm with W[out][in] (transB).
Status Importer::innerProduct(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t outN, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t biasTerm, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t weightSize, p.getInt(2, 0));
    PL_TRY_ASSIGN(int64_t int8Scale, p.getInt(8, 0));
    PL_TRY_ASSIGN(int64_t actType, p.getInt(9, 0));
    PL_TRY_ASSIGN(std::vector<float> actParams, p.getFloats(10));
    if (int8Scale != 0) return makeError(ErrorCode::Unsupported, "int8 InnerProduct");
    const Shape xs = shapeOf(x);
    int64_t inN = 1;
    for (size_t i = 1; i < xs.size(); ++i) inN *= xs[i];
    if (outN < 1 || weightSize != outN * inN) {
        return makeError(ErrorCode::Corrupt, "weight_data_size " + std::to_string(weightSize) +
                                                 " does not match num_output*in = " +
                                                 std::to_string(outN) + "*" + std::to_string(inN));
    }
    PL_TRY_ASSIGN(std::vector<float> weights, m_bin.load(weightSize, true, "weights"));
    if (xs.size() != 2) {
        Attributes flat;
        flat.set("axis", int64_t(1));
        PL_TRY_ASSIGN(x, emit(OpKind::Flatten, layer.name + "_flatten", {x}, "", flat));
    }
    std::vector<ValueId> inputs = {
        x, m_graph.addConstant(m_graph.uniqueName(layer.name + "_weight"),
                               Tensor::fromVector<float>({outN, inN}, weights))};
    if (biasTerm != 0) {
        PL_TRY_ASSIGN(std::vector<float> bias, m_bin.load(outN, false, "bias"));
        inputs.push_back(m_graph.addConstant(m_graph.uniqueName(layer.name + "_bias"),
                                             Tensor::fromVector<float>({outN}, bias)));
    }
    Attributes attrs;
    attrs.set("alpha", 1.0f);
    attrs.set("beta", 1.0f);
    attrs.set("transA", int64_t(0));
    attrs.set("transB", int64_t(1));
    const std::string& top = layer.tops[0];
    PL_TRY_ASSIGN(ValueId fc,
                  emit(OpKind::Gemm, layer.name, inputs, actType == 0 ? top : "", attrs));
    if (actType != 0) PL_TRY(emitActivation(layer, fc, actType, actParams, top));
    return {};
}

}  // namespace prunelab::ncnn::internal

// TFLite operator mappings. Sections: 1. layout bookkeeping (a tensor's IR value in TFLite's
// NHWC order or the IR's NCHW order, one Transpose between them made on demand), 2. helpers
// (emit with fused activation and the declared-shape check, weights, SAME/VALID padding),
// 3. the dispatch, 4. one function per operator family.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "plugins/import-tflite/tflite_internal.h"

namespace prunelab::tflite::internal {

using engine::Attributes;
using engine::DataType;
using engine::ErrorCode;
using engine::makeError;
using engine::OpKind;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::Tensor;
using engine::ValueId;
using ::tflite::ActivationFunctionType;
using ::tflite::BuiltinOperator;

namespace {

// IR NCHW axis k holds TFLite NHWC axis kNchwFromNhwc[k]; TFLite axis a is IR axis kIrAxis[a].
constexpr int64_t kNchwFromNhwc[4] = {0, 3, 1, 2};
constexpr int64_t kIrAxis[4] = {0, 2, 3, 1};

// out[i] = in[perm[i]] over any element type (a weight or a constant operand); rank <= 8.
Tensor permute(const Tensor& in, const std::vector<int64_t>& perm) {
    const Shape& s = in.shape();
    const size_t rank = std::min<size_t>(s.size(), 8);
    if (rank == 0 || perm.size() != rank) return in.clone();
    Shape outShape(s);
    int64_t inStride[8], stride[8], idx[8] = {};
    int64_t step = 1;
    for (size_t d = rank; d > 0; --d) {
        inStride[d - 1] = step;
        step *= s[d - 1];
    }
    for (size_t i = 0; i < rank; ++i) {
        outShape[i] = s[static_cast<size_t>(perm[i])];
        stride[i] = inStride[static_cast<size_t>(perm[i])];
    }
    Tensor out(in.dtype(), outShape);
    const size_t es = engine::dataTypeSize(in.dtype());
    const std::byte* src = in.raw();
    std::byte* dst = out.raw();
    for (int64_t o = 0; o < out.elements(); ++o) {
        int64_t offset = 0;
        for (size_t i = 0; i < rank; ++i) offset += idx[i] * stride[i];
        std::memcpy(dst + static_cast<size_t>(o) * es, src + static_cast<size_t>(offset) * es, es);
        for (size_t i = rank; i > 0; --i) {
            if (++idx[i - 1] < outShape[i - 1]) break;
            idx[i - 1] = 0;
        }
    }
    return out;
}

Shape toNhwc(const Shape& nchw) {
    return {nchw[0], nchw[2], nchw[3], nchw[1]};
}

struct Padding1d {
    int64_t out = 0, before = 0, after = 0;
};

// TFLite's ComputePaddingWithOffset: SAME gives ceil(in / stride) outputs and puts the odd
// pixel of padding at the end; VALID pads nothing.
Result<Padding1d> computePadding(::tflite::Padding padding, int64_t in, int64_t kernel,
                                 int64_t stride, int64_t dilation, const char* axis) {
    if (stride < 1 || dilation < 1 || kernel < 1 || stride > 65536 || dilation > 65536 ||
        kernel > 65536) {
        return makeError(ErrorCode::Corrupt, std::string(axis) + ": kernel " +
                                                 std::to_string(kernel) + ", stride " +
                                                 std::to_string(stride) + " and dilation " +
                                                 std::to_string(dilation) + " must be positive");
    }
    const int64_t effective = (kernel - 1) * dilation + 1;
    Padding1d p;
    if (padding == ::tflite::Padding::SAME) {
        p.out = (in + stride - 1) / stride;
    } else if (padding == ::tflite::Padding::VALID) {
        p.out = (in - effective + stride) / stride;
    } else {
        return makeError(ErrorCode::Corrupt,
                         "unknown padding " + std::to_string(static_cast<int>(padding)));
    }
    if (p.out < 1) {
        return makeError(ErrorCode::ShapeMismatch,
                         std::string(axis) + ": a kernel of " + std::to_string(effective) +
                             " does not fit an input of " + std::to_string(in));
    }
    const int64_t total = std::max<int64_t>((p.out - 1) * stride + effective - in, 0);
    p.before = total / 2;
    p.after = total - p.before;
    return p;
}

template <class Options>
Result<const Options*> requireOptions(const Options* options, const char* name) {
    if (options == nullptr) {
        return makeError(ErrorCode::Corrupt, std::string("has no ") + name);
    }
    return options;
}

}  // namespace

// ---- 1. Layout bookkeeping ---------------------------------------------------------------

bool Importer::isConstant(int32_t index) const {
    if (m_folded.count(index) != 0) return true;
    const ::tflite::Tensor& t = tensor(index);
    if (t.buffer() == 0) return false;
    const ::tflite::Buffer* b = m_model.buffers()->Get(t.buffer());
    return b != nullptr && b->data() != nullptr && b->data()->size() != 0;
}

int64_t Importer::rankOf(int32_t index) const {
    const Slot& s = m_slots[static_cast<size_t>(index)];
    if (s.plain != engine::kNoValue)
        return static_cast<int64_t>(m_graph.value(s.plain).shape.size());
    if (s.nchw != engine::kNoValue) return 4;
    if (auto it = m_folded.find(index); it != m_folded.end()) return it->second.rank();
    return static_cast<int64_t>(m_shapes[static_cast<size_t>(index)].size());
}

ValueId Importer::addConstant(const std::string& name, Tensor t) {
    return m_graph.addConstant(m_graph.uniqueName(name), std::move(t));
}

Result<ValueId> Importer::value(int32_t index, Layout layout) {
    const std::string name = tensorName(index);
    if (isConstant(index)) {
        const bool nchw = layout == Layout::Nchw && rankOf(index) == 4;
        const auto key = std::make_pair(index, nchw ? 1 : 0);
        if (auto it = m_constants.find(key); it != m_constants.end()) return it->second;
        PL_TRY_ASSIGN(std::optional<Tensor> t, constant(index));
        const ValueId v = addConstant(name, nchw ? permute(*t, {0, 3, 1, 2}) : std::move(*t));
        m_constants[key] = v;
        return v;
    }
    Slot& s = m_slots[static_cast<size_t>(index)];
    if (s.plain == engine::kNoValue && s.nchw == engine::kNoValue) {
        return makeError(ErrorCode::Corrupt,
                         "reads " + describeTensor(index) +
                             ", which is no input, no constant and no earlier operator's output");
    }
    if (layout == Layout::Nchw && rankOf(index) == 4) {
        if (s.nchw == engine::kNoValue) {
            Attributes a;
            a.set("perm", std::vector<int64_t>{0, 3, 1, 2});
            const ValueId v =
                m_graph.addValue(m_graph.uniqueName(name + "_nchw"), DataType::Float32, {});
            engine::Node& n = m_graph.addNode(OpKind::Transpose, name + "_nchw", {s.plain}, {v}, a);
            std::vector<engine::TensorInfo> info;
            PL_TRY(engine::inferNode(m_graph, n, info));
            m_graph.value(v).dtype = info[0].dtype;
            m_graph.value(v).shape = info[0].shape;
            s.nchw = v;
        }
        return s.nchw;
    }
    if (s.plain == engine::kNoValue) {
        Attributes a;
        a.set("perm", std::vector<int64_t>{0, 2, 3, 1});
        const std::string plainName = m_outputs.count(index) != 0 ? name : name + "_nhwc";
        const ValueId v = m_graph.addValue(m_graph.uniqueName(plainName), DataType::Float32, {});
        engine::Node& n = m_graph.addNode(OpKind::Transpose, plainName, {s.nchw}, {v}, a);
        std::vector<engine::TensorInfo> info;
        PL_TRY(engine::inferNode(m_graph, n, info));
        m_graph.value(v).dtype = info[0].dtype;
        m_graph.value(v).shape = info[0].shape;
        s.plain = v;
    }
    return s.plain;
}

// ---- 2. Helpers ----------------------------------------------------------------------------

Status Importer::expectIo(const OpContext& c, size_t minInputs, size_t maxInputs,
                          size_t outputs) const {
    if (c.inputs.size() < minInputs || c.inputs.size() > maxInputs || c.outputs.size() != outputs) {
        std::string want = std::to_string(minInputs);
        if (maxInputs != minInputs) {
            want.push_back('-');  // (GCC 12's -Wrestrict misfires on "-" + std::string)
            want += std::to_string(maxInputs);
        }
        std::string msg = "has " + std::to_string(c.inputs.size()) + " inputs and ";
        msg += std::to_string(c.outputs.size()) + " outputs; expected " + want;
        msg += " inputs and " + std::to_string(outputs) + " output(s)";
        return makeError(ErrorCode::Corrupt, msg);
    }
    for (size_t i = 0; i < minInputs; ++i) {
        if (c.inputs[i] < 0) {
            return makeError(ErrorCode::Corrupt,
                             "input " + std::to_string(i) + " is required but absent (-1)");
        }
    }
    return {};
}

Result<ValueId> Importer::node(const OpContext&, OpKind op, const std::string& name,
                               std::vector<ValueId> in, Attributes attrs) {
    const ValueId v = m_graph.addValue(m_graph.uniqueName(name), DataType::Float32, {});
    engine::Node& n = m_graph.addNode(op, name, std::move(in), {v}, std::move(attrs));
    std::vector<engine::TensorInfo> info;
    PL_TRY(engine::inferNode(m_graph, n, info));
    m_graph.value(v).dtype = info[0].dtype;
    m_graph.value(v).shape = info[0].shape;
    return v;
}

Status Importer::emit(const OpContext& c, OpKind op, std::vector<ValueId> in, Attributes attrs,
                      int32_t out, Layout layout, ActivationFunctionType act) {
    const std::string base = tensorName(out);
    // An output's TFLite-order value carries its exact name (value() makes it).
    const std::string finalName =
        layout == Layout::Nchw && m_outputs.count(out) != 0 ? base + "_nchw" : base;
    const bool fused = act != ActivationFunctionType::NONE;
    PL_TRY_ASSIGN(ValueId v, node(c, op, fused ? base + "_preact" : finalName, std::move(in),
                                  std::move(attrs)));
    if (fused) {
        Attributes a;
        OpKind kind = OpKind::Relu;
        if (act == ActivationFunctionType::RELU6 || act == ActivationFunctionType::RELU_N1_TO_1) {
            kind = OpKind::Clip;
            a.set("min", act == ActivationFunctionType::RELU6 ? 0.0f : -1.0f);
            a.set("max", act == ActivationFunctionType::RELU6 ? 6.0f : 1.0f);
        } else if (act == ActivationFunctionType::TANH) {
            kind = OpKind::Tanh;
        } else if (act != ActivationFunctionType::RELU) {
            return makeError(ErrorCode::Unsupported,
                             "fused activation " + std::to_string(static_cast<int>(act)) +
                                 " is not supported (NONE, RELU, RELU_N1_TO_1, RELU6, TANH)");
        }
        PL_TRY_ASSIGN(v, node(c, kind, finalName, {v}, a));
    }
    const Shape& shape = m_graph.value(v).shape;
    Slot& s = m_slots[static_cast<size_t>(out)];
    if (layout == Layout::Nchw) {
        if (shape.size() != 4) {
            return makeError(ErrorCode::Internal,
                             "a rank-" + std::to_string(shape.size()) + " result recorded as NCHW");
        }
        s.nchw = v;
    } else {
        s.plain = v;
    }
    if (m_checkShapes) {
        const Shape computed = layout == Layout::Nchw ? toNhwc(shape) : shape;
        if (computed != m_shapes[static_cast<size_t>(out)]) {
            return makeError(ErrorCode::ShapeMismatch,
                             "computes shape " + engine::shapeToString(computed) + " for " +
                                 describeTensor(out) + ", the file declares " +
                                 engine::shapeToString(m_shapes[static_cast<size_t>(out)]));
        }
    }
    return {};
}

Result<ValueId> Importer::weight(const OpContext&, int32_t index, const std::vector<int64_t>& perm,
                                 const std::string& what) {
    if (index < 0) return makeError(ErrorCode::Corrupt, what + " is absent");
    PL_TRY_ASSIGN(std::optional<Tensor> t, constant(index));
    if (!t) {
        return makeError(ErrorCode::Unsupported,
                         what + " " + describeTensor(index) + " must be a constant");
    }
    if (t->dtype() != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, what + " " + describeTensor(index) +
                                                     " must hold floats (or quantised values)");
    }
    if (t->rank() != static_cast<int64_t>(perm.size())) {
        return makeError(ErrorCode::Corrupt, what + " " + describeTensor(index) + " has shape " +
                                                 engine::shapeToString(t->shape()) +
                                                 ", expected rank " + std::to_string(perm.size()));
    }
    return addConstant(tensorName(index), permute(*t, perm));
}

Result<ValueId> Importer::bias(const OpContext& c, size_t input, int64_t channels) {
    if (c.inputs.size() <= input || c.inputs[input] < 0) return engine::kNoValue;
    const int32_t index = c.inputs[input];
    PL_TRY_ASSIGN(std::optional<Tensor> t, constant(index));
    if (!t || t->dtype() != DataType::Float32 || t->elements() != channels) {
        return makeError(ErrorCode::Unsupported, "bias " + describeTensor(index) +
                                                     " must be a constant of " +
                                                     std::to_string(channels) + " floats");
    }
    return addConstant(tensorName(index), t->reshaped({channels}));
}

// ---- 3. Dispatch ---------------------------------------------------------------------------

Status Importer::dispatch(const OpContext& c, int32_t code, const std::string& custom) {
    const ::tflite::Operator& op = *c.op;
    auto act = [](const auto* options) {
        return options != nullptr ? options->fused_activation_function()
                                  : ActivationFunctionType::NONE;
    };
    Attributes a;
    switch (static_cast<BuiltinOperator>(code)) {
        case BuiltinOperator::CONV_2D:
            return conv(c, false);
        case BuiltinOperator::DEPTHWISE_CONV_2D:
            return conv(c, true);
        case BuiltinOperator::TRANSPOSE_CONV:
            return transposeConv(c, false);
        case BuiltinOperator::FULLY_CONNECTED:
            return fullyConnected(c);
        case BuiltinOperator::ADD:
            return binary(c, OpKind::Add, act(op.builtin_options_as_AddOptions()));
        case BuiltinOperator::SUB:
            return binary(c, OpKind::Sub, act(op.builtin_options_as_SubOptions()));
        case BuiltinOperator::MUL:
            return binary(c, OpKind::Mul, act(op.builtin_options_as_MulOptions()));
        case BuiltinOperator::DIV:
            return binary(c, OpKind::Div, act(op.builtin_options_as_DivOptions()));
        case BuiltinOperator::CONCATENATION:
            return concat(c);
        case BuiltinOperator::RESHAPE:
        case BuiltinOperator::SQUEEZE:
            return reshape(c);
        case BuiltinOperator::TRANSPOSE:
            return transpose(c);
        case BuiltinOperator::PAD:
        case BuiltinOperator::PADV2:
            return pad(c, "constant");
        case BuiltinOperator::MIRROR_PAD: {
            const auto* o = op.builtin_options_as_MirrorPadOptions();
            if (o != nullptr && o->mode() != ::tflite::MirrorPadMode::REFLECT) {
                return makeError(ErrorCode::Unsupported,
                                 "MIRROR_PAD mode SYMMETRIC is not supported (REFLECT is)");
            }
            return pad(c, "reflect");
        }
        case BuiltinOperator::MAX_POOL_2D:
            return pool(c, true);
        case BuiltinOperator::AVERAGE_POOL_2D:
            return pool(c, false);
        case BuiltinOperator::MEAN:
            return reduce(c, OpKind::ReduceMean);
        case BuiltinOperator::SUM:
            return reduce(c, OpKind::ReduceSum);
        case BuiltinOperator::REDUCE_MAX:
            return reduce(c, OpKind::ReduceMax);
        case BuiltinOperator::REDUCE_MIN:
            return reduce(c, OpKind::ReduceMin);
        case BuiltinOperator::MAXIMUM:
            return binary(c, OpKind::Max, ActivationFunctionType::NONE);
        case BuiltinOperator::MINIMUM:
            return binary(c, OpKind::Min, ActivationFunctionType::NONE);
        case BuiltinOperator::EXP:
            return unary(c, OpKind::Exp);
        case BuiltinOperator::SQRT:
            return unary(c, OpKind::Sqrt);
        case BuiltinOperator::ABS:
            return unary(c, OpKind::Abs);
        case BuiltinOperator::NEG:
            return unary(c, OpKind::Neg);
        case BuiltinOperator::FLOOR:
            return unary(c, OpKind::Floor);
        case BuiltinOperator::CEIL:
            return unary(c, OpKind::Ceil);
        case BuiltinOperator::ROUND:  // TFLite rounds half to even, as the IR's Round does
            return unary(c, OpKind::Round);
        case BuiltinOperator::LOG:
            return unary(c, OpKind::Log);
        case BuiltinOperator::RESIZE_BILINEAR:
            return resize(c, true);
        case BuiltinOperator::RESIZE_NEAREST_NEIGHBOR:
            return resize(c, false);
        case BuiltinOperator::DEPTH_TO_SPACE:
            return depthToSpace(c);
        case BuiltinOperator::LOGISTIC:
            return unary(c, OpKind::Sigmoid);
        case BuiltinOperator::TANH:
            return unary(c, OpKind::Tanh);
        case BuiltinOperator::RELU:
            return unary(c, OpKind::Relu);
        case BuiltinOperator::RELU6:
        case BuiltinOperator::RELU_N1_TO_1: {
            const bool six = static_cast<BuiltinOperator>(code) == BuiltinOperator::RELU6;
            a.set("min", six ? 0.0f : -1.0f);
            a.set("max", six ? 6.0f : 1.0f);
            return unary(c, OpKind::Clip, a);
        }
        case BuiltinOperator::LEAKY_RELU: {
            const auto* o = op.builtin_options_as_LeakyReluOptions();
            a.set("alpha", o != nullptr ? o->alpha() : 0.2f);
            return unary(c, OpKind::LeakyRelu, a);
        }
        case BuiltinOperator::HARD_SWISH:
            return unary(c, OpKind::HardSwish);
        case BuiltinOperator::PRELU:
            return prelu(c);
        case BuiltinOperator::SOFTMAX:
            return softmax(c);
        case BuiltinOperator::DEQUANTIZE:
            return foldConstant(c, false);
        case BuiltinOperator::DENSIFY:
            return foldConstant(c, true);
        case BuiltinOperator::QUANTIZE:  // float -> int8 or a requantisation: real values stay
            return unary(c, OpKind::Identity);
        case BuiltinOperator::CUSTOM:
            if (custom == "Convolution2DTransposeBias") return transposeConv(c, true);
            return makeError(ErrorCode::Unsupported,
                             "custom operator '" + custom +
                                 "' is not supported (MediaPipe's Convolution2DTransposeBias is)");
        default:
            return makeError(ErrorCode::Unsupported,
                             "operator " + opName(code, custom) + " is not supported");
    }
}

// ---- 4. Operators --------------------------------------------------------------------------

// CONV_2D: W [O][kh][kw][I] (OHWI; I = C / groups); DEPTHWISE_CONV_2D: W [1][kh][kw][C*M],
// output channel c*M + m reads input channel c: an IR Conv with group = C, W[C*M][1][kh][kw].
Status Importer::conv(const OpContext& c, bool depthwise) {
    PL_TRY(expectIo(c, 2, 3, 1));
    ::tflite::Padding padding{};
    int64_t sh = 0, sw = 0, dh = 1, dw = 1;
    ActivationFunctionType act{};
    if (depthwise) {
        PL_TRY_ASSIGN(const auto* o,
                      requireOptions(c.op->builtin_options_as_DepthwiseConv2DOptions(),
                                     "DepthwiseConv2DOptions"));
        padding = o->padding();
        sh = o->stride_h(), sw = o->stride_w(), dh = o->dilation_h_factor();
        dw = o->dilation_w_factor(), act = o->fused_activation_function();
    } else {
        PL_TRY_ASSIGN(const auto* o,
                      requireOptions(c.op->builtin_options_as_Conv2DOptions(), "Conv2DOptions"));
        padding = o->padding();
        sh = o->stride_h(), sw = o->stride_w(), dh = o->dilation_h_factor();
        dw = o->dilation_w_factor(), act = o->fused_activation_function();
    }
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Nchw));
    const Shape xs = m_graph.value(x).shape;
    if (xs.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "input has shape " + engine::shapeToString(xs) + ", expected NHWC");
    }
    PL_TRY_ASSIGN(ValueId w, weight(c, c.inputs[1],
                                    depthwise ? std::vector<int64_t>{3, 0, 1, 2}
                                              : std::vector<int64_t>{0, 3, 1, 2},
                                    "weight"));
    const Shape ws = m_graph.value(w).shape;  // [O][I][kh][kw]
    const int64_t channels = xs[1];
    if (channels < 1 || ws[0] < 1) {
        return makeError(ErrorCode::ShapeMismatch, "input or weight has no channels");
    }
    int64_t group = 1;
    if (depthwise) {
        if (ws[0] % channels != 0) {
            return makeError(ErrorCode::ShapeMismatch,
                             "depthwise weight has " + std::to_string(ws[0]) +
                                 " channels, not a multiple of the input's " +
                                 std::to_string(channels));
        }
        group = channels;
    } else {
        if (ws[1] < 1 || channels % ws[1] != 0) {
            return makeError(ErrorCode::ShapeMismatch,
                             "weight takes " + std::to_string(ws[1]) +
                                 " input channels, which does not divide the input's " +
                                 std::to_string(channels));
        }
        group = channels / ws[1];
        if (ws[0] % group != 0) {
            return makeError(ErrorCode::ShapeMismatch, "output channels do not divide into " +
                                                           std::to_string(group) + " groups");
        }
    }
    PL_TRY_ASSIGN(Padding1d ph, computePadding(padding, xs[2], ws[2], sh, dh, "height"));
    PL_TRY_ASSIGN(Padding1d pw, computePadding(padding, xs[3], ws[3], sw, dw, "width"));
    PL_TRY_ASSIGN(ValueId b, bias(c, 2, ws[0]));
    Attributes a;
    a.set("strides", std::vector<int64_t>{sh, sw});
    a.set("pads", std::vector<int64_t>{ph.before, pw.before, ph.after, pw.after});
    a.set("dilations", std::vector<int64_t>{dh, dw});
    a.set("group", group);
    std::vector<ValueId> in = {x, w};
    if (b != engine::kNoValue) in.push_back(b);
    return emit(c, OpKind::Conv, in, a, c.outputs[0], Layout::Nchw, act);
}

// TRANSPOSE_CONV: inputs (output_shape, W [O][kh][kw][I], x, bias?); MediaPipe's custom
// Convolution2DTransposeBias: (x, W, bias) with TfLiteTransposeConvParams as raw int32s
// (padding 1 = SAME, 2 = VALID; stride_width; stride_height). TFLite pads as the forward conv
// from the output back to the input would, and drops what falls outside the output.
Status Importer::transposeConv(const OpContext& c, bool mediapipeBias) {
    ::tflite::Padding padding{};
    int64_t sh = 0, sw = 0;
    ActivationFunctionType act = ActivationFunctionType::NONE;
    int32_t xIndex = 0, wIndex = 0;
    size_t biasInput = 0;
    std::vector<int64_t> outShape;  // NHWC, when the file states it
    if (mediapipeBias) {
        PL_TRY(expectIo(c, 3, 3, 1));
        const auto* opts = c.op->custom_options();
        if (opts == nullptr || opts->size() < 12) {
            return makeError(ErrorCode::Corrupt,
                             "custom options must hold padding, stride_width and stride_height "
                             "(12 bytes), found " +
                                 std::to_string(opts == nullptr ? 0 : opts->size()));
        }
        int32_t p[3];
        std::memcpy(p, opts->data(), sizeof p);
        if (p[0] != 1 && p[0] != 2) {
            return makeError(ErrorCode::Corrupt, "custom options' padding " + std::to_string(p[0]) +
                                                     " is neither SAME (1) nor VALID (2)");
        }
        padding = p[0] == 1 ? ::tflite::Padding::SAME : ::tflite::Padding::VALID;
        sw = p[1], sh = p[2];
        xIndex = c.inputs[0], wIndex = c.inputs[1], biasInput = 2;
    } else {
        PL_TRY(expectIo(c, 3, 4, 1));
        PL_TRY_ASSIGN(const auto* o, requireOptions(c.op->builtin_options_as_TransposeConvOptions(),
                                                    "TransposeConvOptions"));
        padding = o->padding(), sh = o->stride_h(), sw = o->stride_w();
        act = o->fused_activation_function();
        PL_TRY_ASSIGN(outShape, constantInts(c.inputs[0], "output_shape"));
        if (outShape.size() != 4) {
            return makeError(ErrorCode::Corrupt, "output_shape " + engine::shapeToString(outShape) +
                                                     " must have 4 values (NHWC)");
        }
        xIndex = c.inputs[2], wIndex = c.inputs[1], biasInput = 3;
    }
    PL_TRY_ASSIGN(ValueId x, value(xIndex, Layout::Nchw));
    const Shape xs = m_graph.value(x).shape;
    if (xs.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "input has shape " + engine::shapeToString(xs) + ", expected NHWC");
    }
    // OHWI -> the IR's [I][O][kh][kw]
    PL_TRY_ASSIGN(ValueId w, weight(c, wIndex, {3, 0, 1, 2}, "weight"));
    const Shape ws = m_graph.value(w).shape;
    if (ws[0] != xs[1]) {
        return makeError(ErrorCode::ShapeMismatch, "weight takes " + std::to_string(ws[0]) +
                                                       " input channels, the input has " +
                                                       std::to_string(xs[1]));
    }
    if (sh < 1 || sw < 1 || sh > 65536 || sw > 65536) {
        return makeError(ErrorCode::Corrupt, "strides " + std::to_string(sh) + "x" +
                                                 std::to_string(sw) + " must be positive");
    }
    // Output size: the file's when it states it and the input keeps its size, else TF's rule.
    auto outSize = [&](int64_t in, int64_t k, int64_t s, size_t nhwcAxis) {
        if (!outShape.empty() && m_checkShapes) return outShape[nhwcAxis];
        if (m_checkShapes && !m_shapes[static_cast<size_t>(c.outputs[0])].empty() &&
            m_shapes[static_cast<size_t>(c.outputs[0])].size() == 4) {
            return m_shapes[static_cast<size_t>(c.outputs[0])][nhwcAxis];
        }
        return padding == ::tflite::Padding::SAME ? in * s : (in - 1) * s + k;
    };
    const int64_t oh = outSize(xs[2], ws[2], sh, 1), ow = outSize(xs[3], ws[3], sw, 2);
    if (!outShape.empty() && (outShape[0] != xs[0] || outShape[3] != ws[1])) {
        return makeError(ErrorCode::ShapeMismatch,
                         "output_shape " + engine::shapeToString(outShape) +
                             " does not match the batch and the weight's " + std::to_string(ws[1]) +
                             " output channels");
    }
    PL_TRY_ASSIGN(Padding1d ph, computePadding(padding, oh, ws[2], sh, 1, "height"));
    PL_TRY_ASSIGN(Padding1d pw, computePadding(padding, ow, ws[3], sw, 1, "width"));
    // IR: out = (in - 1) * s + k - begin - end + output_padding; begin is TFLite's pad.
    auto ends = [](int64_t in, int64_t k, int64_t s, int64_t begin, int64_t out, int64_t& end,
                   int64_t& extra) {
        end = (in - 1) * s + k - begin - out;
        extra = 0;
        if (end < 0) extra = -end, end = 0;
    };
    int64_t endH = 0, extraH = 0, endW = 0, extraW = 0;
    ends(xs[2], ws[2], sh, ph.before, oh, endH, extraH);
    ends(xs[3], ws[3], sw, pw.before, ow, endW, extraW);
    PL_TRY_ASSIGN(ValueId b, bias(c, biasInput, ws[1]));
    Attributes a;
    a.set("strides", std::vector<int64_t>{sh, sw});
    a.set("pads", std::vector<int64_t>{ph.before, pw.before, endH, endW});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", int64_t{1});
    a.set("output_padding", std::vector<int64_t>{extraH, extraW});
    std::vector<ValueId> in = {x, w};
    if (b != engine::kNoValue) in.push_back(b);
    return emit(c, OpKind::ConvTranspose, in, a, c.outputs[0], Layout::Nchw, act);
}

// FULLY_CONNECTED: x flattened to [M][K] in TFLite's order, W [N][K], y = x W^T + b.
Status Importer::fullyConnected(const OpContext& c) {
    PL_TRY(expectIo(c, 2, 3, 1));
    const auto* o = c.op->builtin_options_as_FullyConnectedOptions();
    if (o != nullptr && o->weights_format() != 0) {
        return makeError(ErrorCode::Unsupported, "shuffled int8 weights are not supported");
    }
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Plain));
    const Shape xs = m_graph.value(x).shape;
    PL_TRY_ASSIGN(ValueId w, weight(c, c.inputs[1], {0, 1}, "weight"));
    const Shape ws = m_graph.value(w).shape;
    int64_t elements = 1;
    for (int64_t d : xs) elements *= d;
    if (ws[1] < 1 || elements % ws[1] != 0) {
        return makeError(ErrorCode::ShapeMismatch, "input " + engine::shapeToString(xs) +
                                                       " does not flatten to rows of " +
                                                       std::to_string(ws[1]));
    }
    const int64_t rows = elements / ws[1];
    if (xs != Shape{rows, ws[1]}) {
        Attributes r;
        r.set("shape", std::vector<int64_t>{rows, ws[1]});
        PL_TRY_ASSIGN(x, node(c, OpKind::Reshape, c.name + "_rows", {x}, r));
    }
    PL_TRY_ASSIGN(ValueId b, bias(c, 2, ws[0]));
    Attributes a;
    a.set("alpha", 1.0f);
    a.set("beta", 1.0f);
    a.set("transA", int64_t{0});
    a.set("transB", int64_t{1});
    std::vector<ValueId> in = {x, w};
    if (b != engine::kNoValue) in.push_back(b);
    const ActivationFunctionType act =
        o != nullptr ? o->fused_activation_function() : ActivationFunctionType::NONE;
    Shape want = {rows, ws[0]};
    if (o != nullptr && o->keep_num_dims()) {
        want = xs;
        want.back() = ws[0];
    }
    if (want == Shape{rows, ws[0]}) {
        return emit(c, OpKind::Gemm, in, a, c.outputs[0], Layout::Plain, act);
    }
    PL_TRY_ASSIGN(ValueId y, node(c, OpKind::Gemm, c.name + "_gemm", in, a));
    Attributes r;
    r.set("shape", want);
    return emit(c, OpKind::Reshape, {y}, r, c.outputs[0], Layout::Plain, act);
}

// Element-wise ops run in NCHW when a rank-4 operand already is; a constant operand is
// broadcast NumPy-style against NHWC, so it is raised to rank 4 and permuted the same way.
Status Importer::binary(const OpContext& c, OpKind op, ActivationFunctionType act) {
    PL_TRY(expectIo(c, 2, 2, 1));
    const int32_t ins[2] = {c.inputs[0], c.inputs[1]};
    bool anyNchw = false, allRank4 = true;
    for (int32_t t : ins) {
        if (isConstant(t)) {
            if (rankOf(t) > 4) allRank4 = false;
            continue;
        }
        if (rankOf(t) != 4) allRank4 = false;
        if (m_slots[static_cast<size_t>(t)].nchw != engine::kNoValue) anyNchw = true;
    }
    const Layout layout = anyNchw && allRank4 ? Layout::Nchw : Layout::Plain;
    std::vector<ValueId> in;
    for (int32_t t : ins) {
        if (layout == Layout::Nchw && isConstant(t) && rankOf(t) < 4) {
            PL_TRY_ASSIGN(std::optional<Tensor> k, constant(t));
            Shape s = k->shape();
            s.insert(s.begin(), 4 - s.size(), 1);
            in.push_back(addConstant(tensorName(t), permute(k->reshaped(s), {0, 3, 1, 2})));
            continue;
        }
        PL_TRY_ASSIGN(ValueId v, value(t, layout));
        in.push_back(v);
    }
    return emit(c, op, in, {}, c.outputs[0], layout, act);
}

Status Importer::unary(const OpContext& c, OpKind op, Attributes attrs) {
    PL_TRY(expectIo(c, 1, 1, 1));
    const int32_t t = c.inputs[0];
    const Layout layout = !isConstant(t) && m_slots[static_cast<size_t>(t)].nchw != engine::kNoValue
                              ? Layout::Nchw
                              : Layout::Plain;
    PL_TRY_ASSIGN(ValueId x, value(t, layout));
    return emit(c, op, {x}, std::move(attrs), c.outputs[0], layout);
}

// PRELU: the slope (usually [1][1][C]) broadcasts like a binary op's constant operand.
Status Importer::prelu(const OpContext& c) {
    return binary(c, OpKind::PRelu, ActivationFunctionType::NONE);
}

Status Importer::concat(const OpContext& c) {
    if (c.inputs.empty() || c.outputs.size() != 1) {
        return makeError(ErrorCode::Corrupt, "needs inputs and one output");
    }
    const auto* o = c.op->builtin_options_as_ConcatenationOptions();
    int64_t axis = o != nullptr ? o->axis() : 0;
    const int64_t rank = rankOf(c.inputs[0]);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) {
        return makeError(ErrorCode::Corrupt,
                         "axis " + std::to_string(o != nullptr ? o->axis() : 0) +
                             " is out of range for rank " + std::to_string(rank));
    }
    bool anyNchw = false;
    for (int32_t t : c.inputs) {
        if (t < 0) return makeError(ErrorCode::Corrupt, "an input is absent (-1)");
        if (!isConstant(t) && m_slots[static_cast<size_t>(t)].nchw != engine::kNoValue)
            anyNchw = true;
    }
    const Layout layout = anyNchw && rank == 4 ? Layout::Nchw : Layout::Plain;
    std::vector<ValueId> in;
    for (int32_t t : c.inputs) {
        PL_TRY_ASSIGN(ValueId v, value(t, layout));
        in.push_back(v);
    }
    Attributes a;
    a.set("axis", layout == Layout::Nchw ? kIrAxis[axis] : axis);
    return emit(c, OpKind::Concat, in, a, c.outputs[0], layout,
                o != nullptr ? o->fused_activation_function() : ActivationFunctionType::NONE);
}

// RESHAPE (new shape from the second input, else the options, else the declared output) and
// SQUEEZE read TFLite's element order, so their input is made NHWC first.
Status Importer::reshape(const OpContext& c) {
    if (c.inputs.empty() || c.inputs[0] < 0 || c.outputs.size() != 1) {
        return makeError(ErrorCode::Corrupt, "needs an input and one output");
    }
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Plain));
    const Shape xs = m_graph.value(x).shape;
    int64_t elements = 1;
    for (int64_t d : xs) elements *= d;
    std::vector<int64_t> shape;
    if (const auto* sq = c.op->builtin_options_as_SqueezeOptions()) {
        std::vector<bool> drop(xs.size(), false);
        if (sq->squeeze_dims() == nullptr || sq->squeeze_dims()->size() == 0) {
            for (size_t d = 0; d < xs.size(); ++d) drop[d] = xs[d] == 1;
        } else {
            for (int32_t d : *sq->squeeze_dims()) {
                const int64_t a = d < 0 ? d + static_cast<int64_t>(xs.size()) : d;
                if (a < 0 || a >= static_cast<int64_t>(xs.size()) ||
                    xs[static_cast<size_t>(a)] != 1) {
                    return makeError(ErrorCode::Corrupt, "squeeze_dims " + std::to_string(d) +
                                                             " is not a dimension of size 1 in " +
                                                             engine::shapeToString(xs));
                }
                drop[static_cast<size_t>(a)] = true;
            }
        }
        for (size_t d = 0; d < xs.size(); ++d) {
            if (!drop[d]) shape.push_back(xs[d]);
        }
    } else if (c.inputs.size() >= 2 && c.inputs[1] >= 0 && isConstant(c.inputs[1])) {
        PL_TRY_ASSIGN(shape, constantInts(c.inputs[1], "new shape"));
    } else if (const auto* ro = c.op->builtin_options_as_ReshapeOptions();
               ro != nullptr && ro->new_shape() != nullptr) {
        shape.assign(ro->new_shape()->begin(), ro->new_shape()->end());
    } else {
        shape = m_shapes[static_cast<size_t>(c.outputs[0])];
    }
    int64_t known = 1, unknown = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == -1 && unknown < 0) {
            unknown = static_cast<int64_t>(d);
        } else if (shape[d] < 1 || known > engine::kMaxTensorElements / shape[d]) {
            return makeError(ErrorCode::Corrupt,
                             "new shape " + engine::shapeToString(shape) + " is not valid");
        } else {
            known *= shape[d];
        }
    }
    if (unknown >= 0) {
        if (elements % known != 0) {
            return makeError(ErrorCode::ShapeMismatch, "cannot reshape " +
                                                           engine::shapeToString(xs) + " to " +
                                                           engine::shapeToString(shape));
        }
        shape[static_cast<size_t>(unknown)] = elements / known;
    }
    Attributes a;
    a.set("shape", shape);
    return emit(c, OpKind::Reshape, {x}, a, c.outputs[0], Layout::Plain);
}

// TRANSPOSE: on an NCHW value the permutation is composed with NCHW -> NHWC, so no extra
// Transpose is made.
Status Importer::transpose(const OpContext& c) {
    PL_TRY(expectIo(c, 2, 2, 1));
    PL_TRY_ASSIGN(std::vector<int64_t> perm, constantInts(c.inputs[1], "permutation"));
    const int32_t t = c.inputs[0];
    const int64_t rank = rankOf(t);
    std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(rank, 0)), false);
    if (static_cast<int64_t>(perm.size()) != rank) {
        return makeError(ErrorCode::Corrupt, "permutation " + engine::shapeToString(perm) +
                                                 " does not fit rank " + std::to_string(rank));
    }
    for (int64_t& p : perm) {
        if (p < 0) p += rank;
        if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) {
            return makeError(ErrorCode::Corrupt,
                             "permutation " + engine::shapeToString(perm) + " is not valid");
        }
        seen[static_cast<size_t>(p)] = true;
    }
    const Slot& s = m_slots[static_cast<size_t>(t)];
    const bool fromNchw =
        !isConstant(t) && rank == 4 && s.plain == engine::kNoValue && s.nchw != engine::kNoValue;
    PL_TRY_ASSIGN(ValueId x, value(t, fromNchw ? Layout::Nchw : Layout::Plain));
    if (fromNchw) {
        for (int64_t& p : perm) p = kIrAxis[p];
    }
    Attributes a;
    a.set("perm", perm);
    return emit(c, OpKind::Transpose, {x}, a, c.outputs[0], Layout::Plain);
}

// PAD/PADV2/MIRROR_PAD: paddings [rank][2] (before, after) in TFLite's axis order.
Status Importer::pad(const OpContext& c, const std::string& mode) {
    PL_TRY(expectIo(c, 2, 3, 1));
    PL_TRY_ASSIGN(std::vector<int64_t> pads, constantInts(c.inputs[1], "paddings"));
    const int32_t t = c.inputs[0];
    const int64_t rank = rankOf(t);
    if (static_cast<int64_t>(pads.size()) != 2 * rank) {
        return makeError(ErrorCode::Corrupt, "paddings hold " + std::to_string(pads.size()) +
                                                 " values for a rank-" + std::to_string(rank) +
                                                 " input");
    }
    float fill = 0.0f;
    if (c.inputs.size() == 3 && c.inputs[2] >= 0) {
        PL_TRY_ASSIGN(std::optional<Tensor> v, constant(c.inputs[2]));
        if (!v || v->dtype() != DataType::Float32 || v->elements() != 1) {
            return makeError(ErrorCode::Unsupported, "the pad value must be one constant float");
        }
        fill = v->data<float>()[0];
    }
    const Layout layout = rank == 4 && !isConstant(t) ? Layout::Nchw : Layout::Plain;
    PL_TRY_ASSIGN(ValueId x, value(t, layout));
    std::vector<int64_t> irPads(static_cast<size_t>(2 * rank));
    for (int64_t k = 0; k < rank; ++k) {
        const int64_t a = layout == Layout::Nchw ? kNchwFromNhwc[k] : k;
        irPads[static_cast<size_t>(k)] = pads[static_cast<size_t>(2 * a)];
        irPads[static_cast<size_t>(rank + k)] = pads[static_cast<size_t>(2 * a + 1)];
    }
    for (int64_t p : irPads) {
        if (p < 0 || p > 65536) {
            return makeError(ErrorCode::Corrupt,
                             "padding " + std::to_string(p) + " is out of range");
        }
    }
    Attributes a;
    a.set("pads", irPads);
    a.set("mode", mode);
    a.set("value", fill);
    return emit(c, OpKind::Pad, {x}, a, c.outputs[0], layout);
}

// AVERAGE_POOL_2D averages only the pixels inside the image (count_include_pad = 0).
Status Importer::pool(const OpContext& c, bool max) {
    PL_TRY(expectIo(c, 1, 1, 1));
    PL_TRY_ASSIGN(const auto* o,
                  requireOptions(c.op->builtin_options_as_Pool2DOptions(), "Pool2DOptions"));
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Nchw));
    const Shape xs = m_graph.value(x).shape;
    if (xs.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "input has shape " + engine::shapeToString(xs) + ", expected NHWC");
    }
    PL_TRY_ASSIGN(Padding1d ph, computePadding(o->padding(), xs[2], o->filter_height(),
                                               o->stride_h(), 1, "height"));
    PL_TRY_ASSIGN(Padding1d pw, computePadding(o->padding(), xs[3], o->filter_width(),
                                               o->stride_w(), 1, "width"));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{o->filter_height(), o->filter_width()});
    a.set("strides", std::vector<int64_t>{o->stride_h(), o->stride_w()});
    a.set("pads", std::vector<int64_t>{ph.before, pw.before, ph.after, pw.after});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("ceil_mode", int64_t{0});
    if (!max) a.set("count_include_pad", int64_t{0});
    return emit(c, max ? OpKind::MaxPool : OpKind::AveragePool, {x}, a, c.outputs[0], Layout::Nchw,
                o->fused_activation_function());
}

// TFLite's coordinate rules as the IR Resize's modes:
//   bilinear: align_corners -> align_corners, half_pixel_centers -> half_pixel (TFLite clamps
//   the source coordinate at 0 as the IR's linear taps do), neither -> asymmetric;
//   nearest: align_corners -> align_corners + round half up, half_pixel_centers ->
//   tf_half_pixel_for_nn + floor, neither -> asymmetric + floor.
Status Importer::resize(const OpContext& c, bool bilinear) {
    PL_TRY(expectIo(c, 2, 2, 1));
    bool alignCorners = false, halfPixel = false;
    if (bilinear) {
        if (const auto* o = c.op->builtin_options_as_ResizeBilinearOptions()) {
            alignCorners = o->align_corners(), halfPixel = o->half_pixel_centers();
        }
    } else if (const auto* o = c.op->builtin_options_as_ResizeNearestNeighborOptions()) {
        alignCorners = o->align_corners(), halfPixel = o->half_pixel_centers();
    }
    if (alignCorners && halfPixel) {
        return makeError(ErrorCode::Unsupported,
                         "align_corners and half_pixel_centers together are not supported");
    }
    PL_TRY_ASSIGN(std::vector<int64_t> size, constantInts(c.inputs[1], "size"));
    if (size.size() != 2 || size[0] < 1 || size[1] < 1 || size[0] > 65536 || size[1] > 65536) {
        return makeError(ErrorCode::Corrupt,
                         "size " + engine::shapeToString(size) + " must be two positive values");
    }
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Nchw));
    const Shape xs = m_graph.value(x).shape;
    if (xs.size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "input has shape " + engine::shapeToString(xs) + ", expected NHWC");
    }
    Attributes a;
    a.set("mode", std::string(bilinear ? "linear" : "nearest"));
    a.set("sizes", std::vector<int64_t>{xs[0], xs[1], size[0], size[1]});
    a.set("scales",
          std::vector<float>{1.0f, 1.0f, static_cast<float>(size[0]) / static_cast<float>(xs[2]),
                             static_cast<float>(size[1]) / static_cast<float>(xs[3])});
    std::string coord = "asymmetric", nearest = "floor";
    if (alignCorners) {
        coord = "align_corners", nearest = "round_prefer_ceil";
    } else if (halfPixel) {
        coord = bilinear ? "half_pixel" : "tf_half_pixel_for_nn";
    }
    a.set("coordinate_transformation_mode", coord);
    a.set("nearest_mode", nearest);
    return emit(c, OpKind::Resize, {x}, a, c.outputs[0], Layout::Nchw);
}

// SOFTMAX over the last (channel) axis, exp(beta * x) normalised.
Status Importer::softmax(const OpContext& c) {
    PL_TRY(expectIo(c, 1, 1, 1));
    const auto* o = c.op->builtin_options_as_SoftmaxOptions();
    const float beta = o != nullptr ? o->beta() : 1.0f;
    const int32_t t = c.inputs[0];
    const int64_t rank = rankOf(t);
    const Layout layout =
        rank == 4 && !isConstant(t) && m_slots[static_cast<size_t>(t)].nchw != engine::kNoValue
            ? Layout::Nchw
            : Layout::Plain;
    PL_TRY_ASSIGN(ValueId x, value(t, layout));
    if (beta != 1.0f) {
        const ValueId b = addConstant(c.name + "_beta", Tensor::scalar(beta));
        PL_TRY_ASSIGN(x, node(c, OpKind::Mul, c.name + "_scaled", {x, b}));
    }
    Attributes a;
    a.set("axis", layout == Layout::Nchw ? int64_t{1} : rank - 1);
    a.set("legacy", int64_t{0});
    return emit(c, OpKind::Softmax, {x}, a, c.outputs[0], layout);
}

// MEAN, SUM, REDUCE_MAX, REDUCE_MIN over constant axes; stays NCHW only when the rank is kept.
Status Importer::reduce(const OpContext& c, OpKind op) {
    PL_TRY(expectIo(c, 2, 2, 1));
    PL_TRY_ASSIGN(std::vector<int64_t> axes, constantInts(c.inputs[1], "axes"));
    const auto* o = c.op->builtin_options_as_ReducerOptions();
    const bool keep = o != nullptr && o->keep_dims();
    const int32_t t = c.inputs[0];
    const int64_t rank = rankOf(t);
    const Layout layout = keep && rank == 4 && !isConstant(t) ? Layout::Nchw : Layout::Plain;
    for (int64_t& axis : axes) {
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) {
            return makeError(ErrorCode::Corrupt,
                             "axis out of range for rank " + std::to_string(rank));
        }
        if (layout == Layout::Nchw) axis = kIrAxis[axis];
    }
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    PL_TRY_ASSIGN(ValueId x, value(t, layout));
    Attributes a;
    a.set("axes", axes);
    a.set("keepdims", int64_t{keep ? 1 : 0});
    return emit(c, op, {x}, a, c.outputs[0], layout);
}

// DEPTH_TO_SPACE in NHWC reads channel (i * block + j) * C' + c for pixel offset (i, j):
// the IR's DCR order.
Status Importer::depthToSpace(const OpContext& c) {
    PL_TRY(expectIo(c, 1, 1, 1));
    PL_TRY_ASSIGN(const auto* o, requireOptions(c.op->builtin_options_as_DepthToSpaceOptions(),
                                                "DepthToSpaceOptions"));
    if (o->block_size() < 1 || o->block_size() > 1024) {
        return makeError(ErrorCode::Corrupt,
                         "block_size " + std::to_string(o->block_size()) + " is out of range");
    }
    PL_TRY_ASSIGN(ValueId x, value(c.inputs[0], Layout::Nchw));
    Attributes a;
    a.set("blocksize", int64_t{o->block_size()});
    a.set("mode", std::string("DCR"));
    return emit(c, OpKind::DepthToSpace, {x}, a, c.outputs[0], Layout::Nchw);
}

// DEQUANTIZE (fp16 or int8 weights) and DENSIFY (sparse weights) of a constant: done here,
// once; constant() already widened, dequantised or decoded the input.
Status Importer::foldConstant(const OpContext& c, bool densify) {
    PL_TRY(expectIo(c, 1, 1, 1));
    const int32_t in = c.inputs[0];
    if (!isConstant(in)) {
        // A quantised activation already holds real values here (the whole model runs in
        // float), so DEQUANTIZE passes it on; DENSIFY only ever applies to weights.
        if (densify) {
            return makeError(ErrorCode::Unsupported,
                             "DENSIFY of " + describeTensor(in) +
                                 ", which is computed: only constant weights are read");
        }
        return unary(c, OpKind::Identity);
    }
    PL_TRY_ASSIGN(std::optional<Tensor> t, constant(in));
    const Shape& want = m_shapes[static_cast<size_t>(c.outputs[0])];
    if (t->shape() != want) {
        return makeError(ErrorCode::ShapeMismatch,
                         describeTensor(in) + " has shape " + engine::shapeToString(t->shape()) +
                             ", the output declares " + engine::shapeToString(want));
    }
    if (t->dtype() != DataType::Float32 && !densify) {
        return makeError(ErrorCode::Unsupported,
                         "DEQUANTIZE of an integer tensor without "
                         "quantisation parameters");
    }
    m_folded[c.outputs[0]] = std::move(*t);
    return {};
}

}  // namespace prunelab::tflite::internal

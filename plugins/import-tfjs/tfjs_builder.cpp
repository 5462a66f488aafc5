// The tfjs importer's IR builder: NHWC-semantics operations (convs, pools, element-wise, pads,
// resizes, reshapes) emitted as the IR's NCHW ops, with TF's padding and resize conventions.
// Shared by the graph-model and layers-model importers so both lay out tensors the same way.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/op.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace prunelab::tfjs::internal {

namespace {

const std::vector<int64_t> kToNchw = {0, 3, 1, 2};
const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};

// tfjs axis of a rank-4 tensor -> its IR axis once held as NCHW.
int64_t nchwAxis(int64_t nhwcAxis) {
    static const int64_t map[4] = {0, 2, 3, 1};
    return map[nhwcAxis];
}

Result<int64_t> normaliseAxis(int64_t axis, int64_t rank, const std::string& what) {
    if (axis < -rank || axis >= rank) {
        return makeError(ErrorCode::InvalidArgument, what + " axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(rank));
    }
    return axis < 0 ? axis + rank : axis;
}

}  // namespace

Tensor transposeHost(const Tensor& t, const std::vector<int64_t>& perm) {
    const Shape& in = t.shape();
    Shape outShape(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) outShape[i] = in[static_cast<size_t>(perm[i])];
    Tensor out(t.dtype(), outShape);
    const size_t rank = perm.size(), elem = engine::dataTypeSize(t.dtype());
    std::vector<int64_t> inStride(rank, 1);
    for (size_t d = rank; d-- > 1;) inStride[d - 1] = inStride[d] * in[d];
    std::vector<int64_t> idx(rank, 0);
    const auto* src = t.raw();
    auto* dst = out.raw();
    for (int64_t o = 0; o < out.elements(); ++o) {
        int64_t s = 0;
        for (size_t d = 0; d < rank; ++d) s += idx[d] * inStride[static_cast<size_t>(perm[d])];
        std::memcpy(dst + o * static_cast<int64_t>(elem), src + s * static_cast<int64_t>(elem),
                    elem);
        for (size_t d = rank; d-- > 0;) {  // odometer over the output's index
            if (++idx[d] < outShape[d]) break;
            idx[d] = 0;
        }
    }
    return out;
}

Status padsFor(const Padding& p, int axis, int64_t in, int64_t kernel, int64_t stride,
               int64_t dilation, int64_t& before, int64_t& after) {
    if (kernel < 1 || stride < 1 || dilation < 1 || kernel > 65536 || stride > 65536 ||
        dilation > 65536) {
        return makeError(ErrorCode::Corrupt, "kernel " + std::to_string(kernel) + ", stride " +
                                                 std::to_string(stride) + " and dilation " +
                                                 std::to_string(dilation) +
                                                 " must be between 1 and 65536");
    }
    if (p.mode == "VALID") {
        before = after = 0;
    } else if (p.mode == "SAME") {
        // TF: out = ceil(in / stride); the odd pixel of padding goes at the end.
        const int64_t out = (in + stride - 1) / stride;
        const int64_t total =
            std::max<int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
        before = total / 2;
        after = total - before;
    } else if (p.mode == "EXPLICIT") {
        if (p.explicitPads.size() != 4) {
            return makeError(ErrorCode::Corrupt, "EXPLICIT padding needs 4 spatial pads");
        }
        before = p.explicitPads[static_cast<size_t>(2 * axis)];
        after = p.explicitPads[static_cast<size_t>(2 * axis + 1)];
        if (before < 0 || after < 0 || before > 65536 || after > 65536) {
            return makeError(ErrorCode::Corrupt, "explicit padding must be between 0 and 65536");
        }
    } else {
        return makeError(ErrorCode::Unsupported,
                         "padding '" + p.mode + "' (SAME, VALID, EXPLICIT)");
    }
    return {};
}

Result<Activation> kerasActivation(const std::string& name) {
    Activation a;
    if (name.empty() || name == "linear") return a;
    if (name == "relu" || name == "relu6" || name == "sigmoid" || name == "tanh" ||
        name == "hard_sigmoid" || name == "hardSigmoid" || name == "swish" || name == "softmax") {
        a.kind = name == "hardSigmoid" ? "hard_sigmoid" : name;
        return a;
    }
    return makeError(ErrorCode::Unsupported,
                     "activation '" + name +
                         "' is not supported (linear, relu, relu6, sigmoid, tanh, hard_sigmoid, "
                         "swish, softmax)");
}

// ---- Values and layout -------------------------------------------------------------------

Shape Builder::logicalShape(const TValue& v) const {
    const Shape& s = shape(v.id);
    if (!v.nchw) return s;
    return {s[0], s[2], s[3], s[1]};
}

Result<ValueId> Builder::emit(OpKind op, const std::string& name, std::vector<ValueId> inputs,
                              Attributes attrs) {
    const ValueId out = m_graph.addValue(m_graph.uniqueName(name), DataType::Float32, {});
    engine::Node& node = m_graph.addNode(op, name, std::move(inputs), {out}, std::move(attrs));
    std::vector<engine::TensorInfo> info;
    PL_TRY(engine::inferNode(m_graph, node, info));
    m_graph.value(out).dtype = info[0].dtype;
    m_graph.value(out).shape = info[0].shape;
    return out;
}

ValueId Builder::constant(const std::string& name, Tensor value) {
    return m_graph.addConstant(m_graph.uniqueName(name), std::move(value));
}

Result<ValueId> Builder::nchw(const TValue& v, const std::string& name) {
    if (v.nchw) return v.id;
    if (shape(v.id).size() != 4) {
        return makeError(ErrorCode::ShapeMismatch,
                         "needs a 4-D NHWC input, got " + shapeToString(shape(v.id)));
    }
    if (auto it = m_nchwOf.find(v.id); it != m_nchwOf.end()) return it->second;
    if (m_graph.value(v.id).isConstant()) {
        const ValueId c =
            constant(name + "_nchw", transposeHost(m_graph.value(v.id).constant, kToNchw));
        m_nchwOf[v.id] = c;
        return c;
    }
    Attributes a;
    a.set("perm", kToNchw);
    PL_TRY_ASSIGN(ValueId t, emit(OpKind::Transpose, name + "_to_nchw", {v.id}, a));
    m_nchwOf[v.id] = t;
    m_plainOf[t] = v.id;
    return t;
}

Result<ValueId> Builder::plain(const TValue& v, const std::string& name) {
    if (!v.nchw) return v.id;
    if (auto it = m_plainOf.find(v.id); it != m_plainOf.end()) return it->second;
    Attributes a;
    a.set("perm", kToNhwc);
    PL_TRY_ASSIGN(ValueId t, emit(OpKind::Transpose, name + "_to_nhwc", {v.id}, a));
    m_plainOf[v.id] = t;
    m_nchwOf[t] = v.id;
    return t;
}

Status Builder::output(const TValue& v, const std::string& name) {
    PL_TRY_ASSIGN(ValueId id, plain(v, name));
    engine::Graph& g = m_graph;
    // Outputs carry tfjs's names, so callers find "Identity_1" where tfjs has it. The name may
    // be held by an inner value (the NCHW conv before its transpose back): that one is renamed.
    if (g.value(id).name != name) {
        const ValueId holder = g.findValue(name);
        if (holder != engine::kNoValue && !g.isGraphOutput(holder) &&
            std::find(g.inputs.begin(), g.inputs.end(), holder) == g.inputs.end()) {
            g.value(holder).name = g.uniqueName(name + "_inner");
        }
    }
    const bool free = g.findValue(name) == engine::kNoValue;
    if (g.value(id).name != name) {
        if (free && !g.isGraphOutput(id) && !g.value(id).isConstant() && g.producer(id) >= 0) {
            g.value(id).name = name;
        } else {
            PL_TRY_ASSIGN(id, emit(OpKind::Identity, free ? name : name + "_output", {id}));
        }
    } else if (g.isGraphOutput(id) || g.producer(id) < 0) {
        PL_TRY_ASSIGN(id, emit(OpKind::Identity, name + "_output", {id}));
    }
    g.outputs.push_back(id);
    return {};
}

Result<Tensor> Builder::constantForNchw(const Tensor& c) const {
    if (c.rank() > 4) {
        return makeError(ErrorCode::ShapeMismatch, "a constant of rank " +
                                                       std::to_string(c.rank()) +
                                                       " cannot broadcast against a 4-D tensor");
    }
    Shape s = c.shape();
    s.insert(s.begin(), static_cast<size_t>(4 - c.rank()), 1);
    return transposeHost(c.reshaped(s), kToNchw);
}

// ---- Convolutions and pools ---------------------------------------------------------------

Result<TValue> Builder::convCommon(const std::string& name, const TValue& x, Tensor weight,
                                   const Tensor& bias, const Conv2dSpec& spec, int64_t group) {
    PL_TRY_ASSIGN(ValueId in, nchw(x, name));
    const Shape& xs = shape(in);
    int64_t pads[4] = {0, 0, 0, 0};  // t, l, b, r
    PL_TRY(padsFor(spec.padding, 0, xs[2], weight.dim(2), spec.strideH, spec.dilationH, pads[0],
                   pads[2]));
    PL_TRY(padsFor(spec.padding, 1, xs[3], weight.dim(3), spec.strideW, spec.dilationW, pads[1],
                   pads[3]));
    Attributes a;
    a.set("strides", std::vector<int64_t>{spec.strideH, spec.strideW});
    a.set("dilations", std::vector<int64_t>{spec.dilationH, spec.dilationW});
    a.set("pads", std::vector<int64_t>{pads[0], pads[1], pads[2], pads[3]});
    a.set("group", group);
    std::vector<ValueId> inputs = {in, constant(name + "_weight", std::move(weight))};
    if (!bias.empty()) {
        if (bias.rank() != 1 || bias.dim(0) != m_graph.value(inputs[1]).shape[0]) {
            return makeError(ErrorCode::ShapeMismatch,
                             "bias " + shapeToString(bias.shape()) + " does not match " +
                                 std::to_string(m_graph.value(inputs[1]).shape[0]) +
                                 " output channels");
        }
        inputs.push_back(constant(name + "_bias", bias));
    }
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Conv, name, std::move(inputs), a));
    return TValue{y, true};
}

Result<TValue> Builder::conv2d(const std::string& name, const TValue& x, const Tensor& kernel,
                               const Tensor& bias, const Conv2dSpec& spec) {
    if (kernel.rank() != 4 || kernel.dtype() != DataType::Float32) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "conv kernel must be float32 [kh, kw, in, out], got " + shapeToString(kernel.shape()));
    }
    const Shape xs = logicalShape(x);
    if (xs.size() != 4 || kernel.dim(2) < 1 || xs[3] % kernel.dim(2) != 0) {
        return makeError(ErrorCode::ShapeMismatch, "conv kernel " + shapeToString(kernel.shape()) +
                                                       " does not fit input " + shapeToString(xs));
    }
    // HWIO -> OIHW; a kernel with fewer input channels than the input is a grouped conv.
    return convCommon(name, x, transposeHost(kernel, {3, 2, 0, 1}), bias, spec,
                      xs[3] / kernel.dim(2));
}

Result<TValue> Builder::depthwise(const std::string& name, const TValue& x, const Tensor& kernel,
                                  const Tensor& bias, const Conv2dSpec& spec) {
    if (kernel.rank() != 4 || kernel.dtype() != DataType::Float32) {
        return makeError(ErrorCode::ShapeMismatch,
                         "depthwise kernel must be float32 [kh, kw, C, M], got " +
                             shapeToString(kernel.shape()));
    }
    const Shape xs = logicalShape(x);
    const int64_t c = kernel.dim(2), m = kernel.dim(3);
    if (xs.size() != 4 || xs[3] != c) {
        return makeError(ErrorCode::ShapeMismatch, "depthwise kernel " +
                                                       shapeToString(kernel.shape()) +
                                                       " does not fit input " + shapeToString(xs));
    }
    // [kh, kw, C, M] -> [C, M, kh, kw] = [C*M, 1, kh, kw]: output channel c*M + m.
    Tensor w =
        transposeHost(kernel, {2, 3, 0, 1}).reshaped({c * m, 1, kernel.dim(0), kernel.dim(1)});
    return convCommon(name, x, std::move(w), bias, spec, c);
}

Result<TValue> Builder::convTranspose(const std::string& name, const TValue& x,
                                      const Tensor& kernel, const Tensor& bias,
                                      const Conv2dSpec& spec, int64_t outH, int64_t outW) {
    if (kernel.rank() != 4 || kernel.dtype() != DataType::Float32) {
        return makeError(ErrorCode::ShapeMismatch,
                         "transposed conv kernel must be float32 [kh, kw, out, in], got " +
                             shapeToString(kernel.shape()));
    }
    PL_TRY_ASSIGN(ValueId in, nchw(x, name));
    const Shape& xs = shape(in);
    if (xs[1] != kernel.dim(3)) {
        return makeError(ErrorCode::ShapeMismatch,
                         "transposed conv kernel " + shapeToString(kernel.shape()) +
                             " does not fit input channels " + std::to_string(xs[1]));
    }
    // The forward conv this is the gradient of pads its input (the output here) as TF does;
    // output_padding supplies the rows that forward conv's stride dropped.
    const int64_t kh = kernel.dim(0), kw = kernel.dim(1);
    int64_t pt = 0, pb = 0, pl = 0, pr = 0;
    PL_TRY(padsFor(spec.padding, 0, outH, kh, spec.strideH, spec.dilationH, pt, pb));
    PL_TRY(padsFor(spec.padding, 1, outW, kw, spec.strideW, spec.dilationW, pl, pr));
    const int64_t fullH = (xs[2] - 1) * spec.strideH + (kh - 1) * spec.dilationH + 1 - pt - pb;
    const int64_t fullW = (xs[3] - 1) * spec.strideW + (kw - 1) * spec.dilationW + 1 - pl - pr;
    const int64_t opH = outH - fullH, opW = outW - fullW;
    if (opH < 0 || opW < 0 || opH >= std::max(spec.strideH, spec.dilationH) ||
        opW >= std::max(spec.strideW, spec.dilationW)) {
        return makeError(ErrorCode::ShapeMismatch,
                         "output size " + std::to_string(outH) + "x" + std::to_string(outW) +
                             " does not fit a transposed conv of input " + shapeToString(xs));
    }
    Attributes a;
    a.set("strides", std::vector<int64_t>{spec.strideH, spec.strideW});
    a.set("dilations", std::vector<int64_t>{spec.dilationH, spec.dilationW});
    a.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
    a.set("output_padding", std::vector<int64_t>{opH, opW});
    a.set("group", int64_t(1));
    // [kh, kw, out, in] -> the IR's [in, out, kh, kw].
    std::vector<ValueId> inputs = {in,
                                   constant(name + "_weight", transposeHost(kernel, {3, 2, 0, 1}))};
    if (!bias.empty()) {
        if (bias.rank() != 1 || bias.dim(0) != kernel.dim(2)) {
            return makeError(ErrorCode::ShapeMismatch, "bias " + shapeToString(bias.shape()) +
                                                           " does not match the kernel's outputs");
        }
        inputs.push_back(constant(name + "_bias", bias));
    }
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::ConvTranspose, name, std::move(inputs), a));
    return TValue{y, true};
}

Result<TValue> Builder::pool(const std::string& name, const TValue& x, bool max, int64_t kh,
                             int64_t kw, const Conv2dSpec& spec) {
    PL_TRY_ASSIGN(ValueId in, nchw(x, name));
    const Shape& xs = shape(in);
    int64_t pads[4] = {0, 0, 0, 0};
    PL_TRY(padsFor(spec.padding, 0, xs[2], kh, spec.strideH, 1, pads[0], pads[2]));
    PL_TRY(padsFor(spec.padding, 1, xs[3], kw, spec.strideW, 1, pads[1], pads[3]));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{kh, kw});
    a.set("strides", std::vector<int64_t>{spec.strideH, spec.strideW});
    a.set("pads", std::vector<int64_t>{pads[0], pads[1], pads[2], pads[3]});
    // TF's average pool divides by the pixels inside the image, not the padded window.
    if (!max) a.set("count_include_pad", int64_t(0));
    PL_TRY_ASSIGN(ValueId y, emit(max ? OpKind::MaxPool : OpKind::AveragePool, name, {in}, a));
    return TValue{y, true};
}

// ---- Element-wise --------------------------------------------------------------------------

Result<TValue> Builder::activation(const std::string& name, const TValue& x,
                                   const Activation& act) {
    const std::string& k = act.kind;
    Attributes a;
    ValueId y = engine::kNoValue;
    if (k.empty() || k == "linear") return x;
    if (k == "softmax") return softmax(name, x, -1);  // Keras: over the last axis
    if (k == "relu") {
        PL_TRY_ASSIGN(y, emit(OpKind::Relu, name, {x.id}));
    } else if (k == "relu6") {
        a.set("min", 0.0f);
        a.set("max", 6.0f);
        PL_TRY_ASSIGN(y, emit(OpKind::Clip, name, {x.id}, a));
    } else if (k == "leakyrelu") {
        a.set("alpha", act.alpha);
        PL_TRY_ASSIGN(y, emit(OpKind::LeakyRelu, name, {x.id}, a));
    } else if (k == "sigmoid") {
        PL_TRY_ASSIGN(y, emit(OpKind::Sigmoid, name, {x.id}));
    } else if (k == "tanh") {
        PL_TRY_ASSIGN(y, emit(OpKind::Tanh, name, {x.id}));
    } else if (k == "hard_sigmoid") {  // Keras: clip(0.2 x + 0.5, 0, 1)
        a.set("alpha", 0.2f);
        a.set("beta", 0.5f);
        PL_TRY_ASSIGN(y, emit(OpKind::HardSigmoid, name, {x.id}, a));
    } else if (k == "swish") {
        PL_TRY_ASSIGN(ValueId s, emit(OpKind::Sigmoid, name + "_sigmoid", {x.id}));
        PL_TRY_ASSIGN(y, emit(OpKind::Mul, name, {x.id, s}));
    } else if (k == "prelu") {
        if (act.slope.empty() || act.slope.dtype() != DataType::Float32) {
            return makeError(ErrorCode::NotFound, "PReLU needs a float32 slope");
        }
        Tensor slope = act.slope;
        if (x.nchw) {
            PL_TRY_ASSIGN(slope, constantForNchw(slope));
        }
        PL_TRY_ASSIGN(y, emit(OpKind::PRelu, name, {x.id, constant(name + "_slope", slope)}));
    } else {
        return makeError(ErrorCode::Unsupported, "activation '" + k + "' is not supported");
    }
    return TValue{y, x.nchw};
}

Result<TValue> Builder::binary(const std::string& name, OpKind op, const TValue& a,
                               const TValue& b) {
    const engine::Value& va = m_graph.value(a.id);
    const engine::Value& vb = m_graph.value(b.id);
    // One side NCHW: bring the other to it (a constant re-laid out, a 4-D value transposed);
    // anything else goes back to tfjs's layout, where numpy broadcasting is what tfjs means.
    if (a.nchw != b.nchw) {
        const TValue& lay = a.nchw ? a : b;
        const TValue& other = a.nchw ? b : a;
        const engine::Value& vo = a.nchw ? vb : va;
        ValueId converted = engine::kNoValue;
        if (vo.isConstant() && vo.constant.rank() <= 4) {
            PL_TRY_ASSIGN(Tensor c, constantForNchw(vo.constant));
            converted = constant(vo.name + "_nchw", std::move(c));
        } else if (vo.shape.size() == 4) {
            PL_TRY_ASSIGN(converted, nchw(other, name));
        }
        if (converted != engine::kNoValue) {
            const ValueId l = lay.id;
            PL_TRY_ASSIGN(
                ValueId y,
                emit(op, name, a.nchw ? std::vector{l, converted} : std::vector{converted, l}));
            return TValue{y, true};
        }
        PL_TRY_ASSIGN(ValueId pa, plain(a, name));
        PL_TRY_ASSIGN(ValueId pb, plain(b, name));
        PL_TRY_ASSIGN(ValueId y, emit(op, name, {pa, pb}));
        return TValue{y, false};
    }
    PL_TRY_ASSIGN(ValueId y, emit(op, name, {a.id, b.id}));
    return TValue{y, a.nchw};
}

Result<TValue> Builder::addBias(const std::string& name, const TValue& x, const Tensor& bias) {
    const Shape xs = logicalShape(x);
    if (bias.rank() != 1 || xs.empty() || bias.dim(0) != xs.back()) {
        return makeError(ErrorCode::ShapeMismatch, "bias " + shapeToString(bias.shape()) +
                                                       " does not match the input's channels in " +
                                                       shapeToString(xs));
    }
    return binary(name, OpKind::Add, x, TValue{constant(name + "_bias", bias), false});
}

Result<TValue> Builder::dense(const std::string& name, const TValue& x, const Tensor& kernel,
                              const Tensor& bias, bool transposeKernel) {
    PL_TRY_ASSIGN(ValueId in, plain(x, name));
    const Shape& xs = shape(in);
    if (kernel.rank() != 2 || kernel.dtype() != DataType::Float32 || xs.empty()) {
        return makeError(ErrorCode::ShapeMismatch,
                         "dense kernel must be float32 2-D, got " + shapeToString(kernel.shape()));
    }
    Tensor k = transposeKernel ? transposeHost(kernel, {1, 0}) : kernel;
    if (k.dim(0) != xs.back()) {
        return makeError(ErrorCode::ShapeMismatch, "kernel " + shapeToString(k.shape()) +
                                                       " does not fit input " + shapeToString(xs));
    }
    if (!bias.empty() && (bias.rank() != 1 || bias.dim(0) != k.dim(1))) {
        return makeError(ErrorCode::ShapeMismatch, "bias " + shapeToString(bias.shape()) +
                                                       " does not match " +
                                                       std::to_string(k.dim(1)) + " units");
    }
    if (xs.size() == 2) {
        std::vector<ValueId> inputs = {in, constant(name + "_kernel", std::move(k))};
        if (!bias.empty()) inputs.push_back(constant(name + "_bias", bias));
        PL_TRY_ASSIGN(ValueId y, emit(OpKind::Gemm, name, std::move(inputs)));
        return TValue{y, false};
    }
    PL_TRY_ASSIGN(ValueId y,
                  emit(OpKind::MatMul, name, {in, constant(name + "_kernel", std::move(k))}));
    if (bias.empty()) return TValue{y, false};
    return addBias(name + "_add", TValue{y, false}, bias);
}

// ---- Data movement -------------------------------------------------------------------------

Result<TValue> Builder::pad(const std::string& name, const TValue& x,
                            const std::vector<int64_t>& pads, const std::string& mode,
                            float value) {
    const Shape xs = logicalShape(x);
    const size_t rank = xs.size();
    if (pads.size() != 2 * rank) {
        return makeError(ErrorCode::ShapeMismatch, "paddings hold " + std::to_string(pads.size()) +
                                                       " numbers, rank " + std::to_string(rank) +
                                                       " needs " + std::to_string(2 * rank));
    }
    for (int64_t p : pads) {
        if (p < 0 || p > 65536) {
            return makeError(ErrorCode::Unsupported, "paddings must be between 0 and 65536");
        }
    }
    // IR pads: all the begins, then all the ends, in the IR's axis order.
    std::vector<int64_t> irPads(2 * rank);
    for (size_t d = 0; d < rank; ++d) {
        const size_t ir = x.nchw ? static_cast<size_t>(nchwAxis(static_cast<int64_t>(d))) : d;
        irPads[ir] = pads[2 * d];
        irPads[rank + ir] = pads[2 * d + 1];
    }
    Attributes a;
    a.set("pads", irPads);
    a.set("mode", mode);
    a.set("value", value);
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Pad, name, {x.id}, a));
    return TValue{y, x.nchw};
}

Result<TValue> Builder::resize(const std::string& name, const TValue& x, bool bilinear,
                               int64_t outH, int64_t outW, bool alignCorners,
                               bool halfPixelCenters) {
    PL_TRY_ASSIGN(ValueId in, nchw(x, name));
    const Shape& xs = shape(in);
    if (outH < 1 || outW < 1 || outH > 65536 || outW > 65536) {
        return makeError(ErrorCode::Unsupported, "resize to " + std::to_string(outH) + "x" +
                                                     std::to_string(outW) +
                                                     " (sizes must be between 1 and 65536)");
    }
    if (alignCorners && halfPixelCenters) {
        return makeError(ErrorCode::Unsupported,
                         "align_corners and half_pixel_centers cannot both be set");
    }
    Attributes a;
    a.set("mode", std::string(bilinear ? "linear" : "nearest"));
    a.set("sizes", std::vector<int64_t>{xs[0], xs[1], outH, outW});
    a.set("scales",
          std::vector<float>{1.0f, 1.0f, static_cast<float>(outH) / static_cast<float>(xs[2]),
                             static_cast<float>(outW) / static_cast<float>(xs[3])});
    // TF's conventions as ONNX coordinate modes: bilinear half-pixel is ONNX half_pixel; nearest
    // half-pixel floors (x + 0.5) * in / out (tf_half_pixel_for_nn); align_corners rounds
    // halves up; otherwise both sample at x * in / out, nearest flooring.
    if (alignCorners) {
        a.set("coordinate_transformation_mode", std::string("align_corners"));
        a.set("nearest_mode", std::string("round_prefer_ceil"));
    } else if (halfPixelCenters) {
        a.set("coordinate_transformation_mode",
              std::string(bilinear ? "half_pixel" : "tf_half_pixel_for_nn"));
        a.set("nearest_mode", std::string("floor"));
    } else {
        a.set("coordinate_transformation_mode", std::string("asymmetric"));
        a.set("nearest_mode", std::string("floor"));
    }
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Resize, name, {in}, a));
    return TValue{y, true};
}

Result<TValue> Builder::concat(const std::string& name, const std::vector<TValue>& xs,
                               int64_t axis) {
    if (xs.empty()) return makeError(ErrorCode::Corrupt, "concat has no inputs");
    const int64_t rank = static_cast<int64_t>(logicalShape(xs[0]).size());
    PL_TRY_ASSIGN(int64_t ax, normaliseAxis(axis, rank, "concat"));
    // All 4-D: concatenate as NCHW; otherwise in tfjs's layout.
    bool all4 = rank == 4;
    for (const TValue& v : xs) all4 = all4 && logicalShape(v).size() == 4;
    std::vector<ValueId> inputs;
    for (const TValue& v : xs) {
        if (all4) {
            PL_TRY_ASSIGN(ValueId i, nchw(v, name));
            inputs.push_back(i);
        } else {
            PL_TRY_ASSIGN(ValueId i, plain(v, name));
            inputs.push_back(i);
        }
    }
    Attributes a;
    a.set("axis", all4 ? nchwAxis(ax) : ax);
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Concat, name, std::move(inputs), a));
    return TValue{y, all4};
}

Result<TValue> Builder::softmax(const std::string& name, const TValue& x, int64_t axis) {
    const int64_t rank = static_cast<int64_t>(shape(x.id).size());
    PL_TRY_ASSIGN(int64_t ax, normaliseAxis(axis, rank, "softmax"));
    Attributes a;
    a.set("axis", x.nchw ? nchwAxis(ax) : ax);
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Softmax, name, {x.id}, a));
    return TValue{y, x.nchw};
}

Result<TValue> Builder::reduceMean(const std::string& name, const TValue& x,
                                   std::vector<int64_t> axes, bool keepDims) {
    const int64_t rank = static_cast<int64_t>(shape(x.id).size());
    for (int64_t& a : axes) {
        PL_TRY_ASSIGN(a, normaliseAxis(a, rank, "mean"));
    }
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    ValueId in = x.id;
    bool layout = x.nchw;
    if (x.nchw && !keepDims) {
        // Dropping axes of an NCHW value leaves tfjs's order only if the kept axes stay in it.
        std::vector<int64_t> kept;
        static const int64_t toNhwcAxis[4] = {0, 3, 1, 2};  // IR axis -> tfjs axis
        for (int64_t d = 0; d < 4; ++d) {
            const int64_t nhwc = toNhwcAxis[d];
            if (std::find(axes.begin(), axes.end(), nhwc) == axes.end()) kept.push_back(nhwc);
        }
        if (!std::is_sorted(kept.begin(), kept.end())) {
            PL_TRY_ASSIGN(in, plain(x, name));
            layout = false;
        }
    }
    std::vector<int64_t> irAxes = axes;
    if (layout) {
        for (int64_t& a : irAxes) a = nchwAxis(a);
        std::sort(irAxes.begin(), irAxes.end());
    }
    Attributes a;
    a.set("axes", irAxes);
    a.set("keepdims", keepDims ? int64_t(1) : int64_t(0));
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::ReduceMean, name, {in}, a));
    return TValue{y, layout && keepDims};
}

Result<TValue> Builder::reshape(const std::string& name, const TValue& x,
                                std::vector<int64_t> dims) {
    PL_TRY_ASSIGN(ValueId in, plain(x, name));
    const int64_t total = engine::elementCount(shape(in));
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == -1 && infer < 0) {
            infer = static_cast<int64_t>(i);
        } else if (dims[i] < 0 || dims[i] > engine::kMaxTensorElements) {
            return makeError(ErrorCode::ShapeMismatch, "reshape to " + shapeToString(dims) +
                                                           ": bad dim " + std::to_string(dims[i]));
        } else {
            known *= dims[i];
            if (known > engine::kMaxTensorElements) {
                return makeError(ErrorCode::ShapeMismatch,
                                 "reshape to " + shapeToString(dims) + " is too large");
            }
        }
    }
    if (infer >= 0) {
        if (known == 0 || total % known != 0) {
            return makeError(
                ErrorCode::ShapeMismatch,
                "cannot reshape " + shapeToString(shape(in)) + " to " + shapeToString(dims));
        }
        dims[static_cast<size_t>(infer)] = total / known;
    } else if (known != total) {
        return makeError(ErrorCode::ShapeMismatch, "cannot reshape " + shapeToString(shape(in)) +
                                                       " to " + shapeToString(dims));
    }
    Attributes a;
    a.set("shape", dims);
    PL_TRY_ASSIGN(ValueId y, emit(OpKind::Reshape, name, {in}, a));
    return TValue{y, false};
}

Result<engine::Shape> bindInputShape(std::vector<int64_t> dims, int64_t height, int64_t width) {
    for (size_t d = 0; d < dims.size(); ++d) {
        if (dims[d] >= 0) continue;
        if (d == 0) {
            dims[d] = 1;
        } else if (dims.size() == 4 && (d == 1 || d == 2)) {
            const int64_t v = d == 1 ? height : width;
            if (v < 1 || v > 65536) {
                return makeError(ErrorCode::InvalidArgument,
                                 "the model leaves its input's " +
                                     std::string(d == 1 ? "height" : "width") +
                                     " open: give a size between 1 and 65536");
            }
            dims[d] = v;
        } else {
            return makeError(ErrorCode::Unsupported,
                             "input dim " + std::to_string(d) + " of " + shapeToString(dims) +
                                 " is open and not an image's batch, height or width");
        }
    }
    auto count = engine::checkedElementCount(dims);
    if (!count.ok()) return count.error();
    return dims;
}

}  // namespace prunelab::tfjs::internal

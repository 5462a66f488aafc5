// Finds what can be fused after a conv or matmul: per-channel affines (BatchNormalization,
// Mul/Add/Sub/Div by a per-channel or scalar constant) folded into the weights and bias,
// activations as oneDNN eltwise post-ops, the decomposed HardSwish that exporters emit
// (x * clip(x + 3, 0, 6) / 6), a final PRelu with a per-channel or scalar constant slope (the
// conv kernel's own epilogue), and a residual Add as a Sum post-op.
#include <cmath>
#include <limits>

#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_plan.h"

namespace prunelab::engine::cpu {

namespace {

using Alg = EltwiseAlg;

const Tensor* constantOf(const Graph& g, ValueId id) {
    if (id == kNoValue) return nullptr;
    const Value& v = g.value(id);
    return v.isConstant() && v.dtype == DataType::Float32 ? &v.constant : nullptr;
}

// Per-channel values of a constant that broadcasts onto `out` along `axis` only (or a scalar),
// expanded to `channels` entries; empty when it broadcasts any other way.
std::vector<float> perChannel(const Tensor& t, const Shape& out, size_t axis, int64_t channels) {
    const std::vector<float> v = t.toFloatVector();
    if (v.size() == 1) return std::vector<float>(static_cast<size_t>(channels), v[0]);
    if (static_cast<int64_t>(v.size()) != channels || t.rank() > static_cast<int64_t>(out.size())) {
        return {};
    }
    const size_t lead = out.size() - t.shape().size();
    for (size_t d = 0; d < t.shape().size(); ++d) {
        const int64_t want = lead + d == axis ? channels : 1;
        if (t.shape()[d] != want) return {};
    }
    return v;
}

bool near(float a, float b) {
    return std::fabs(a - b) <= 1e-6f * std::max(1.0f, std::fabs(b));
}

bool scalarIs(const Graph& g, ValueId id, float want) {
    const Tensor* t = constantOf(g, id);
    if (t == nullptr || t->elements() != 1) return false;
    return near(t->toFloatVector()[0], want);
}

// The one node reading `v`, or -1 when there are several, none, or it is a graph output.
int soleConsumer(const Graph& g, ValueId v, const std::vector<std::vector<int>>& consumers) {
    const auto& c = consumers[static_cast<size_t>(v)];
    if (c.size() != 1 || g.isGraphOutput(v)) return -1;
    return c[0];
}

// x * clip(x + 3, 0, 6) / 6 starting at x: the four nodes, or empty.
std::vector<int> matchHardSwish(const Graph& g, ValueId x,
                                const std::vector<std::vector<int>>& consumers, ValueId& out) {
    const auto& c = consumers[static_cast<size_t>(x)];
    if (c.size() != 2 || g.isGraphOutput(x)) return {};
    for (int k = 0; k < 2; ++k) {
        const Node& add = g.nodes[static_cast<size_t>(c[static_cast<size_t>(k)])];
        const Node& mul = g.nodes[static_cast<size_t>(c[static_cast<size_t>(1 - k)])];
        if (add.op != OpKind::Add || mul.op != OpKind::Mul) continue;
        const ValueId three = add.inputs[0] == x ? add.inputs[1] : add.inputs[0];
        if (!scalarIs(g, three, 3.0f)) continue;
        const int clipIdx = soleConsumer(g, add.outputs[0], consumers);
        if (clipIdx < 0) continue;
        const Node& clip = g.nodes[static_cast<size_t>(clipIdx)];
        if (clip.op != OpKind::Clip || !near(clip.attrs.getFloat("min", -1), 0.0f) ||
            !near(clip.attrs.getFloat("max", -1), 6.0f)) {
            continue;
        }
        const bool mulReads = (mul.inputs[0] == x && mul.inputs[1] == clip.outputs[0]) ||
                              (mul.inputs[1] == x && mul.inputs[0] == clip.outputs[0]);
        if (!mulReads || soleConsumer(g, clip.outputs[0], consumers) < 0) continue;
        const int divIdx = soleConsumer(g, mul.outputs[0], consumers);
        if (divIdx < 0) continue;
        const Node& div = g.nodes[static_cast<size_t>(divIdx)];
        const bool byDiv = div.op == OpKind::Div && div.inputs[0] == mul.outputs[0] &&
                           scalarIs(g, div.inputs[1], 6.0f);
        const bool byMul = div.op == OpKind::Mul && (div.inputs[0] == mul.outputs[0]
                                                         ? scalarIs(g, div.inputs[1], 1.0f / 6.0f)
                                                         : scalarIs(g, div.inputs[0], 1.0f / 6.0f));
        if (!byDiv && !byMul) continue;
        out = div.outputs[0];
        return {c[static_cast<size_t>(k)], clipIdx, c[static_cast<size_t>(1 - k)], divIdx};
    }
    return {};
}

}  // namespace

std::vector<ChainLink> findChain(const Graph& g, int anchor, int64_t channels, size_t channelAxis,
                                 bool allowSum, const std::vector<std::vector<int>>& consumers,
                                 const std::vector<bool>& absorbed) {
    std::vector<ChainLink> chain;
    ValueId cur = g.nodes[static_cast<size_t>(anchor)].outputs[0];
    bool postOpSeen = false;
    bool sumSeen = false;
    const float inf = std::numeric_limits<float>::infinity();
    for (;;) {
        ChainLink link;
        ValueId hsOut = kNoValue;
        std::vector<int> hs = matchHardSwish(g, cur, consumers, hsOut);
        if (!hs.empty()) {
            bool free = true;
            for (int n : hs) free = free && !absorbed[static_cast<size_t>(n)];
            if (!free) break;
            link.nodes = hs;
            link.out = hsOut;
            link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_hardswish, 0, 0});
            link.what = "hardswish (decomposed)";
            postOpSeen = true;
            chain.push_back(std::move(link));
            cur = hsOut;
            continue;
        }
        const int next = soleConsumer(g, cur, consumers);
        if (next < 0 || absorbed[static_cast<size_t>(next)]) break;
        const Node& n = g.nodes[static_cast<size_t>(next)];
        if (n.outputs.size() != 1 || g.value(n.outputs[0]).dtype != DataType::Float32) break;
        const Shape& shape = g.value(cur).shape;
        if (g.value(n.outputs[0]).shape != shape) break;  // broadcasting that grows the tensor
        link.nodes = {next};
        link.out = n.outputs[0];
        const auto c = static_cast<size_t>(channels);
        switch (n.op) {
            case OpKind::Relu:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_relu, 0, 0});
                break;
            case OpKind::LeakyRelu:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_relu,
                                        n.attrs.getFloat("alpha", 0.01f), 0});
                break;
            case OpKind::Clip:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_clip,
                                        n.attrs.getFloat("min", -inf),
                                        n.attrs.getFloat("max", inf)});
                break;
            case OpKind::Sigmoid:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_logistic, 0, 0});
                break;
            case OpKind::Tanh:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_tanh, 0, 0});
                break;
            case OpKind::HardSwish:
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_hardswish, 0, 0});
                break;
            case OpKind::HardSigmoid:
                // clamp(alpha*x + beta, 0, 1) as two post-ops.
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_linear,
                                        n.attrs.getFloat("alpha", 0.2f),
                                        n.attrs.getFloat("beta", 0.5f)});
                link.postOps.push_back({PostOp::Kind::Eltwise, Alg::eltwise_clip, 0.0f, 1.0f});
                break;
            case OpKind::PRelu: {
                // Only the data input may be the chain; a slope computed at run time or one
                // that varies along H / W stays a separate (layout-following) loop.
                if (n.inputs.size() != 2 || n.inputs[0] != cur) break;
                const Tensor* slope = constantOf(g, n.inputs[1]);
                if (slope == nullptr) break;
                std::vector<float> k = perChannel(*slope, shape, channelAxis, channels);
                if (k.empty()) break;
                PostOp po{PostOp::Kind::Prelu, Alg::eltwise_relu, 0, 0};
                po.slopes = std::move(k);
                link.postOps.push_back(std::move(po));
                break;
            }
            case OpKind::BatchNormalization: {
                if (postOpSeen || n.inputs.size() < 5 || n.inputs[0] != cur) break;
                const Tensor* sc = constantOf(g, n.inputs[1]);
                const Tensor* b = constantOf(g, n.inputs[2]);
                const Tensor* mean = constantOf(g, n.inputs[3]);
                const Tensor* var = constantOf(g, n.inputs[4]);
                if (!sc || !b || !mean || !var || sc->elements() != channels ||
                    b->elements() != channels || mean->elements() != channels ||
                    var->elements() != channels) {
                    break;
                }
                const float eps = n.attrs.getFloat("epsilon", 1e-5f);
                const auto s = sc->toFloatVector(), bb = b->toFloatVector();
                const auto m = mean->toFloatVector(), v = var->toFloatVector();
                link.fold = true;
                link.scale.resize(c);
                link.shift.resize(c);
                for (size_t i = 0; i < c; ++i) {
                    link.scale[i] = s[i] / std::sqrt(v[i] + eps);
                    link.shift[i] = bb[i] - m[i] * link.scale[i];
                }
                break;
            }
            case OpKind::Add:
            case OpKind::Sub:
            case OpKind::Mul:
            case OpKind::Div: {
                if (n.inputs.size() != 2) break;
                const bool curFirst = n.inputs[0] == cur;
                const ValueId other = curFirst ? n.inputs[1] : n.inputs[0];
                if (other == cur) break;
                const Tensor* t = constantOf(g, other);
                if (t == nullptr) {
                    // A residual: same shape, computed elsewhere, accumulated by Sum.
                    if (n.op == OpKind::Add && allowSum && !sumSeen &&
                        g.value(other).dtype == DataType::Float32 &&
                        g.value(other).shape == shape) {
                        link.postOps.push_back({PostOp::Kind::Sum, Alg::eltwise_linear, 0, 0});
                        link.residual = other;
                        sumSeen = true;
                    }
                    break;
                }
                std::vector<float> k = perChannel(*t, shape, channelAxis, channels);
                if (k.empty()) break;
                if (n.op == OpKind::Div && !curFirst) break;  // k / x is not affine
                std::vector<float> scale(c, 1.0f), shift(c, 0.0f);
                for (size_t i = 0; i < c; ++i) {
                    switch (n.op) {
                        case OpKind::Add:
                            shift[i] = k[i];
                            break;
                        case OpKind::Sub:
                            if (curFirst) {
                                shift[i] = -k[i];
                            } else {
                                scale[i] = -1.0f;
                                shift[i] = k[i];
                            }
                            break;
                        case OpKind::Mul:
                            scale[i] = k[i];
                            break;
                        default:
                            scale[i] = 1.0f / k[i];
                            break;
                    }
                }
                if (!postOpSeen) {
                    link.fold = true;
                    link.scale = std::move(scale);
                    link.shift = std::move(shift);
                } else if (t->elements() == 1) {
                    // After an activation only a scalar affine fits (eltwise linear).
                    link.postOps.push_back(
                        {PostOp::Kind::Eltwise, Alg::eltwise_linear, scale[0], shift[0]});
                }
                break;
            }
            default:
                break;
        }
        if (!link.fold && link.postOps.empty()) break;
        link.what = link.fold ? std::string(opName(n.op)) + " folded into the weights"
                              : std::string(opName(n.op)) + " as a post-op";
        if (n.op == OpKind::PRelu) {
            link.what =
                "PRelu on each row band after the conv wrote it (oneDNN 2.6 has its "
                "prelu post-op only in the reference conv)";
        }
        if (!link.fold) postOpSeen = true;
        chain.push_back(std::move(link));
        cur = chain.back().out;
    }
    return chain;
}

}  // namespace prunelab::engine::cpu

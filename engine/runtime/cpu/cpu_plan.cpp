// The planning pipeline, run once at create():
//   1. fusion   - for each conv / matmul, the longest chain oneDNN accepts (fusion.cpp);
//   2. kernels  - per node a fast kernel, or the reference with the reason recorded;
//   3. layout   - convs and pools run channels-last (Nhwc); element-wise ops follow their
//                 inputs; a reorder is inserted only where an op needs the other layout;
//   4. outputs  - each graph output lands in a fresh tensor (written directly when possible);
//   5. liveness - each intermediate gets a block of reusable memory; a block is reused once
//                 every reader of its value has run; element-wise ops write in place.
#include <algorithm>
#include <array>
#include <map>

#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_plan.h"

#include "engine/codegen/sparse_ir.h"
#include "engine/runtime/cpu/sparse/jit.h"

namespace prunelab::engine::cpu {

namespace {

bool isUnaryActivation(OpKind op) {
    switch (op) {
        case OpKind::Relu:
        case OpKind::LeakyRelu:
        case OpKind::Clip:
        case OpKind::HardSigmoid:
        case OpKind::HardSwish:
        case OpKind::Sigmoid:
        case OpKind::Tanh:
        case OpKind::Exp:
        case OpKind::Sqrt:
        case OpKind::Neg:
        case OpKind::Abs:
            return true;
        default:
            return false;
    }
}

// Ops the broadcasting binary loop runs (PRelu is one: x and its slope; Min and Max of two).
bool isBinaryArithmetic(OpKind op) {
    return op == OpKind::Add || op == OpKind::Sub || op == OpKind::Mul || op == OpKind::Div ||
           op == OpKind::PRelu || op == OpKind::Min || op == OpKind::Max;
}

bool isReshapeLike(OpKind op) {
    return op == OpKind::Reshape || op == OpKind::Flatten || op == OpKind::Squeeze ||
           op == OpKind::Unsqueeze || op == OpKind::Identity;
}

bool isFloat4d(const Value& v) {
    return v.dtype == DataType::Float32 && v.shape.size() == 4;
}

// Appends a post-op, composing consecutive linear ones (a2*(a1*x + b1) + b2) into one.
void appendPostOp(std::vector<PostOp>& ops, const PostOp& op) {
    if (op.kind == PostOp::Kind::Eltwise && op.alg == EltwiseAlg::eltwise_linear && !ops.empty() &&
        ops.back().kind == PostOp::Kind::Eltwise && ops.back().alg == EltwiseAlg::eltwise_linear) {
        PostOp& prev = ops.back();
        prev.beta = op.alpha * prev.beta + op.beta;
        prev.alpha *= op.alpha;
        return;
    }
    ops.push_back(op);
}

// oneDNN 2.6's brdgmm depthwise kernel computes wrong results with three chained eltwise
// post-ops (hardswish + linear + linear; see the DepthwiseWithPostOpChainFeedingConv test), so
// chains keep at most two; the rest of the chain runs as separate loops.
constexpr int kMaxEltwisePostOps = 2;

Status checkPostOpCount(const std::vector<PostOp>& ops) {
    int eltwise = 0;
    for (const PostOp& op : ops) eltwise += op.kind == PostOp::Kind::Eltwise ? 1 : 0;
    if (eltwise > kMaxEltwisePostOps) {
        return makeError(ErrorCode::Unsupported, "more than two eltwise post-ops");
    }
    return {};
}

// A conv / matmul and what fused into it, decided before the main pass.
struct Anchor {
    KernelPtr kernel;
    std::string name;
    std::vector<ChainLink> links;  // the accepted prefix
    int emitAt = -1;               // node index where the fused step runs
    ValueId out = kNoValue;
    ValueId src = kNoValue;  // what the step reads: the node's input, or a padded value's source
    int pad = -1;            // a zero Pad before the conv that became its own padding
    Layout srcLayout = Layout::Nhwc;
    Layout dstLayout = Layout::Nhwc;
};

class Planner {
  public:
    Planner(const Graph& g, const CpuOptions& o, const DenseEngine& e, int threads)
        : m_g(g),
          m_opt(o),
          // CpuExecutor::create refused another backend's code.
          m_generated(std::static_pointer_cast<const CompiledModule>(o.generated)),
          m_engine(e),
          m_threads(threads) {}

    Result<Plan> build() {
        const size_t nv = m_g.values.size();
        m_primary.assign(nv, -1);
        m_converted.assign(nv, {-1, -1});
        m_consumers.assign(nv, {});
        for (size_t k = 0; k < m_g.nodes.size(); ++k) {
            for (ValueId id : m_g.nodes[k].inputs) {
                if (id != kNoValue)
                    m_consumers[static_cast<size_t>(id)].push_back(static_cast<int>(k));
            }
        }
        m_outputFilled.assign(m_g.outputs.size(), false);
        m_plan.outputSlots.assign(m_g.outputs.size(), -1);
        for (size_t i = 0; i < m_g.inputs.size(); ++i) {
            const Value& v = m_g.value(m_g.inputs[i]);
            m_primary[static_cast<size_t>(m_g.inputs[i])] =
                addSlot(Slot::Kind::Input, static_cast<int>(i), v.dtype, v.shape, Layout::Plain);
        }
        m_absorbed.assign(m_g.nodes.size(), false);
        m_fusedInto.assign(m_g.nodes.size(), -1);
        m_anchors.resize(m_g.nodes.size());
        if (!m_opt.referenceOnly) planAnchors();
        for (size_t k = 0; k < m_g.nodes.size(); ++k) PL_TRY(planNode(static_cast<int>(k)));
        PL_TRY(finishOutputs());
        assignMemory();
        return std::move(m_plan);
    }

  private:
    // ---- slots ----

    int addSlot(Slot::Kind kind, int index, DataType dtype, const Shape& shape, Layout layout) {
        Slot s;
        s.kind = kind;
        s.index = index;
        s.dtype = dtype;
        s.shape = shape;
        s.layout = layoutsCoincide(shape) ? Layout::Plain : layout;
        s.bytes = static_cast<size_t>(elementCount(shape)) * dataTypeSize(dtype);
        m_plan.slots.push_back(std::move(s));
        return static_cast<int>(m_plan.slots.size()) - 1;
    }

    int rootOf(int slot) const {
        while (m_plan.slots[static_cast<size_t>(slot)].kind == Slot::Kind::Alias) {
            slot = m_plan.slots[static_cast<size_t>(slot)].index;
        }
        return slot;
    }

    int addAlias(int of, const Shape& shape, Layout layout) {
        const Slot& root = m_plan.slots[static_cast<size_t>(of)];
        return addSlot(Slot::Kind::Alias, rootOf(of), root.dtype, shape, layout);
    }

    // The slot holding `v` as produced (constants get one on first use).
    int primary(ValueId v) {
        int& s = m_primary[static_cast<size_t>(v)];
        if (s < 0) {
            const Value& val = m_g.value(v);
            s = addSlot(Slot::Kind::Constant, -1, val.dtype, val.shape, Layout::Plain);
            m_plan.slots[static_cast<size_t>(s)].constant = val.constant;
        }
        return s;
    }

    Layout layoutOf(ValueId v) { return m_plan.slots[static_cast<size_t>(primary(v))].layout; }

    // `v` in layout `want`: the slot itself, a cached converted copy, or a new reorder step
    // (constants are converted here, once).
    int slotIn(ValueId v, Layout want, const std::string& forWhom) {
        const int p = primary(v);
        const Slot ps = m_plan.slots[static_cast<size_t>(p)];  // a copy: addSlot() reallocates
        if (ps.layout == want || layoutsCoincide(ps.shape) || ps.dtype != DataType::Float32)
            return p;
        int& cached = m_converted[static_cast<size_t>(v)][static_cast<size_t>(want)];
        if (cached >= 0) return cached;
        const Value& val = m_g.value(v);
        auto reorder = makeReorderKernel(ps.shape, ps.layout, want);
        if (val.isConstant()) {
            cached = addSlot(Slot::Kind::Constant, -1, ps.dtype, ps.shape, want);
            Tensor t(DataType::Float32, ps.shape);
            std::byte* in[] = {const_cast<std::byte*>(val.constant.raw())};
            std::byte* out[] = {t.raw()};
            ThreadPool one(1);
            RunContext ctx{&one, nullptr, {}};
            (void)reorder->run(in, out, ctx);  // plain loops: cannot fail
            m_plan.slots[static_cast<size_t>(cached)].constant = t;
            return cached;
        }
        cached = addSlot(Slot::Kind::Arena, -1, ps.dtype, ps.shape, want);
        addStep(std::move(reorder), {p}, {cached}, "value '" + val.name + "'", true);
        m_plan.report.push_back(
            {"value '" + val.name + "'",
             std::string("reorder ") + layoutName(ps.layout) + "->" + layoutName(want),
             forWhom + " needs " + layoutName(want)});
        return cached;
    }

    // The slot a node's output `v` is written to: the fresh output tensor when `v` is a graph
    // output and the kernel writes plain, else a block of the arena.
    int defineOutput(ValueId v, Layout layout) {
        const Value& val = m_g.value(v);
        if (layoutsCoincide(val.shape)) layout = Layout::Plain;
        for (size_t i = 0; i < m_g.outputs.size(); ++i) {
            if (m_g.outputs[i] == v && !m_outputFilled[i] && layout == Layout::Plain) {
                m_outputFilled[i] = true;
                const int s = addSlot(Slot::Kind::Output, static_cast<int>(i), val.dtype, val.shape,
                                      Layout::Plain);
                m_plan.outputSlots[i] = s;
                return m_primary[static_cast<size_t>(v)] = s;
            }
        }
        return m_primary[static_cast<size_t>(v)] =
                   addSlot(Slot::Kind::Arena, -1, val.dtype, val.shape, layout);
    }

    void addStep(KernelPtr kernel, std::vector<int> in, std::vector<int> out, std::string where,
                 bool layoutChange = false) {
        m_plan.steps.push_back(
            {std::move(kernel), std::move(in), std::move(out), std::move(where), layoutChange});
    }

    void report(int node, std::string kernel, std::string reason) {
        m_plan.report.push_back(
            {m_g.describeNode(static_cast<size_t>(node)), std::move(kernel), std::move(reason)});
    }

    // ---- 1. fusion: conv / matmul anchors ----

    void planAnchors() {
        for (size_t k = 0; k < m_g.nodes.size(); ++k) {
            if (m_absorbed[k]) continue;
            const Node& n = m_g.nodes[k];
            std::string why;
            bool ok = false;
            if (n.op == OpKind::Conv || n.op == OpKind::ConvTranspose) {
                ok = planConv(static_cast<int>(k), why);
            } else if (n.op == OpKind::Gemm || n.op == OpKind::MatMul) {
                ok = planMatMul(static_cast<int>(k), why);
            } else {
                continue;
            }
            if (!ok) m_anchorWhy[static_cast<int>(k)] = why;
        }
    }

    // Tries the whole chain, then shorter prefixes, until oneDNN accepts one.
    template <class Make>
    bool acceptChain(int k, std::vector<ChainLink> links, Make&& make, std::string& why) {
        for (;;) {
            auto kernel = make(links);
            if (kernel.ok()) {
                Anchor& a = m_anchors[static_cast<size_t>(k)];
                a.kernel = std::move(*kernel);
                a.emitAt = k;
                a.out = m_g.nodes[static_cast<size_t>(k)].outputs[0];
                for (const ChainLink& l : links) {
                    for (int n : l.nodes) {
                        m_absorbed[static_cast<size_t>(n)] = true;
                        m_fusedInto[static_cast<size_t>(n)] = k;
                        a.emitAt = std::max(a.emitAt, n);
                    }
                    a.out = l.out;
                }
                a.links = std::move(links);
                return true;
            }
            if (links.empty()) {
                why = kernel.error().message;
                return false;
            }
            links.pop_back();
        }
    }

    bool planConv(int k, std::string& why) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        if (n.inputs.size() < 2 || n.outputs.size() != 1 || !isFloat4d(m_g.value(n.inputs[0]))) {
            why = "not a 2-D float32 conv";
            return false;
        }
        const Value& w = m_g.value(n.inputs[1]);
        const bool hasBias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
        if (!w.isConstant() || w.dtype != DataType::Float32 ||
            (hasBias && !m_g.value(n.inputs[2]).isConstant())) {
            why = "weights or bias computed at run time";
            return false;
        }
        const bool transposed = n.op == OpKind::ConvTranspose;
        // TensorFlow's exports pad explicitly before VALID convs (MediaPipe's full-range face
        // model has 43 such Pads): as a step of its own each copies the activation and forces a
        // layout change, costing more than the conv. The conv pads instead.
        const int pad = transposed || sparseLayer(k) ? -1 : zeroSpatialPadBefore(k);
        Node padded;
        if (pad >= 0) {
            padded = n;
            const auto pp = m_g.nodes[static_cast<size_t>(pad)].attrs.getInts("pads");
            auto cp = n.attrs.getInts("pads");
            if (cp.size() != 4) cp.assign(4, 0);
            cp[0] += pp[2];  // top    += H begin
            cp[1] += pp[3];  // left   += W begin
            cp[2] += pp[6];  // bottom += H end
            cp[3] += pp[7];  // right  += W end
            padded.attrs.set("pads", std::move(cp));
        }
        const ValueId source =
            pad >= 0 ? m_g.nodes[static_cast<size_t>(pad)].inputs[0] : n.inputs[0];
        auto params = transposed
                          ? convTransposeParams(n, m_g.value(source).shape, w.shape)
                          : convParams(pad >= 0 ? padded : n, m_g.value(source).shape, w.shape);
        if (!params.ok()) {
            why = params.error().message;
            return false;
        }
        const ConvParams p = *params;
        std::vector<ChainLink> links =
            findChain(m_g, k, p.outChannels, 1, !transposed, m_consumers, m_absorbed);
        Anchor& anchor = m_anchors[static_cast<size_t>(k)];
        if (const codegen::LayerCode* layer = sparseLayer(k); layer && !transposed) {
            return planSparseConv(k, *layer, std::move(links), why);
        }
        auto make = [&](const std::vector<ChainLink>& chain) -> Result<KernelPtr> {
            ConvSpec spec;
            spec.params = p;
            spec.transposed = transposed;
            spec.weights = w.constant.toFloatVector();
            spec.bias = hasBias ? m_g.value(n.inputs[2]).constant.toFloatVector()
                                : std::vector<float>(static_cast<size_t>(p.outChannels), 0.0f);
            const ValueId out = chain.empty() ? n.outputs[0] : chain.back().out;
            // A graph output is written plain, straight into the caller's tensor; except after
            // a transposed conv, whose fast (matmul) form needs channels-last: reorder instead.
            // So is a value only sparse convs read (they run plain), and a plain value (a sparse
            // conv's output) is read as it is: a reorder there moves the whole activation
            // through memory for nothing (20 ms of Real-ESRGAN's 191 at 320x240, one thread).
            // Without oneDNN the sgemm conv is as fast in either layout and the pools run plain
            // loops, so plain throughout spares every reorder.
            const bool plainOut =
                (!PRUNELAB_CPU_ONEDNN || m_g.isGraphOutput(out) || onlySparseConsumers(out)) &&
                !transposed;
            // A graph input is plain too; it is read as it is only when the output is written
            // plain as well, so dense models keep the kernels they were benchmarked with.
            const bool graphInput =
                std::find(m_g.inputs.begin(), m_g.inputs.end(), source) != m_g.inputs.end();
            const bool plainIn = !transposed && (!PRUNELAB_CPU_ONEDNN || producedPlain(source) ||
                                                 (plainOut && graphInput));
            for (const ChainLink& l : chain) {
                if (l.fold) {
                    foldConv(spec, l.scale, l.shift);
                } else {
                    for (const PostOp& po : l.postOps) appendPostOp(spec.postOps, po);
                }
            }
            PL_TRY(checkPostOpCount(spec.postOps));
            // oneDNN lacks fast kernels for some layout pairs (channels-last in, plain out: its
            // reference conv, 100x slower): the wanted pair first, the channels-last pair last.
            std::vector<std::pair<Layout, Layout>> tries;
            for (Layout src : {plainIn ? Layout::Plain : Layout::Nhwc, Layout::Nhwc}) {
                for (Layout dst : {plainOut ? Layout::Plain : Layout::Nhwc, Layout::Nhwc}) {
                    if (std::find(tries.begin(), tries.end(), std::pair{src, dst}) == tries.end()) {
                        tries.emplace_back(src, dst);
                    }
                }
            }
            for (size_t t = 0; t + 1 < tries.size(); ++t) {
                spec.srcLayout = tries[t].first;
                spec.dstLayout = tries[t].second;
                std::string name;
                auto kernel = makeConvKernel(spec, m_engine, m_threads, name);
                if (kernel.ok() && name.find("(ref") == std::string::npos) {
                    anchor.name = name;
                    anchor.srcLayout = spec.srcLayout;
                    anchor.dstLayout = spec.dstLayout;
                    return kernel;
                }
            }
            spec.srcLayout = anchor.srcLayout = Layout::Nhwc;
            spec.dstLayout = anchor.dstLayout = Layout::Nhwc;
            return makeConvKernel(spec, m_engine, m_threads, anchor.name);
        };
        if (!acceptChain(k, std::move(links), make, why)) return false;
        anchor.src = source;
        if (pad >= 0) {
            anchor.pad = pad;
            m_absorbed[static_cast<size_t>(pad)] = true;
            m_fusedInto[static_cast<size_t>(pad)] = k;
        }
        return true;
    }

    // The Pad node before conv k when it pads only H and W, with zeros, and conv k is its only
    // reader; else -1.
    int zeroSpatialPadBefore(int k) const {
        const ValueId in = m_g.nodes[static_cast<size_t>(k)].inputs[0];
        const int p = m_g.producer(in);
        if (p < 0 || m_absorbed[static_cast<size_t>(p)]) return -1;
        const Node& pad = m_g.nodes[static_cast<size_t>(p)];
        if (pad.op != OpKind::Pad || pad.inputs.empty() || !isFloat4d(m_g.value(pad.inputs[0])) ||
            pad.attrs.getString("mode", "constant") != "constant" ||
            pad.attrs.getFloat("value", 0.0f) != 0.0f) {
            return -1;
        }
        const auto& readers = m_consumers[static_cast<size_t>(in)];
        if (readers.size() != 1 || m_g.isGraphOutput(in)) return -1;
        const auto pads = pad.attrs.getInts("pads");
        if (pads.size() != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) {
            return -1;
        }
        for (int64_t v : pads) {
            if (v < 0) return -1;  // a crop, not a pad
        }
        return p;
    }

    // Whether `v` is read only by convs that run sparse (plain layout), so a dense producer
    // should write it plain.
    bool onlySparseConsumers(ValueId v) const {
        const std::vector<int>& users = m_consumers[static_cast<size_t>(v)];
        return !users.empty() && std::all_of(users.begin(), users.end(), [&](int c) {
            const Node& user = m_g.nodes[static_cast<size_t>(c)];
            return user.op == OpKind::Conv && !user.inputs.empty() && user.inputs[0] == v &&
                   sparseLayer(c) != nullptr;
        });
    }

    // Whether `v` is written plain by a conv planned before (a sparse conv's output). Anchors
    // are planned in node order, before any slot exists, so this asks the producer's anchor.
    bool producedPlain(ValueId v) const {
        return std::any_of(m_anchors.begin(), m_anchors.end(), [&](const Anchor& a) {
            return a.kernel && a.out == v && a.dstLayout == Layout::Plain;
        });
    }

    // The compiler's non-dense layer for node k, when the options carry one.
    const codegen::LayerCode* sparseLayer(int k) const {
        if (!m_opt.sparse) return nullptr;
        for (const codegen::LayerCode& l : m_opt.sparse->layers) {
            if (l.node == k && l.kind != codegen::KernelKind::Dense && !l.gemm) return &l;
        }
        return nullptr;
    }

    // Plain NCHW in and out (the kernels' layout; the planner converts at the dense
    // neighbours). Per-channel affines right after the conv fold into a copy of the packed
    // weights, as into dense weights; not into generated code (weights baked in) unless they only
    // shift, and not after a post-op: there they end the chain.
    bool planSparseConv(int k, const codegen::LayerCode& layer, std::vector<ChainLink> links,
                        std::string& why) {
        Anchor& anchor = m_anchors[static_cast<size_t>(k)];
        anchor.srcLayout = anchor.dstLayout = Layout::Plain;
        const bool baked = m_generated && m_generated->layer(layer.index) != nullptr;
        auto leading = links.begin();
        while (leading != links.end() && leading->fold &&
               !(baked && std::any_of(leading->scale.begin(), leading->scale.end(),
                                      [](float s) { return s != 1; }))) {
            ++leading;
        }
        links.erase(std::find_if(leading, links.end(), [](const ChainLink& l) { return l.fold; }),
                    links.end());
        auto make = [&](const std::vector<ChainLink>& chain) -> Result<KernelPtr> {
            std::vector<float> scale, shift;
            std::vector<PostOp> postOps;
            for (const ChainLink& l : chain) {
                if (l.fold) {
                    // y * s1 + t1, then * s2 + t2 = y * (s1 s2) + (t1 s2 + t2).
                    if (scale.empty()) {
                        scale.assign(l.scale.size(), 1.0f);
                        shift.assign(l.shift.size(), 0.0f);
                    }
                    for (size_t c = 0; c < scale.size(); ++c) {
                        scale[c] *= l.scale[c];
                        shift[c] = shift[c] * l.scale[c] + l.shift[c];
                    }
                }
                for (const PostOp& po : l.postOps) postOps.push_back(po);
            }
            return makeSparseConvKernel(layer, scale, shift, postOps, m_threads, m_generated,
                                        anchor.name);
        };
        return acceptChain(k, std::move(links), make, why);
    }

    static void foldConv(ConvSpec& spec, const std::vector<float>& scale,
                         const std::vector<float>& shift) {
        const ConvParams& p = spec.params;
        const int64_t khw = p.kernelH * p.kernelW;
        const int64_t ig = p.inChannelsPerGroup();
        const int64_t og = p.outChannelsPerGroup();
        for (int64_t o = 0; o < p.outChannels; ++o) {
            const float s = scale[static_cast<size_t>(o)];
            if (!spec.transposed) {
                float* w = spec.weights.data() + o * ig * khw;
                for (int64_t i = 0; i < ig * khw; ++i) w[i] *= s;
            } else {
                const int64_t grp = o / og;
                const int64_t ol = o % og;
                for (int64_t i = 0; i < ig; ++i) {
                    float* w = spec.weights.data() + ((grp * ig + i) * og + ol) * khw;
                    for (int64_t t = 0; t < khw; ++t) w[t] *= s;
                }
            }
            float& b = spec.bias[static_cast<size_t>(o)];
            b = b * s + shift[static_cast<size_t>(o)];
        }
    }

    bool planMatMul(int k, std::string& why) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        if (n.inputs.size() < 2 || n.outputs.size() != 1) return false;
        const Value& a = m_g.value(n.inputs[0]);
        const Value& b = m_g.value(n.inputs[1]);
        if (a.dtype != DataType::Float32 || !b.isConstant() || b.dtype != DataType::Float32 ||
            b.shape.size() != 2 || a.shape.size() < 2) {
            why = "needs float32 A (rank >= 2) and constant 2-D B";
            return false;
        }
        MatMulSpec spec;
        std::vector<float> bw = b.constant.toFloatVector();
        const bool gemm = n.op == OpKind::Gemm;
        const bool transB = gemm && n.attrs.getInt("transB", 0) != 0;
        spec.transA = gemm && n.attrs.getInt("transA", 0) != 0;
        if (gemm && a.shape.size() != 2) return false;
        spec.k = a.shape.back();
        spec.m = elementCount(a.shape) / spec.k;
        if (spec.transA) std::swap(spec.m, spec.k);
        spec.n = transB ? b.shape[0] : b.shape[1];
        if ((transB ? b.shape[1] : b.shape[0]) != spec.k) {
            why = "inner dimensions differ";
            return false;
        }
        const float alpha = gemm ? n.attrs.getFloat("alpha", 1.0f) : 1.0f;
        spec.weights.resize(static_cast<size_t>(spec.k * spec.n));
        for (int64_t i = 0; i < spec.k; ++i) {
            for (int64_t j = 0; j < spec.n; ++j) {
                spec.weights[static_cast<size_t>(i * spec.n + j)] =
                    alpha * bw[static_cast<size_t>(transB ? j * spec.k + i : i * spec.n + j)];
            }
        }
        if (gemm && n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
            const Value& c = m_g.value(n.inputs[2]);
            if (!c.isConstant() || c.dtype != DataType::Float32) {
                why = "Gemm's C computed at run time";
                return false;
            }
            const float beta = n.attrs.getFloat("beta", 1.0f);
            const std::vector<float> cv = c.constant.toFloatVector();
            const int64_t cRows = c.shape.size() == 2 ? c.shape[0] : 1;
            const int64_t cCols = c.shape.empty() ? 1 : c.shape.back();
            const bool rowOnly = cRows == 1;
            spec.bias.resize(static_cast<size_t>(rowOnly ? spec.n : spec.m * spec.n));
            for (size_t i = 0; i < spec.bias.size(); ++i) {
                const int64_t r = static_cast<int64_t>(i) / spec.n;
                const int64_t col = static_cast<int64_t>(i) % spec.n;
                spec.bias[i] =
                    beta *
                    cv[static_cast<size_t>((cRows == 1 ? 0 : r) * cCols + (cCols == 1 ? 0 : col))];
            }
        }
        std::vector<ChainLink> links =
            findChain(m_g, k, spec.n, m_g.value(n.outputs[0]).shape.size() - 1, false, m_consumers,
                      m_absorbed);
        Anchor& anchor = m_anchors[static_cast<size_t>(k)];
        anchor.srcLayout = anchor.dstLayout = Layout::Plain;
        auto make = [&](const std::vector<ChainLink>& chain) -> Result<KernelPtr> {
            MatMulSpec s = spec;
            for (const ChainLink& l : chain) {
                if (!l.fold) {
                    for (const PostOp& po : l.postOps) appendPostOp(s.postOps, po);
                    continue;
                }
                if (s.bias.empty()) s.bias.assign(static_cast<size_t>(s.n), 0.0f);
                for (int64_t i = 0; i < s.k; ++i) {
                    for (int64_t j = 0; j < s.n; ++j)
                        s.weights[static_cast<size_t>(i * s.n + j)] *=
                            l.scale[static_cast<size_t>(j)];
                }
                for (size_t i = 0; i < s.bias.size(); ++i) {
                    const size_t j = i % static_cast<size_t>(s.n);
                    s.bias[i] = s.bias[i] * l.scale[j] + l.shift[j];
                }
            }
            PL_TRY(checkPostOpCount(s.postOps));
            return makeMatMulKernel(s, m_engine, m_threads, anchor.name);
        };
        return acceptChain(k, std::move(links), make, why);
    }

    // ---- 2./3. kernel and layout per node ----

    Status planNode(int k) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        const std::string where = m_g.describeNode(static_cast<size_t>(k));
        Anchor& anchor = m_anchors[static_cast<size_t>(k)];
        if (anchor.kernel) {
            if (anchor.emitAt == k) return emitAnchor(k);
            return {};  // emitted later, where its last fused node sits
        }
        if (m_absorbed[static_cast<size_t>(k)]) {
            // Runs at its anchor's position once every fused input exists.
            const int a = m_fusedInto[static_cast<size_t>(k)];
            if (m_anchors[static_cast<size_t>(a)].emitAt == k) return emitAnchor(a);
            return {};
        }
        if (m_opt.referenceOnly) return emitReference(k, "referenceOnly option");
        std::string why;
        if (auto it = m_anchorWhy.find(k); it != m_anchorWhy.end()) why = it->second;
        auto fast = planFast(k, why);
        if (!fast.ok()) return fast.error().within(where);
        if (*fast) return {};
        if (why.empty()) why = "no fast " + std::string(opName(n.op)) + " kernel";
        return emitReference(k, why);
    }

    Status emitAnchor(int k) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        Anchor& a = m_anchors[static_cast<size_t>(k)];
        const std::string where = m_g.describeNode(static_cast<size_t>(k));
        std::vector<int> in = {slotIn(a.src != kNoValue ? a.src : n.inputs[0], a.srcLayout, where)};
        for (const ChainLink& l : a.links) {
            if (l.residual != kNoValue) in.push_back(slotIn(l.residual, a.dstLayout, where));
        }
        const int out = defineOutput(a.out, a.dstLayout);
        addStep(std::move(a.kernel), std::move(in), {out}, where);
        std::string fused;
        if (a.pad >= 0) {
            report(a.pad, "fused into " + where, "zero Pad of H and W as the conv's own padding");
            fused = "Pad (before)";
        }
        for (const ChainLink& l : a.links) {
            for (int f : l.nodes) {
                report(f, "fused into " + where, l.what);
                fused += fused.empty() ? "" : ", ";
                fused += std::string(opName(m_g.nodes[static_cast<size_t>(f)].op));
            }
        }
        report(k, a.name, fused.empty() ? "fast kernel" : "fast kernel, fused: " + fused);
        return {};
    }

    Status emitReference(int k, const std::string& why) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        const std::string where = m_g.describeNode(static_cast<size_t>(k));
        std::vector<int> in;
        std::vector<DataType> types;
        std::vector<Shape> shapes;
        std::vector<Tensor> constants;
        for (ValueId id : n.inputs) {
            if (id == kNoValue) {
                in.push_back(-1);
                types.push_back(DataType::Undefined);
                shapes.emplace_back();
                constants.emplace_back();
                continue;
            }
            const Value& v = m_g.value(id);
            in.push_back(slotIn(id, Layout::Plain, where));
            types.push_back(v.dtype);
            shapes.push_back(v.shape);
            constants.push_back(v.constant);
        }
        std::vector<DataType> outTypes;
        std::vector<Shape> outShapes;
        for (ValueId id : n.outputs) {
            outTypes.push_back(m_g.value(id).dtype);
            outShapes.push_back(m_g.value(id).shape);
        }
        auto kernel = makeReferenceKernel(n, types, shapes, constants, outTypes, outShapes);
        if (!kernel.ok()) return kernel.error().within(where);
        std::vector<int> out;
        for (ValueId id : n.outputs) out.push_back(defineOutput(id, Layout::Plain));
        addStep(std::move(*kernel), std::move(in), std::move(out), where);
        report(k, "reference", "reference: " + why);
        return {};
    }

    // Emits a fast kernel for node k and returns true, or returns false with `why` set.
    Result<bool> planFast(int k, std::string& why) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        const std::string where = m_g.describeNode(static_cast<size_t>(k));
        if (n.outputs.size() != 1) return false;
        const ValueId outId = n.outputs[0];
        const Value& out = m_g.value(outId);
        std::string name;
        auto give = [&](Result<KernelPtr>& kernel, std::vector<int> in, int outSlot) -> bool {
            addStep(std::move(*kernel), std::move(in), {outSlot}, where);
            report(k, name, "fast kernel");
            return true;
        };
        if (isUnaryActivation(n.op) && out.dtype == DataType::Float32 && n.inputs.size() == 1) {
            auto kernel = makeUnaryKernel(n, elementCount(out.shape), m_engine, m_threads, name);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            const Layout l = layoutOf(n.inputs[0]);
            const int in = primary(n.inputs[0]);
            name += std::string(" ") + layoutName(l);
            return give(kernel, {in}, defineOutput(outId, l));
        }
        if (isBinaryArithmetic(n.op) && out.dtype == DataType::Float32 && n.inputs.size() == 2 &&
            m_g.value(n.inputs[0]).dtype == DataType::Float32 &&
            m_g.value(n.inputs[1]).dtype == DataType::Float32) {
            // Follow a same-shape input's layout, so chains of element-wise ops stay put.
            Layout l = Layout::Plain;
            for (ValueId id : n.inputs) {
                if (!m_g.value(id).isConstant() && m_g.value(id).shape == out.shape)
                    l = layoutOf(id);
            }
            if (m_g.isGraphOutput(outId))
                l = Layout::Plain;  // strided reads; write the result directly
            const ValueId a = n.inputs[0];
            const ValueId b = n.inputs[1];
            auto kernel = makeBinaryKernel(n.op, m_g.value(a).shape, layoutOf(a),
                                           m_g.value(b).shape, layoutOf(b), out.shape, l, name);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            const int sa = primary(a);
            const int sb = primary(b);
            return give(kernel, {sa, sb}, defineOutput(outId, l));
        }
        if ((n.op == OpKind::MaxPool || n.op == OpKind::AveragePool) && isFloat4d(out) &&
            n.inputs.size() == 1) {
            auto kernel = makePoolKernel(n, m_g.value(n.inputs[0]).shape, out.shape, Layout::Nhwc,
                                         m_engine, name);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            const int in = slotIn(n.inputs[0], Layout::Nhwc, where);
            return give(kernel, {in}, defineOutput(outId, Layout::Nhwc));
        }
        if (n.op == OpKind::GlobalAveragePool && isFloat4d(out) && n.inputs.size() == 1) {
            const Layout l = layoutOf(n.inputs[0]);
            auto kernel = makeGlobalAveragePoolKernel(m_g.value(n.inputs[0]).shape, l);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            name = std::string("global avgpool loop ") + layoutName(l);
            const int in = primary(n.inputs[0]);
            return give(kernel, {in}, defineOutput(outId, Layout::Plain));
        }
        if (n.op == OpKind::DepthToSpace && isFloat4d(out) && n.inputs.size() == 1) {
            // Reads its input where it lies (a channels-last conv feeds it in SR models) and
            // writes channels-last only for a conv after it: a pixel-shuffle output usually has
            // 1-3 channels and goes to an Add or the graph output, which want planes.
            const ValueId x = n.inputs[0];
            const Layout inL = layoutOf(x);
            Layout outL = Layout::Plain;
            if (inL == Layout::Nhwc && !m_g.isGraphOutput(outId)) {
                bool convs = !m_consumers[static_cast<size_t>(outId)].empty();
                for (int c : m_consumers[static_cast<size_t>(outId)])
                    convs = convs && m_g.nodes[static_cast<size_t>(c)].op == OpKind::Conv;
                if (convs) outL = Layout::Nhwc;
            }
            auto kernel = makeDepthToSpaceKernel(n, m_g.value(x).shape, inL, outL, name);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            const int in = primary(x);
            return give(kernel, {in}, defineOutput(outId, outL));
        }
        if (n.op == OpKind::Pad && isFloat4d(out) && n.inputs.size() == 1 &&
            isFloat4d(m_g.value(n.inputs[0]))) {
            // Follows its input's layout, as the element-wise steps do.
            const Layout l = layoutOf(n.inputs[0]);
            auto kernel = makePadKernel(n, m_g.value(n.inputs[0]).shape, out.shape, l, name);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            const int in = primary(n.inputs[0]);
            return give(kernel, {in}, defineOutput(outId, l));
        }
        if (n.op == OpKind::Resize && isFloat4d(out) && n.inputs.size() == 1) {
            const Layout l = layoutOf(n.inputs[0]);
            auto kernel = makeResizeKernel(n, m_g.value(n.inputs[0]).shape, out.shape, l);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            name = "resize " + n.attrs.getString("mode", "nearest") + " loop " + layoutName(l);
            const int in = primary(n.inputs[0]);
            return give(kernel, {in}, defineOutput(outId, l));
        }
        if (n.op == OpKind::Concat && !n.inputs.empty()) {
            // Channels-last when most computed inputs already are, so few need a reorder.
            // Constants do not vote: slotIn() converts them once at plan time. BlazeFace pads
            // channels as Concat(activation, zeros); counting the zeros made 11 such concats
            // plain, each with a reorder on both sides: 22 reorders, half of the 1.75 ms run.
            int nhwc = 0;
            int computed = 0;
            std::vector<Shape> shapes;
            for (ValueId id : n.inputs) {
                if (id == kNoValue) return (why = "absent input", false);
                shapes.push_back(m_g.value(id).shape);
                if (m_g.value(id).isConstant()) continue;
                ++computed;
                nhwc += layoutOf(id) == Layout::Nhwc ? 1 : 0;
            }
            const Layout l =
                out.dtype == DataType::Float32 && out.shape.size() == 4 && 2 * nhwc > computed
                    ? Layout::Nhwc
                    : Layout::Plain;
            auto kernel = makeConcatKernel(shapes, out.shape, n.attrs.getInt("axis", 0), l,
                                           dataTypeSize(out.dtype));
            if (!kernel.ok()) return (why = kernel.error().message, false);
            name = std::string("concat copy ") + layoutName(l);
            std::vector<int> in;
            for (ValueId id : n.inputs) in.push_back(slotIn(id, l, where));
            return give(kernel, std::move(in), defineOutput(outId, l));
        }
        if (n.op == OpKind::Transpose && n.inputs.size() == 1) return planTranspose(k, why);
        if (isReshapeLike(n.op) && n.inputs.size() >= 1) {
            const int in = slotIn(n.inputs[0], Layout::Plain, where);
            if (m_g.isGraphOutput(outId)) {
                auto kernel =
                    Result<KernelPtr>(makeCopyKernel(m_plan.slots[static_cast<size_t>(in)].bytes));
                name = "copy (graph output)";
                return give(kernel, {in}, defineOutput(outId, Layout::Plain));
            }
            m_primary[static_cast<size_t>(outId)] = addAlias(in, out.shape, Layout::Plain);
            report(k, "alias", "no data movement: same bytes, new shape");
            return true;
        }
        if (n.op == OpKind::Softmax && out.dtype == DataType::Float32 && n.inputs.size() == 1) {
            auto kernel = makeSoftmaxKernel(n, out.shape, m_engine);
            if (!kernel.ok()) return (why = kernel.error().message, false);
            name = "dnnl softmax nchw";
            const int in = slotIn(n.inputs[0], Layout::Plain, where);
            return give(kernel, {in}, defineOutput(outId, Layout::Plain));
        }
        return false;
    }

    Result<bool> planTranspose(int k, std::string& why) {
        const Node& n = m_g.nodes[static_cast<size_t>(k)];
        const std::string where = m_g.describeNode(static_cast<size_t>(k));
        const ValueId x = n.inputs[0];
        const ValueId outId = n.outputs[0];
        const Value& xv = m_g.value(x);
        const std::vector<int64_t> perm = n.attrs.getInts("perm");
        const bool toChannelsFirst = perm == std::vector<int64_t>{0, 3, 1, 2};
        const bool toChannelsLast = perm == std::vector<int64_t>{0, 2, 3, 1};
        // NHWC data read as NCHW (or back) is a layout change, and our layouts make it free.
        if (xv.dtype == DataType::Float32 && xv.shape.size() == 4 && !m_g.isGraphOutput(outId) &&
            ((toChannelsFirst && layoutOf(x) == Layout::Plain) ||
             (toChannelsLast && layoutOf(x) == Layout::Nhwc))) {
            const Layout l = toChannelsFirst ? Layout::Nhwc : Layout::Plain;
            m_primary[static_cast<size_t>(outId)] = addAlias(primary(x), m_g.value(outId).shape, l);
            report(k, "alias",
                   std::string("no data movement: the transpose is a change to ") + layoutName(l));
            return true;
        }
        auto kernel = makeTransposeKernel(xv.shape, perm, dataTypeSize(xv.dtype));
        if (!kernel.ok()) return (why = kernel.error().message, false);
        const int in = slotIn(x, Layout::Plain, where);
        addStep(std::move(*kernel), {in}, {defineOutput(outId, Layout::Plain)}, where);
        report(k, "transpose loop", "fast kernel");
        return true;
    }

    // ---- 4. outputs ----

    Status finishOutputs() {
        for (size_t i = 0; i < m_g.outputs.size(); ++i) {
            if (m_outputFilled[i]) continue;
            const ValueId v = m_g.outputs[i];
            const int src = primary(v);
            const Slot s = m_plan.slots[static_cast<size_t>(src)];  // a copy: addSlot() reallocates
            const int out =
                addSlot(Slot::Kind::Output, static_cast<int>(i), s.dtype, s.shape, Layout::Plain);
            m_plan.outputSlots[i] = out;
            KernelPtr kernel = s.layout == Layout::Plain
                                   ? makeCopyKernel(s.bytes)
                                   : makeReorderKernel(s.shape, s.layout, Layout::Plain);
            addStep(std::move(kernel), {src}, {out}, "graph output '" + m_g.value(v).name + "'",
                    s.layout != Layout::Plain);
        }
        return {};
    }

    // ---- 5. liveness and memory ----

    void assignMemory() {
        std::vector<Slot>& slots = m_plan.slots;
        const int steps = static_cast<int>(m_plan.steps.size());
        for (int s = 0; s < steps; ++s) {
            for (int id : m_plan.steps[static_cast<size_t>(s)].in) {
                if (id < 0) continue;
                slots[static_cast<size_t>(id)].lastUse = s;
                const int r = rootOf(id);
                slots[static_cast<size_t>(r)].lastUse =
                    std::max(slots[static_cast<size_t>(r)].lastUse, s);
            }
        }
        std::vector<int> busyUntil;  // per block: last step that reads anything in it
        for (int s = 0; s < steps; ++s) {
            Step& step = m_plan.steps[static_cast<size_t>(s)];
            for (int id : step.out) {
                Slot& slot = slots[static_cast<size_t>(id)];
                if (slot.kind != Slot::Kind::Arena) continue;
                m_plan.memory.naiveBytes += slot.bytes;
                const int until = std::max(slot.lastUse, s);
                const int block = inPlaceBlock(step, s, slot, busyUntil);
                if (block >= 0) {
                    slot.index = block;
                    busyUntil[static_cast<size_t>(block)] = until;
                    ++m_plan.memory.inPlaceSteps;
                    continue;
                }
                // Best fit among free blocks; else grow the largest free one; else a new one.
                int best = -1;
                for (size_t b = 0; b < busyUntil.size(); ++b) {
                    if (busyUntil[b] >= s) continue;
                    const size_t have = m_plan.blockBytes[b];
                    if (best < 0) {
                        best = static_cast<int>(b);
                        continue;
                    }
                    const size_t cur = m_plan.blockBytes[static_cast<size_t>(best)];
                    const bool fits = have >= slot.bytes;
                    const bool curFits = cur >= slot.bytes;
                    if ((fits && (!curFits || have < cur)) || (!fits && !curFits && have > cur)) {
                        best = static_cast<int>(b);
                    }
                }
                if (best < 0) {
                    best = static_cast<int>(busyUntil.size());
                    busyUntil.push_back(-1);
                    m_plan.blockBytes.push_back(0);
                }
                slot.index = best;
                busyUntil[static_cast<size_t>(best)] = until;
                auto& size = m_plan.blockBytes[static_cast<size_t>(best)];
                size = std::max(size, slot.bytes);
            }
        }
        for (size_t b : m_plan.blockBytes) m_plan.memory.arenaBytes += b;
        m_plan.memory.buffers = static_cast<int>(m_plan.blockBytes.size());
    }

    // The block of the input this step may overwrite, or -1: the kernel allows it, the input
    // lives in the arena with the same size, nothing reads its block after this step, and no
    // other input of the step shares that block.
    int inPlaceBlock(const Step& step, int s, const Slot& out, const std::vector<int>& busyUntil) {
        const int which = step.kernel->inplaceInput();
        if (which < 0 || which >= static_cast<int>(step.in.size()) || step.out.size() != 1)
            return -1;
        const int root = rootOf(step.in[static_cast<size_t>(which)]);
        const Slot& r = m_plan.slots[static_cast<size_t>(root)];
        if (r.kind != Slot::Kind::Arena || r.bytes != out.bytes || r.index < 0) return -1;
        if (busyUntil[static_cast<size_t>(r.index)] != s) return -1;
        for (size_t i = 0; i < step.in.size(); ++i) {
            if (static_cast<int>(i) == which || step.in[i] < 0) continue;
            const Slot& other = m_plan.slots[static_cast<size_t>(rootOf(step.in[i]))];
            if (other.kind == Slot::Kind::Arena && other.index == r.index) return -1;
        }
        return r.index;
    }

    const Graph& m_g;
    const CpuOptions& m_opt;
    std::shared_ptr<const CompiledModule> m_generated;
    const DenseEngine& m_engine;
    int m_threads;  // how many pieces kernels are cut into
    Plan m_plan;
    std::vector<int> m_primary;
    std::vector<std::array<int, 2>> m_converted;
    std::vector<std::vector<int>> m_consumers;
    std::vector<bool> m_outputFilled;
    std::vector<bool> m_absorbed;
    std::vector<int> m_fusedInto;
    std::vector<Anchor> m_anchors;
    std::map<int, std::string> m_anchorWhy;
};

}  // namespace

Result<Plan> buildPlan(const Graph& graph, const CpuOptions& options, const DenseEngine& engine,
                       int threads) {
    Planner planner(graph, options, engine, threads);
    return planner.build();
}

}  // namespace prunelab::engine::cpu

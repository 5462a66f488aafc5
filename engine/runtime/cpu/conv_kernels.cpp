// oneDNN-backed conv, transposed conv and matmul kernels. Primitives are created and weights
// reordered into the primitive's preferred (blocked) format once, at plan time; run() only
// points the memory objects at this run's buffers and executes.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

using dnnl::memory;
using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;

Error dnnlError(const dnnl::error& e, const std::string& what) {
    return makeError(ErrorCode::Internal, what + ": oneDNN error " +
                                              std::to_string(static_cast<int>(e.status)) + " (" +
                                              e.what() + ")");
}

namespace {

Tag activationTag(Layout layout) {
    return layout == Layout::Nhwc ? Tag::nhwc : Tag::nchw;
}

dnnl::primitive_attr makeAttr(const std::vector<PostOp>& postOps) {
    dnnl::post_ops ops;
    for (const PostOp& op : postOps) {
        if (op.kind == PostOp::Kind::Sum) {
            ops.append_sum(1.0f);
        } else {
            ops.append_eltwise(1.0f, op.alg, op.alpha, op.beta);
        }
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    return attr;
}

std::string postOpSuffix(const std::vector<PostOp>& postOps) {
    std::string s;
    for (const PostOp& op : postOps) {
        if (op.kind == PostOp::Kind::Sum) {
            s += "+residual";
            continue;
        }
        switch (op.alg) {
            case dnnl::algorithm::eltwise_relu:
                s += op.alpha == 0.0f ? "+relu" : "+leakyrelu";
                break;
            case dnnl::algorithm::eltwise_clip:
                s += "+clip";
                break;
            case dnnl::algorithm::eltwise_logistic:
                s += "+sigmoid";
                break;
            case dnnl::algorithm::eltwise_hardswish:
                s += "+hardswish";
                break;
            case dnnl::algorithm::eltwise_tanh:
                s += "+tanh";
                break;
            case dnnl::algorithm::eltwise_linear:
                s += "+linear";
                break;
            default:
                s += "+eltwise";
                break;
        }
    }
    return s;
}

// Reorders plain user weights into the layout the primitive asked for, once.
memory reorderWeights(const memory::desc& userDesc, const float* data, const memory::desc& wanted,
                      const dnnl::engine& engine) {
    memory user(userDesc, engine, const_cast<float*>(data));
    memory packed(wanted, engine);
    dnnl::stream s(engine);
    dnnl::reorder(user, packed).execute(s, user, packed);
    s.wait();
    return packed;
}

// Executes one primitive with src (and optional residual) / dst pointed at run buffers.
class DnnlKernel : public Kernel {
  public:
    DnnlKernel(dnnl::primitive prim, memory src, memory dst, std::unordered_map<int, memory> args,
               bool hasResidual, size_t dstBytes)
        : m_prim(std::move(prim)),
          m_src(std::move(src)),
          m_dst(std::move(dst)),
          m_args(std::move(args)),
          m_hasResidual(hasResidual),
          m_dstBytes(dstBytes) {
        m_args[DNNL_ARG_SRC] = m_src;
        m_args[DNNL_ARG_DST] = m_dst;
    }

    int inplaceInput() const override { return m_hasResidual ? 1 : -1; }

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        // The Sum post-op accumulates into dst, so dst must start as the residual. The planner
        // usually makes them one buffer; otherwise copy (residual and dst share a layout).
        if (m_hasResidual && in[1] != out[0]) std::memcpy(out[0], in[1], m_dstBytes);
        try {
            m_src.set_data_handle(in[0]);
            m_dst.set_data_handle(out[0]);
            m_prim.execute(*ctx.stream, m_args);
        } catch (const dnnl::error& e) {
            return dnnlError(e, "running a oneDNN primitive");
        }
        return {};
    }

  private:
    dnnl::primitive m_prim;
    memory m_src;
    memory m_dst;
    std::unordered_map<int, memory> m_args;
    bool m_hasResidual;
    size_t m_dstBytes;
};

std::string convName(const ConvSpec& spec, const char* impl) {
    const ConvParams& p = spec.params;
    std::string name = spec.transposed ? "dnnl deconv " : "dnnl conv ";
    name += std::to_string(p.kernelH) + "x" + std::to_string(p.kernelW);
    if (!spec.transposed && p.group == p.inChannels && p.group > 1 && p.outChannels == p.group) {
        name += " dw";
    } else if (p.group > 1) {
        name += " g" + std::to_string(p.group);
    }
    if (p.strideH != 1 || p.strideW != 1) name += " s" + std::to_string(p.strideH);
    if (p.dilationH != 1 || p.dilationW != 1) name += " d" + std::to_string(p.dilationH);
    name += " +bias" + postOpSuffix(spec.postOps);
    name += std::string(" ") + layoutName(spec.srcLayout) + " (" + impl + ")";
    return name;
}

}  // namespace

Result<KernelPtr> makeConvKernel(const ConvSpec& spec, const dnnl::engine& engine,
                                 std::string& name) {
    const ConvParams& p = spec.params;
    const int64_t g = p.group;
    const memory::dims src = {p.batch, p.inChannels, p.inH, p.inW};
    const memory::dims dst = {p.batch, p.outChannels, p.outH, p.outW};
    const memory::dims strides = {p.strideH, p.strideW};
    const memory::dims dilates = {p.dilationH - 1, p.dilationW - 1};
    const memory::dims padL = {p.padTop, p.padLeft};
    memory::dims padR = {p.padBottom, p.padRight};
    if (spec.transposed) {
        // oneDNN has no output_padding: it is extra rows at the end, i.e. less end padding.
        padR = {p.padBottom - p.outputPaddingH, p.padRight - p.outputPaddingW};
        if (padR[0] < 0 || padR[1] < 0) {
            return makeError(ErrorCode::Unsupported, "output_padding larger than the end padding");
        }
    }
    const int64_t ig = p.inChannelsPerGroup();
    const int64_t og = p.outChannelsPerGroup();
    const int64_t kh = p.kernelH;
    const int64_t kw = p.kernelW;
    memory::dims wDims;
    memory::desc userW;
    if (!spec.transposed) {
        // IR W[O][I/g][kh][kw] is oneDNN's oihw / goihw exactly.
        wDims = g == 1 ? memory::dims{p.outChannels, ig, kh, kw} : memory::dims{g, og, ig, kh, kw};
        userW = memory::desc(wDims, Dt::f32, g == 1 ? Tag::oihw : Tag::goihw);
    } else {
        // IR W[I][O/g][kh][kw]; oneDNN wants dims (g, O/g, I/g, kh, kw): same data, strided.
        wDims = g == 1 ? memory::dims{p.outChannels, ig, kh, kw} : memory::dims{g, og, ig, kh, kw};
        memory::dims wStrides = g == 1
                                    ? memory::dims{kh * kw, og * kh * kw, kw, 1}
                                    : memory::dims{ig * og * kh * kw, kh * kw, og * kh * kw, kw, 1};
        userW = memory::desc(wDims, Dt::f32, wStrides);
    }
    try {
        const memory::desc srcMd(src, Dt::f32, activationTag(spec.srcLayout));
        const memory::desc dstMd(dst, Dt::f32, activationTag(spec.dstLayout));
        const memory::desc wMd(wDims, Dt::f32, Tag::any);
        const memory::desc bMd({p.outChannels}, Dt::f32, Tag::x);
        const dnnl::primitive_attr attr = makeAttr(spec.postOps);
        dnnl::primitive prim;
        memory::desc wantedW;
        const char* impl = "";
        if (!spec.transposed) {
            dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::convolution_direct, srcMd, wMd, bMd,
                                              dstMd, strides, dilates, padL, padR);
            dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
            wantedW = pd.weights_desc();
            impl = pd.impl_info_str();
            prim = dnnl::convolution_forward(pd);
        } else {
            dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                                dnnl::algorithm::deconvolution_direct, srcMd, wMd,
                                                bMd, dstMd, strides, dilates, padL, padR);
            dnnl::deconvolution_forward::primitive_desc pd(d, attr, engine);
            wantedW = pd.weights_desc();
            impl = pd.impl_info_str();
            prim = dnnl::deconvolution_forward(pd);
        }
        name = convName(spec, impl);
        std::unordered_map<int, memory> args;
        args[DNNL_ARG_WEIGHTS] = reorderWeights(userW, spec.weights.data(), wantedW, engine);
        memory bias(bMd, engine);
        std::memcpy(bias.get_data_handle(), spec.bias.data(), spec.bias.size() * sizeof(float));
        args[DNNL_ARG_BIAS] = bias;
        const bool residual =
            std::any_of(spec.postOps.begin(), spec.postOps.end(),
                        [](const PostOp& o) { return o.kind == PostOp::Kind::Sum; });
        return KernelPtr(std::make_unique<DnnlKernel>(prim, memory(srcMd, engine, DNNL_MEMORY_NONE),
                                                      memory(dstMd, engine, DNNL_MEMORY_NONE),
                                                      std::move(args), residual, dstMd.get_size()));
    } catch (const dnnl::error& e) {
        // Most often an unsupported combination (post-op chain, padding): the planner retries
        // with less fused or falls back to the reference, so Unsupported rather than Internal.
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
}

Result<KernelPtr> makeMatMulKernel(const MatMulSpec& spec, const dnnl::engine& engine,
                                   std::string& name) {
    try {
        const memory::desc srcMd =
            spec.transA ? memory::desc({spec.m, spec.k}, Dt::f32, memory::dims{1, spec.m})
                        : memory::desc({spec.m, spec.k}, Dt::f32, Tag::ab);
        const memory::desc wMd({spec.k, spec.n}, Dt::f32, Tag::any);
        const memory::desc dstMd({spec.m, spec.n}, Dt::f32, Tag::ab);
        memory::desc bMd;
        if (!spec.bias.empty()) {
            const int64_t rows = static_cast<int64_t>(spec.bias.size()) == spec.n ? 1 : spec.m;
            bMd = memory::desc({rows, spec.n}, Dt::f32, Tag::ab);
        }
        dnnl::matmul::desc d(srcMd, wMd, bMd, dstMd);
        dnnl::matmul::primitive_desc pd(d, makeAttr(spec.postOps), engine);
        name = std::string("dnnl matmul ") + std::to_string(spec.m) + "x" + std::to_string(spec.k) +
               "x" + std::to_string(spec.n) + (spec.bias.empty() ? "" : " +bias") +
               postOpSuffix(spec.postOps) + " (" + pd.impl_info_str() + ")";
        std::unordered_map<int, memory> args;
        args[DNNL_ARG_WEIGHTS] = reorderWeights(memory::desc({spec.k, spec.n}, Dt::f32, Tag::ab),
                                                spec.weights.data(), pd.weights_desc(), engine);
        if (!spec.bias.empty()) {
            memory bias(bMd, engine);
            std::memcpy(bias.get_data_handle(), spec.bias.data(), spec.bias.size() * sizeof(float));
            args[DNNL_ARG_BIAS] = bias;
        }
        return KernelPtr(std::make_unique<DnnlKernel>(
            dnnl::matmul(pd), memory(srcMd, engine, DNNL_MEMORY_NONE),
            memory(dstMd, engine, DNNL_MEMORY_NONE), std::move(args), false, dstMd.get_size()));
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
}

}  // namespace prunelab::engine::cpu

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

// ConvTranspose whose kernel equals its stride (no padding, dilation or groups): every input
// pixel writes its own kh x kw output patch, so it is a GEMM. One matmul per kernel row i:
//   dst[n*H + y][x][(j, o)] = src[n*H + y][x][c] * W_i[c][(j, o)] + bias[o]
// with dst strided straight into the channels-last output at row y*s + i. oneDNN 2.6's own
// channels-last deconvolution is ~20x slower for PP-OCR's 2x2 upsampling heads.
class PatchDeconvKernel : public Kernel {
  public:
    PatchDeconvKernel(dnnl::matmul prim, memory src, memory dst, std::vector<memory> weights,
                      memory bias, int64_t rowBytes)
        : m_prim(std::move(prim)),
          m_src(std::move(src)),
          m_dst(std::move(dst)),
          m_weights(std::move(weights)),
          m_bias(std::move(bias)),
          m_rowBytes(rowBytes) {}

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        try {
            m_src.set_data_handle(in[0]);
            for (size_t i = 0; i < m_weights.size(); ++i) {
                m_dst.set_data_handle(out[0] + static_cast<int64_t>(i) * m_rowBytes);
                m_prim.execute(*ctx.stream, {{DNNL_ARG_SRC, m_src},
                                             {DNNL_ARG_WEIGHTS, m_weights[i]},
                                             {DNNL_ARG_BIAS, m_bias},
                                             {DNNL_ARG_DST, m_dst}});
            }
        } catch (const dnnl::error& e) {
            return dnnlError(e, "running a oneDNN matmul");
        }
        return {};
    }

  private:
    dnnl::matmul m_prim;
    memory m_src;
    memory m_dst;
    std::vector<memory> m_weights;
    memory m_bias;
    int64_t m_rowBytes;
};

bool isPatchDeconv(const ConvSpec& spec) {
    const ConvParams& p = spec.params;
    return spec.transposed && p.group == 1 && p.kernelH == p.strideH && p.kernelW == p.strideW &&
           p.dilationH == 1 && p.dilationW == 1 && p.padTop == 0 && p.padLeft == 0 &&
           p.padBottom == 0 && p.padRight == 0 && p.outputPaddingH == 0 && p.outputPaddingW == 0 &&
           (spec.srcLayout == Layout::Nhwc || p.inChannels == 1) &&
           (spec.dstLayout == Layout::Nhwc || p.outChannels == 1) &&
           std::none_of(spec.postOps.begin(), spec.postOps.end(),
                        [](const PostOp& o) { return o.kind == PostOp::Kind::Sum; });
}

Result<KernelPtr> makePatchDeconvKernel(const ConvSpec& spec, const dnnl::engine& engine,
                                        std::string& name) {
    const ConvParams& p = spec.params;
    const int64_t c = p.inChannels;
    const int64_t o = p.outChannels;
    const int64_t kh = p.kernelH;
    const int64_t kw = p.kernelW;
    const int64_t rows = p.batch * p.inH;
    const int64_t cols = kw * o;
    const memory::desc srcMd({rows, p.inW, c}, Dt::f32, Tag::abc);
    const memory::desc dstMd({rows, p.inW, cols}, Dt::f32,
                             memory::dims{kh * p.outW * o, kw * o, 1});
    const memory::desc wMd({1, c, cols}, Dt::f32, Tag::abc);
    const memory::desc bMd({1, 1, cols}, Dt::f32, Tag::abc);
    dnnl::matmul::desc d(srcMd, wMd, bMd, dstMd);
    dnnl::matmul::primitive_desc pd(d, makeAttr(spec.postOps), engine);
    std::vector<memory> weights;
    for (int64_t i = 0; i < kh; ++i) {
        memory w(wMd, engine);
        auto* dst = static_cast<float*>(w.get_data_handle());
        // IR W[c][o][i][j] -> W_i[c][j * O + o]
        for (int64_t ci = 0; ci < c; ++ci) {
            for (int64_t j = 0; j < kw; ++j) {
                for (int64_t oi = 0; oi < o; ++oi) {
                    dst[ci * cols + j * o + oi] =
                        spec.weights[static_cast<size_t>(((ci * o + oi) * kh + i) * kw + j)];
                }
            }
        }
        weights.push_back(w);
    }
    memory bias(bMd, engine);
    auto* b = static_cast<float*>(bias.get_data_handle());
    for (int64_t j = 0; j < kw; ++j) {
        for (int64_t oi = 0; oi < o; ++oi) b[j * o + oi] = spec.bias[static_cast<size_t>(oi)];
    }
    name = "dnnl deconv " + std::to_string(kh) + "x" + std::to_string(kw) + " s" +
           std::to_string(p.strideH) + " as matmul +bias" + postOpSuffix(spec.postOps) + " " +
           layoutName(spec.dstLayout) + " (" + pd.impl_info_str() + ")";
    return KernelPtr(std::make_unique<PatchDeconvKernel>(
        dnnl::matmul(pd), memory(srcMd, engine, DNNL_MEMORY_NONE),
        memory(dstMd, engine, DNNL_MEMORY_NONE), std::move(weights), bias,
        p.outW * o * static_cast<int64_t>(sizeof(float))));
}

}  // namespace

Result<KernelPtr> makeConvKernel(const ConvSpec& spec, const dnnl::engine& engine,
                                 std::string& name) {
    const ConvParams& p = spec.params;
    if (isPatchDeconv(spec)) {
        try {
            auto kernel = makePatchDeconvKernel(spec, engine, name);
            if (kernel.ok()) return kernel;
        } catch (const dnnl::error&) {
            // Not expressible as a matmul here: the general deconvolution below handles it.
        }
    }
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

// oneDNN-backed conv, transposed conv and matmul kernels, and the piece kernel that runs them
// on the thread pool (compiled out without oneDNN: blas_kernels.cpp instead). Primitives are
// created single-threaded at plan time, one per distinct piece shape (a conv split into bands of
// output rows: the first and last bands carry the padding), and weights are reordered once into
// the format the primitive prefers.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

// ---- Shared by the oneDNN and the OpenBLAS kernels ----

int64_t pieceCount(int64_t rows, int threads, double work) {
    // ~3 pieces per thread rebalance a stalled thread; below ~0.5 M multiply-adds a second
    // piece costs more than it saves. (Was 5e5 per piece, when idle workers slept between
    // steps; with them kept hot during a run (ThreadPool::Hot) 2.5e5 splits BlazeFace front's
    // 64x64 layers more: 2 threads 0.68 -> 0.63 ms; the larger models do not move.)
    constexpr double kMinWorkPerPiece = 2.5e5;
    if (threads <= 1 || rows <= 1) return 1;
    const auto byWork = static_cast<int64_t>(work / kMinWorkPerPiece);
    return std::max<int64_t>(1, std::min<int64_t>({rows, 3 * int64_t{threads}, byWork}));
}

std::string postOpSuffix(const std::vector<PostOp>& postOps) {
    std::string s;
    for (const PostOp& op : postOps) {
        if (op.kind == PostOp::Kind::Sum) {
            s += "+residual";
            continue;
        }
        if (op.kind == PostOp::Kind::Prelu) {
            s += "+prelu";
            continue;
        }
        switch (op.alg) {
            case EltwiseAlg::eltwise_relu:
                s += op.alpha == 0.0f ? "+relu" : "+leakyrelu";
                break;
            case EltwiseAlg::eltwise_clip:
                s += "+clip";
                break;
            case EltwiseAlg::eltwise_logistic:
                s += "+sigmoid";
                break;
            case EltwiseAlg::eltwise_hardswish:
                s += "+hardswish";
                break;
            case EltwiseAlg::eltwise_tanh:
                s += "+tanh";
                break;
            case EltwiseAlg::eltwise_linear:
                s += "+linear";
                break;
            default:
                s += "+eltwise";
                break;
        }
    }
    return s;
}

// Sets subnormal values to (signed) zero and returns how many. A subnormal weight makes every
// FMA that reads it take a microcode assist: with 0.25% of a 64->64 3x3 conv's weights
// subnormal, oneDNN's brgconv at 320x240 went 38 -> 350 ms (measured; trained weights can hold
// such values). The change to the result is below 1.2e-38 per product.
int64_t flushSubnormals(std::vector<float>& values) {
    int64_t count = 0;
    for (float& v : values) {
        if (std::fpclassify(v) == FP_SUBNORMAL) {
            v = std::copysign(0.0f, v);
            ++count;
        }
    }
    return count;
}

int64_t flushSubnormals(std::vector<PostOp>& postOps) {
    int64_t count = 0;
    for (PostOp& op : postOps) count += flushSubnormals(op.slopes);
    return count;
}

std::string flushedNote(int64_t count) {
    return count == 0 ? std::string()
                      : " [" + std::to_string(count) + " subnormal weights set to 0]";
}

#if PRUNELAB_CPU_ONEDNN

using dnnl::memory;
using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;

Error dnnlError(const dnnl::error& e, const std::string& what) {
    return makeError(ErrorCode::Internal, what + ": oneDNN error " +
                                              std::to_string(static_cast<int>(e.status)) + " (" +
                                              e.what() + ")");
}

DnnlPieceKernel::DnnlPieceKernel(dnnl::engine engine, std::vector<Prim> prims,
                                 std::vector<Piece> pieces, bool residual,
                                 std::vector<dnnl::memory> weights)
    : m_engine(std::move(engine)),
      m_prims(std::move(prims)),
      m_pieces(std::move(pieces)),
      m_residual(residual),
      m_weights(std::move(weights)) {
    for (const Prim& p : m_prims) m_scratchBytes = std::max(m_scratchBytes, p.scratch.get_size());
    size_t execs = 0;
    for (const Piece& piece : m_pieces) {
        m_firstExec.push_back(execs);
        execs += piece.execs.size();
    }
}

void DnnlPieceKernel::bind(size_t threads) {
    m_bound.assign(threads, {});
    for (std::vector<Bound>& bound : m_bound) {
        for (const Piece& piece : m_pieces) {
            for (const Exec& e : piece.execs) {
                const Prim& p = m_prims[static_cast<size_t>(e.prim)];
                Bound b;
                for (const auto& [id, mem] : p.args) b.args[id] = mem;
                // Placeholder handles until run() sets this call's pointers.
                b.src = memory(p.src, m_engine, DNNL_MEMORY_NONE);
                b.dst = memory(p.dst, m_engine, DNNL_MEMORY_NONE);
                b.args[DNNL_ARG_SRC] = b.src;
                b.args[DNNL_ARG_DST] = b.dst;
                if (e.weights >= 0)
                    b.args[DNNL_ARG_WEIGHTS] = m_weights[static_cast<size_t>(e.weights)];
                if (p.scratch.get_size() > 0) {
                    b.scratch = memory(p.scratch, m_engine, DNNL_MEMORY_NONE);
                    b.args[DNNL_ARG_SCRATCHPAD] = b.scratch;
                }
                bound.push_back(std::move(b));
            }
        }
    }
}

Status DnnlPieceKernel::run(std::span<std::byte* const> in, std::span<std::byte* const> out,
                            RunContext& ctx) {
    std::mutex errorMutex;
    std::string error;
    try {
        if (m_bound.size() != ctx.streams->size()) bind(ctx.streams->size());
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Internal, std::string("oneDNN failed: ") + e.what());
    }
    ctx.pool->runTasks(static_cast<int64_t>(m_pieces.size()), [&](int64_t t) {
        const Piece& piece = m_pieces[static_cast<size_t>(t)];
        // The Sum post-op accumulates into dst, so dst must start as the residual; the planner
        // usually made them one buffer, otherwise seed this piece's part.
        if (m_residual && in[1] != out[0] && piece.residualBytes > 0) {
            std::memcpy(out[0] + piece.residualOffset, in[1] + piece.residualOffset,
                        static_cast<size_t>(piece.residualBytes));
        }
        const auto thread = static_cast<size_t>(ThreadPool::threadIndex());
        const dnnl::stream& stream = (*ctx.streams)[thread];
        try {
            Bound* b = &m_bound[thread][m_firstExec[static_cast<size_t>(t)]];
            for (const Exec& e : piece.execs) {
                const Prim& p = m_prims[static_cast<size_t>(e.prim)];
                b->src.set_data_handle(in[0] + e.srcOffset, stream);
                b->dst.set_data_handle(out[0] + e.dstOffset, stream);
                if (b->scratch) b->scratch.set_data_handle(ctx.scratch[thread], stream);
                p.prim.execute(stream, b->args);
                ++b;
            }
            if (!m_slopes.empty()) {
                // Same thread, right after the primitive: the band is still in its cache.
                preluInPlace(reinterpret_cast<float*>(out[0]), piece.outOffset / 4,
                             (piece.outOffset + piece.outBytes) / 4, m_slopes, m_plane);
            }
        } catch (const dnnl::error& e) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (error.empty()) error = e.what();
        }
    });
    if (!error.empty()) return makeError(ErrorCode::Internal, "oneDNN failed: " + error);
    return {};
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
    // Pieces run concurrently: each thread passes its own scratchpad.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

bool hasPrelu(const std::vector<PostOp>& postOps) {
    return std::any_of(postOps.begin(), postOps.end(),
                       [](const PostOp& o) { return o.kind == PostOp::Kind::Prelu; });
}

// The oneDNN post-ops of `postOps` and the slopes of a trailing Prelu, which the kernel applies
// itself (see PostOp); a Prelu anywhere else cannot be done that way.
Result<std::vector<PostOp>> splitPrelu(const std::vector<PostOp>& postOps,
                                       std::vector<float>& slopes) {
    std::vector<PostOp> ops = postOps;
    if (!ops.empty() && ops.back().kind == PostOp::Kind::Prelu) {
        slopes = ops.back().slopes;
        ops.pop_back();
    }
    if (hasPrelu(ops)) {
        return makeError(ErrorCode::Unsupported, "a PRelu followed by other post-ops");
    }
    return ops;
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

std::string convName(const ConvSpec& spec, const char* impl, size_t pieces) {
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
    name += std::string(" ") + layoutName(spec.srcLayout);
    if (spec.dstLayout != spec.srcLayout) name += std::string("->") + layoutName(spec.dstLayout);
    if (pieces > 1) name += " x" + std::to_string(pieces) + " row bands";
    return name + " (" + impl + ")";
}

// ConvTranspose whose kernel equals its stride (no padding, dilation or groups): every input
// pixel writes its own kh x kw output patch, so it is a GEMM. One matmul per kernel row i:
//   dst[n*H + y][x][(j, o)] = src[n*H + y][x][c] * W_i[c][(j, o)] + bias[o]
// with dst strided straight into the channels-last output at row y*s + i. oneDNN 2.6's own
// channels-last deconvolution is ~20x slower for PP-OCR's 2x2 upsampling heads.
bool isPatchDeconv(const ConvSpec& spec) {
    const ConvParams& p = spec.params;
    return spec.transposed && p.group == 1 && p.kernelH == p.strideH && p.kernelW == p.strideW &&
           p.dilationH == 1 && p.dilationW == 1 && p.padTop == 0 && p.padLeft == 0 &&
           p.padBottom == 0 && p.padRight == 0 && p.outputPaddingH == 0 && p.outputPaddingW == 0 &&
           (spec.srcLayout == Layout::Nhwc || p.inChannels == 1) &&
           (spec.dstLayout == Layout::Nhwc || p.outChannels == 1) &&
           std::none_of(spec.postOps.begin(), spec.postOps.end(), [](const PostOp& o) {
               // Its matmul's columns are (j, o) pairs: a per-channel prelu would not line up.
               return o.kind == PostOp::Kind::Sum || o.kind == PostOp::Kind::Prelu;
           });
}

Result<KernelPtr> makePatchDeconvKernel(const ConvSpec& spec, const dnnl::engine& engine,
                                        int threads, std::string& name) {
    const ConvParams& p = spec.params;
    const int64_t c = p.inChannels;
    const int64_t o = p.outChannels;
    const int64_t kh = p.kernelH;
    const int64_t kw = p.kernelW;
    const int64_t rows = p.batch * p.inH;
    const int64_t cols = kw * o;
    const memory::desc wMd({1, c, cols}, Dt::f32, Tag::abc);
    const memory::desc bMd({1, 1, cols}, Dt::f32, Tag::abc);
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
    const int64_t pieces =
        pieceCount(rows, threads, static_cast<double>(rows * p.inW * c * kh * cols));
    std::vector<DnnlPieceKernel::Prim> prims;
    std::map<int64_t, int> primOfRows;
    std::vector<DnnlPieceKernel::Piece> out;
    const char* impl = "";
    const int64_t srcRowBytes = p.inW * c * 4;
    const int64_t dstRowBytes = kh * p.outW * o * 4;  // one input row = kh output rows
    for (int64_t k = 0; k < pieces; ++k) {
        const int64_t r0 = rows * k / pieces;
        const int64_t r1 = rows * (k + 1) / pieces;
        auto [it, fresh] = primOfRows.try_emplace(r1 - r0, static_cast<int>(prims.size()));
        if (fresh) {
            const memory::desc srcMd({r1 - r0, p.inW, c}, Dt::f32, Tag::abc);
            const memory::desc dstMd({r1 - r0, p.inW, cols}, Dt::f32,
                                     memory::dims{kh * p.outW * o, kw * o, 1});
            dnnl::matmul::desc d(srcMd, wMd, bMd, dstMd);
            dnnl::matmul::primitive_desc pd(d, makeAttr(spec.postOps), engine);
            impl = pd.impl_info_str();
            prims.push_back(
                {dnnl::matmul(pd), srcMd, dstMd, pd.scratchpad_desc(), {{DNNL_ARG_BIAS, bias}}});
        }
        DnnlPieceKernel::Piece piece;
        for (int64_t i = 0; i < kh; ++i) {
            piece.execs.push_back({it->second, r0 * srcRowBytes,
                                   r0 * dstRowBytes + i * p.outW * o * 4, static_cast<int>(i)});
        }
        out.push_back(std::move(piece));
    }
    name = "dnnl deconv " + std::to_string(kh) + "x" + std::to_string(kw) + " s" +
           std::to_string(p.strideH) + " as matmul +bias" + postOpSuffix(spec.postOps) + " " +
           layoutName(spec.dstLayout) +
           (pieces > 1 ? " x" + std::to_string(pieces) + " row bands" : "") + " (" + impl + ")";
    return KernelPtr(std::make_unique<DnnlPieceKernel>(engine, std::move(prims), std::move(out),
                                                       false, std::move(weights)));
}

// One band of output rows [oh0, oh1) of a conv: the input rows it reads and its own padding.
struct Band {
    int64_t oh0, oh1, ih0, ih1, padTop, padBottom;
};

std::vector<Band> rowBands(const ConvParams& p, int64_t pieces) {
    const int64_t eff = (p.kernelH - 1) * p.dilationH + 1;
    std::vector<Band> bands;
    for (int64_t k = 0; k < pieces; ++k) {
        Band b;
        b.oh0 = p.outH * k / pieces;
        b.oh1 = p.outH * (k + 1) / pieces;
        const int64_t start = b.oh0 * p.strideH - p.padTop;            // first input row read
        const int64_t end = (b.oh1 - 1) * p.strideH - p.padTop + eff;  // one past the last
        b.ih0 = std::max<int64_t>(0, start);
        b.ih1 = std::min(p.inH, end);
        b.padTop = b.ih0 - start;
        b.padBottom = end - b.ih1;
        if (b.ih1 <= b.ih0) return {};  // a band entirely in the padding: do not split
        bands.push_back(b);
    }
    return bands;
}

}  // namespace

Result<KernelPtr> makeConvKernel(const ConvSpec& given, const dnnl::engine& engine, int threads,
                                 std::string& name) {
    ConvSpec spec = given;
    const int64_t flushed =
        flushSubnormals(spec.weights) + flushSubnormals(spec.bias) + flushSubnormals(spec.postOps);
    const ConvParams& p = spec.params;
    if (isPatchDeconv(spec)) {
        try {
            auto kernel = makePatchDeconvKernel(spec, engine, threads, name);
            name += flushedNote(flushed);
            if (kernel.ok()) return kernel;
        } catch (const dnnl::error&) {
            // Not expressible as a matmul here: the general deconvolution below handles it.
        }
    }
    std::vector<float> slopes;
    PL_TRY_ASSIGN(const std::vector<PostOp> postOps, splitPrelu(spec.postOps, slopes));
    const int64_t g = p.group;
    const memory::dims strides = {p.strideH, p.strideW};
    const memory::dims dilates = {p.dilationH - 1, p.dilationW - 1};
    const int64_t ig = p.inChannelsPerGroup();
    const int64_t og = p.outChannelsPerGroup();
    const int64_t kh = p.kernelH;
    const int64_t kw = p.kernelW;
    const memory::dims wDims =
        g == 1 ? memory::dims{p.outChannels, ig, kh, kw} : memory::dims{g, og, ig, kh, kw};
    memory::desc userW;
    if (!spec.transposed) {
        // IR W[O][I/g][kh][kw] is oneDNN's oihw / goihw exactly.
        userW = memory::desc(wDims, Dt::f32, g == 1 ? Tag::oihw : Tag::goihw);
    } else {
        // IR W[I][O/g][kh][kw]; oneDNN wants dims (g, O/g, I/g, kh, kw): same data, strided.
        memory::dims wStrides = g == 1
                                    ? memory::dims{kh * kw, og * kh * kw, kw, 1}
                                    : memory::dims{ig * og * kh * kw, kh * kw, og * kh * kw, kw, 1};
        userW = memory::desc(wDims, Dt::f32, wStrides);
    }
    // Bands of output rows need rows contiguous in memory: channels-last (or C == 1) both
    // sides, and no transposed conv (its rows overlap).
    const bool rowsContiguous = (spec.srcLayout == Layout::Nhwc || p.inChannels == 1) &&
                                (spec.dstLayout == Layout::Nhwc || p.outChannels == 1);
    std::vector<Band> bands;
    if (!spec.transposed && rowsContiguous) {
        const double work =
            static_cast<double>(p.batch * p.outH * p.outW * p.outChannels * ig * kh * kw);
        bands = rowBands(p, pieceCount(p.outH, threads, work));
    }
    const bool banded = !bands.empty();
    if (!banded) {
        memory::dims padR = {p.padBottom, p.padRight};
        if (spec.transposed) {
            // oneDNN has no output_padding: it is extra rows at the end, i.e. less end padding.
            padR = {p.padBottom - p.outputPaddingH, p.padRight - p.outputPaddingW};
            if (padR[0] < 0 || padR[1] < 0) {
                return makeError(ErrorCode::Unsupported,
                                 "output_padding larger than the end padding");
            }
        }
        bands.push_back({0, p.outH, 0, p.inH, p.padTop, padR[0]});
    }
    const int64_t batchPieces = banded ? p.batch : 1;  // bands are per image
    const int64_t batch = banded ? 1 : p.batch;
    try {
        const memory::desc wMd(wDims, Dt::f32, Tag::any);
        const memory::desc bMd({p.outChannels}, Dt::f32, Tag::x);
        memory bias(bMd, engine);
        std::memcpy(bias.get_data_handle(), spec.bias.data(), spec.bias.size() * sizeof(float));
        const dnnl::primitive_attr attr = makeAttr(postOps);
        std::vector<DnnlPieceKernel::Prim> prims;
        std::vector<memory> weights;  // one per distinct weights format the prims asked for
        std::vector<memory::desc> weightDescs;
        std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, int> primOf;
        std::vector<int> primWeights;
        const char* impl = "";
        for (const Band& b : bands) {
            const auto key = std::make_tuple(b.ih1 - b.ih0, b.oh1 - b.oh0, b.padTop, b.padBottom);
            if (primOf.count(key)) continue;
            const memory::desc srcMd({batch, p.inChannels, b.ih1 - b.ih0, p.inW}, Dt::f32,
                                     activationTag(spec.srcLayout));
            const memory::desc dstMd({batch, p.outChannels, b.oh1 - b.oh0, p.outW}, Dt::f32,
                                     activationTag(spec.dstLayout));
            const memory::dims padL = {b.padTop, p.padLeft};
            const memory::dims padR = {
                b.padBottom, spec.transposed ? p.padRight - p.outputPaddingW : p.padRight};
            dnnl::primitive prim;
            memory::desc wanted, scratch;
            if (!spec.transposed) {
                dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                                  dnnl::algorithm::convolution_direct, srcMd, wMd,
                                                  bMd, dstMd, strides, dilates, padL, padR);
                dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
                wanted = pd.weights_desc();
                scratch = pd.scratchpad_desc();
                impl = pd.impl_info_str();
                prim = dnnl::convolution_forward(pd);
            } else {
                dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::deconvolution_direct, srcMd,
                                                    wMd, bMd, dstMd, strides, dilates, padL, padR);
                dnnl::deconvolution_forward::primitive_desc pd(d, attr, engine);
                wanted = pd.weights_desc();
                scratch = pd.scratchpad_desc();
                impl = pd.impl_info_str();
                prim = dnnl::deconvolution_forward(pd);
            }
            int w = -1;
            for (size_t i = 0; i < weightDescs.size(); ++i) {
                if (weightDescs[i] == wanted) w = static_cast<int>(i);
            }
            if (w < 0) {
                w = static_cast<int>(weights.size());
                weights.push_back(reorderWeights(userW, spec.weights.data(), wanted, engine));
                weightDescs.push_back(wanted);
            }
            primOf[key] = static_cast<int>(prims.size());
            primWeights.push_back(w);
            prims.push_back({prim, srcMd, dstMd, scratch, {{DNNL_ARG_BIAS, bias}}});
        }
        const bool residual = std::any_of(postOps.begin(), postOps.end(), [](const PostOp& o) {
            return o.kind == PostOp::Kind::Sum;
        });
        // Byte strides of one image and one row (rows only matter for bands: channels-last).
        const int64_t srcRow = p.inW * p.inChannels * 4;
        const int64_t dstRow = p.outW * p.outChannels * 4;
        const int64_t srcImage = p.inH * srcRow;
        const int64_t dstImage = p.outH * dstRow;
        std::vector<DnnlPieceKernel::Piece> pieces;
        for (int64_t n = 0; n < batchPieces; ++n) {
            for (const Band& b : bands) {
                const int prim =
                    primOf[std::make_tuple(b.ih1 - b.ih0, b.oh1 - b.oh0, b.padTop, b.padBottom)];
                DnnlPieceKernel::Piece piece;
                const int64_t dstOff = n * dstImage + b.oh0 * dstRow;
                piece.execs.push_back({prim, n * srcImage + b.ih0 * srcRow, dstOff,
                                       primWeights[static_cast<size_t>(prim)]});
                piece.residualOffset = piece.outOffset = dstOff;
                piece.residualBytes = piece.outBytes =
                    banded ? (b.oh1 - b.oh0) * dstRow : p.batch * dstImage;
                pieces.push_back(std::move(piece));
            }
        }
        name = convName(spec, impl, pieces.size()) + flushedNote(flushed);
        auto kernel = std::make_unique<DnnlPieceKernel>(engine, std::move(prims), std::move(pieces),
                                                        residual, std::move(weights));
        if (!slopes.empty()) {
            // Channels-last (or one channel): channels innermost; plain: one plane each.
            const bool inner = spec.dstLayout == Layout::Nhwc || p.outChannels == 1;
            kernel->setPrelu(std::move(slopes), inner ? 0 : p.outH * p.outW);
        }
        return KernelPtr(std::move(kernel));
    } catch (const dnnl::error& e) {
        // Most often an unsupported combination (post-op chain, padding): the planner retries
        // with less fused or falls back to the reference, so Unsupported rather than Internal.
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
}

Result<KernelPtr> makeMatMulKernel(const MatMulSpec& given, const dnnl::engine& engine, int threads,
                                   std::string& name) {
    MatMulSpec spec = given;
    const int64_t flushed =
        flushSubnormals(spec.weights) + flushSubnormals(spec.bias) + flushSubnormals(spec.postOps);
    try {
        const memory::desc wUser({spec.k, spec.n}, Dt::f32, Tag::ab);
        const memory::desc wMd({spec.k, spec.n}, Dt::f32, Tag::any);
        const bool rowBias = static_cast<int64_t>(spec.bias.size()) == spec.n;
        // transA reads A column-wise: rows of the result are not contiguous rows of A.
        const int64_t pieces = spec.transA || (!spec.bias.empty() && !rowBias)
                                   ? 1
                                   : pieceCount(spec.m, threads, double(spec.m * spec.k * spec.n));
        std::vector<DnnlPieceKernel::Prim> prims;
        std::map<int64_t, int> primOf;
        std::vector<DnnlPieceKernel::Piece> out;
        memory weights;
        memory bias;
        std::vector<float> slopes;
        PL_TRY_ASSIGN(const std::vector<PostOp> postOps, splitPrelu(spec.postOps, slopes));
        const char* impl = "";
        for (int64_t k = 0; k < pieces; ++k) {
            const int64_t m0 = spec.m * k / pieces;
            const int64_t m1 = spec.m * (k + 1) / pieces;
            auto [it, fresh] = primOf.try_emplace(m1 - m0, static_cast<int>(prims.size()));
            if (fresh) {
                const int64_t m = m1 - m0;
                const memory::desc srcMd =
                    spec.transA ? memory::desc({m, spec.k}, Dt::f32, memory::dims{1, m})
                                : memory::desc({m, spec.k}, Dt::f32, Tag::ab);
                const memory::desc dstMd({m, spec.n}, Dt::f32, Tag::ab);
                memory::desc bMd;
                if (!spec.bias.empty())
                    bMd = memory::desc({rowBias ? 1 : m, spec.n}, Dt::f32, Tag::ab);
                dnnl::matmul::desc d(srcMd, wMd, bMd, dstMd);
                dnnl::matmul::primitive_desc pd(d, makeAttr(postOps), engine);
                impl = pd.impl_info_str();
                if (!weights)
                    weights = reorderWeights(wUser, spec.weights.data(), pd.weights_desc(), engine);
                // Reserved up front: growing it from one element trips GCC 12's
                // -Warray-bounds (a false positive) once this function is inlined further.
                std::vector<std::pair<int, memory>> args;
                args.reserve(2);
                args.emplace_back(DNNL_ARG_WEIGHTS, weights);
                if (!spec.bias.empty()) {
                    if (!bias) {
                        bias = memory(bMd, engine);
                        std::memcpy(bias.get_data_handle(), spec.bias.data(),
                                    spec.bias.size() * sizeof(float));
                    }
                    args.emplace_back(DNNL_ARG_BIAS, bias);
                }
                prims.push_back(
                    {dnnl::matmul(pd), srcMd, dstMd, pd.scratchpad_desc(), std::move(args)});
            }
            DnnlPieceKernel::Piece piece;
            piece.execs.push_back({it->second, m0 * spec.k * 4, m0 * spec.n * 4, -1});
            piece.outOffset = m0 * spec.n * 4;
            piece.outBytes = (m1 - m0) * spec.n * 4;
            out.push_back(std::move(piece));
        }
        name = std::string("dnnl matmul ") + std::to_string(spec.m) + "x" + std::to_string(spec.k) +
               "x" + std::to_string(spec.n) + (spec.bias.empty() ? "" : " +bias") +
               postOpSuffix(spec.postOps) + " (" + impl + ")" + flushedNote(flushed);
        auto kernel =
            std::make_unique<DnnlPieceKernel>(engine, std::move(prims), std::move(out), false);
        if (!slopes.empty()) kernel->setPrelu(std::move(slopes), 0);  // columns are channels
        return KernelPtr(std::move(kernel));
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
}

#endif  // PRUNELAB_CPU_ONEDNN

}  // namespace prunelab::engine::cpu

// The dense conv and matmul of a build without oneDNN (the aarch64 phone agent): im2col +
// OpenBLAS's sgemm, a well-kept library with NEON kernels, so the phone's dense lane is as honest
// as the desktop's oneDNN one (never our reference loops). The pool's threads each run whole pieces
// (bands of output pixels, rows of a matmul) with one-threaded sgemm calls, as with oneDNN.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

void setBlasSingleThreaded() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::string denseLibraryName() {
    // "OpenBLAS 0.3.21 NO_AFFINITY ARMV8 MAX_THREADS=64": the version and the core it picked.
    const char* config = openblas_get_config();
    return config ? std::string(config) : std::string("OpenBLAS");
}

namespace {

// Bias, then the post-ops in order, on n consecutive outputs. `perElement`: output i has channel
// channel0 + i (channels-last, a matmul's columns); else all n are channel `channel0` (a run of
// one plane). `residual` holds the Sum post-op's operand for the same n outputs. One pass per
// step over a run that sits in L1: each pass is a plain loop the compiler vectorises.
struct Epilogue {
    static float leaky(float v, float slope) {
        return std::max(v, 0.0f) + slope * std::min(v, 0.0f);
    }

    std::vector<float> bias;  // per channel; empty: none
    std::vector<PostOp> ops;

    void run(float* y, const float* residual, int64_t n, int64_t channel0, bool perElement,
             const float* biasOverride = nullptr) const {
        const float* b = biasOverride ? biasOverride : bias.empty() ? nullptr : bias.data();
        if (b != nullptr) {
            if (perElement || biasOverride) {
                const float* bb = biasOverride ? b : b + channel0;
                for (int64_t i = 0; i < n; ++i) y[i] += bb[i];
            } else {
                const float v = b[channel0];
                for (int64_t i = 0; i < n; ++i) y[i] += v;
            }
        }
        for (const PostOp& op : ops) {
            if (op.kind == PostOp::Kind::Sum) {
                for (int64_t i = 0; i < n; ++i) y[i] += residual[i];
                continue;
            }
            // Negative slopes as max(y, 0) + slope * min(y, 0): no branch, so the loops vectorise
            // (the select form stayed scalar, a third of BlazeFace's time on x86-64).
            if (op.kind == PostOp::Kind::Prelu) {
                const float* s = op.slopes.data() + channel0;
                if (perElement) {
                    for (int64_t i = 0; i < n; ++i) y[i] = leaky(y[i], s[i]);
                } else {
                    const float slope = *s;
                    for (int64_t i = 0; i < n; ++i) y[i] = leaky(y[i], slope);
                }
                continue;
            }
            const float a = op.alpha;
            const float c = op.beta;
            switch (op.alg) {
                case EltwiseAlg::eltwise_relu:  // alpha: the negative slope (leaky relu)
                    if (a == 0.0f) {
                        for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.0f);
                    } else {
                        for (int64_t i = 0; i < n; ++i) y[i] = leaky(y[i], a);
                    }
                    break;
                case EltwiseAlg::eltwise_clip:  // clamp to [alpha, beta]
                    for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], a), c);
                    break;
                case EltwiseAlg::eltwise_logistic:
                    for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-y[i]));
                    break;
                case EltwiseAlg::eltwise_hardswish:  // x * relu6(x + 3) / 6, as oneDNN 2.6
                    for (int64_t i = 0; i < n; ++i) {
                        y[i] = y[i] * std::min(std::max(y[i] + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
                    }
                    break;
                case EltwiseAlg::eltwise_tanh:
                    for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
                    break;
                case EltwiseAlg::eltwise_linear:  // alpha * x + beta
                    for (int64_t i = 0; i < n; ++i) y[i] = a * y[i] + c;
                    break;
            }
        }
    }
};

// Output positions ox in [lo, hi) whose input column ox * stride + offset lies in [0, inLen).
struct Span {
    int64_t lo, hi;
};
Span insideInput(int64_t offset, int64_t stride, int64_t inLen, int64_t outLen) {
    // ceil(-offset / stride) and floor((inLen - 1 - offset) / stride), for either sign.
    const auto floorDiv = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
    const int64_t lo = std::clamp<int64_t>(-floorDiv(offset, stride), 0, outLen);
    const int64_t hi = std::clamp<int64_t>(floorDiv(inLen - 1 - offset, stride) + 1, lo, outLen);
    return {lo, hi};
}

// Floats of im2col buffer per thread: 512 KB, so a chunk's columns stay in L2 while sgemm reads
// them; the chunk is at least 64 pixels wide so each sgemm call still has work.
constexpr int64_t kColFloats = int64_t{1} << 17;
constexpr int64_t kMinChunk = 64;

class BlasConvKernel final : public Kernel {
  public:
    BlasConvKernel(const ConvSpec& spec, Epilogue epilogue, int threads)
        : m_p(spec.params),
          m_src(spec.srcLayout),
          m_dst(spec.dstLayout),
          m_epi(std::move(epilogue)) {
        const ConvParams& p = m_p;
        m_ig = p.inChannelsPerGroup();
        m_og = p.outChannelsPerGroup();
        m_k = m_ig * p.kernelH * p.kernelW;
        m_pixels = p.outH * p.outW;
        m_direct = p.kernelH == 1 && p.kernelW == 1 && p.strideH == 1 && p.strideW == 1 &&
                   p.padTop == 0 && p.padLeft == 0 && p.padBottom == 0 && p.padRight == 0;
        // One input and one output channel per group, both plain: per channel a 1-row GEMM over a
        // 9x copy of its plane, so a direct loop instead (see runDepthwise).
        m_depthwise = m_ig == 1 && m_og == 1 && p.group > 1 && m_src == Layout::Plain &&
                      m_dst == Layout::Plain;
        // Per kernel column, the output columns whose input column lies inside the row: asked
        // per row and tap, its two divisions cost more than a 3x3 depthwise row's work.
        for (int64_t kx = 0; kx < p.kernelW; ++kx) {
            m_inside.push_back(insideInput(kx * p.dilationW - p.padLeft, p.strideW, p.inW, p.outW));
        }
        m_residual = std::any_of(m_epi.ops.begin(), m_epi.ops.end(),
                                 [](const PostOp& o) { return o.kind == PostOp::Kind::Sum; });
        // Channels-last columns are (ky, kx, c): each tap's channels one contiguous copy.
        if (m_src == Layout::Nhwc && !m_direct) {
            m_weights.resize(spec.weights.size());
            const int64_t khw = p.kernelH * p.kernelW;
            for (int64_t o = 0; o < p.outChannels; ++o) {
                for (int64_t c = 0; c < m_ig; ++c) {
                    for (int64_t t = 0; t < khw; ++t) {
                        m_weights[size_t((o * khw + t) * m_ig + c)] =
                            spec.weights[size_t((o * m_ig + c) * khw + t)];
                    }
                }
            }
        } else {
            m_weights = spec.weights;
        }
        m_chunk = m_direct ? std::max<int64_t>(m_pixels, 1)
                           : std::min(std::max(kColFloats / std::max<int64_t>(m_k, 1), kMinChunk),
                                      std::max<int64_t>(m_pixels, 1));
        const double work = double(m_pixels) * double(p.outChannels) * double(m_k);
        const int64_t bands = pieceCount(m_pixels, threads, work);
        for (int64_t n = 0; n < p.batch; ++n) {
            for (int64_t b = 0; b < bands; ++b) {
                m_pieces.push_back({n, m_pixels * b / bands, m_pixels * (b + 1) / bands});
            }
        }
    }

    size_t scratchpadBytes() const override {
        return m_direct || m_depthwise ? 0 : size_t(m_k * m_chunk) * sizeof(float);
    }

    // How it computes, for the kernel's name.
    const char* form() const {
        if (m_depthwise) return "direct depthwise rows (sgemm has no depthwise form)";
        if (m_direct) return "OpenBLAS sgemm on the input (1x1: no im2col copy)";
        return "im2col + OpenBLAS sgemm";
    }

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        const auto* res = m_residual ? reinterpret_cast<const float*>(in[1]) : nullptr;
        auto* y = reinterpret_cast<float*>(out[0]);
        ctx.pool->runTasks(static_cast<int64_t>(m_pieces.size()), [&](int64_t t) {
            const Piece& piece = m_pieces[size_t(t)];
            auto* col = reinterpret_cast<float*>(ctx.scratch[size_t(ThreadPool::threadIndex())]);
            const int64_t inImage = m_p.inChannels * m_p.inH * m_p.inW;
            const int64_t outImage = m_p.outChannels * m_pixels;
            for (int64_t q = piece.begin; q < piece.end; q += m_chunk) {
                const int64_t len = std::min(m_chunk, piece.end - q);
                runChunk(x + piece.image * inImage, y + piece.image * outImage,
                         res ? res + piece.image * outImage : nullptr, col, q, len);
            }
        });
        return {};
    }

  private:
    struct Piece {
        int64_t image, begin, end;  // output pixels [begin, end) of one image
    };

    // Output pixels [q0, q0 + len) of one image, every group, then the epilogue.
    void runChunk(const float* x, float* y, const float* res, float* col, int64_t q0,
                  int64_t len) const {
        if (m_depthwise) return runDepthwise(x, y, res, q0, len);
        const ConvParams& p = m_p;
        const int64_t outC = p.outChannels;
        for (int64_t g = 0; g < p.group; ++g) {
            const float* w = m_weights.data() + g * m_og * m_k;
            if (m_src == Layout::Plain) {
                // Columns as [k][len], k = (c, ky, kx): the IR's own weight order.
                const float* cols = col;
                int64_t ld = len;
                if (m_direct) {
                    cols = x + g * m_ig * m_pixels + q0;  // 1x1: the input planes themselves
                    ld = m_pixels;
                } else {
                    im2colPlain(x, g, q0, len, col);
                }
                if (m_dst == Layout::Plain) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m_og), int(len),
                                int(m_k), 1.0f, w, int(m_k), cols, int(ld), 0.0f,
                                y + g * m_og * m_pixels + q0, int(m_pixels));
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, int(len), int(m_og),
                                int(m_k), 1.0f, cols, int(ld), w, int(m_k), 0.0f,
                                y + q0 * outC + g * m_og, int(outC));
                }
            } else {
                // Columns as [len][k], k = (ky, kx, c): each tap's channels contiguous.
                const float* cols = col;
                int64_t ld = m_k;
                if (m_direct) {
                    cols = x + q0 * p.inChannels + g * m_ig;  // 1x1: the input pixels themselves
                    ld = p.inChannels;
                } else {
                    im2colNhwc(x, g, q0, len, col);
                }
                if (m_dst == Layout::Nhwc) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(len), int(m_og),
                                int(m_k), 1.0f, cols, int(ld), w, int(m_k), 0.0f,
                                y + q0 * outC + g * m_og, int(outC));
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m_og), int(len),
                                int(m_k), 1.0f, w, int(m_k), cols, int(ld), 0.0f,
                                y + g * m_og * m_pixels + q0, int(m_pixels));
                }
            }
        }
        if (m_dst == Layout::Plain) {
            for (int64_t o = 0; o < outC; ++o) {
                const int64_t at = o * m_pixels + q0;
                m_epi.run(y + at, res ? res + at : nullptr, len, o, false);
            }
        } else {
            for (int64_t q = q0; q < q0 + len; ++q) {
                const int64_t at = q * outC;
                m_epi.run(y + at, res ? res + at : nullptr, outC, 0, true);
            }
        }
    }

    // y[c][oy][ox] = sum over taps of w[c][ky][kx] * x[c][iy][ix], one output row segment at a
    // time: per tap one multiply-add over the segment's inputs inside the plane, the loop the
    // sparse kernels' rows use too (-O3 makes it NEON), so a pruned depthwise layer is measured
    // against a dense one of the same make, not against a 9x im2col copy.
    void runDepthwise(const float* x, float* y, const float* res, int64_t q0, int64_t len) const {
        const ConvParams& p = m_p;
        for (int64_t c = 0; c < p.outChannels; ++c) {
            const float* xc = x + c * p.inH * p.inW;
            const float* w = m_weights.data() + c * m_k;
            for (int64_t q = q0; q < q0 + len;) {
                const int64_t oy = q / p.outW;
                const int64_t ox0 = q % p.outW;
                const int64_t ox1 = std::min(p.outW, ox0 + (q0 + len - q));
                float* row = y + c * m_pixels + oy * p.outW;
                std::fill(row + ox0, row + ox1, 0.0f);
                for (int64_t ky = 0; ky < p.kernelH; ++ky) {
                    const int64_t iy = oy * p.strideH - p.padTop + ky * p.dilationH;
                    if (iy < 0 || iy >= p.inH) continue;
                    const float* s = xc + iy * p.inW;
                    for (int64_t kx = 0; kx < p.kernelW; ++kx) {
                        const int64_t offset = kx * p.dilationW - p.padLeft;
                        const Span inside = m_inside[size_t(kx)];
                        const int64_t lo = std::clamp(inside.lo, ox0, ox1);
                        const int64_t hi = std::clamp(inside.hi, lo, ox1);
                        if (hi > lo) {
                            tapRow(row + lo, s + lo * p.strideW + offset, w[ky * p.kernelW + kx],
                                   hi - lo, p.strideW);
                        }
                    }
                }
                const int64_t at = c * m_pixels + oy * p.outW + ox0;
                m_epi.run(row + ox0, res ? res + at : nullptr, ox1 - ox0, c, false);
                q += ox1 - ox0;
            }
        }
    }

    static void tapRow(float* __restrict y, const float* __restrict x, float w, int64_t n,
                       int64_t stride) {
        if (stride == 1) {
            for (int64_t i = 0; i < n; ++i) y[i] += w * x[i];
        } else {
            for (int64_t i = 0; i < n; ++i) y[i] += w * x[i * stride];
        }
    }

    // col[(c * kh + ky) * kw + kx][j] = x[g * ig + c][iy][ix] for output pixel q0 + j, 0 outside.
    void im2colPlain(const float* x, int64_t g, int64_t q0, int64_t len, float* col) const {
        const ConvParams& p = m_p;
        const int64_t plane = p.inH * p.inW;
        for (int64_t c = 0; c < m_ig; ++c) {
            const float* xc = x + (g * m_ig + c) * plane;
            for (int64_t ky = 0; ky < p.kernelH; ++ky) {
                for (int64_t kx = 0; kx < p.kernelW; ++kx) {
                    float* row = col + ((c * p.kernelH + ky) * p.kernelW + kx) * len;
                    const int64_t offset = kx * p.dilationW - p.padLeft;
                    const Span inside = m_inside[size_t(kx)];
                    for (int64_t j = 0; j < len;) {
                        const int64_t oy = (q0 + j) / p.outW;
                        const int64_t ox0 = (q0 + j) % p.outW;
                        const int64_t ox1 = std::min(p.outW, ox0 + (len - j));
                        float* d = row + j;  // d[0] is output column ox0 of row oy
                        const int64_t iy = oy * p.strideH - p.padTop + ky * p.dilationH;
                        if (iy < 0 || iy >= p.inH) {
                            std::fill(d, d + (ox1 - ox0), 0.0f);
                        } else {
                            const float* s = xc + iy * p.inW;
                            const int64_t lo = std::clamp(inside.lo, ox0, ox1);
                            const int64_t hi = std::clamp(inside.hi, lo, ox1);
                            std::fill(d, d + (lo - ox0), 0.0f);
                            if (p.strideW == 1) {
                                std::memcpy(d + (lo - ox0), s + lo + offset,
                                            size_t(hi - lo) * sizeof(float));
                            } else {
                                for (int64_t ox = lo; ox < hi; ++ox) {
                                    d[ox - ox0] = s[ox * p.strideW + offset];
                                }
                            }
                            std::fill(d + (hi - ox0), d + (ox1 - ox0), 0.0f);
                        }
                        j += ox1 - ox0;
                    }
                }
            }
        }
    }

    // col[j][(ky * kw + kx) * ig + c] = x[iy][ix][g * ig + c] for output pixel q0 + j.
    void im2colNhwc(const float* x, int64_t g, int64_t q0, int64_t len, float* col) const {
        const ConvParams& p = m_p;
        const auto bytes = size_t(m_ig) * sizeof(float);
        for (int64_t j = 0; j < len; ++j) {
            const int64_t oy = (q0 + j) / p.outW;
            const int64_t ox = (q0 + j) % p.outW;
            float* d = col + j * m_k;
            for (int64_t ky = 0; ky < p.kernelH; ++ky) {
                const int64_t iy = oy * p.strideH - p.padTop + ky * p.dilationH;
                for (int64_t kx = 0; kx < p.kernelW; ++kx, d += m_ig) {
                    const int64_t ix = ox * p.strideW - p.padLeft + kx * p.dilationW;
                    if (iy < 0 || iy >= p.inH || ix < 0 || ix >= p.inW) {
                        std::fill(d, d + m_ig, 0.0f);
                    } else {
                        std::memcpy(d, x + (iy * p.inW + ix) * p.inChannels + g * m_ig, bytes);
                    }
                }
            }
        }
    }

    ConvParams m_p;
    Layout m_src, m_dst;
    Epilogue m_epi;
    std::vector<float> m_weights;  // [O][k], k ordered as the columns (see runChunk)
    int64_t m_ig = 0, m_og = 0, m_k = 0, m_pixels = 0, m_chunk = 0;
    bool m_direct = false;  // a 1x1 conv with stride 1 and no padding: sgemm reads the input
    bool m_depthwise = false;
    std::vector<Span> m_inside;  // per kx: insideInput() of its offset
    bool m_residual = false;
    std::vector<Piece> m_pieces;
};

class BlasMatMulKernel final : public Kernel {
  public:
    BlasMatMulKernel(MatMulSpec spec, Epilogue epilogue, int threads)
        : m_spec(std::move(spec)), m_epi(std::move(epilogue)) {
        const bool rowBias = int64_t(m_spec.bias.size()) == m_spec.n;
        m_fullBias = !m_spec.bias.empty() && !rowBias;
        // transA reads A column-wise: one piece, the whole matrix.
        const int64_t pieces =
            m_spec.transA ? 1
                          : pieceCount(m_spec.m, threads,
                                       double(m_spec.m) * double(m_spec.k) * double(m_spec.n));
        for (int64_t i = 0; i < pieces; ++i) {
            m_rows.emplace_back(m_spec.m * i / pieces, m_spec.m * (i + 1) / pieces);
        }
        if (rowBias) m_epi.bias = m_spec.bias;
    }

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* a = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        const MatMulSpec& s = m_spec;
        ctx.pool->runTasks(static_cast<int64_t>(m_rows.size()), [&](int64_t t) {
            const auto [m0, m1] = m_rows[size_t(t)];
            // A is [m][k], or [k][m] read transposed.
            const float* at = s.transA ? a + m0 : a + m0 * s.k;
            cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, CblasNoTrans,
                        int(m1 - m0), int(s.n), int(s.k), 1.0f, at, int(s.transA ? s.m : s.k),
                        s.weights.data(), int(s.n), 0.0f, y + m0 * s.n, int(s.n));
            for (int64_t r = m0; r < m1; ++r) {
                m_epi.run(y + r * s.n, nullptr, s.n, 0, true,
                          m_fullBias ? s.bias.data() + r * s.n : nullptr);
            }
        });
        return {};
    }

  private:
    MatMulSpec m_spec;
    Epilogue m_epi;
    bool m_fullBias = false;  // one bias per output value (Gemm's C as [m][n])
    std::vector<std::pair<int64_t, int64_t>> m_rows;
};

}  // namespace

Result<KernelPtr> makeConvKernel(const ConvSpec& given, const DenseEngine& engine, int threads,
                                 std::string& name) {
    (void)engine;
    const ConvParams& p = given.params;
    if (given.transposed) {
        return makeError(ErrorCode::Unsupported,
                         "no OpenBLAS transposed conv (built without oneDNN)");
    }
    if (p.group < 1 || p.inChannels % p.group != 0 || p.outChannels % p.group != 0 ||
        p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1) {
        return makeError(ErrorCode::Unsupported, "conv parameters sgemm cannot express");
    }
    const int64_t largest =
        std::max({p.outChannels, p.outH * p.outW, p.inChannelsPerGroup() * p.kernelH * p.kernelW,
                  p.inChannels * p.inH * p.inW});
    if (largest > int64_t{std::numeric_limits<int>::max()} / 4) {
        return makeError(ErrorCode::Unsupported, "a dimension beyond sgemm's int");
    }
    ConvSpec spec = given;
    const int64_t flushed =
        flushSubnormals(spec.weights) + flushSubnormals(spec.bias) + flushSubnormals(spec.postOps);
    Epilogue epi;
    epi.bias = spec.bias;
    epi.ops = spec.postOps;
    auto kernel = std::make_unique<BlasConvKernel>(spec, std::move(epi), threads);
    name = std::string(kernel->form()) + " conv " + std::to_string(p.kernelH) + "x" +
           std::to_string(p.kernelW);
    if (p.group == p.inChannels && p.group > 1 && p.outChannels == p.group) {
        name += " dw";
    } else if (p.group > 1) {
        name += " g" + std::to_string(p.group);
    }
    if (p.strideH != 1 || p.strideW != 1) name += " s" + std::to_string(p.strideH);
    if (p.dilationH != 1 || p.dilationW != 1) name += " d" + std::to_string(p.dilationH);
    name += " +bias" + postOpSuffix(spec.postOps) + " " + layoutName(spec.srcLayout);
    if (spec.dstLayout != spec.srcLayout) name += std::string("->") + layoutName(spec.dstLayout);
    name += flushedNote(flushed);
    return KernelPtr(std::move(kernel));
}

Result<KernelPtr> makeMatMulKernel(const MatMulSpec& given, const DenseEngine& engine, int threads,
                                   std::string& name) {
    (void)engine;
    if (std::max({given.m, given.k, given.n}) > int64_t{std::numeric_limits<int>::max()} / 4) {
        return makeError(ErrorCode::Unsupported, "a dimension beyond sgemm's int");
    }
    for (const PostOp& op : given.postOps) {
        if (op.kind == PostOp::Kind::Sum) {
            return makeError(ErrorCode::Unsupported, "a residual sum after a matmul");
        }
    }
    MatMulSpec spec = given;
    const int64_t flushed =
        flushSubnormals(spec.weights) + flushSubnormals(spec.bias) + flushSubnormals(spec.postOps);
    Epilogue epi;
    epi.ops = spec.postOps;
    name = "OpenBLAS sgemm matmul " + std::to_string(spec.m) + "x" + std::to_string(spec.k) + "x" +
           std::to_string(spec.n) + (spec.bias.empty() ? "" : " +bias") +
           postOpSuffix(spec.postOps) + flushedNote(flushed);
    return KernelPtr(std::make_unique<BlasMatMulKernel>(std::move(spec), std::move(epi), threads));
}

}  // namespace prunelab::engine::cpu

// Data-movement and window kernels: layout reorders, copies, pools, concat, transpose,
// softmax, depth-to-space, resize, and the wrapper that runs an op's reference kernel inside
// a plan.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops/op.h"
#include "engine/ops/resize.h"
#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

#if PRUNELAB_CPU_ONEDNN
using dnnl::memory;
using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;
#endif

const char* layoutName(Layout layout) {
    return layout == Layout::Nhwc ? "nhwc" : "nchw";
}

bool layoutsCoincide(const Shape& shape) {
    return shape.size() != 4 || shape[1] == 1 || shape[2] * shape[3] == 1;
}

std::vector<int64_t> layoutStrides(const Shape& shape, Layout layout) {
    std::vector<int64_t> s(shape.size(), 1);
    if (layout == Layout::Nhwc && shape.size() == 4) {
        s[1] = 1;
        s[3] = shape[1];
        s[2] = shape[3] * shape[1];
        s[0] = shape[2] * s[2];
        return s;
    }
    for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

std::vector<int> memoryOrder(size_t rank, Layout layout) {
    if (layout == Layout::Nhwc && rank == 4) return {0, 2, 3, 1};
    std::vector<int> order(rank);
    for (size_t i = 0; i < rank; ++i) order[i] = static_cast<int>(i);
    return order;
}

namespace {

// Bytes per chunk for parallel copies. A copy is memory-bound and the next step reads its
// output: split finely, half of it lands in another core's cache. 64 KiB chunks made
// BlazeFace front's 0.1-0.5 MB channel-pad concats slower at 2 threads than at 1.
constexpr int64_t kCopyGrain = 1 << 18;

class CopyKernel : public Kernel {
  public:
    explicit CopyKernel(size_t bytes) : m_bytes(static_cast<int64_t>(bytes)) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        if (in[0] == out[0]) return {};
        ctx.pool->parallelFor(m_bytes, kCopyGrain, [&](int64_t b, int64_t e) {
            std::memcpy(out[0] + b, in[0] + b, static_cast<size_t>(e - b));
        });
        return {};
    }

  private:
    int64_t m_bytes;
};

// NCHW <-> NHWC: a 2-D transpose per image of [C][HW] <-> [HW][C], in tiles so both sides
// stream through cache.
class ReorderKernel : public Kernel {
  public:
    ReorderKernel(const Shape& shape, bool toNhwc)
        : m_n(shape[0]), m_c(shape[1]), m_hw(shape[2] * shape[3]), m_toNhwc(toNhwc) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* src = reinterpret_cast<const float*>(in[0]);
        auto* dst = reinterpret_cast<float*>(out[0]);
        constexpr int64_t kTile = 32;
        const int64_t pixelTiles = (m_hw + kTile - 1) / kTile;
        ctx.pool->parallelFor(m_n * pixelTiles, 8, [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t) {
                const int64_t n = t / pixelTiles;
                const int64_t p0 = (t % pixelTiles) * kTile;
                const int64_t p1 = std::min(p0 + kTile, m_hw);
                const float* s = src + n * m_c * m_hw;
                float* d = dst + n * m_c * m_hw;
                for (int64_t c0 = 0; c0 < m_c; c0 += kTile) {
                    const int64_t c1 = std::min(c0 + kTile, m_c);
                    for (int64_t p = p0; p < p1; ++p) {
                        for (int64_t c = c0; c < c1; ++c) {
                            if (m_toNhwc) {
                                d[p * m_c + c] = s[c * m_hw + p];
                            } else {
                                d[c * m_hw + p] = s[p * m_c + c];
                            }
                        }
                    }
                }
            }
        });
        return {};
    }

  private:
    int64_t m_n, m_c, m_hw;
    bool m_toNhwc;
};

#if PRUNELAB_CPU_ONEDNN
dnnl::primitive_attr singleAttr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

// One oneDNN execution on the whole tensor (pools and softmax are cheap next to the convs).
KernelPtr singlePiece(const DenseEngine& engine, dnnl::primitive prim, const memory::desc& src,
                      const memory::desc& dst, const memory::desc& scratch) {
    std::vector<DnnlPieceKernel::Prim> prims = {{std::move(prim), src, dst, scratch, {}}};
    std::vector<DnnlPieceKernel::Piece> pieces(1);
    pieces[0].execs.push_back({0, 0, 0, -1});
    return std::make_unique<DnnlPieceKernel>(engine, std::move(prims), std::move(pieces), false);
}
#endif

class GlobalAveragePoolKernel : public Kernel {
  public:
    GlobalAveragePoolKernel(const Shape& in, Layout layout)
        : m_n(in[0]), m_c(in[1]), m_hw(in[2] * in[3]), m_layout(layout) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        const float inv = 1.0f / static_cast<float>(m_hw);
        if (m_layout == Layout::Nhwc) {
            // Channels are contiguous: split them into blocks, each summing over all pixels.
            constexpr int64_t kBlock = 64;
            const int64_t blocks = (m_c + kBlock - 1) / kBlock;
            ctx.pool->parallelFor(m_n * blocks, 1, [&](int64_t begin, int64_t end) {
                for (int64_t t = begin; t < end; ++t) {
                    const int64_t n = t / blocks;
                    const int64_t c0 = (t % blocks) * kBlock;
                    const int64_t c1 = std::min(c0 + kBlock, m_c);
                    float acc[kBlock] = {};
                    const float* base = x + n * m_hw * m_c;
                    for (int64_t p = 0; p < m_hw; ++p) {
                        const float* px = base + p * m_c;
                        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += px[c];
                    }
                    for (int64_t c = c0; c < c1; ++c) y[n * m_c + c] = acc[c - c0] * inv;
                }
            });
        } else {
            ctx.pool->parallelFor(m_n * m_c, 4, [&](int64_t begin, int64_t end) {
                for (int64_t plane = begin; plane < end; ++plane) {
                    const float* px = x + plane * m_hw;
                    float acc = 0.0f;
                    for (int64_t p = 0; p < m_hw; ++p) acc += px[p];
                    y[plane] = acc * inv;
                }
            });
        }
        return {};
    }

  private:
    int64_t m_n, m_c, m_hw;
    Layout m_layout;
};

// Concat along memory-order axis `axis`: every input is a run of outer x (dim * inner) bytes.
class ConcatKernel : public Kernel {
  public:
    ConcatKernel(int64_t outer, std::vector<int64_t> chunkBytes)
        : m_outer(outer), m_chunk(std::move(chunkBytes)) {
        for (int64_t c : m_chunk) m_rowBytes += c;
    }
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const int64_t grain = std::max<int64_t>(1, kCopyGrain / std::max<int64_t>(m_rowBytes, 1));
        ctx.pool->parallelFor(m_outer, grain, [&](int64_t begin, int64_t end) {
            for (int64_t o = begin; o < end; ++o) {
                std::byte* dst = out[0] + o * m_rowBytes;
                for (size_t i = 0; i < m_chunk.size(); ++i) {
                    std::memcpy(dst, in[i] + o * m_chunk[i], static_cast<size_t>(m_chunk[i]));
                    dst += m_chunk[i];
                }
            }
        });
        return {};
    }

  private:
    int64_t m_outer;
    std::vector<int64_t> m_chunk;
    int64_t m_rowBytes = 0;
};

// Generic transpose: walks the output row by row; the last output dim gathers with a stride.
class TransposeKernel : public Kernel {
  public:
    TransposeKernel(Shape outShape, std::vector<int64_t> inStrides, size_t elementSize)
        : m_out(std::move(outShape)), m_inStrides(std::move(inStrides)), m_size(elementSize) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const size_t r = m_out.size();
        const int64_t inner = r ? m_out[r - 1] : 1;
        const int64_t innerStride = r ? m_inStrides[r - 1] : 0;
        int64_t rows = 1;
        for (size_t d = 0; d + 1 < r; ++d) rows *= m_out[d];
        ctx.pool->parallelFor(rows, 64, [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
                int64_t rest = row;
                int64_t off = 0;
                for (size_t d = r - 1; d-- > 0;) {
                    off += (rest % m_out[d]) * m_inStrides[d];
                    rest /= m_out[d];
                }
                std::byte* dst = out[0] + row * inner * static_cast<int64_t>(m_size);
                const std::byte* src = in[0];
                if (m_size == 4) {
                    auto* d4 = reinterpret_cast<uint32_t*>(dst);
                    const auto* s4 = reinterpret_cast<const uint32_t*>(src);
                    for (int64_t i = 0; i < inner; ++i) d4[i] = s4[off + i * innerStride];
                } else {
                    for (int64_t i = 0; i < inner; ++i) {
                        std::memcpy(dst + i * static_cast<int64_t>(m_size),
                                    src + (off + i * innerStride) * static_cast<int64_t>(m_size),
                                    m_size);
                    }
                }
            }
        });
        return {};
    }

  private:
    Shape m_out;
    std::vector<int64_t> m_inStrides;
    size_t m_size;
};

// Resize of H and W. Source rows/cols and weights are precomputed per output row/col; in
// Nhwc the inner loop is over contiguous channels.
class ResizeKernel : public Kernel {
  public:
    struct Axis {
        std::vector<int64_t> i0, i1;
        std::vector<float> w;  // weight of i1 (0 for nearest)
    };
    ResizeKernel(const Shape& in, const Shape& out, Layout layout, Axis ys, Axis xs, bool linear)
        : m_n(in[0]),
          m_c(in[1]),
          m_ih(in[2]),
          m_iw(in[3]),
          m_oh(out[2]),
          m_ow(out[3]),
          m_layout(layout),
          m_y(std::move(ys)),
          m_x(std::move(xs)),
          m_linear(linear) {}

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        if (m_layout == Layout::Nhwc) {
            ctx.pool->parallelFor(m_n * m_oh, 1, [&](int64_t begin, int64_t end) {
                for (int64_t t = begin; t < end; ++t) rowNhwc(x, y, t / m_oh, t % m_oh);
            });
        } else {
            ctx.pool->parallelFor(m_n * m_c * m_oh, 8, [&](int64_t begin, int64_t end) {
                for (int64_t t = begin; t < end; ++t) {
                    rowPlain(x, y, t / (m_c * m_oh), (t / m_oh) % m_c, t % m_oh);
                }
            });
        }
        return {};
    }

  private:
    void rowNhwc(const float* x, float* y, int64_t n, int64_t oy) const {
        const size_t uy = static_cast<size_t>(oy);
        const float* r0 = x + (n * m_ih + m_y.i0[uy]) * m_iw * m_c;
        const float* r1 = x + (n * m_ih + m_y.i1[uy]) * m_iw * m_c;
        const float wy = m_y.w[uy];
        float* dst = y + (n * m_oh + oy) * m_ow * m_c;
        for (int64_t ox = 0; ox < m_ow; ++ox, dst += m_c) {
            const size_t ux = static_cast<size_t>(ox);
            const float* a = r0 + m_x.i0[ux] * m_c;
            if (!m_linear) {
                std::memcpy(dst, a, static_cast<size_t>(m_c) * sizeof(float));
                continue;
            }
            const float* b = r0 + m_x.i1[ux] * m_c;
            const float* c = r1 + m_x.i0[ux] * m_c;
            const float* d = r1 + m_x.i1[ux] * m_c;
            const float wx = m_x.w[ux];
            for (int64_t k = 0; k < m_c; ++k) {
                const float top = a[k] + (b[k] - a[k]) * wx;
                const float bottom = c[k] + (d[k] - c[k]) * wx;
                dst[k] = top + (bottom - top) * wy;
            }
        }
    }
    void rowPlain(const float* x, float* y, int64_t n, int64_t ch, int64_t oy) const {
        const size_t uy = static_cast<size_t>(oy);
        const float* plane = x + (n * m_c + ch) * m_ih * m_iw;
        const float* r0 = plane + m_y.i0[uy] * m_iw;
        const float* r1 = plane + m_y.i1[uy] * m_iw;
        const float wy = m_y.w[uy];
        float* dst = y + ((n * m_c + ch) * m_oh + oy) * m_ow;
        for (int64_t ox = 0; ox < m_ow; ++ox) {
            const size_t ux = static_cast<size_t>(ox);
            if (!m_linear) {
                dst[ox] = r0[m_x.i0[ux]];
                continue;
            }
            const float wx = m_x.w[ux];
            const float top = r0[m_x.i0[ux]] + (r0[m_x.i1[ux]] - r0[m_x.i0[ux]]) * wx;
            const float bottom = r1[m_x.i0[ux]] + (r1[m_x.i1[ux]] - r1[m_x.i0[ux]]) * wx;
            dst[ox] = top + (bottom - top) * wy;
        }
    }

    int64_t m_n, m_c, m_ih, m_iw, m_oh, m_ow;
    Layout m_layout;
    Axis m_y, m_x;
    bool m_linear;
};

// ONNX Resize's coordinate transform (engine/ops/resize.h, the reference kernel's own), with
// unknown modes refused here rather than read as half_pixel.
Result<float> sourceCoordinate(const std::string& mode, int64_t outIndex, float scale,
                               int64_t inLen, int64_t outLen) {
    for (const char* known : {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                              "asymmetric", "tf_half_pixel_for_nn", "align_corners"}) {
        if (mode == known) {
            return resizeInputCoordinate(mode, static_cast<float>(outIndex), scale, inLen, outLen);
        }
    }
    return makeError(ErrorCode::Unsupported, "coordinate_transformation_mode '" + mode + "'");
}

Result<ResizeKernel::Axis> resizeAxis(const Node& node, int64_t inLen, int64_t outLen, float scale,
                                      bool linear) {
    const std::string mode = node.attrs.getString("coordinate_transformation_mode", "half_pixel");
    const std::string nearest = node.attrs.getString("nearest_mode", "round_prefer_floor");
    ResizeKernel::Axis axis;
    for (int64_t o = 0; o < outLen; ++o) {
        PL_TRY_ASSIGN(float x, sourceCoordinate(mode, o, scale, inLen, outLen));
        int64_t i0 = 0;
        int64_t i1 = 0;
        float w = 0.0f;
        if (linear) {
            x = std::clamp(x, 0.0f, static_cast<float>(inLen - 1));
            i0 = static_cast<int64_t>(std::floor(x));
            i1 = std::min(i0 + 1, inLen - 1);
            w = x - static_cast<float>(i0);
        } else {
            if (nearest == "floor") {
                i0 = static_cast<int64_t>(std::floor(x));
            } else if (nearest == "ceil") {
                i0 = static_cast<int64_t>(std::ceil(x));
            } else if (nearest == "round_prefer_ceil" || nearest == "round_prefer_floor") {
                // Same rounding as the reference: ties go down only for round_prefer_floor.
                const bool tie = x - std::floor(x) == 0.5f;
                i0 = static_cast<int64_t>(nearest == "round_prefer_floor" && tie ? std::floor(x)
                                                                                 : std::round(x));
            } else {
                return makeError(ErrorCode::Unsupported, "nearest_mode '" + nearest + "'");
            }
            i0 = std::clamp<int64_t>(i0, 0, inLen - 1);
            i1 = i0;
        }
        axis.i0.push_back(i0);
        axis.i1.push_back(i1);
        axis.w.push_back(w);
    }
    return axis;
}

PL_VECTOR_CLONES void blendRows(const float* r0, const float* r1, const float* r2, const float* r3,
                                const float* w, float* out, int64_t n) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (int64_t i = 0; i < n; ++i) out[i] = w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i];
}

// Cubic resize (Keys, A = cubic_coeff_a), separable like the reference: per output row, the 4
// input rows blend into one row (contiguous, vectorised), then 4 taps per output column. Float
// sums where the reference keeps doubles: a few ulps apart. Taps outside the input read the edge
// pixel, or with exclude_outside get weight 0 and the rest are renormalised.
class CubicResizeKernel : public Kernel {
  public:
    struct Axis {
        std::vector<int64_t> index;  // [out][4], clamped
        std::vector<float> weight;   // [out][4]
    };
    CubicResizeKernel(const Shape& in, const Shape& out, Layout layout, Axis ys, Axis xs)
        : m_n(in[0]),
          m_c(in[1]),
          m_ih(in[2]),
          m_iw(in[3]),
          m_oh(out[2]),
          m_ow(out[3]),
          m_nhwc(layout == Layout::Nhwc && !layoutsCoincide(in)),
          m_y(std::move(ys)),
          m_x(std::move(xs)) {}

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        // Channels-last rows hold every channel; plain rows one channel's.
        const int64_t lanes = m_nhwc ? m_c : 1;
        const int64_t rows = m_nhwc ? m_n * m_oh : m_n * m_c * m_oh;
        const int64_t rowIn = m_iw * lanes;
        ctx.pool->parallelFor(rows, 4, [&](int64_t begin, int64_t end) {
            std::vector<float> tmp(static_cast<size_t>(rowIn));
            for (int64_t r = begin; r < end; ++r) {
                const int64_t image = r / m_oh;  // n (channels-last) or n * C + c (plain)
                const int64_t oy = r % m_oh;
                const float* plane = x + image * m_ih * rowIn;
                const int64_t* iy = &m_y.index[static_cast<size_t>(oy * 4)];
                const float* wy = &m_y.weight[static_cast<size_t>(oy * 4)];
                blendRows(plane + iy[0] * rowIn, plane + iy[1] * rowIn, plane + iy[2] * rowIn,
                          plane + iy[3] * rowIn, wy, tmp.data(), rowIn);
                float* dst = y + r * m_ow * lanes;
                for (int64_t ox = 0; ox < m_ow; ++ox) {
                    const int64_t* ix = &m_x.index[static_cast<size_t>(ox * 4)];
                    const float* wx = &m_x.weight[static_cast<size_t>(ox * 4)];
                    const float* t0 = tmp.data() + ix[0] * lanes;
                    const float* t1 = tmp.data() + ix[1] * lanes;
                    const float* t2 = tmp.data() + ix[2] * lanes;
                    const float* t3 = tmp.data() + ix[3] * lanes;
                    float* o = dst + ox * lanes;
                    for (int64_t c = 0; c < lanes; ++c) {
                        o[c] = wx[0] * t0[c] + wx[1] * t1[c] + wx[2] * t2[c] + wx[3] * t3[c];
                    }
                }
            }
        });
        return {};
    }

  private:
    int64_t m_n, m_c, m_ih, m_iw, m_oh, m_ow;
    bool m_nhwc;
    Axis m_y, m_x;
};

// The 4 taps per output position, as the reference computes them (in double, then rounded).
Result<CubicResizeKernel::Axis> cubicAxis(const Node& node, int64_t inLen, int64_t outLen,
                                          float scale) {
    const std::string mode = node.attrs.getString("coordinate_transformation_mode", "half_pixel");
    const double a = node.attrs.getFloat("cubic_coeff_a", -0.75f);
    const bool excludeOutside = node.attrs.getInt("exclude_outside", 0) != 0;
    CubicResizeKernel::Axis axis;
    for (int64_t o = 0; o < outLen; ++o) {
        PL_TRY_ASSIGN(const float c, sourceCoordinate(mode, o, scale, inLen, outLen));
        const double fl = std::floor(static_cast<double>(c));
        const double t = static_cast<double>(c) - fl;
        const double d0 = 1.0 + t, d1 = t, d2 = 1.0 - t, d3 = 2.0 - t;
        double w[4] = {((a * d0 - 5.0 * a) * d0 + 8.0 * a) * d0 - 4.0 * a,
                       ((a + 2.0) * d1 - (a + 3.0)) * d1 * d1 + 1.0,
                       ((a + 2.0) * d2 - (a + 3.0)) * d2 * d2 + 1.0,
                       ((a * d3 - 5.0 * a) * d3 + 8.0 * a) * d3 - 4.0 * a};
        double total = 0.0;
        for (int k = 0; k < 4; ++k) {
            const int64_t i = static_cast<int64_t>(fl) - 1 + k;
            if (excludeOutside && (i < 0 || i >= inLen)) w[k] = 0.0;
            total += w[k];
            axis.index.push_back(std::clamp<int64_t>(i, 0, inLen - 1));
        }
        for (double wk : w)
            axis.weight.push_back(static_cast<float>(excludeOutside ? wk / total : wk));
    }
    return axis;
}

// Runs the op's reference kernel on tensors it owns: inputs are copied in, outputs copied out.
class ReferenceKernel : public Kernel {
  public:
    ReferenceKernel(Node node, std::vector<Tensor> inputs, std::vector<bool> isConstant,
                    std::vector<Tensor> outputs)
        : m_node(std::move(node)),
          m_in(std::move(inputs)),
          m_isConstant(std::move(isConstant)),
          m_out(std::move(outputs)) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext&) override {
        std::vector<const Tensor*> ins;
        for (size_t i = 0; i < m_in.size(); ++i) {
            if (m_in[i].empty()) {
                ins.push_back(nullptr);
                continue;
            }
            if (!m_isConstant[i]) std::memcpy(m_in[i].raw(), in[i], m_in[i].bytes());
            ins.push_back(&m_in[i]);
        }
        std::vector<Tensor*> outs;
        for (Tensor& t : m_out) {
            std::memset(t.raw(), 0, t.bytes());  // the contract: outputs arrive zero-filled
            outs.push_back(&t);
        }
        const OpDef& def = opDef(m_node.op);
        if (def.reference == nullptr) {
            return makeError(ErrorCode::Unsupported,
                             "op " + std::string(def.name) + " has no reference kernel");
        }
        PL_TRY(def.reference(m_node, ins, outs));
        for (size_t i = 0; i < m_out.size(); ++i) {
            if (out[i] != nullptr) std::memcpy(out[i], m_out[i].raw(), m_out[i].bytes());
        }
        return {};
    }

  private:
    Node m_node;
    std::vector<Tensor> m_in;
    std::vector<bool> m_isConstant;
    std::vector<Tensor> m_out;
};

// DepthToSpace as a strided gather, any input and output layout. Channel ic of the input at
// block offset (i, j) is (i*b + j) * A + c * B in channel-stride units: DCR A = C', B = 1;
// CRD A = 1, B = b*b. One task per output row; the inner loop runs along the output's
// contiguous dim (W for plain, C for channels-last).
class DepthToSpaceKernel : public Kernel {
  public:
    DepthToSpaceKernel(const Shape& in, Layout inLayout, Layout outLayout, int64_t block, bool dcr)
        : m_n(in[0]),
          m_c2(in[1] / (block * block)),
          m_h(in[2]),
          m_w(in[3]),
          m_b(block),
          m_outNhwc(outLayout == Layout::Nhwc && !layoutsCoincide(outShape(in, block))),
          m_is(layoutStrides(in, inLayout)),
          m_os(layoutStrides(outShape(in, block), outLayout)) {
        const int64_t a = dcr ? m_c2 * m_is[1] : m_is[1];
        m_cStride = dcr ? m_is[1] : block * block * m_is[1];
        m_colOff.resize(static_cast<size_t>(m_w * block));
        for (int64_t ow = 0; ow < m_w * block; ++ow) {
            m_colOff[static_cast<size_t>(ow)] = (ow / block) * m_is[3] + (ow % block) * a;
        }
        m_rowA = a * block;  // the i part of (i*b + j) * A
    }
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        const int64_t ow = m_w * m_b;
        const int64_t rows = m_n * m_h * m_b;
        const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(ow * m_c2, 1));
        const int64_t* col = m_colOff.data();
        ctx.pool->parallelFor(rows, grain, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
                const int64_t n = r / (m_h * m_b);
                const int64_t oh = r % (m_h * m_b);
                const float* xr = x + n * m_is[0] + (oh / m_b) * m_is[2] + (oh % m_b) * m_rowA;
                float* yr = y + n * m_os[0] + oh * m_os[2];
                if (m_outNhwc) {
                    for (int64_t w = 0; w < ow; ++w) {
                        const float* xp = xr + col[w];
                        float* yp = yr + w * m_os[3];
                        for (int64_t c = 0; c < m_c2; ++c) yp[c] = xp[c * m_cStride];
                    }
                } else {
                    for (int64_t c = 0; c < m_c2; ++c) {
                        const float* xp = xr + c * m_cStride;
                        float* yp = yr + c * m_os[1];
                        for (int64_t w = 0; w < ow; ++w) yp[w] = xp[col[w]];
                    }
                }
            }
        });
        return {};
    }

  private:
    static Shape outShape(const Shape& in, int64_t b) {
        return {in[0], in[1] / (b * b), in[2] * b, in[3] * b};
    }
    int64_t m_n, m_c2, m_h, m_w, m_b;
    bool m_outNhwc;
    std::vector<int64_t> m_is, m_os;  // element strides of input / output per logical dim
    std::vector<int64_t> m_colOff;    // per output column: input offset of its (w, j)
    int64_t m_cStride = 0;            // input offset between consecutive output channels
    int64_t m_rowA = 0;               // input offset per block row i
};

// Constant Pad of a 4-D tensor in either layout (output in the input's layout): each output
// row (an image row of all channels channels-last, one channel's row plain) is filled with the
// value and the input's part copied over it. TensorFlow exports pad channels with zeros before
// residual adds; as a reference step each such Pad cost two reorders of the activation.
class PadKernel : public Kernel {
  public:
    PadKernel(const Shape& in, const Shape& out, std::vector<int64_t> begins, Layout layout,
              float value)
        : m_in(in),
          m_out(out),
          m_begin(std::move(begins)),
          m_nhwc(layout == Layout::Nhwc),
          m_value(value),
          m_is(layoutStrides(in, layout)),
          m_os(layoutStrides(out, layout)) {}
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        const int64_t rows = m_out[0] * m_out[2];
        const int64_t grain =
            std::max<int64_t>(1, 16384 / std::max<int64_t>(m_out[1] * m_out[3], 1));
        ctx.pool->parallelFor(rows, grain, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
                const int64_t n = r / m_out[2], h = r % m_out[2];
                const int64_t ni = n - m_begin[0], hi = h - m_begin[2];
                const bool inside = ni >= 0 && ni < m_in[0] && hi >= 0 && hi < m_in[2];
                if (m_nhwc) {
                    float* yr = y + n * m_os[0] + h * m_os[2];
                    std::fill(yr, yr + m_out[3] * m_out[1], m_value);
                    if (!inside) continue;
                    const float* xr = x + ni * m_is[0] + hi * m_is[2];
                    for (int64_t w = 0; w < m_in[3]; ++w) {
                        std::memcpy(yr + (w + m_begin[3]) * m_os[3] + m_begin[1], xr + w * m_is[3],
                                    static_cast<size_t>(m_in[1]) * sizeof(float));
                    }
                } else {
                    for (int64_t c = 0; c < m_out[1]; ++c) {
                        float* yr = y + n * m_os[0] + c * m_os[1] + h * m_os[2];
                        std::fill(yr, yr + m_out[3], m_value);
                        const int64_t ci = c - m_begin[1];
                        if (!inside || ci < 0 || ci >= m_in[1]) continue;
                        std::memcpy(yr + m_begin[3], x + ni * m_is[0] + ci * m_is[1] + hi * m_is[2],
                                    static_cast<size_t>(m_in[3]) * sizeof(float));
                    }
                }
            }
        });
        return {};
    }

  private:
    Shape m_in, m_out;
    std::vector<int64_t> m_begin;  // N, C, H, W
    bool m_nhwc;
    float m_value;
    std::vector<int64_t> m_is, m_os;
};

}  // namespace

KernelPtr makeReorderKernel(const Shape& shape, Layout from, Layout to) {
    if (from == to || layoutsCoincide(shape)) {
        return std::make_unique<CopyKernel>(static_cast<size_t>(elementCount(shape)) * 4);
    }
    return std::make_unique<ReorderKernel>(shape, to == Layout::Nhwc);
}

KernelPtr makeCopyKernel(size_t bytes) {
    return std::make_unique<CopyKernel>(bytes);
}

Result<KernelPtr> makePoolKernel(const Node& node, const Shape& in, const Shape& out, Layout layout,
                                 const DenseEngine& engine, std::string& name) {
    if (in.size() != 4) return makeError(ErrorCode::Unsupported, "only 2-D pooling is fast");
#if !PRUNELAB_CPU_ONEDNN
    (void)node, (void)out, (void)layout, (void)engine, (void)name;
    return makeError(ErrorCode::Unsupported, "no fast pool kernel (built without oneDNN)");
#else
    const bool isMax = node.op == OpKind::MaxPool;
    PL_TRY_ASSIGN(auto kernel, convAttrInts(node.attrs, "kernel_shape", 2, 1, 1, "pool"));
    PL_TRY_ASSIGN(auto strides, convAttrInts(node.attrs, "strides", 2, 1, 1, "pool"));
    PL_TRY_ASSIGN(auto pads, convAttrInts(node.attrs, "pads", 4, 0, 0, "pool"));
    PL_TRY_ASSIGN(auto dil, convAttrInts(node.attrs, "dilations", 2, 1, 1, "pool"));
    const bool includePad = node.attrs.getInt("count_include_pad", 0) != 0;
    memory::dims padR(2);
    for (int d = 0; d < 2; ++d) {
        const size_t u = static_cast<size_t>(d);
        const int64_t eff = (kernel[u] - 1) * dil[u] + 1;
        // oneDNN derives the output size from the pads: extend the end pad for ceil mode's
        // extra window; the floor-mode pad already gives the right size.
        const int64_t needed = (out[2 + u] - 1) * strides[u] + eff - in[2 + u] - pads[u];
        padR[u] = std::max(needed, pads[2 + u]);
        if ((in[2 + u] + pads[u] + padR[u] - eff) / strides[u] + 1 != out[2 + u]) {
            return makeError(ErrorCode::Unsupported, "pool output size oneDNN cannot express");
        }
        if (!isMax && (dil[u] != 1 || (includePad && padR[u] != pads[2 + u]))) {
            return makeError(ErrorCode::Unsupported,
                             "average pool with dilation or ceil-mode padding counted");
        }
    }
    const dnnl::algorithm alg = isMax        ? dnnl::algorithm::pooling_max
                                : includePad ? dnnl::algorithm::pooling_avg_include_padding
                                             : dnnl::algorithm::pooling_avg_exclude_padding;
    const Tag tag = layout == Layout::Nhwc ? Tag::nhwc : Tag::nchw;
    try {
        const memory::desc srcMd(memory::dims(in.begin(), in.end()), Dt::f32, tag);
        const memory::desc dstMd(memory::dims(out.begin(), out.end()), Dt::f32, tag);
        dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, srcMd, dstMd,
                                         {strides[0], strides[1]}, {kernel[0], kernel[1]},
                                         {dil[0] - 1, dil[1] - 1}, {pads[0], pads[1]}, padR);
        dnnl::pooling_v2_forward::primitive_desc pd(d, singleAttr(), engine);
        name = std::string("dnnl ") + (isMax ? "maxpool " : "avgpool ") +
               std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) + " " +
               layoutName(layout) + " (" + pd.impl_info_str() + ")";
        return singlePiece(engine, dnnl::pooling_v2_forward(pd), srcMd, dstMd,
                           pd.scratchpad_desc());
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
#endif
}

Result<KernelPtr> makeGlobalAveragePoolKernel(const Shape& in, Layout layout) {
    if (in.size() != 4) return makeError(ErrorCode::Unsupported, "only 4-D is fast");
    return KernelPtr(std::make_unique<GlobalAveragePoolKernel>(in, layout));
}

Result<KernelPtr> makeConcatKernel(const std::vector<Shape>& inputs, const Shape& out, int64_t axis,
                                   Layout layout, size_t elementSize) {
    if (axis < 0 || axis >= static_cast<int64_t>(out.size())) {
        return makeError(ErrorCode::InvalidArgument, "concat axis out of range");
    }
    // The axis's position in memory order decides what is "outer" and what is one chunk.
    const std::vector<int> order = memoryOrder(out.size(), layout);
    const auto pos =
        static_cast<size_t>(std::find(order.begin(), order.end(), axis) - order.begin());
    int64_t outer = 1;
    int64_t inner = 1;
    for (size_t i = 0; i < order.size(); ++i) {
        const int64_t dim = out[static_cast<size_t>(order[i])];
        if (i < pos) outer *= dim;
        if (i > pos) inner *= dim;
    }
    std::vector<int64_t> chunks;
    for (const Shape& s : inputs) {
        chunks.push_back(s[static_cast<size_t>(axis)] * inner * static_cast<int64_t>(elementSize));
    }
    return KernelPtr(std::make_unique<ConcatKernel>(outer, std::move(chunks)));
}

Result<KernelPtr> makeTransposeKernel(const Shape& in, const std::vector<int64_t>& perm,
                                      size_t elementSize) {
    if (perm.size() != in.size()) return makeError(ErrorCode::InvalidArgument, "bad perm");
    const std::vector<int64_t> inStrides = layoutStrides(in, Layout::Plain);
    Shape out;
    std::vector<int64_t> strides;
    for (int64_t p : perm) {
        if (p < 0 || p >= static_cast<int64_t>(in.size())) {
            return makeError(ErrorCode::InvalidArgument, "bad perm");
        }
        out.push_back(in[static_cast<size_t>(p)]);
        strides.push_back(inStrides[static_cast<size_t>(p)]);
    }
    return KernelPtr(std::make_unique<TransposeKernel>(out, strides, elementSize));
}

Result<KernelPtr> makeSoftmaxKernel(const Node& node, const Shape& shape,
                                    const DenseEngine& engine) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    int64_t axis = node.attrs.getInt("axis", -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return makeError(ErrorCode::InvalidArgument, "bad axis");
    // As [outer, axisLen, inner] (or [outer, rest] for the legacy flattening semantics).
    int64_t outer = 1;
    int64_t len = 1;
    int64_t inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t dim = shape[static_cast<size_t>(d)];
        if (d < axis) {
            outer *= dim;
        } else if (d == axis || node.attrs.getInt("legacy", 0) != 0) {
            len *= dim;
        } else {
            inner *= dim;
        }
    }
#if !PRUNELAB_CPU_ONEDNN
    (void)engine;
    return makeError(ErrorCode::Unsupported, "no fast softmax kernel (built without oneDNN)");
#else
    try {
        const memory::desc md({outer, len, inner}, Dt::f32, Tag::abc);
        dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
        dnnl::softmax_forward::primitive_desc pd(d, singleAttr(), engine);
        return singlePiece(engine, dnnl::softmax_forward(pd), md, md, pd.scratchpad_desc());
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
#endif
}

Result<KernelPtr> makeDepthToSpaceKernel(const Node& node, const Shape& in, Layout inLayout,
                                         Layout outLayout, std::string& name) {
    const int64_t b = node.attrs.getInt("blocksize", 1);
    const std::string mode = node.attrs.getString("mode", "DCR");
    if (in.size() != 4 || b < 1 || in[1] % (b * b) != 0 || (mode != "DCR" && mode != "CRD")) {
        return makeError(ErrorCode::Unsupported, "not a 4-D DepthToSpace");
    }
    name =
        "depth-to-space " + mode + " loop " + layoutName(inLayout) + "->" + layoutName(outLayout);
    return KernelPtr(
        std::make_unique<DepthToSpaceKernel>(in, inLayout, outLayout, b, mode == "DCR"));
}

Result<KernelPtr> makePadKernel(const Node& node, const Shape& in, const Shape& out, Layout layout,
                                std::string& name) {
    const std::vector<int64_t> pads = node.attrs.getInts("pads");
    const std::string mode = node.attrs.getString("mode", "constant");
    if (mode != "constant") {
        return makeError(ErrorCode::Unsupported, "no fast " + mode + " Pad kernel (constant only)");
    }
    if (in.size() != 4 || out.size() != 4 || pads.size() != 8) {
        return makeError(ErrorCode::Unsupported, "not a Pad of a 4-D tensor");
    }
    for (int64_t p : pads) {
        if (p < 0) return makeError(ErrorCode::Unsupported, "a negative pad crops: reference");
    }
    name = std::string("pad constant loop ") + layoutName(layout);
    return KernelPtr(
        std::make_unique<PadKernel>(in, out, std::vector<int64_t>(pads.begin(), pads.begin() + 4),
                                    layout, node.attrs.getFloat("value", 0.0f)));
}

Result<KernelPtr> makeResizeKernel(const Node& node, const Shape& in, const Shape& out,
                                   Layout layout) {
    if (in.size() != 4 || in[0] != out[0] || in[1] != out[1]) {
        return makeError(ErrorCode::Unsupported, "only 2-D spatial resize is fast");
    }
    const std::string mode = node.attrs.getString("mode", "nearest");
    if (mode != "nearest" && mode != "linear" && mode != "cubic") {
        return makeError(ErrorCode::Unsupported, "mode '" + mode + "'");
    }
    const std::vector<float> scales = node.attrs.getFloats("scales");
    auto scaleOf = [&](size_t d) {
        return scales.size() == 4 ? scales[d]
                                  : static_cast<float>(out[d]) / static_cast<float>(in[d]);
    };
    if (mode == "cubic") {
        PL_TRY_ASSIGN(auto ys, cubicAxis(node, in[2], out[2], scaleOf(2)));
        PL_TRY_ASSIGN(auto xs, cubicAxis(node, in[3], out[3], scaleOf(3)));
        return KernelPtr(
            std::make_unique<CubicResizeKernel>(in, out, layout, std::move(ys), std::move(xs)));
    }
    if (node.attrs.getInt("exclude_outside", 0) != 0) {
        return makeError(ErrorCode::Unsupported, "exclude_outside");
    }
    const bool linear = mode == "linear";
    PL_TRY_ASSIGN(auto ys, resizeAxis(node, in[2], out[2], scaleOf(2), linear));
    PL_TRY_ASSIGN(auto xs, resizeAxis(node, in[3], out[3], scaleOf(3), linear));
    return KernelPtr(
        std::make_unique<ResizeKernel>(in, out, layout, std::move(ys), std::move(xs), linear));
}

Result<KernelPtr> makeReferenceKernel(const Node& node, const std::vector<DataType>& inTypes,
                                      const std::vector<Shape>& inShapes,
                                      const std::vector<Tensor>& constants,
                                      const std::vector<DataType>& outTypes,
                                      const std::vector<Shape>& outShapes) {
    const OpDef& def = opDef(node.op);
    if (def.reference == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "op " + std::string(def.name) + " has no reference kernel");
    }
    std::vector<Tensor> ins;
    std::vector<bool> isConstant;
    for (size_t i = 0; i < inTypes.size(); ++i) {
        if (inTypes[i] == DataType::Undefined) {
            ins.emplace_back();
            isConstant.push_back(false);
        } else if (!constants[i].empty()) {
            ins.push_back(constants[i]);
            isConstant.push_back(true);
        } else {
            PL_TRY_ASSIGN(Tensor t, Tensor::make(inTypes[i], inShapes[i]));
            ins.push_back(std::move(t));
            isConstant.push_back(false);
        }
    }
    std::vector<Tensor> outs;
    for (size_t i = 0; i < outTypes.size(); ++i) {
        PL_TRY_ASSIGN(Tensor t, Tensor::make(outTypes[i], outShapes[i]));
        outs.push_back(std::move(t));
    }
    return KernelPtr(std::make_unique<ReferenceKernel>(node, std::move(ins), std::move(isConstant),
                                                       std::move(outs)));
}

}  // namespace prunelab::engine::cpu

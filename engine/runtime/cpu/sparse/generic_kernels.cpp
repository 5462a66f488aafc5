// The generic sparse kernels: row loops over FKW patterns, packed tiles and CSR that every
// compiled layer can fall back to, and the plain reference loops they are tested against.
// Measured limits of pattern kernels on x86: the team's PATTERN-KERNELS.md notes.
#include "engine/runtime/cpu/sparse/generic_kernels.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <vector>

// The engine builds for baseline x86-64; these clones give the row loops AVX-512 and AVX2 + FMA
// code picked at load time (GCC function multi-versioning). Local rather than cpu_kernels.h's
// PL_VECTOR_CLONES: that header pulls in oneDNN, and its "avx2" clone has no FMA, which these
// multiply-add loops are made of.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PL_CODEGEN_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PL_CODEGEN_CLONES
#endif

namespace prunelab::engine::cpu {

using codegen::CsrWeights;
using codegen::FkwWeights;
using codegen::KernelKind;
using codegen::LayerCode;
using codegen::TileWeights;

namespace {

// ---- Row loops ---------------------------------------------------------------------------
// Every loop runs over consecutive output pixels of one row, so the compiler vectorises it
// without gathers; __restrict tells it the output row never overlaps the input rows (several
// input pointers may point at the same row: they are only read). Weights are copied to locals
// so they stay in registers, broadcast once per call.

PL_CODEGEN_CLONES void axpyRow(float* __restrict y, const float* __restrict x, float w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += w * x[i];
}

PL_CODEGEN_CLONES void axpyRowStrided(float* __restrict y, const float* __restrict x, float w,
                                      int64_t n, int64_t stride) {
    for (int64_t i = 0; i < n; ++i) y[i] += w * x[i * stride];
}

// One pattern kernel's 4 taps in one pass: 4 multiply-adds per load and store of the output
// row, where one pass per tap would load and store it 4 times (the L1 ports, not the FMA units,
// are the limit; PATTERN-KERNELS.md).
PL_CODEGEN_CLONES void taps4Row(float* __restrict y, const float* __restrict s0,
                                const float* __restrict s1, const float* __restrict s2,
                                const float* __restrict s3, const float* w, int64_t n) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (int64_t i = 0; i < n; ++i) y[i] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i] + w3 * s3[i];
}

// Stride 2 gets its own copy so the stride is a constant the vectoriser can turn into
// even-element shuffles instead of gathers.
PL_CODEGEN_CLONES void taps4RowStride2(float* __restrict y, const float* __restrict s0,
                                       const float* __restrict s1, const float* __restrict s2,
                                       const float* __restrict s3, const float* w, int64_t n) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (int64_t i = 0; i < n; ++i) {
        y[i] += w0 * s0[2 * i] + w1 * s1[2 * i] + w2 * s2[2 * i] + w3 * s3[2 * i];
    }
}

PL_CODEGEN_CLONES void taps4RowStrided(float* __restrict y, const float* __restrict s0,
                                       const float* __restrict s1, const float* __restrict s2,
                                       const float* __restrict s3, const float* w, int64_t n,
                                       int64_t stride) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (int64_t i = 0; i < n; ++i) {
        const int64_t j = i * stride;
        y[i] += w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j];
    }
}

// Load-redundancy elimination: two or four filters whose kernels read the same input channel
// with the same pattern share each loaded input vector (4 loads feed 8 or 16 multiply-adds).
PL_CODEGEN_CLONES void taps4Row2(float* __restrict y0, float* __restrict y1,
                                 const float* __restrict s0, const float* __restrict s1,
                                 const float* __restrict s2, const float* __restrict s3,
                                 const float* wa, const float* wb, int64_t n) {
    const float a0 = wa[0], a1 = wa[1], a2 = wa[2], a3 = wa[3];
    const float b0 = wb[0], b1 = wb[1], b2 = wb[2], b3 = wb[3];
    for (int64_t i = 0; i < n; ++i) {
        const float v0 = s0[i], v1 = s1[i], v2 = s2[i], v3 = s3[i];
        y0[i] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3;
        y1[i] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3;
    }
}

PL_CODEGEN_CLONES void taps4Row4(float* __restrict y0, float* __restrict y1, float* __restrict y2,
                                 float* __restrict y3, const float* __restrict s0,
                                 const float* __restrict s1, const float* __restrict s2,
                                 const float* __restrict s3, const float* wa, const float* wb,
                                 const float* wc, const float* wd, int64_t n) {
    const float a0 = wa[0], a1 = wa[1], a2 = wa[2], a3 = wa[3];
    const float b0 = wb[0], b1 = wb[1], b2 = wb[2], b3 = wb[3];
    const float c0 = wc[0], c1 = wc[1], c2 = wc[2], c3 = wc[3];
    const float d0 = wd[0], d1 = wd[1], d2 = wd[2], d3 = wd[3];
    for (int64_t i = 0; i < n; ++i) {
        const float v0 = s0[i], v1 = s1[i], v2 = s2[i], v3 = s3[i];
        y0[i] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3;
        y1[i] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3;
        y2[i] += c0 * v0 + c1 * v1 + c2 * v2 + c3 * v3;
        y3[i] += d0 * v0 + d1 * v1 + d2 * v2 + d3 * v3;
    }
}

// ---- Epilogue ----------------------------------------------------------------------------

// y = act(y + residual) over one row of one output channel (`slope`: that channel's PRelu
// slope). The switch sits outside the loops so each loop vectorises.
PL_CODEGEN_CLONES void finishRow(float* __restrict y, const float* __restrict residual, int64_t n,
                                 const Epilogue& epi, float slope) {
    if (residual) {
        for (int64_t i = 0; i < n; ++i) y[i] += residual[i];
    }
    switch (epi.activation) {
        case Epilogue::Activation::None:
            break;
        case Epilogue::Activation::Relu:
            for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0.0f ? 0.0f : y[i];
            break;
        case Epilogue::Activation::LeakyRelu:
            slope = epi.alpha;
            [[fallthrough]];
        case Epilogue::Activation::PRelu:
            for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0.0f ? slope * y[i] : y[i];
            break;
        case Epilogue::Activation::Clip: {
            const float lo = epi.clipMin, hi = epi.clipMax;
            for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], lo), hi);
            break;
        }
        case Epilogue::Activation::HardSwish:
            for (int64_t i = 0; i < n; ++i) {
                y[i] = y[i] * std::min(std::max(y[i] + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
            }
            break;
    }
}

// One value; `slope` as above. For the Gemm rows, whose channel changes with every value.
float finishValue(float v, const Epilogue& epi, float slope) {
    switch (epi.activation) {
        case Epilogue::Activation::None:
            return v;
        case Epilogue::Activation::Relu:
            return v < 0.0f ? 0.0f : v;
        case Epilogue::Activation::LeakyRelu:
            return v < 0.0f ? epi.alpha * v : v;
        case Epilogue::Activation::PRelu:
            return v < 0.0f ? slope * v : v;
        case Epilogue::Activation::Clip:
            return std::min(std::max(v, epi.clipMin), epi.clipMax);
        case Epilogue::Activation::HardSwish:
            return v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
    }
    return v;
}

float slopeOf(const Epilogue& epi, int64_t channel) {
    return epi.activation == Epilogue::Activation::PRelu ? epi.slopes[channel] : 0.0f;
}

// ---- Geometry ----------------------------------------------------------------------------

// Output positions o in [lo, hi) whose input o * stride + offset falls inside [0, inLen): the
// range a tap needs no bounds checks in. Empty (lo == hi) when there is none.
struct Range {
    int64_t lo = 0, hi = 0;
};
Range validOutputs(int64_t offset, int64_t stride, int64_t inLen, int64_t outLen) {
    const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    const int64_t hi = inLen - 1 - offset < 0 ? 0 : (inLen - 1 - offset) / stride + 1;
    Range r{std::min(lo, outLen), std::min(hi, outLen)};
    r.hi = std::max(r.hi, r.lo);
    return r;
}

// A GEMM-view column (i * kh + y) * kw + x as its input channel within the group and its tap.
struct Tap {
    int64_t channel, y, x;
};
Tap decodeColumn(const ConvParams& c, int64_t column) {
    return {column / (c.kernelH * c.kernelW), column / c.kernelW % c.kernelH, column % c.kernelW};
}

// The 4 kept positions (y, x) of a 3x3 pattern, in increasing position order as FKW stores
// the weights. A pattern with other than 4 bits would break FKW's fixed stride: asserted.
std::array<Tap, 4> patternTaps(prune::Pattern pattern) {
    std::array<Tap, 4> taps{};
    int n = 0;
    for (int p = 0; p < 9; ++p) {
        if (!(pattern >> p & 1)) continue;
        assert(n < 4 && "FKW patterns keep exactly 4 weights");
        if (n < 4) taps[static_cast<size_t>(n)] = {0, p / 3, p % 3};
        ++n;
    }
    assert(n == 4 && "FKW patterns keep exactly 4 weights");
    return taps;
}

// ---- Pattern (FKW) -----------------------------------------------------------------------
// Loop order, per output row: input channels outside, the filters that read each channel
// inside, so a channel's 3 input rows come from L2 once per output row and serve every filter
// from L1, while the output rows (outChannels x outW floats) stay in L2. Measured on the
// 64->64 3x3 layer at 240x320: filter-major order (one filter's row, all its kernels, each
// filter re-reading its input rows from L2) 28 ms, this 24 ms, and blocks of 16 output
// channels kept in L1 10% slower than this.

// Floats of output row chunks to cover at once. Small chunks that keep every output channel's
// chunk in L1 (8192 floats: 128 pixels at 64 channels) measured 10% slower than whole rows, and
// 4096 floats 60% slower: the per-call setup and the vector loops' tails outweigh L1 hits.
// Only rows wider than this over all output channels are cut, to keep them in L2.
constexpr int64_t kChunkFloats = 1 << 16;

// The kernels that read one input channel with one pattern (up to 4 filters): one pass over
// the input rows serves them all, each loaded vector feeding 4 multiply-adds per filter.
struct KernelGroup {
    int32_t channel = 0;  // absolute input channel
    uint8_t pattern = 0;
    int count = 0;
    std::array<int32_t, 4> output{};  // output channel of each filter
    std::array<int32_t, 4> kernel{};  // index into the FKW per-kernel arrays
};

// Groups in input-channel order (the planes are walked front to back), filters within a
// group in run order (filterOrder). tuning.filterBlock caps the filters per group (1 = no
// load sharing).
std::vector<KernelGroup> planPatternGroups(const LayerCode& layer) {
    const FkwWeights& fkw = layer.fkw;
    const ConvParams& c = layer.conv;
    const int64_t inPerGroup = c.inChannelsPerGroup(), outPerGroup = c.outChannelsPerGroup();
    const int share = std::clamp(layer.tuning.filterBlock, 1, 4);
    struct Entry {
        int32_t channel;
        uint8_t pattern;
        int32_t filter, kernel;
    };
    // Bucketed by input channel (a counting sort), then each small bucket sorted by pattern and
    // run position: this runs on every call, and a full sort of the kernels made a call with
    // one row twice as slow as one with the whole layer.
    std::vector<int32_t> start(static_cast<size_t>(c.inChannels) + 1, 0);
    for (size_t f = 0; f < fkw.filterOrder.size(); ++f) {
        const int64_t inBase = fkw.filterOrder[f] / outPerGroup * inPerGroup;
        for (int32_t k = fkw.kernelStart[f]; k < fkw.kernelStart[f + 1]; ++k) {
            ++start[size_t(inBase + fkw.inputChannel[size_t(k)]) + 1];
        }
    }
    for (size_t ch = 0; ch < size_t(c.inChannels); ++ch) start[ch + 1] += start[ch];
    std::vector<Entry> entries(static_cast<size_t>(start.back()));
    std::vector<int32_t> next(start.begin(), start.end() - 1);
    for (size_t f = 0; f < fkw.filterOrder.size(); ++f) {
        const int64_t inBase = fkw.filterOrder[f] / outPerGroup * inPerGroup;
        for (int32_t k = fkw.kernelStart[f]; k < fkw.kernelStart[f + 1]; ++k) {
            const auto ch = static_cast<int32_t>(inBase + fkw.inputChannel[size_t(k)]);
            entries[size_t(next[size_t(ch)]++)] = {ch, fkw.patternId[size_t(k)],
                                                   static_cast<int32_t>(f), k};
        }
    }
    for (size_t ch = 0; ch < size_t(c.inChannels); ++ch) {
        std::sort(entries.begin() + start[ch], entries.begin() + start[ch + 1],
                  [](const Entry& a, const Entry& b) {
                      return a.pattern != b.pattern ? a.pattern < b.pattern : a.filter < b.filter;
                  });
    }
    std::vector<KernelGroup> groups;
    for (size_t e = 0; e < entries.size(); ++e) {
        const bool extend = e > 0 && entries[e].channel == entries[e - 1].channel &&
                            entries[e].pattern == entries[e - 1].pattern &&
                            groups.back().count < share;
        if (!extend) groups.push_back({entries[e].channel, entries[e].pattern});
        KernelGroup& g = groups.back();
        g.output[size_t(g.count)] = fkw.filterOrder[size_t(entries[e].filter)];
        g.kernel[size_t(g.count)] = entries[e].kernel;
        ++g.count;
    }
    return groups;
}

// One group's pointers for the current output row.
struct GroupRow {
    std::array<const float*, 4> rowBase{};  // input row of each tap; nullptr in the padding
    std::array<const float*, 4> src{};      // each tap's input at column inner.lo
    std::array<float*, 4> y{};              // each filter's output row
};

void runPattern(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                int64_t rowBegin, int64_t rowEnd) {
    const ConvParams& c = layer.conv;
    const FkwWeights& fkw = layer.fkw;
    assert(c.kernelH == 3 && c.kernelW == 3);
    const int64_t sw = c.strideW, inPlane = c.inH * c.inW;
    const int64_t outPlane = c.outH * c.outW, outW = c.outW;
    std::vector<std::array<Tap, 4>> taps;
    for (prune::Pattern p : fkw.patterns) taps.push_back(patternTaps(p));
    const std::vector<KernelGroup> groups = planPatternGroups(layer);
    std::vector<GroupRow> rows(groups.size());

    // The columns where every tap of every pattern is inside the input: the loops there need no
    // bounds checks. The border columns (a padding's worth on each side) go pixel by pixel.
    Range inner{0, outW};
    for (int64_t x = 0; x < 3; ++x) {
        const Range r = validOutputs(x * c.dilationW - c.padLeft, sw, c.inW, outW);
        inner = {std::max(inner.lo, r.lo), std::min(inner.hi, r.hi)};
    }
    inner.hi = std::max(inner.hi, inner.lo);
    const int64_t chunk = std::max<int64_t>(64, kChunkFloats / c.outChannels / 16 * 16);
    // Per kernel column x: the border output columns ox it reaches and the input column ix.
    std::array<std::vector<std::pair<int64_t, int64_t>>, 3> border;
    for (int64_t x = 0; x < 3; ++x) {
        for (int64_t ox = 0; ox < outW; ++ox) {
            if (ox >= inner.lo && ox < inner.hi) continue;
            const int64_t ix = ox * sw + x * c.dilationW - c.padLeft;
            if (ix >= 0 && ix < c.inW) border[size_t(x)].emplace_back(ox, ix);
        }
    }
    // A tap whose input row lies in the vertical padding reads this zero row instead, so the
    // row loops keep their fixed shape at the top and bottom edges.
    const std::vector<float> zeroRow(static_cast<size_t>(c.inW), 0.0f);
    auto w = [&](const KernelGroup& g, int i) {
        return &fkw.weights[size_t(g.kernel[size_t(i)]) * 4];
    };

    for (int64_t n = 0; n < c.batch; ++n) {
        const float* in = input + n * c.inChannels * inPlane;
        float* out = output + n * c.outChannels * outPlane;
        for (int64_t oy = rowBegin; oy < rowEnd; ++oy) {
            for (int64_t o = 0; o < c.outChannels; ++o) {
                float* y = out + o * outPlane + oy * outW;
                std::fill(y, y + outW, layer.bias[size_t(o)]);
            }
            for (size_t gi = 0; gi < groups.size(); ++gi) {
                const KernelGroup& g = groups[gi];
                const std::array<Tap, 4>& t = taps[g.pattern];
                GroupRow& r = rows[gi];
                for (size_t k = 0; k < 4; ++k) {
                    const int64_t iy = oy * c.strideH - c.padTop + t[k].y * c.dilationH;
                    const bool inside = iy >= 0 && iy < c.inH;
                    r.rowBase[k] = inside ? in + g.channel * inPlane + iy * c.inW : nullptr;
                    const float* row = inside ? r.rowBase[k] : zeroRow.data();
                    if (inner.hi > inner.lo) {
                        r.src[k] = row + (inner.lo * sw + t[k].x * c.dilationW - c.padLeft);
                    }
                }
                for (int i = 0; i < g.count; ++i) {
                    r.y[size_t(i)] = out + g.output[size_t(i)] * outPlane + oy * outW;
                }
            }
            for (int64_t x0 = inner.lo; x0 < inner.hi; x0 += chunk) {
                const int64_t len = std::min(chunk, inner.hi - x0), skip = (x0 - inner.lo) * sw;
                for (size_t gi = 0; gi < groups.size(); ++gi) {
                    const KernelGroup& g = groups[gi];
                    const GroupRow& r = rows[gi];
                    const float *s0 = r.src[0] + skip, *s1 = r.src[1] + skip, *s2 = r.src[2] + skip,
                                *s3 = r.src[3] + skip;
                    auto y = [&](int i) { return r.y[size_t(i)] + x0; };
                    if (sw == 1) {
                        int i = 0;
                        if (g.count == 4) {
                            taps4Row4(y(0), y(1), y(2), y(3), s0, s1, s2, s3, w(g, 0), w(g, 1),
                                      w(g, 2), w(g, 3), len);
                            i = 4;
                        }
                        for (; i + 1 < g.count; i += 2) {
                            taps4Row2(y(i), y(i + 1), s0, s1, s2, s3, w(g, i), w(g, i + 1), len);
                        }
                        if (i < g.count) taps4Row(y(i), s0, s1, s2, s3, w(g, i), len);
                    } else {
                        for (int i = 0; i < g.count; ++i) {
                            if (sw == 2) {
                                taps4RowStride2(y(i), s0, s1, s2, s3, w(g, i), len);
                            } else {
                                taps4RowStrided(y(i), s0, s1, s2, s3, w(g, i), len, sw);
                            }
                        }
                    }
                }
            }
            // Border columns: only the (column, tap) pairs that reach inside the input, listed
            // once per layer (a branchy loop here cost a quarter of the layer's time).
            for (size_t gi = 0; gi < groups.size(); ++gi) {
                const KernelGroup& g = groups[gi];
                const GroupRow& r = rows[gi];
                const std::array<Tap, 4>& t = taps[g.pattern];
                for (size_t k = 0; k < 4; ++k) {
                    if (!r.rowBase[k]) continue;
                    const std::vector<std::pair<int64_t, int64_t>>& cols = border[size_t(t[k].x)];
                    for (int i = 0; i < g.count; ++i) {
                        const float wk = w(g, i)[k];
                        float* yRow = r.y[size_t(i)];
                        for (const auto& [ox, ix] : cols) yRow[ox] += wk * r.rowBase[k][ix];
                    }
                }
            }
            for (int64_t o = 0; o < c.outChannels; ++o) {
                const int64_t at = n * c.outChannels * outPlane + o * outPlane + oy * outW;
                finishRow(output + at, epi.residual ? epi.residual + at : nullptr, outW, epi,
                          slopeOf(epi, o));
            }
        }
    }
}

// ---- Conv through the GEMM view (tiles, CSR) ---------------------------------------------

// ---- Tiles: register-blocked micro-kernel --------------------------------------------------
// A tile is a dense block: its kept rows (output channels) all read the same kept columns (im2col
// rows). So it runs as a small GEMM: R rows x W output pixels of accumulators held in registers
// over all the tile's columns, each column's W input values loaded once and multiplied by R
// broadcast weights (R * W / lanes multiply-adds per W / lanes + R loads, and the output loaded
// and stored once per tile instead of once per weight). The previous loop (one axpy over an
// output row per weight: 1 multiply-add per load and store of the output) ran PP-OCR det's
// tile-75 plan at 0.34x of PruneLab's dense model and its 1x1 layers at 0.26x; this runs them at
// 0.9x and 1.6x (1 thread, every layer sparse). What limits the 1x1 layers now is call size:
// the runtime gives each call rows / (4 x threads) rows, 20 pixels on the 8x10 layers, where
// the kernel computes 2 vectors for 1.25 vectors of pixels and re-reads every weight per call:
// a 384x384 1x1 8x10 layer takes 0.048 ms in one call, 0.11 ms in 2-row calls, 0.14 ms in 1-row
// calls (2 threads). With one call per thread the det 1x1 layers run at 2.0x of dense.

// GCC / Clang vector extensions: one value of 4, 8 or 16 floats, mapped onto one SSE, AVX or
// AVX-512 register in the functions compiled for that ISA below. Loaded and stored with
// __builtin_memcpy (unaligned), never passed by value (that would change the ABI per ISA).
typedef float VecSse __attribute__((vector_size(16)));
typedef float VecAvx __attribute__((vector_size(32)));
typedef float VecAvx512 __attribute__((vector_size(64)));

constexpr int kMaxBlockRows = 8;  // the largest R of the kernels below

// Up to R consecutive kept rows of one tile that share a group (so one input panel). Their
// weights are read where the tile stores them (row-major, a row per kept row): repacking them
// column-major on every call cost as much as a third of the kernel's own time on the 8x10
// 384-channel layers, and R row pointers stepping together read as well.
struct TileBlock {
    int64_t group = 0;
    int count = 0;
    std::array<int32_t, kMaxBlockRows> rows{};  // output channels
    int64_t weights = 0;                        // the first row's weights in TileWeights::blocks
};

struct PlannedTile {
    const std::vector<int32_t>* columns = nullptr;
    size_t firstBlock = 0, endBlock = 0;  // blocks are in row (so group) order
    size_t firstTap = 0;                  // the columns decoded, in TilePlan::taps
};

struct TilePlan {
    std::vector<PlannedTile> tiles;  // tiles with at least one row and one column
    std::vector<TileBlock> blocks;
    // The columns decoded once per call. Decoding them (and their stride-phase offsets) per group
    // and column, divisions all, made a 384-channel 5x5 depthwise 8x10 layer 0.156 ms, not 0.086.
    std::vector<Tap> taps;
    int64_t maxColumns = 0;
};

// Rows cut into blocks of at most `maxRows` within each group's run, balanced (10 rows at R = 8
// make 5 + 5, not 8 + 2: a 2-row block does 2 multiply-adds per input load). Done on every call
// (O(kept rows)).
TilePlan planTiles(const LayerCode& layer, int maxRows) {
    const TileWeights& tw = layer.tiles;
    const int64_t outPerGroup = layer.conv.outChannelsPerGroup();
    const bool pointwise = layer.conv.kernelH == 1 && layer.conv.kernelW == 1;
    TilePlan plan;
    size_t keptRows = 0, keptColumns = 0;
    for (size_t t = 0; t < tw.rows.size(); ++t) {
        keptRows += tw.rows[t].size();
        keptColumns += tw.columns[t].size();
    }
    plan.tiles.reserve(tw.rows.size());
    plan.blocks.reserve(keptRows);  // at least one row per block
    plan.taps.reserve(keptColumns);
    for (size_t t = 0; t < tw.rows.size(); ++t) {
        const std::vector<int32_t>& rows = tw.rows[t];
        const std::vector<int32_t>& cols = tw.columns[t];
        if (rows.empty() || cols.empty()) continue;
        const int64_t ncols = static_cast<int64_t>(cols.size());
        PlannedTile pt{&cols, plan.blocks.size(), 0, plan.taps.size()};
        for (int32_t col : cols) {
            plan.taps.push_back(pointwise ? Tap{col, 0, 0} : decodeColumn(layer.conv, col));
        }
        for (size_t begin = 0; begin < rows.size();) {
            // Rows are sorted: a group's rows end at its first row past the group's channels.
            // (A division per row was a fifth of a 384-channel 8x10 layer's time, 2 rows per
            // call.)
            const int64_t group = rows[begin] / outPerGroup, groupEnd = (group + 1) * outPerGroup;
            size_t end = begin;
            while (end < rows.size() && rows[end] < groupEnd) ++end;
            const auto run = static_cast<int64_t>(end - begin);
            const int64_t pieces = (run + maxRows - 1) / maxRows;
            for (int64_t p = 0, first = 0; p < pieces; ++p) {
                const int64_t count = (run - first) / (pieces - p);  // balanced
                TileBlock b;
                b.group = group;
                b.count = static_cast<int>(count);
                b.weights = tw.blockStart[t] + (int64_t(begin) + first) * ncols;
                for (int64_t r = 0; r < count; ++r) {
                    b.rows[size_t(r)] = rows[begin + size_t(first + r)];
                }
                plan.blocks.push_back(b);
                first += count;
            }
            begin = end;
        }
        pt.endBlock = plan.blocks.size();
        plan.tiles.push_back(pt);
        plan.maxColumns = std::max(plan.maxColumns, ncols);
    }
    return plan;
}

// One call of the micro-kernels: the row blocks of one tile and group over `pixels` consecutive
// output values per row. Row o's values start at out + o * channelStride.
struct BlockRun {
    const TileBlock* blocks = nullptr;
    size_t count = 0;
    const float* weights = nullptr;     // TileWeights::blocks
    const float* const* src = nullptr;  // per column: its input value for the first pixel
    int64_t columns = 0;
    float* out = nullptr;
    int64_t channelStride = 0;
    int64_t pixels = 0;
    float* tail = nullptr;            // columns * 16 floats of scratch
    const float** tailSrc = nullptr;  // columns pointers of scratch
};

// R rows x P vectors: acc[r][p] += w[r][j] * src[j][at + p * lanes] over every column j, then
// added to the output. Partial: only the first `valid` values of the single vector are stored
// (its inputs are a zero-padded copy of the columns' last values).
template <class V, int R, int P, bool Partial>
[[gnu::always_inline]] inline void microKernel(const BlockRun& a, const TileBlock& b,
                                               const float* const* src, int64_t at, int64_t outAt,
                                               int64_t valid) {
    constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(float));
    V acc[R][P] = {};
    const float* w[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) w[r] = a.weights + b.weights + r * a.columns;
    for (int64_t j = 0; j < a.columns; ++j) {
        const float* s = src[j] + at;
        V x[P];
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) __builtin_memcpy(&x[p], s + p * lanes, sizeof(V));
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const float wr = w[r][j];
#pragma GCC unroll 8
            for (int p = 0; p < P; ++p) acc[r][p] += wr * x[p];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        float* y = a.out + b.rows[size_t(r)] * a.channelStride + outAt;
        if constexpr (Partial) {
            float values[lanes];
            __builtin_memcpy(values, &acc[r][0], sizeof(V));
            for (int64_t i = 0; i < valid; ++i) y[i] += values[i];
        } else {
#pragma GCC unroll 8
            for (int p = 0; p < P; ++p) {
                V v;
                __builtin_memcpy(&v, y + p * lanes, sizeof(V));
                v += acc[r][p];
                __builtin_memcpy(y + p * lanes, &v, sizeof(V));
            }
        }
    }
}

// The block's row count (1..R) picked at run time, each count its own fully unrolled kernel.
template <class V, int R, int P, bool Partial>
[[gnu::always_inline]] inline void microRows(const BlockRun& a, const TileBlock& b,
                                             const float* const* src, int64_t at, int64_t outAt,
                                             int64_t valid) {
    if constexpr (R > 1) {
        if (b.count < R) return microRows<V, R - 1, P, Partial>(a, b, src, at, outAt, valid);
    }
    microKernel<V, R, P, Partial>(a, b, src, at, outAt, valid);
}

// The vectors left after the last full W-pixel block (1..P-1) picked at run time.
template <class V, int R, int P>
[[gnu::always_inline]] inline void microVectors(const BlockRun& a, const TileBlock& b, int vectors,
                                                int64_t at) {
    if constexpr (P > 1) {
        if (vectors < P) return microVectors<V, R, P - 1>(a, b, vectors, at);
    }
    microRows<V, R, P, false>(a, b, a.src, at, at, 0);
}

// Pixel blocks outside, row blocks inside: the panel's slice for one pixel block (columns x W
// floats, 12 KB at 64 columns and W = 48) stays in L1 while every row block of the tile reads
// it; the tile's packed weights (rows x columns) stay in L1 too.
template <class V, int R, int P>
[[gnu::always_inline]] inline void runBlocks(const BlockRun& a) {
    constexpr int64_t lanes = static_cast<int64_t>(sizeof(V) / sizeof(float));
    constexpr int64_t width = P * lanes;
    const int64_t full = a.pixels / lanes * lanes;
    int64_t at = 0;
    for (; at + width <= full; at += width) {
        for (size_t i = 0; i < a.count; ++i) {
            microRows<V, R, P, false>(a, a.blocks[i], a.src, at, at, 0);
        }
    }
    if (at < full) {
        const auto vectors = static_cast<int>((full - at) / lanes);
        for (size_t i = 0; i < a.count; ++i) microVectors<V, R, P>(a, a.blocks[i], vectors, at);
    }
    if (full < a.pixels) {
        // The last partial vector: each column's remaining inputs copied into a zero-padded
        // vector, so the kernel never reads past a plane (the input's end, for the last one).
        const int64_t rest = a.pixels - full;
        for (int64_t j = 0; j < a.columns; ++j) {
            float* t = a.tail + j * lanes;
            for (int64_t i = 0; i < lanes; ++i) t[i] = i < rest ? a.src[j][full + i] : 0.0f;
            a.tailSrc[j] = t;
        }
        for (size_t i = 0; i < a.count; ++i) {
            microRows<V, R, 1, true>(a, a.blocks[i], a.tailSrc, 0, full, rest);
        }
    }
}

// One entry per ISA, each with the whole kernel inlined (flatten) and compiled for it; picked
// once at load time. Register budgets: AVX-512 has 32 vector registers, so 8 rows x 3 vectors
// (24 accumulators, 3 inputs, and the weight broadcast folded into the multiply-add); AVX2 and
// SSE have 16: 4 x 3 (12 accumulators, 3 inputs, 1 broadcast). 8 x 3 and 6 x 4 measured the
// same (within 4%) on synthetic 1x1 384x384 8x10, 192x192 16x20 and 3x3 24x96 64x80 layers; 8
// rows because PP-OCR det's 3x3 layers keep 7-8 rows per tile, which one 8-row block covers.
// ISA flags rather than "arch=": GCC inlines only callees of the same -march into a function.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PL_TILE_ISAS 1
__attribute__((target("avx512f"), flatten)) void runBlocksAvx512(const BlockRun& a) {
    runBlocks<VecAvx512, 8, 3>(a);
}
__attribute__((target("avx2,fma"), flatten)) void runBlocksAvx2(const BlockRun& a) {
    runBlocks<VecAvx, 4, 3>(a);
}
#endif
__attribute__((flatten)) void runBlocksSse(const BlockRun& a) {
    runBlocks<VecSse, 4, 3>(a);
}

struct TileKernel {
    void (*run)(const BlockRun&) = nullptr;
    int rows = 0;       // R
    int64_t width = 0;  // pixels per block (P vectors)
    int64_t lanes = 0;  // floats per vector
};

const TileKernel& tileKernel() {
    static const TileKernel kernel = []() -> TileKernel {
#ifdef PL_TILE_ISAS
        if (__builtin_cpu_supports("avx512f")) return {runBlocksAvx512, 8, 48, 16};
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            return {runBlocksAvx2, 4, 24, 8};
        }
#endif
        return {runBlocksSse, 4, 12, 4};
    }();
    return kernel;
}

// Pixels (or Gemm rows) per chunk, a whole number of pixel blocks: the chunk's outputs of every
// channel (revisited by each tile) within 256 KB of L2 and a tile's input panel (columns x
// chunk) within 64 KB. 128 KB of outputs cut PP-OCR det's 384-channel 8x10 layers into 48 + 32
// pixels, each chunk re-reading all the weights: 256 KB keeps their 80 pixels whole.
constexpr int64_t kTileOutputFloats = 1 << 16;
constexpr int64_t kTilePanelFloats = 1 << 14;

int64_t tileChunk(const TileKernel& k, int64_t channels, int64_t columns) {
    const int64_t limit = std::min(kTileOutputFloats / std::max<int64_t>(channels, 1),
                                   kTilePanelFloats / std::max<int64_t>(columns, 1));
    return std::max(k.width, limit / k.width * k.width);
}

// Buffers the tile kernels reuse from call to call on each thread: allocated per call (zeroed,
// and above 128 KB mapped and unmapped by malloc each time) they were a third of an 8x10
// depthwise layer's time.
struct TileWorkspace {
    std::vector<const float*> src, tailSrc;
    std::vector<float> tail, padded, scratch, panel;
};

TileWorkspace& tileWorkspace(int64_t columns) {
    thread_local TileWorkspace w;
    if (w.src.size() < size_t(columns)) {
        w.src.resize(size_t(columns));
        w.tailSrc.resize(size_t(columns));
        w.tail.resize(size_t(columns) * 16);
    }
    return w;
}

// `v` grown to at least n floats (kept contents are stale: callers write what they read, or
// read it only into values they drop).
float* grown(std::vector<float>& v, int64_t n) {
    if (v.size() < size_t(n)) v.resize(size_t(n));
    return v.data();
}

// Every tile's row blocks over one run of `pixels` outputs (row o's at out + o * stride).
// source(group, j, column, tap index in plan.taps) gives column j's input for the run's first pixel
// in that group.
template <class Source>
void runTilePlan(const TileKernel& k, const TilePlan& plan, const float* weights,
                 const Source& source, float* out, int64_t stride, int64_t pixels,
                 TileWorkspace& s) {
    for (const PlannedTile& t : plan.tiles) {
        const std::vector<int32_t>& cols = *t.columns;
        for (size_t b0 = t.firstBlock; b0 < t.endBlock;) {
            const int64_t group = plan.blocks[b0].group;
            size_t b1 = b0;
            while (b1 < t.endBlock && plan.blocks[b1].group == group) ++b1;
            for (size_t j = 0; j < cols.size(); ++j) {
                s.src[j] = source(group, j, cols[j], t.firstTap + j);
            }
            BlockRun run;
            run.blocks = plan.blocks.data() + b0;
            run.count = b1 - b0;
            run.weights = weights;
            run.src = s.src.data();
            run.columns = static_cast<int64_t>(cols.size());
            run.out = out;
            run.channelStride = stride;
            run.pixels = pixels;
            run.tail = s.tail.data();
            run.tailSrc = s.tailSrc.data();
            k.run(run);
            b0 = b1;
        }
    }
}

// Convs other than 1x1 stride-1 unpadded: the input rows a call needs are copied once into a
// zero-padded buffer split into stride phases (phase (py, px) holds padded input pixels
// (y * sh + py, x * sw + px)), and outputs are computed on the phases' width wq = outW +
// (kw - 1) * dw / sw. Then every tap's im2col row is one contiguous run of one phase (tap
// offsets a = ty * dh, b = tx * dw read phase (a % sh, b % sw) from row a / sh, column b / sw):
// the tiles read their panels in place. The junk columns past outW of each row go into a
// scratch, the real ones are copied out with the epilogue. Only the (channel, phase) pairs some
// tile reads are copied (a 75% tile plan leaves most depthwise channels without any).
// Measured against gathering each tile's im2col panel per chunk (7-8 kept rows share each
// gathered value, so the copies cost as much as the FMAs): synthetic 24x96 3x3 at 64x80 1.19 ->
// 0.70 ms; on PP-OCR det tile-75 (1 thread) its 3x3 24x96 layers went from 1.3x to 2.4x of
// PruneLab dense and its depthwise ones from 0.30x to 0.6x.
void runTilesConvPhases(const LayerCode& layer, const TileKernel& k, const TilePlan& plan,
                        const float* input, float* output, const Epilogue& epi, int64_t rowBegin,
                        int64_t rowEnd) {
    const ConvParams& c = layer.conv;
    const int64_t inPlane = c.inH * c.inW, outPlane = c.outH * c.outW, outW = c.outW;
    const int64_t inPerGroup = c.inChannelsPerGroup();
    const int64_t sh = c.strideH, sw = c.strideW, dh = c.dilationH, dw = c.dilationW;
    const int64_t phases = sh * sw;
    const int64_t extraH = (c.kernelH - 1) * dh / sh, wq = outW + (c.kernelW - 1) * dw / sw;
    // Per tap: its phase, and its row and column in the phase (divisions, so once per call).
    std::vector<int64_t> tapPhase(plan.taps.size()), tapRow(plan.taps.size());
    std::vector<int64_t> tapCol(plan.taps.size()), tapOffset(plan.taps.size());
    for (size_t i = 0; i < plan.taps.size(); ++i) {
        const int64_t a = plan.taps[i].y * dh, b = plan.taps[i].x * dw;
        tapPhase[i] = a % sh * sw + b % sw;
        tapRow[i] = a / sh;
        tapCol[i] = b / sw;
    }
    std::vector<uint8_t> needed(size_t(c.inChannels * phases), 0);
    for (const PlannedTile& t : plan.tiles) {
        for (size_t b = t.firstBlock; b < t.endBlock; ++b) {
            if (b > t.firstBlock && plan.blocks[b].group == plan.blocks[b - 1].group) continue;
            for (size_t j = 0; j < t.columns->size(); ++j) {
                const size_t i = t.firstTap + j;
                const int64_t ch = plan.blocks[b].group * inPerGroup + plan.taps[i].channel;
                needed[size_t(ch * phases + tapPhase[i])] = 1;
            }
        }
    }
    // Output rows per pass: their scratch (all channels) within kTileOutputFloats.
    const int64_t passRows =
        std::max<int64_t>(1, kTileOutputFloats / std::max<int64_t>(1, c.outChannels * wq));
    const int64_t maxRows = std::min(passRows, rowEnd - rowBegin);
    // Whole vectors only: each channel's scratch run is rounded up to the vector, and the
    // buffer has a vector of slack at its end, so the kernel computes (and the copy-out drops)
    // a few junk values instead of taking its partial-vector path, which copies every column's
    // last values (on 8x10 depthwise layers, run 2 rows per call, that was most of the work).
    const int64_t lanes = k.lanes;
    TileWorkspace& s = tileWorkspace(plan.maxColumns);
    float* padded = grown(s.padded, c.inChannels * phases * (maxRows + extraH) * wq + lanes);
    float* scratch = grown(s.scratch, c.outChannels * ((maxRows * wq + lanes - 1) / lanes * lanes));
    for (int64_t n = 0; n < c.batch; ++n) {
        const float* in = input + n * c.inChannels * inPlane;
        float* out = output + n * c.outChannels * outPlane;
        for (int64_t r0 = rowBegin; r0 < rowEnd; r0 += passRows) {
            const int64_t rows = std::min(passRows, rowEnd - r0);
            const int64_t hq = rows + extraH;
            for (int64_t ch = 0; ch < c.inChannels; ++ch) {
                for (int64_t ph = 0; ph < phases; ++ph) {
                    if (!needed[size_t(ch * phases + ph)]) continue;
                    const int64_t py = ph / sw, px = ph % sw;
                    const Range valid = validOutputs(px - c.padLeft, sw, c.inW, wq);
                    for (int64_t lr = 0; lr < hq; ++lr) {
                        float* d = padded + ((ch * phases + ph) * hq + lr) * wq;
                        const int64_t iy = (r0 + lr) * sh + py - c.padTop;
                        if (iy < 0 || iy >= c.inH) {
                            std::fill(d, d + wq, 0.0f);
                            continue;
                        }
                        const float* row = in + ch * inPlane + iy * c.inW + px - c.padLeft;
                        std::fill(d, d + valid.lo, 0.0f);
                        if (sw == 1) {
                            std::copy(row + valid.lo, row + valid.hi, d + valid.lo);
                        } else {
                            for (int64_t x = valid.lo; x < valid.hi; ++x) d[x] = row[x * sw];
                        }
                        std::fill(d + valid.hi, d + wq, 0.0f);
                    }
                }
            }
            // The last row's junk columns are computed only up to the vector: the reads stay
            // inside the buffer and its slack.
            const int64_t nq = ((rows - 1) * wq + outW + lanes - 1) / lanes * lanes;
            for (int64_t o = 0; o < c.outChannels; ++o) {
                std::fill_n(scratch + o * nq, nq, layer.bias[size_t(o)]);
            }
            for (size_t i = 0; i < plan.taps.size(); ++i) {
                tapOffset[i] = (tapPhase[i] * hq + tapRow[i]) * wq + tapCol[i];
            }
            const int64_t channelFloats = phases * hq * wq;
            const auto source = [&](int64_t group, size_t, int32_t, size_t i) {
                return padded + (group * inPerGroup + plan.taps[i].channel) * channelFloats +
                       tapOffset[i];
            };
            runTilePlan(k, plan, layer.tiles.blocks.data(), source, scratch, nq, nq, s);
            for (int64_t o = 0; o < c.outChannels; ++o) {
                float* y = out + o * outPlane + r0 * outW;
                for (int64_t r = 0; r < rows; ++r) {
                    const float* q = scratch + o * nq + r * wq;
                    std::copy(q, q + outW, y + r * outW);
                }
                const int64_t at = n * c.outChannels * outPlane + o * outPlane + r0 * outW;
                finishRow(y, epi.residual ? epi.residual + at : nullptr, rows * outW, epi,
                          slopeOf(epi, o));
            }
        }
    }
}

// 1x1 stride-1 unpadded convs: output pixels [rowBegin * outW, rowEnd * outW) of each plane are
// consecutive and each column's input is the same run of its input plane, so the tiles read the
// input planes in place, over chunks of the run. Per chunk: bias, every tile, then the epilogue
// while the chunk is still in cache. Other convs: runTilesConvPhases.
void runTilesConv(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                  int64_t rowBegin, int64_t rowEnd) {
    const ConvParams& c = layer.conv;
    const TileKernel& k = tileKernel();
    const TilePlan plan = planTiles(layer, k.rows);
    const bool direct = c.kernelH == 1 && c.kernelW == 1 && c.strideH == 1 && c.strideW == 1 &&
                        c.padTop == 0 && c.padLeft == 0 && c.inH == c.outH && c.inW == c.outW;
    if (!direct) {
        runTilesConvPhases(layer, k, plan, input, output, epi, rowBegin, rowEnd);
        return;
    }
    const int64_t inPlane = c.inH * c.inW, outPlane = c.outH * c.outW;
    const int64_t inPerGroup = c.inChannelsPerGroup();
    const int64_t chunk = tileChunk(k, c.outChannels, plan.maxColumns);
    TileWorkspace& s = tileWorkspace(plan.maxColumns);
    const int64_t first = rowBegin * c.outW, last = rowEnd * c.outW;
    for (int64_t n = 0; n < c.batch; ++n) {
        const float* in = input + n * c.inChannels * inPlane;
        float* out = output + n * c.outChannels * outPlane;
        for (int64_t p0 = first; p0 < last; p0 += chunk) {
            const int64_t p1 = std::min(last, p0 + chunk);
            for (int64_t o = 0; o < c.outChannels; ++o) {
                std::fill(out + o * outPlane + p0, out + o * outPlane + p1, layer.bias[size_t(o)]);
            }
            const auto source = [&](int64_t group, size_t, int32_t column, size_t) {
                return in + (group * inPerGroup + column) * inPlane + p0;
            };
            runTilePlan(k, plan, layer.tiles.blocks.data(), source, out + p0, outPlane, p1 - p0, s);
            for (int64_t o = 0; o < c.outChannels; ++o) {
                const int64_t at = n * c.outChannels * outPlane + o * outPlane + p0;
                finishRow(output + at, epi.residual ? epi.residual + at : nullptr, p1 - p0, epi,
                          slopeOf(epi, o));
            }
        }
    }
}

void runCsrConv(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                int64_t rowBegin, int64_t rowEnd) {
    const ConvParams& c = layer.conv;
    const CsrWeights& csr = layer.csr;
    const int64_t inPlane = c.inH * c.inW, outPlane = c.outH * c.outW, outW = c.outW;
    const int64_t inPerGroup = c.inChannelsPerGroup(), outPerGroup = c.outChannelsPerGroup();
    for (int64_t n = 0; n < c.batch; ++n) {
        const float* in = input + n * c.inChannels * inPlane;
        for (int64_t o = 0; o < c.outChannels; ++o) {
            const float* groupIn = in + o / outPerGroup * inPerGroup * inPlane;
            for (int64_t oy = rowBegin; oy < rowEnd; ++oy) {
                const int64_t at = (n * c.outChannels + o) * outPlane + oy * outW;
                float* y = output + at;
                std::fill(y, y + outW, layer.bias[size_t(o)]);
                for (int32_t e = csr.rowStart[size_t(o)]; e < csr.rowStart[size_t(o) + 1]; ++e) {
                    const Tap tap = decodeColumn(c, csr.column[size_t(e)]);
                    const int64_t iy = oy * c.strideH - c.padTop + tap.y * c.dilationH;
                    if (iy < 0 || iy >= c.inH) continue;
                    // Only the pixels this tap reaches inside the input: no padding checks.
                    const int64_t offset = tap.x * c.dilationW - c.padLeft;
                    const Range r = validOutputs(offset, c.strideW, c.inW, outW);
                    if (r.hi == r.lo) continue;
                    const float* x =
                        groupIn + tap.channel * inPlane + iy * c.inW + r.lo * c.strideW + offset;
                    if (c.strideW == 1) {
                        axpyRow(y + r.lo, x, csr.values[size_t(e)], r.hi - r.lo);
                    } else {
                        axpyRowStrided(y + r.lo, x, csr.values[size_t(e)], r.hi - r.lo, c.strideW);
                    }
                }
                finishRow(y, epi.residual ? epi.residual + at : nullptr, outW, epi,
                          slopeOf(epi, o));
            }
        }
    }
}

// ---- Gemm (input [M][K], output [M][N]) --------------------------------------------------

// A dot of n floats in 16 partial sums (one AVX-512 vector, two AVX2 ones): a single running
// sum is a dependency chain the compiler may not reorder into vectors.
PL_CODEGEN_CLONES float dot16(const float* __restrict w, const float* __restrict x, int64_t n) {
    float part[16] = {};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        for (int i = 0; i < 16; ++i) part[i] += w[j + i] * x[j + i];
    }
    float sum = 0;
    for (; j < n; ++j) sum += w[j] * x[j];
    for (int i = 0; i < 16; ++i) sum += part[i];
    return sum;
}

// M > 1: the m values play the pixels' part. A chunk of m's tile columns is gathered into a
// panel [columns][m] and the row blocks accumulate into a channel-major scratch [N][m], written
// back transposed with the epilogue. M == 1 (or a single row in the range): one dot per kept
// row over the tile's gathered inputs.
void runTilesGemm(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                  int64_t rowBegin, int64_t rowEnd) {
    const int64_t k = layer.conv.inChannels, nOut = layer.conv.outChannels;
    const TileWeights& tw = layer.tiles;
    if (rowEnd - rowBegin == 1) {
        const int64_t m = rowBegin;
        const float* x = input + m * k;
        float* y = output + m * nOut;
        std::copy(layer.bias.begin(), layer.bias.begin() + nOut, y);
        std::vector<float> gathered;
        for (size_t t = 0; t < tw.rows.size(); ++t) {
            const std::vector<int32_t>& cols = tw.columns[t];
            gathered.resize(cols.size());
            for (size_t j = 0; j < cols.size(); ++j) gathered[j] = x[cols[j]];
            const float* block = tw.blocks.data() + tw.blockStart[t];
            const auto ncols = static_cast<int64_t>(cols.size());
            for (size_t r = 0; r < tw.rows[t].size(); ++r) {
                y[tw.rows[t][r]] += dot16(block + int64_t(r) * ncols, gathered.data(), ncols);
            }
        }
        for (int64_t o = 0; o < nOut; ++o) {
            const float v = y[o] + (epi.residual ? epi.residual[m * nOut + o] : 0.0f);
            y[o] = finishValue(v, epi, slopeOf(epi, o));
        }
        return;
    }
    const TileKernel& kernel = tileKernel();
    const TilePlan plan = planTiles(layer, kernel.rows);
    const int64_t chunk = tileChunk(kernel, nOut, plan.maxColumns);
    // The panel's and scratch's rows are `chunk` long, a whole number of vectors: the kernel
    // runs whole vectors past `len` (finite values, dropped) rather than its partial path.
    TileWorkspace& s = tileWorkspace(plan.maxColumns);
    float* panel = grown(s.panel, plan.maxColumns * chunk);
    float* scratch = grown(s.scratch, nOut * chunk);
    for (int64_t m0 = rowBegin; m0 < rowEnd; m0 += chunk) {
        const int64_t len = std::min(rowEnd - m0, chunk);
        for (int64_t o = 0; o < nOut; ++o) {
            std::fill_n(scratch + o * chunk, len, layer.bias[size_t(o)]);
        }
        const auto source = [&](int64_t, size_t j, int32_t column, size_t) -> const float* {
            float* d = panel + int64_t(j) * chunk;
            for (int64_t i = 0; i < len; ++i) d[i] = input[(m0 + i) * k + column];
            return d;
        };
        const int64_t whole = (len + kernel.lanes - 1) / kernel.lanes * kernel.lanes;
        runTilePlan(kernel, plan, tw.blocks.data(), source, scratch, chunk, whole, s);
        for (int64_t i = 0; i < len; ++i) {
            const int64_t m = m0 + i;
            for (int64_t o = 0; o < nOut; ++o) {
                const float v =
                    scratch[o * chunk + i] + (epi.residual ? epi.residual[m * nOut + o] : 0.0f);
                output[m * nOut + o] = finishValue(v, epi, slopeOf(epi, o));
            }
        }
    }
}

void runCsrGemm(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                int64_t rowBegin, int64_t rowEnd) {
    const int64_t k = layer.conv.inChannels, nOut = layer.conv.outChannels;
    const CsrWeights& csr = layer.csr;
    for (int64_t m = rowBegin; m < rowEnd; ++m) {
        const float* x = input + m * k;
        for (int64_t o = 0; o < nOut; ++o) {
            float sum = layer.bias[size_t(o)];
            for (int32_t e = csr.rowStart[size_t(o)]; e < csr.rowStart[size_t(o) + 1]; ++e) {
                sum += csr.values[size_t(e)] * x[csr.column[size_t(e)]];
            }
            if (epi.residual) sum += epi.residual[m * nOut + o];
            output[m * nOut + o] = finishValue(sum, epi, slopeOf(epi, o));
        }
    }
}

}  // namespace

void runSparseLayer(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
                    int64_t rowBegin, int64_t rowEnd) {
    if (rowBegin >= rowEnd) return;
    switch (layer.kind) {
        case KernelKind::Pattern:
            assert(!layer.gemm);
            runPattern(layer, input, output, epi, rowBegin, rowEnd);
            return;
        case KernelKind::TileWise:
            (layer.gemm ? runTilesGemm : runTilesConv)(layer, input, output, epi, rowBegin, rowEnd);
            return;
        case KernelKind::Csr:
            (layer.gemm ? runCsrGemm : runCsrConv)(layer, input, output, epi, rowBegin, rowEnd);
            return;
        case KernelKind::Dense:
            break;
    }
    assert(false && "runSparseLayer: a Dense layer's weights are in the graph, not the IR");
}

// ---- Reference ---------------------------------------------------------------------------

namespace {

// One stored weight: output channel o, input channel i within o's group, kernel tap (y, x).
struct WeightTerm {
    int64_t o, i, y, x;
    float w;
};

// Every weight the layer's storage holds, whatever the storage: the one place the reference
// reads FKW, tiles and CSR.
std::vector<WeightTerm> storedWeights(const LayerCode& layer) {
    std::vector<WeightTerm> terms;
    const ConvParams& c = layer.conv;
    if (layer.kind == KernelKind::Pattern) {
        const FkwWeights& fkw = layer.fkw;
        for (size_t f = 0; f < fkw.filterOrder.size(); ++f) {
            for (int32_t k = fkw.kernelStart[f]; k < fkw.kernelStart[f + 1]; ++k) {
                const std::array<Tap, 4> taps = patternTaps(fkw.patterns[fkw.patternId[size_t(k)]]);
                for (size_t t = 0; t < 4; ++t) {
                    terms.push_back({fkw.filterOrder[f], fkw.inputChannel[size_t(k)], taps[t].y,
                                     taps[t].x, fkw.weights[size_t(k) * 4 + t]});
                }
            }
        }
    } else if (layer.kind == KernelKind::TileWise) {
        const TileWeights& tw = layer.tiles;
        for (size_t t = 0; t < tw.rows.size(); ++t) {
            const size_t cols = tw.columns[t].size();
            for (size_t r = 0; r < tw.rows[t].size(); ++r) {
                for (size_t j = 0; j < cols; ++j) {
                    const Tap tap = decodeColumn(c, tw.columns[t][j]);
                    terms.push_back({tw.rows[t][r], tap.channel, tap.y, tap.x,
                                     tw.blocks[size_t(tw.blockStart[t]) + r * cols + j]});
                }
            }
        }
    } else if (layer.kind == KernelKind::Csr) {
        for (int64_t o = 0; o < c.outChannels; ++o) {
            for (int32_t e = layer.csr.rowStart[size_t(o)]; e < layer.csr.rowStart[size_t(o) + 1];
                 ++e) {
                const Tap tap = decodeColumn(c, layer.csr.column[size_t(e)]);
                terms.push_back({o, tap.channel, tap.y, tap.x, layer.csr.values[size_t(e)]});
            }
        }
    }
    return terms;
}

}  // namespace

void referenceSparseLayer(const LayerCode& layer, const float* input, float* output,
                          const Epilogue& epi) {
    // y[n][o][oy][ox] = act(bias[o] + residual + sum over stored weights (o, i, ky, kx, w) of
    //   w * x[n][g * C/g + i][oy * sh - padTop + ky * dh][ox * sw - padLeft + kx * dw]),
    // g = o / (O/g), out-of-range input pixels counting as 0 (the padding). A Gemm layer is the
    // same with 1x1 images and batch M.
    const ConvParams& c = layer.conv;
    const int64_t outPlane = c.outH * c.outW;
    for (int64_t n = 0; n < c.batch; ++n) {
        for (int64_t o = 0; o < c.outChannels; ++o) {
            for (int64_t p = 0; p < outPlane; ++p) {
                output[(n * c.outChannels + o) * outPlane + p] = layer.bias[size_t(o)];
            }
        }
    }
    for (const WeightTerm& t : storedWeights(layer)) {
        const int64_t inChannel = t.o / c.outChannelsPerGroup() * c.inChannelsPerGroup() + t.i;
        for (int64_t n = 0; n < c.batch; ++n) {
            for (int64_t oy = 0; oy < c.outH; ++oy) {
                const int64_t iy = oy * c.strideH - c.padTop + t.y * c.dilationH;
                if (iy < 0 || iy >= c.inH) continue;
                for (int64_t ox = 0; ox < c.outW; ++ox) {
                    const int64_t ix = ox * c.strideW - c.padLeft + t.x * c.dilationW;
                    if (ix < 0 || ix >= c.inW) continue;
                    output[((n * c.outChannels + t.o) * c.outH + oy) * c.outW + ox] +=
                        t.w * input[((n * c.inChannels + inChannel) * c.inH + iy) * c.inW + ix];
                }
            }
        }
    }
    const int64_t total = c.batch * c.outChannels * outPlane;
    for (int64_t e = 0; e < total; ++e) {
        const float v = output[e] + (epi.residual ? epi.residual[e] : 0.0f);
        output[e] = finishValue(v, epi, slopeOf(epi, e / outPlane % c.outChannels));
    }
}

}  // namespace prunelab::engine::cpu

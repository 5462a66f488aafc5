// MaxPool, AveragePool and GlobalAveragePool against hand-computed windows and a brute force
// over an explicitly padded copy of the input, ceil_mode and count_include_pad included;
// shape errors, the ONNX import (auto_pad, Indices output) and the export round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

Attributes poolAttrs(Ints kernel, Ints strides = {1, 1}, Ints pads = {0, 0, 0, 0},
                     Ints dilations = {1, 1}, int64_t ceilMode = 0) {
    return attrsOf({{"kernel_shape", kernel},
                    {"strides", strides},
                    {"pads", pads},
                    {"dilations", dilations},
                    {"ceil_mode", ceilMode}});
}

Tensor iota(const Shape& shape, float start = 0.0f) {
    Tensor t(DataType::Float32, shape);
    float v = start;
    for (float& x : t.span<float>()) x = v++;
    return t;
}

TEST(MaxPool, HandComputed) {
    // 4x4 of 1..16, 2x2 windows, stride 2: the bottom-right corner of each block.
    expectNear(run1(OpKind::MaxPool, poolAttrs({2, 2}, {2, 2}), {iota({1, 1, 4, 4}, 1)}),
               {1, 1, 2, 2}, {6, 8, 14, 16});
    // Padding is -inf, never 0: all-negative input, 2x2 windows, pads 1 all round.
    Tensor neg = tensor({1, 1, 2, 2}, {-1, -2, -3, -4});
    expectNear(run1(OpKind::MaxPool, poolAttrs({2, 2}, {1, 1}, {1, 1, 1, 1}), {neg}), {1, 1, 3, 3},
               {-1, -1, -2, -1, -1, -2, -3, -3, -4});
    // ceil_mode keeps the partial last window: 5x5 of 0..24, 2x2 stride 2 -> 3x3 whose last
    // row/column sees only row/column 4.
    expectNear(run1(OpKind::MaxPool, poolAttrs({2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1),
                    {iota({1, 1, 5, 5})}),
               {1, 1, 3, 3}, {6, 8, 9, 16, 18, 19, 21, 23, 24});
    // Dilation 2: a 2x2 window over pixels (0,0), (0,2), (2,0), (2,2) of a 3x3.
    expectNear(run1(OpKind::MaxPool, poolAttrs({2, 2}, {1, 1}, {0, 0, 0, 0}, {2, 2}),
                    {tensor({1, 1, 3, 3}, {9, 0, 1, 0, 0, 0, 2, 0, 3})}),
               {1, 1, 1, 1}, {9});
}

TEST(MaxPool, CeilModeDropsAWindowStartingInThePadding) {
    // 6 wide, kernel 2, stride 3, end pad 1: ceil((6 + 1 - 2) / 3) + 1 = 3, but the third
    // window would start at 6, past the input: ONNX (and ONNX Runtime, PyTorch) drop it.
    Tensor out = run1(OpKind::MaxPool, poolAttrs({1, 2}, {1, 3}, {0, 0, 0, 1}, {1, 1}, 1),
                      {iota({1, 1, 1, 6})});
    expectNear(out, {1, 1, 1, 2}, {1, 4});
}

TEST(AveragePool, HandComputedCountIncludePad) {
    // 3x3 of 1..9, 3x3 windows, stride 2, pads 1: each window holds one 2x2 corner of the
    // input (1+2+4+5 = 12, 16, 24, 28) and five padding pixels.
    Tensor x = iota({1, 1, 3, 3}, 1);
    Attributes a = poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1});
    a.set("count_include_pad", int64_t(0));
    expectNear(run1(OpKind::AveragePool, a, {x}), {1, 1, 2, 2}, {3, 4, 6, 7});
    a.set("count_include_pad", int64_t(1));
    expectNear(run1(OpKind::AveragePool, a, {x}), {1, 1, 2, 2},
               {12.0f / 9, 16.0f / 9, 24.0f / 9, 28.0f / 9});
}

TEST(AveragePool, CeilModeWindowPastThePaddingCountsOnlyThePaddedInput) {
    // A row of 1..5, kernel 3, stride 2, end pad 1, ceil_mode: windows [0,3), [2,5), [4,7).
    // The last holds 5 (input), one pad and one position past the pad.
    Attributes a = poolAttrs({1, 3}, {1, 2}, {0, 0, 0, 1}, {1, 1}, 1);
    Tensor x = iota({1, 1, 1, 5}, 1);
    a.set("count_include_pad", int64_t(1));
    expectNear(run1(OpKind::AveragePool, a, {x}), {1, 1, 1, 3}, {2, 4, 2.5f});
    a.set("count_include_pad", int64_t(0));
    expectNear(run1(OpKind::AveragePool, a, {x}), {1, 1, 1, 3}, {2, 4, 5});
}

struct PoolCase {
    const char* name;
    Shape x;
    Ints kernel, strides, pads, dilations;
    int64_t ceilMode;
};

const PoolCase kPoolCases[] = {
    {"1x1 spatial, 1x1 window", {2, 3, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
    {"1x1 spatial, padded 3x3 window", {1, 2, 1, 1}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0},
    {"stride 2, odd sizes", {1, 2, 7, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
    {"stride 2, odd sizes, ceil", {2, 2, 7, 6}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
    {"asymmetric pads", {1, 3, 6, 5}, {3, 2}, {1, 2}, {0, 1, 2, 0}, {1, 1}, 0},
    {"asymmetric pads, ceil", {1, 1, 8, 7}, {3, 3}, {3, 2}, {2, 0, 0, 1}, {1, 1}, 1},
    {"dilation", {1, 2, 9, 8}, {3, 2}, {1, 2}, {1, 1, 1, 1}, {2, 3}, 0},
    {"dilation, ceil", {1, 1, 10, 9}, {2, 2}, {3, 2}, {1, 0, 0, 1}, {2, 2}, 1},
};

// The test's formulation: copy X into a padded canvas (padding + room for ceil_mode windows)
// holding the value and two flags, then reduce each window of the canvas.
Tensor bruteForcePool(const PoolCase& k, const Tensor& x, bool average, bool includePad,
                      const Shape& outShape) {
    const int64_t oh = outShape[2], ow = outShape[3];
    const int64_t ch = std::max(k.x[2] + k.pads[0] + k.pads[2],
                                (oh - 1) * k.strides[0] + (k.kernel[0] - 1) * k.dilations[0] + 1);
    const int64_t cw = std::max(k.x[3] + k.pads[1] + k.pads[3],
                                (ow - 1) * k.strides[1] + (k.kernel[1] - 1) * k.dilations[1] + 1);
    Tensor y(DataType::Float32, outShape);
    for (int64_t nc = 0; nc < k.x[0] * k.x[1]; ++nc) {
        std::vector<double> value(static_cast<size_t>(ch * cw), 0.0);
        std::vector<bool> isInput(value.size(), false), isPadded(value.size(), false);
        for (int64_t r = 0; r < ch; ++r) {
            for (int64_t c = 0; c < cw; ++c) {
                const int64_t ir = r - k.pads[0], ic = c - k.pads[1];
                const size_t at = static_cast<size_t>(r * cw + c);
                isPadded[at] =
                    r < k.x[2] + k.pads[0] + k.pads[2] && c < k.x[3] + k.pads[1] + k.pads[3];
                if (ir >= 0 && ir < k.x[2] && ic >= 0 && ic < k.x[3]) {
                    isInput[at] = true;
                    value[at] = x.data<float>()[(nc * k.x[2] + ir) * k.x[3] + ic];
                }
            }
        }
        for (int64_t i = 0; i < oh; ++i) {
            for (int64_t j = 0; j < ow; ++j) {
                double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
                int count = 0;
                for (int64_t a = 0; a < k.kernel[0]; ++a) {
                    for (int64_t b = 0; b < k.kernel[1]; ++b) {
                        const size_t at =
                            static_cast<size_t>((i * k.strides[0] + a * k.dilations[0]) * cw +
                                                j * k.strides[1] + b * k.dilations[1]);
                        if (isInput[at]) {
                            best = std::max(best, value[at]);
                            sum += value[at];
                        }
                        if (includePad ? isPadded[at] : isInput[at]) ++count;
                    }
                }
                y.data<float>()[(nc * oh + i) * ow + j] =
                    static_cast<float>(average ? sum / count : best);
            }
        }
    }
    return y;
}

int64_t expectedLength(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                       bool ceil) {
    // The spec formula with the "last window starts inside" rule, written out in floats.
    const double span = static_cast<double>(in + pb + pe - (k - 1) * d - 1);
    int64_t out = static_cast<int64_t>(ceil ? std::ceil(span / s) : std::floor(span / s)) + 1;
    if (ceil && (out - 1) * s >= in + pb) --out;
    return out;
}

TEST(Pools, MatchBruteForceOverAPaddedCanvas) {
    uint32_t seed = 300;
    for (const PoolCase& k : kPoolCases) {
        SCOPED_TRACE(k.name);
        Tensor x = randomTensor(k.x, seed++);
        const Shape outShape = {k.x[0], k.x[1],
                                expectedLength(k.x[2], k.kernel[0], k.strides[0], k.dilations[0],
                                               k.pads[0], k.pads[2], k.ceilMode != 0),
                                expectedLength(k.x[3], k.kernel[1], k.strides[1], k.dilations[1],
                                               k.pads[1], k.pads[3], k.ceilMode != 0)};
        Attributes a = poolAttrs(k.kernel, k.strides, k.pads, k.dilations, k.ceilMode);
        Tensor maxOut = run1(OpKind::MaxPool, a, {x});
        EXPECT_EQ(maxOut.shape(), outShape);
        EXPECT_EQ(maxAbsDiff(maxOut, bruteForcePool(k, x, false, false, outShape)), 0.0f);
        for (int64_t include = 0; include < 2; ++include) {
            a.set("count_include_pad", include);
            Tensor avg = run1(OpKind::AveragePool, a, {x});
            EXPECT_LT(maxAbsDiff(avg, bruteForcePool(k, x, true, include != 0, outShape)), 1e-6f)
                << "count_include_pad " << include;
        }
    }
}

TEST(Pools, ShapeErrors) {
    Error rank =
        runError(OpKind::MaxPool, poolAttrs({2, 2}), {Tensor(DataType::Float32, {1, 1, 4})});
    EXPECT_EQ(rank.code, ErrorCode::Unsupported);
    EXPECT_EQ(
        runError(OpKind::AveragePool, poolAttrs({5, 5}), {Tensor(DataType::Float32, {1, 1, 4, 4})})
            .code,
        ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::MaxPool, attrsOf({{"strides", Ints{1, 1}}}),
                       {Tensor(DataType::Float32, {1, 1, 4, 4})})
                  .code,
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::MaxPool, poolAttrs({2, 2}, {1, 1}, {1, 1}),
                       {Tensor(DataType::Float32, {1, 1, 4, 4})})
                  .code,
              ErrorCode::InvalidArgument);
}

TEST(Pools, ImportResolvesAutoPadAndRefusesIndices) {
    // 7 wide, kernel 3, stride 2: out 4 needs (4-1)*2 + 3 - 7 = 2, one each side; 6 wide
    // needs 1, at the beginning for SAME_LOWER.
    OnnxCall call{"MaxPool",
                  12,
                  attrsOf({{"kernel_shape", Ints{3, 3}},
                           {"strides", Ints{2, 2}},
                           {"auto_pad", std::string("SAME_LOWER")}}),
                  {inputInfo({1, 1, 7, 6})},
                  1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getInts("pads"), (Ints{1, 1, 1, 0}));
    EXPECT_EQ(a.getInts("dilations"), (Ints{1, 1}));
    EXPECT_EQ(a.getInt("ceil_mode", -1), 0);
    EXPECT_FALSE(a.has("count_include_pad"));
    call.outputCount = 2;
    Result<OnnxImport> r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);

    OnnxCall avg{"AveragePool",
                 7,
                 attrsOf({{"kernel_shape", Ints{2, 2}},
                          {"pads", Ints{0, 1, 1, 0}},
                          {"count_include_pad", int64_t(1)}}),
                 {inputInfo({1, 1, 4, 4})},
                 1};
    a = importedAttrs(avg);
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 1, 1, 0}));
    EXPECT_EQ(a.getInt("count_include_pad", -1), 1);
    avg.attrs.erase("kernel_shape");
    EXPECT_FALSE(importNode(avg).ok());
}

TEST(Pools, ExportRoundTrip) {
    for (const PoolCase& k : kPoolCases) {
        SCOPED_TRACE(k.name);
        Attributes a = poolAttrs(k.kernel, k.strides, k.pads, k.dilations, k.ceilMode);
        expectRoundTrip(OpKind::MaxPool, a, {k.x});
        a.set("count_include_pad", int64_t(1));
        if (k.dilations == Ints{1, 1}) {
            expectRoundTrip(OpKind::AveragePool, a, {k.x});
        } else {
            // Opset 13 AveragePool has no dilations: the export says so instead of dropping them.
            Graph g;
            auto chain = exportNode(OpKind::AveragePool, a, {k.x}, g);
            ASSERT_FALSE(chain.ok());
            EXPECT_EQ(chain.error().code, ErrorCode::Unsupported);
        }
    }
}

TEST(GlobalAveragePool, HandComputedAndErrors) {
    expectNear(run1(OpKind::GlobalAveragePool, {}, {iota({1, 2, 2, 2}, 1)}), {1, 2, 1, 1},
               {2.5f, 6.5f});
    // 1x1 spatial is the identity; other spatial ranks work too.
    Tensor x = randomTensor({2, 3, 1, 1}, 5);
    EXPECT_EQ(maxAbsDiff(run1(OpKind::GlobalAveragePool, {}, {x}), x), 0.0f);
    expectNear(run1(OpKind::GlobalAveragePool, {}, {iota({1, 1, 4})}), {1, 1, 1}, {1.5f});
    EXPECT_EQ(runError(OpKind::GlobalAveragePool, {}, {Tensor(DataType::Float32, {2, 3})}).code,
              ErrorCode::ShapeMismatch);
    Result<OnnxImport> r = importNode({"GlobalAveragePool", 13, {}, {inputInfo({1, 8, 7, 7})}, 1});
    ASSERT_TRUE(r.ok());
    expectRoundTrip(OpKind::GlobalAveragePool, {}, {{1, 8, 7, 7}});
}

}  // namespace
}  // namespace prunelab::engine::testing

// N:M scheme: every group keeps exactly n (tail groups ceil(n * len / m)), the largest ones,
// idempotent; random and BlazeFace weights; n > m and bad m are errors.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/prune/scheme.h"
#include "tests/engine/prune/prune_test_util.h"

namespace prunelab::engine::prune {
namespace {

using testing::asLayer;
using testing::countKept;
using testing::params;
using testing::randomLayer;

const Scheme& scheme() {
    const Scheme* s = findScheme("n_m");
    EXPECT_NE(s, nullptr);
    return *s;
}

void checkLayers(const std::vector<LayerWeights>& layers, int64_t n, int64_t m) {
    ParamValues v = params({{"n", n}, {"m", m}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    for (size_t l = 0; l < layers.size(); ++l) {
        const Tensor& w = layers[l].weights;
        const LayerProjection& p = (*r)[l];
        const int64_t out = w.dim(0), in = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        auto ws = w.span<float>();
        auto pw = p.weights.span<float>();
        auto mk = p.mask.span<uint8_t>();
        int64_t expectedKept = 0;
        for (int64_t o = 0; o < out; ++o)
            for (int64_t s = 0; s < kh * kw; ++s)
                for (int64_t start = 0; start < in; start += m) {
                    const int64_t len = std::min(m, in - start);
                    const int64_t want = (n * len + m - 1) / m;
                    int64_t kept = 0;
                    float minKept = INFINITY, maxRemoved = -1;
                    for (int64_t i = start; i < start + len; ++i) {
                        const size_t at = static_cast<size_t>((o * in + i) * kh * kw + s);
                        if (mk[at]) {
                            ++kept;
                            minKept = std::min(minKept, std::fabs(ws[at]));
                            ASSERT_EQ(pw[at], ws[at]);
                        } else {
                            maxRemoved = std::max(maxRemoved, std::fabs(ws[at]));
                            ASSERT_EQ(pw[at], 0.0f);
                        }
                    }
                    ASSERT_EQ(kept, want) << layers[l].name;
                    ASSERT_GE(minKept, maxRemoved) << layers[l].name;
                    expectedKept += want;
                }
        EXPECT_EQ(countKept(p), expectedKept);
        auto again = scheme().project(std::vector<LayerWeights>{asLayer(layers[l], p)}, v);
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE((*again)[0].weights.identical(p.weights)) << layers[l].name;
        EXPECT_TRUE((*again)[0].mask.identical(p.mask)) << layers[l].name;
    }
}

TEST(NM, RandomLayersIncludingShortTails) {
    std::vector<LayerWeights> layers = {randomLayer("a", 8, 16, 3, 3, 1),
                                        randomLayer("tail", 5, 10, 1, 1, 2),
                                        randomLayer("narrow", 3, 3, 3, 3, 3)};
    checkLayers(layers, 2, 4);
    checkLayers(layers, 1, 4);
    checkLayers(layers, 4, 8);
    checkLayers(layers, 4, 4);
}

TEST(NM, TwoFourHalvesAFullLayer) {
    LayerWeights l = randomLayer("a", 4, 8, 3, 3, 7);
    auto r = scheme().project(std::vector<LayerWeights>{l}, ParamValues{});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(countKept((*r)[0]), l.weights.elements() / 2);
}

TEST(NM, BlazeFace) {
    std::vector<LayerWeights> layers = testing::blazefaceLayers();
    ASSERT_FALSE(layers.empty()) << "BlazeFace missing: run ./prunelab setup";
    checkLayers(layers, 2, 4);
}

TEST(NM, BadParamsAreErrors) {
    std::vector<LayerWeights> layers = {randomLayer("a", 2, 8, 1, 1, 1)};
    auto r = scheme().project(layers, params({{"n", int64_t{5}}, {"m", int64_t{4}}}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("must not exceed"), std::string::npos);
    EXPECT_FALSE(scheme().project(layers, params({{"m", int64_t{6}}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"n", 1.5}})).ok());
}

TEST(NM, ExplainFillsInTheNumbers) {
    std::string text = scheme().explain(params({{"n", int64_t{2}}, {"m", int64_t{4}}}));
    EXPECT_NE(text.find("2:4"), std::string::npos) << text;
    EXPECT_NE(text.find("50%"), std::string::npos) << text;
}

}  // namespace
}  // namespace prunelab::engine::prune

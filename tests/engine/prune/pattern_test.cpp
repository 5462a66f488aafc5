// Pattern scheme: 4 kept weights incl. the centre per kernel, from a set of k; the set is the k
// most frequent best patterns; each kernel's pattern is the best in the set (brute force);
// connectivity removes exactly round(rate * kernels); idempotent; random and BlazeFace.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "engine/prune/scheme.h"
#include "tests/engine/prune/prune_test_util.h"

namespace prunelab::engine::prune {
namespace {

using testing::asLayer;
using testing::params;
using testing::randomLayer;

const Scheme& scheme() {
    const Scheme* s = findScheme("pattern");
    EXPECT_NE(s, nullptr);
    return *s;
}

double energy(std::span<const float> w, int64_t kernel, Pattern p) {
    double e = 0;
    for (int b = 0; b < 9; ++b) {
        if (p >> b & 1) e += double(w[size_t(kernel * 9 + b)]) * w[size_t(kernel * 9 + b)];
    }
    return e;
}

// Invariants of one layer's projection; returns the number of removed kernels.
int64_t checkLayer(const LayerWeights& layer, const LayerProjection& p, size_t k) {
    EXPECT_EQ(p.patternSet.size(), k) << layer.name;
    for (Pattern q : p.patternSet) {
        EXPECT_EQ(std::popcount(unsigned(q)), 4);
        EXPECT_TRUE(q >> 4 & 1) << "pattern without the centre";
    }
    auto w = layer.weights.span<float>();
    auto pw = p.weights.span<float>();
    auto m = p.mask.span<uint8_t>();
    const int64_t kernels = layer.weights.elements() / 9;
    EXPECT_EQ(int64_t(p.kernelPattern.size()), kernels);
    int64_t removed = 0;
    double maxRemovedNorm = -1, minKeptNorm = INFINITY;
    for (int64_t kn = 0; kn < kernels; ++kn) {
        const int32_t c = p.kernelPattern[size_t(kn)];
        int kept = 0;
        for (int b = 0; b < 9; ++b) kept += m[size_t(kn * 9 + b)];
        if (c < 0) {
            ++removed;
            EXPECT_EQ(kept, 0);
            for (int b = 0; b < 9; ++b) EXPECT_EQ(pw[size_t(kn * 9 + b)], 0.0f);
            // Its norm had it been kept: the best of the set.
            double best = 0;
            for (Pattern q : p.patternSet) best = std::max(best, energy(w, kn, q));
            maxRemovedNorm = std::max(maxRemovedNorm, best);
            continue;
        }
        EXPECT_LT(size_t(c), k);
        const Pattern q = p.patternSet[size_t(c)];
        EXPECT_EQ(kept, 4);
        EXPECT_EQ(m[size_t(kn * 9 + 4)], 1) << "centre pruned";
        for (int b = 0; b < 9; ++b) {
            EXPECT_EQ(m[size_t(kn * 9 + b)], q >> b & 1);
            EXPECT_EQ(pw[size_t(kn * 9 + b)], (q >> b & 1) ? w[size_t(kn * 9 + b)] : 0.0f);
        }
        // Brute force: no pattern of the set keeps more of this kernel.
        const double e = energy(w, kn, q);
        for (Pattern other : p.patternSet) EXPECT_GE(e, energy(w, kn, other));
        minKeptNorm = std::min(minKeptNorm, e);
    }
    // Connectivity pruning removed the kernels with the smallest projected norm.
    if (removed > 0 && removed < kernels) {
        EXPECT_LE(maxRemovedNorm, minKeptNorm) << layer.name;
    }
    return removed;
}

void checkLayers(const std::vector<LayerWeights>& layers, int64_t k, double rate,
                 const std::string& scope) {
    ParamValues v =
        params({{"patterns", k}, {"connectivity_rate", rate}, {"pattern_scope", scope}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(r->size(), layers.size());
    std::vector<LayerWeights> twice;
    for (size_t l = 0; l < layers.size(); ++l) {
        const int64_t kernels = layers[l].weights.elements() / 9;
        const int64_t removed = checkLayer(layers[l], (*r)[l], size_t(k));
        EXPECT_EQ(removed, std::llround(rate * double(kernels))) << layers[l].name;
        if (scope == "model") {
            EXPECT_EQ((*r)[l].patternSet, (*r)[0].patternSet);
        }
        twice.push_back(asLayer(layers[l], (*r)[l]));
    }
    auto again = scheme().project(twice, v);
    ASSERT_TRUE(again.ok());
    for (size_t l = 0; l < layers.size(); ++l) {
        EXPECT_TRUE((*again)[l].weights.identical((*r)[l].weights)) << layers[l].name;
        EXPECT_TRUE((*again)[l].mask.identical((*r)[l].mask)) << layers[l].name;
    }
}

TEST(Pattern, RandomLayers) {
    std::vector<LayerWeights> layers = {randomLayer("a", 16, 8, 3, 3, 1),
                                        randomLayer("b", 5, 7, 3, 3, 2),
                                        randomLayer("dw", 12, 1, 3, 3, 3, 12)};
    for (int64_t k : {4, 6, 8, 12}) {
        for (double rate : {0.0, 0.3, 0.72}) {
            checkLayers(layers, k, rate, "layer");
            checkLayers(layers, k, rate, "model");
        }
    }
}

TEST(Pattern, SetIsTheMostFrequentBestPatterns) {
    LayerWeights layer = randomLayer("small", 6, 5, 3, 3, 9);
    auto r = scheme().project(std::vector<LayerWeights>{layer}, params({{"patterns", int64_t{4}}}));
    ASSERT_TRUE(r.ok());
    // Brute force over all 4-position patterns with the centre.
    std::vector<Pattern> all;
    for (unsigned q = 0; q < 512; ++q)
        if ((q >> 4 & 1) && std::popcount(q) == 4) all.push_back(Pattern(q));
    ASSERT_EQ(all.size(), 56u);
    std::vector<int64_t> count(all.size(), 0);
    auto w = layer.weights.span<float>();
    for (int64_t kn = 0; kn < 30; ++kn) {
        size_t best = 0;
        for (size_t c = 1; c < all.size(); ++c)
            if (energy(w, kn, all[c]) > energy(w, kn, all[best])) best = c;
        ++count[best];
    }
    // Every chosen pattern is counted at least as often as every pattern left out.
    int64_t minIn = INT64_MAX, maxOut = 0;
    for (size_t c = 0; c < all.size(); ++c) {
        const auto& set = (*r)[0].patternSet;
        if (std::find(set.begin(), set.end(), all[c]) != set.end()) {
            minIn = std::min(minIn, count[c]);
        } else {
            maxOut = std::max(maxOut, count[c]);
        }
    }
    EXPECT_GE(minIn, maxOut);
}

TEST(Pattern, BlazeFace3x3Layers) {
    std::vector<LayerWeights> all = testing::blazefaceLayers();
    ASSERT_FALSE(all.empty()) << "BlazeFace missing: run ./prunelab setup";
    std::vector<LayerWeights> layers;
    for (const LayerWeights& l : all)
        if (scheme().supports(l)) layers.push_back(l);
    ASSERT_FALSE(layers.empty());
    checkLayers(layers, 8, 0.5, "layer");
    checkLayers(layers, 4, 0.0, "model");
}

TEST(Pattern, IdempotentOnAlreadyPrunedWeights) {
    std::vector<LayerWeights> layers;
    for (const LayerWeights& l : testing::sparseBlazefaceLayers())
        if (scheme().supports(l)) layers.push_back(l);
    ASSERT_FALSE(layers.empty());
    for (double rate : {0.5, 0.75, 0.9}) {
        for (std::string scope : {"layer", "model"}) {
            ParamValues v = params({{"connectivity_rate", rate}, {"pattern_scope", scope}});
            auto r = scheme().project(layers, v);
            ASSERT_TRUE(r.ok());
            std::vector<LayerWeights> twice;
            for (size_t l = 0; l < layers.size(); ++l) {
                // The structure holds; each weight is the original one or zero (a tie may
                // have zeroed it in an earlier round, see projectToFixedPoint()).
                twice.push_back(asLayer(layers[l], (*r)[l]));
                const int64_t kernels = layers[l].weights.elements() / 9;
                EXPECT_EQ(checkLayer(twice.back(), (*r)[l], 8), std::llround(rate * kernels));
                auto w = layers[l].weights.span<float>();
                auto pw = (*r)[l].weights.span<float>();
                for (size_t i = 0; i < w.size(); ++i) {
                    ASSERT_TRUE(pw[i] == w[i] || pw[i] == 0.0f);
                }
            }
            auto again = scheme().project(twice, v);
            ASSERT_TRUE(again.ok());
            for (size_t l = 0; l < layers.size(); ++l) {
                EXPECT_TRUE((*again)[l].weights.identical((*r)[l].weights))
                    << layers[l].name << " rate " << rate << " " << scope;
            }
        }
    }
}

// Filter groups: the G filters of a group (consecutive, within one conv group) keep the same
// kernels with the same pattern; that pattern keeps the most summed energy of the set; the
// group kernels removed are round(rate * group kernels) with the smallest energy per filter.
TEST(Pattern, FilterGroupsShareKernelsAndPatterns) {
    // 10 filters in groups of 4 leave a group of 2; the grouped conv's groups never mix.
    std::vector<LayerWeights> layers = {randomLayer("ten", 10, 6, 3, 3, 4),
                                        randomLayer("grouped", 12, 3, 3, 3, 5, 2)};
    for (int64_t g : {int64_t{2}, int64_t{4}, int64_t{8}}) {
        for (double rate : {0.0, 0.5, 0.8}) {
            ParamValues v = params({{"connectivity_rate", rate}, {"filter_group", g}});
            auto r = scheme().project(layers, v);
            ASSERT_TRUE(r.ok()) << r.error().toString();
            std::vector<LayerWeights> twice;
            for (size_t l = 0; l < layers.size(); ++l) {
                const LayerWeights& layer = layers[l];
                const LayerProjection& p = (*r)[l];
                auto w = layer.weights.span<float>();
                auto m = p.mask.span<uint8_t>();
                const int64_t out = layer.weights.dim(0), in = layer.weights.dim(1);
                const int64_t outPerGroup = out / layer.groups;
                int64_t groupKernels = 0, removed = 0;
                double maxRemoved = -1, minKept = INFINITY;
                for (int64_t o0 = 0; o0 < out;) {
                    const int64_t end = std::min({o0 + g, (o0 / outPerGroup + 1) * outPerGroup});
                    for (int64_t i = 0; i < in; ++i) {
                        ++groupKernels;
                        const int32_t c = p.kernelPattern[size_t(o0 * in + i)];
                        auto summed = [&](Pattern q) {
                            double e = 0;
                            for (int64_t o = o0; o < end; ++o) e += energy(w, o * in + i, q);
                            return e / double(end - o0);
                        };
                        for (int64_t o = o0; o < end; ++o) {
                            ASSERT_EQ(p.kernelPattern[size_t(o * in + i)], c)
                                << layer.name << " filter " << o << " channel " << i;
                            for (int b = 0; b < 9; ++b) {
                                const bool kept = c >= 0 && (p.patternSet[size_t(c)] >> b & 1);
                                EXPECT_EQ(m[size_t((o * in + i) * 9 + b)], kept ? 1 : 0);
                            }
                        }
                        double best = 0;
                        for (Pattern q : p.patternSet) best = std::max(best, summed(q));
                        if (c < 0) {
                            ++removed;
                            maxRemoved = std::max(maxRemoved, best);
                        } else {
                            EXPECT_DOUBLE_EQ(summed(p.patternSet[size_t(c)]), best);
                            minKept = std::min(minKept, best);
                        }
                    }
                    o0 = end;
                }
                EXPECT_EQ(removed, std::llround(rate * double(groupKernels))) << layer.name;
                if (removed > 0) {
                    EXPECT_LE(maxRemoved, minKept) << layer.name;
                }
                twice.push_back(asLayer(layer, p));
            }
            auto again = scheme().project(twice, v);
            ASSERT_TRUE(again.ok());
            for (size_t l = 0; l < layers.size(); ++l) {
                EXPECT_TRUE((*again)[l].mask.identical((*r)[l].mask)) << layers[l].name;
            }
        }
    }
    EXPECT_NE(scheme().explain(params({{"filter_group", int64_t{4}}})).find("groups of 4"),
              std::string::npos);
    EXPECT_FALSE(scheme().project(layers, params({{"filter_group", int64_t{3}}})).ok());
}

// "pattern_set" (what ADMM writes after its first Z-step): every kernel takes its best pattern
// of exactly that set, in that order, whatever the weights would have chosen; bad sets are
// refused naming the parameter.
TEST(Pattern, AFixedSetIsKeptAsGiven) {
    std::vector<LayerWeights> layers = {randomLayer("a", 16, 8, 3, 3, 11),
                                        randomLayer("b", 6, 5, 3, 3, 12)};
    auto chosen = scheme().project(layers, params({{"patterns", int64_t{4}}}));
    ASSERT_TRUE(chosen.ok());
    // A set the weights would not choose: the 4 candidates with the largest masks.
    const std::vector<Pattern> fixed = {Pattern(0x1D0), Pattern(0x1B0), Pattern(0x170),
                                        Pattern(0xF0)};
    ASSERT_NE((*chosen)[0].patternSet, fixed);
    std::string text;
    for (Pattern q : fixed) {
        if (!text.empty()) text += ',';
        text += std::to_string(unsigned(q));
    }
    for (double rate : {0.0, 0.5}) {
        auto r = scheme().project(
            layers,
            params({{"patterns", int64_t{4}}, {"connectivity_rate", rate}, {"pattern_set", text}}));
        ASSERT_TRUE(r.ok()) << r.error().toString();
        for (size_t l = 0; l < layers.size(); ++l) {
            EXPECT_EQ((*r)[l].patternSet, fixed) << layers[l].name;
            const int64_t kernels = layers[l].weights.elements() / 9;
            EXPECT_EQ(checkLayer(layers[l], (*r)[l], fixed.size()),
                      std::llround(rate * double(kernels)));
        }
    }
    for (std::string bad : {"", "16", "27,27", "511", "x", "27,,90", "1000"}) {
        auto r = scheme().project(layers, params({{"pattern_set", bad}}));
        ASSERT_FALSE(r.ok()) << "'" << bad << "' accepted";
        EXPECT_NE(r.error().toString().find("pattern_set"), std::string::npos)
            << r.error().toString();
    }
}

TEST(Pattern, ErrorsNameTheLayer) {
    std::vector<LayerWeights> layers = {randomLayer("conv1x1", 4, 4, 1, 1, 1)};
    EXPECT_FALSE(scheme().supports(layers[0]));
    auto r = scheme().project(layers, ParamValues{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().toString().find("conv1x1"), std::string::npos);
    layers = {randomLayer("c", 4, 4, 3, 3, 1)};
    EXPECT_FALSE(scheme().project(layers, params({{"patterns", int64_t{5}}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"connectivity_rate", 1.0}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"pattern_scope", std::string("global")}})).ok());
}

TEST(Pattern, ExplainFillsInTheNumbers) {
    std::string text =
        scheme().explain(params({{"patterns", int64_t{6}}, {"connectivity_rate", 0.25}}));
    EXPECT_NE(text.find("6 patterns"), std::string::npos) << text;
    EXPECT_NE(text.find("25%"), std::string::npos) << text;
}

}  // namespace
}  // namespace prunelab::engine::prune

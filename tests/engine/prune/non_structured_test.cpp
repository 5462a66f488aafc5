// Non-structured scheme: exact kept counts, magnitude order, idempotence, global floors, errors;
// on random layers and on BlazeFace's real layers.
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
    const Scheme* s = findScheme("non_structured");
    EXPECT_NE(s, nullptr);
    return *s;
}

// The weights and mask agree, kept weights are unchanged, removed ones are +0.
void expectConsistent(const LayerWeights& in, const LayerProjection& p) {
    ASSERT_EQ(p.weights.shape(), in.weights.shape());
    ASSERT_EQ(p.mask.dtype(), DataType::UInt8);
    auto w = in.weights.span<float>();
    auto pw = p.weights.span<float>();
    auto m = p.mask.span<uint8_t>();
    for (size_t i = 0; i < w.size(); ++i) {
        if (m[i]) {
            ASSERT_EQ(pw[i], w[i]);
        } else {
            ASSERT_EQ(pw[i], 0.0f);
            ASSERT_FALSE(std::signbit(pw[i]));
        }
    }
}

// No kept |w| is smaller than a removed |w| in the same layer.
void expectMagnitudeOrder(const LayerWeights& in, const LayerProjection& p) {
    float minKept = INFINITY, maxRemoved = -1;
    auto w = in.weights.span<float>();
    auto m = p.mask.span<uint8_t>();
    for (size_t i = 0; i < w.size(); ++i) {
        if (m[i]) {
            minKept = std::min(minKept, std::fabs(w[i]));
        } else {
            maxRemoved = std::max(maxRemoved, std::fabs(w[i]));
        }
    }
    EXPECT_GE(minKept, maxRemoved) << in.name;
}

void checkLayerMode(const std::vector<LayerWeights>& layers, double rate) {
    ParamValues v = params({{"rate", rate}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(r->size(), layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
        const LayerProjection& p = (*r)[l];
        const int64_t n = layers[l].weights.elements();
        EXPECT_EQ(countKept(p), std::llround((1 - rate) * static_cast<double>(n)))
            << layers[l].name << " rate " << rate;
        expectConsistent(layers[l], p);
        expectMagnitudeOrder(layers[l], p);
        auto again = scheme().project(std::vector<LayerWeights>{asLayer(layers[l], p)}, v);
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE((*again)[0].weights.identical(p.weights)) << layers[l].name;
        EXPECT_TRUE((*again)[0].mask.identical(p.mask)) << layers[l].name;
    }
}

TEST(NonStructured, LayerModeOnRandomWeights) {
    std::vector<LayerWeights> layers = {randomLayer("a", 16, 8, 3, 3, 1),
                                        randomLayer("b", 7, 5, 1, 1, 2),
                                        randomLayer("c", 1, 1, 1, 1, 3)};
    for (double rate : {0.0, 0.25, 0.5, 0.75, 0.9, 0.999}) checkLayerMode(layers, rate);
}

TEST(NonStructured, LayerModeOnBlazeFace) {
    std::vector<LayerWeights> layers = testing::blazefaceLayers();
    ASSERT_FALSE(layers.empty()) << "BlazeFace missing: run ./prunelab setup";
    for (double rate : {0.5, 0.9}) checkLayerMode(layers, rate);
}

TEST(NonStructured, ZeroRateKeepsEverything) {
    LayerWeights l = randomLayer("a", 4, 4, 3, 3, 5);
    auto r = scheme().project(std::vector<LayerWeights>{l}, params({{"rate", 0.0}}));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE((*r)[0].weights.identical(l.weights));
    EXPECT_EQ(countKept((*r)[0]), l.weights.elements());
}

TEST(NonStructured, TiesGoToTheLowerIndex) {
    LayerWeights l;
    l.name = "ties";
    l.weights = Tensor::fromVector<float>({1, 4, 1, 1}, {1, -1, 1, -1});
    auto r = scheme().project(std::vector<LayerWeights>{l}, params({{"rate", 0.5}}));
    ASSERT_TRUE(r.ok());
    auto m = (*r)[0].mask.span<uint8_t>();
    EXPECT_EQ(std::vector<uint8_t>(m.begin(), m.end()), (std::vector<uint8_t>{1, 1, 0, 0}));
}

TEST(NonStructured, GlobalRankingHitsTheTotalAndKeepsOrder) {
    std::vector<LayerWeights> layers = {randomLayer("a", 16, 8, 3, 3, 11),
                                        randomLayer("b", 32, 16, 1, 1, 12)};
    ParamValues v = params({{"rate", 0.75}, {"scope", std::string("global")}, {"floor", 0.0}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    const int64_t total = layers[0].weights.elements() + layers[1].weights.elements();
    EXPECT_EQ(countKept((*r)[0]) + countKept((*r)[1]), std::llround(0.25 * total));
    // Same scale in both layers: the floors do not bind, so the order holds across layers.
    float minKept = INFINITY, maxRemoved = -1;
    for (size_t l = 0; l < 2; ++l) {
        expectConsistent(layers[l], (*r)[l]);
        auto w = layers[l].weights.span<float>();
        auto m = (*r)[l].mask.span<uint8_t>();
        for (size_t i = 0; i < w.size(); ++i) {
            if (m[i]) {
                minKept = std::min(minKept, std::fabs(w[i]));
            } else {
                maxRemoved = std::max(maxRemoved, std::fabs(w[i]));
            }
        }
    }
    EXPECT_GE(minKept, maxRemoved);
    std::vector<LayerWeights> twice = {asLayer(layers[0], (*r)[0]), asLayer(layers[1], (*r)[1])};
    auto again = scheme().project(twice, v);
    ASSERT_TRUE(again.ok());
    for (size_t l = 0; l < 2; ++l) EXPECT_TRUE((*again)[l].weights.identical((*r)[l].weights));
}

TEST(NonStructured, GlobalFloorKeepsSmallLayersAlive) {
    std::vector<LayerWeights> layers = {randomLayer("big", 16, 16, 3, 3, 21),
                                        randomLayer("tiny", 8, 8, 3, 3, 22)};
    for (float& w : layers[1].weights.span<float>()) w *= 1e-3f;  // all below "big"'s weights
    ParamValues v = params({{"rate", 0.5}, {"scope", std::string("global")}, {"floor", 0.1}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok());
    const int64_t tinyN = layers[1].weights.elements();
    EXPECT_EQ(countKept((*r)[1]), static_cast<int64_t>(std::ceil(0.1 * tinyN)));
    const int64_t total = layers[0].weights.elements() + tinyN;
    EXPECT_EQ(countKept((*r)[0]) + countKept((*r)[1]), std::llround(0.5 * total));
}

TEST(NonStructured, GlobalOnBlazeFaceLeavesNoLayerEmpty) {
    std::vector<LayerWeights> layers = testing::blazefaceLayers();
    ASSERT_FALSE(layers.empty());
    ParamValues v = params({{"rate", 0.9}, {"scope", std::string("global")}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    int64_t kept = 0, total = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
        EXPECT_GT(countKept((*r)[l]), 0) << layers[l].name;
        kept += countKept((*r)[l]);
        total += layers[l].weights.elements();
    }
    EXPECT_EQ(kept, std::llround(0.1 * static_cast<double>(total)));
}

TEST(NonStructured, BadParamsAndWeightsAreErrors) {
    std::vector<LayerWeights> layers = {randomLayer("conv7", 2, 2, 1, 1, 1)};
    EXPECT_FALSE(scheme().project(layers, params({{"rate", 1.0}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"scope", std::string("model")}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"speed", 1.0}})).ok());
    layers[0].weights.span<float>()[1] = NAN;
    auto r = scheme().project(layers, params({{"rate", 0.5}}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().toString().find("conv7"), std::string::npos) << r.error().toString();
}

TEST(NonStructured, ExplainFillsInTheNumbers) {
    std::string text = scheme().explain(params({{"rate", 0.75}}));
    EXPECT_NE(text.find("25%"), std::string::npos) << text;
}

}  // namespace
}  // namespace prunelab::engine::prune

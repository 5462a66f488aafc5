// Structured scheme: exact removed count, whole filters / channels, tied ranking over a unit,
// idempotence, and errors for units whose layers disagree on the channel count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {
namespace {

LayerWeights randomLayer(const std::string& name, Shape shape, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    Tensor t(DataType::Float32, std::move(shape));
    for (float& x : t.span<float>()) x = dist(rng);
    return {name, t, 1};
}

ParamValues values(double rate, const std::string& axis, const std::string& norm) {
    ParamValues v;
    v.set("rate", rate);
    v.set("axis", axis);
    v.set("norm", norm);
    return v;
}

// Per slice along `axis` (0 filters, 1 channels): whether the whole slice is kept.
std::vector<int> keptSlices(const LayerProjection& p, int axis) {
    const Shape& s = p.mask.shape();
    const int64_t spatial = s.size() == 4 ? s[2] * s[3] : 1;
    const int64_t n = s[static_cast<size_t>(axis)];
    std::vector<int> kept(static_cast<size_t>(n), -1);
    const uint8_t* m = p.mask.data<uint8_t>();
    const float* w = p.weights.data<float>();
    for (int64_t o = 0; o < s[0]; ++o)
        for (int64_t i = 0; i < s[1]; ++i)
            for (int64_t k = 0; k < spatial; ++k) {
                const int64_t at = (o * s[1] + i) * spatial + k;
                const int c = static_cast<int>(axis == 0 ? o : i);
                int& state = kept[static_cast<size_t>(c)];
                if (state == -1) state = m[at];
                EXPECT_EQ(state, m[at]) << "slice " << c << " is not whole";
                if (!m[at]) {
                    EXPECT_EQ(w[at], 0.0f);
                }
            }
    return kept;
}

int countKept(const std::vector<int>& kept) {
    int n = 0;
    for (int k : kept) n += k;
    return n;
}

TEST(StructuredScheme, IsListedWithParams) {
    const Scheme* s = findScheme("structured");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->params().size(), 3u);
    EXPECT_NE(s->explain(values(0.5, "filters", "l1")).find("50%"), std::string::npos);
}

TEST(StructuredScheme, RemovesExactlyRoundedCountOfWholeSlices) {
    const Scheme& s = *findScheme("structured");
    for (double rate : {0.0, 0.25, 0.3, 0.5, 0.9, 0.999}) {
        for (const char* axis : {"filters", "channels"}) {
            for (const char* norm : {"l1", "l2"}) {
                LayerWeights layer = randomLayer("conv", {10, 6, 3, 3}, 7);
                auto r = s.project(std::span(&layer, 1), values(rate, axis, norm));
                ASSERT_TRUE(r.ok()) << r.error().toString();
                const int a = std::string(axis) == "filters" ? 0 : 1;
                const int64_t c = a == 0 ? 10 : 6;
                auto kept = keptSlices((*r)[0], a);
                EXPECT_EQ(countKept(kept), c - std::llround(rate * static_cast<double>(c)))
                    << rate << " " << axis << " " << norm;
            }
        }
    }
}

TEST(StructuredScheme, RemovesTheSmallestNormFilters) {
    LayerWeights layer = randomLayer("gemm", {5, 4}, 3);
    float* w = layer.weights.data<float>();
    // Filter norms by construction: filter o has every weight equal to (o+1) * sign.
    const float scale[5] = {3, 1, 5, 2, 4};
    for (int o = 0; o < 5; ++o)
        for (int i = 0; i < 4; ++i) w[o * 4 + i] = (i % 2 ? -1.0f : 1.0f) * scale[o];
    auto r = findScheme("structured")->project(std::span(&layer, 1), values(0.4, "filters", "l2"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(keptSlices((*r)[0], 0), (std::vector<int>{1, 0, 1, 0, 1}));
}

TEST(StructuredScheme, TiedUnitSharesOneRanking) {
    std::vector<LayerWeights> unit = {randomLayer("a", {8, 3, 3, 3}, 1),
                                      randomLayer("b", {8, 16, 1, 1}, 2),
                                      randomLayer("c", {8, 5}, 3)};
    auto r = findScheme("structured")->project(unit, values(0.5, "filters", "l1"));
    ASSERT_TRUE(r.ok()) << r.error().toString();
    auto k0 = keptSlices((*r)[0], 0);
    EXPECT_EQ(countKept(k0), 4);
    EXPECT_EQ(keptSlices((*r)[1], 0), k0);
    EXPECT_EQ(keptSlices((*r)[2], 0), k0);
}

TEST(StructuredScheme, ProjectionIsIdempotent) {
    const Scheme& s = *findScheme("structured");
    for (const char* axis : {"filters", "channels"}) {
        std::vector<LayerWeights> unit = {randomLayer("a", {12, 12, 3, 3}, 5),
                                          randomLayer("b", {12, 12, 1, 1}, 6)};
        auto once = s.project(unit, values(0.6, axis, "l2"));
        ASSERT_TRUE(once.ok());
        std::vector<LayerWeights> again = unit;
        for (size_t l = 0; l < unit.size(); ++l) again[l].weights = (*once)[l].weights;
        auto twice = s.project(again, values(0.6, axis, "l2"));
        ASSERT_TRUE(twice.ok());
        for (size_t l = 0; l < unit.size(); ++l) {
            EXPECT_TRUE((*twice)[l].weights.identical((*once)[l].weights));
            EXPECT_TRUE((*twice)[l].mask.identical((*once)[l].mask));
        }
    }
}

TEST(StructuredScheme, MismatchedUnitNamesTheLayers) {
    std::vector<LayerWeights> unit = {randomLayer("conv1", {8, 3, 3, 3}, 1),
                                      randomLayer("conv7", {6, 3, 3, 3}, 2)};
    auto r = findScheme("structured")->project(unit, values(0.5, "filters", "l1"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message.find("'conv1' has 8"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("'conv7' has 6"), std::string::npos) << r.error().message;

    // Same filter count but different input channels is fine for filters, not for channels.
    std::vector<LayerWeights> unit2 = {randomLayer("a", {8, 3, 3, 3}, 1),
                                       randomLayer("b", {8, 4, 3, 3}, 2)};
    EXPECT_TRUE(findScheme("structured")->project(unit2, values(0.5, "filters", "l1")).ok());
    EXPECT_FALSE(findScheme("structured")->project(unit2, values(0.5, "channels", "l1")).ok());
}

TEST(StructuredScheme, RejectsBadParameters) {
    LayerWeights layer = randomLayer("conv", {4, 4, 3, 3}, 1);
    EXPECT_FALSE(
        findScheme("structured")->project(std::span(&layer, 1), values(1.0, "filters", "l1")).ok());
    EXPECT_FALSE(
        findScheme("structured")->project(std::span(&layer, 1), values(0.5, "rows", "l1")).ok());
}

}  // namespace
}  // namespace prunelab::engine::prune

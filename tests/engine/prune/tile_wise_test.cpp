// Tile-wise scheme: whole columns and whole rows per tile, the recorded structure matches the
// mask, the kept count is within one tile row of the target, idempotent; random and BlazeFace.
#include <gtest/gtest.h>

#include <algorithm>
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
    const Scheme* s = findScheme("tile_wise");
    EXPECT_NE(s, nullptr);
    return *s;
}

void checkLayer(const LayerWeights& layer, const LayerProjection& p, double rate, int64_t width) {
    const int64_t rows = layer.weights.dim(0);
    const int64_t cols = layer.weights.elements() / rows;
    const int64_t n = rows * cols;
    const TileStructure& ts = p.tiles;
    ASSERT_EQ(ts.tileWidth, width);
    ASSERT_TRUE(std::is_sorted(ts.keptColumns.begin(), ts.keptColumns.end()));
    const int64_t keptCols = int64_t(ts.keptColumns.size());
    ASSERT_EQ(int64_t(ts.keptRows.size()), (keptCols + width - 1) / width);

    // Rebuild the mask from the structure: it must be exactly the projection's mask.
    std::vector<uint8_t> expect(size_t(n), 0);
    for (size_t t = 0; t < ts.keptRows.size(); ++t) {
        ASSERT_TRUE(std::is_sorted(ts.keptRows[t].begin(), ts.keptRows[t].end()));
        EXPECT_FALSE(ts.keptRows[t].empty()) << "a tile with no rows";
        for (int32_t r : ts.keptRows[t]) {
            for (int64_t j = int64_t(t) * width; j < std::min(keptCols, int64_t(t + 1) * width);
                 ++j) {
                expect[size_t(r * cols + ts.keptColumns[size_t(j)])] = 1;
            }
        }
    }
    auto m = p.mask.span<uint8_t>();
    ASSERT_TRUE(std::equal(expect.begin(), expect.end(), m.begin())) << layer.name;

    // Kept weights unchanged, pruned ones zero.
    auto w = layer.weights.span<float>();
    auto pw = p.weights.span<float>();
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(pw[i], m[i] ? w[i] : 0.0f);

    // Removed columns have no larger L2 norm than kept ones.
    std::vector<double> norm(size_t(cols), 0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            norm[size_t(c)] += double(w[size_t(r * cols + c)]) * w[size_t(r * cols + c)];
    double minKept = INFINITY, maxRemoved = -1;
    std::vector<uint8_t> colKept(size_t(cols), 0);
    for (int32_t c : ts.keptColumns) colKept[size_t(c)] = 1;
    for (int64_t c = 0; c < cols; ++c) {
        if (colKept[size_t(c)]) {
            minKept = std::min(minKept, norm[size_t(c)]);
        } else {
            maxRemoved = std::max(maxRemoved, norm[size_t(c)]);
        }
    }
    EXPECT_LE(maxRemoved, minKept) << layer.name;

    // Within one tile row of the target, never over it.
    const int64_t target = std::llround((1 - rate) * double(n));
    const int64_t kept = countKept(p);
    EXPECT_GE(kept, target) << layer.name;
    EXPECT_LT(kept - target, std::max<int64_t>(width, 1)) << layer.name << " rate " << rate;
}

void checkLayers(const std::vector<LayerWeights>& layers, double rate, int64_t width,
                 double share) {
    ParamValues v = params({{"rate", rate}, {"tile_width", width}, {"column_share", share}});
    auto r = scheme().project(layers, v);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    for (size_t l = 0; l < layers.size(); ++l) {
        checkLayer(layers[l], (*r)[l], rate, width);
        auto again = scheme().project(std::vector<LayerWeights>{asLayer(layers[l], (*r)[l])}, v);
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE((*again)[0].weights.identical((*r)[l].weights))
            << layers[l].name << " rate " << rate << " width " << width << " share " << share;
        EXPECT_TRUE((*again)[0].mask.identical((*r)[l].mask));
        EXPECT_EQ((*again)[0].tiles.keptColumns, (*r)[l].tiles.keptColumns);
        EXPECT_EQ((*again)[0].tiles.keptRows, (*r)[l].tiles.keptRows);
    }
}

TEST(TileWise, RandomLayers) {
    std::vector<LayerWeights> layers = {
        randomLayer("a", 32, 16, 3, 3, 1),       // 144 columns: tiles of 16..128, a narrow tail
        randomLayer("fc", 10, 300, 1, 1, 2),     // 300 columns
        randomLayer("narrow", 8, 5, 1, 1, 3),    // fewer columns than one tile
        randomLayer("onerow", 1, 40, 1, 1, 4)};  // one row: only columns can go
    for (int64_t width : {16, 32, 64, 128})
        for (double rate : {0.0, 0.3, 0.5, 0.75, 0.9})
            for (double share : {0.0, 0.25, 1.0}) checkLayers(layers, rate, width, share);
}

TEST(TileWise, ZeroRateKeepsEverything) {
    LayerWeights l = randomLayer("a", 8, 8, 3, 3, 5);
    auto r = scheme().project(std::vector<LayerWeights>{l}, params({{"rate", 0.0}}));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE((*r)[0].weights.identical(l.weights));
    EXPECT_EQ((*r)[0].tiles.keptColumns.size(), 72u);
    EXPECT_EQ((*r)[0].tiles.keptRows.size(), 2u);  // 72 columns in tiles of 64
}

TEST(TileWise, BlazeFace) {
    std::vector<LayerWeights> layers = testing::blazefaceLayers();
    ASSERT_FALSE(layers.empty()) << "BlazeFace missing: run ./prunelab setup";
    checkLayers(layers, 0.75, 32, 0.25);
    checkLayers(layers, 0.5, 128, 0.0);
}

TEST(TileWise, IdempotentOnAlreadyPrunedWeights) {
    std::vector<LayerWeights> layers = testing::sparseBlazefaceLayers();
    ASSERT_FALSE(layers.empty());
    for (double rate : {0.5, 0.75, 0.9}) {
        ParamValues v = params({{"rate", rate}, {"tile_width", int64_t{16}}});
        auto r = scheme().project(layers, v);
        ASSERT_TRUE(r.ok());
        for (size_t l = 0; l < layers.size(); ++l) {
            auto again =
                scheme().project(std::vector<LayerWeights>{asLayer(layers[l], (*r)[l])}, v);
            ASSERT_TRUE(again.ok());
            EXPECT_TRUE((*again)[0].weights.identical((*r)[l].weights))
                << layers[l].name << " rate " << rate;
            const int64_t n = layers[l].weights.elements();
            EXPECT_GE(countKept((*r)[l]), std::llround((1 - rate) * double(n)));
            EXPECT_LT(countKept((*r)[l]) - std::llround((1 - rate) * double(n)), 16);
        }
    }
}

TEST(TileWise, BadParamsAreErrors) {
    std::vector<LayerWeights> layers = {randomLayer("a", 4, 4, 3, 3, 1)};
    EXPECT_FALSE(scheme().project(layers, params({{"tile_width", int64_t{48}}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"tile_width", int64_t{0}}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"rate", 1.0}})).ok());
    EXPECT_FALSE(scheme().project(layers, params({{"column_share", 1.5}})).ok());
    LayerWeights bad;
    bad.name = "flat";
    bad.weights = Tensor(DataType::Float32, {4, 4});
    auto r = scheme().project(std::vector<LayerWeights>{bad}, ParamValues{});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().toString().find("flat"), std::string::npos);
}

TEST(TileWise, ExplainFillsInTheNumbers) {
    std::string text = scheme().explain(params({{"rate", 0.75}, {"tile_width", int64_t{32}}}));
    EXPECT_NE(text.find("75%"), std::string::npos) << text;
    EXPECT_NE(text.find("32"), std::string::npos) << text;
}

}  // namespace
}  // namespace prunelab::engine::prune

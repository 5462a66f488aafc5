// Pruning statistics on tiny layers, every number worked out by hand from the rules in
// engine/prune/stats.h; and a whole-model check on a dense graph.
#include <gtest/gtest.h>

#include "engine/ops/builder.h"
#include "engine/prune/plan.h"
#include "engine/prune/stats.h"

namespace prunelab::engine::prune {
namespace {

Layer convLayer(int64_t out, int64_t in, int64_t k, int64_t macs) {
    Layer l;
    l.name = "conv";
    l.op = OpKind::Conv;
    l.outChannels = out;
    l.inPerGroup = in;
    l.kh = l.kw = k;
    l.macs = macs;
    return l;
}

LayerProjection withMask(const Shape& shape, const std::vector<uint8_t>& mask) {
    LayerProjection p;
    p.mask = Tensor::fromVector<uint8_t>(shape, mask);
    p.weights = Tensor(DataType::Float32, shape);
    return p;
}

TEST(Stats, PatternLayerByHand) {
    // Two 3x3 filters on one input channel, 4x4 output: MACs = 2 * 9 * 16 = 288.
    Layer layer = convLayer(2, 1, 3, 288);
    // Filter 0 keeps positions 0, 1, 4 (centre), 5; filter 1 is removed entirely.
    LayerProjection p = withMask({2, 1, 3, 3}, {1, 1, 0, 0, 1, 1, 0, 0, 0,  //
                                                0, 0, 0, 0, 0, 0, 0, 0, 0});
    LayerStats s = layerStats(layer, p);
    EXPECT_EQ(s.weights, 18);
    EXPECT_EQ(s.kept, 4);
    EXPECT_DOUBLE_EQ(s.density, 4.0 / 18.0);
    EXPECT_EQ(s.keptMacs, 288 / 18 * 4);  // 16 output positions per weight
    EXPECT_EQ(s.kernels, 2);
    EXPECT_EQ(s.kernelsRemoved, 1);
    EXPECT_EQ(s.bytes.denseFp32, 18 * 4);
    EXPECT_EQ(s.bytes.csr32, 4 * (4 + 4) + (2 + 1) * 4);  // 44
    ASSERT_TRUE(s.bytes.csr16.has_value());
    EXPECT_EQ(*s.bytes.csr16, 4 * (4 + 2) + (2 + 1) * 4);  // 36
    // FKW: 1 pattern * 2 + 2 filters * 2 (kernel counts) + 1 kernel * (2 + 1 + 16) = 25.
    ASSERT_TRUE(s.bytes.patternFkw.has_value());
    EXPECT_EQ(*s.bytes.patternFkw, 25);
    EXPECT_FALSE(s.bytes.tile.has_value());
    EXPECT_EQ(s.bytes.best(), 25);
    EXPECT_EQ(s.bytes.bestFormat(), "pattern");
    ASSERT_EQ(s.patternHistogram.size(), 1u);
    EXPECT_EQ(s.patternHistogram.at(Pattern{1 + 2 + 16 + 32}), 1);

    // A scheme's declared pattern set (here 4 patterns) is what FKW stores.
    p.patternSet = {51, 27, 90, 153};
    EXPECT_EQ(*layerStats(layer, p).bytes.patternFkw, 4 * 2 + 2 * 2 + 19);
}

TEST(Stats, NonPatternMaskHasNoFkwBytes) {
    Layer layer = convLayer(1, 1, 3, 9);
    LayerProjection p = withMask({1, 1, 3, 3}, {1, 1, 1, 0, 0, 0, 0, 0, 0});  // no centre
    LayerStats s = layerStats(layer, p);
    EXPECT_EQ(s.kept, 3);
    EXPECT_FALSE(s.bytes.patternFkw.has_value());
    EXPECT_TRUE(s.patternHistogram.empty());
    EXPECT_EQ(s.kernelsRemoved, 0);
}

TEST(Stats, TileLayerByHand) {
    // Gemm 4 x 8, tiles of width 4. Tile 0 (columns 0-3) keeps rows 0 and 2, tile 1 keeps
    // row 1; kept columns 0, 1, 4, 5. Non-zeros: rows 0, 2 at columns 0, 1 and row 1 at 4, 5.
    Layer layer = convLayer(4, 8, 1, 32);
    std::vector<uint8_t> mask(32, 0);
    for (int r : {0, 2})
        for (int c : {0, 1}) mask[static_cast<size_t>(r * 8 + c)] = 1;
    for (int c : {4, 5}) mask[static_cast<size_t>(1 * 8 + c)] = 1;
    LayerProjection p = withMask({4, 8, 1, 1}, mask);
    p.tiles.tileWidth = 4;
    p.tiles.keptRows = {{0, 2}, {1}};
    p.tiles.keptColumns = {0, 1, 4, 5};
    LayerStats s = layerStats(layer, p);
    EXPECT_EQ(s.kept, 6);
    EXPECT_EQ(s.keptMacs, 6);
    EXPECT_EQ(s.kernels, 32);
    EXPECT_EQ(s.kernelsRemoved, 26);
    EXPECT_EQ(s.bytes.csr32, 6 * 8 + 5 * 4);   // 68
    EXPECT_EQ(*s.bytes.csr16, 6 * 6 + 5 * 4);  // 56
    // 4 + 4 columns * 4 + tile 0 (4 + 2 * 4) + tile 1 (4 + 1 * 4) + 6 values * 4 = 64.
    ASSERT_TRUE(s.bytes.tile.has_value());
    EXPECT_EQ(*s.bytes.tile, 64);
    EXPECT_FALSE(s.bytes.patternFkw.has_value());
    EXPECT_EQ(s.bytes.bestFormat(), "csr16");
}

TEST(Stats, WideLayersHaveNo16BitCsr) {
    Layer layer = convLayer(1, 70000, 1, 70000);
    LayerProjection p = withMask({1, 70000, 1, 1}, std::vector<uint8_t>(70000, 1));
    EXPECT_FALSE(layerStats(layer, p).bytes.csr16.has_value());
}

TEST(Stats, DenseGraphAddsUp) {
    GraphBuilder b("tiny", 3);
    ValueId x = b.input("x", {1, 3, 8, 8});
    x = b.relu(b.conv(x, 4, 3));
    b.output(b.gemm(b.flatten(b.globalAveragePool(x)), 2));
    auto g = b.finish();
    ASSERT_TRUE(g.ok());
    ModelStats m = modelStats(*g);
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.weights, 4 * 3 * 9 + 2 * 4);
    EXPECT_EQ(m.kept, m.weights);
    EXPECT_EQ(m.keptMacs, m.macs);
    EXPECT_EQ(m.modelMacs, totalMacs(*g));
    EXPECT_EQ(m.keptModelMacs, m.modelMacs);
    EXPECT_EQ(m.layers[0].scheme, "dense");
    EXPECT_EQ(m.denseBytes, m.weights * 4);
    EXPECT_NE(formatStats(m).find("density 100.00%"), std::string::npos) << formatStats(m);
    EXPECT_NE(statsToJson(m).find("\"keptMacs\""), std::string::npos);
}

// A model nobody pruned, with a few weights at exactly zero, reads as dense; one with many
// zeros (pruned elsewhere) as pruned.
TEST(Stats, AFewZerosAreDenseManyArePruned) {
    GraphBuilder b("zeros", 5);
    ValueId x = b.input("x", {1, 4, 8, 8});
    b.output(b.conv(b.relu(b.conv(x, 50, 1)), 50, 1));  // two layers of 200 and 2500 weights
    auto g = b.finish();
    ASSERT_TRUE(g.ok());
    std::vector<Layer> layers = prunableLayers(*g);
    ASSERT_EQ(layers.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        auto w = layerWeights(*g, layers[i]);
        ASSERT_TRUE(w.ok());
        Tensor t = w->weights.clone();
        float* v = t.data<float>();
        for (int64_t k = 0; k < t.elements(); ++k) v[k] = 1.0f;
        // Layer 0: half zero. Layer 1: 20 of 2500 (0.8%).
        const int64_t zeros = i == 0 ? t.elements() / 2 : 20;
        for (int64_t k = 0; k < zeros; ++k) v[k] = 0.0f;
        ASSERT_TRUE(setLayerWeights(*g, layers[i], t).ok());
    }
    ModelStats m = modelStats(*g);
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.layers[0].scheme, "pruned");
    EXPECT_EQ(m.layers[1].scheme, "dense");
    EXPECT_LT(m.layers[1].density, 1.0);  // the number still says what is there
}

}  // namespace
}  // namespace prunelab::engine::prune

// Layer view: which nodes are prunable, their [out][in/g][kh][kw] view and MAC counts, checked
// against counts worked out by hand.
#include <gtest/gtest.h>

#include "engine/ops/builder.h"
#include "engine/ir/layer_view.h"

namespace prunelab::engine {
namespace {

TEST(LayerView, ConvAndGemmLayersWithHandCountedMacs) {
    GraphBuilder b("net");
    ValueId x = b.input("x", {1, 3, 8, 8});
    ValueId c1 = b.relu(b.conv(x, 4, 3));   // 4x3x3x3 on 8x8 output
    ValueId c2 = b.conv(c1, 4, 3, 2, 4);    // depthwise, stride 2 -> 4x4
    ValueId f = b.gemm(b.flatten(c2), 10);  // 64 -> 10
    b.output(f);
    auto g = b.finish();
    ASSERT_TRUE(g.ok()) << g.error().toString();
    std::vector<Layer> layers = prunableLayers(*g);
    ASSERT_EQ(layers.size(), 3u);

    EXPECT_EQ(layers[0].outChannels, 4);
    EXPECT_EQ(layers[0].inPerGroup, 3);
    EXPECT_EQ(layers[0].macs, 4 * 8 * 8 * 3 * 3 * 3);
    EXPECT_EQ(layers[0].params, 4 * 3 * 9 + 4);

    EXPECT_EQ(layers[1].groups, 4);
    EXPECT_EQ(layers[1].inPerGroup, 1);
    EXPECT_EQ(layers[1].macs, 4 * 4 * 4 * 9);

    EXPECT_EQ(layers[2].op, OpKind::Gemm);
    EXPECT_EQ(layers[2].outChannels, 10);
    EXPECT_EQ(layers[2].inPerGroup, 64);
    EXPECT_EQ(layers[2].macs, 640);
    // transB = 1: W is stored [out][in], so (o, i) is at o * in + i.
    EXPECT_EQ(layers[2].weightIndex(2, 5), 2 * 64 + 5);

    EXPECT_EQ(totalMacs(*g), layers[0].macs + layers[1].macs + layers[2].macs);
    EXPECT_FALSE(layers[0].after.empty());  // the Relu reads it
}

TEST(LayerView, ConvTransposeWeightIndexFollowsIoStorage) {
    Layer l;
    l.storage = Layer::Storage::IOHW;  // W[in][out/g][kh][kw]
    l.outChannels = 4;
    l.groups = 2;
    l.inPerGroup = 3;
    l.kh = l.kw = 2;
    // Output channel 3 is in group 1 (out/g = 2), local 1; input i = 2 -> input channel 5.
    EXPECT_EQ(l.weightIndex(3, 2, 1, 0), ((5 * 2 + 1) * 2 + 1) * 2 + 0);
}

}  // namespace
}  // namespace prunelab::engine

// Dependency groups on hand-built graphs (chains, residual adds, depthwise convs, Concat,
// Flatten) and on BlazeFace, whose residual adds tie each stage's blocks together.
#include <gtest/gtest.h>

#include <map>

#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/builder.h"
#include "engine/prune/dependency.h"

namespace prunelab::engine::prune {
namespace {

std::vector<std::string> names(const std::vector<GroupMember>& members) {
    std::vector<std::string> out;
    for (const GroupMember& m : members) out.push_back(m.name);
    return out;
}

std::vector<DependencyGroup> groupsOf(const Result<Graph>& g) {
    EXPECT_TRUE(g.ok()) << g.error().toString();
    if (!g.ok()) return {};
    auto groups = findDependencyGroups(*g);
    EXPECT_TRUE(groups.ok()) << groups.error().toString();
    return groups.ok() ? *groups : std::vector<DependencyGroup>{};
}

using Names = std::vector<std::string>;

TEST(DependencyGroups, ChainGivesOneGroupPerLayerAndTheLastReachesTheOutput) {
    GraphBuilder b("chain");
    ValueId x = b.input("x", {1, 3, 8, 8});
    ValueId c1 = b.relu(b.conv(x, 8, 3));    // Conv_0, Relu_1
    ValueId c2 = b.relu(b.conv(c1, 16, 3));  // Conv_2, Relu_3
    b.output(b.conv(c2, 4, 1));              // Conv_4
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(names(groups[0].producers), Names{"Conv_0"});
    EXPECT_EQ(names(groups[0].consumers), Names{"Conv_2"});
    EXPECT_EQ(groups[0].channels, 8);
    EXPECT_TRUE(groups[0].prunable);
    EXPECT_EQ(groups[0].description, "Conv_0 has 8 channels, read by Conv_2");
    EXPECT_EQ(groups[1].channels, 16);
    EXPECT_TRUE(groups[1].prunable);
    EXPECT_FALSE(groups[2].prunable);
    EXPECT_NE(groups[2].reason.find("graph output"), std::string::npos) << groups[2].reason;
}

// The element-wise ops of common exports (Mish, Softplus, Abs, ...) keep each element's
// channel, so a conv followed by one stays prunable, as it is after a Relu.
TEST(DependencyGroups, ChannelwiseActivationsOfExportsAreFollowed) {
    for (OpKind act : {OpKind::Mish, OpKind::Softplus, OpKind::Abs, OpKind::Neg, OpKind::Erf}) {
        SCOPED_TRACE(std::string(opName(act)));
        GraphBuilder b("activation");
        ValueId x = b.input("x", {1, 3, 8, 8});
        ValueId a = b.unary(act, b.conv(x, 8, 3));  // Conv_0, <act>_1
        b.output(b.conv(a, 4, 1));                  // Conv_2
        auto groups = groupsOf(b.finish());
        ASSERT_EQ(groups.size(), 2u);
        EXPECT_EQ(names(groups[0].consumers), Names{"Conv_2"});
        EXPECT_TRUE(groups[0].prunable) << groups[0].reason;
    }
}

TEST(DependencyGroups, ResidualAddsTieTheirProducers) {
    GraphBuilder b("residual");
    ValueId x = b.input("x", {1, 3, 8, 8});
    ValueId r1 = b.relu(b.conv(x, 8, 3));      // Conv_0, Relu_1
    ValueId a1 = b.add(b.conv(r1, 8, 3), r1);  // Conv_2, Add_3
    ValueId a2 = b.add(b.conv(a1, 8, 1), a1);  // Conv_4, Add_5
    b.output(b.conv(b.relu(a2), 4, 3));        // Relu_6, Conv_7
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(names(groups[0].producers), (Names{"Conv_0", "Conv_2", "Conv_4"}));
    EXPECT_EQ(names(groups[0].consumers), (Names{"Conv_2", "Conv_4", "Conv_7"}));
    EXPECT_TRUE(groups[0].prunable);
    EXPECT_EQ(groups[0].description,
              "Conv_0, Conv_2 and Conv_4 share 8 channels through residual Add 'Add_3' and "
              "residual Add 'Add_5', read by Conv_2, Conv_4 and Conv_7");
}

TEST(DependencyGroups, ResidualWithTheGraphInputIsNotPrunable) {
    GraphBuilder b("input_residual");
    ValueId x = b.input("x", {1, 4, 8, 8});
    ValueId a = b.add(b.conv(x, 4, 3), x);
    b.output(b.conv(a, 2, 1));
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_FALSE(groups[0].prunable);
    EXPECT_NE(groups[0].reason.find("cannot be pruned"), std::string::npos) << groups[0].reason;
}

TEST(DependencyGroups, DepthwiseConvJoinsItsProducersGroup) {
    GraphBuilder b("depthwise");
    ValueId x = b.input("x", {1, 3, 8, 8});
    ValueId c1 = b.relu(b.conv(x, 8, 1));              // Conv_0, Relu_1
    ValueId dw = b.relu(b.conv(c1, 8, 3, 1, 8));       // Conv_2 (depthwise), Relu_3
    ValueId g = b.conv(b.conv(dw, 8, 1), 8, 3, 1, 2);  // Conv_4, Conv_5 (2 groups)
    b.output(b.conv(g, 2, 1));                         // Conv_6
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 4u);
    EXPECT_EQ(names(groups[0].producers), Names{"Conv_0"});
    EXPECT_EQ(names(groups[0].passThrough), Names{"Conv_2"});
    EXPECT_EQ(names(groups[0].consumers), Names{"Conv_4"});
    EXPECT_TRUE(groups[0].prunable);
    // Conv_4 feeds a grouped conv: its channels could only go group by group.
    EXPECT_FALSE(groups[1].prunable);
    EXPECT_NE(groups[1].reason.find("grouped conv (2 groups)"), std::string::npos);
    EXPECT_FALSE(groups[2].prunable);  // the grouped conv itself
    EXPECT_EQ(names(groups[2].consumers), Names{"Conv_6"});
}

TEST(DependencyGroups, ConcatReadsEachGroupAtItsOffset) {
    GraphBuilder b("concat");
    ValueId x = b.input("x", {1, 3, 8, 8});
    ValueId c1 = b.conv(x, 4, 3);              // Conv_0
    ValueId c2 = b.conv(x, 6, 1);              // Conv_1
    ValueId cat = b.relu(b.concat({c1, c2}));  // Concat_2, Relu_3
    b.output(b.conv(cat, 5, 3));               // Conv_4
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 3u);
    ASSERT_EQ(groups[0].consumers.size(), 1u);
    EXPECT_EQ(groups[0].consumers[0].name, "Conv_4");
    EXPECT_EQ(groups[0].consumers[0].offset, 0);
    ASSERT_EQ(groups[1].consumers.size(), 1u);
    EXPECT_EQ(groups[1].consumers[0].offset, 4);
    EXPECT_TRUE(groups[0].prunable && groups[1].prunable);
}

TEST(DependencyGroups, FlattenOfAPooledVectorIsFollowedButOfAMapIsNot) {
    GraphBuilder b("heads");
    ValueId x = b.input("x", {1, 3, 4, 4});
    ValueId c1 = b.conv(x, 8, 3);                         // Conv_0
    ValueId pooled = b.flatten(b.globalAveragePool(c1));  // GAP_1, Flatten_2
    ValueId c2 = b.conv(x, 2, 3);                         // Conv_3
    b.output(b.gemm(pooled, 5));                          // Gemm_4
    b.output(b.gemm(b.flatten(c2), 5));                   // Flatten_5, Gemm_6
    auto groups = groupsOf(b.finish());
    ASSERT_EQ(groups.size(), 4u);
    EXPECT_TRUE(groups[0].prunable);
    EXPECT_EQ(names(groups[0].consumers), Names{"Gemm_4"});
    EXPECT_FALSE(groups[1].prunable);
    EXPECT_NE(groups[1].reason.find("Flatten 'Flatten_5'"), std::string::npos) << groups[1].reason;
}

TEST(DependencyGroups, BlazeFaceResidualAddsTieBlocks) {
    const std::string path = std::string(PRUNELAB_CACHE_DIR) +
                             "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    auto g = importOnnxFile(path);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    auto groups = findDependencyGroups(*g);
    ASSERT_TRUE(groups.ok()) << groups.error().toString();
    int tied = 0, prunable = 0, withDepthwise = 0;
    for (const DependencyGroup& group : *groups) {
        if (group.producers.size() > 1) {
            ++tied;
            EXPECT_NE(group.description.find("residual Add"), std::string::npos)
                << group.description;
        }
        if (!group.passThrough.empty()) ++withDepthwise;
        if (group.prunable) {
            ++prunable;
            EXPECT_FALSE(group.consumers.empty()) << group.description;
        } else {
            EXPECT_FALSE(group.reason.empty());
        }
    }
    // Every group-1 conv's filters are covered exactly once: the channel-padding Concats
    // split a stage's convs into the part tied to the previous stage and the new part.
    std::map<int, int64_t> covered;
    for (const DependencyGroup& group : *groups)
        for (const GroupMember& p : group.producers) covered[p.node] += group.channels;
    size_t convs = 0;
    for (const Layer& layer : prunableLayers(*g)) {
        if (layer.groups != 1) continue;
        ++convs;
        EXPECT_EQ(covered[layer.node], layer.outChannels) << layer.name;
    }
    EXPECT_EQ(covered.size(), convs);
    // The first stage: 16 convs tied by 15 residual Adds, plus the first 24 channels of
    // every later stage.
    EXPECT_EQ(groups->front().channels, 24);
    EXPECT_TRUE(groups->front().prunable);
    EXPECT_EQ(groups->front().producers.size(), 32u);
    EXPECT_GE(tied, 3);
    EXPECT_GE(prunable, 3);
    EXPECT_GE(withDepthwise, 3);
    // The head convs write graph outputs (through reshapes): never prunable.
    EXPECT_LT(prunable, static_cast<int>(groups->size()));
}

}  // namespace
}  // namespace prunelab::engine::prune

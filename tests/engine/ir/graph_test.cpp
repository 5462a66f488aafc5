// Graph: the verifier catches each kind of broken IR; topoSort and removeDeadCode keep meaning.
#include <gtest/gtest.h>

#include "engine/ir/graph.h"
#include "engine/ops/builder.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"

namespace prunelab::engine {
namespace {

// x -> Relu -> a -> Relu -> y, plus an unused Relu branch.
Graph chain() {
    Graph g;
    g.sourcePath = "chain";
    ValueId x = g.addValue("x", DataType::Float32, {1, 4});
    ValueId a = g.addValue("a", DataType::Float32, {1, 4});
    ValueId y = g.addValue("y", DataType::Float32, {1, 4});
    ValueId unused = g.addValue("unused", DataType::Float32, {1, 4});
    g.inputs = {x};
    g.addNode(OpKind::Relu, "r1", {x}, {a});
    g.addNode(OpKind::Relu, "r2", {a}, {y});
    g.addNode(OpKind::Relu, "dead", {x}, {unused});
    g.outputs = {y};
    return g;
}

TEST(Graph, ValidGraphVerifies) {
    Graph g = chain();
    Status st = verifyGraph(g);
    EXPECT_TRUE(st.ok()) << st.error().toString();
}

TEST(Graph, VerifierCatchesWrongRecordedShape) {
    Graph g = chain();
    g.value(g.findValue("a")).shape = {1, 5};
    Status st = verifyGraph(g);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("infers as [1, 4]"), std::string::npos) << st.error().message;
}

TEST(Graph, VerifierCatchesOutOfOrderNodes) {
    Graph g = chain();
    std::swap(g.nodes[0], g.nodes[1]);
    Status st = verifyGraph(g);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("topological"), std::string::npos) << st.error().message;
    ASSERT_TRUE(g.topoSort().ok());
    EXPECT_TRUE(verifyGraph(g).ok());
    EXPECT_EQ(g.nodes[0].name, "r1");
}

TEST(Graph, VerifierCatchesTwoProducers) {
    Graph g = chain();
    g.nodes[2].outputs = {g.findValue("a")};
    Status st = verifyGraph(g);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("more than one producer"), std::string::npos);
}

TEST(Graph, CycleIsReported) {
    Graph g;
    ValueId a = g.addValue("a", DataType::Float32, {1});
    ValueId b = g.addValue("b", DataType::Float32, {1});
    g.addNode(OpKind::Relu, "p", {b}, {a});
    g.addNode(OpKind::Relu, "q", {a}, {b});
    g.outputs = {b};
    Status st = g.topoSort();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Corrupt);
}

TEST(Graph, DeadCodeIsRemovedAndIdsRemapped) {
    Graph g = chain();
    g.removeDeadCode();
    EXPECT_EQ(g.nodes.size(), 2u);
    EXPECT_EQ(g.findValue("unused"), kNoValue);
    ASSERT_TRUE(verifyGraph(g).ok());
    Tensor x = Tensor::fromVector<float>({1, 4}, {-1, 2, -3, 4});
    auto out = runGraphReference(g, std::span<const Tensor>(&x, 1));
    ASSERT_TRUE(out.ok()) << out.error().toString();
    EXPECT_EQ((*out)[0].toFloatVector(), (std::vector<float>{0, 2, 0, 4}));
}

TEST(Graph, RunRejectsWrongInputShapeNamingTheInput) {
    Graph g = chain();
    Tensor x(DataType::Float32, {1, 3});
    auto out = runGraphReference(g, std::span<const Tensor>(&x, 1));
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().message.find("input 'x' must be float32 [1, 4]"), std::string::npos)
        << out.error().message;
}

TEST(GraphBuilder, BuildsAVerifiedModelWithInferredShapes) {
    GraphBuilder b("tiny");
    ValueId x = b.input("image", {1, 3, 16, 16});
    ValueId y = b.maxPool(b.relu(b.conv(x, 8, 3, 1)), 2, 2);
    y = b.gemm(b.flatten(b.globalAveragePool(y)), 5);
    b.output(y);
    auto g = b.finish();
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_EQ(g->value(g->outputs[0]).shape, (Shape{1, 5}));
}

}  // namespace
}  // namespace prunelab::engine

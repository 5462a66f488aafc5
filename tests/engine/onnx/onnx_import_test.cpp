// The importer on good models: Constant nodes, constant folding of shape chains, binding,
// Identity removal, BatchNormalization folding and topological sorting of unsorted files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

using testing::OnnxModelBuilder;
using testing::setAttr;

#define PL_REQUIRE_OPS(...)                                                           \
    do {                                                                              \
        std::string missing_ = testing::missingExportOps({__VA_ARGS__});              \
        ASSERT_TRUE(missing_.empty()) << "ops without an ONNX mapping: " << missing_; \
    } while (0)

Result<Graph> importBytes(const std::string& bytes, const OnnxImportOptions& options = {}) {
    return importOnnxBytes(bytes, "test.onnx", "", options);
}

int countOps(const Graph& g, OpKind op) {
    return int(
        std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape()) return INFINITY;
    float worst = 0;
    for (int64_t i = 0; i < a.elements(); ++i) {
        worst = std::max(worst, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    }
    return worst;
}

TEST(OnnxImport, ConstantNodesBecomeConstants) {
    auto g = importBytes(testing::constantsOnlyModel());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_TRUE(g->nodes.empty());
    ASSERT_EQ(g->outputs.size(), 3u);
    const Value& t = g->value(g->outputs[0]);
    EXPECT_EQ(t.name, "c_tensor");
    EXPECT_EQ(t.constant.toFloatVector(), (std::vector<float>{1, 2, 3, 4}));
    const Value& f = g->value(g->outputs[1]);
    EXPECT_EQ(f.shape, Shape{});
    EXPECT_EQ(f.constant.toFloatVector(), (std::vector<float>{2.5f}));
    const Value& i = g->value(g->outputs[2]);
    EXPECT_EQ(i.dtype, DataType::Int64);
    EXPECT_EQ(i.constant.toInt64Vector(), (std::vector<int64_t>{7, 8, 9}));
    EXPECT_TRUE(verifyGraph(*g).ok());
}

TEST(OnnxImport, ShapeChainFoldsIntoOneReshape) {
    PL_REQUIRE_OPS("Shape", "Gather", "Unsqueeze", "Concat", "Reshape");
    auto g = importBytes(testing::shapeChainModel());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_EQ(g->nodes.size(), 1u);
    EXPECT_EQ(countOps(*g, OpKind::Shape), 0);
    const Node& reshape = g->nodes[0];
    EXPECT_EQ(reshape.op, OpKind::Reshape);
    EXPECT_EQ(reshape.attrs.getInts("shape"), (std::vector<int64_t>{1, 48}));
    EXPECT_EQ(g->value(g->outputs[0]).shape, (Shape{1, 48}));

    OnnxImportOptions batch2;
    batch2.inputShapes["x"] = {2, 3, 4, 4};
    auto g2 = importBytes(testing::shapeChainModel(), batch2);
    ASSERT_TRUE(g2.ok()) << g2.error().toString();
    EXPECT_EQ(g2->value(g2->outputs[0]).shape, (Shape{2, 48}));
}

TEST(OnnxImport, ConvBatchNormFoldsAndMatches) {
    PL_REQUIRE_OPS("Conv", "BatchNormalization", "Relu");
    auto folded = importBytes(testing::convBnReluModel());
    ASSERT_TRUE(folded.ok()) << folded.error().toString();
    EXPECT_EQ(countOps(*folded, OpKind::BatchNormalization), 0);
    EXPECT_EQ(folded->nodes.size(), 2u);
    EXPECT_EQ(folded->nodes[0].op, OpKind::Conv);
    EXPECT_EQ(folded->value(folded->nodes[0].outputs[0]).name, "bn_out");

    OnnxImportOptions keep;
    keep.foldBatchNorm = false;
    auto plain = importBytes(testing::convBnReluModel(), keep);
    ASSERT_TRUE(plain.ok()) << plain.error().toString();
    EXPECT_EQ(countOps(*plain, OpKind::BatchNormalization), 1);

    const std::vector<Tensor> x = {testing::randomFloats({1, 3, 8, 8}, 9)};
    auto a = runGraphReference(*folded, x);
    auto b = runGraphReference(*plain, x);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_LT(maxAbsDiff((*a)[0], (*b)[0]), 1e-5f);
}

TEST(OnnxImport, BatchNormWithAnotherReaderIsNotFolded) {
    PL_REQUIRE_OPS("Conv", "BatchNormalization", "Add");
    OnnxModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.initializer("w", testing::randomFloats({2, 2, 1, 1}, 1));
    for (const char* p : {"scale", "shift", "mean"})
        b.initializer(p, testing::randomFloats({2}, 2));
    b.initializer("var", testing::randomFloats({2}, 3, 0.5f, 1.0f));
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    b.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"n"}, "bn");
    b.node("Add", {"c", "n"}, {"y"}, "add");  // the conv output is read twice
    b.output("y");
    auto g = importBytes(b.bytes());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_EQ(countOps(*g, OpKind::BatchNormalization), 1);
}

TEST(OnnxImport, UnsortedNodesAreSorted) {
    PL_REQUIRE_OPS("Relu", "Sigmoid");
    OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.node("Sigmoid", {"h"}, {"y"}, "second");
    b.node("Relu", {"x"}, {"h"}, "first");
    b.output("y");
    auto g = importBytes(b.bytes());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_EQ(g->nodes.size(), 2u);
    EXPECT_EQ(g->nodes[0].name, "first");
    EXPECT_EQ(g->nodes[1].name, "second");
}

TEST(OnnxImport, IdentityNodesAreRemovedKeepingOutputNames) {
    PL_REQUIRE_OPS("Identity", "Relu");
    OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.node("Identity", {"x"}, {"x2"}, "id_in");
    b.node("Relu", {"x2"}, {"r"}, "relu");
    b.node("Identity", {"r"}, {"y"}, "id_out");
    b.node("Identity", {"x"}, {"passthrough"}, "id_pass");  // must stay: x is an input
    b.output("y");
    b.output("passthrough");
    auto g = importBytes(b.bytes());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_EQ(g->nodes.size(), 2u);
    EXPECT_EQ(g->nodes[0].op, OpKind::Relu);
    EXPECT_EQ(g->value(g->nodes[0].inputs[0]).name, "x");
    EXPECT_EQ(g->value(g->outputs[0]).name, "y");
    EXPECT_EQ(g->nodes[1].op, OpKind::Identity);
    EXPECT_EQ(g->value(g->outputs[1]).name, "passthrough");
}

TEST(OnnxImport, ConstantInputsFoldThroughArithmetic) {
    PL_REQUIRE_OPS("Add", "Mul", "Cast");
    OnnxModelBuilder b;
    b.input("x", {2});
    b.initializer("a", Tensor::fromVector<float>({2}, {1, 2}));
    auto& c = b.node("Constant", {}, {"k"}, "k");
    setAttr(c, "value", Tensor::fromVector<int64_t>({2}, {3, 4}));
    setAttr(b.node("Cast", {"k"}, {"kf"}, "cast"), "to", int64_t(onnx::TensorProto::FLOAT));
    b.node("Add", {"a", "kf"}, {"s"}, "add");  // folds: [4, 6]
    b.node("Mul", {"x", "s"}, {"y"}, "mul");   // stays: reads the input
    b.output("y");
    auto g = importBytes(b.bytes());
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_EQ(g->nodes.size(), 1u);
    EXPECT_EQ(g->nodes[0].op, OpKind::Mul);
    const Value& s = g->value(g->nodes[0].inputs[1]);
    EXPECT_EQ(s.name, "s");
    EXPECT_EQ(s.constant.toFloatVector(), (std::vector<float>{4, 6}));
}

TEST(OnnxImport, ShapeErrorsNameTheNode) {
    PL_REQUIRE_OPS("Add");
    OnnxModelBuilder b;
    b.input("x", {1, 3});
    b.input("z", {1, 5});
    b.node("Add", {"x", "z"}, {"y"}, "bad_add");
    b.output("y");
    auto g = importBytes(b.bytes());
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, ErrorCode::ShapeMismatch) << g.error().toString();
    EXPECT_NE(g.error().context.find("test.onnx: node 'bad_add' (Add)"), std::string::npos)
        << g.error().toString();
}

TEST(OnnxImport, FuzzSeedsAreModelsThatImport) {
    // The committed seeds (tests/fuzz/onnx_fuzz_seeds writes them) must reach deep into the
    // importer: a seed that fails early would only teach the fuzzer about parse errors.
    PL_REQUIRE_OPS("Conv", "BatchNormalization", "Relu", "Resize", "Pad", "Slice", "Transpose",
                   "Clip", "MaxPool", "HardSigmoid", "GlobalAveragePool", "Flatten", "MatMul",
                   "Softmax");
    const std::filesystem::path dir =
        std::filesystem::path(PRUNELAB_SOURCE_DIR) / "tests/data/fuzz/onnx_import";
    int seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream bytes;
        bytes << in.rdbuf();
        auto g = importBytes(bytes.str());
        EXPECT_TRUE(g.ok()) << entry.path() << ": " << g.error().toString();
        ++seen;
    }
    EXPECT_GE(seen, 5);
}

}  // namespace
}  // namespace prunelab::engine

// The exporter: its output passes onnx's checker, and importing it again gives a graph whose
// reference outputs are bit-identical to the original's.
#include <gtest/gtest.h>

#include <onnx/checker.h>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"
#include "tests/engine/onnx/onnx_roundtrip.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

#define PL_REQUIRE_OPS(...)                                                           \
    do {                                                                              \
        std::string missing_ = testing::missingExportOps({__VA_ARGS__});              \
        ASSERT_TRUE(missing_.empty()) << "ops without an ONNX mapping: " << missing_; \
    } while (0)

Graph importOrDie(const std::string& bytes, const OnnxImportOptions& options = {}) {
    auto g = importOnnxBytes(bytes, "test.onnx", "", options);
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(g).value() : Graph{};
}

TEST(OnnxExport, ConstantsOnlyGraph) {
    const Graph g = importOrDie(testing::constantsOnlyModel());
    auto bytes = exportOnnxBytes(g);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    testing::expectPassesOnnxChecker(*bytes);
    const Graph back = importOrDie(*bytes);
    ASSERT_EQ(back.outputs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(back.value(back.outputs[i]).name, g.value(g.outputs[i]).name);
        EXPECT_TRUE(back.value(back.outputs[i]).constant.identical(g.value(g.outputs[i]).constant));
    }
}

TEST(OnnxExport, ModelHeaderAndPassThroughGraph) {
    testing::OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.output("x");
    const Graph g = importOrDie(b.bytes());
    auto bytes = exportOnnxBytes(g);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(*bytes));
    EXPECT_EQ(model.ir_version(), 8);
    EXPECT_EQ(model.producer_name(), "PruneLab");
    ASSERT_EQ(model.opset_import_size(), 1);
    EXPECT_EQ(model.opset_import(0).domain(), "");
    EXPECT_EQ(model.opset_import(0).version(), kOnnxExportOpset);
    ASSERT_EQ(model.graph().input_size(), 1);
    EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(1).dim_value(), 4);
    testing::expectPassesOnnxChecker(*bytes);
}

TEST(OnnxExport, ConvBnReluRoundTripsBitIdentical) {
    PL_REQUIRE_OPS("Conv", "BatchNormalization", "Relu");
    for (bool fold : {true, false}) {
        OnnxImportOptions options;
        options.foldBatchNorm = fold;
        const Graph g = importOrDie(testing::convBnReluModel(), options);
        testing::expectRoundTripIdentical(g, {testing::randomFloats({1, 3, 8, 8}, 3)});
    }
}

TEST(OnnxExport, ReshapeRoundTripsBitIdentical) {
    PL_REQUIRE_OPS("Shape", "Gather", "Unsqueeze", "Concat", "Reshape");
    const Graph g = importOrDie(testing::shapeChainModel());
    testing::expectRoundTripIdentical(g, {testing::randomFloats({1, 3, 4, 4}, 4)});
}

TEST(OnnxExport, FileWriteAndReadBack) {
    const Graph g = importOrDie(testing::constantsOnlyModel());
    const std::string path = ::testing::TempDir() + "prunelab_export_test.onnx";
    ASSERT_TRUE(exportOnnxFile(g, path).ok());
    auto back = importOnnxFile(path);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_EQ(back->outputs.size(), 3u);
    std::remove(path.c_str());

    auto bad = exportOnnxFile(g, "/nonexistent/dir/x.onnx");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Io);
}

}  // namespace
}  // namespace prunelab::engine

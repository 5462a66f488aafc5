// The pinned real models (BlazeFace, PP-OCR det/rec/cls from `./prunelab setup`): each imports,
// verifies and round-trips bit-identically. A missing model fails: ./prunelab test runs setup.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "tests/engine/onnx/onnx_roundtrip.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

struct RealModel {
    const char* path;  // under PRUNELAB_CACHE_DIR/models
    const char* input;
    Shape shape;  // bound input shape (PP-OCR's dims are dynamic)
};

void PrintTo(const RealModel& m, std::ostream* os) {
    *os << m.path;
}

class OnnxRealModel : public ::testing::TestWithParam<RealModel> {};

TEST_P(OnnxRealModel, ImportsVerifiesAndRoundTrips) {
    const RealModel& m = GetParam();
    const std::string path = std::string(PRUNELAB_CACHE_DIR) + "/models/" + m.path;
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run ./prunelab setup";

    OnnxImportOptions options;
    options.inputShapes[m.input] = m.shape;
    auto g = importOnnxFile(path, options);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_TRUE(verifyGraph(*g).ok()) << verifyGraph(*g).error().toString();
    ASSERT_EQ(g->inputs.size(), 1u);
    EXPECT_EQ(g->value(g->inputs[0]).shape, m.shape);
    EXPECT_FALSE(g->nodes.empty());
    for (const Node& n : g->nodes) {
        EXPECT_NE(n.op, OpKind::Shape) << "a Shape node was not folded";
        EXPECT_NE(n.op, OpKind::Identity) << "an Identity node was not removed";
    }
    testing::expectRoundTripIdentical(*g, {testing::randomFloats(m.shape, 11, 0.0f, 1.0f)});
}

INSTANTIATE_TEST_SUITE_P(
    Pinned, OnnxRealModel,
    ::testing::Values(RealModel{"blazeface/face_detection_front_128x128_barracuda.onnx",
                                "input:0",
                                {1, 128, 128, 3}},
                      RealModel{"blazeface/face_detection_back_256x256_barracuda.onnx",
                                "input:0",
                                {1, 256, 256, 3}},
                      RealModel{"ppocr/ch_PP-OCRv4_det_infer.onnx", "x", {1, 3, 640, 640}},
                      RealModel{"ppocr/ch_PP-OCRv4_rec_infer.onnx", "x", {1, 3, 48, 320}},
                      RealModel{"ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", "x", {1, 3, 48, 192}}),
    [](const ::testing::TestParamInfo<RealModel>& param) {
        std::string name = std::filesystem::path(param.param.path).stem().string();
        for (char& c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        }
        return name;
    });

}  // namespace
}  // namespace prunelab::engine

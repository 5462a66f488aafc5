// TFLite importer on MediaPipe's real models: each imports, verifies and runs the same on the
// reference runner and the CPU executor; face_detection_short_range against the face-front
// ONNX conversion of the same Google model; the sparse full-range model against its dense twin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/ir/layer_view.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/import-tflite/tflite_import.h"
#include "plugins/model-files/model_files.h"
#include "tests/test_cache.h"

namespace {

using namespace prunelab;
namespace fs = std::filesystem;
using engine::Shape;
using engine::Tensor;

std::string mediapipe(const std::string& name) {
    return prunelab::testing::cacheDir() + "/models/mediapipe/" + name + ".tflite";
}

#define SKIP_WITHOUT(path) \
    if (!fs::exists(path)) GTEST_SKIP() << "not in the asset cache (run ./prunelab setup): " << path

// Deterministic values in [-1, 1]: what the face and selfie models take.
Tensor pseudoRandom(const Shape& shape, uint32_t seed) {
    Tensor t(engine::DataType::Float32, shape);
    uint32_t s = seed;
    for (float& v : t.span<float>()) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
    }
    return t;
}

float range(const Tensor& t) {
    auto v = t.span<float>();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return *hi - *lo;
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
    float worst = 0.0f;
    auto x = a.span<float>(), y = b.span<float>();
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
    return worst;
}

struct ModelCase {
    const char* name;
    Shape input;
    std::vector<Shape> outputs;
};

class MediaPipeModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(MediaPipeModel, ImportsAndRunsTheSameOnReferenceAndCpu) {
    const ModelCase& m = GetParam();
    const std::string path = mediapipe(m.name);
    SKIP_WITHOUT(path);
    auto graph = tflite::importTflite(path, 0, 0);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_TRUE(verifyGraph(*graph).ok());
    ASSERT_EQ(graph->inputs.size(), 1u);
    EXPECT_EQ(graph->value(graph->inputs[0]).shape, m.input);
    ASSERT_EQ(graph->outputs.size(), m.outputs.size());
    for (size_t i = 0; i < m.outputs.size(); ++i) {
        EXPECT_EQ(graph->value(graph->outputs[i]).shape, m.outputs[i]) << "output " << i;
    }
    const std::vector<Tensor> inputs = {pseudoRandom(m.input, 7)};
    auto ref = engine::runGraphReference(*graph, inputs);
    ASSERT_TRUE(ref.ok()) << ref.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto cpu = (*exec)->run(inputs);
    ASSERT_TRUE(cpu.ok()) << cpu.error().toString();
    for (size_t i = 0; i < ref->size(); ++i) {
        ASSERT_EQ((*ref)[i].shape(), (*cpu)[i].shape());
        const float r = range((*ref)[i]);
        EXPECT_GT(r, 0.0f) << "output " << i << " is constant";
        EXPECT_LE(maxAbsDiff((*ref)[i], (*cpu)[i]), 1e-4f * r) << "output " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cache, MediaPipeModel,
    ::testing::Values(
        ModelCase{"face_detection_short_range", {1, 128, 128, 3}, {{1, 896, 16}, {1, 896, 1}}},
        ModelCase{"face_detection_full_range", {1, 192, 192, 3}, {{1, 2304, 16}, {1, 2304, 1}}},
        ModelCase{
            "face_detection_full_range_sparse", {1, 192, 192, 3}, {{1, 2304, 16}, {1, 2304, 1}}},
        ModelCase{"selfie_segmentation", {1, 256, 256, 3}, {{1, 256, 256, 1}}},
        ModelCase{"selfie_segmentation_landscape", {1, 144, 256, 3}, {{1, 144, 256, 1}}}),
    [](const ::testing::TestParamInfo<ModelCase>& p) { return std::string(p.param.name); });

// Keijiro's face-front ONNX is Google's short-range BlazeFace converted: on the same input the
// raw regressors and scores agree.
TEST(TfliteFaceFront, ShortRangeMatchesTheOnnxConversion) {
    const std::string tflitePath = mediapipe("face_detection_short_range");
    const std::string onnxPath = prunelab::testing::cacheDir() +
                                 "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
    SKIP_WITHOUT(tflitePath);
    SKIP_WITHOUT(onnxPath);
    auto ours = tflite::importTflite(tflitePath, 0, 0);
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    auto theirs = plugins::loadModelFile(onnxPath, 128, 128, true);
    ASSERT_TRUE(theirs.ok()) << theirs.error().toString();
    ASSERT_EQ(theirs->value(theirs->inputs[0]).shape, (Shape{1, 128, 128, 3}));
    engine::ImageToTensor pre;
    for (int c = 0; c < 3; ++c) pre.mean[c] = 0.5f, pre.std[c] = 0.5f;
    const std::string photo = prunelab::testing::cacheDir() + "/photos/messi5.jpg";
    SKIP_WITHOUT(photo);
    auto input = engine::loadImageAsInput(photo, {1, 128, 128, 3}, pre);
    ASSERT_TRUE(input.ok()) << input.error().toString();
    const std::vector<Tensor> inputs = {*input};
    auto a = engine::runGraphReference(*ours, inputs);
    ASSERT_TRUE(a.ok()) << a.error().toString();
    auto b = engine::runGraphReference(*theirs, inputs);
    ASSERT_TRUE(b.ok()) << b.error().toString();
    // The ONNX file splits each output by feature map (512 anchors at 16x16, 384 at 8x8):
    // join them in that order and compare with the TFLite [1, 896, K] output.
    ASSERT_EQ(a->size(), 2u);
    ASSERT_EQ(b->size(), 4u);
    for (const Tensor& x : *a) {
        const int64_t k = x.dim(2);
        std::vector<float> joined;
        for (int64_t anchors : {512, 384}) {
            for (const Tensor& t : *b) {
                if (t.shape() == Shape{1, anchors, k}) {
                    auto v = t.span<float>();
                    joined.insert(joined.end(), v.begin(), v.end());
                }
            }
        }
        ASSERT_EQ(joined.size(), static_cast<size_t>(x.elements())) << "K = " << k;
        const Tensor y = Tensor::fromVector<float>(x.shape(), joined);
        EXPECT_LE(maxAbsDiff(x, y), 1e-4f * range(x)) << engine::shapeToString(x.shape());
    }
}

}  // namespace

// TFLite importer. Sections: 1. MediaPipe's real models (reference runner = CPU executor;
// short-range = the face-front ONNX conversion; sparse full-range = its dense twin), 2. small
// synthetic files built with the schema's Create* API against plain NHWC loops written here
// (independent of the importer's NCHW conversion), 3. every refusal of a bad file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/import-tflite/tflite_import.h"
#include "plugins/model-files/model_files.h"
#include "plugins/refrt/ort_runner.h"
#include "tests/plugins/tflite_builder.h"
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
    auto graph = prunelab::tflite::importTflite(path, 0, 0);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_TRUE(engine::verifyGraph(*graph).ok());
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

// The imported graph exported to ONNX runs the same in ONNX Runtime.
TEST_P(MediaPipeModel, ExportRunsTheSameInOnnxRuntime) {
    const ModelCase& m = GetParam();
    const std::string path = mediapipe(m.name);
    SKIP_WITHOUT(path);
    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime";
    auto graph = prunelab::tflite::importTflite(path, 0, 0);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    auto bytes = engine::exportOnnxBytes(*graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto ort = refrt::OrtRunner::loadBytes(*bytes, m.name, 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    const std::vector<Tensor> inputs = {pseudoRandom(m.input, 9)};
    auto ref = engine::runGraphReference(*graph, inputs);
    ASSERT_TRUE(ref.ok()) << ref.error().toString();
    auto theirs = (*ort)->run(inputs);
    ASSERT_TRUE(theirs.ok()) << theirs.error().toString();
    ASSERT_EQ(theirs->size(), ref->size());
    for (size_t i = 0; i < ref->size(); ++i) {
        ASSERT_EQ((*theirs)[i].shape(), (*ref)[i].shape());
        // (the landscape selfie model's mask is nearly flat on noise: an absolute floor)
        EXPECT_LE(maxAbsDiff((*ref)[i], (*theirs)[i]), std::max(1e-4f * range((*ref)[i]), 1e-6f))
            << "output " << i;
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
    auto ours = prunelab::tflite::importTflite(tflitePath, 0, 0);
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

// Google pruned the full-range model and fine-tuned it: on a photo with a face both find it at
// the same anchors with nearly the same boxes, and the sparse one's weights are mostly zeros.
TEST(TfliteFullRange, SparseAgreesWithDenseOnAFacePhoto) {
    const std::string densePath = mediapipe("face_detection_full_range");
    const std::string sparsePath = mediapipe("face_detection_full_range_sparse");
    const std::string photo = prunelab::testing::cacheDir() + "/photos/messi5.jpg";
    SKIP_WITHOUT(densePath);
    SKIP_WITHOUT(sparsePath);
    SKIP_WITHOUT(photo);
    auto dense = prunelab::tflite::importTflite(densePath, 0, 0);
    auto sparse = prunelab::tflite::importTflite(sparsePath, 0, 0);
    ASSERT_TRUE(dense.ok()) << dense.error().toString();
    ASSERT_TRUE(sparse.ok()) << sparse.error().toString();
    auto zeroShare = [](const engine::Graph& g) {
        int64_t zeros = 0, total = 0;
        for (const auto& layer : engine::prunableLayers(g)) {
            for (float v : g.value(g.nodes[static_cast<size_t>(layer.node)].inputs[1])
                               .constant.span<float>()) {
                zeros += v == 0.0f;
                ++total;
            }
        }
        return static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(total, 1));
    };
    const double denseZeros = zeroShare(*dense), sparseZeros = zeroShare(*sparse);
    std::printf("full-range weight zeros: dense %.3f, sparse %.3f\n", denseZeros, sparseZeros);
    EXPECT_LT(denseZeros, 0.05);
    EXPECT_GT(sparseZeros, 0.3);

    engine::ImageToTensor pre;
    for (int c = 0; c < 3; ++c) pre.mean[c] = 0.5f, pre.std[c] = 0.5f;
    auto input = engine::loadImageAsInput(photo, {1, 192, 192, 3}, pre);
    ASSERT_TRUE(input.ok()) << input.error().toString();
    const std::vector<Tensor> inputs = {*input};
    auto a = engine::runGraphReference(*dense, inputs);
    auto b = engine::runGraphReference(*sparse, inputs);
    ASSERT_TRUE(a.ok() && b.ok());
    // outputs: [1, 2304, 16] box regressors, [1, 2304, 1] score logits
    auto boxesA = (*a)[0].span<float>(), boxesB = (*b)[0].span<float>();
    auto logitA = (*a)[1].span<float>(), logitB = (*b)[1].span<float>();
    auto sigmoid = [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
    const auto best =
        static_cast<size_t>(std::max_element(logitA.begin(), logitA.end()) - logitA.begin());
    EXPECT_GT(sigmoid(logitA[best]), 0.5f) << "the dense model finds no face";
    EXPECT_GT(sigmoid(logitB[best]), 0.5f) << "the sparse model misses the dense model's face";
    int confident = 0, agree = 0;
    float worstBox = 0.0f;
    for (size_t i = 0; i < logitA.size(); ++i) {
        const bool fa = sigmoid(logitA[i]) > 0.5f, fb = sigmoid(logitB[i]) > 0.5f;
        if (!fa && !fb) continue;
        ++confident;
        agree += fa == fb;
        if (fa && fb) {
            for (int k = 0; k < 4; ++k)
                worstBox = std::max(worstBox, std::abs(boxesA[i * 16 + k] - boxesB[i * 16 + k]));
        }
    }
    std::printf("anchors over 0.5: %d, same decision %d, worst box difference %.2f px\n", confident,
                agree, worstBox);
    const auto bestB =
        static_cast<size_t>(std::max_element(logitB.begin(), logitB.end()) - logitB.begin());
    EXPECT_GT(sigmoid(logitA[bestB]), 0.5f) << "the dense model misses the sparse model's face";
    EXPECT_GE(agree, 1);
    EXPECT_LT(worstBox, 192.0f * 0.05f);  // within 5% of the input size
}

// ---- 2. Synthetic files against NHWC loops ----------------------------------------------

using ::tflite::ActivationFunctionType;
using ::tflite::BuiltinOperator;
using ::tflite::BuiltinOptions;
using ::tflite::Padding;
using Builder = prunelab::testing::TfliteBuilder;

std::vector<float> values(size_t n, uint32_t seed) {
    return pseudoRandom({static_cast<int64_t>(n)}, seed).toFloatVector();
}

engine::Result<engine::Graph> importBytes(const std::vector<uint8_t>& bytes) {
    return prunelab::tflite::importTfliteBuffer(bytes.data(), bytes.size(), "synthetic.tflite", 0,
                                                0);
}

// Imports, runs the reference runner on `input` (NHWC, as the file declares) and returns output 0.
std::vector<float> runOne(const std::vector<uint8_t>& bytes, const Shape& shape,
                          const std::vector<float>& input) {
    auto graph = importBytes(bytes);
    EXPECT_TRUE(graph.ok()) << graph.error().toString();
    if (!graph.ok()) return {};
    EXPECT_TRUE(engine::verifyGraph(*graph).ok());
    const std::vector<Tensor> in = {Tensor::fromVector<float>(shape, input)};
    auto out = engine::runGraphReference(*graph, in);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    if (!out.ok()) return {};
    return (*out)[0].toFloatVector();
}

void expectNear(const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4f) << "element " << i;
}

// TFLite's SAME/VALID rule, written out again here: SAME pads ceil(in / s) outputs with the odd
// pixel at the end.
struct Pad1 {
    int out, before;
};
Pad1 tfPad(bool same, int in, int k, int s, int d) {
    const int eff = (k - 1) * d + 1;
    const int out = same ? (in + s - 1) / s : (in - eff + s) / s;
    const int total = std::max((out - 1) * s + eff - in, 0);
    return {out, total / 2};
}

// NHWC conv with OHWI weights (groups = C / I) or depthwise [1][kh][kw][C*M].
std::vector<float> convNhwc(const std::vector<float>& x, int h, int w, int c,
                            const std::vector<float>& wt, int o, int kh, int kw, int wi,
                            const std::vector<float>& bias, int s, int d, bool same, bool depthwise,
                            int& oh, int& ow) {
    const Pad1 py = tfPad(same, h, kh, s, d), px = tfPad(same, w, kw, s, d);
    oh = py.out, ow = px.out;
    std::vector<float> y(static_cast<size_t>(oh * ow * o));
    for (int yy = 0; yy < oh; ++yy)
        for (int xx = 0; xx < ow; ++xx)
            for (int oc = 0; oc < o; ++oc) {
                float acc = bias.empty() ? 0.0f : bias[oc];
                for (int ky = 0; ky < kh; ++ky)
                    for (int kx = 0; kx < kw; ++kx) {
                        const int iy = yy * s - py.before + ky * d,
                                  ix = xx * s - px.before + kx * d;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        if (depthwise) {
                            const int ic = oc / (o / c);
                            acc += x[(iy * w + ix) * c + ic] * wt[(ky * kw + kx) * o + oc];
                        } else {
                            const int g = oc / (o / (c / wi));
                            for (int i = 0; i < wi; ++i)
                                acc += x[(iy * w + ix) * c + g * wi + i] *
                                       wt[((oc * kh + ky) * kw + kx) * wi + i];
                        }
                    }
                y[(yy * ow + xx) * o + oc] = acc;
            }
    return y;
}

TEST(TfliteSynthetic, ConvSameStride2WithBiasAndRelu6) {
    const int h = 7, w = 6, c = 3, o = 4, k = 3;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto wv = values(o * k * k * c, 1), bv = values(o, 2);
    const auto wt = b.floats("w", {o, k, k, c}, wv), bias = b.floats("b", {o}, bv);
    const auto y = b.tensor("y", {1, 4, 3, o});
    b.op(BuiltinOperator::CONV_2D, {x, wt, bias}, {y}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::SAME, 2, 2, ActivationFunctionType::RELU6)
             .Union());
    const auto bytes = b.finish({x}, {y});
    const auto in = values(h * w * c, 3);
    int oh = 0, ow = 0;
    auto want = convNhwc(in, h, w, c, wv, o, k, k, c, bv, 2, 1, true, false, oh, ow);
    for (float& v : want) v = std::clamp(v, 0.0f, 6.0f);
    ASSERT_EQ(oh, 4);
    expectNear(runOne(bytes, {1, h, w, c}, in), want);
}

TEST(TfliteSynthetic, DilatedValidConvAndDepthwiseWithMultiplier) {
    const int h = 8, w = 9, c = 3, m = 2, k = 3;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto dv = values(k * k * c * m, 4), db = values(c * m, 5);
    const auto dw = b.floats("dw", {1, k, k, c * m}, dv), dbias = b.floats("db", {c * m}, db);
    const auto t = b.tensor("t", {1, h, w, c * m});
    b.op(BuiltinOperator::DEPTHWISE_CONV_2D, {x, dw, dbias}, {t},
         BuiltinOptions::DepthwiseConv2DOptions,
         ::tflite::CreateDepthwiseConv2DOptions(b.fbb, Padding::SAME, 1, 1, m).Union());
    const auto cv = values(5 * k * k * c * m, 6);
    const auto cw = b.floats("cw", {5, k, k, c * m}, cv);
    const auto y = b.tensor("y", {1, 4, 5, 5});
    b.op(BuiltinOperator::CONV_2D, {t, cw, -1}, {y}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1, ActivationFunctionType::NONE, 2,
                                       2)
             .Union());
    const auto bytes = b.finish({x}, {y});
    const auto in = values(h * w * c, 7);
    int oh = 0, ow = 0;
    const auto mid = convNhwc(in, h, w, c, dv, c * m, k, k, 1, db, 1, 1, true, true, oh, ow);
    const auto want =
        convNhwc(mid, oh, ow, c * m, cv, 5, k, k, c * m, {}, 1, 2, false, false, oh, ow);
    ASSERT_EQ(oh, 4);
    ASSERT_EQ(ow, 5);
    expectNear(runOne(bytes, {1, h, w, c}, in), want);
}

// TFLite's transpose conv as a scatter: input pixel (y, x) adds W[o][ky][kx][i] into output
// (y * s - pad + ky, x * s - pad + kx), pad from the forward conv output -> input.
std::vector<float> transposeConvNhwc(const std::vector<float>& x, int h, int w, int c,
                                     const std::vector<float>& wt, int o, int k, int s, bool same,
                                     int oh, int ow, const std::vector<float>& bias) {
    const Pad1 py = tfPad(same, oh, k, s, 1), px = tfPad(same, ow, k, s, 1);
    std::vector<float> y(static_cast<size_t>(oh * ow * o), 0.0f);
    for (int iy = 0; iy < h; ++iy)
        for (int ix = 0; ix < w; ++ix)
            for (int ky = 0; ky < k; ++ky)
                for (int kx = 0; kx < k; ++kx) {
                    const int yy = iy * s - py.before + ky, xx = ix * s - px.before + kx;
                    if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
                    for (int oc = 0; oc < o; ++oc)
                        for (int i = 0; i < c; ++i)
                            y[(yy * ow + xx) * o + oc] +=
                                x[(iy * w + ix) * c + i] * wt[((oc * k + ky) * k + kx) * c + i];
                }
    for (size_t i = 0; i < y.size() && !bias.empty(); ++i) y[i] += bias[i % o];
    return y;
}

TEST(TfliteSynthetic, TransposeConvSameAndValid) {
    const int h = 3, w = 4, c = 2, o = 3, k = 3;
    for (bool same : {true, false}) {
        const int oh = same ? 6 : 7, ow = same ? 8 : 9;
        Builder b;
        const auto x = b.tensor("x", {1, h, w, c});
        const auto wv = values(o * k * k * c, 8);
        const auto wt = b.floats("w", {o, k, k, c}, wv);
        const auto shape = b.ints("shape", {4}, {1, oh, ow, o});
        const auto y = b.tensor("y", {1, oh, ow, o});
        b.op(
            BuiltinOperator::TRANSPOSE_CONV, {shape, wt, x}, {y},
            BuiltinOptions::TransposeConvOptions,
            ::tflite::CreateTransposeConvOptions(b.fbb, same ? Padding::SAME : Padding::VALID, 2, 2)
                .Union());
        const auto bytes = b.finish({x}, {y});
        const auto in = values(h * w * c, 9);
        expectNear(runOne(bytes, {1, h, w, c}, in),
                   transposeConvNhwc(in, h, w, c, wv, o, k, 2, same, oh, ow, {}));
    }
}

TEST(TfliteSynthetic, MediaPipeTransposeConvBias) {
    const int h = 3, w = 3, c = 2, o = 2, k = 4;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto wv = values(o * k * k * c, 10), bv = values(o, 11);
    const auto wt = b.floats("w", {o, k, k, c}, wv), bias = b.floats("b", {o}, bv);
    const auto y = b.tensor("y", {1, 6, 6, o});
    const int32_t params[3] = {1 /* SAME */, 2, 2};
    std::vector<uint8_t> custom(sizeof params);
    std::memcpy(custom.data(), params, sizeof params);
    b.op(BuiltinOperator::CUSTOM, {x, wt, bias}, {y}, BuiltinOptions::NONE, 0, &custom,
         "Convolution2DTransposeBias");
    const auto bytes = b.finish({x}, {y});
    const auto in = values(h * w * c, 12);
    expectNear(runOne(bytes, {1, h, w, c}, in),
               transposeConvNhwc(in, h, w, c, wv, o, k, 2, true, 6, 6, bv));
}

// A fixed input size is kept whatever the caller asks; dynamic dims take the caller's size.
TEST(TfliteSynthetic, OnlyDynamicDimsAreBound) {
    for (bool dynamic : {false, true}) {
        Builder b;
        const auto x = dynamic ? b.dynamicTensor("x", {1, 4, 4, 3}, {-1, -1, -1, 3})
                               : b.tensor("x", {1, 4, 4, 3});
        const auto y = dynamic ? b.dynamicTensor("y", {1, 4, 4, 2}, {-1, -1, -1, 2})
                               : b.tensor("y", {1, 4, 4, 2});
        b.op(BuiltinOperator::CONV_2D, {x, b.floats("w", {2, 3, 3, 3}, values(54, 40))}, {y},
             BuiltinOptions::Conv2DOptions,
             ::tflite::CreateConv2DOptions(b.fbb, Padding::SAME, 1, 1).Union());
        const auto bytes = b.finish({x}, {y});
        auto graph =
            prunelab::tflite::importTfliteBuffer(bytes.data(), bytes.size(), "d.tflite", 10, 6);
        ASSERT_TRUE(graph.ok()) << graph.error().toString();
        const Shape want = dynamic ? Shape{1, 10, 6, 3} : Shape{1, 4, 4, 3};
        EXPECT_EQ(graph->value(graph->inputs[0]).shape, want);
        EXPECT_EQ(graph->value(graph->outputs[0]).shape, (Shape{1, want[1], want[2], 2}));
    }
}

// conv (NCHW inside) -> MAXIMUM with a per-channel constant -> ABS -> EXP; then SUM over H, W
// (kept) and REDUCE_MAX over channels (dropped): against NHWC loops.
TEST(TfliteSynthetic, ElementwiseAndReductionsAfterAConv) {
    const int h = 3, w = 4, c = 2, o = 3;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto cv = values(o * c, 42), floorv = values(o, 43);
    const auto t = b.tensor("t", {1, h, w, o});
    b.op(BuiltinOperator::CONV_2D, {x, b.floats("w", {o, 1, 1, c}, cv)}, {t},
         BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1).Union());
    const auto m = b.tensor("m", {1, h, w, o});
    b.op(BuiltinOperator::MAXIMUM, {t, b.floats("floor", {o}, floorv)}, {m});
    const auto a = b.tensor("a", {1, h, w, o});
    b.op(BuiltinOperator::ABS, {m}, {a});
    const auto e = b.tensor("e", {1, h, w, o});
    b.op(BuiltinOperator::EXP, {a}, {e});
    const auto sum = b.tensor("sum", {1, 1, 1, o});
    b.op(BuiltinOperator::SUM, {e, b.ints("hw", {2}, {1, 2})}, {sum},
         BuiltinOptions::ReducerOptions, ::tflite::CreateReducerOptions(b.fbb, true).Union());
    const auto mx = b.tensor("mx", {1, h, w});
    b.op(BuiltinOperator::REDUCE_MAX, {e, b.ints("ch", {1}, {-1})}, {mx},
         BuiltinOptions::ReducerOptions, ::tflite::CreateReducerOptions(b.fbb, false).Union());
    const auto bytes = b.finish({x}, {sum, mx});
    const auto in = values(h * w * c, 44);
    int oh = 0, ow = 0;
    auto ev = convNhwc(in, h, w, c, cv, o, 1, 1, c, {}, 1, 1, false, false, oh, ow);
    for (size_t i = 0; i < ev.size(); ++i)
        ev[i] = std::exp(std::abs(std::max(ev[i], floorv[i % o])));
    std::vector<float> wantSum(o, 0.0f), wantMax(h * w, -INFINITY);
    for (int p = 0; p < h * w; ++p)
        for (int k = 0; k < o; ++k) {
            wantSum[k] += ev[p * o + k];
            wantMax[p] = std::max(wantMax[p], ev[p * o + k]);
        }
    auto graph = importBytes(bytes);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const std::vector<Tensor> inputs = {Tensor::fromVector<float>({1, h, w, c}, in)};
    auto out = engine::runGraphReference(*graph, inputs);
    ASSERT_TRUE(out.ok()) << out.error().toString();
    EXPECT_EQ((*out)[0].shape(), (Shape{1, 1, 1, o}));
    EXPECT_EQ((*out)[1].shape(), (Shape{1, h, w}));
    expectNear((*out)[0].toFloatVector(), wantSum);
    expectNear((*out)[1].toFloatVector(), wantMax);
}

// A conv (so the importer holds the tensor NCHW) then FULLY_CONNECTED, which reads NHWC order.
TEST(TfliteSynthetic, FullyConnectedReadsNhwcOrderAfterAConv) {
    const int h = 2, w = 3, c = 2, n = 5;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto cv = values(4 * c, 13);
    const auto cw = b.floats("cw", {4, 1, 1, c}, cv);
    const auto t = b.tensor("t", {1, h, w, 4});
    b.op(BuiltinOperator::CONV_2D, {x, cw}, {t}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1).Union());
    const auto fv = values(n * h * w * 4, 14), fb = values(n, 15);
    const auto fw = b.floats("fw", {n, h * w * 4}, fv), fbias = b.floats("fb", {n}, fb);
    const auto y = b.tensor("y", {1, n});
    b.op(BuiltinOperator::FULLY_CONNECTED, {t, fw, fbias}, {y},
         BuiltinOptions::FullyConnectedOptions,
         ::tflite::CreateFullyConnectedOptions(b.fbb, ActivationFunctionType::RELU).Union());
    const auto bytes = b.finish({x}, {y});
    const auto in = values(h * w * c, 16);
    int oh = 0, ow = 0;
    const auto mid = convNhwc(in, h, w, c, cv, 4, 1, 1, c, {}, 1, 1, false, false, oh, ow);
    std::vector<float> want(n);
    for (int j = 0; j < n; ++j) {
        float acc = fb[j];
        for (int i = 0; i < h * w * 4; ++i) acc += mid[i] * fv[j * h * w * 4 + i];
        want[j] = std::max(acc, 0.0f);
    }
    expectNear(runOne(bytes, {1, h, w, c}, in), want);
}

// conv -> PAD (per-axis before/after in NHWC order) -> concat with the conv on the channel
// axis (-1) -> RESHAPE to [1, N, 2], which needs TFLite's element order back.
TEST(TfliteSynthetic, PadConcatOnChannelsAndReshapeFromNhwc) {
    const int h = 3, w = 4, c = 2;
    Builder b;
    const auto x = b.tensor("x", {1, h, w, c});
    const auto cv = values(3 * c, 17);
    const auto cw = b.floats("cw", {3, 1, 1, c}, cv);
    const auto t = b.tensor("t", {1, h, w, 3});
    b.op(BuiltinOperator::CONV_2D, {x, cw}, {t}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1).Union());
    const auto pads = b.ints("pads", {4, 2}, {0, 0, 1, 2, 0, 1, 0, 0});
    const auto p = b.tensor("p", {1, h + 3, w + 1, 3});
    b.op(BuiltinOperator::PAD, {t, pads}, {p});
    const auto q = b.tensor("q", {1, h + 3, w + 1, 3});
    b.op(BuiltinOperator::RELU, {p}, {q});
    const auto both = b.tensor("both", {1, h + 3, w + 1, 6});
    b.op(BuiltinOperator::CONCATENATION, {p, q}, {both}, BuiltinOptions::ConcatenationOptions,
         ::tflite::CreateConcatenationOptions(b.fbb, -1).Union());
    const int total = (h + 3) * (w + 1) * 6;
    const auto newShape = b.ints("new_shape", {3}, {1, -1, 2});
    const auto y = b.tensor("y", {1, total / 2, 2});
    b.op(BuiltinOperator::RESHAPE, {both, newShape}, {y});
    const auto bytes = b.finish({x}, {y});
    const auto in = values(h * w * c, 18);
    int oh = 0, ow = 0;
    const auto mid = convNhwc(in, h, w, c, cv, 3, 1, 1, c, {}, 1, 1, false, false, oh, ow);
    std::vector<float> want;
    for (int yy = 0; yy < h + 3; ++yy)
        for (int xx = 0; xx < w + 1; ++xx)
            for (int half = 0; half < 2; ++half)
                for (int ch = 0; ch < 3; ++ch) {
                    const int sy = yy - 1, sx = xx;
                    float v = sy >= 0 && sy < h && sx < w ? mid[(sy * w + sx) * 3 + ch] : 0.0f;
                    if (half == 1) v = std::max(v, 0.0f);
                    want.push_back(v);
                }
    expectNear(runOne(bytes, {1, h, w, c}, in), want);
}

// TFLite's resize loops (reference_ops ResizeBilinear / ResizeNearestNeighbor).
std::vector<float> resizeNhwc(const std::vector<float>& x, int h, int w, int c, int oh, int ow,
                              bool bilinear, bool align, bool half) {
    auto scaleOf = [&](int in, int out) {
        return align && out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                : static_cast<float>(in) / static_cast<float>(out);
    };
    const float sy = scaleOf(h, oh), sx = scaleOf(w, ow);
    std::vector<float> y;
    for (int yy = 0; yy < oh; ++yy)
        for (int xx = 0; xx < ow; ++xx)
            for (int ch = 0; ch < c; ++ch) {
                auto at = [&](int iy, int ix) { return x[(iy * w + ix) * c + ch]; };
                if (bilinear) {
                    const float fy = half ? (yy + 0.5f) * sy - 0.5f : yy * sy;
                    const float fx = half ? (xx + 0.5f) * sx - 0.5f : xx * sx;
                    const int y0 = std::max(static_cast<int>(std::floor(fy)), 0);
                    const int y1 = std::min(static_cast<int>(std::ceil(fy)), h - 1);
                    const int x0 = std::max(static_cast<int>(std::floor(fx)), 0);
                    const int x1 = std::min(static_cast<int>(std::ceil(fx)), w - 1);
                    const float dy = fy - std::floor(fy), dx = fx - std::floor(fx);
                    y.push_back(at(y0, x0) * (1 - dy) * (1 - dx) + at(y0, x1) * (1 - dy) * dx +
                                at(y1, x0) * dy * (1 - dx) + at(y1, x1) * dy * dx);
                } else {
                    const float off = half ? 0.5f : 0.0f;
                    auto pick = [&](int o, float s, int in) {
                        const float v = (static_cast<float>(o) + off) * s;
                        const int i = align ? static_cast<int>(std::round(v))
                                            : static_cast<int>(std::floor(v));
                        return std::clamp(i, 0, in - 1);
                    };
                    y.push_back(at(pick(yy, sy, h), pick(xx, sx, w)));
                }
            }
    return y;
}

TEST(TfliteSynthetic, ResizeModesMatchTfliteCoordinates) {
    const int h = 3, w = 5, c = 2;
    for (bool bilinear : {true, false}) {
        for (int mode = 0; mode < 3; ++mode) {  // 0 plain, 1 align_corners, 2 half_pixel_centers
            for (auto [oh, ow] : {std::pair{7, 4}, std::pair{6, 10}}) {
                Builder b;
                const auto x = b.tensor("x", {1, h, w, c});
                const auto size = b.ints("size", {2}, {oh, ow});
                const auto y = b.tensor("y", {1, oh, ow, c});
                if (bilinear) {
                    b.op(BuiltinOperator::RESIZE_BILINEAR, {x, size}, {y},
                         BuiltinOptions::ResizeBilinearOptions,
                         ::tflite::CreateResizeBilinearOptions(b.fbb, 0, 0, mode == 1, mode == 2)
                             .Union());
                } else {
                    b.op(BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, {x, size}, {y},
                         BuiltinOptions::ResizeNearestNeighborOptions,
                         ::tflite::CreateResizeNearestNeighborOptions(b.fbb, mode == 1, mode == 2)
                             .Union());
                }
                const auto bytes = b.finish({x}, {y});
                const auto in = values(h * w * c, 19);
                SCOPED_TRACE(std::string(bilinear ? "bilinear" : "nearest") + " mode " +
                             std::to_string(mode) + " to " + std::to_string(oh) + "x" +
                             std::to_string(ow));
                expectNear(runOne(bytes, {1, h, w, c}, in),
                           resizeNhwc(in, h, w, c, oh, ow, bilinear, mode == 1, mode == 2));
            }
        }
    }
}

// int8 weights with per-channel scales and zero points import as float32 with a note.
TEST(TfliteSynthetic, Int8WeightsAreDequantisedPerChannelWithANote) {
    const int c = 2, o = 3;
    Builder b;
    const auto x = b.tensor("x", {1, 2, 2, c});
    const std::vector<int8_t> q = {1, -2, 3, 4, -5, 6};  // [o][1][1][c]
    const std::vector<float> scale = {0.5f, 0.25f, 2.0f};
    const std::vector<int64_t> zero = {0, 1, -1};
    auto quant = ::tflite::CreateQuantizationParametersDirect(
        b.fbb, nullptr, nullptr, &scale, &zero, ::tflite::QuantizationDetails::NONE, 0, 0);
    std::vector<uint8_t> bytes(q.size());
    std::memcpy(bytes.data(), q.data(), q.size());
    const auto wt = b.constantBytes("w", {o, 1, 1, c}, ::tflite::TensorType::INT8, bytes, quant);
    const auto y = b.tensor("y", {1, 2, 2, o});
    b.op(BuiltinOperator::CONV_2D, {x, wt}, {y}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1).Union());
    const auto file = b.finish({x}, {y});
    std::vector<float> deq(q.size());
    for (int oc = 0; oc < o; ++oc)
        for (int i = 0; i < c; ++i) deq[oc * c + i] = scale[oc] * (q[oc * c + i] - zero[oc]);
    const auto in = values(2 * 2 * c, 20);
    int oh = 0, ow = 0;
    expectNear(runOne(file, {1, 2, 2, c}, in),
               convNhwc(in, 2, 2, c, deq, o, 1, 1, c, {}, 1, 1, false, false, oh, ow));
    auto graph = importBytes(file);
    ASSERT_TRUE(graph.ok());
    EXPECT_NE(graph->metadata["import.notes"].find("INT8"), std::string::npos)
        << graph->metadata["import.notes"];
}

// A fully quantised model (uint8 input -> QUANTIZE -> int8 conv with an int32 bias ->
// DEQUANTIZE) imports in float: it takes the real input values and gives the real outputs.
TEST(TfliteSynthetic, FullyQuantisedModelRunsInFloatWithANote) {
    const int c = 2, o = 2;
    Builder b;
    const std::vector<float> inScale = {0.5f}, midScale = {0.25f};
    const std::vector<int64_t> inZero = {128}, midZero = {-3};
    auto qIn =
        ::tflite::CreateQuantizationParametersDirect(b.fbb, nullptr, nullptr, &inScale, &inZero);
    std::vector<int32_t> shape = {1, 2, 2, c};
    const std::vector<float> wScale = {0.1f, 0.2f}, bScale = {0.05f, 0.1f};
    const std::vector<int64_t> zeros = {0, 0};
    auto qMid =
        ::tflite::CreateQuantizationParametersDirect(b.fbb, nullptr, nullptr, &midScale, &midZero);
    auto qW = ::tflite::CreateQuantizationParametersDirect(
        b.fbb, nullptr, nullptr, &wScale, &zeros, ::tflite::QuantizationDetails::NONE, 0, 0);
    auto qB =
        ::tflite::CreateQuantizationParametersDirect(b.fbb, nullptr, nullptr, &bScale, &zeros);
    const std::vector<int8_t> wq = {3, -4, 5, 6};  // [o][1][1][c]
    const std::vector<int32_t> bq = {10, -20};
    std::vector<uint8_t> wBytes(wq.size()), bBytes(bq.size() * 4);
    std::memcpy(wBytes.data(), wq.data(), wq.size());
    std::memcpy(bBytes.data(), bq.data(), bBytes.size());
    const auto in = b.quantisedTensor("in", shape, ::tflite::TensorType::UINT8, qIn);
    const auto mid = b.quantisedTensor("mid", shape, ::tflite::TensorType::INT8, qMid);
    const auto w = b.constantBytes("w", {o, 1, 1, c}, ::tflite::TensorType::INT8, wBytes, qW);
    const auto bias = b.constantBytes("b", {o}, ::tflite::TensorType::INT32, bBytes, qB);
    const auto conv = b.quantisedTensor("conv", {1, 2, 2, o}, ::tflite::TensorType::INT8, qMid);
    const auto y = b.tensor("y", {1, 2, 2, o});
    b.op(BuiltinOperator::QUANTIZE, {in}, {mid});
    b.op(BuiltinOperator::CONV_2D, {mid, w, bias}, {conv}, BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::VALID, 1, 1).Union());
    b.op(BuiltinOperator::DEQUANTIZE, {conv}, {y});
    const auto file = b.finish({in}, {y});
    auto graph = importBytes(file);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    EXPECT_EQ(graph->value(graph->inputs[0]).dtype, engine::DataType::Float32);
    EXPECT_NE(graph->metadata["import.notes"].find("UINT8-quantised"), std::string::npos)
        << graph->metadata["import.notes"];
    std::vector<float> wReal(wq.size()), bReal(bq.size());
    for (int oc = 0; oc < o; ++oc) {
        bReal[oc] = bScale[oc] * static_cast<float>(bq[oc]);
        for (int i = 0; i < c; ++i) wReal[oc * c + i] = wScale[oc] * wq[oc * c + i];
    }
    const auto real = values(2 * 2 * c, 41);
    int oh = 0, ow = 0;
    expectNear(runOne(file, {1, 2, 2, c}, real),
               convNhwc(real, 2, 2, c, wReal, o, 1, 1, c, bReal, 1, 1, false, false, oh, ow));
}

// TFLite's sparse storage: rows dense, columns CSR, optionally in 2x2 blocks; the decoded weight
// equals the dense one, zeros included.
struct SparseCase {
    bool blocks;
};

flatbuffers::Offset<::tflite::SparsityParameters> encodeSparse(Builder& b,
                                                               const std::vector<float>& dense,
                                                               int rows, int cols, bool blocks,
                                                               std::vector<float>& stored,
                                                               bool breakSegments = false) {
    const int br = blocks ? 2 : 1, bc = blocks ? 2 : 1;
    std::vector<int32_t> segments = {0}, indices;
    for (int r = 0; r < rows / br; ++r) {
        for (int cc = 0; cc < cols / bc; ++cc) {
            bool any = false;
            for (int i = 0; i < br; ++i)
                for (int j = 0; j < bc; ++j)
                    any |= dense[(r * br + i) * cols + cc * bc + j] != 0.0f;
            if (!any) continue;
            indices.push_back(cc);
            for (int i = 0; i < br; ++i)
                for (int j = 0; j < bc; ++j)
                    stored.push_back(dense[(r * br + i) * cols + cc * bc + j]);
        }
        segments.push_back(static_cast<int32_t>(indices.size()));
    }
    if (breakSegments) segments.back() += 1;
    auto seg = ::tflite::CreateInt32VectorDirect(b.fbb, &segments);
    auto idx = ::tflite::CreateInt32VectorDirect(b.fbb, &indices);
    std::vector<flatbuffers::Offset<::tflite::DimensionMetadata>> dims = {
        ::tflite::CreateDimensionMetadata(b.fbb, ::tflite::DimensionType::DENSE, rows / br),
        ::tflite::CreateDimensionMetadata(b.fbb, ::tflite::DimensionType::SPARSE_CSR, 0,
                                          ::tflite::SparseIndexVector::Int32Vector, seg.Union(),
                                          ::tflite::SparseIndexVector::Int32Vector, idx.Union())};
    std::vector<int32_t> order = {0, 1}, blockMap;
    if (blocks) {
        dims.push_back(
            ::tflite::CreateDimensionMetadata(b.fbb, ::tflite::DimensionType::DENSE, br));
        dims.push_back(
            ::tflite::CreateDimensionMetadata(b.fbb, ::tflite::DimensionType::DENSE, bc));
        order = {0, 1, 2, 3};
        blockMap = {0, 1};
    }
    return ::tflite::CreateSparsityParametersDirect(b.fbb, &order, blocks ? &blockMap : nullptr,
                                                    &dims);
}

std::vector<uint8_t> sparseFcModel(const std::vector<float>& dense, int rows, int cols, bool blocks,
                                   bool breakSegments = false) {
    Builder b;
    const auto x = b.tensor("x", {1, cols});
    std::vector<float> stored;
    auto sparsity = encodeSparse(b, dense, rows, cols, blocks, stored, breakSegments);
    std::vector<uint8_t> bytes(stored.size() * 4);
    std::memcpy(bytes.data(), stored.data(), bytes.size());
    const auto ws = b.constantBytes("w_sparse", {rows, cols}, ::tflite::TensorType::FLOAT32, bytes,
                                    0, sparsity);
    const auto w = b.tensor("w", {rows, cols});
    b.op(BuiltinOperator::DENSIFY, {ws}, {w});
    const auto y = b.tensor("y", {1, rows});
    b.op(BuiltinOperator::FULLY_CONNECTED, {x, w}, {y}, BuiltinOptions::FullyConnectedOptions,
         ::tflite::CreateFullyConnectedOptions(b.fbb).Union());
    return b.finish({x}, {y});
}

TEST(TfliteSynthetic, SparseWeightsDecodeToTheDenseWeightWithZeros) {
    const int rows = 4, cols = 6;
    for (bool blocks : {false, true}) {
        std::vector<float> dense = values(rows * cols, 21);
        for (int i = 0; i < rows * cols; ++i) {
            const int r = i / cols, cc = i % cols;
            // zero whole 2x2 blocks (and, unblocked, some single elements too)
            if (((r / 2) + (cc / 2)) % 2 == 0 || (!blocks && i % 5 == 0)) dense[i] = 0.0f;
        }
        const auto file = sparseFcModel(dense, rows, cols, blocks);
        auto graph = importBytes(file);
        ASSERT_TRUE(graph.ok()) << graph.error().toString();
        EXPECT_NE(graph->metadata.count("import.sparse_weights"), 0u);
        const engine::Tensor* weight = nullptr;
        for (const auto& v : graph->values) {
            if (v.isConstant() && v.constant.elements() == rows * cols) weight = &v.constant;
        }
        ASSERT_NE(weight, nullptr);
        EXPECT_EQ(weight->toFloatVector(), dense) << (blocks ? "2x2 blocks" : "elements");
    }
}

// ---- 3. Bad files ------------------------------------------------------------------------

void expectRefused(const std::vector<uint8_t>& bytes, engine::ErrorCode code,
                   std::initializer_list<const char*> words) {
    auto graph = importBytes(bytes);
    ASSERT_FALSE(graph.ok());
    EXPECT_EQ(graph.error().code, code) << graph.error().toString();
    const std::string text = graph.error().toString();
    EXPECT_NE(text.find("synthetic.tflite"), std::string::npos) << text;
    for (const char* w : words)
        EXPECT_NE(text.find(w), std::string::npos) << w << " not in: " << text;
}

// A one-conv model whose pieces each test may break.
std::vector<uint8_t> oneConv(int32_t input = 0, uint32_t opcode = 0, size_t weightBytes = 0,
                             BuiltinOperator kind = BuiltinOperator::CONV_2D) {
    Builder b;
    const auto x = b.tensor("x", {1, 4, 4, 2});
    std::vector<uint8_t> wb(weightBytes != 0 ? weightBytes : 3 * 2 * 4, 0);
    const auto w = b.constantBytes("conv/weights", {3, 1, 1, 2}, ::tflite::TensorType::FLOAT32, wb);
    const auto y = b.tensor("y", {1, 4, 4, 3});
    const uint32_t code = b.code(kind);
    b.opAt(code + opcode, {input == 0 ? x : input, w}, {y}, BuiltinOptions::Conv2DOptions,
           ::tflite::CreateConv2DOptions(b.fbb, Padding::SAME, 1, 1).Union());
    return b.finish({x}, {y});
}

TEST(TfliteBadInput, AValidFileImports) {
    ASSERT_TRUE(importBytes(oneConv()).ok());
}

TEST(TfliteBadInput, NotAFlatbufferOrFailingTheVerifier) {
    const std::string text = "this is not a TFLite model at all";
    expectRefused({text.begin(), text.end()}, engine::ErrorCode::Corrupt, {"TFL3"});
    std::vector<uint8_t> bytes = oneConv();
    bytes[0] = 0xF0, bytes[1] = 0xFF, bytes[2] = 0xFF, bytes[3] = 0x7F;  // root offset far outside
    expectRefused(bytes, engine::ErrorCode::Corrupt, {"verifier"});
}

TEST(TfliteBadInput, TruncatedFile) {
    std::vector<uint8_t> bytes = oneConv();
    bytes.resize(bytes.size() / 2);
    expectRefused(bytes, engine::ErrorCode::Corrupt, {"verifier"});
    expectRefused({bytes.begin(), bytes.begin() + 6}, engine::ErrorCode::Corrupt, {"6 bytes"});
}

TEST(TfliteBadInput, TensorIndexOutOfRange) {
    expectRefused(oneConv(99), engine::ErrorCode::Corrupt,
                  {"operator #0 (CONV_2D)", "input tensor index 99 is out of range"});
}

TEST(TfliteBadInput, BufferTooSmallForTheShape) {
    expectRefused(oneConv(0, 0, 8), engine::ErrorCode::Corrupt,
                  {"'conv/weights'", "holds 8 bytes", "needs 24"});
}

TEST(TfliteBadInput, OpcodeIndexOutOfRange) {
    expectRefused(oneConv(0, 5), engine::ErrorCode::Corrupt,
                  {"operator #0", "opcode index 5 is out of range"});
}

TEST(TfliteBadInput, UnsupportedOperatorIsNamedWithItsIndex) {
    expectRefused(oneConv(0, 0, 0, BuiltinOperator::GATHER), engine::ErrorCode::Unsupported,
                  {"operator #0 (GATHER)", "operator GATHER is not supported"});
}

TEST(TfliteBadInput, InconsistentSparsityMetadata) {
    std::vector<float> dense = values(4 * 6, 22);
    dense[3] = 0.0f;
    expectRefused(sparseFcModel(dense, 4, 6, false, true), engine::ErrorCode::Corrupt,
                  {"'w_sparse'", "sparsity", "array_segments"});
}

// Every mapped operator once, chained: imports, verifies and runs the same on the reference
// runner and the CPU executor. Also a fuzzing seed.
std::vector<uint8_t> kitchenSink() {
    Builder b;
    const auto x = b.tensor("x", {1, 8, 8, 3});
    const auto w1 = b.floats("w1", {8, 3, 3, 3}, values(8 * 27, 30));
    const auto c1 = b.tensor("c1", {1, 8, 8, 8});
    b.op(BuiltinOperator::CONV_2D, {x, w1, b.floats("b1", {8}, values(8, 31))}, {c1},
         BuiltinOptions::Conv2DOptions,
         ::tflite::CreateConv2DOptions(b.fbb, Padding::SAME, 1, 1, ActivationFunctionType::RELU)
             .Union());
    const auto d1 = b.tensor("d1", {1, 4, 4, 8});
    b.op(BuiltinOperator::DEPTHWISE_CONV_2D, {c1, b.floats("dw", {1, 3, 3, 8}, values(72, 32))},
         {d1}, BuiltinOptions::DepthwiseConv2DOptions,
         ::tflite::CreateDepthwiseConv2DOptions(b.fbb, Padding::SAME, 2, 2, 1,
                                                ActivationFunctionType::RELU6)
             .Union());
    const auto hs = b.tensor("hs", {1, 4, 4, 8});
    b.op(BuiltinOperator::HARD_SWISH, {d1}, {hs});
    const auto pr = b.tensor("pr", {1, 4, 4, 8});
    b.op(BuiltinOperator::PRELU, {hs, b.floats("slope", {1, 1, 8}, values(8, 33))}, {pr});
    const auto avg = b.tensor("avg", {1, 2, 2, 8});
    b.op(BuiltinOperator::AVERAGE_POOL_2D, {pr}, {avg}, BuiltinOptions::Pool2DOptions,
         ::tflite::CreatePool2DOptions(b.fbb, Padding::SAME, 2, 2, 3, 3).Union());
    const auto mx = b.tensor("mx", {1, 2, 2, 8});
    b.op(BuiltinOperator::MAX_POOL_2D, {pr}, {mx}, BuiltinOptions::Pool2DOptions,
         ::tflite::CreatePool2DOptions(b.fbb, Padding::VALID, 2, 2, 2, 2).Union());
    const auto sum = b.tensor("sum", {1, 2, 2, 8});
    b.op(BuiltinOperator::ADD, {avg, mx}, {sum}, BuiltinOptions::AddOptions,
         ::tflite::CreateAddOptions(b.fbb, ActivationFunctionType::TANH).Union());
    const auto gate = b.tensor("gate", {1, 1, 1, 8});
    b.op(BuiltinOperator::MEAN, {sum, b.ints("axes", {2}, {1, 2})}, {gate},
         BuiltinOptions::ReducerOptions, ::tflite::CreateReducerOptions(b.fbb, true).Union());
    const auto sg = b.tensor("sg", {1, 1, 1, 8});
    b.op(BuiltinOperator::LOGISTIC, {gate}, {sg});
    const auto gated = b.tensor("gated", {1, 2, 2, 8});
    b.op(BuiltinOperator::MUL, {sum, sg}, {gated});
    const auto scaled = b.tensor("scaled", {1, 2, 2, 8});
    b.op(BuiltinOperator::SUB, {gated, b.floats("shift", {8}, values(8, 34))}, {scaled});
    const auto d2s = b.tensor("d2s", {1, 4, 4, 2});
    b.op(BuiltinOperator::DEPTH_TO_SPACE, {scaled}, {d2s}, BuiltinOptions::DepthToSpaceOptions,
         ::tflite::CreateDepthToSpaceOptions(b.fbb, 2).Union());
    const auto up = b.tensor("up", {1, 8, 8, 2});
    const int32_t tc[3] = {2, 2, 2};  // VALID, stride 2
    std::vector<uint8_t> custom(sizeof tc);
    std::memcpy(custom.data(), tc, sizeof tc);
    b.op(BuiltinOperator::CUSTOM,
         {d2s, b.floats("tw", {2, 2, 2, 2}, values(16, 35)), b.floats("tb", {2}, values(2, 36))},
         {up}, BuiltinOptions::NONE, 0, &custom, "Convolution2DTransposeBias");
    const auto cat = b.tensor("cat", {1, 8, 8, 5});
    b.op(BuiltinOperator::CONCATENATION, {up, x}, {cat}, BuiltinOptions::ConcatenationOptions,
         ::tflite::CreateConcatenationOptions(b.fbb, 3).Union());
    const auto rs = b.tensor("rs", {1, 4, 4, 5});
    b.op(BuiltinOperator::RESIZE_BILINEAR, {cat, b.ints("size", {2}, {4, 4})}, {rs},
         BuiltinOptions::ResizeBilinearOptions,
         ::tflite::CreateResizeBilinearOptions(b.fbb, 0, 0, false, true).Union());
    const auto tr = b.tensor("tr", {1, 5, 4, 4});
    b.op(BuiltinOperator::TRANSPOSE, {rs, b.ints("perm", {4}, {0, 3, 1, 2})}, {tr});
    const auto fc = b.tensor("fc", {1, 6});
    b.op(BuiltinOperator::FULLY_CONNECTED, {tr, b.floats("fw", {6, 80}, values(480, 37)), -1}, {fc},
         BuiltinOptions::FullyConnectedOptions,
         ::tflite::CreateFullyConnectedOptions(b.fbb).Union());
    const auto sm = b.tensor("sm", {1, 6});
    b.op(BuiltinOperator::SOFTMAX, {fc}, {sm}, BuiltinOptions::SoftmaxOptions,
         ::tflite::CreateSoftmaxOptions(b.fbb, 0.5f).Union());
    return b.finish({x}, {sm, up});
}

TEST(TfliteSynthetic, EveryOperatorChainedRunsTheSameOnReferenceAndCpu) {
    auto graph = importBytes(kitchenSink());
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_TRUE(engine::verifyGraph(*graph).ok());
    ASSERT_EQ(graph->outputs.size(), 2u);
    EXPECT_EQ(graph->value(graph->outputs[0]).name, "sm");
    EXPECT_EQ(graph->value(graph->outputs[1]).name, "up");
    const std::vector<Tensor> inputs = {pseudoRandom({1, 8, 8, 3}, 38)};
    auto ref = engine::runGraphReference(*graph, inputs);
    ASSERT_TRUE(ref.ok()) << ref.error().toString();
    float total = 0.0f;
    for (float v : (*ref)[0].span<float>()) total += v;
    EXPECT_NEAR(total, 1.0f, 1e-5f);  // a softmax
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto cpu = (*exec)->run(inputs);
    ASSERT_TRUE(cpu.ok()) << cpu.error().toString();
    for (size_t i = 0; i < ref->size(); ++i) {
        EXPECT_LE(maxAbsDiff((*ref)[i], (*cpu)[i]), 1e-4f * std::max(range((*ref)[i]), 1e-3f));
    }
}

// PRUNELAB_WRITE_TFLITE_SEEDS=tests/data/fuzz/tflite rewrites the fuzzer's seeds from the
// models above (a few hundred bytes to a few KB each).
TEST(TfliteSeeds, WriteWhenAsked) {
    const char* dir = std::getenv("PRUNELAB_WRITE_TFLITE_SEEDS");
    if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "PRUNELAB_WRITE_TFLITE_SEEDS not set";
    std::vector<float> dense = values(4 * 6, 22);
    for (size_t i = 0; i < dense.size(); i += 3) dense[i] = 0.0f;
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds = {
        {"conv.tflite", oneConv()},
        {"every_op.tflite", kitchenSink()},
        {"sparse_fc.tflite", sparseFcModel(dense, 4, 6, false)},
        {"sparse_blocks_fc.tflite", sparseFcModel(std::vector<float>(24, 1.0f), 4, 6, true)},
    };
    fs::create_directories(dir);
    for (const auto& [name, bytes] : seeds) {
        ASSERT_TRUE(importBytes(bytes).ok()) << name;
        std::ofstream(std::string(dir) + "/" + name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    }
}

}  // namespace

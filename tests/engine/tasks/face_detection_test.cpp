// BlazeFace post-processing: anchors and decoding checked against hand-computed values, then the
// real models on the asset cache's photos, run by the engine and by ONNX Runtime.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/tasks/face_detection.h"
#include "engine/tasks/preprocess.h"
#include "plugins/refrt/ort_runner.h"
#include "tests/test_cache.h"

namespace prunelab::engine {
namespace {

// ---------------------------------------------------------------------------------------------
// Synthetic outputs

// A logit whose sigmoid is `p`.
float logit(float p) {
    return std::log(p / (1.0f - p));
}

// The four model outputs with every anchor scoring ~0, in the model's order; tests write one
// anchor's 16 regressor values and its logit, then hand the tensors over in any order.
struct FakeOutputs {
    Tensor scores16{DataType::Float32, {1, 512, 1}};
    Tensor scores8{DataType::Float32, {1, 384, 1}};
    Tensor boxes16{DataType::Float32, {1, 512, 16}};
    Tensor boxes8{DataType::Float32, {1, 384, 16}};

    FakeOutputs() {
        std::fill_n(scores16.data<float>(), 512, -20.0f);
        std::fill_n(scores8.data<float>(), 384, -20.0f);
        std::fill_n(boxes16.data<float>(), 512 * 16, 0.0f);
        std::fill_n(boxes8.data<float>(), 384 * 16, 0.0f);
    }
    // anchor: 0..895 in the anchors' order; raw: x, y, w, h, then 6 keypoints (x, y).
    void set(int anchor, float score, const std::vector<float>& raw) {
        bool fine = anchor < 512;
        int i = fine ? anchor : anchor - 512;
        (fine ? scores16 : scores8).data<float>()[i] = logit(score);
        std::copy(raw.begin(), raw.end(), (fine ? boxes16 : boxes8).data<float>() + i * 16);
    }
    // Deliberately not the model's order: the decoder must go by shape.
    std::vector<Tensor> shuffled() const { return {boxes8, scores16, boxes16, scores8}; }
};

// ---------------------------------------------------------------------------------------------
// Anchors

TEST(BlazeFaceAnchors, CountsAndCornersComputedByHand) {
    for (int size : {128, 256}) {
        SCOPED_TRACE(size);
        std::vector<Point2f> a = blazeFaceAnchors(size);
        ASSERT_EQ(a.size(), 896u);  // 16 * 16 * 2 + 8 * 8 * 6
        // 16x16 grid, 2 per cell, rows top to bottom: the first cell's centre is 0.5 / 16.
        EXPECT_FLOAT_EQ(a[0].x, 0.03125f);
        EXPECT_FLOAT_EQ(a[0].y, 0.03125f);
        EXPECT_FLOAT_EQ(a[1].x, 0.03125f);
        EXPECT_FLOAT_EQ(a[2].x, 0.09375f);  // next cell to the right: 1.5 / 16
        EXPECT_FLOAT_EQ(a[2].y, 0.03125f);
        EXPECT_FLOAT_EQ(a[32].x, 0.03125f);  // second row: 1.5 / 16
        EXPECT_FLOAT_EQ(a[32].y, 0.09375f);
        EXPECT_FLOAT_EQ(a[511].x, 0.96875f);  // 15.5 / 16
        EXPECT_FLOAT_EQ(a[511].y, 0.96875f);
        // 8x8 grid, 6 per cell.
        for (int i = 512; i < 518; ++i) {
            EXPECT_FLOAT_EQ(a[i].x, 0.0625f);  // 0.5 / 8
            EXPECT_FLOAT_EQ(a[i].y, 0.0625f);
        }
        EXPECT_FLOAT_EQ(a[518].x, 0.1875f);  // 1.5 / 8
        EXPECT_FLOAT_EQ(a[895].x, 0.9375f);  // 7.5 / 8
        EXPECT_FLOAT_EQ(a[895].y, 0.9375f);
    }
    EXPECT_TRUE(blazeFaceAnchors(160).empty());
}

TEST(BlazeFaceAnchors, FullRangeIsOne48x48GridWithOneAnchorPerCell) {
    // Full range: one layer of stride 4 on 192 pixels, no interpolated scale: 48 x 48 x 1.
    std::vector<Point2f> a = blazeFaceAnchors(192);
    ASSERT_EQ(a.size(), 2304u);
    for (int y = 0; y < 48; y += 7) {
        for (int x = 0; x < 48; x += 5) {
            const Point2f& p = a[static_cast<size_t>(y * 48 + x)];
            EXPECT_FLOAT_EQ(p.x, (x + 0.5f) / 48.0f) << x << ", " << y;
            EXPECT_FLOAT_EQ(p.y, (y + 0.5f) / 48.0f) << x << ", " << y;
        }
    }
    EXPECT_FLOAT_EQ(a[2303].x, 47.5f / 48.0f);
    EXPECT_FLOAT_EQ(a[2303].y, 47.5f / 48.0f);
}

// ---------------------------------------------------------------------------------------------
// Decoding

// One face on anchor 772 of the front model: the 8x8 grid's cell (x 3, y 5), anchor 2, so
// 512 + (5 * 8 + 3) * 6 + 2; its centre is (3.5, 5.5) / 8 * 128 = (56, 88) input pixels.
// The face: centre (60, 84), 40 x 44; eyes (50, 75) and (70, 75), nose (60, 86), mouth
// (60, 96), ears (42, 80) and (78, 80).
const std::vector<float> kFaceRaw = {4, -4, 40, 44, -6, -13, 14, -13, 4, -2, 4, 8, -14, -8, 22, -8};

void expectKnownFace(const Detection& d, float score) {
    EXPECT_NEAR(d.x0, 40.0f, 1e-4f);
    EXPECT_NEAR(d.y0, 62.0f, 1e-4f);
    EXPECT_NEAR(d.x1, 80.0f, 1e-4f);
    EXPECT_NEAR(d.y1, 106.0f, 1e-4f);
    EXPECT_NEAR(d.score, score, 1e-5f);
    ASSERT_EQ(d.keypoints.size(), 6u);
    const float want[6][2] = {{50, 75}, {70, 75}, {60, 86}, {60, 96}, {42, 80}, {78, 80}};
    for (int k = 0; k < 6; ++k) {
        EXPECT_NEAR(d.keypoints[k].x, want[k][0], 1e-4f) << "keypoint " << k;
        EXPECT_NEAR(d.keypoints[k].y, want[k][1], 1e-4f) << "keypoint " << k;
    }
    EXPECT_TRUE(d.quad.empty());
}

TEST(BlazeFaceDecode, KnownFaceRoundTrips) {
    FakeOutputs out;
    out.set(772, 0.9f, kFaceRaw);
    auto faces = decodeBlazeFace(out.shuffled(), {.inputSize = 128});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    expectKnownFace((*faces)[0], 0.9f);
}

// The .tflite files give all anchors in one scores and one boxes output: [1, 896, 1] and
// [1, 896, 16] for short range; the same face must come out as from the four split outputs.
TEST(BlazeFaceDecode, AllAnchorsInTwoOutputsDecodeAsTheSplitOnes) {
    FakeOutputs split;
    split.set(772, 0.9f, kFaceRaw);
    Tensor scores(DataType::Float32, {1, 896, 1});
    Tensor boxes(DataType::Float32, {1, 896, 16});
    std::copy_n(split.scores16.data<float>(), 512, scores.data<float>());
    std::copy_n(split.scores8.data<float>(), 384, scores.data<float>() + 512);
    std::copy_n(split.boxes16.data<float>(), 512 * 16, boxes.data<float>());
    std::copy_n(split.boxes8.data<float>(), 384 * 16, boxes.data<float>() + 512 * 16);
    auto faces = decodeBlazeFace(std::vector<Tensor>{boxes, scores}, {.inputSize = 128});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    expectKnownFace((*faces)[0], 0.9f);
}

// Full range (192): anchor y * 48 + x sits at ((x + 0.5) * 4, (y + 0.5) * 4) input pixels.
TEST(BlazeFaceDecode, FullRangeAnchorThatFiresDecodesToItsBox) {
    Tensor scores(DataType::Float32, {1, 2304, 1});
    Tensor boxes(DataType::Float32, {1, 2304, 16});
    std::fill_n(scores.data<float>(), 2304, -20.0f);
    std::fill_n(boxes.data<float>(), 2304 * 16, 0.0f);
    const int cellX = 10, cellY = 20, anchor = cellY * 48 + cellX;  // centre (42, 82)
    const float ax = (cellX + 0.5f) * 4, ay = (cellY + 0.5f) * 4;
    // A 30 x 36 face centred 3 right of and 2 above the anchor; keypoints as offsets too.
    const std::vector<float> raw = {3, -2, 30, 36, -5, -6, 5, -6, 0, 0, 0, 8, -12, -3, 12, -3};
    scores.data<float>()[anchor] = logit(0.8f);
    std::copy(raw.begin(), raw.end(), boxes.data<float>() + anchor * 16);
    auto faces = decodeBlazeFace(std::vector<Tensor>{scores, boxes}, {.inputSize = 192});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    const Detection& d = (*faces)[0];
    EXPECT_NEAR(d.x0, ax + 3 - 15, 1e-4f);
    EXPECT_NEAR(d.x1, ax + 3 + 15, 1e-4f);
    EXPECT_NEAR(d.y0, ay - 2 - 18, 1e-4f);
    EXPECT_NEAR(d.y1, ay - 2 + 18, 1e-4f);
    EXPECT_NEAR(d.score, 0.8f, 1e-5f);
    ASSERT_EQ(d.keypoints.size(), 6u);
    for (int k = 0; k < 6; ++k) {
        EXPECT_NEAR(d.keypoints[k].x, ax + raw[4 + 2 * k], 1e-4f) << "keypoint " << k;
        EXPECT_NEAR(d.keypoints[k].y, ay + raw[5 + 2 * k], 1e-4f) << "keypoint " << k;
    }
    // The short-range layout is not the full-range one, and the other way round.
    auto wrong = decodeBlazeFace(std::vector<Tensor>{scores, boxes}, {.inputSize = 128});
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("896"), std::string::npos) << wrong.error().message;
    FakeOutputs split;
    EXPECT_FALSE(decodeBlazeFace(split.shuffled(), {.inputSize = 192}).ok());
}

TEST(BlazeFaceDecode, BackModelAnchorsScaleWithTheInput) {
    // The back model has the same grids on a 256 input: anchor 772's centre is (112, 176).
    FakeOutputs out;
    out.set(772, 0.8f, {8, -8, 80, 88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    auto faces = decodeBlazeFace(out.shuffled(), {.inputSize = 256});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    const Detection& d = (*faces)[0];
    EXPECT_NEAR(d.x0, 80.0f, 1e-4f);
    EXPECT_NEAR(d.y0, 124.0f, 1e-4f);
    EXPECT_NEAR(d.x1, 160.0f, 1e-4f);
    EXPECT_NEAR(d.y1, 212.0f, 1e-4f);
    EXPECT_NEAR(d.keypoints[3].x, 112.0f, 1e-4f);
    EXPECT_NEAR(d.keypoints[3].y, 176.0f, 1e-4f);
}

TEST(BlazeFaceDecode, FirstGridAnchorAndScoreThreshold) {
    // Anchor 35 is the 16x16 grid's cell (x 1, y 1), second anchor: centre (12, 12) at 128.
    FakeOutputs out;
    out.set(35, 0.6f, {1, 2, 10, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    auto faces = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .scoreThreshold = 0.5f});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    EXPECT_NEAR((*faces)[0].x0, 8.0f, 1e-4f);
    EXPECT_NEAR((*faces)[0].y0, 8.0f, 1e-4f);
    EXPECT_NEAR((*faces)[0].x1, 18.0f, 1e-4f);
    EXPECT_NEAR((*faces)[0].y1, 20.0f, 1e-4f);
    auto none = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .scoreThreshold = 0.7f});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST(BlazeFaceDecode, HugeLogitsAreClippedNotNaN) {
    FakeOutputs out;
    out.set(772, 0.5f, kFaceRaw);
    out.scores8.data<float>()[260] = 1e30f;
    out.scores8.data<float>()[0] = -1e30f;
    auto faces = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .scoreThreshold = 0.99f});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 1u);
    EXPECT_FLOAT_EQ((*faces)[0].score, 1.0f);
}

TEST(BlazeFaceDecode, WeightedNmsMergesDuplicatesAndKeepsSeparateFaces) {
    FakeOutputs out;
    // The known face on anchor 772 (0.9) and twice more on the same cell's anchors 770 and 771,
    // shifted: one blended face whose box is the score-weighted mean.
    out.set(772, 0.9f, kFaceRaw);
    std::vector<float> right = kFaceRaw, down = kFaceRaw;
    right[0] += 4;  // box centre x 64; keypoints stay: the cell's anchors share one centre
    down[1] += 2;   // box centre y 86
    down[2] += 2;   // width 42
    out.set(770, 0.6f, right);
    out.set(771, 0.5f, down);
    // A second face far away (the 16x16 grid's first anchor, centre (4, 4)): kept apart.
    out.set(0, 0.7f, {2, 2, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});

    auto faces = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .scoreThreshold = 0.5f});
    ASSERT_TRUE(faces.ok()) << faces.error().toString();
    ASSERT_EQ(faces->size(), 2u);
    const Detection& face = (*faces)[0];
    EXPECT_FLOAT_EQ(face.score, 0.9f);  // the best score, not the mean
    // x0: (0.9 * 40 + 0.6 * 44 + 0.5 * 39) / 2.0; y0: (0.9 * 62 + 0.6 * 62 + 0.5 * 64) / 2.0.
    EXPECT_NEAR(face.x0, (0.9f * 40 + 0.6f * 44 + 0.5f * 39) / 2.0f, 1e-4f);
    EXPECT_NEAR(face.y0, (0.9f * 62 + 0.6f * 62 + 0.5f * 64) / 2.0f, 1e-4f);
    EXPECT_NEAR(face.x1, (0.9f * 80 + 0.6f * 84 + 0.5f * 81) / 2.0f, 1e-4f);
    EXPECT_NEAR(face.y1, (0.9f * 106 + 0.6f * 106 + 0.5f * 108) / 2.0f, 1e-4f);
    EXPECT_NEAR(face.keypoints[0].x, 50.0f, 1e-4f);
    EXPECT_NEAR((*faces)[1].score, 0.7f, 1e-5f);
    EXPECT_NEAR((*faces)[1].x0, 2.0f, 1e-4f);

    // maxFaces cuts after the best; a strict IoU threshold of 1 keeps the duplicates apart.
    auto one = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .maxFaces = 1});
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->size(), 1u);
    EXPECT_FLOAT_EQ((*one)[0].score, 0.9f);
    auto apart = decodeBlazeFace(out.shuffled(), {.inputSize = 128, .iouThreshold = 1.0f});
    ASSERT_TRUE(apart.ok());
    EXPECT_EQ(apart->size(), 4u);
}

TEST(BlazeFaceDecode, WrongShapesAreInvalidArgument) {
    FakeOutputs out;
    auto expectInvalid = [](std::vector<Tensor> outputs, int size, const char* why) {
        auto r = decodeBlazeFace(outputs, {.inputSize = size});
        ASSERT_FALSE(r.ok()) << why;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument) << why;
        EXPECT_FALSE(r.error().message.empty()) << why;
    };
    expectInvalid({out.scores16, out.scores8, out.boxes16}, 128, "three outputs");
    expectInvalid({out.scores16, out.scores16, out.boxes16, out.boxes8}, 128, "a shape twice");
    expectInvalid({out.scores16, out.scores8, out.boxes16, Tensor(DataType::Float32, {1, 384, 12})},
                  128, "12 regressors");
    expectInvalid({out.scores16, out.scores8, out.boxes16, Tensor(DataType::Float32, {384, 16})},
                  128, "rank 2");
    expectInvalid({out.scores16, out.scores8, out.boxes16, Tensor(DataType::Int64, {1, 384, 16})},
                  128, "int64");
    expectInvalid(out.shuffled(), 192, "input size 192");
    expectInvalid(out.shuffled(), 160, "input size 160");
    expectInvalid({Tensor(DataType::Float32, {1, 896, 1}), out.boxes16}, 128,
                  "all scores with one grid's boxes");
}

// ---------------------------------------------------------------------------------------------
// Real models on real photos

using prunelab::testing::cacheDir;

std::string assetPath(const std::string& rel) {
    return cacheDir() + "/" + rel;
}

struct ModelFile {
    const char* name;
    const char* file;  // under models/
    int size;
};
const ModelFile kFront = {"front", "blazeface/face_detection_front_128x128_barracuda.onnx", 128};
const ModelFile kBack = {"back", "blazeface/face_detection_back_256x256_barracuda.onnx", 256};

// One model loaded twice: the engine's CPU executor and ONNX Runtime, fed the same tensor.
struct FaceModel {
    ModelFile file;
    Shape inputShape;
    std::unique_ptr<cpu::CpuExecutor> engine;
    std::unique_ptr<refrt::OrtRunner> ort;
};

// The photo's part x, y, w, h: a crop is how a caller gives the front model a face big enough.
Image crop(const Image& image, int x, int y, int w, int h) {
    Image out(w, h);
    for (int r = 0; r < h; ++r) {
        std::copy_n(image.pixel(x, y + r), static_cast<size_t>(w) * 3, out.pixel(0, r));
    }
    return out;
}

class BlazeFacePhotos : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        for (const ModelFile& m : {kFront, kBack}) {
            FaceModel model{m, {1, m.size, m.size, 3}, nullptr, nullptr};
            const std::string path = assetPath(std::string("models/") + m.file);
            if (!std::filesystem::exists(path)) {
                s_loadError = path + " is missing: run ./prunelab setup";
                return;
            }
            auto graph = importOnnxFile(path);
            if (!graph.ok()) {
                s_loadError = graph.error().toString();
                return;
            }
            auto exec = cpu::CpuExecutor::create(*graph, {.threads = 2});
            if (!exec.ok()) {
                s_loadError = exec.error().toString();
                return;
            }
            model.engine = std::move(*exec);
            auto ort = refrt::OrtRunner::load(path, 2);
            if (!ort.ok()) {
                s_loadError = ort.error().toString() + " (run ./prunelab setup)";
                return;
            }
            model.ort = std::move(*ort);
            s_models.push_back(std::move(model));
        }
    }
    static void TearDownTestSuite() { s_models.clear(); }

    void SetUp() override { ASSERT_TRUE(s_loadError.empty()) << s_loadError; }

    static const FaceModel& model(const ModelFile& m) {
        return m.size == 128 ? s_models[0] : s_models[1];
    }

    static Image photo(const std::string& name) {
        const std::string path = assetPath("photos/" + name);
        EXPECT_TRUE(std::filesystem::exists(path)) << path << " is missing: run ./prunelab setup";
        auto image = readImage(path);
        EXPECT_TRUE(image.ok()) << (image.ok() ? "" : image.error().toString());
        return image.ok() ? *image : Image();
    }

    // Faces in the picture's pixels from the engine and, on the same input, from ORT.
    struct Found {
        std::vector<Detection> engine, ort;
    };
    static Found detect(const FaceModel& m, const Image& picture, float threshold) {
        Found found;
        Preprocess pre;
        pre.fit = Fit::Letterbox;
        for (int c = 0; c < 3; ++c) pre.norm.mean[c] = 0.5f, pre.norm.std[c] = 0.5f;
        InputMapping mapping;
        auto input = imageToInput(picture, m.inputShape, pre, &mapping);
        EXPECT_TRUE(input.ok()) << (input.ok() ? "" : input.error().toString());
        if (!input.ok()) return found;
        std::vector<Tensor> inputs;
        inputs.push_back(std::move(*input));
        BlazeFaceOptions options{.inputSize = m.file.size, .scoreThreshold = threshold};
        auto decode = [&](const Result<std::vector<Tensor>>& outputs, std::vector<Detection>* to) {
            EXPECT_TRUE(outputs.ok()) << (outputs.ok() ? "" : outputs.error().toString());
            if (!outputs.ok()) return;
            auto faces = decodeBlazeFace(*outputs, options);
            EXPECT_TRUE(faces.ok()) << (faces.ok() ? "" : faces.error().toString());
            if (!faces.ok()) return;
            for (const Detection& d : *faces) to->push_back(mapping.toImage(d));
        };
        decode(m.engine->run(inputs), &found.engine);
        decode(m.ort->run(inputs), &found.ort);
        return found;
    }

    static inline std::vector<FaceModel> s_models;
    static inline std::string s_loadError;
};

// The head of the woman in person.jpg, measured by eye on the photo (640 x 424): hat and head
// span x 218..252, y 98..140. She faces away from the camera (messi5.jpg below has the frontal
// face); BlazeFace still scores her head about 0.5 to 0.6, far above anything else in the photo,
// and that is what these tests hold it to.
const Detection kHead = {.x0 = 218, .y0 = 98, .x1 = 252, .y1 = 140};
// The front model is a short-range (selfie) model: it needs the head to fill a good part of its
// 128 input, so it gets the 100 x 100 crop around the head (x 186..286, y 68..168).
constexpr int kCropX = 186, kCropY = 68, kCropSide = 100;
// MediaPipe's default score threshold; the head tests use 0.45 because her head, seen from
// behind, scores right at 0.5 on the whole photo (the margin is too thin for a test).
constexpr float kDefaultThreshold = 0.5f;
constexpr float kHeadThreshold = 0.45f;

std::string describe(const Detection& d) {
    char text[160];
    std::snprintf(text, sizeof text, "score %.3f box (%.1f, %.1f)-(%.1f, %.1f)", d.score, d.x0,
                  d.y0, d.x1, d.y1);
    return text;
}

bool inside(const Point2f& p, const Detection& box) {
    return p.x >= box.x0 && p.x <= box.x1 && p.y >= box.y0 && p.y <= box.y1;
}

void expectOnTheHead(const std::vector<Detection>& faces) {
    ASSERT_EQ(faces.size(), 1u) << "one face expected; the best is "
                                << (faces.empty() ? "none" : describe(faces[0]));
    const Detection& d = faces[0];
    SCOPED_TRACE(describe(d));
    const Point2f centre{(d.x0 + d.x1) / 2, (d.y0 + d.y1) / 2};
    EXPECT_TRUE(inside(centre, kHead)) << "the box's centre is off the head";
    EXPECT_GT(intersectionOverUnion(d, kHead), 0.2f);
    EXPECT_GE(d.width(), 10.0f);
    EXPECT_LE(d.width(), 50.0f);
    ASSERT_EQ(d.keypoints.size(), 6u);
    EXPECT_TRUE(inside(d.keypoints[0], d)) << "right eye outside the box";
    EXPECT_TRUE(inside(d.keypoints[1], d)) << "left eye outside the box";
}

TEST_F(BlazeFacePhotos, BackModelFindsTheHeadOnPerson) {
    Found found = detect(model(kBack), photo("person.jpg"), kHeadThreshold);
    expectOnTheHead(found.engine);
}

TEST_F(BlazeFacePhotos, FrontModelFindsTheHeadOnACropOfPerson) {
    Image crop100 = crop(photo("person.jpg"), kCropX, kCropY, kCropSide, kCropSide);
    Found found = detect(model(kFront), crop100, kHeadThreshold);
    for (Detection& d : found.engine) {  // crop pixels -> photo pixels
        d.x0 += kCropX, d.x1 += kCropX, d.y0 += kCropY, d.y1 += kCropY;
        for (Point2f& p : d.keypoints) p.x += kCropX, p.y += kCropY;
    }
    expectOnTheHead(found.engine);
}

// messi5.jpg (548 x 342, from opencv-doc) has a real, nearly frontal face: the one photo in the
// cache that does. Measured by eye: forehead to chin and ear to ear span x 220..262, y 90..138.
const Detection kMessiFace = {.x0 = 220, .y0 = 90, .x1 = 262, .y1 = 138};

void expectOnMessisFace(const std::vector<Detection>& faces, float minScore) {
    ASSERT_EQ(faces.size(), 1u) << "one face expected; the best is "
                                << (faces.empty() ? "none" : describe(faces[0]));
    const Detection& d = faces[0];
    SCOPED_TRACE(describe(d));
    EXPECT_GT(d.score, minScore);
    EXPECT_GT(intersectionOverUnion(d, kMessiFace), 0.5f);
    ASSERT_EQ(d.keypoints.size(), 6u);
    // Eyes inside the box and above the nose, the nose above the mouth: a face the right way up.
    EXPECT_TRUE(inside(d.keypoints[0], d) && inside(d.keypoints[1], d));
    EXPECT_LT(std::max(d.keypoints[0].y, d.keypoints[1].y), d.keypoints[2].y);
    EXPECT_LT(d.keypoints[2].y, d.keypoints[3].y);
    // As the person sees it, the right eye is on the left of the picture.
    EXPECT_LT(d.keypoints[0].x, d.keypoints[1].x);
}

TEST_F(BlazeFacePhotos, BackModelFindsTheFaceOnMessi) {
    Found found = detect(model(kBack), photo("messi5.jpg"), kDefaultThreshold);
    expectOnMessisFace(found.engine, 0.8f);
}

TEST_F(BlazeFacePhotos, FrontModelFindsTheFaceOnACropOfMessi) {
    constexpr int kX = 181, kY = 54, kSide = 120;  // the face fills a third of the crop
    Found found =
        detect(model(kFront), crop(photo("messi5.jpg"), kX, kY, kSide, kSide), kDefaultThreshold);
    for (Detection& d : found.engine) {  // crop pixels -> photo pixels
        d.x0 += kX, d.x1 += kX, d.y0 += kY, d.y1 += kY;
        for (Point2f& p : d.keypoints) p.x += kX, p.y += kY;
    }
    expectOnMessisFace(found.engine, 0.6f);
}

// Honest negatives at MediaPipe's threshold: no person (horses, eagle, giraffe), or people far
// away with their backs turned (kite). dog.jpg is not one: the back model finds the dog's face.
// The front model is not asked about eagle.jpg: squeezed to 128 the whole photo gives it a
// false positive on the bird's breast (0.54).
TEST_F(BlazeFacePhotos, NoFacesOnPhotosWithoutFaces) {
    struct Case {
        const char* photo;
        ModelFile model;
    };
    const Case cases[] = {{"horses.jpg", kBack}, {"eagle.jpg", kBack},   {"giraffe.jpg", kBack},
                          {"kite.jpg", kBack},   {"horses.jpg", kFront}, {"giraffe.jpg", kFront},
                          {"kite.jpg", kFront}};
    for (const Case& c : cases) {
        Found found = detect(model(c.model), photo(c.photo), kDefaultThreshold);
        EXPECT_TRUE(found.engine.empty())
            << c.photo << " " << c.model.name << ": " << describe(found.engine[0]);
    }
}

// The same input through the engine and ONNX Runtime, decoded alike, must give the same faces to
// within a pixel of the photo. A low threshold makes every photo yield candidates to compare.
TEST_F(BlazeFacePhotos, EngineMatchesOnnxRuntime) {
    Image person = photo("person.jpg");
    std::vector<std::pair<std::string, Image>> pictures = {
        {"person crop", crop(person, kCropX, kCropY, kCropSide, kCropSide)}};
    for (const char* name :
         {"person.jpg", "horses.jpg", "dog.jpg", "eagle.jpg", "giraffe.jpg", "kite.jpg"}) {
        pictures.emplace_back(name, photo(name));
    }
    size_t compared = 0;
    for (const auto& [name, picture] : pictures) {
        for (const ModelFile& m : {kFront, kBack}) {
            SCOPED_TRACE(name + " " + m.name);
            Found found = detect(model(m), picture, 0.1f);
            ASSERT_EQ(found.engine.size(), found.ort.size());
            for (size_t i = 0; i < found.engine.size(); ++i) {
                const Detection &a = found.engine[i], &b = found.ort[i];
                SCOPED_TRACE("engine " + describe(a) + ", ORT " + describe(b));
                EXPECT_NEAR(a.score, b.score, 1e-3f);
                EXPECT_NEAR(a.x0, b.x0, 1.0f);
                EXPECT_NEAR(a.y0, b.y0, 1.0f);
                EXPECT_NEAR(a.x1, b.x1, 1.0f);
                EXPECT_NEAR(a.y1, b.y1, 1.0f);
                ASSERT_EQ(a.keypoints.size(), b.keypoints.size());
                for (size_t k = 0; k < a.keypoints.size(); ++k) {
                    EXPECT_NEAR(a.keypoints[k].x, b.keypoints[k].x, 1.0f) << "keypoint " << k;
                    EXPECT_NEAR(a.keypoints[k].y, b.keypoints[k].y, 1.0f) << "keypoint " << k;
                }
            }
            compared += found.engine.size();
        }
    }
    EXPECT_GT(compared, 50u) << "too few candidates to make the comparison mean anything";
}

}  // namespace
}  // namespace prunelab::engine

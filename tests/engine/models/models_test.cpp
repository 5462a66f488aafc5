// Every ONNX model in ../shared/ASSETS.md runs through the engine on a real photo and must
// match ONNX Runtime (the pinned package) to 1e-4 of each output's range. The exported IR must
// load in ONNX Runtime and give the same outputs as the original file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_inputs.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::engine {
namespace {

struct ModelCase {
    const char* name;
    const char* file;       // under the cache's models/ folder
    int64_t height, width;  // bound input size (0 = as declared)
    float mean, std;        // photo -> input normalisation used by the model
    const char* photo;
    const char* text;  // drawn onto the photo so the OCR models have something to find
};

void PrintTo(const ModelCase& m, std::ostream* os) {
    *os << m.name;
}

const ModelCase kModels[] = {
    {"blazeface_front", "blazeface/face_detection_front_128x128_barracuda.onnx", 0, 0, 0.5f, 0.5f,
     "person.jpg", nullptr},
    {"blazeface_back", "blazeface/face_detection_back_256x256_barracuda.onnx", 0, 0, 0.5f, 0.5f,
     "person.jpg", nullptr},
    {"ppocr_det", "ppocr/ch_PP-OCRv4_det_infer.onnx", 640, 640, 0.5f, 0.5f, "kite.jpg",
     "PRUNE LAB 2026"},
    {"ppocr_rec", "ppocr/ch_PP-OCRv4_rec_infer.onnx", 48, 320, 0.5f, 0.5f, "horses.jpg", "HELLO"},
    {"ppocr_cls", "ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", 48, 192, 0.5f, 0.5f, "dog.jpg",
     "TEXT"},
};

std::string cachePath(const std::string& rel) {
    return std::string(PRUNELAB_CACHE_DIR) + "/" + rel;
}

// The photo with `text` written across it in large black letters on a white band, saved to a
// temporary file: a real picture that gives the text detector and recogniser real work.
std::string photoWithText(const std::string& photo, const char* text, const std::string& tag) {
    cv::Mat image = cv::imread(photo, cv::IMREAD_COLOR);
    if (image.empty() || text == nullptr) return photo;
    int band = image.rows / 4;
    cv::rectangle(image, cv::Rect(0, image.rows / 3, image.cols, band), cv::Scalar(255, 255, 255),
                  cv::FILLED);
    double scale = image.cols / 200.0;
    cv::putText(image, text, cv::Point(image.cols / 20, image.rows / 3 + band * 3 / 4),
                cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), static_cast<int>(scale * 3));
    std::string out =
        (std::filesystem::temp_directory_path() / ("prunelab_" + tag + ".png")).string();
    cv::imwrite(out, image);
    return out;
}

// The tolerance of the issue: max |engine - ORT| <= 1e-4 * (max - min of ORT's output).
void expectClose(const Tensor& ours, const Tensor& ref, const std::string& what) {
    ASSERT_EQ(ours.shape(), ref.shape()) << what;
    std::vector<float> a = ours.toFloatVector(), b = ref.toFloatVector();
    ASSERT_FALSE(b.empty()) << what;
    auto [lo, hi] = std::minmax_element(b.begin(), b.end());
    float range = *hi - *lo;
    // A flat reference (e.g. a text detector shown no text) would make 1e-4 of it meaningless.
    ASSERT_GT(range, 1e-3f) << what << ": ONNX Runtime's output is nearly constant";
    float worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        float d = std::fabs(a[i] - b[i]);
        if (!(d <= worst)) worst = d, at = i;  // also catches NaN
    }
    EXPECT_LE(worst, 1e-4f * range)
        << what << ": worst |diff| " << worst << " at element " << at << " (ours " << a[at]
        << ", ORT " << b[at] << "), output range " << range;
}

class RealModel : public ::testing::TestWithParam<ModelCase> {
  protected:
    void SetUp() override {
        const ModelCase& m = GetParam();
        m_path = cachePath(std::string("models/") + m.file);
        ASSERT_TRUE(std::filesystem::exists(m_path))
            << m_path << " is missing: run ./prunelab setup (it fetches the pinned models)";
        ASSERT_TRUE(refrt::ortAvailable()) << "built without ONNX Runtime: run ./prunelab setup";
        auto declared = readOnnxInputs(m_path);
        ASSERT_TRUE(declared.ok()) << declared.error().toString();
        OnnxImportOptions options;
        for (const auto& in : *declared) {
            options.inputShapes[in.name] = bindImageSize(in.shape, m.height, m.width);
        }
        auto graph = importOnnxFile(m_path, options);
        ASSERT_TRUE(graph.ok()) << graph.error().toString();
        m_graph = std::move(*graph);
        ImageToTensor norm;
        for (int c = 0; c < 3; ++c) norm.mean[c] = m.mean, norm.std[c] = m.std;
        for (ValueId id : m_graph.inputs) {
            std::string photo =
                photoWithText(cachePath(std::string("photos/") + m.photo), m.text, m.name);
            auto input = loadImageAsInput(photo, m_graph.value(id).shape, norm);
            ASSERT_TRUE(input.ok()) << input.error().toString();
            m_inputs.push_back(std::move(*input));
        }
        auto ort = refrt::OrtRunner::load(m_path, 2);
        ASSERT_TRUE(ort.ok()) << ort.error().toString();
        auto expected = (*ort)->run(m_inputs);
        ASSERT_TRUE(expected.ok()) << expected.error().toString();
        m_expected = std::move(*expected);
        ASSERT_EQ(m_expected.size(), m_graph.outputs.size());
    }

    std::string m_path;
    Graph m_graph;
    std::vector<Tensor> m_inputs;
    std::vector<Tensor> m_expected;
};

TEST_P(RealModel, CpuRuntimeMatchesOnnxRuntime) {
    for (int threads : {1, 2}) {
        auto exec = cpu::CpuExecutor::create(m_graph, {threads});
        ASSERT_TRUE(exec.ok()) << exec.error().toString();
        auto outputs = (*exec)->run(m_inputs);
        ASSERT_TRUE(outputs.ok()) << outputs.error().toString();
        ASSERT_EQ(outputs->size(), m_expected.size());
        for (size_t i = 0; i < m_expected.size(); ++i) {
            expectClose((*outputs)[i], m_expected[i],
                        m_graph.value(m_graph.outputs[i]).name + " at " + std::to_string(threads) +
                            " thread(s)");
        }
    }
}

TEST_P(RealModel, ReferenceKernelsMatchOnnxRuntime) {
    auto outputs = runGraphReference(m_graph, m_inputs);
    ASSERT_TRUE(outputs.ok()) << outputs.error().toString();
    for (size_t i = 0; i < m_expected.size(); ++i) {
        expectClose((*outputs)[i], m_expected[i], m_graph.value(m_graph.outputs[i]).name);
    }
}

TEST_P(RealModel, ExportedModelLoadsInOnnxRuntimeWithSameOutputs) {
    auto bytes = exportOnnxBytes(m_graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto ort = refrt::OrtRunner::loadBytes(*bytes, "exported " + m_path, 2);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto outputs = (*ort)->run(m_inputs);
    ASSERT_TRUE(outputs.ok()) << outputs.error().toString();
    ASSERT_EQ(outputs->size(), m_expected.size());
    for (size_t i = 0; i < m_expected.size(); ++i) {
        expectClose((*outputs)[i], m_expected[i],
                    "exported " + m_graph.value(m_graph.outputs[i]).name);
    }
}

INSTANTIATE_TEST_SUITE_P(Assets, RealModel, ::testing::ValuesIn(kModels),
                         [](const auto& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace prunelab::engine

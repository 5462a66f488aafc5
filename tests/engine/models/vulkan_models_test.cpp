// Whole real models on the Vulkan backend (lavapipe where there is no GPU, validation on): each
// output matches the CPU runtime within 1e-3 of its range, and the layers that carry the work
// (every conv) run on the GPU, so a silent fallback to the CPU cannot pass for GPU support.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/io/image.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::engine {
namespace {

struct GpuModelCase {
    const char* name;
    const char* file;       // under the cache's models/ folder
    int64_t height, width;  // bound input size (0: the file's own)
    float mean, std;
    const char* text;  // drawn on the photo, so the text detector has something to find
};

void PrintTo(const GpuModelCase& m, std::ostream* os) {
    *os << m.name;
}

// Sizes are small where the model takes any size: lavapipe runs the shaders on the CPU.
const GpuModelCase kGpuModels[] = {
    {"blazeface_back", "blazeface/face_detection_back_256x256_barracuda.onnx", 0, 0, 0.5f, 0.5f,
     nullptr},
    {"ppocr_det", "ppocr/ch_PP-OCRv4_det_infer.onnx", 160, 224, 0.5f, 0.5f, "PRUNE LAB"},
    {"realesrgan_x2", "realesrgan/realesr-animevideov3-x2.param", 48, 64, 0.0f, 1.0f, nullptr},
};

std::string cachePath(const std::string& rel) {
    return std::string(PRUNELAB_CACHE_DIR) + "/" + rel;
}

// The photo, with `text` in black on a white band across it when given, as a temporary file.
std::string photo(const char* text, const std::string& tag) {
    const std::string path = cachePath("photos/person.jpg");
    cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
    if (image.empty() || text == nullptr) return path;
    const int band = image.rows / 4;
    cv::rectangle(image, cv::Rect(0, image.rows / 3, image.cols, band), cv::Scalar(255, 255, 255),
                  cv::FILLED);
    const double scale = image.cols / 150.0;
    cv::putText(image, text, cv::Point(image.cols / 20, image.rows / 3 + band * 3 / 4),
                cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), static_cast<int>(scale * 3));
    const std::string out =
        (std::filesystem::temp_directory_path() / ("prunelab_gpu_" + tag + ".png")).string();
    cv::imwrite(out, image);
    return out;
}

// Each output's worst error within tol of its range of the CPU's, and its mean error within
// meanTol; prints both as fractions of the range, the numbers a person compares.
void expectWithin(const std::vector<Tensor>& got, const std::vector<Tensor>& expected,
                  const Graph& graph, float tol, float meanTol, const std::string& how) {
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        const std::string what = graph.value(graph.outputs[i]).name + how;
        const std::vector<float> a = got[i].toFloatVector();
        const std::vector<float> b = expected[i].toFloatVector();
        ASSERT_EQ(a.size(), b.size()) << what;
        ASSERT_FALSE(b.empty()) << what;
        const auto [lo, hi] = std::minmax_element(b.begin(), b.end());
        const float range = *hi - *lo;
        ASSERT_GT(range, 1e-3f) << what << ": the CPU's output is nearly constant";
        float worst = 0;
        double sum = 0;
        size_t at = 0;
        for (size_t k = 0; k < a.size(); ++k) {
            const float d = std::fabs(a[k] - b[k]);
            sum += d;
            if (!(d <= worst)) worst = d, at = k;  // also catches NaN
        }
        const double mean = sum / static_cast<double>(a.size());
        EXPECT_LE(worst, tol * range)
            << what << ": worst |diff| " << worst << " at element " << at << " (GPU " << a[at]
            << ", CPU " << b[at] << "), output range " << range;
        EXPECT_LE(mean, meanTol * range) << what << ": mean |diff| " << mean;
        std::cout << "  " << what << ": error " << worst / range << " worst, " << mean / range
                  << " mean, of the range\n";
    }
}

class GpuModel : public ::testing::TestWithParam<GpuModelCase> {};

TEST_P(GpuModel, MatchesTheCpuWithEveryConvOnTheGpu) {
    const Backend& gpu = vulkan::vulkanBackend();
    if (Status ok = gpu.available(); !ok.ok()) {
        GTEST_SKIP() << "no Vulkan device here: " << ok.error().message;
    }
    const GpuModelCase& m = GetParam();
    const std::string path = cachePath(std::string("models/") + m.file);
    ASSERT_TRUE(std::filesystem::exists(path))
        << path << " is missing: run ./prunelab setup (it fetches the pinned models)";
    auto graph = plugins::loadModelFile(path, m.height, m.width);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();

    ImageToTensor norm;
    for (int c = 0; c < 3; ++c) norm.mean[c] = m.mean, norm.std[c] = m.std;
    std::vector<Tensor> inputs;
    for (ValueId id : graph->inputs) {
        auto input = loadImageAsInput(photo(m.text, m.name), graph->value(id).shape, norm);
        ASSERT_TRUE(input.ok()) << input.error().toString();
        inputs.push_back(std::move(*input));
    }
    auto cpuExec = cpu::cpuBackend().prepare(*graph, {.threads = 1});
    ASSERT_TRUE(cpuExec.ok()) << cpuExec.error().toString();
    auto expected = (*cpuExec)->run(inputs);
    ASSERT_TRUE(expected.ok()) << expected.error().toString();

    auto gpuExec = gpu.prepare(*graph);
    ASSERT_TRUE(gpuExec.ok()) << gpuExec.error().toString();
    auto outputs = (*gpuExec)->run(inputs);
    ASSERT_TRUE(outputs.ok()) << outputs.error().toString();
    expectWithin(*outputs, *expected, *graph, 1e-3f, 1e-4f, "");

    // fp16 storage: every value the shaders pass on in 16 bits. Its error against the CPU's
    // float32 is printed (what bench --fp16 reports) and bounded: 1e-2 of the range on average,
    // and 0.1 at the worst element (PP-OCR det's deep chain of folded batch norms reaches 0.044
    // at one pixel of its text-probability map; its mean stays near 1e-4).
    PrepareOptions half;
    half.halfStorage = true;
    auto halfExec = gpu.prepare(*graph, half);
    if (halfExec.ok()) {
        auto halfOutputs = (*halfExec)->run(inputs);
        ASSERT_TRUE(halfOutputs.ok()) << halfOutputs.error().toString();
        expectWithin(*halfOutputs, *expected, *graph, 0.1f, 1e-2f, " (fp16 storage)");
    } else {
        std::cout << m.name << ": no fp16 storage here: " << halfExec.error().message << "\n";
    }

    int onGpu = 0, onCpu = 0;
    for (const KernelChoice& k : (*gpuExec)->kernelReport()) {
        const bool cpu = k.kernel.rfind("cpu", 0) == 0;
        (cpu ? onCpu : onGpu) += 1;
        if (k.node.find("Conv") != std::string::npos) {
            EXPECT_FALSE(cpu) << k.node << " ran " << k.kernel << ": " << k.reason;
        }
        if (cpu) std::cout << "  on the CPU: " << k.node << ": " << k.reason << "\n";
    }
    std::cout << m.name << ": " << onGpu << " steps on the GPU, " << onCpu << " on the CPU\n";
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

INSTANTIATE_TEST_SUITE_P(Assets, GpuModel, ::testing::ValuesIn(kGpuModels),
                         [](const auto& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace prunelab::engine

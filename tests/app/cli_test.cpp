// prunelab-cli as a person uses it: info, run (outputs as .npy named after the outputs, checked
// against ONNX Runtime on the same input), catalog ids with decoded and drawn results, and clear
// errors for bad models and arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/io/image.h"
#include "engine/io/npy.h"
#include "plugins/refrt/ort_runner.h"
#include "tests/app/cli_runner.h"

namespace prunelab {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::runCli;

const std::string kCache = PRUNELAB_CACHE_DIR;
const std::string kBlazeFace =
    kCache + "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
const std::string kPhoto = kCache + "/photos/person.jpg";

fs::path tempDir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("prunelab_cli_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

TEST(Cli, InfoListsLayersAndTotals) {
    CommandResult r = runCli("info " + kBlazeFace);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("input   input:0 float32 [1, 128, 128, 3]"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(" Conv "), std::string::npos);
    EXPECT_NE(r.output.find("prunable layers"), std::string::npos);
}

TEST(Cli, RunWritesEveryOutputMatchingOnnxRuntime) {
    fs::path out = tempDir("run");
    CommandResult r =
        runCli("run " + kBlazeFace + " --input " + kPhoto + " --output-dir " + out.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;

    auto input = engine::loadImageAsInput(kPhoto, {1, 128, 128, 3});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto ort = refrt::OrtRunner::load(kBlazeFace, 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto expected = (*ort)->run(std::span<const engine::Tensor>(&*input, 1));
    ASSERT_TRUE(expected.ok()) << expected.error().toString();

    // Output "Identity:0" is written as Identity_0.npy (':' is not safe in file names).
    const auto& names = (*ort)->outputNames();
    ASSERT_EQ(names.size(), 4u);
    for (size_t i = 0; i < names.size(); ++i) {
        std::string file = names[i];
        for (char& c : file) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
        }
        auto got = engine::readNpy((out / (file + ".npy")).string());
        ASSERT_TRUE(got.ok()) << got.error().toString() << "\n" << r.output;
        ASSERT_EQ(got->shape(), (*expected)[i].shape());
        std::vector<float> a = got->toFloatVector(), b = (*expected)[i].toFloatVector();
        auto [lo, hi] = std::minmax_element(b.begin(), b.end());
        float worst = 0;
        for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a[k] - b[k]));
        EXPECT_LE(worst, 1e-4f * (*hi - *lo)) << names[i];
    }
}

TEST(Cli, MissingModelNamesTheFile) {
    CommandResult r = runCli("info /nonexistent/model.onnx");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("/nonexistent/model.onnx"), std::string::npos) << r.output;
}

TEST(Cli, RandomBytesAreRejectedClearly) {
    fs::path dir = tempDir("garbage");
    std::string path = (dir / "garbage.onnx").string();
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
    f.close();
    CommandResult r = runCli("info " + path);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("garbage.onnx"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Segmentation"), std::string::npos);
}

// `backends` lists every backend; --device picks a Vulkan device, and an index out of range is
// refused before any model loads, naming the index and how many devices there are.
TEST(Cli, BackendsListsTheVulkanDevicesAndDeviceChecksItsRange) {
    CommandResult list = runCli("backends");
    ASSERT_EQ(list.exitCode, 0) << list.output;
    EXPECT_NE(list.output.find("cpu "), std::string::npos) << list.output;
    EXPECT_NE(list.output.find("vulkan "), std::string::npos) << list.output;

    CommandResult other = runCli("run " + kBlazeFace + " --device 0");
    EXPECT_EQ(other.exitCode, 1);
    EXPECT_NE(other.output.find("--device 0 picks a Vulkan device: it needs --backend vulkan"),
              std::string::npos)
        << other.output;

    if (list.output.find("GPU through Vulkan: available") == std::string::npos) {
        GTEST_SKIP() << "no Vulkan device here, so no device to pick: " << list.output;
    }
    EXPECT_NE(list.output.find("--device 0: "), std::string::npos) << list.output;
    CommandResult bad = runCli("run " + kBlazeFace + " --backend vulkan --device 99");
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.output.find("no Vulkan device 99: this machine has "), std::string::npos)
        << bad.output;

    // A tiny model, so shaders compiled with a cold cache still take a moment only.
    fs::path out = tempDir("device0");
    CommandResult good = runCli("run " + std::string(PRUNELAB_SOURCE_DIR) +
                                "/tests/data/fuzz/onnx_import/conv_bn_relu.onnx --output-dir " +
                                out.string() + " --backend vulkan --device 0");
    EXPECT_EQ(good.exitCode, 0) << good.output;
    EXPECT_TRUE(fs::exists(out / "y.npy")) << good.output;
}

// bench --backend vulkan --compare prints the usual table: the device in the header, PruneLab
// dense and sparse on the GPU, and one per-layer row for each compiled layer with its times (the
// GPU's per-node timestamps). A tiny Real-ESRGAN x2 (16x16), so lavapipe takes seconds only.
TEST(Cli, BenchOnTheGpuPrintsThePerLayerTableAndNamesTheDevice) {
    CommandResult list = runCli("backends");
    ASSERT_EQ(list.exitCode, 0) << list.output;
    if (list.output.find("GPU through Vulkan: available") == std::string::npos) {
        GTEST_SKIP() << "SKIPPED LOUDLY: no Vulkan device here, so no GPU bench: " << list.output;
    }
    fs::path dir = tempDir("bench_vulkan");
    const std::string pruned = (dir / "x2.plab").string();
    CommandResult r = runCli("prune zoom-x2 --size 16x16 --preset patdnn-8 --out " + pruned);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("bench " + pruned +
               " --size 16x16 --backend vulkan --compare --no-measure --runs 1 --threads 1");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    // "PruneLab on vulkan (<device name> (<type>, <driver>))": a device, not "none: ...".
    const size_t on = r.output.find("PruneLab on vulkan (");
    ASSERT_NE(on, std::string::npos) << r.output;
    EXPECT_NE(r.output.compare(on + 20, 5, "none:"), 0) << r.output;
    EXPECT_NE(r.output.find("PruneLab dense "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("PruneLab sparse "), std::string::npos) << r.output;
    const size_t table = r.output.find("per layer");
    ASSERT_NE(table, std::string::npos) << r.output;
    // Rows "<index>  <kernel>  <dense ms>  <sparse ms> ...": one per compiled layer (18), and
    // the GPU's times read into them.
    std::istringstream rows(r.output.substr(table));
    std::string line;
    int layers = 0, timed = 0;
    while (std::getline(rows, line)) {
        std::istringstream row(line);
        int index = -1;
        std::string kernel;
        double denseMs = 0, sparseMs = 0;
        if (!(row >> index >> kernel >> denseMs >> sparseMs)) continue;
        ++layers;
        timed += denseMs > 0 && sparseMs > 0;
    }
    EXPECT_EQ(layers, 18) << r.output;
    EXPECT_EQ(timed, layers) << r.output;
    EXPECT_NE(r.output.find("pattern "), std::string::npos) << r.output;
}

// --fp16 times the GPU with 16-bit storage and prints, per output, how far that moved it from
// float32 on the same device: a small, finite fraction of the range.
TEST(Cli, BenchFp16OnTheGpuPrintsItsErrorAgainstFloat32) {
    CommandResult list = runCli("backends");
    ASSERT_EQ(list.exitCode, 0) << list.output;
    if (list.output.find("GPU through Vulkan: available") == std::string::npos) {
        GTEST_SKIP() << "SKIPPED LOUDLY: no Vulkan device here, so no GPU bench: " << list.output;
    }
    CommandResult r = runCli("bench zoom-x2 --size 16x16 --backend vulkan --fp16 --runs 1");
    if (r.exitCode != 0 && r.output.find("fp16 storage on ") != std::string::npos) {
        GTEST_SKIP() << "SKIPPED LOUDLY: this Vulkan device has no fp16 storage: " << r.output;
    }
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const std::string key = "fp16 storage: 'output' is off by ";
    const size_t at = r.output.find(key);
    ASSERT_NE(at, std::string::npos) << r.output;
    const double worst = std::stod(r.output.substr(at + key.size()));
    EXPECT_GT(worst, 0.0) << "16 bits cannot hold every float32 exactly: " << r.output;
    EXPECT_LT(worst, 0.05) << r.output;
}

TEST(Cli, BadSizeAndWrongNpyShapeAreExplained) {
    CommandResult r = runCli("info " + kBlazeFace + " --size 64by64");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("--size must be WIDTHxHEIGHT"), std::string::npos) << r.output;

    fs::path dir = tempDir("npy");
    std::string npy = (dir / "wrong.npy").string();
    ASSERT_TRUE(
        engine::writeNpy(npy, engine::Tensor(engine::DataType::Float32, {1, 3, 8, 8})).ok());
    r = runCli("run " + kBlazeFace + " --input " + npy + " --output-dir " + (dir / "out").string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("input 'input:0' needs float32 [1, 128, 128, 3]"), std::string::npos)
        << r.output;
}

// ---- prune and stats ----

TEST(Cli, PruneWithAPresetWritesOnnxThatRunsAndStatsReadsBack) {
    fs::path dir = tempDir("prune");
    std::string out = (dir / "blazeface_50.onnx").string();
    std::string plan = (dir / "applied.json").string();
    CommandResult r = runCli("prune " + kBlazeFace + " --preset uniform-50 --out " + out +
                             " --save-plan " + plan);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("first prunable layer kept dense (keepFirstLast)"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("wrote " + out), std::string::npos);
    EXPECT_TRUE(fs::exists(plan));

    // ONNX Runtime loads and runs the pruned model.
    auto input = engine::loadImageAsInput(kPhoto, {1, 128, 128, 3});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto ort = refrt::OrtRunner::load(out, 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto outputs = (*ort)->run(std::span<const engine::Tensor>(&*input, 1));
    ASSERT_TRUE(outputs.ok()) << outputs.error().toString();
    for (float v : (*outputs)[0].toFloatVector()) ASSERT_TRUE(std::isfinite(v));
    // PruneLab runs the exported file to the same outputs as ONNX Runtime.
    fs::path runDir = dir / "run";
    r = runCli("run " + out + " --input " + kPhoto + " --output-dir " + runDir.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    std::string first = (*ort)->outputNames()[0];
    for (char& c : first) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    }
    auto ours = engine::readNpy((runDir / (first + ".npy")).string());
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    std::vector<float> a = ours->toFloatVector(), b = (*outputs)[0].toFloatVector();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) ASSERT_NEAR(a[k], b[k], 1e-3f + 1e-4f * std::fabs(b[k]));

    r = runCli("stats " + out);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("kernels removed"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"non_structured\""), std::string::npos) << r.output;  // the plan
    r = runCli("stats --json " + out);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("\"keptMacs\""), std::string::npos) << r.output;

    // The saved plan applies again, to a .plab that stats reads with its masks.
    std::string plab = (dir / "blazeface_50.plab").string();
    r = runCli("prune " + kBlazeFace + " --plan " + plan + " --out " + plab);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("stats " + plab);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("non_structured"), std::string::npos) << r.output;
}

TEST(Cli, StructuredPlanWritesTheShrunkModelThatOnnxRuntimeRuns) {
    fs::path dir = tempDir("prune_structured");
    std::string plan = (dir / "structured.json").string();
    std::ofstream(plan) << R"({"version": 1,
        "default": {"scheme": "structured", "params": {"rate": 0.25}}})";
    std::string out = (dir / "masked.onnx").string();
    std::string shrunk = (dir / "shrunk.onnx").string();
    CommandResult r =
        runCli("prune " + kBlazeFace + " --plan " + plan + " --out " + out + " --shrunk " + shrunk);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("structured shrink"), std::string::npos) << r.output;

    auto input = engine::loadImageAsInput(kPhoto, {1, 128, 128, 3});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto masked = refrt::OrtRunner::load(out, 1);
    auto small = refrt::OrtRunner::load(shrunk, 1);
    ASSERT_TRUE(masked.ok()) << masked.error().toString();
    ASSERT_TRUE(small.ok()) << small.error().toString();
    auto a = (*masked)->run(std::span<const engine::Tensor>(&*input, 1));
    auto b = (*small)->run(std::span<const engine::Tensor>(&*input, 1));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
        std::vector<float> x = (*a)[i].toFloatVector(), y = (*b)[i].toFloatVector();
        ASSERT_EQ(x.size(), y.size());
        for (size_t k = 0; k < x.size(); ++k)
            ASSERT_NEAR(x[k], y[k], 1e-3f + 1e-4f * std::fabs(x[k]));
    }
    EXPECT_LT(fs::file_size(shrunk), fs::file_size(out));
}

TEST(Cli, SensitivityPrintsATableFromAFolderOfImages) {
    fs::path dir = tempDir("sensitivity");
    fs::copy_file(kPhoto, dir / "a.jpg");
    CommandResult r = runCli("sensitivity " + kBlazeFace + " --inputs " + dir.string() +
                             " --rates 0.5 0.9 --threads 2");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("metric: relative L2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("rate 0.90"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("nan"), std::string::npos) << r.output;

    r = runCli("sensitivity " + kBlazeFace + " --inputs " + (dir / "none").string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("cannot read the folder"), std::string::npos) << r.output;
    r = runCli("sensitivity " + kBlazeFace + " --metric best");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("--metric must be"), std::string::npos) << r.output;
}

TEST(Cli, PruneExplainsBadPlansAndArguments) {
    fs::path dir = tempDir("prune_errors");
    std::string out = (dir / "out.onnx").string();
    auto writePlan = [&](const std::string& name, const std::string& text) {
        std::string path = (dir / name).string();
        std::ofstream(path) << text;
        return path;
    };
    std::string badRate = writePlan(
        "rate.json",
        R"({"version": 1, "default": {"scheme": "non_structured", "params": {"rate": 1.5}}})");
    CommandResult r = runCli("prune " + kBlazeFace + " --plan " + badRate + " --out " + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("rate.json: $.default.params.rate: 1.5 is outside [0, 1)"),
              std::string::npos)
        << r.output;

    std::string missing =
        writePlan("missing.json", R"({"version": 1, "layers": {"no_such_conv": "dense"}})");
    r = runCli("prune " + kBlazeFace + " --plan " + missing + " --out " + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("no prunable layer named 'no_such_conv'"), std::string::npos)
        << r.output;

    r = runCli("prune " + kBlazeFace + " --preset uniform-99 --out " + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("presets: uniform-50"), std::string::npos) << r.output;

    r = runCli("prune " + kBlazeFace + " --out " + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("exactly one of --plan"), std::string::npos) << r.output;

    r = runCli("prune " + kBlazeFace + " --preset uniform-50 --out " + (dir / "x.bin").string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("--out must end in .onnx"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
}

// ---- the catalog: ids instead of paths, decoded and drawn results ----

namespace catalog_cli {

// How many pixels of `image` have exactly this colour (the drawing's box colour).
int countColour(const engine::Image& image, uint8_t r, uint8_t g, uint8_t b) {
    int n = 0;
    for (size_t i = 0; i + 2 < image.rgb.size(); i += 3) {
        n += image.rgb[i] == r && image.rgb[i + 1] == g && image.rgb[i + 2] == b;
    }
    return n;
}

// compile writes each pass's IR and the decisions; bench --compare adds the sparse lane.
TEST(Cli, CompileWritesPassesAndDecisionsAndBenchComparesTheSparseLane) {
    fs::path dir = tempDir("compile");
    std::string pruned = (dir / "x2.plab").string();
    CommandResult r = runCli("prune zoom-x2 --size 48x40 --preset patdnn-8 --out " + pruned);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("compile " + pruned + " --size 48x40 --out " + (dir / "c").string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("8 patterns, density 0.123 <= threshold 0.50: pattern kernel"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("keepFirstLast"), std::string::npos) << r.output;
    for (const char* f : {"layers.txt", "passes/01-analyse.txt", "passes/02-choose.txt",
                          "passes/03-pack.txt", "passes/04-reorder.txt"}) {
        EXPECT_TRUE(fs::exists(dir / "c" / f)) << f;
    }
    r = runCli("bench " + pruned + " --size 48x40 --compare --generic --no-measure --runs 2");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("PruneLab sparse"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("this / sparse"), std::string::npos) << r.output;
    // Where the time goes: one row per compiled layer with its decision.
    EXPECT_NE(r.output.find("per layer"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("layout changes"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pattern   "), std::string::npos) << r.output;

    {  // measured by default: every pattern layer timed against its dense kernel
        std::ifstream f(dir / "c" / "passes" / "05-measure.txt");
        std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        EXPECT_NE(text.find("measured pattern"), std::string::npos) << text;
    }
    EXPECT_TRUE(fs::exists(dir / "c" / "src" / "CMakeLists.txt"));

    // --build compiles the generated code for this machine (BlazeFace: small layers, seconds).
    std::string face = (dir / "face.plab").string();
    r = runCli("prune face-front --preset patdnn-8 --out " + face);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("compile " + face + " --no-measure --build --out " + (dir / "f").string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("generated layer(s) with"), std::string::npos) << r.output;
    // One library per generated layer, named by the layer's index.
    int libraries = 0;
    for (const auto& e : fs::directory_iterator(dir / "f" / "kernels")) {
        libraries +=
            e.path().extension() == ".so" && e.path().stem().string().rfind("layer_", 0) == 0;
    }
    EXPECT_GE(libraries, 10) << "BlazeFace's pattern layers";
    EXPECT_FALSE(fs::exists(dir / "f" / "kernels.so"));

    r = runCli("compile " + pruned + " --out " + (dir / "c").string() + "/layers.txt/sub");
    EXPECT_EQ(r.exitCode, 1) << r.output;
    EXPECT_NE(r.output.find("cannot create the folder"), std::string::npos) << r.output;
}

TEST(CliCatalog, ListsEveryBundledModelAsReady) {
    CommandResult r = runCli("catalog");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    for (const char* id :
         {"face-front", "face-back", "face-short", "face-full", "face-full-sparse",
          "selfie-segmentation", "zoom-x2", "zoom-x3", "zoom-x4", "waifu2x-scale2x",
          "waifu2x-noise0", "waifu2x-noise3", "text-finder", "text-direction"}) {
        EXPECT_NE(r.output.find(id), std::string::npos) << id << "\n" << r.output;
    }
    EXPECT_EQ(r.output.find("missing"), std::string::npos) << r.output;
    r = runCli("catalog zoom-x2");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("BSD-3-Clause"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("realesr-animevideov3-x2.bin"), std::string::npos) << r.output;
}

TEST(CliCatalog, RunFaceFinderDrawsTheFaceOnItsSample) {
    fs::path dir = tempDir("catalog_face");
    std::string drawn = (dir / "faces.png").string();
    CommandResult r = runCli("run face-back --draw " + drawn + " --threads 1");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("1 face(s) found"), std::string::npos) << r.output;
    auto image = engine::readImage(drawn);
    ASSERT_TRUE(image.ok()) << image.error().toString();
    auto photo = engine::readImage(kCache + "/photos/messi5.jpg");
    ASSERT_TRUE(photo.ok());
    EXPECT_EQ(image->width, photo->width);
    EXPECT_EQ(image->height, photo->height);
    // The box outline (colour 60, 220, 90) is drawn: a 40-pixel box gives well over 100 pixels.
    EXPECT_GT(countColour(*image, 60, 220, 90), 100);
    EXPECT_EQ(countColour(*photo, 60, 220, 90), 0);
}

// The selfie mask on its sample (person.jpg: the woman, her dog and a horse): the share of the
// picture that is person, and the overlay's outline drawn on the picture.
TEST(CliCatalog, RunSelfieSegmentationSaysTheShareAndOutlinesThePerson) {
    fs::path dir = tempDir("catalog_selfie");
    std::string drawn = (dir / "selfie.png").string();
    CommandResult r = runCli("run selfie-segmentation --draw " + drawn + " --threads 1");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("person mask 640x424: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("% of the picture"), std::string::npos) << r.output;
    auto image = engine::readImage(drawn);
    ASSERT_TRUE(image.ok()) << image.error().toString();
    auto photo = engine::readImage(kCache + "/photos/person.jpg");
    ASSERT_TRUE(photo.ok());
    EXPECT_EQ(image->width, photo->width);
    EXPECT_GT(countColour(*image, 60, 220, 90), 100);
    EXPECT_EQ(countColour(*photo, 60, 220, 90), 0);
}

TEST(CliCatalog, RunSuperResolutionFromNcnnDoublesThePicture) {
    fs::path dir = tempDir("catalog_zoom");
    std::string drawn = (dir / "zoom.png").string();
    // messi5.jpg is 548x342: shrunk to the entry's max side 320 (320x200), then doubled.
    CommandResult r = runCli("run zoom-x2 --input " + kCache + "/photos/messi5.jpg --draw " +
                             drawn + " --threads 1");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    auto image = engine::readImage(drawn);
    ASSERT_TRUE(image.ok()) << image.error().toString();
    EXPECT_EQ(image->width, 640);
    EXPECT_EQ(image->height, 400);
}

TEST(CliCatalog, TextFinderFindsTheLinesOfItsSample) {
    CommandResult r = runCli("run text-finder --threads 1");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    // imageTextN.png (opencv-doc) is a scanned paragraph of 13 lines.
    EXPECT_NE(r.output.find("13 text box(es) found"), std::string::npos) << r.output;
}

TEST(CliCatalog, APrunedCopyRemembersWhatItIs) {
    fs::path dir = tempDir("catalog_pruned");
    std::string pruned = (dir / "face.plab").string();
    CommandResult r = runCli("prune face-back --preset uniform-50 --out " + pruned);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("run " + pruned + " --draw " + (dir / "f.png").string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("Face finder (face-back)"), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(dir / "f.png"));

    // A plain model file cannot be decoded unless told what it is.
    r = runCli("run " + kBlazeFace + " --draw " + (dir / "g.png").string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("--as ID"), std::string::npos) << r.output;
    const std::string back =
        kCache + "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    r = runCli("run " + back + " --as face-back --draw " + (dir / "g.png").string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("1 face(s) found"), std::string::npos) << r.output;
}

TEST(CliCatalog, NcnnAndWaifu2xFilesOpenByPath) {
    CommandResult r = runCli("info " + kCache + "/models/realesrgan/realesr-animevideov3-x2.param");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("[1, 3, 240, 320]"), std::string::npos) << r.output;
    r = runCli("info " + kCache + "/models/waifu2x/noise0_model.json --size 64x48");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("[1, 3, 48, 64]"), std::string::npos) << r.output;
}

TEST(CliCatalog, UnknownIdsAndMissingPicturesAreExplained) {
    CommandResult r = runCli("run face-sideways --draw /tmp/x.png");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("neither a model file nor a catalog id"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("face-back"), std::string::npos) << r.output;  // lists the ids
    r = runCli("run text-direction");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("give --input"), std::string::npos) << r.output;
    r = runCli("run face-back --input /nonexistent/photo.jpg");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("/nonexistent/photo.jpg"), std::string::npos) << r.output;
}

// What ./prunelab run shows without a display: three models, both runtimes agreeing.
TEST(CliCatalog, HeadlessDemoFindsAndAgrees) {
    CommandResult r = runCli("demo");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("1 face(s)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("13 line(s) of text"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("a 640x426 picture"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("DIFFERENT"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("skipped"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("failed"), std::string::npos) << r.output;
}

// The live demo without a window, as ./prunelab run shows it: both lanes on the bundled video,
// ONNX Runtime as lane A too, the CSV with a row per frame, and clear errors.
TEST(CliLive, BothLanesOnTheBundledVideoWithACsv) {
    const fs::path dir = tempDir("live");
    const std::string csv = (dir / "frames.csv").string();
    CommandResult r = runCli(
        "live face-back --pruned patdnn-8 --frames 4 --generic --no-measure "
        "--csv " +
        csv);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("vtest.avi (768x576, 10 fps)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("speedup, engine only"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("4 processed"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("layers sparse, generic sparse kernels"), std::string::npos)
        << r.output;
    std::ifstream in(csv);
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    EXPECT_EQ(lines, 5);  // header + 4 frames

    r = runCli(
        "live face-back --pruned patdnn-8 --frames 2 --generic --no-measure "
        "--reference ort");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("lane A: ONNX Runtime dense"), std::string::npos) << r.output;
}

TEST(CliLive, BadSourcesPlansAndModelsAreExplained) {
    CommandResult r = runCli("live face-back --pruned patdnn-8 --source /nonexistent/clip.mp4");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("/nonexistent/clip.mp4"), std::string::npos) << r.output;
    r = runCli("live face-back --pruned /nonexistent/plan.json");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("/nonexistent/plan.json"), std::string::npos) << r.output;
    r = runCli("live " + kBlazeFace + " --pruned patdnn-8");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("catalog"), std::string::npos) << r.output;
    r = runCli("live face-back --pruned patdnn-8 --source camera:63");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("/dev/video63"), std::string::npos) << r.output;
}

// Without --pruned, lane B is the model's bundled pruned-and-retrained demo, or patdnn-8 with a
// word that it is not retrained; either way the output says which.
TEST(CliLive, WithoutPrunedLaneBIsTheDemoOrSaysItIsNotRetrained) {
    CommandResult r = runCli("live face-back --frames 2 --generic --no-measure");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const bool demo =
        r.output.find("pruned model: the bundled demo, pruned and retrained") != std::string::npos;
    const bool preset = r.output.find(
                            "pruned model: patdnn-8 on the dense weights, not "
                            "retrained") != std::string::npos;
    EXPECT_TRUE(demo != preset) << r.output;
    EXPECT_NE(r.output.find("lane B: PruneLab compiled"), std::string::npos) << r.output;
}

}  // namespace catalog_cli

}  // namespace
}  // namespace prunelab

// The bundled catalog (assets/catalog.json) parses, agrees with the asset lock and the cache, and
// bad catalogs fail with the JSON path; input sizes, top-k and the real text-direction classifier.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/onnx/onnx_import.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/tasks/catalog.h"
#include "engine/tasks/draw.h"
#include "tests/test_cache.h"

namespace prunelab::engine {
namespace {

using prunelab::testing::cacheDir;

const std::string kCatalogPath = std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json";

TEST(Catalog, BundledCatalogParsesWithEveryTask) {
    auto catalog = loadCatalog(kCatalogPath);
    ASSERT_TRUE(catalog.ok()) << catalog.error().toString();
    std::set<Task> tasks;
    for (const CatalogEntry& e : catalog->entries) {
        tasks.insert(e.task);
        EXPECT_FALSE(e.name.empty()) << e.id;
        EXPECT_FALSE(e.kids.empty()) << e.id;
        EXPECT_FALSE(e.research.empty()) << e.id;
        EXPECT_FALSE(e.licence.empty()) << e.id;
    }
    EXPECT_EQ(tasks.size(), 6u) << "every task has at least one model";
    ASSERT_NE(catalog->find("face-back"), nullptr);
    EXPECT_EQ(catalog->find("face-back")->face.inputSize, 256);
    EXPECT_EQ(catalog->find("zoom-x3")->scale, 3);
    // Google's dense/sparse pair: the same decoder settings, so only the weights differ.
    const CatalogEntry* dense = catalog->find("face-full");
    const CatalogEntry* sparse = catalog->find("face-full-sparse");
    ASSERT_TRUE(dense && sparse);
    EXPECT_EQ(dense->face.inputSize, 192);
    EXPECT_EQ(dense->format, ModelFormat::Tflite);
    EXPECT_EQ(sparse->face.inputSize, dense->face.inputSize);
    EXPECT_FLOAT_EQ(sparse->face.scoreThreshold, dense->face.scoreThreshold);
    ASSERT_NE(catalog->find("selfie-segmentation"), nullptr);
    EXPECT_EQ(catalog->find("selfie-segmentation")->task, Task::Segmentation);
    EXPECT_EQ(catalog->find("nope"), nullptr);
}

// Every file the catalog names is one ./prunelab setup fetches, so a fresh machine has them all.
TEST(Catalog, EveryFileIsInTheAssetLockAndTheCache) {
    auto catalog = loadCatalog(kCatalogPath);
    ASSERT_TRUE(catalog.ok());
    std::ifstream lock(std::string(PRUNELAB_SOURCE_DIR) + "/assets/assets.lock");
    ASSERT_TRUE(lock) << "assets/assets.lock is missing";
    std::set<std::string> locked;
    for (std::string line; std::getline(lock, line);) {
        std::istringstream words(line);
        std::string kind, name, inside, cached;
        if (words >> kind >> name >> inside >> cached && kind == "file") locked.insert(cached);
    }
    for (const CatalogEntry& e : catalog->entries) {
        std::vector<std::string> files = e.files;
        if (!e.sample.empty()) files.push_back(e.sample);
        for (const std::string& f : files) {
            EXPECT_TRUE(locked.count(f)) << e.id << ": " << f << " is not in assets/assets.lock";
            EXPECT_TRUE(std::filesystem::exists(cacheDir() + "/" + f))
                << e.id << ": " << cacheDir() << "/" << f << " is missing: run ./prunelab setup";
        }
    }
}

std::string oneModel(const std::string& patch) {
    // A valid entry; `patch` replaces one "key": value pair by plain text substitution.
    std::string entry = R"({"id": "m", "name": "M", "kids": "k", "research": "r",
        "task": "face-detection", "format": "onnx", "files": ["models/m.onnx"],
        "licence": "MIT", "source": "s",
        "input": {"width": 128, "height": 128, "colour": "RGB"},
        "output": {"decoder": "blazeface"}})";
    if (!patch.empty()) {
        size_t colon = patch.find(':');
        std::string key = patch.substr(0, colon);
        size_t at = entry.find(key);
        size_t end = entry.find_first_of(",}", entry.find(':', at) + 1);
        if (entry[entry.find(':', at) + 2] == '[') end = entry.find(']', at) + 1;
        if (entry[entry.find(':', at) + 2] == '{') end = entry.find('}', at) + 1;
        entry = entry.substr(0, at) + patch + entry.substr(end);
    }
    return R"({"version": 1, "models": [)" + entry + "]}";
}

Error parseError(const std::string& text) {
    auto c = parseCatalog(text, "test.json");
    EXPECT_FALSE(c.ok());
    return c.ok() ? Error{} : c.error();
}

TEST(Catalog, ValidEntryParses) {
    auto c = parseCatalog(oneModel(""), "test.json");
    ASSERT_TRUE(c.ok()) << c.error().toString();
    EXPECT_EQ(c->entries[0].face.inputSize, 128);
}

TEST(Catalog, BadCatalogsNameTheFileAndJsonPath) {
    Error e = parseError("{\"version\": 1, \"models\": [");
    EXPECT_EQ(e.code, ErrorCode::Corrupt);
    EXPECT_NE(e.toString().find("test.json"), std::string::npos);

    e = parseError(oneModel(R"("task": "juggling")"));
    EXPECT_NE(e.toString().find("$.models[0].task"), std::string::npos) << e.toString();

    e = parseError(oneModel(R"("files": ["../../etc/passwd"])"));
    EXPECT_NE(e.toString().find("$.models[0].files"), std::string::npos) << e.toString();

    e = parseError(oneModel(R"("files": ["/abs/model.onnx"])"));
    EXPECT_NE(e.toString().find("not a path inside the cache"), std::string::npos);

    e = parseError(oneModel(R"("output": {"decoder": "classes"})"));
    EXPECT_NE(e.toString().find("$.models[0].output.decoder"), std::string::npos) << e.toString();

    e = parseError(oneModel(R"("input": {"width": 100, "height": 100, "colour": "RGB"})"));
    EXPECT_NE(e.toString().find("128x128, 192x192 or 256x256"), std::string::npos) << e.toString();

    e = parseError(
        oneModel(R"("input": {"width": 128, "height": 128, "colour": "RGB", "std": [1, 0, 1]})"));
    EXPECT_NE(e.toString().find("$.models[0].input.std"), std::string::npos) << e.toString();

    e = parseError(oneModel(R"("id": "Bad Id!")"));
    EXPECT_NE(e.toString().find("$.models[0].id"), std::string::npos) << e.toString();

    e = parseError(oneModel(R"("format": "caffe")"));
    EXPECT_NE(e.toString().find("unknown format"), std::string::npos);

    std::string twice = oneModel("");
    size_t open = twice.find('[') + 1, close = twice.rfind(']');
    std::string entry = twice.substr(open, close - open);
    e = parseError(R"({"version": 1, "models": [)" + entry + "," + entry + "]}");
    EXPECT_NE(e.toString().find("appears twice"), std::string::npos);

    e = parseError(R"({"version": 2, "models": []})");
    EXPECT_EQ(e.code, ErrorCode::Unsupported);
}

// A bundled demo model: its file stays inside the catalog's folder and its checksum is a real
// sha256, so a hostile catalog can neither point elsewhere nor skip the check.
TEST(Catalog, DemoModelEntriesAreCheckedAndNamed) {
    const std::string sha(64, 'a');
    // The entry of oneModel() with a "demo" value added.
    auto withDemo = [](const std::string& demo) {
        std::string text = oneModel("");
        const std::string source = R"("source": "s",)";
        return text.replace(text.find(source), source.size(), source + R"( "demo": )" + demo + ",");
    };
    auto c = parseCatalog(withDemo(R"({"file": "demo/x.plab", "sha256": ")" + sha +
                                   R"(", "plan": "p", "words": "w", "made_by": "m"})"),
                          "test.json");
    ASSERT_TRUE(c.ok()) << c.error().toString();
    ASSERT_TRUE(c->entries[0].demo);
    EXPECT_EQ(c->entries[0].demo->file, "demo/x.plab");
    EXPECT_EQ(c->entries[0].demo->madeBy, "m");
    EXPECT_FALSE(parseCatalog(oneModel(""), "test.json")->entries[0].demo);

    Error e = parseError(withDemo(R"({"file": "../x.plab", "sha256": ")" + sha +
                                  R"(", "plan": "p", "words": "w", "made_by": "m"})"));
    EXPECT_NE(e.toString().find("$.models[0].demo.file"), std::string::npos) << e.toString();
    e = parseError(withDemo(
        R"({"file": "demo/x.plab", "sha256": "abc", "plan": "p", "words": "w", "made_by": "m"})"));
    EXPECT_NE(e.toString().find("$.models[0].demo.sha256"), std::string::npos) << e.toString();
    e = parseError(withDemo(R"({"file": "demo/x.plab"})"));
    EXPECT_NE(e.toString().find("$.models[0].demo.sha256: is missing"), std::string::npos)
        << e.toString();
    e = parseError(withDemo(R"("demo/x.plab")"));
    EXPECT_NE(e.toString().find("$.models[0].demo: needs an object"), std::string::npos)
        << e.toString();
}

TEST(Catalog, MissingKeyNamesIt) {
    std::string text = oneModel("");
    size_t at = text.find(R"("licence": "MIT",)");
    text.erase(at, std::string(R"("licence": "MIT",)").size());
    Error e = parseError(text);
    EXPECT_NE(e.toString().find("$.models[0].licence: is missing"), std::string::npos)
        << e.toString();
}

TEST(Catalog, InputSizeForEachKindOfEntry) {
    CatalogEntry fixed;
    fixed.width = 256, fixed.height = 256;
    EXPECT_EQ(inputSizeFor(fixed, 640, 480).width, 256);

    CatalogEntry ocr;  // PP-OCR det: longer side <= 960, both multiples of 32
    ocr.multipleOf = 32, ocr.maxSide = 960;
    InputSize s = inputSizeFor(ocr, 1920, 1080);  // 960x540 -> 960x544
    EXPECT_EQ(s.width, 960);
    EXPECT_EQ(s.height, 544);
    s = inputSizeFor(ocr, 100, 50);  // small pictures only round up
    EXPECT_EQ(s.width, 128);
    EXPECT_EQ(s.height, 64);

    CatalogEntry w2x;  // waifu2x scale2x: 2x nearest then a 7-pixel border each side
    w2x.pre.upscale = 2, w2x.pre.border = 7, w2x.maxSide = 320;
    s = inputSizeFor(w2x, 320, 240);
    EXPECT_EQ(s.width, 654);
    EXPECT_EQ(s.height, 494);
    s = inputSizeFor(w2x, 640, 480);  // shrunk to 320x240 first
    EXPECT_EQ(s.width, 654);
}

TEST(Classification, TopClassesSoftmaxAndLabels) {
    Tensor logits(DataType::Float32, {1, 4});
    float* p = logits.data<float>();
    p[0] = 1.0f, p[1] = 3.0f, p[2] = 2.0f, p[3] = 3.0f;
    auto top = topClasses(logits, 3, true, {"a", "b", "c"});
    ASSERT_TRUE(top.ok());
    ASSERT_EQ(top->size(), 3u);
    EXPECT_EQ((*top)[0].index, 1);  // tie with 3: the lower index first
    EXPECT_EQ((*top)[1].index, 3);
    EXPECT_EQ((*top)[1].label, "class 3");
    EXPECT_EQ((*top)[2].label, "c");
    double sum = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
    EXPECT_NEAR((*top)[0].probability, std::exp(3.0) / sum, 1e-6);
    EXPECT_EQ(topClasses(logits, 10, false, {})->size(), 4u);

    Tensor bad(DataType::Float32, {2, 2});
    EXPECT_EQ(topClasses(bad, 1, false, {}).error().code, ErrorCode::InvalidArgument);
    p[2] = std::nanf("");
    EXPECT_EQ(topClasses(logits, 1, false, {}).error().code, ErrorCode::InvalidArgument);
}

// A line of rendered text, then the same picture turned upside down.
Image renderedLine(bool upsideDown) {
    cv::Mat m(64, 360, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(m, "Pruning is fun", {10, 46}, cv::FONT_HERSHEY_SIMPLEX, 1.4, {0, 0, 0}, 3,
                cv::LINE_AA);
    if (upsideDown) cv::rotate(m, m, cv::ROTATE_180);
    Image im(m.cols, m.rows);
    std::memcpy(im.rgb.data(), m.data, im.rgb.size());  // black on white: RGB = BGR
    return im;
}

TEST(Classification, TextDirectionModelTellsUprightFromUpsideDown) {
    auto catalog = loadCatalog(kCatalogPath);
    ASSERT_TRUE(catalog.ok());
    const CatalogEntry* e = catalog->find("text-direction");
    ASSERT_NE(e, nullptr);
    std::string path = cacheDir() + "/" + e->files[0];
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run ./prunelab setup";
    OnnxImportOptions options;
    options.inputShapes["x"] = {1, 3, e->height, e->width};
    auto graph = importOnnxFile(path, options);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    auto exec = cpu::CpuExecutor::create(*graph, {1});
    ASSERT_TRUE(exec.ok());
    RunModel run = [&](std::span<const Tensor> in) { return (*exec)->run(in); };
    const Shape& shape = graph->value(graph->inputs[0]).shape;

    for (bool flipped : {false, true}) {
        auto r = runTask(*e, shape, run, renderedLine(flipped));
        ASSERT_TRUE(r.ok()) << r.error().toString();
        ASSERT_EQ(r->classes.size(), 2u);  // top-5 of a 2-class model
        EXPECT_EQ(r->classes[0].index, flipped ? 1 : 0) << "flipped " << flipped;
        EXPECT_GT(r->classes[0].probability, 0.8f);
        EXPECT_NEAR(r->classes[0].probability + r->classes[1].probability, 1.0f, 1e-4);
        // Drawing the labels changes the picture (and leaves the result intact).
        Image drawn = drawResult(renderedLine(flipped), *r);
        EXPECT_NE(drawn.rgb, renderedLine(flipped).rgb);
    }
}

}  // namespace
}  // namespace prunelab::engine

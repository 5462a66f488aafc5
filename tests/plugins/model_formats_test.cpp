// The model-format list (plugins/model-files): each format opens a real file of its kind through
// loadModelFile, the help text and the Open dialog's filter name every extension, and a file no
// format reads is refused naming the formats there are.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "plugins/model-files/model_files.h"
#include "plugins/model-files/model_loader.h"

namespace prunelab::plugins {
namespace {

// A real file per format, from the asset cache and the demo models.
std::string sampleOf(const ModelFormat& format) {
    const std::string cache = PRUNELAB_CACHE_DIR;
    const std::string ext = format.extensions.front();
    if (ext == ".onnx")
        return cache + "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
    if (ext == ".param") return cache + "/models/realesrgan/realesr-animevideov3-x2.param";
    if (ext == ".json") return cache + "/models/waifu2x/scale2.0x_model.json";
    if (ext == ".tflite") return cache + "/models/mediapipe/face_detection_short_range.tflite";
    if (ext == ".plab") {
        for (const auto& e :
             std::filesystem::directory_iterator(PRUNELAB_SOURCE_DIR "/assets/demo"))
            if (e.path().extension() == ".plab") return e.path().string();
    }
    return {};
}

TEST(ModelFormats, EachOpensARealFileOfItsKind) {
    std::set<std::string> seen;
    for (const ModelFormat& f : modelFormats()) {
        ASSERT_FALSE(f.extensions.empty()) << f.name;
        ASSERT_NE(f.open, nullptr) << f.name;
        for (const std::string& e : f.extensions) {
            EXPECT_TRUE(seen.insert(e).second) << e << " belongs to two formats";
            EXPECT_EQ(modelFormatFor("dir/model" + e), &f) << e;
        }
        const std::string sample = sampleOf(f);
        ASSERT_FALSE(sample.empty()) << f.name << " has no sample file in this test: add one";
        ASSERT_TRUE(std::filesystem::exists(sample)) << sample << " (run ./prunelab setup)";
        auto graph = loadModelFile(sample);  // each at its own size (ncnn, waifu2x: 320x240)
        ASSERT_TRUE(graph.ok()) << f.name << ": " << graph.error().toString();
        EXPECT_FALSE(graph->nodes.empty()) << f.name;
    }
}

TEST(ModelFormats, HelpAndFilterNameEveryExtension) {
    const std::string help = modelFormatsText();
    const std::string filter = modelFileFilter("PruneLab projects", "*.prunelab");
    for (const ModelFormat& f : modelFormats()) {
        for (const std::string& e : f.extensions) {
            EXPECT_NE(help.find(e), std::string::npos) << e << " missing from: " << help;
            EXPECT_NE(filter.find("*" + e), std::string::npos) << e << " missing from: " << filter;
        }
        EXPECT_NE(filter.find(f.name + " ("), std::string::npos) << f.name;
    }
    EXPECT_EQ(filter.rfind("Models and PruneLab projects (", 0), 0u) << filter;
    EXPECT_NE(filter.find(";;PruneLab projects (*.prunelab)"), std::string::npos) << filter;
}

TEST(ModelFormats, AnUnknownFileIsRefusedNamingTheFormats) {
    EXPECT_EQ(modelFormatFor("notes.txt"), nullptr);
    EXPECT_EQ(modelFormatFor("no-extension"), nullptr);
    auto refused = loadModelFile("notes.txt");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, engine::ErrorCode::Unsupported);
    EXPECT_NE(refused.error().message.find("'.txt'"), std::string::npos);
    EXPECT_NE(refused.error().message.find(modelFormatsText()), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(refused.error().context, "notes.txt");
}

}  // namespace
}  // namespace prunelab::plugins

// Pruned-model export: ONNX metadata_props survive a round trip, a .plab file re-loads the
// pruned model losslessly (masks, kept zeros, patterns, tiles, plan), and on BlazeFace a
// non-structured plan exports an ONNX model that re-imports with the same zeros.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/plab_file.h"
#include "engine/ops/builder.h"
#include "engine/prune/pruned_model.h"
#include "engine/prune/stats.h"

namespace prunelab::engine::prune {
namespace {

namespace fs = std::filesystem;

std::string tempFile(const std::string& name) {
    return (fs::temp_directory_path() / ("prunelab_export_" + name)).string();
}

Graph tinyNet() {
    GraphBuilder b("tiny", 5);
    ValueId x = b.input("x", {1, 3, 8, 8});
    x = b.relu(b.conv(x, 8, 3));
    x = b.relu(b.conv(x, 8, 3));
    x = b.flatten(b.globalAveragePool(x));
    b.output(b.gemm(x, 4));
    auto g = b.finish();
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return std::move(g).value();
}

void expectSameModel(const PrunedModel& a, const PrunedModel& b) {
    EXPECT_EQ(a.plan, b.plan);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
        const LayerPruning& x = a.layers[i];
        const LayerPruning& y = b.layers[i];
        SCOPED_TRACE(x.layer.name);
        EXPECT_EQ(x.layer.name, y.layer.name);
        EXPECT_EQ(x.how, y.how);
        EXPECT_EQ(x.scheme, y.scheme);
        EXPECT_EQ(x.params, y.params);
        EXPECT_EQ(x.reason, y.reason);
        EXPECT_TRUE(x.projection.mask.identical(y.projection.mask));
        EXPECT_TRUE(x.projection.weights.identical(y.projection.weights));
        EXPECT_EQ(x.projection.patternSet, y.projection.patternSet);
        EXPECT_EQ(x.projection.kernelPattern, y.projection.kernelPattern);
        EXPECT_EQ(x.projection.tiles.tileWidth, y.projection.tiles.tileWidth);
        EXPECT_EQ(x.projection.tiles.keptRows, y.projection.tiles.keptRows);
        EXPECT_EQ(x.projection.tiles.keptColumns, y.projection.tiles.keptColumns);
        EXPECT_TRUE(a.graph.value(x.layer.weight)
                        .constant.identical(b.graph.value(y.layer.weight).constant));
    }
}

TEST(OnnxMetadata, RoundTripsThroughExportAndImport) {
    Graph g = tinyNet();
    g.metadata["author"] = "student";
    g.metadata["note"] = "overridden";
    auto bytes = exportOnnxBytes(g, {{"note", "from export"}, {"json", R"({"a": [1, 2]})"}});
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto back = importOnnxBytes(*bytes, "tiny.onnx", "");
    ASSERT_TRUE(back.ok()) << back.error().toString();
    std::map<std::string, std::string> expected = {
        {"author", "student"}, {"note", "from export"}, {"json", R"({"a": [1, 2]})"}};
    EXPECT_EQ(back->metadata, expected);
}

TEST(Plab, ReloadsLosslessly) {
    Graph g = tinyNet();
    // A weight that is exactly zero but kept: the mask must still say kept after re-loading.
    std::vector<Layer> layers = prunableLayers(g);
    g.value(layers[1].weight).constant.data<float>()[3] = 0.0f;
    PruningPlan plan;
    plan.layers[layers[1].name] = PlanEntry::keepDense();
    auto pruned = applyPlan(g, plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    // Give one layer pattern and tile structure, as the schemes report them, to check that
    // they are kept (the file stores whatever the projection holds).
    LayerProjection& p = pruned->layers[1].projection;
    p.patternSet = {0x1b, 0x33};
    p.kernelPattern.assign(static_cast<size_t>(8 * 8), 1);
    p.kernelPattern[5] = -1;
    p.tiles.tileWidth = 32;
    p.tiles.keptRows = {{0, 3}, {1}};
    p.tiles.keptColumns = {2, 40};

    std::string path = tempFile("tiny.plab");
    Status st = savePlabFile(*pruned, path);
    ASSERT_TRUE(st.ok()) << st.error().toString();
    auto loaded = loadPlabFile(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
    expectSameModel(*pruned, *loaded);
    EXPECT_EQ(loaded->layers[1].projection.mask.data<uint8_t>()[3], 1);
    EXPECT_TRUE(isPlabGraph(loaded->graph));
    fs::remove(path);
}

TEST(Plab, RefusesAPlainOnnxModelAndCorruptRecords) {
    Graph g = tinyNet();
    auto notPlab = prunedModelFromGraph(g);
    ASSERT_FALSE(notPlab.ok());
    EXPECT_NE(notPlab.error().message.find("prunelab.format"), std::string::npos);

    auto pruned = applyPlan(g, PruningPlan{});
    ASSERT_TRUE(pruned.ok());
    auto meta = plabMetadata(*pruned);
    ASSERT_TRUE(meta.ok());
    g.metadata = *meta;
    g.metadata["prunelab.layers"] = "[{\"name\": 1}]";
    auto corrupt = prunedModelFromGraph(g);
    ASSERT_FALSE(corrupt.ok());
    EXPECT_EQ(corrupt.error().code, ErrorCode::Corrupt);
}

// Found by plab_reader_fuzzer (tests/data/fuzz/regressions/plab_pattern_*.plab): a record's
// numbers went through nlohmann's get<int>(), so a float like 9e9 in patternSet was undefined
// behaviour and -14 wrapped into a 16-bit pattern. Every number is now checked, naming the file,
// the layer's record and the key.
// The fuzzer's .plab reproducers themselves: each is refused by the .plab reader, naming the file.
TEST(Plab, FuzzReproducersAreRefused) {
    int count = 0;
    for (const auto& entry :
         fs::directory_iterator(fs::path(PRUNELAB_SOURCE_DIR) / "tests/data/fuzz/regressions")) {
        if (entry.path().extension() != ".plab") continue;
        ++count;
        auto model = loadPlabFile(entry.path().string());
        ASSERT_FALSE(model.ok()) << entry.path() << " loaded";
        EXPECT_NE(model.error().toString().find(entry.path().filename().string()),
                  std::string::npos)
            << model.error().toString();
    }
    EXPECT_GE(count, 2);
}

TEST(Plab, RefusesOutOfRangeNumbersNamingFileRecordAndKey) {
    Graph g = tinyNet();
    g.sourcePath = "bad.plab";
    std::vector<Layer> layers = prunableLayers(g);
    auto pruned = applyPlan(g, PruningPlan{});
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    LayerProjection& p = pruned->layers[1].projection;  // conv 8 -> 8, 3x3: 64 kernels
    p.patternSet = {0x1b, 0x33};
    p.kernelPattern.assign(64, 1);
    p.tiles.tileWidth = 4;
    p.tiles.keptRows = {{0, 7}};
    p.tiles.keptColumns = {0, 71};
    auto meta = plabMetadata(*pruned);
    ASSERT_TRUE(meta.ok()) << meta.error().toString();
    g.metadata = *meta;
    ASSERT_TRUE(prunedModelFromGraph(g).ok());  // the edits below are the only faults

    const nlohmann::json good = nlohmann::json::parse(g.metadata["prunelab.layers"]);
    struct Case {
        const char* key;
        nlohmann::json value;
        const char* says;
    };
    const std::vector<Case> cases = {
        {"patternSet", {9e9, 0x33}, "patternSet[0] is not an integer"},
        {"patternSet", {-14, 0x33}, "patternSet[0] is -14"},
        {"patternSet", {0x1b, 512}, "patternSet[1] is 512"},
        {"kernelPattern", std::vector<int>(64, 2), "kernelPattern[0] is 2"},
        {"kernelPattern", std::vector<int>(63, 1), "kernelPattern has 63 entries"},
        {"keptZeros", {1e30}, "keptZeros[0] is not an integer"},
        {"keptZeros", {576}, "keptZeros[0] is 576"},
        {"tileWidth", 0, "tileWidth is 0"},
        {"keptRows", {{0, 8}}, "keptRows[0][1] is 8"},
        {"keptColumns", {0, 72}, "keptColumns[1] is 72"},
        {"keptColumns", "0", "keptColumns is not an array"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.says);
        nlohmann::json records = good;
        records[1][c.key] = c.value;
        g.metadata["prunelab.layers"] = records.dump();
        auto loaded = prunedModelFromGraph(g);
        ASSERT_FALSE(loaded.ok());
        EXPECT_EQ(loaded.error().code, ErrorCode::Corrupt);
        const std::string text = loaded.error().toString();
        EXPECT_NE(text.find("bad.plab"), std::string::npos) << text;
        EXPECT_NE(text.find("prunelab.layers[1]"), std::string::npos) << text;
        EXPECT_NE(text.find(c.says), std::string::npos) << text;
    }
}

// The fuzzer's entry point reads what the file one reads.
TEST(Plab, LoadsFromBytesAsFromAFile) {
    Graph g = tinyNet();
    auto pruned = applyPlan(g, PruningPlan{});
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    const std::string path = tempFile("bytes.plab");
    ASSERT_TRUE(savePlabFile(*pruned, path).ok());
    std::ifstream file(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), {});
    auto fromFile = loadPlabFile(path);
    auto fromBytes = loadPlabBytes(bytes, "memory.plab");
    fs::remove(path);
    ASSERT_TRUE(fromFile.ok()) << fromFile.error().toString();
    ASSERT_TRUE(fromBytes.ok()) << fromBytes.error().toString();
    expectSameModel(*fromFile, *fromBytes);
    auto broken = loadPlabBytes(bytes.substr(0, bytes.size() / 2), "memory.plab");
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().toString().find("memory.plab"), std::string::npos);
}

TEST(Plab, RealPatternAndTilePlansOnBlazeFaceReloadLosslessly) {
    for (const char* id : {"pattern", "tile_wise", "non_structured"}) {
        const Scheme* s = findScheme(id);
        if (s == nullptr || s->params().empty()) GTEST_SKIP() << id << " not ready";
    }
    const std::string model = std::string(PRUNELAB_CACHE_DIR) +
                              "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
    if (!fs::exists(model)) GTEST_SKIP() << "BlazeFace not in the asset cache";
    auto g = importOnnxFile(model);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    for (const char* preset : {"patdnn-8", "tile-75"}) {
        SCOPED_TRACE(preset);
        auto plan = presetPlan(preset);
        ASSERT_TRUE(plan.ok());
        auto pruned = applyPlan(*g, *plan);
        ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
        ModelStats stats = modelStats(*pruned);
        int schemeLayers = 0;
        for (size_t i = 0; i < pruned->layers.size(); ++i) {
            const LayerPruning& lp = pruned->layers[i];
            const LayerStats& s = stats.layers[i];
            if (lp.how != LayerPruning::How::Scheme) continue;
            ++schemeLayers;
            if (lp.scheme == "pattern") {
                ASSERT_TRUE(s.bytes.patternFkw.has_value()) << s.name;
                EXPECT_LE(s.patternHistogram.size(), 8u) << s.name;
                int64_t kernels = 0;
                for (const auto& [p, n] : s.patternHistogram) kernels += n;
                EXPECT_EQ(kernels, s.kernels - s.kernelsRemoved) << s.name;
            } else {
                EXPECT_TRUE(s.bytes.tile.has_value()) << s.name;
            }
        }
        EXPECT_GT(schemeLayers, 0);
        std::string path = tempFile(std::string(preset) + ".plab");
        Status st = savePlabFile(*pruned, path);
        ASSERT_TRUE(st.ok()) << st.error().toString();
        auto loaded = loadPlabFile(path);
        ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
        expectSameModel(*pruned, *loaded);
        EXPECT_EQ(statsToJson(modelStats(*loaded)), statsToJson(stats));
        fs::remove(path);
    }
}

TEST(PrunedOnnx, BlazeFaceZerosAndMetadataSurviveExport) {
    const Scheme* ns = findScheme("non_structured");
    if (ns == nullptr || ns->params().empty()) GTEST_SKIP() << "non_structured not ready";
    const std::string model = std::string(PRUNELAB_CACHE_DIR) +
                              "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    if (!fs::exists(model)) GTEST_SKIP() << "BlazeFace not in the asset cache";
    auto g = importOnnxFile(model);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    auto plan = presetPlan("uniform-50");
    ASSERT_TRUE(plan.ok());
    auto pruned = applyPlan(*g, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    ASSERT_GT(pruned->layers.size(), 2u);
    EXPECT_EQ(pruned->layers.front().how, LayerPruning::How::Dense);
    EXPECT_EQ(pruned->layers.back().how, LayerPruning::How::Dense);
    for (size_t i = 1; i + 1 < pruned->layers.size(); ++i) {
        ProjectionSummary s = summarize(pruned->layers[i].projection);
        int64_t expected = s.total - static_cast<int64_t>(std::llround(0.5 * s.total));
        EXPECT_LE(std::abs(s.kept - expected), 1) << pruned->layers[i].layer.name;
    }

    std::string path = tempFile("blazeface_50.onnx");
    Status st = exportPrunedOnnx(*pruned, path);
    ASSERT_TRUE(st.ok()) << st.error().toString();
    auto back = importOnnxFile(path);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    auto plan2 = parsePlanJson(back->metadata.at("prunelab.plan"));
    ASSERT_TRUE(plan2.ok()) << plan2.error().toString();
    EXPECT_EQ(*plan2, *plan);
    EXPECT_NE(back->metadata.at("prunelab.stats").find("\"keptMacs\""), std::string::npos);
    ModelStats before = modelStats(*pruned);
    ModelStats after = modelStats(*back);
    EXPECT_EQ(after.kept, before.kept);
    EXPECT_EQ(after.weights, before.weights);
    std::vector<Layer> layers = prunableLayers(*back);
    ASSERT_EQ(layers.size(), pruned->layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        auto w = layerWeights(*back, layers[i]);
        ASSERT_TRUE(w.ok());
        EXPECT_TRUE(w->weights.identical(pruned->layers[i].projection.weights)) << layers[i].name;
    }
    fs::remove(path);
}

// A model pruned elsewhere is read from its zeros: layers with zeros become non_structured at
// their own rate with the zeros as the mask; a dense model's few zeros are not pruning.
TEST(PrunedModelFromZeros, LayersWithZerosAreRecordedAtTheirOwnRate) {
    GraphBuilder b("pruned-elsewhere");
    const ValueId x = b.input("x", {1, 3, 8, 8});
    b.output(b.conv(b.relu(b.conv(x, 8, 3)), 4, 1));
    auto g = b.finish();
    ASSERT_TRUE(g.ok()) << g.error().toString();
    const std::vector<Layer> layers = prunableLayers(*g);
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_FALSE(prunedModelFromZeros(*g).has_value()) << "random weights have no zeros";

    // Zero about 60% of the first layer's weights (every weight whose index % 5 < 3).
    auto w = layerWeights(*g, layers[0]);
    ASSERT_TRUE(w.ok());
    Tensor zeroed = w->weights.clone();
    std::span<float> v = zeroed.span<float>();
    double zeros = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i % 5 < 3) v[i] = 0.0f, ++zeros;
    }
    ASSERT_TRUE(setLayerWeights(*g, layers[0], zeroed).ok());
    auto model = prunedModelFromZeros(*g);
    ASSERT_TRUE(model.has_value());
    ASSERT_EQ(model->layers.size(), 2u);
    const LayerPruning& first = model->layers[0];
    EXPECT_EQ(first.how, LayerPruning::How::Scheme);
    EXPECT_EQ(first.scheme, "non_structured");
    EXPECT_NEAR(first.params.number("rate", -1), zeros / static_cast<double>(v.size()), 1e-4);
    const auto mask = first.projection.mask.span<uint8_t>();
    for (size_t i = 0; i < mask.size(); ++i) ASSERT_EQ(mask[i], i % 5 < 3 ? 0 : 1) << i;
    EXPECT_EQ(model->layers[1].how, LayerPruning::How::Dense);
    EXPECT_TRUE(model->plan.layers.count(layers[0].name));
    EXPECT_FALSE(model->plan.layers.count(layers[1].name));
    // The plan is valid for the graph, so a later Reset or export keeps working.
    EXPECT_TRUE(validatePlanForGraph(model->plan, *g).ok());
}

}  // namespace
}  // namespace prunelab::engine::prune

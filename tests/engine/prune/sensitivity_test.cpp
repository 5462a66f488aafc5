// Sensitivity analysis: metric choice, exact values at rate 0, determinism across thread
// counts, progress and cancellation, unsupported layers, and a finite table on BlazeFace.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/builder.h"
#include "engine/prune/sensitivity.h"
#include "engine/runtime/backend_list.h"

namespace prunelab::engine::prune {
namespace {

std::vector<std::vector<Tensor>> randomBatch(const Graph& g, int samples, uint32_t seed) {
    std::vector<std::vector<Tensor>> batch;
    for (int s = 0; s < samples; ++s) {
        std::vector<Tensor> inputs;
        for (ValueId id : g.inputs) {
            Tensor t(DataType::Float32, g.value(id).shape);
            for (float& x : t.span<float>()) {
                seed = seed * 1664525u + 1013904223u;
                x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
            }
            inputs.push_back(std::move(t));
        }
        batch.push_back(std::move(inputs));
    }
    return batch;
}

Graph classifier() {
    GraphBuilder b("cls", 11);
    ValueId x = b.input("x", {1, 3, 8, 8});
    x = b.relu(b.conv(x, 8, 3));
    x = b.relu(b.conv(x, 8, 1));
    b.output(b.gemm(b.flatten(b.globalAveragePool(x)), 5));
    return std::move(b.finish()).value();
}

// Options whose runner is the default (CPU) backend, one thread per job.
SensitivityOptions onCpu() {
    SensitivityOptions options;
    options.run = [](const Graph& graph, std::span<const std::vector<Tensor>> batch) {
        return runBatch(defaultBackend(), graph, batch, 1);
    };
    return options;
}

bool ready(const std::string& id) {
    const Scheme* s = findScheme(id);
    return s != nullptr && !s->params().empty();
}

TEST(Sensitivity, ClassifierUsesTop1AndIsDeterministic) {
    if (!ready("non_structured")) GTEST_SKIP() << "non_structured not implemented yet";
    Graph g = classifier();
    auto batch = randomBatch(g, 4, 3);
    SensitivityOptions options = onCpu();
    options.rates = {0.0, 0.5, 0.9};
    options.threads = 2;
    int calls = 0, lastDone = 0, lastTotal = 0;
    options.progress = [&](int done, int total) {
        ++calls;
        lastDone = done;
        lastTotal = total;
    };
    auto table = analyzeSensitivity(g, batch, options);
    ASSERT_TRUE(table.ok()) << table.error().toString();
    EXPECT_EQ(table->metric, SensitivityMetric::Top1Agreement);
    ASSERT_EQ(table->layers.size(), 3u);
    EXPECT_EQ(calls, 9);
    EXPECT_EQ(lastDone, 9);
    EXPECT_EQ(lastTotal, 9);
    for (const LayerSensitivity& l : table->layers) {
        EXPECT_EQ(l.values[0], 1.0) << l.layer;  // nothing pruned: full agreement
        for (double v : l.values) EXPECT_TRUE(v >= 0 && v <= 1) << l.layer;
    }
    options.threads = 1;
    options.progress = nullptr;
    auto again = analyzeSensitivity(g, batch, options);
    ASSERT_TRUE(again.ok());
    for (size_t i = 0; i < table->layers.size(); ++i) {
        EXPECT_EQ(table->layers[i].values, again->layers[i].values);
    }
}

TEST(Sensitivity, RelativeL2AndPsnrAtRateZero) {
    if (!ready("non_structured")) GTEST_SKIP() << "non_structured not implemented yet";
    GraphBuilder b("img", 2);
    ValueId x = b.input("x", {1, 3, 8, 8});
    x = b.relu(b.conv(x, 6, 3));
    b.output(b.conv(x, 3, 3));  // same shape as the input: image to image
    Graph g = std::move(b.finish()).value();
    auto batch = randomBatch(g, 2, 9);
    SensitivityOptions options = onCpu();
    options.rates = {0.0, 0.75};
    auto psnr = analyzeSensitivity(g, batch, options);
    ASSERT_TRUE(psnr.ok()) << psnr.error().toString();
    EXPECT_EQ(psnr->metric, SensitivityMetric::Psnr);
    EXPECT_EQ(psnr->layers[0].values[0], 100.0);  // identical outputs: the cap
    EXPECT_LT(psnr->layers[0].values[1], 100.0);
    options.metric = SensitivityMetric::RelativeL2;
    auto l2 = analyzeSensitivity(g, batch, options);
    ASSERT_TRUE(l2.ok());
    EXPECT_EQ(l2->layers[1].values[0], 0.0);
    EXPECT_GT(l2->layers[1].values[1], 0.0);
    EXPECT_NE(formatSensitivity(*l2).find("relative L2"), std::string::npos);
}

TEST(Sensitivity, CancelledBadRateAndUnsupportedLayers) {
    if (!ready("non_structured") || !ready("pattern")) GTEST_SKIP() << "schemes not ready";
    Graph g = classifier();
    auto batch = randomBatch(g, 1, 5);
    std::atomic<bool> cancel{true};
    SensitivityOptions options = onCpu();
    options.cancel = &cancel;
    auto cancelled = analyzeSensitivity(g, batch, options);
    ASSERT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);

    SensitivityOptions bad = onCpu();
    bad.rates = {1.0};
    auto refused = analyzeSensitivity(g, batch, bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("outside [0, 1)"), std::string::npos);

    SensitivityOptions noRunner;  // pruning has no runtime of its own to fall back on
    auto unrun = analyzeSensitivity(g, batch, noRunner);
    ASSERT_FALSE(unrun.ok());
    EXPECT_NE(unrun.error().message.find("needs a runner"), std::string::npos);

    SensitivityOptions pattern = onCpu();
    pattern.scheme = "pattern";  // varies connectivity_rate; only the 3x3 conv applies
    pattern.rates = {0.5};
    auto table = analyzeSensitivity(g, batch, pattern);
    ASSERT_TRUE(table.ok()) << table.error().toString();
    EXPECT_TRUE(table->layers[0].supported);
    EXPECT_FALSE(table->layers[1].supported);
    EXPECT_TRUE(std::isnan(table->layers[1].values[0]));
    EXPECT_NE(formatSensitivity(*table).find("n/a"), std::string::npos);
}

TEST(Sensitivity, BlazeFaceGivesAFiniteDeterministicTable) {
    if (!ready("non_structured")) GTEST_SKIP() << "non_structured not implemented yet";
    const std::string path = std::string(PRUNELAB_CACHE_DIR) +
                             "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "BlazeFace not in the asset cache";
    auto g = importOnnxFile(path);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    auto batch = randomBatch(*g, 1, 42);
    SensitivityOptions options = onCpu();
    options.rates = {0.5, 0.9};
    options.threads = 2;
    auto a = analyzeSensitivity(*g, batch, options);
    ASSERT_TRUE(a.ok()) << a.error().toString();
    EXPECT_EQ(a->metric, SensitivityMetric::RelativeL2);
    options.threads = 1;
    auto b = analyzeSensitivity(*g, batch, options);
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(a->layers.size(), b->layers.size());
    for (size_t i = 0; i < a->layers.size(); ++i) {
        for (double v : a->layers[i].values) EXPECT_TRUE(std::isfinite(v)) << a->layers[i].layer;
        EXPECT_EQ(a->layers[i].values, b->layers[i].values) << a->layers[i].layer;
    }
}

}  // namespace
}  // namespace prunelab::engine::prune

// The model zoo: shapes and parameter counts worked out by hand, determinism per seed, and that
// each net runs in the CPU executor and survives an ONNX export + re-import with its outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "engine/train/zoo.h"

namespace prunelab::engine::train {
namespace {

Tensor randomImage(uint32_t seed) {
    Tensor t(DataType::Float32, {1, 1, 28, 28});
    uint32_t s = seed * 747796405u + 2891336453u;
    for (float& x : t.span<float>()) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
    }
    return t;
}

std::vector<float> runCpu(const Graph& g, const Tensor& input) {
    auto exec = cpu::CpuExecutor::create(g, {.threads = 1});
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return {};
    std::vector<Tensor> inputs = {input};
    auto out = (*exec)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    if (!out.ok()) return {};
    return (*out)[0].toFloatVector();
}

// Max |a - b| over the range of `b` (the tolerance every runtime comparison here uses).
double relativeMaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || b.empty()) return INFINITY;
    double diff = 0, lo = b[0], hi = b[0];
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
        lo = std::min(lo, static_cast<double>(b[i]));
        hi = std::max(hi, static_cast<double>(b[i]));
    }
    return diff / std::max(hi - lo, 1e-6);
}

int64_t constantElements(const Graph& g) {
    int64_t n = 0;
    for (const Value& v : g.values) n += v.isConstant() ? v.constant.elements() : 0;
    return n;
}

TEST(Zoo, Lenet5ShapesAndParameters) {
    auto g = buildLenet5(1);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    ASSERT_TRUE(verifyGraph(*g).ok());
    ASSERT_EQ(g->inputs.size(), 1u);
    EXPECT_EQ(g->value(g->inputs[0]).name, "image");
    EXPECT_EQ(g->value(g->inputs[0]).shape, (Shape{1, 1, 28, 28}));
    ASSERT_EQ(g->outputs.size(), 1u);
    EXPECT_EQ(g->value(g->outputs[0]).name, "logits");
    EXPECT_EQ(g->value(g->outputs[0]).shape, (Shape{1, 10}));

    // conv1 6x1x5x5+6, conv2 16x6x5x5+16, fc 400->120->84->10 (with biases).
    const std::vector<Layer> layers = prunableLayers(*g);
    ASSERT_EQ(layers.size(), 5u);
    const int64_t expected[] = {6 * 25 + 6, 16 * 6 * 25 + 16, 400 * 120 + 120, 120 * 84 + 84,
                                84 * 10 + 10};
    int64_t total = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(layers[i].params, expected[i]) << layers[i].name;
        total += layers[i].params;
    }
    EXPECT_EQ(total, 61706);  // "61.7K weights"
    EXPECT_EQ(constantElements(*g), 61706);
    EXPECT_EQ(layers[0].outputShape, (Shape{1, 6, 28, 28}));   // pad 2 keeps 28x28
    EXPECT_EQ(layers[1].outputShape, (Shape{1, 16, 10, 10}));  // unpadded 5x5 on 14x14
    EXPECT_EQ(layers[2].inputShape, (Shape{1, 400}));
    EXPECT_EQ(layers[0].name, "conv1");
    EXPECT_EQ(layers[4].name, "fc3");
}

TEST(Zoo, VggSmallShapesAndParameters) {
    auto g = buildVggSmall(1);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_EQ(g->value(g->inputs[0]).shape, (Shape{1, 1, 28, 28}));
    EXPECT_EQ(g->value(g->outputs[0]).name, "logits");
    EXPECT_EQ(g->value(g->outputs[0]).shape, (Shape{1, 10}));

    const std::vector<Layer> layers = prunableLayers(*g);
    ASSERT_EQ(layers.size(), 7u);
    // 3x3 convs without bias (BatchNormalization shifts): 1->32->32->64->64->128->128.
    const int64_t convs[] = {1 * 32 * 9,  32 * 32 * 9,  32 * 64 * 9,
                             64 * 64 * 9, 64 * 128 * 9, 128 * 128 * 9};
    for (size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(layers[i].params, convs[i]) << layers[i].name;
        EXPECT_EQ(layers[i].op, OpKind::Conv);
    }
    EXPECT_EQ(layers[6].params, 128 * 10 + 10);
    EXPECT_EQ(layers[1].outputShape, (Shape{1, 32, 28, 28}));
    EXPECT_EQ(layers[3].outputShape, (Shape{1, 64, 14, 14}));
    EXPECT_EQ(layers[5].outputShape, (Shape{1, 128, 7, 7}));

    int bn = 0;
    for (const Node& n : g->nodes) bn += n.op == OpKind::BatchNormalization ? 1 : 0;
    EXPECT_EQ(bn, 6);
    // Weights 285,984 + fc 1,290 + four vectors of (32+32+64+64+128+128) per BatchNormalization.
    EXPECT_EQ(constantElements(*g), 285984 + 1290 + 4 * 448);
}

TEST(Zoo, SeedsAreDeterministicAndDistinct) {
    for (const std::string& arch : archNames()) {
        auto a = buildArch(arch, 7), b = buildArch(arch, 7), c = buildArch(arch, 8);
        ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << arch;
        const Layer first = prunableLayers(*a)[0];
        const Tensor& wa = a->value(first.weight).constant;
        EXPECT_TRUE(wa.identical(b->value(first.weight).constant)) << arch;
        EXPECT_FALSE(wa.identical(c->value(first.weight).constant)) << arch;
        // Not degenerate: weights vary and stay within the He bound sqrt(6 / fanIn).
        const std::vector<float> w = wa.toFloatVector();
        const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
        const float bound = std::sqrt(6.0f / static_cast<float>(first.inPerGroup * 9));
        EXPECT_LT(*lo, 0.0f);
        EXPECT_GT(*hi, 0.0f);
        EXPECT_LE(std::max(-*lo, *hi), arch == "lenet5" ? std::sqrt(6.0f / 25.0f) : bound);
    }
}

TEST(Zoo, UnknownArchListsTheNames) {
    auto g = buildArch("resnet9000", 1);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, ErrorCode::NotFound);
    for (const std::string& name : archNames()) {
        EXPECT_NE(g.error().message.find(name), std::string::npos) << g.error().message;
    }
    EXPECT_NE(g.error().message.find("resnet9000"), std::string::npos);
}

// The CPU executor agrees with the reference runner, and an ONNX export read back (the
// importer folds vgg-small's BatchNormalization into its convs) gives the same logits.
TEST(Zoo, RunsAndRoundTripsThroughOnnx) {
    for (const std::string& arch : archNames()) {
        SCOPED_TRACE(arch);
        auto g = buildArch(arch, 3);
        ASSERT_TRUE(g.ok()) << g.error().toString();
        const Tensor image = randomImage(5);
        std::vector<Tensor> inputs = {image};
        auto ref = runGraphReference(*g, inputs);
        ASSERT_TRUE(ref.ok()) << ref.error().toString();
        const std::vector<float> expected = (*ref)[0].toFloatVector();
        const std::vector<float> cpu = runCpu(*g, image);
        EXPECT_LT(relativeMaxDiff(cpu, expected), 1e-4);

        auto bytes = exportOnnxBytes(*g);
        ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
        auto back = importOnnxBytes(*bytes, arch + ".onnx", "");
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_EQ(prunableLayers(*back).size(), prunableLayers(*g).size());
        if (arch == "vgg-small") {
            for (const Node& n : back->nodes) EXPECT_NE(n.op, OpKind::BatchNormalization);
        }
        const std::vector<float> reimported = runCpu(*back, image);
        EXPECT_LT(relativeMaxDiff(reimported, expected), 1e-4);
        // Different inputs give different logits: the net is not constant.
        const std::vector<float> other = runCpu(*g, randomImage(6));
        EXPECT_GT(relativeMaxDiff(other, expected), 1e-3);
    }
}

}  // namespace
}  // namespace prunelab::engine::train

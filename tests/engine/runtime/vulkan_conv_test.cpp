// The GPU's convolution and GEMM shaders (tiled implicit GEMM, 1x1 GEMM, depthwise, direct, Gemm,
// MatMul) and their fused epilogues, each against the reference runner on this machine's Vulkan
// device with validation on. Each case also checks which shader ran, so a silent fallback fails.
#include <gtest/gtest.h>

#include <limits>

#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "runtime_test_util.h"
#include "vulkan_test_util.h"

namespace prunelab::engine::testing {
namespace {

// The report entry of the node that produces `value`.
std::string kernelOf(const Executor& exec, const Graph& graph, ValueId value) {
    const int p = graph.producer(value);
    if (p < 0) return "(no producer)";
    return reportFor(exec, graph, graph.nodes[static_cast<size_t>(p)].name).kernel;
}

bool startsWith(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

// Runs `b`'s graph on the GPU against the reference and expects the node producing `value` to
// have run `kernel` (a prefix of its report entry).
void expectKernel(const GraphBuilder& b, ValueId value, const std::string& kernel) {
    auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    const std::string got = kernelOf(*exec, b.graph, value);
    EXPECT_TRUE(startsWith(got, kernel)) << "expected '" << kernel << "', ran '" << got << "'";
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

struct ConvCase {
    const char* what;
    const char* kernel;  // the report's kernel, a prefix
    Shape x, w;
    bool bias;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group;
};

void runConvCases(const std::vector<ConvCase>& cases) {
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(c.what);
        GraphBuilder b;
        std::vector<ValueId> in = {b.input(c.x), b.randomConstant(c.w)};
        if (c.bias) in.push_back(b.randomConstant({c.w[0]}));
        const ValueId y =
            b.op(OpKind::Conv, in, convAttrs(c.strides, c.pads, c.dilations, c.group));
        b.output(y);
        expectKernel(b, y, c.kernel);
    }
}

TEST(VulkanConv, TiledImplicitGemmMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    // One case in two lines: its name and kernel, then its geometry.
    // clang-format off
    runConvCases({
        {"3x3 pad 1", "gpu conv 3x3 tiled gemm +bias",
         {1, 8, 9, 11}, {16, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {"odd channels, stride 2, asymmetric pads", "gpu conv 3x3 tiled gemm",
         {1, 5, 7, 5}, {7, 5, 3, 3}, false, {2, 2}, {0, 1, 2, 1}, {1, 1}, 1},
        {"dilation 2", "gpu conv 3x3 tiled gemm +bias",
         {1, 6, 10, 9}, {12, 6, 3, 3}, true, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1},
        {"5x5 stride 2, channels not a tile's", "gpu conv 5x5 tiled gemm +bias",
         {1, 3, 13, 13}, {20, 3, 5, 5}, true, {2, 2}, {2, 2, 2, 2}, {1, 1}, 1},
        {"1x3 kernel, stride 1x2", "gpu conv 1x3 tiled gemm",
         {1, 4, 6, 9}, {8, 4, 1, 3}, false, {1, 2}, {0, 1, 0, 1}, {1, 1}, 1},
        {"several tiles each way and K slices", "gpu conv 3x3 tiled gemm +bias",
         {1, 16, 10, 10}, {70, 16, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {"128-wide tiles, 8 x 8 sums per invocation", "gpu conv 3x3 tiled gemm +bias",
         {1, 8, 12, 12}, {130, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
    });
    // clang-format on
}

TEST(VulkanConv, TiledImplicitGemmWithGroupsAndBatchesMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    // One case in two lines: its name and kernel, then its geometry.
    // clang-format off
    runConvCases({
        {"groups", "gpu conv 3x3 tiled gemm +bias",
         {1, 8, 7, 6}, {16, 4, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},
        {"channel multiplier 4 (one input channel per group)", "gpu conv 3x3 tiled gemm",
         {1, 3, 8, 8}, {12, 1, 3, 3}, false, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3},
        {"batch 2", "gpu conv 3x3 tiled gemm +bias",
         {2, 4, 6, 7}, {8, 4, 3, 3}, true, {1, 1}, {1, 0, 0, 1}, {1, 1}, 1},
        {"batch 2 with groups and stride 2", "gpu conv 3x3 tiled gemm +bias",
         {2, 6, 9, 8}, {12, 3, 3, 3}, true, {2, 2}, {1, 1, 1, 1}, {1, 1}, 2},
    });
    // clang-format on
}

TEST(VulkanConv, PointwiseConvIsAGemm) {
    SKIP_WITHOUT_VULKAN();
    // One case in two lines: its name and kernel, then its geometry.
    // clang-format off
    runConvCases({
        {"1x1", "gpu conv 1x1 gemm +bias",
         {1, 16, 9, 7}, {24, 16, 1, 1}, true, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
        {"1x1 odd sizes", "gpu conv 1x1 gemm",
         {1, 9, 5, 3}, {5, 9, 1, 1}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
        {"1x1 grouped, batch 2", "gpu conv 1x1 gemm +bias",
         {2, 16, 5, 6}, {8, 8, 1, 1}, true, {1, 1}, {0, 0, 0, 0}, {1, 1}, 2},
        // Strided or padded 1x1 convs gather their input like any window.
        {"1x1 stride 2", "gpu conv 1x1 tiled gemm +bias",
         {1, 12, 7, 9}, {6, 12, 1, 1}, true, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
        {"1x1 padded", "gpu conv 1x1 tiled gemm",
         {1, 8, 4, 5}, {8, 8, 1, 1}, false, {1, 1}, {1, 0, 0, 1}, {1, 1}, 1},
    });
    // clang-format on
}

TEST(VulkanConv, DepthwiseAndDirectConvsMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    // One case in two lines: its name and kernel, then its geometry.
    // clang-format off
    runConvCases({
        {"depthwise 3x3", "gpu conv depthwise 3x3 +bias",
         {1, 8, 9, 7}, {8, 1, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8},
        {"depthwise stride 2, asymmetric pads", "gpu conv depthwise 3x3",
         {1, 6, 11, 8}, {6, 1, 3, 3}, false, {2, 2}, {0, 0, 1, 1}, {1, 1}, 6},
        {"depthwise 5x5 dilation 2, batch 2", "gpu conv depthwise 5x5 +bias",
         {2, 5, 12, 10}, {5, 1, 5, 5}, true, {1, 1}, {4, 4, 4, 4}, {2, 2}, 5},
        // Too few output channels per group, or too short a sum, for a tile: direct.
        {"2 channels per group", "gpu conv 3x3 direct +bias",
         {1, 8, 9, 11}, {8, 2, 3, 3}, true, {2, 2}, {1, 0, 1, 2}, {1, 1}, 4},
        {"a sum of 2", "gpu conv 1x1 direct",
         {1, 2, 6, 5}, {8, 2, 1, 1}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    });
    // clang-format on
}

struct GemmCase {
    const char* what;
    Shape a, b;
    std::optional<Shape> c;
    bool transA, transB;
    float alpha, beta;
};

TEST(VulkanConv, GemmMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    const std::vector<GemmCase> cases = {
        {"plain", {3, 10}, {10, 5}, std::nullopt, false, false, 1.0f, 1.0f},
        {"transB, C per column", {3, 10}, {5, 10}, Shape{5}, false, true, 1.0f, 1.0f},
        {"transA, alpha, beta, full C", {10, 6}, {10, 7}, Shape{6, 7}, true, false, 0.5f, -2.0f},
        {"both transposed, C per row", {20, 9}, {11, 20}, Shape{9, 1}, true, true, 1.5f, 0.25f},
        {"scalar C", {4, 3}, {3, 6}, Shape{}, false, false, 1.0f, 3.0f},
        {"C [1, N]", {4, 3}, {3, 6}, Shape{1, 6}, false, false, 1.0f, 1.0f},
        {"tiles each way, K slices", {37, 50}, {50, 70}, Shape{70}, false, false, 1.0f, 1.0f},
        {"128-wide tiles", {130, 20}, {150, 20}, Shape{130, 1}, false, true, 1.0f, 1.0f},
    };
    for (const GemmCase& c : cases) {
        SCOPED_TRACE(c.what);
        GraphBuilder b;
        std::vector<ValueId> in = {b.input(c.a), b.randomConstant(c.b)};
        if (c.c) in.push_back(b.randomConstant(*c.c));
        Attributes at;
        at.set("transA", int64_t{c.transA});
        at.set("transB", int64_t{c.transB});
        at.set("alpha", c.alpha);
        at.set("beta", c.beta);
        const ValueId y = b.op(OpKind::Gemm, in, at);
        b.output(y);
        expectKernel(b, y, "gpu gemm");
    }
}

TEST(VulkanConv, MatMulTwoDimensionalAndBatchedMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    struct Case {
        const char* what;
        const char* kernel;
        Shape a, b;
    };
    const std::vector<Case> cases = {
        {"2-D", "gpu matmul gemm", {37, 50}, {50, 70}},
        {"batched A, shared B", "gpu matmul gemm 6 batches", {2, 3, 5, 8}, {8, 6}},
        {"both batched", "gpu matmul gemm 3 batches", {3, 4, 9}, {3, 9, 2}},
        {"broadcast batch dims", "gpu matmul gemm 6 batches", {2, 1, 5, 8}, {3, 8, 6}},
        {"1-D A", "gpu matmul gemm 2 batches", {8}, {2, 8, 6}},
        {"1-D B", "gpu matmul gemm 2 batches", {2, 5, 8}, {8}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        GraphBuilder b;
        // Both operands are inputs: a MatMul of two activations (attention) uploads both.
        const ValueId y = b.op(OpKind::MatMul, {b.input(c.a), b.input(c.b)});
        b.output(y);
        expectKernel(b, y, c.kernel);
    }
}

// ---- Fused epilogues ----

Attributes clipAttrs(float lo, float hi) {
    Attributes a;
    a.set("min", lo);
    a.set("max", hi);
    return a;
}

// Runs the graph and expects the node producing `anchor` to have run `kernel` (exactly) and every
// value of `fused` to be reported fused into it.
void expectFused(const GraphBuilder& b, ValueId anchor, const std::string& kernel,
                 const std::vector<ValueId>& fused) {
    auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    EXPECT_EQ(kernelOf(*exec, b.graph, anchor), kernel);
    for (ValueId v : fused) {
        const std::string got = kernelOf(*exec, b.graph, v);
        EXPECT_TRUE(startsWith(got, "fused into ")) << b.graph.value(v).name << " ran " << got;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

TEST(VulkanConv, FusesBiasActivationsPReluAndTheResidualAdd) {
    SKIP_WITHOUT_VULKAN();
    {
        SCOPED_TRACE("conv + bias + relu");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv,
                 {b.input({1, 8, 9, 11}), b.randomConstant({16, 8, 3, 3}), b.randomConstant({16})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId r = b.op(OpKind::Relu, {c});
        b.output(r);
        expectFused(b, c, "gpu conv 3x3 tiled gemm +bias+relu", {r});
    }
    {
        SCOPED_TRACE("conv + residual add + relu (ResNet)");
        GraphBuilder b;
        const ValueId x = b.input({1, 8, 7, 6});
        const ValueId c =
            b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId add = b.op(OpKind::Add, {x, c});
        const ValueId r = b.op(OpKind::Relu, {add});
        b.output(r);
        expectFused(b, c, "gpu conv 3x3 tiled gemm +bias+add+relu", {add, r});
    }
    {
        SCOPED_TRACE("conv + prelu per channel, then add of an earlier value");
        GraphBuilder b;
        const ValueId x = b.input({1, 4, 6, 5});
        const ValueId skip = b.op(OpKind::Sigmoid, {b.input({1, 12, 6, 5})});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({12, 4, 3, 3})},
                               convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId p = b.op(OpKind::PRelu, {c, b.randomConstant({12, 1, 1})});
        const ValueId add = b.op(OpKind::Add, {p, skip});
        b.output(add);
        expectFused(b, c, "gpu conv 3x3 tiled gemm +prelu+add", {p, add});
    }
    {
        SCOPED_TRACE("1x1 conv + scalar prelu");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv, {b.input({1, 8, 5, 5}), b.randomConstant({8, 8, 1, 1})},
                 convAttrs({1, 1}, {0, 0, 0, 0}));
        const ValueId p = b.op(OpKind::PRelu, {c, b.randomConstant({1})});
        b.output(p);
        expectFused(b, c, "gpu conv 1x1 gemm +prelu", {p});
    }
    {
        SCOPED_TRACE("depthwise + bias + ReLU6 (MobileNet)");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv,
                 {b.input({1, 6, 8, 8}), b.randomConstant({6, 1, 3, 3}), b.randomConstant({6})},
                 convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 6));
        const ValueId r6 = b.op(OpKind::Clip, {c}, clipAttrs(0.0f, 0.25f));
        b.output(r6);
        expectFused(b, c, "gpu conv depthwise 3x3 +bias+clip", {r6});
    }
    {
        SCOPED_TRACE("conv + hard swish");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv, {b.input({1, 4, 6, 6}), b.randomConstant({8, 4, 3, 3})},
                 convAttrs({2, 2}, {1, 1, 1, 1}));
        const ValueId h = b.op(OpKind::HardSwish, {c});
        b.output(h);
        expectFused(b, c, "gpu conv 3x3 tiled gemm +hardswish", {h});
    }
    {
        // Two activations with parameters in one shader (baked, not push constants), and a
        // clip bound of +inf, which has no GLSL literal.
        SCOPED_TRACE("direct conv + leaky relu + add + hard sigmoid; clip to [0.1, inf)");
        GraphBuilder b;
        const ValueId x = b.input({1, 4, 6, 6});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({4, 2, 3, 3})},
                               convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 2));
        Attributes leaky;
        leaky.set("alpha", 0.3f);
        const ValueId l = b.op(OpKind::LeakyRelu, {c}, leaky);
        const ValueId add = b.op(OpKind::Add, {l, x});
        Attributes hs;
        hs.set("alpha", 0.3f);
        hs.set("beta", 0.4f);
        const ValueId h = b.op(OpKind::HardSigmoid, {add}, hs);
        b.output(h);
        const ValueId c2 =
            b.op(OpKind::Conv, {b.input({1, 8, 5, 5}), b.randomConstant({8, 8, 1, 1})},
                 convAttrs({1, 1}, {0, 0, 0, 0}));
        const ValueId clip =
            b.op(OpKind::Clip, {c2}, clipAttrs(0.1f, std::numeric_limits<float>::infinity()));
        b.output(clip);
        expectFused(b, c, "gpu conv 3x3 direct +leakyrelu+add+hardsigmoid", {l, add, h});
        expectFused(b, c2, "gpu conv 1x1 gemm +clip", {clip});
    }
    {
        SCOPED_TRACE("gemm + bias + sigmoid, matmul + tanh");
        GraphBuilder b;
        Attributes t;
        t.set("transB", int64_t{1});
        const ValueId g = b.op(
            OpKind::Gemm, {b.input({3, 10}), b.randomConstant({5, 10}), b.randomConstant({5})}, t);
        const ValueId s = b.op(OpKind::Sigmoid, {g});
        b.output(s);
        const ValueId m = b.op(OpKind::MatMul, {b.input({2, 4, 6}), b.randomConstant({6, 3})});
        const ValueId th = b.op(OpKind::Tanh, {m});
        b.output(th);
        expectFused(b, g, "gpu gemm transB +bias+sigmoid", {s});
        expectFused(b, m, "gpu matmul gemm 2 batches +tanh", {th});
    }
}

// Fusing would skip a value someone else needs, or read one not made yet: no fusion, and the
// results still match.
TEST(VulkanConv, DoesNotFuseWhatOthersNeedOrWhatIsNotReady) {
    SKIP_WITHOUT_VULKAN();
    {
        SCOPED_TRACE("the conv's output is read twice");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv, {b.input({1, 4, 6, 6}), b.randomConstant({8, 4, 3, 3})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId r = b.op(OpKind::Relu, {c});
        b.output(b.op(OpKind::Add, {r, c}));
        auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, c), "gpu conv 3x3 tiled gemm");
        EXPECT_FALSE(startsWith(kernelOf(*exec, b.graph, r), "fused"));
    }
    {
        SCOPED_TRACE("the residual is made after the conv");
        GraphBuilder b;
        const ValueId x = b.input({1, 8, 5, 5});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 1, 1})},
                               convAttrs({1, 1}, {0, 0, 0, 0}));
        const ValueId later = b.op(OpKind::Sigmoid, {x});
        const ValueId add = b.op(OpKind::Add, {c, later});
        b.output(add);
        auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, c), "gpu conv 1x1 gemm");
        EXPECT_FALSE(startsWith(kernelOf(*exec, b.graph, add), "fused"));
    }
    {
        SCOPED_TRACE("the intermediate is a graph output");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv,
                 {b.input({1, 4, 6, 6}), b.randomConstant({8, 4, 3, 3}), b.randomConstant({8})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId r = b.op(OpKind::Relu, {c});
        b.output(c);
        b.output(r);
        auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, c), "gpu conv 3x3 tiled gemm +bias");
        EXPECT_FALSE(startsWith(kernelOf(*exec, b.graph, r), "fused"));
    }
    {
        SCOPED_TRACE("the activation after the add is a graph output, the add's output too");
        GraphBuilder b;
        const ValueId x = b.input({1, 8, 5, 5});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3})},
                               convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId add = b.op(OpKind::Add, {c, x});
        const ValueId r = b.op(OpKind::Relu, {add});
        b.output(add);
        b.output(r);
        auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, c), "gpu conv 3x3 tiled gemm +add");
        EXPECT_FALSE(startsWith(kernelOf(*exec, b.graph, r), "fused"));
    }
    {
        SCOPED_TRACE("a PRelu slope that is not per channel");
        GraphBuilder b;
        const ValueId c =
            b.op(OpKind::Conv, {b.input({1, 4, 6, 6}), b.randomConstant({8, 4, 3, 3})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        const ValueId p = b.op(OpKind::PRelu, {c, b.randomConstant({6, 6})});
        b.output(p);
        auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, c), "gpu conv 3x3 tiled gemm");
        EXPECT_FALSE(startsWith(kernelOf(*exec, b.graph, p), "fused"));
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

TEST(VulkanConv, ShadersShowTheirTilesAndEpilogue) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId c =
        b.op(OpKind::Conv, {b.input({1, 8, 12, 12}), b.randomConstant({130, 8, 3, 3})},
             convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Clip, {c}, clipAttrs(-std::numeric_limits<float>::infinity(), 6.0f)));
    auto sources = vulkan::shaderSources(b.graph);
    ASSERT_TRUE(sources.ok()) << sources.error().toString();
    ASSERT_EQ(sources->size(), 1u);
    const std::string& glsl = (*sources)[0].second;
    EXPECT_NE(glsl.find("shared float As["), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("barrier();"), std::string::npos) << glsl;
    // 130 channels and 144 pixels: the large tiles, 8 x 8 sums per invocation.
    EXPECT_NE(glsl.find("const uint TM = 128u, TN = 128u"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("RM = 8u, RN = 8u"), std::string::npos) << glsl;
    // Two 128-wide slices of 16 would pass the 16 KiB of shared memory every device has.
    EXPECT_NE(glsl.find("TK = 8u;"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("const uint KH = 3u, KW = 3u;"), std::string::npos) << glsl;
    // The clip's bounds are baked in: 6 as a float, -inf through its bits.
    EXPECT_NE(glsl.find("6.0"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("uintBitsToFloat(0xff800000u)"), std::string::npos) << glsl;
}

}  // namespace
}  // namespace prunelab::engine::testing

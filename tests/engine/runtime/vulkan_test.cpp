// The Vulkan GPU backend on a real device (Mesa's lavapipe on every test machine; a GPU where
// there is one), with Khronos' validation layer on: a validation error fails the run that caused
// it. Without any Vulkan device every test skips, saying why.
#include <gtest/gtest.h>

#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "runtime_test_util.h"
#include "vulkan_test_util.h"

namespace prunelab::engine::testing {
namespace {

TEST(Vulkan, ListsTheDevicesAndDescribesTheOneItRuns) {
    SKIP_WITHOUT_VULKAN();
    auto devices = vulkan::listDevices();
    ASSERT_TRUE(devices.ok()) << devices.error().toString();
    ASSERT_FALSE(devices->empty());
    for (const vulkan::DeviceInfo& d : *devices) EXPECT_FALSE(d.name.empty());
    const BackendDescription d = gpu().describe();
    EXPECT_NE(d.device.find((*devices)[0].name.substr(0, 4)), std::string::npos) << d.device;
    EXPECT_TRUE(vulkan::validationRequested()) << "the tests run with PRUNELAB_VULKAN_VALIDATION=1";
}

// Conv + bias, ReLU, a residual add and a clip: every step on the GPU in one command buffer.
TEST(Vulkan, RunsAConvBlockOnTheGpuAndMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 9, 11});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
             convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId r = b.op(OpKind::Relu, {c1});
    const ValueId c2 = b.op(OpKind::Conv, {r, b.randomConstant({8, 2, 3, 3})},
                            convAttrs({2, 2}, {1, 0, 1, 2}, {1, 1}, 4));
    const ValueId c3 =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 1, 1})}, convAttrs({2, 2}, {0, 0, 0, 0}));
    Attributes clip;
    clip.set("min", -0.5f);
    clip.set("max", 0.75f);
    b.output(b.op(OpKind::Clip, {b.op(OpKind::Add, {c2, c3})}, clip));
    auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    // Each node runs its own shader or is fused into one (the relu into c1's; the add and the
    // clip into c3's, whose residual c2 is ready before it).
    for (const KernelChoice& k : exec->kernelReport()) {
        EXPECT_TRUE(k.kernel.rfind("gpu ", 0) == 0 || k.kernel.rfind("fused into ", 0) == 0)
            << k.node << " ran " << k.kernel << ": " << k.reason;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// A node without a shader runs on the CPU between GPU steps, and the report says why: the GPU
// computes float32 only, so a round trip through int64 (Cast) stays on the CPU.
TEST(Vulkan, FallsBackToTheCpuPerNodeAndSaysWhy) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 8, 8});
    const ValueId r = b.op(OpKind::Relu, {x});
    const ValueId scaled = b.op(OpKind::Mul, {r, b.constant(Tensor::scalar(9))});
    Attributes toInt, toFloat;
    toInt.set("to", int64_t(DataType::Int64));
    toFloat.set("to", int64_t(DataType::Float32));
    const ValueId i = b.op(OpKind::Cast, {scaled}, toInt);
    const ValueId f = b.op(OpKind::Cast, {i}, toFloat);
    const ValueId s = b.op(OpKind::Sigmoid, {f});
    b.output(b.op(OpKind::Mul, {s, b.randomConstant({1, 4, 1, 1})}));
    auto exec = expectMatchesReference(b.graph, 1, 3, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    const std::vector<KernelChoice> report = exec->kernelReport();
    ASSERT_EQ(report.size(), 6u);
    EXPECT_EQ(report[0].kernel, "gpu relu");
    EXPECT_EQ(report[1].kernel.rfind("gpu mul", 0), 0u) << report[1].kernel;
    for (size_t k : {2u, 3u}) {
        EXPECT_EQ(report[k].kernel, "cpu reference (fallback)");
        EXPECT_NE(report[k].reason.find("is not float32"), std::string::npos) << report[k].reason;
    }
    EXPECT_EQ(report[4].kernel, "gpu sigmoid");
    EXPECT_EQ(report[5].kernel.rfind("gpu mul", 0), 0u) << report[5].kernel;
    // Runs again with other inputs: buffers and command buffers are reused, not stale.
    auto again = exec->run(randomInputs(b.graph, 11));
    ASSERT_TRUE(again.ok()) << again.error().toString();
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// Independent dispatches run without a barrier between them; one comes before the step that
// reads them, so the results are still right.
TEST(Vulkan, BarriersOnlyWhereAStepReadsAnotherOnesOutput) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 5, 7});
    const ValueId r = b.op(OpKind::Relu, {x});
    const ValueId s = b.op(OpKind::Sigmoid, {x});
    const ValueId t = b.op(OpKind::Tanh, {x});
    const ValueId sum = b.op(OpKind::Add, {r, s});  // reads two unsynchronised writes: 1 barrier
    b.output(b.op(OpKind::Mul, {sum, t}));          // reads the add's: a second one
    auto exec = expectMatchesReference(b.graph, 1, 9, 1e-5f, gpu());
    ASSERT_TRUE(exec);
    EXPECT_EQ(vulkan::recordedBarriers(*exec), 2);
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

TEST(Vulkan, ShadersAreGlslAStudentCanRead) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 6, 6});
    b.output(
        b.op(OpKind::Conv, {x, b.randomConstant({4, 3, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1})));
    auto sources = vulkan::shaderSources(b.graph);
    ASSERT_TRUE(sources.ok()) << sources.error().toString();
    ASSERT_EQ(sources->size(), 1u);
    const std::string& glsl = (*sources)[0].second;
    EXPECT_EQ(glsl.rfind("#version 450", 0), 0u);
    EXPECT_NE(glsl.find("const uint KH = 3u, KW = 3u;"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("const uint IC = 3u"), std::string::npos) << glsl;
}

TEST(Vulkan, RefusesAnotherBackendsGeneratedKernels) {
    SKIP_WITHOUT_VULKAN();
    struct Foreign final : GeneratedKernels {
        std::string_view backend() const override { return "cpu"; }
    };
    GraphBuilder b;
    b.output(b.op(OpKind::Relu, {b.input({1, 2, 3, 3})}));
    PrepareOptions options;
    options.generated = std::make_shared<Foreign>();
    auto exec = gpu().prepare(b.graph, options);
    ASSERT_FALSE(exec.ok());
    EXPECT_NE(exec.error().message.find("'cpu' backend"), std::string::npos)
        << exec.error().message;
}

}  // namespace
}  // namespace prunelab::engine::testing

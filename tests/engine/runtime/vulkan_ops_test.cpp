// The GPU's shaders for the ops around the convolutions (shaders_tensor.cpp) against the
// reference runner, on lavapipe with validation on: every op and mode, odd sizes and edge cases.
// Each node must report a "gpu ..." kernel, so a silent fallback to the CPU fails too.
#include <gtest/gtest.h>

#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "runtime_test_util.h"
#include "vulkan_test_util.h"

namespace prunelab::engine::testing {
namespace {

// Runs `graph` on the GPU against the reference, twice (expectMatchesReference), and checks
// that every node ran a GPU shader and the validation layer saw nothing.
void expectOnGpu(const Graph& graph, float relTol = 1e-4f) {
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the test graph did not build";
    auto exec = expectMatchesReference(graph, 1, 7, relTol, gpu());
    ASSERT_TRUE(exec);
    const std::vector<KernelChoice> report = exec->kernelReport();
    EXPECT_EQ(report.size(), graph.nodes.size());
    for (const KernelChoice& k : report) {
        EXPECT_EQ(k.kernel.rfind("gpu ", 0), 0u)
            << k.node << " ran " << k.kernel << ": " << k.reason;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

Attributes ints(const char* name, std::vector<int64_t> v) {
    Attributes a;
    a.set(name, std::move(v));
    return a;
}

Attributes with(Attributes a, const char* name, AttributeValue v) {
    a.set(name, std::move(v));
    return a;
}

// ---- Element-wise ----

// numpy broadcasting: same shapes, [1,C,1,1], a scalar, rank 1 against rank 4, both sides
// stretched, and the broadcast operand first.
TEST(VulkanOps, BroadcastingArithmeticMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow}) {
        SCOPED_TRACE(opName(op));
        GraphBuilder b;
        // Div and Pow get positive operands (Exp): no division by ~0, no NaN from pow.
        const bool positive = op == OpKind::Div || op == OpKind::Pow;
        auto operand = [&](ValueId v) { return positive ? b.op(OpKind::Exp, {v}) : v; };
        const ValueId x = operand(b.input({1, 4, 5, 7}));
        b.output(b.op(op, {x, operand(b.input({1, 4, 5, 7}))}));
        b.output(b.op(op, {x, operand(b.randomConstant({1, 4, 1, 1}))}));
        b.output(b.op(op, {x, b.constant(Tensor::scalar(positive ? 1.5f : -0.25f))}));
        b.output(b.op(op, {operand(b.input({})), x}));  // a rank-0 input
        b.output(b.op(op, {operand(b.input({7})), operand(b.input({2, 3, 1, 7}))}));
        b.output(b.op(op, {operand(b.input({3, 1, 5})), operand(b.input({1, 4, 1}))}));
        b.output(b.op(op, {operand(b.randomConstant({4, 1, 1})), x}));
        expectOnGpu(b.graph);
    }
}

// std::pow's results where GLSL's pow is undefined: negative bases with integer exponents
// keep their sign (or parity), zero bases, and a zero exponent.
TEST(VulkanOps, PowOfNegativeAndZeroBasesMatchesStdPow) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({3, 5, 6});
    b.output(
        b.op(OpKind::Pow, {x, b.constant(Tensor::fromVector<float>({6}, {2, 3, -1, 0, 1, 4}))}));
    const ValueId zeros = b.constant(Tensor::fromVector<float>({4}, {0, 0, 0, 2}));
    b.output(
        b.op(OpKind::Pow, {zeros, b.constant(Tensor::fromVector<float>({4}, {0.5f, 0, 3, -2}))}));
    expectOnGpu(b.graph);
}

TEST(VulkanOps, PReluBroadcastsItsSlope) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 5, 7});
    for (const Shape& slope : std::vector<Shape>{{4, 1, 1}, {1}, {7}, {1, 4, 5, 7}, {}}) {
        b.output(b.op(OpKind::PRelu, {x, b.randomConstant(slope)}));
    }
    b.output(b.op(OpKind::PRelu, {b.input({9}), b.randomConstant({9})}));
    expectOnGpu(b.graph);
}

// ---- Softmax ----

// Axis 0, 1 and last; the legacy (opset < 13) form over the flattened tail; and inputs scaled
// by 200, whose exp overflows float unless the max is subtracted first.
TEST(VulkanOps, SoftmaxOverEachAxisIsStable) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 5, 3, 4});
    b.output(b.op(OpKind::Softmax, {x}, with({}, "axis", int64_t{1})));
    b.output(b.op(OpKind::Softmax, {x}, with({}, "axis", int64_t{0})));
    b.output(b.op(OpKind::Softmax, {x}));  // last axis
    b.output(b.op(OpKind::Softmax, {x}, with(with({}, "axis", int64_t{1}), "legacy", int64_t{1})));
    const ValueId big = b.op(OpKind::Mul, {b.input({3, 11}), b.constant(Tensor::scalar(200))});
    b.output(b.op(OpKind::Softmax, {big}, with({}, "axis", int64_t{1})));
    b.output(b.op(OpKind::Softmax, {b.input({13})}, with({}, "axis", int64_t{0})));
    expectOnGpu(b.graph);
}

// Activations of large inputs: a driver's exp-based tanh gives NaN there unless the shader
// clamps, and sigmoid must reach exactly 0 and 1.
TEST(VulkanOps, ActivationsOfLargeInputsStayFinite) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId big =
        b.op(OpKind::Mul, {b.input({2, 3, 5, 7}), b.constant(Tensor::scalar(1e4f))});
    b.output(b.op(OpKind::Tanh, {big}));
    b.output(b.op(OpKind::Sigmoid, {big}));
    b.output(b.op(OpKind::HardSwish, {big}));
    expectOnGpu(b.graph);
}

// The float maths of issue 22 on the GPU: on x in [-1, 1) and on 40x, whose tails test Softplus
// and Mish for overflow (e^40 is fine in float32, but the shaders must not rely on it) and Erf's
// polynomial away from 0; two-input Min and Max, broadcast too. Three-input Max falls back.
TEST(VulkanOps, FloatMathsAndMinMaxRunOnTheGpu) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 5, 7});
    const ValueId wide = b.op(OpKind::Mul, {x, b.constant(Tensor::scalar(40))});
    for (OpKind op : {OpKind::Neg, OpKind::Abs, OpKind::Floor, OpKind::Ceil, OpKind::Round,
                      OpKind::Erf, OpKind::Softplus, OpKind::Mish}) {
        b.output(b.op(op, {x}));
        b.output(b.op(op, {wide}));
    }
    const ValueId pos = b.op(OpKind::Exp, {x});
    b.output(b.op(OpKind::Log, {pos}));
    b.output(b.op(OpKind::Reciprocal, {pos}));
    b.output(b.op(OpKind::Min, {x, b.input({2, 3, 5, 7})}));
    b.output(b.op(OpKind::Max, {x, b.randomConstant({3, 1, 1})}));
    expectOnGpu(b.graph);

    GraphBuilder three;
    const ValueId y = three.input({4, 5});
    three.output(three.op(OpKind::Max, {y, three.input({4, 5}), three.input({5})}));
    auto exec = expectMatchesReference(three.graph, 1, 7, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    const std::vector<KernelChoice> report = exec->kernelReport();
    ASSERT_EQ(report.size(), 1u);
    EXPECT_EQ(report[0].kernel, "cpu reference (fallback)");
    EXPECT_NE(report[0].reason.find("Max of 3 inputs"), std::string::npos) << report[0].reason;
}

// ---- Pools ----

Attributes pool(std::vector<int64_t> kernel, std::vector<int64_t> strides,
                std::vector<int64_t> pads, int64_t ceil = 0, int64_t includePad = 0,
                std::vector<int64_t> dilations = {1, 1}) {
    Attributes a = ints("kernel_shape", std::move(kernel));
    a.set("strides", std::move(strides));
    a.set("pads", std::move(pads));
    a.set("dilations", std::move(dilations));
    a.set("ceil_mode", ceil);
    a.set("count_include_pad", includePad);
    return a;
}

// Odd sizes, padding (symmetric and not), ceil_mode windows hanging past the end, dilations,
// and count_include_pad on and off.
TEST(VulkanOps, MaxAndAveragePoolsMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    for (OpKind op : {OpKind::MaxPool, OpKind::AveragePool}) {
        SCOPED_TRACE(opName(op));
        GraphBuilder b;
        const ValueId x = b.input({2, 3, 9, 11});
        b.output(b.op(op, {x}, pool({3, 3}, {2, 2}, {1, 1, 1, 1})));
        b.output(b.op(op, {x}, pool({2, 2}, {2, 2}, {0, 0, 0, 0}, 1)));
        b.output(b.op(op, {x}, pool({3, 2}, {2, 3}, {1, 0, 1, 1}, 1, 1)));
        b.output(b.op(op, {x}, pool({3, 3}, {1, 1}, {2, 2, 2, 2}, 0, 1)));
        b.output(b.op(op, {x}, pool({2, 3}, {1, 2}, {0, 1, 2, 0})));
        b.output(b.op(op, {x}, pool({3, 3}, {2, 1}, {1, 1, 1, 1}, 1, 0, {2, 2})));
        expectOnGpu(b.graph);
    }
}

TEST(VulkanOps, GlobalAveragePoolMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    b.output(b.op(OpKind::GlobalAveragePool, {b.input({2, 3, 7, 5})}));
    b.output(b.op(OpKind::GlobalAveragePool, {b.input({1, 4, 9})}));
    b.output(b.op(OpKind::GlobalAveragePool, {b.input({1, 2, 37, 41})}));  // > one 256 block
    expectOnGpu(b.graph);
}

// ---- Resize ----

// A Resize of `x` to `sizes`, with scales = size / in (the importer's form for sizes) unless
// `scales` is given.
ValueId resize(GraphBuilder& b, ValueId x, const std::string& mode, const std::string& coord,
               std::vector<int64_t> sizes, std::vector<float> scales = {},
               const std::string& nearest = "round_prefer_floor", float cubicA = -0.75f,
               int64_t excludeOutside = 0) {
    const Shape& in = b.graph.value(x).shape;
    if (scales.empty()) {
        for (size_t d = 0; d < in.size(); ++d) {
            scales.push_back(static_cast<float>(sizes[d]) / static_cast<float>(in[d]));
        }
    }
    Attributes a;
    a.set("mode", mode);
    a.set("coordinate_transformation_mode", coord);
    a.set("nearest_mode", nearest);
    a.set("cubic_coeff_a", cubicA);
    a.set("exclude_outside", excludeOutside);
    a.set("scales", std::move(scales));
    a.set("sizes", std::move(sizes));
    return b.op(OpKind::Resize, {x}, a);
}

const std::vector<std::string> kCoordModes = {"half_pixel",         "half_pixel_symmetric",
                                              "pytorch_half_pixel", "align_corners",
                                              "asymmetric",         "tf_half_pixel_for_nn"};

// Every nearest_mode under every coordinate transform, up (x2, and 5 -> 7 with scale 7/5),
// down, and to a length of 1.
TEST(VulkanOps, ResizeNearestEveryModeMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 2, 5, 6});
    for (const char* nearest : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
        for (const std::string& coord : kCoordModes) {
            b.output(resize(b, x, "nearest", coord, {1, 2, 10, 12}, {}, nearest));
            b.output(resize(b, x, "nearest", coord, {1, 2, 7, 3}, {}, nearest));
            b.output(resize(b, x, "nearest", coord, {1, 2, 1, 4}, {}, nearest));
        }
    }
    // Scales given (sizes = floor(in * scale), so scale != size / in).
    b.output(resize(b, x, "nearest", "asymmetric", {1, 2, 8, 9}, {1, 1, 1.7f, 1.6f}, "floor"));
    expectOnGpu(b.graph, 0.0f);  // nearest copies: bit for bit
}

TEST(VulkanOps, ResizeLinearAndCubicMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 5, 6});
    for (const std::string& coord : kCoordModes) {
        b.output(resize(b, x, "linear", coord, {1, 3, 10, 12}));
        b.output(resize(b, x, "linear", coord, {1, 3, 7, 4}));
        b.output(resize(b, x, "cubic", coord, {1, 3, 11, 9}));
        b.output(resize(b, x, "linear", coord, {1, 3, 1, 4}));
        b.output(resize(b, x, "cubic", coord, {1, 3, 3, 1}));
    }
    b.output(resize(b, x, "cubic", "half_pixel", {1, 3, 10, 12}, {}, "floor", -0.5f));
    b.output(resize(b, x, "cubic", "half_pixel", {1, 3, 9, 13}, {}, "floor", -0.75f, 1));
    b.output(resize(b, x, "cubic", "align_corners", {1, 3, 3, 4}, {}, "floor", -0.5f, 1));
    // Rank 3, every axis resized (the leading one too); and a resize to the same size (a copy).
    b.output(resize(b, b.input({2, 5, 3}), "linear", "half_pixel", {3, 7, 6}));
    b.output(resize(b, x, "linear", "half_pixel", {1, 3, 5, 6}));
    b.output(resize(b, x, "cubic", "asymmetric", {1, 3, 10, 12}, {1, 1, 2.1f, 2.05f}));
    expectOnGpu(b.graph);
}

// ---- Data movement ----

TEST(VulkanOps, ConcatAlongEveryAxisMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    for (int64_t axis = 0; axis < 4; ++axis) {
        Shape s1 = {2, 3, 4, 5}, s2 = s1, s3 = s1;
        s2[static_cast<size_t>(axis)] = 1;
        s3[static_cast<size_t>(axis)] = 3;
        b.output(b.op(OpKind::Concat, {b.input(s1), b.randomConstant(s2), b.input(s3)},
                      with({}, "axis", axis)));
    }
    const ValueId v = b.input({5});
    b.output(b.op(OpKind::Concat, {v, b.input({2}), v}, with({}, "axis", int64_t{0})));
    b.output(b.op(OpKind::Concat, {b.input({1, 3, 2, 2})}, with({}, "axis", int64_t{1})));
    expectOnGpu(b.graph);
}

TEST(VulkanOps, DepthToSpaceBothModesMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    for (const char* mode : {"DCR", "CRD"}) {
        b.output(b.op(OpKind::DepthToSpace, {b.input({1, 8, 3, 5})},
                      with(with({}, "blocksize", int64_t{2}), "mode", std::string(mode))));
        b.output(b.op(OpKind::DepthToSpace, {b.input({2, 18, 3, 2})},
                      with(with({}, "blocksize", int64_t{3}), "mode", std::string(mode))));
    }
    expectOnGpu(b.graph, 0.0f);
}

TEST(VulkanOps, TransposeMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 4, 5});
    for (const std::vector<int64_t>& perm : std::vector<std::vector<int64_t>>{
             {0, 2, 3, 1}, {3, 1, 0, 2}, {0, 1, 2, 3}, {1, 0, 3, 2}}) {
        b.output(b.op(OpKind::Transpose, {x}, ints("perm", perm)));
    }
    b.output(b.op(OpKind::Transpose, {b.input({7, 3})}, ints("perm", {1, 0})));
    b.output(b.op(OpKind::Transpose, {b.input({1, 3, 1, 5})}, ints("perm", {2, 3, 0, 1})));
    expectOnGpu(b.graph, 0.0f);
}

Attributes sliceAttrs(std::vector<int64_t> starts, std::vector<int64_t> ends,
                      std::vector<int64_t> axes, std::vector<int64_t> steps) {
    Attributes a = ints("starts", std::move(starts));
    a.set("ends", std::move(ends));
    a.set("axes", std::move(axes));
    a.set("steps", std::move(steps));
    return a;
}

// Canonical (resolved) ranges: forward with steps, backward (end -1 = past index 0), one axis
// and several.
TEST(VulkanOps, SliceWithStepsAndReversalMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 5, 3, 7});
    b.output(b.op(OpKind::Slice, {x}, sliceAttrs({1, 0}, {4, 7}, {1, 3}, {1, 2})));
    b.output(b.op(OpKind::Slice, {x}, sliceAttrs({6}, {-1}, {3}, {-1})));
    b.output(b.op(OpKind::Slice, {x}, sliceAttrs({1, 4, 2}, {2, -1, 0}, {0, 1, 2}, {1, -2, -1})));
    b.output(b.op(OpKind::Slice, {b.input({9})}, sliceAttrs({2}, {9}, {0}, {3})));
    expectOnGpu(b.graph, 0.0f);
}

Attributes padAttrs(std::vector<int64_t> pads, const std::string& mode, float value = 0.0f) {
    Attributes a = ints("pads", std::move(pads));
    a.set("mode", mode);
    a.set("value", value);
    return a;
}

// Constant (with a value, and with negative pads that crop), reflect and edge, rank 4 and 2.
TEST(VulkanOps, PadEveryModeMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 5});
    b.output(b.op(OpKind::Pad, {x}, padAttrs({0, 0, 1, 2, 0, 1, 2, 1}, "constant", 0.5f)));
    b.output(b.op(OpKind::Pad, {x}, padAttrs({0, 0, -1, 2, 0, 0, 1, -2}, "constant")));
    b.output(b.op(OpKind::Pad, {x}, padAttrs({0, 0, 3, 2, 0, 0, 2, 4}, "reflect")));
    b.output(b.op(OpKind::Pad, {x}, padAttrs({0, 1, 3, 2, 0, 0, 5, 4}, "edge")));
    b.output(b.op(OpKind::Pad, {b.input({3, 4})}, padAttrs({1, 2, 2, 0}, "reflect")));
    expectOnGpu(b.graph, 0.0f);
}

// The reshapes move no element: a copy, whatever the shape's reading.
TEST(VulkanOps, ReshapesCopyOnTheGpu) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 1, 3, 4});
    b.output(b.op(OpKind::Reshape, {x}, ints("shape", {6, 4})));
    b.output(b.op(OpKind::Flatten, {x}, with({}, "axis", int64_t{2})));
    b.output(b.op(OpKind::Squeeze, {x}, ints("axes", {1})));
    b.output(b.op(OpKind::Unsqueeze, {x}, ints("axes", {0, 3})));
    expectOnGpu(b.graph, 0.0f);
}

// ConstantOfShape has no input: its shader only writes the value.
TEST(VulkanOps, ConstantOfShapeFillsOnTheGpu) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    Attributes a = ints("shape", {2, 3, 5});
    a.set("value", Tensor::fromVector<float>({1}, {-2.5f}));
    b.output(b.op(OpKind::Add, {b.input({2, 3, 5}), b.op(OpKind::ConstantOfShape, {}, a)}));
    expectOnGpu(b.graph, 0.0f);
}

// ---- BatchNormalization and ReduceMean ----

TEST(VulkanOps, BatchNormalizationMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId var3 = b.constant(Tensor::fromVector<float>({3}, {0.5f, 1.0f, 2.0f}));
    b.output(b.op(OpKind::BatchNormalization,
                  {b.input({2, 3, 5, 7}), b.randomConstant({3}), b.randomConstant({3}),
                   b.randomConstant({3}), var3},
                  with({}, "epsilon", 1e-3f)));
    const ValueId var4 = b.constant(Tensor::fromVector<float>({4}, {0.1f, 0.2f, 3.0f, 1e-4f}));
    b.output(
        b.op(OpKind::BatchNormalization, {b.input({3, 4}), b.randomConstant({4}),
                                          b.randomConstant({4}), b.randomConstant({4}), var4}));
    expectOnGpu(b.graph);
}

TEST(VulkanOps, ReduceMeanMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 5, 7});
    b.output(b.op(OpKind::ReduceMean, {x}, with(ints("axes", {2, 3}), "keepdims", int64_t{1})));
    b.output(b.op(OpKind::ReduceMean, {x}, with(ints("axes", {1}), "keepdims", int64_t{0})));
    b.output(b.op(OpKind::ReduceMean, {x}, with(ints("axes", {0, 2}), "keepdims", int64_t{1})));
    b.output(b.op(OpKind::ReduceMean, {x}, with({}, "keepdims", int64_t{0})));  // every axis
    b.output(b.op(OpKind::ReduceMean, {b.input({3, 600})},
                  with(ints("axes", {1}), "keepdims", int64_t{1})));  // > one 256 block
    expectOnGpu(b.graph);
}

// ---- What stays on the CPU, and why ----

TEST(VulkanOps, WhatHasNoShaderFallsBackWithItsReason) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 5, 3, 4});
    Attributes split = ints("split", {2, 3});
    split.set("axis", int64_t{1});
    for (ValueId v : b.ops(OpKind::Split, {x}, split, 2)) b.output(v);
    std::vector<ValueId> many(16, b.input({1, 2}));
    b.output(b.op(OpKind::Concat, many, with({}, "axis", int64_t{0})));
    auto exec = expectMatchesReference(b.graph, 1, 7, 1e-4f, gpu());
    ASSERT_TRUE(exec);
    const std::vector<KernelChoice> report = exec->kernelReport();
    ASSERT_EQ(report.size(), 2u);
    EXPECT_EQ(report[0].kernel, "cpu reference (fallback)");
    EXPECT_NE(report[0].reason.find("Split writes 2 outputs"), std::string::npos)
        << report[0].reason;
    EXPECT_EQ(report[1].kernel, "cpu reference (fallback)");
    EXPECT_NE(report[1].reason.find("Concat of 16 inputs"), std::string::npos) << report[1].reason;
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// The generated text carries the sizes as constants a student can read.
TEST(VulkanOps, ShadersSpellTheirSizesOut) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    b.output(b.op(OpKind::MaxPool, {b.input({1, 3, 9, 11})}, pool({3, 3}, {2, 2}, {1, 1, 1, 1})));
    auto sources = vulkan::shaderSources(b.graph);
    ASSERT_TRUE(sources.ok()) << sources.error().toString();
    ASSERT_EQ(sources->size(), 1u);
    const std::string& glsl = (*sources)[0].second;
    EXPECT_NE(glsl.find("const uint KH = 3u, KW = 3u;"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("const uint C = 3u, IH = 9u, IW = 11u;"), std::string::npos) << glsl;
}

}  // namespace
}  // namespace prunelab::engine::testing

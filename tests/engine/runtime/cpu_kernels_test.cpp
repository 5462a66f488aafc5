// Differential tests of the CPU runtime's fast kernels: each hand-built graph runs through the
// planned executor (1 and 2 threads) and through runGraphReference. Tolerance is 1e-4 of the
// output's range: oneDNN sums in another order (blocked, FMA), so results differ from the
// reference by a few ulps per accumulated term, far below 1e-4 for the sizes used here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/runtime/reference_runner.h"
#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

class CpuKernels : public ::testing::TestWithParam<int> {
  protected:
    int threads() const { return GetParam(); }
};

// Conv followed by `activation` (or nothing), weights random, with bias.
Graph convGraph(Shape x, int64_t outC, int64_t kh, int64_t kw, Attributes attrs,
                OpKind activation = OpKind::Identity, Attributes actAttrs = {}, bool bias = true) {
    GraphBuilder b;
    const ValueId in = b.input(x);
    const int64_t group = attrs.getInt("group", 1);
    const ValueId w = b.randomConstant({outC, x[1] / group, kh, kw});
    std::vector<ValueId> ins = {in, w};
    if (bias) ins.push_back(b.randomConstant({outC}));
    ValueId y = b.op(OpKind::Conv, ins, attrs);
    if (activation != OpKind::Identity) y = b.op(activation, {y}, actAttrs);
    b.output(y);
    return b.graph;
}

TEST_P(CpuKernels, Conv1x1) {
    Graph g = convGraph({1, 8, 7, 9}, 16, 1, 1, convAttrs({1, 1}, {0, 0, 0, 0}));
    auto exec = expectMatchesReference(g, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(reportFor(*exec, g, "Conv_2").kernel.find("dnnl conv 1x1"), std::string::npos)
        << reportFor(*exec, g, "Conv_2").kernel;
}

// Channels-last in, plain graph output out (oneDNN picks another implementation for that).
TEST_P(CpuKernels, ConvChannelsLastToPlainOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 16, 20, 20});
    const ValueId dw =
        b.op(OpKind::Conv, {x, b.randomConstant({16, 1, 3, 3}), b.randomConstant({16})},
             convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 16));
    const ValueId h = b.op(OpKind::HardSwish, {dw});
    b.output(b.op(OpKind::Conv, {h, b.randomConstant({32, 16, 1, 1}), b.randomConstant({32})},
                  convAttrs({1, 1}, {0, 0, 0, 0})));
    expectMatchesReference(b.graph, threads());
}

// Depthwise conv with a chain of post-ops writing channels-last for the next conv: the case
// that needs oneDNN's post-op chain kept short (see fusion in cpu_plan.cpp).
TEST_P(CpuKernels, DepthwiseWithPostOpChainFeedingConv) {
    for (int linearOps = 0; linearOps <= 2; ++linearOps) {
        SCOPED_TRACE(std::to_string(linearOps) + " linear post-ops");
        GraphBuilder b;
        const ValueId x = b.input({1, 16, 20, 20});
        ValueId v = b.op(OpKind::Conv, {x, b.randomConstant({16, 1, 3, 3}), b.randomConstant({16})},
                         convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 16));
        v = b.op(OpKind::HardSwish, {v});
        for (int i = 0; i < linearOps; ++i) {
            v = b.op(OpKind::Mul, {v, b.constant(Tensor::scalar(0.5f + static_cast<float>(i)))});
        }
        b.output(b.op(OpKind::Conv, {v, b.randomConstant({32, 16, 1, 1}), b.randomConstant({32})},
                      convAttrs({1, 1}, {0, 0, 0, 0})));
        expectMatchesReference(b.graph, threads());
    }
    // Three eltwise post-ops (relu + hardsigmoid's two): the chain stops at two.
    GraphBuilder b;
    const ValueId x = b.input({1, 16, 20, 20});
    ValueId v = b.op(OpKind::Conv, {x, b.randomConstant({16, 1, 3, 3})},
                     convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 16));
    v = b.op(OpKind::HardSigmoid, {b.op(OpKind::Relu, {v})});
    b.output(
        b.op(OpKind::Conv, {v, b.randomConstant({8, 16, 1, 1})}, convAttrs({1, 1}, {0, 0, 0, 0})));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_EQ(reportFor(*exec, b.graph, "HardSigmoid_3").kernel.rfind("hardsigmoid loop", 0), 0u);
}

// Convs big enough to be cut into bands of output rows at 2 threads: the bands' own padding
// (first and last), strides, dilation and a residual seeded per band.
TEST_P(CpuKernels, ConvRowBands) {
    GraphBuilder b;
    const ValueId x = b.input({1, 16, 41, 33});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({16, 16, 5, 5}), b.randomConstant({16})},
             convAttrs({2, 2}, {1, 2, 2, 1}));
    const ValueId c2 = b.op(OpKind::Conv, {c1, b.randomConstant({16, 16, 3, 3})},
                            convAttrs({1, 1}, {2, 2, 2, 2}, {2, 2}));
    const ValueId c3 =
        b.op(OpKind::Conv, {c2, b.randomConstant({16, 16, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Relu, {b.op(OpKind::Add, {c3, c1})}));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    const std::string name = reportFor(*exec, b.graph, "Conv_2").kernel;
    EXPECT_EQ(name.find("row bands") != std::string::npos, threads() > 1) << name;
}

TEST_P(CpuKernels, Conv3x3Padded) {
    expectMatchesReference(convGraph({1, 5, 11, 13}, 7, 3, 3, convAttrs({1, 1}, {1, 1, 1, 1})),
                           threads());
}

TEST_P(CpuKernels, ConvBatchTwo) {
    expectMatchesReference(convGraph({2, 4, 6, 5}, 6, 3, 3, convAttrs({1, 1}, {1, 1, 1, 1})),
                           threads());
}

TEST_P(CpuKernels, DepthwiseStridedAsymmetricPads) {
    Graph g = convGraph({1, 12, 15, 17}, 12, 3, 3, convAttrs({2, 2}, {0, 0, 1, 1}, {1, 1}, 12),
                        OpKind::Identity, {}, false);
    auto exec = expectMatchesReference(g, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(reportFor(*exec, g, "Conv_1").kernel.find(" dw"), std::string::npos);
}

TEST_P(CpuKernels, Strided5x5OddSizes) {
    expectMatchesReference(convGraph({1, 3, 17, 19}, 24, 5, 5, convAttrs({2, 2}, {1, 1, 2, 2})),
                           threads());
}

TEST_P(CpuKernels, GroupedConv) {
    expectMatchesReference(
        convGraph({1, 8, 9, 9}, 6, 3, 3, convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 2)), threads());
}

TEST_P(CpuKernels, DilatedConv) {
    expectMatchesReference(
        convGraph({1, 6, 13, 12}, 5, 3, 3, convAttrs({1, 1}, {2, 2, 2, 2}, {2, 2})), threads());
}

TEST_P(CpuKernels, FusedActivations) {
    Attributes clip;
    clip.set("min", 0.0f);
    clip.set("max", 0.5f);
    Attributes leaky;
    leaky.set("alpha", 0.1f);
    Attributes hardSigmoid;
    hardSigmoid.set("alpha", 0.3f);
    hardSigmoid.set("beta", 0.4f);
    const std::vector<std::pair<OpKind, Attributes>> acts = {{OpKind::Relu, {}},
                                                             {OpKind::Clip, clip},
                                                             {OpKind::LeakyRelu, leaky},
                                                             {OpKind::Sigmoid, {}},
                                                             {OpKind::HardSigmoid, hardSigmoid},
                                                             {OpKind::HardSwish, {}},
                                                             {OpKind::Tanh, {}}};
    for (const auto& [op, attrs] : acts) {
        SCOPED_TRACE(std::string(opName(op)));
        // Scale the input so activations see values well outside their linear ranges.
        Graph g = convGraph({1, 6, 8, 7}, 10, 3, 3, convAttrs({1, 1}, {1, 1, 1, 1}), op, attrs);
        auto exec = expectMatchesReference(g, threads());
        ASSERT_TRUE(exec);
        const std::string fused = reportFor(*exec, g, std::string(opName(op)) + "_3").kernel;
        EXPECT_EQ(fused.rfind("fused into", 0), 0u) << fused;
    }
}

// BlazeFace's block: x -> depthwise 3x3 -> 1x1 conv + bias -> Add(x) -> Relu.
TEST_P(CpuKernels, ResidualAddFused) {
    GraphBuilder b;
    const ValueId x = b.input({1, 16, 10, 11});
    const ValueId dw = b.op(OpKind::Conv, {x, b.randomConstant({16, 1, 3, 3})},
                            convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 16));
    const ValueId pw =
        b.op(OpKind::Conv, {dw, b.randomConstant({16, 16, 1, 1}), b.randomConstant({16})},
             convAttrs({1, 1}, {0, 0, 0, 0}));
    const ValueId sum = b.op(OpKind::Add, {x, pw});
    const ValueId y = b.op(OpKind::Relu, {sum});
    // A second block reading the first's output, residual on the other side of the Add.
    const ValueId dw2 = b.op(OpKind::Conv, {y, b.randomConstant({16, 1, 3, 3})},
                             convAttrs({1, 1}, {1, 1, 1, 1}, {1, 1}, 16));
    const ValueId pw2 = b.op(OpKind::Conv, {dw2, b.randomConstant({16, 16, 1, 1})},
                             convAttrs({1, 1}, {0, 0, 0, 0}));
    b.output(b.op(OpKind::Relu, {b.op(OpKind::Add, {pw2, y})}));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(reportFor(*exec, b.graph, "Conv_4").kernel.find("+residual+relu"), std::string::npos)
        << reportFor(*exec, b.graph, "Conv_4").kernel;
    EXPECT_EQ(reportFor(*exec, b.graph, "Add_5").kernel.rfind("fused into", 0), 0u);
}

// A conv whose input is also the residual: in-place would overwrite what the conv reads.
TEST_P(CpuKernels, ResidualIsConvInput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 6, 6});
    const ValueId r = b.op(OpKind::Relu, {x});
    const ValueId c =
        b.op(OpKind::Conv, {r, b.randomConstant({8, 8, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Add, {c, r}));
    expectMatchesReference(b.graph, threads());
}

// PP-OCR's pattern: conv -> Mul/Add by learned scalars (folded) -> x*clip(x+3,0,6)/6 ->
// Mul/Add by scalars (linear post-op); plus BatchNormalization folded.
TEST_P(CpuKernels, FoldedAffinesAndDecomposedHardSwish) {
    GraphBuilder b;
    const ValueId x = b.input({1, 6, 9, 8});
    ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({12, 6, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    c = b.op(OpKind::BatchNormalization,
             {c, b.randomConstant({12}), b.randomConstant({12}), b.randomConstant({12}),
              b.constant(Tensor::fromVector<float>({12}, std::vector<float>(12, 0.7f)))});
    c = b.op(OpKind::Mul, {b.constant(Tensor::fromVector<float>({1}, {1.5f})), c});
    c = b.op(OpKind::Add, {c, b.randomConstant({12, 1, 1})});
    const ValueId plus3 = b.op(OpKind::Add, {c, b.constant(Tensor::scalar(3.0f))});
    Attributes clip;
    clip.set("min", 0.0f);
    clip.set("max", 6.0f);
    const ValueId clipped = b.op(OpKind::Clip, {plus3}, clip);
    const ValueId prod = b.op(OpKind::Mul, {c, clipped});
    ValueId hs = b.op(OpKind::Div, {prod, b.constant(Tensor::scalar(6.0f))});
    hs = b.op(OpKind::Mul, {hs, b.constant(Tensor::scalar(0.8f))});
    hs = b.op(OpKind::Add, {hs, b.constant(Tensor::scalar(0.1f))});
    b.output(hs);
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(reportFor(*exec, b.graph, "Conv_1").kernel.find("+hardswish+linear "),
              std::string::npos)
        << reportFor(*exec, b.graph, "Conv_1").kernel;
}

TEST_P(CpuKernels, ConvOutputReadTwiceIsNotFused) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 7, 7});
    const ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 4, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Relu, {c}));
    b.output(b.op(OpKind::Sigmoid, {c}));
    b.output(c);
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_EQ(reportFor(*exec, b.graph, "Relu_2").kernel.rfind("relu loop", 0), 0u);
}

// PP-OCR's head: ConvTranspose 2x2 s2 -> Add(bias) -> BatchNormalization -> Relu.
TEST_P(CpuKernels, ConvTransposeWithFoldsAndRelu) {
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 5, 6});
    ValueId y = b.op(OpKind::ConvTranspose, {x, b.randomConstant({8, 4, 2, 2})},
                     convAttrs({2, 2}, {0, 0, 0, 0}));
    y = b.op(OpKind::Add, {y, b.randomConstant({4, 1, 1})});
    y = b.op(OpKind::BatchNormalization,
             {y, b.randomConstant({4}), b.randomConstant({4}), b.randomConstant({4}),
              b.constant(Tensor::fromVector<float>({4}, {0.5f, 1.0f, 1.5f, 2.0f}))});
    b.output(b.op(OpKind::Relu, {y}));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(
        reportFor(*exec, b.graph, "ConvTranspose_1").kernel.find("dnnl deconv 2x2 s2 as matmul"),
        std::string::npos)
        << reportFor(*exec, b.graph, "ConvTranspose_1").kernel;
}

// PP-OCR's last layer: ConvTranspose to one channel + bias + Sigmoid, written as the output.
TEST_P(CpuKernels, ConvTransposeToOneChannelOutput) {
    GraphBuilder b;
    const ValueId x = b.input({2, 6, 5, 7});
    const ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 6, 1, 1})}, convAttrs({1, 1}, {0, 0, 0, 0}));
    ValueId y = b.op(OpKind::ConvTranspose, {c, b.randomConstant({8, 1, 2, 2})},
                     convAttrs({2, 2}, {0, 0, 0, 0}));
    y = b.op(OpKind::Add, {y, b.randomConstant({1, 1, 1})});
    b.output(b.op(OpKind::Sigmoid, {y}));
    expectMatchesReference(b.graph, threads());
}

TEST_P(CpuKernels, ConvTransposePaddedGroupedOutputPadding) {
    GraphBuilder b;
    const ValueId x = b.input({1, 6, 7, 5});
    Attributes a = convAttrs({2, 2}, {1, 1, 1, 1}, {1, 1}, 2);
    a.set("output_padding", std::vector<int64_t>{1, 1});
    b.output(
        b.op(OpKind::ConvTranspose, {x, b.randomConstant({6, 2, 3, 3}), b.randomConstant({4})}, a));
    expectMatchesReference(b.graph, threads());
}

TEST_P(CpuKernels, GemmTransBWithBiasAlphaBeta) {
    GraphBuilder b;
    const ValueId a = b.input({5, 12});
    Attributes at;
    at.set("transB", int64_t{1});
    at.set("alpha", 0.5f);
    at.set("beta", 2.0f);
    b.output(b.op(OpKind::Relu,
                  {b.op(OpKind::Gemm, {a, b.randomConstant({7, 12}), b.randomConstant({7})}, at)}));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_NE(reportFor(*exec, b.graph, "Gemm_2").kernel.find("dnnl matmul"), std::string::npos);
}

TEST_P(CpuKernels, GemmTransAFullBias) {
    GraphBuilder b;
    const ValueId a = b.input({9, 4});
    Attributes at;
    at.set("transA", int64_t{1});
    b.output(b.op(OpKind::Gemm, {a, b.randomConstant({9, 6}), b.randomConstant({4, 6})}, at));
    expectMatchesReference(b.graph, threads());
}

TEST_P(CpuKernels, MatMulBatchedAWithBiasAdd) {
    GraphBuilder b;
    const ValueId a = b.input({2, 3, 10});
    const ValueId y = b.op(OpKind::MatMul, {a, b.randomConstant({10, 5})});
    b.output(b.op(OpKind::Add, {y, b.randomConstant({5})}));
    expectMatchesReference(b.graph, threads());
}

Attributes poolAttrs(std::vector<int64_t> kernel, std::vector<int64_t> strides,
                     std::vector<int64_t> pads, int64_t ceil = 0, int64_t includePad = 0) {
    Attributes a;
    a.set("kernel_shape", std::move(kernel));
    a.set("strides", std::move(strides));
    a.set("pads", std::move(pads));
    a.set("ceil_mode", ceil);
    a.set("count_include_pad", includePad);
    return a;
}

TEST_P(CpuKernels, Pools) {
    struct Case {
        OpKind op;
        Attributes attrs;
    };
    const std::vector<Case> cases = {
        {OpKind::MaxPool, poolAttrs({2, 2}, {2, 2}, {0, 0, 0, 0})},
        {OpKind::MaxPool, poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}, 1)},
        {OpKind::AveragePool, poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 1)},
        {OpKind::AveragePool, poolAttrs({3, 3}, {2, 2}, {1, 0, 1, 0}, 1, 0)},
        {OpKind::AveragePool, poolAttrs({2, 3}, {1, 2}, {0, 0, 0, 0})},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE("case " + std::to_string(i));
        // After a conv so the pool sees channels-last data, and directly on a plain input.
        GraphBuilder b;
        const ValueId x = b.input({1, 5, 11, 10});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({7, 5, 1, 1})},
                               convAttrs({1, 1}, {0, 0, 0, 0}));
        b.output(b.op(cases[i].op, {c}, cases[i].attrs));
        b.output(b.op(cases[i].op, {x}, cases[i].attrs));
        expectMatchesReference(b.graph, threads());
    }
}

TEST_P(CpuKernels, GlobalAveragePoolBothLayouts) {
    GraphBuilder b;
    const ValueId x = b.input({2, 70, 5, 6});
    const ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({70, 70, 1, 1})}, convAttrs({1, 1}, {0, 0, 0, 0}));
    b.output(b.op(OpKind::GlobalAveragePool, {c}));
    b.output(b.op(OpKind::GlobalAveragePool, {x}));
    expectMatchesReference(b.graph, threads());
}

// Squeeze-and-excite as PP-OCR writes it: x * hardsigmoid(conv(relu(conv(gap(x))))) + x.
TEST_P(CpuKernels, SqueezeExciteBroadcastMul) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 12, 10});
    const ValueId f =
        b.op(OpKind::Conv, {x, b.randomConstant({16, 3, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId gap = b.op(OpKind::GlobalAveragePool, {f});
    const ValueId s1 =
        b.op(OpKind::Relu,
             {b.op(OpKind::Conv, {gap, b.randomConstant({4, 16, 1, 1}), b.randomConstant({4})},
                   convAttrs({1, 1}, {0, 0, 0, 0}))});
    const ValueId s2 =
        b.op(OpKind::HardSigmoid,
             {b.op(OpKind::Conv, {s1, b.randomConstant({16, 4, 1, 1}), b.randomConstant({16})},
                   convAttrs({1, 1}, {0, 0, 0, 0}))});
    const ValueId scaled = b.op(OpKind::Mul, {f, s2});
    b.output(b.op(OpKind::Add, {f, scaled}));
    expectMatchesReference(b.graph, threads());
}

TEST_P(CpuKernels, BinaryBroadcasting) {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {5}},          {{2, 3, 4, 5}, {3, 1, 1}},
        {{2, 3, 4, 5}, {1}},          {{1, 4, 1, 5}, {3, 1, 6, 1}}, {{3, 1}, {1, 4}},
        {{1, 3, 1, 1}, {2, 3, 4, 5}}};
    for (OpKind op :
         {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Min, OpKind::Max}) {
        for (const auto& [sa, sb] : shapes) {
            SCOPED_TRACE(std::string(opName(op)) + " " + shapeToString(sa) + " " +
                         shapeToString(sb));
            GraphBuilder b;
            const ValueId x = b.input(sa);
            const ValueId y = b.input(sb);
            // Keep divisors away from zero.
            const ValueId yy = op == OpKind::Div
                                   ? b.op(OpKind::Add, {b.op(OpKind::Sigmoid, {y}),
                                                        b.constant(Tensor::scalar(0.5f))})
                                   : y;
            b.output(b.op(op, {x, yy}));
            b.output(b.op(op, {yy, x}));
            expectMatchesReference(b.graph, threads());
        }
    }
}

// Element-wise between a channels-last conv output and plain data of the same shape.
TEST_P(CpuKernels, BinaryMixedLayouts) {
    GraphBuilder b;
    const ValueId x = b.input({1, 6, 7, 9});
    const ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({6, 6, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId m = b.op(OpKind::Mul, {x, c});
    const ValueId d = b.op(OpKind::Sub, {b.op(OpKind::Relu, {m}), b.randomConstant({6, 1, 1})});
    b.output(b.op(OpKind::Add, {d, c}));
    expectMatchesReference(b.graph, threads());
}

TEST_P(CpuKernels, UnaryActivationsOnPlainData) {
    Attributes clip;
    clip.set("min", -0.3f);
    Attributes leaky;
    leaky.set("alpha", 0.2f);
    for (OpKind op :
         {OpKind::Relu, OpKind::LeakyRelu, OpKind::Clip, OpKind::HardSigmoid, OpKind::HardSwish,
          OpKind::Sigmoid, OpKind::Tanh, OpKind::Exp, OpKind::Neg, OpKind::Abs}) {
        SCOPED_TRACE(std::string(opName(op)));
        GraphBuilder b;
        const ValueId x = b.input({3, 1000, 7});
        const ValueId scaled = b.op(OpKind::Mul, {x, b.constant(Tensor::scalar(4.0f))});
        b.output(b.op(op, {scaled},
                      op == OpKind::Clip        ? clip
                      : op == OpKind::LeakyRelu ? leaky
                                                : Attributes{}));
        expectMatchesReference(b.graph, threads());
    }
    GraphBuilder b;
    const ValueId x = b.input({5, 33});
    b.output(b.op(OpKind::Sqrt, {b.op(OpKind::Exp, {x})}));
    expectMatchesReference(b.graph, threads());
}

// The Min/Max loops let a NaN on either side win, as the reference does, on the fast path.
TEST_P(CpuKernels, MinMaxLoopsPropagateNaN) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (OpKind op : {OpKind::Min, OpKind::Max}) {
        SCOPED_TRACE(std::string(opName(op)));
        GraphBuilder b;
        const ValueId x = b.input({2, 3, 40});
        const ValueId row = b.input({3, 1});
        b.output(b.op(op, {x, row}));
        b.output(b.op(op, {row, x}));
        auto exec = expectMatchesReference(b.graph, threads());
        ASSERT_TRUE(exec);
        EXPECT_NE(exec->kernelReport()[0].kernel.find(std::string(opName(op)) + " loop"),
                  std::string::npos)
            << exec->kernelReport()[0].kernel;
        // NaN in row 0 of the broadcast operand and at one element of x in row 1.
        std::vector<Tensor> in = randomInputs(b.graph, 3);
        in[1].data<float>()[0] = nan;
        in[0].data<float>()[41] = nan;
        auto out = exec->run(in);
        ASSERT_TRUE(out.ok()) << out.error().toString();
        auto want = runGraphReference(b.graph, in);
        ASSERT_TRUE(want.ok()) << want.error().toString();
        for (size_t k = 0; k < out->size(); ++k) {
            const float* got = (*out)[k].data<float>();
            const float* ref = (*want)[k].data<float>();
            for (int64_t i = 0; i < (*out)[k].elements(); ++i) {
                const bool wantNaN = (i / 40) % 3 == 0 || i == 41;
                ASSERT_EQ(std::isnan(ref[i]), wantNaN) << "reference, element " << i;
                ASSERT_EQ(std::isnan(got[i]), wantNaN) << "output " << k << ", element " << i;
                if (!wantNaN) {
                    ASSERT_EQ(got[i], ref[i]) << "output " << k << ", element " << i;
                }
            }
        }
    }
}

TEST_P(CpuKernels, ConcatChannelsLastAndPlain) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 5});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({3, 4, 1, 1})}, convAttrs({1, 1}, {0, 0, 0, 0}));
    const ValueId c2 =
        b.op(OpKind::Conv, {x, b.randomConstant({5, 4, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    Attributes axis1;
    axis1.set("axis", int64_t{1});
    const ValueId cat = b.op(OpKind::Concat, {c1, c2, b.randomConstant({1, 2, 6, 5})}, axis1);
    b.output(b.op(OpKind::Conv, {cat, b.randomConstant({4, 10, 3, 3})},
                  convAttrs({1, 1}, {1, 1, 1, 1})));
    Attributes axis2;
    axis2.set("axis", int64_t{2});
    b.output(b.op(OpKind::Concat, {x, x}, axis2));
    expectMatchesReference(b.graph, threads());
}

// BlazeFace's ends: NHWC input transposed to NCHW before the first conv, and the head conv
// transposed back to NHWC and reshaped: both transposes become free layout changes.
TEST_P(CpuKernels, TransposesAroundConvs) {
    GraphBuilder b;
    const ValueId x = b.input({1, 9, 8, 3});
    Attributes toNchw;
    toNchw.set("perm", std::vector<int64_t>{0, 3, 1, 2});
    const ValueId t = b.op(OpKind::Transpose, {x}, toNchw);
    const ValueId c = b.op(OpKind::Conv, {t, b.randomConstant({6, 3, 3, 3}), b.randomConstant({6})},
                           convAttrs({1, 1}, {1, 1, 1, 1}));
    Attributes toNhwc;
    toNhwc.set("perm", std::vector<int64_t>{0, 2, 3, 1});
    const ValueId back = b.op(OpKind::Transpose, {c}, toNhwc);
    Attributes shape;
    shape.set("shape", std::vector<int64_t>{1, 9 * 8 * 3, 2});
    b.output(b.op(OpKind::Reshape, {back}, shape));
    Attributes generic;
    generic.set("perm", std::vector<int64_t>{2, 0, 3, 1});
    b.output(b.op(OpKind::Transpose, {c}, generic));
    auto exec = expectMatchesReference(b.graph, threads());
    ASSERT_TRUE(exec);
    EXPECT_EQ(reportFor(*exec, b.graph, "Transpose_0").kernel, "alias");
    EXPECT_EQ(reportFor(*exec, b.graph, "Transpose_4").kernel, "alias");
}

TEST_P(CpuKernels, Softmax) {
    GraphBuilder b;
    const ValueId x = b.input({2, 5, 3, 4});
    Attributes last;
    last.set("axis", int64_t{3});
    b.output(b.op(OpKind::Softmax, {x}, last));
    Attributes one;
    one.set("axis", int64_t{1});
    b.output(b.op(OpKind::Softmax, {x}, one));
    Attributes legacy;
    legacy.set("axis", int64_t{1});
    legacy.set("legacy", int64_t{1});
    b.output(b.op(OpKind::Softmax, {x}, legacy));
    expectMatchesReference(b.graph, threads());
}

// Canonical Resize carries both sizes and scales (one per dim); the other is derived here.
Attributes resizeAttrs(const std::string& mode, const std::string& coord, const Shape& in,
                       std::vector<float> scales, std::vector<int64_t> sizes = {}) {
    if (sizes.empty()) {
        for (size_t d = 0; d < in.size(); ++d) {
            sizes.push_back(static_cast<int64_t>(static_cast<float>(in[d]) * scales[d]));
        }
    }
    if (scales.empty()) {
        for (size_t d = 0; d < in.size(); ++d) {
            scales.push_back(static_cast<float>(sizes[d]) / static_cast<float>(in[d]));
        }
    }
    Attributes a;
    a.set("mode", mode);
    a.set("coordinate_transformation_mode", coord);
    a.set("nearest_mode",
          std::string(mode == "nearest" && coord == "asymmetric" ? "floor" : "round_prefer_floor"));
    a.set("scales", std::move(scales));
    a.set("sizes", std::move(sizes));
    return a;
}

TEST_P(CpuKernels, Resize) {
    const Shape in = {1, 6, 7, 9};
    const std::vector<Attributes> cases = {
        resizeAttrs("nearest", "asymmetric", in, {1, 1, 2, 2}),
        resizeAttrs("nearest", "half_pixel", in, {}, {1, 6, 13, 7}),
        resizeAttrs("nearest", "tf_half_pixel_for_nn", in, {}, {1, 6, 5, 20}),
        resizeAttrs("linear", "half_pixel", in, {1, 1, 2, 2}),
        resizeAttrs("linear", "align_corners", in, {}, {1, 6, 11, 17}),
        resizeAttrs("linear", "pytorch_half_pixel", in, {}, {1, 6, 4, 5}),
        resizeAttrs("linear", "asymmetric", in, {1, 1, 1.5f, 3}),
        resizeAttrs("linear", "half_pixel_symmetric", in, {1, 1, 1.5f, 0.5f}),
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE("case " + std::to_string(i));
        GraphBuilder b;
        const ValueId x = b.input({1, 6, 7, 9});
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({6, 6, 1, 1})},
                               convAttrs({1, 1}, {0, 0, 0, 0}));
        const ValueId r = b.op(OpKind::Resize, {c}, cases[i]);
        b.output(b.op(OpKind::Relu, {r}));
        b.output(b.op(OpKind::Resize, {x}, cases[i]));
        expectMatchesReference(b.graph, threads());
    }
}

INSTANTIATE_TEST_SUITE_P(Threads, CpuKernels, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) {
                             return std::to_string(p.param) + "threads";
                         });

}  // namespace
}  // namespace prunelab::engine::testing

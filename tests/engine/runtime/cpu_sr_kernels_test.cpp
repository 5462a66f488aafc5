// Differential tests of the CPU runtime on super-resolution patterns (SRVGGNetCompact /
// Real-ESRGAN): PReLU fused into convs (the kernel's per-band epilogue) or run as a
// layout-following loop, DepthToSpace and cubic Resize on either layout; vs the reference.
#include <gtest/gtest.h>

#include "../ops/ops_test_util.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

// Tighter than the other kernel tests: these graphs are shallow (few accumulated terms).
constexpr float kTol = 1e-5f;

class CpuSrKernels : public ::testing::TestWithParam<int> {
  protected:
    int threads() const { return GetParam(); }
};

std::string nodeOf(const Graph& g, ValueId out) {
    for (const Node& n : g.nodes) {
        if (!n.outputs.empty() && n.outputs[0] == out) return n.name;
    }
    return {};
}

std::string kernelOf(const Executor& exec, const Graph& g, ValueId out) {
    return reportFor(exec, g, nodeOf(g, out)).kernel;
}

int reorderCount(const Executor& exec) {
    int count = 0;
    for (const auto& r : exec.kernelReport()) count += r.kernel.rfind("reorder", 0) == 0 ? 1 : 0;
    return count;
}

ValueId conv3x3(GraphBuilder& b, ValueId x, int64_t inC, int64_t outC) {
    return b.op(OpKind::Conv, {x, b.randomConstant({outC, inC, 3, 3}), b.randomConstant({outC})},
                convAttrs({1, 1}, {1, 1, 1, 1}));
}

// Conv + PRelu for every slope shape that means "per channel" or "scalar".
TEST_P(CpuSrKernels, ConvPReluSlopeShapes) {
    const int64_t c = 7;
    const std::vector<Shape> slopes = {{c, 1, 1}, {1, c, 1, 1}, {1}, {1, 1, 1}, {1, 1, 1, 1}};
    for (const Shape& s : slopes) {
        SCOPED_TRACE("slope " + shapeToString(s));
        GraphBuilder b;
        const ValueId x = b.input({1, 5, 9, 11});
        const ValueId conv = conv3x3(b, x, 5, c);
        const ValueId y = b.op(OpKind::PRelu, {conv, b.randomConstant(s)});
        // A second conv after it: the PRelu's output stays channels-last in the arena.
        b.output(conv3x3(b, y, c, 3));
        auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, y).rfind("fused into", 0), 0u)
            << kernelOf(*exec, b.graph, y);
        EXPECT_NE(kernelOf(*exec, b.graph, conv).find("+prelu"), std::string::npos)
            << kernelOf(*exec, b.graph, conv);
        EXPECT_EQ(reorderCount(*exec), 1);  // the plain graph input only
    }
}

// A conv + PRelu as the graph output (written plain) and after a residual Add.
TEST_P(CpuSrKernels, ConvPReluToPlainOutputAndAfterResidual) {
    GraphBuilder b;
    const ValueId x = b.input({1, 6, 13, 10});
    const ValueId c1 = conv3x3(b, x, 6, 6);
    const ValueId sum = b.op(OpKind::Add, {c1, x});
    b.output(b.op(OpKind::PRelu, {sum, b.randomConstant({6, 1, 1})}));
    expectMatchesReference(b.graph, threads(), 7, kTol);
}

// A PRelu with more after it: the PRelu ends the fused chain (it must be the last step), the
// Relu and the Add run on their own.
TEST_P(CpuSrKernels, PReluEndsTheChain) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 8, 5});
    const ValueId conv = conv3x3(b, x, 4, 4);
    const ValueId p = b.op(OpKind::PRelu, {conv, b.randomConstant({4, 1, 1})});
    const ValueId r = b.op(OpKind::Relu, {p});
    const ValueId conv2 = conv3x3(b, r, 4, 4);
    const ValueId p2 = b.op(OpKind::PRelu, {conv2, b.randomConstant({1})});
    b.output(b.op(OpKind::Add, {p2, r}));
    auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
    ASSERT_TRUE(exec);
    EXPECT_EQ(kernelOf(*exec, b.graph, p).rfind("fused into", 0), 0u);
    EXPECT_EQ(kernelOf(*exec, b.graph, p2).rfind("fused into", 0), 0u);
    EXPECT_NE(kernelOf(*exec, b.graph, conv2).find("+prelu nhwc"), std::string::npos)
        << kernelOf(*exec, b.graph, conv2);
}

// The SRVGGNetCompact body: conv, n x (conv + PRelu), conv, pixel shuffle, plus an upscale of
// the input. Nothing between the first and last conv may reorder or fall back.
TEST_P(CpuSrKernels, SrVggChain) {
    for (const char* mode : {"DCR", "CRD"}) {
        SCOPED_TRACE(mode);
        GraphBuilder b;
        const Shape in = {1, 3, 11, 13};
        const ValueId x = b.input(in);
        ValueId h = b.op(OpKind::PRelu, {conv3x3(b, x, 3, 16), b.randomConstant({16, 1, 1})});
        std::vector<ValueId> prelus = {h};
        for (int i = 0; i < 4; ++i) {
            h = b.op(OpKind::PRelu, {conv3x3(b, h, 16, 16), b.randomConstant({1, 16, 1, 1})});
            prelus.push_back(h);
        }
        Attributes d2s;
        d2s.set("blocksize", int64_t{2});
        d2s.set("mode", std::string(mode));
        const ValueId up = b.op(OpKind::DepthToSpace, {conv3x3(b, h, 16, 12)}, d2s);
        Attributes rs;
        rs.set("mode", std::string("nearest"));
        rs.set("coordinate_transformation_mode", std::string("asymmetric"));
        rs.set("nearest_mode", std::string("floor"));
        rs.set("scales", std::vector<float>{1, 1, 2, 2});
        rs.set("sizes", std::vector<int64_t>{1, 3, 22, 26});
        b.output(b.op(OpKind::Add, {up, b.op(OpKind::Resize, {x}, rs)}));
        auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
        ASSERT_TRUE(exec);
        for (ValueId p : prelus) {
            EXPECT_EQ(kernelOf(*exec, b.graph, p).rfind("fused into", 0), 0u)
                << kernelOf(*exec, b.graph, p);
        }
        EXPECT_EQ(kernelOf(*exec, b.graph, up),
                  "depth-to-space " + std::string(mode) + " loop nhwc->nchw");
        EXPECT_EQ(reorderCount(*exec), 1);  // the plain graph input only
    }
}

// PRelu that no conv can take: on the plain graph input, after a conv whose output is read
// twice, with a slope along W, and with a slope computed at run time. All run the broadcasting
// loop in their input's layout, none the reference.
TEST_P(CpuSrKernels, PReluNotAfterConv) {
    GraphBuilder b;
    const ValueId x = b.input({1, 6, 7, 9});
    const ValueId onInput = b.op(OpKind::PRelu, {x, b.randomConstant({6, 1, 1})});
    b.output(onInput);
    const ValueId conv = conv3x3(b, x, 6, 6);
    const ValueId shared = b.op(OpKind::PRelu, {conv, b.randomConstant({1, 6, 1, 1})});
    const ValueId alongW = b.op(OpKind::PRelu, {conv, b.randomConstant({9})});
    const ValueId scalar = b.op(OpKind::PRelu, {shared, b.randomConstant({1})});
    b.output(conv3x3(b, b.op(OpKind::Add, {scalar, alongW}), 6, 4));
    const ValueId slope = b.input({6, 1, 1});
    b.output(b.op(OpKind::PRelu, {x, slope}));
    auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
    ASSERT_TRUE(exec);
    EXPECT_EQ(kernelOf(*exec, b.graph, onInput).rfind("PRelu loop", 0), 0u)
        << kernelOf(*exec, b.graph, onInput);
    for (ValueId v : {shared, alongW, scalar}) {
        const std::string k = kernelOf(*exec, b.graph, v);
        EXPECT_EQ(k.rfind("PRelu loop", 0), 0u) << k;
        EXPECT_NE(k.find("nhwc"), std::string::npos) << k;
    }
}

// Gemm + PRelu with a slope per output column: the matmul's prelu post-op.
TEST_P(CpuSrKernels, GemmPRelu) {
    GraphBuilder b;
    const ValueId x = b.input({5, 12});
    const ValueId gemm =
        b.op(OpKind::Gemm, {x, b.randomConstant({12, 9}), b.randomConstant({9})}, {});
    const ValueId y = b.op(OpKind::PRelu, {gemm, b.randomConstant({9})});
    b.output(y);
    auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
    ASSERT_TRUE(exec);
    EXPECT_EQ(kernelOf(*exec, b.graph, y).rfind("fused into", 0), 0u)
        << kernelOf(*exec, b.graph, y);
}

// DepthToSpace in both modes and block sizes, from channels-last (a conv) into a plain output,
// into a conv (channels-last on both sides), and from plain data; odd sizes.
TEST_P(CpuSrKernels, DepthToSpace) {
    for (const char* mode : {"DCR", "CRD"}) {
        for (int64_t block : {2, 3}) {
            SCOPED_TRACE(std::string(mode) + " block " + std::to_string(block));
            Attributes a;
            a.set("blocksize", block);
            a.set("mode", std::string(mode));
            const int64_t c = 2 * block * block;
            GraphBuilder b;
            const ValueId x = b.input({1, 5, 7, 9});
            const ValueId conv = conv3x3(b, x, 5, c);
            const ValueId toOutput = b.op(OpKind::DepthToSpace, {conv}, a);
            b.output(toOutput);
            const ValueId toConv = b.op(OpKind::DepthToSpace, {conv3x3(b, x, 5, c)}, a);
            b.output(conv3x3(b, toConv, 2, 3));
            const ValueId raw = b.input({2, c, 3, 5});
            const ValueId fromPlain = b.op(OpKind::DepthToSpace, {raw}, a);
            b.output(b.op(OpKind::Relu, {fromPlain}));
            auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
            ASSERT_TRUE(exec);
            const std::string m(mode);
            EXPECT_EQ(kernelOf(*exec, b.graph, toOutput),
                      "depth-to-space " + m + " loop nhwc->nchw");
            EXPECT_EQ(kernelOf(*exec, b.graph, toConv), "depth-to-space " + m + " loop nhwc->nhwc");
            EXPECT_EQ(kernelOf(*exec, b.graph, fromPlain),
                      "depth-to-space " + m + " loop nchw->nchw");
        }
    }
}

// Subnormal weights and slopes are set to 0 at plan time (each FMA reading one is slow): the
// result moves by < 1e-38 per product, and the report says how many.
TEST_P(CpuSrKernels, SubnormalWeightsAreFlushed) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 7});
    Tensor w = randomTensor({4, 4, 3, 3}, 5);
    for (int64_t i = 0; i < w.elements(); i += 7) w.data<float>()[i] = i % 2 ? 1e-39f : -2e-40f;
    Tensor slope = randomTensor({4, 1, 1}, 6);
    slope.data<float>()[1] = 1e-40f;
    const ValueId conv = b.op(OpKind::Conv, {x, b.constant(w), b.randomConstant({4})},
                              convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::PRelu, {conv, b.constant(slope)}));
    auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
    ASSERT_TRUE(exec);
    EXPECT_NE(kernelOf(*exec, b.graph, conv).find("[22 subnormal weights set to 0]"),
              std::string::npos)
        << kernelOf(*exec, b.graph, conv);
}

// Cubic Resize (Real-ESRGAN x2 ends with a bicubic 0.5x), on plain data and channels-last
// after a conv: half_pixel down, asymmetric up, align_corners to odd sizes, exclude_outside,
// another A.
TEST_P(CpuSrKernels, ResizeCubic) {
    const Shape in = {1, 5, 9, 11};
    struct Case {
        std::string coord;
        std::vector<int64_t> sizes;
        int64_t excludeOutside;
        float a;
    };
    const std::vector<Case> cases = {{"half_pixel", {1, 5, 4, 5}, 0, -0.75f},
                                     {"asymmetric", {1, 5, 18, 22}, 0, -0.75f},
                                     {"align_corners", {1, 5, 13, 7}, 0, -0.5f},
                                     {"half_pixel", {1, 5, 17, 23}, 1, -0.75f},
                                     {"pytorch_half_pixel", {1, 5, 9, 31}, 0, -0.75f}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.coord + " " + shapeToString(c.sizes));
        Attributes a;
        a.set("mode", std::string("cubic"));
        a.set("coordinate_transformation_mode", c.coord);
        a.set("cubic_coeff_a", c.a);
        a.set("exclude_outside", c.excludeOutside);
        std::vector<float> scales;
        for (size_t d = 0; d < 4; ++d) {
            scales.push_back(static_cast<float>(c.sizes[d]) / static_cast<float>(in[d]));
        }
        a.set("scales", scales);
        a.set("sizes", c.sizes);
        GraphBuilder b;
        const ValueId x = b.input(in);
        const ValueId onPlain = b.op(OpKind::Resize, {x}, a);
        b.output(onPlain);
        const ValueId onNhwc = b.op(OpKind::Resize, {conv3x3(b, x, 5, 5)}, a);
        b.output(b.op(OpKind::Relu, {onNhwc}));
        auto exec = expectMatchesReference(b.graph, threads(), 7, kTol);
        ASSERT_TRUE(exec);
        EXPECT_EQ(kernelOf(*exec, b.graph, onPlain), "resize cubic loop nchw");
        EXPECT_EQ(kernelOf(*exec, b.graph, onNhwc), "resize cubic loop nhwc");
    }
}

INSTANTIATE_TEST_SUITE_P(Threads, CpuSrKernels, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) {
                             return std::to_string(p.param) + "threads";
                         });

}  // namespace
}  // namespace prunelab::engine::testing

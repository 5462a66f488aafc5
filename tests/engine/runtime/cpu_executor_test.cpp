// Tests of the CPU executor's planning: buffer reuse by liveness, input validation, kernel
// reports (fast vs reference, with reasons), options, and the thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/cpu/thread_pool.h"
#include "engine/runtime/reference_runner.h"
#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

using cpu::CpuExecutor;
using cpu::CpuOptions;

// A plain chain: conv, relu, conv, ... : with liveness, two or three buffers serve them all.
Graph chainGraph(int convs, Shape x = {1, 8, 12, 12}) {
    GraphBuilder b;
    ValueId v = b.input(x);
    for (int i = 0; i < convs; ++i) {
        v = b.op(OpKind::Conv, {v, b.randomConstant({8, 8, 3, 3})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        // Sigmoid in its own node after a second reader: stays unfused, runs in place.
        v = b.op(OpKind::Sigmoid, {b.op(OpKind::Add, {v, v})});
    }
    b.output(v);
    return b.graph;
}

TEST(CpuExecutor, BuffersAreReusedAndOutputsStayRight) {
    const Graph g = chainGraph(6);
    auto exec = expectMatchesReference(g, 1);
    ASSERT_TRUE(exec);
    const cpu::MemoryReport mem = exec->memoryReport();
    EXPECT_LT(mem.arenaBytes * 4, mem.naiveBytes) << "liveness should share most buffers";
    EXPECT_LE(mem.buffers, 3);
    EXPECT_GT(mem.inPlaceSteps, 0) << "element-wise steps should write over dying inputs";
}

// A value read long after it was made must keep its buffer until then.
TEST(CpuExecutor, LongLivedValueIsNotOverwritten) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 9, 9});
    const ValueId early = b.op(
        OpKind::Relu,
        {b.op(OpKind::Conv, {x, b.randomConstant({4, 4, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}))});
    ValueId v = early;
    for (int i = 0; i < 4; ++i) {
        v = b.op(OpKind::Conv, {v, b.randomConstant({4, 4, 3, 3})},
                 convAttrs({1, 1}, {1, 1, 1, 1}));
        v = b.op(OpKind::Tanh, {b.op(OpKind::Mul, {v, v})});
    }
    b.output(b.op(OpKind::Add, {v, early}));
    b.output(early);  // also a graph output read internally
    expectMatchesReference(b.graph, 2);
}

TEST(CpuExecutor, GraphInputAsOutputAndDuplicateOutputs) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3});
    const ValueId y = b.op(OpKind::Relu, {x});
    b.output(x);
    b.output(y);
    b.output(y);
    Attributes shape;
    shape.set("shape", std::vector<int64_t>{3, 2});
    b.output(b.op(OpKind::Reshape, {y}, shape));
    auto exec = expectMatchesReference(b.graph, 1);
    ASSERT_TRUE(exec);
    // Outputs are fresh tensors the caller owns: writing one must not touch another.
    auto out = exec->run(randomInputs(b.graph, 3));
    ASSERT_TRUE(out.ok());
    const float before = (*out)[2].data<float>()[0];
    (*out)[1].data<float>()[0] = 42.0f;
    EXPECT_EQ((*out)[2].data<float>()[0], before);
}

TEST(CpuExecutor, InputValidation) {
    const Graph g = chainGraph(1);
    auto exec = CpuExecutor::create(g, {1, false});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    {
        auto r = (*exec)->run({});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    }
    {
        std::vector<Tensor> wrongShape = {Tensor(DataType::Float32, {1, 8, 12, 13})};
        auto r = (*exec)->run(wrongShape);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_NE(r.error().message.find("in0"), std::string::npos) << r.error().message;
    }
    {
        std::vector<Tensor> wrongType = {Tensor(DataType::Int64, {1, 8, 12, 12})};
        auto r = (*exec)->run(wrongType);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    }
    auto bad = CpuExecutor::create(g, {-1, false});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

TEST(CpuExecutor, UnboundShapeIsRefused) {
    Graph g;
    const ValueId x = g.addValue("x", DataType::Float32, {-1, 3});
    g.inputs.push_back(x);
    g.outputs.push_back(x);
    auto exec = CpuExecutor::create(g);
    ASSERT_FALSE(exec.ok());
    EXPECT_EQ(exec.error().code, ErrorCode::InvalidArgument);
}

TEST(CpuExecutor, KernelReportNamesFastAndReferenceKernels) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 6});
    const ValueId c =
        b.op(OpKind::Conv, {x, b.randomConstant({4, 4, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId r = b.op(OpKind::Relu, {c});
    Attributes cubic;
    cubic.set("mode", std::string("cubic"));
    cubic.set("scales", std::vector<float>{1, 1, 2, 2});
    cubic.set("sizes", std::vector<int64_t>{1, 4, 12, 12});
    const ValueId up = b.op(OpKind::Resize, {r}, cubic);
    Attributes pads;
    pads.set("pads", std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
    pads.set("mode", std::string("reflect"));
    b.output(b.op(OpKind::Pad, {up}, pads));
    auto exec = expectMatchesReference(b.graph, 2);
    ASSERT_TRUE(exec);
    const cpu::KernelChoice conv = reportFor(*exec, b.graph, "Conv_1");
    EXPECT_EQ(conv.kernel.rfind("dnnl conv 3x3", 0), 0u) << conv.kernel;
    EXPECT_NE(conv.reason.find("Relu"), std::string::npos) << conv.reason;
    EXPECT_EQ(reportFor(*exec, b.graph, "Relu_2").kernel, "fused into " + b.graph.describeNode(0));
    const cpu::KernelChoice resize = reportFor(*exec, b.graph, "Resize_3");
    EXPECT_EQ(resize.kernel, "resize cubic loop nhwc");
    const cpu::KernelChoice pad = reportFor(*exec, b.graph, "Pad_4");
    EXPECT_EQ(pad.kernel, "reference");
    EXPECT_EQ(pad.reason, "reference: no fast reflect Pad kernel (constant only)");
    // The reference Pad needs plain data: the report shows the inserted reorder.
    bool reorder = false;
    for (const cpu::KernelChoice& k : exec->kernelReport())
        reorder |= k.kernel == "reorder nhwc->nchw";
    EXPECT_TRUE(reorder);
}

// TensorFlow's exports pad explicitly before a VALID conv: the conv takes the zeros as its own
// (asymmetric) padding, and a Pad that is not only zeros around H and W, or that another node
// also reads, stays a step of its own.
TEST(CpuExecutor, ZeroPadBeforeAConvBecomesItsPadding) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 7, 6});
    Attributes spatial;
    spatial.set("pads", std::vector<int64_t>{0, 0, 1, 2, 0, 0, 2, 0});
    const ValueId p = b.op(OpKind::Pad, {x}, spatial);
    b.output(b.op(OpKind::Conv, {p, b.randomConstant({6, 4, 3, 3}), b.randomConstant({6})},
                  convAttrs({2, 2}, {0, 1, 0, 0})));
    // Not absorbable: padding the channels, and a non-zero value.
    Attributes channels;
    channels.set("pads", std::vector<int64_t>{0, 1, 0, 0, 0, 1, 0, 0});
    const ValueId pc = b.op(OpKind::Pad, {x}, channels);
    b.output(
        b.op(OpKind::Conv, {pc, b.randomConstant({3, 6, 3, 3})}, convAttrs({1, 1}, {0, 0, 0, 0})));
    Attributes ones = spatial;
    ones.set("value", 1.0f);
    const ValueId p1 = b.op(OpKind::Pad, {x}, ones);
    b.output(
        b.op(OpKind::Conv, {p1, b.randomConstant({3, 4, 3, 3})}, convAttrs({1, 1}, {0, 0, 0, 0})));
    for (int threads : {1, 2}) {
        auto exec = expectMatchesReference(b.graph, threads);
        ASSERT_TRUE(exec);
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_0").kernel,
                  "fused into " + b.graph.describeNode(1));
        EXPECT_NE(reportFor(*exec, b.graph, "Conv_3").reason.find("Pad"), std::string::npos);
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_4").kernel, "pad constant loop nchw");
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_7").kernel, "pad constant loop nchw");
    }
}

// A constant Pad runs where its input lies: channels-last between convs (TensorFlow's channel
// pads before a residual add), plain on a graph input; a crop or a reflect Pad stays reference.
TEST(CpuExecutor, ConstantPadFollowsItsInputsLayout) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 5, 7});
    const ValueId c = b.op(OpKind::Relu, {b.op(OpKind::Conv, {x, b.randomConstant({5, 3, 1, 1})},
                                               convAttrs({1, 1}, {0, 0, 0, 0}))});
    Attributes mixed;
    mixed.set("pads", std::vector<int64_t>{0, 2, 1, 0, 0, 3, 0, 2});
    mixed.set("value", 0.5f);
    const ValueId pc = b.op(OpKind::Pad, {c}, mixed);
    b.output(
        b.op(OpKind::Conv, {pc, b.randomConstant({4, 10, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1})));
    b.output(b.op(OpKind::Pad, {x}, mixed));
    Attributes crop;
    crop.set("pads", std::vector<int64_t>{0, 0, -1, 0, 0, 0, 0, 1});
    b.output(b.op(OpKind::Pad, {x}, crop));
    for (int threads : {1, 2}) {
        auto exec = expectMatchesReference(b.graph, threads);
        ASSERT_TRUE(exec);
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_3").kernel, "pad constant loop nhwc");
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_6").kernel, "pad constant loop nchw");
        EXPECT_EQ(reportFor(*exec, b.graph, "Pad_7").kernel, "reference");
    }
}

TEST(CpuExecutor, ReferenceOnlyRunsEveryNodeWithItsReference) {
    const Graph g = chainGraph(2);
    auto exec = CpuExecutor::create(g, {1, true});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    for (const cpu::KernelChoice& k : (*exec)->kernelReport()) EXPECT_EQ(k.kernel, "reference");
    const std::vector<Tensor> in = randomInputs(g, 1);
    auto got = (*exec)->run(in);
    auto want = runGraphReference(g, in);
    ASSERT_TRUE(got.ok() && want.ok());
    EXPECT_TRUE((*got)[0].identical((*want)[0]));
}

TEST(CpuExecutor, ThreadCountDefaultsToHardware) {
    auto exec = CpuExecutor::create(chainGraph(1));
    ASSERT_TRUE(exec.ok());
    EXPECT_EQ((*exec)->threads(),
              static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    auto two = CpuExecutor::create(chainGraph(1), {2, false});
    ASSERT_TRUE(two.ok());
    EXPECT_EQ((*two)->threads(), 2);
}

TEST(ThreadPool, ParallelForCoversEachIndexOnce) {
    for (int threads : {1, 2, 3}) {
        cpu::ThreadPool pool(threads);
        for (int64_t count : {0, 1, 7, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
            pool.parallelFor(count, 3, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
            });
            for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        }
    }
}

TEST(ThreadPool, UsesUpToItsThreadCount) {
    cpu::ThreadPool pool(2);
    std::mutex m;
    std::set<int> seen;
    for (int round = 0; round < 20; ++round) {
        pool.parallelFor(1000, 1, [&](int64_t, int64_t) {
            std::lock_guard<std::mutex> lock(m);
            seen.insert(cpu::ThreadPool::threadIndex());
        });
    }
    EXPECT_GE(seen.size(), 1u);
    EXPECT_LE(seen.size(), 2u);
    for (int t : seen) EXPECT_TRUE(t == 0 || t == 1) << t;
}

TEST(ThreadPool, ManyShortJobsBackToBack) {
    cpu::ThreadPool pool(3);
    std::atomic<int64_t> sum{0};
    for (int job = 0; job < 2000; ++job) {
        pool.runTasks(job % 7, [&](int64_t t) { sum += t + 1; });
    }
    int64_t want = 0;
    for (int job = 0; job < 2000; ++job) want += (job % 7) * (job % 7 + 1) / 2;
    EXPECT_EQ(sum.load(), want);
}

// Hot keeps the workers spinning between jobs; jobs before, inside and after such scopes (the
// workers asleep again after one) all run every task exactly once.
TEST(ThreadPool, JobsAroundHotScopes) {
    cpu::ThreadPool pool(3);
    std::atomic<int64_t> sum{0};
    int64_t want = 0;
    auto job = [&](int64_t tasks) {
        pool.runTasks(tasks, [&](int64_t t) { sum += t + 1; });
        want += tasks * (tasks + 1) / 2;
    };
    job(5);
    for (int scope = 0; scope < 20; ++scope) {
        cpu::ThreadPool::Hot hot(pool);
        for (int j = 0; j < 50; ++j) job(j % 6);
        if (scope % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go back to sleep
    job(7);
    EXPECT_EQ(sum.load(), want);
}

}  // namespace
}  // namespace prunelab::engine::testing

// The GPU's sparse shaders (engine/runtime/vulkan/shaders_sparse.cpp) against the reference
// runner on pruned layers of many shapes, the measured decision on the GPU, its per-dispatch
// profile, and Real-ESRGAN x2 pruned 8x on the GPU against the CPU. Validation layer on.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/reference_runner.h"
#include "engine/runtime/vulkan/shaders.h"
#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"
#include "runtime_test_util.h"
#include "vulkan_test_util.h"

namespace prunelab::engine::testing {
namespace {

// Every output of `got` within relTol of the expected output's range (at least 1e-3).
void expectClose(const std::vector<Tensor>& expected, const std::vector<Tensor>& got, float relTol,
                 const std::string& what) {
    ASSERT_EQ(expected.size(), got.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) {
        const std::vector<float> e = expected[i].toFloatVector();
        const std::vector<float> g = got[i].toFloatVector();
        ASSERT_EQ(e.size(), g.size()) << what << " output " << i;
        if (e.empty()) continue;
        const auto [lo, hi] = std::minmax_element(e.begin(), e.end());
        const float tol = relTol * std::max(*hi - *lo, 1e-3f);
        size_t bad = 0, first = 0;
        for (size_t j = 0; j < e.size(); ++j) {
            if (!(std::fabs(g[j] - e[j]) <= tol)) first = bad++ ? first : j;
        }
        EXPECT_EQ(bad, 0u) << what << " output " << i << ": first at [" << first << "] got "
                           << g[first] << ", want " << e[first] << " (tolerance " << tol << ")";
    }
}

prune::PruningPlan planOf(const std::string& scheme, prune::ParamValues values) {
    prune::PruningPlan plan;
    plan.defaultEntry = prune::PlanEntry::make(scheme, std::move(values));
    plan.keepFirstLast = false;  // the tests' graphs are one or two layers
    return plan;
}

prune::PruningPlan patternPlan(double connectivity) {
    prune::ParamValues v;
    v.set("patterns", 6);
    v.set("connectivity_rate", connectivity);
    return planOf("pattern", v);
}

// Stored filters in the reverse of the compiler's order (a valid FKW: filterOrder is any
// permutation), so the shader's baked output channels are not the identity.
void reverseFilters(codegen::LayerCode& layer) {
    codegen::FkwWeights& f = layer.fkw;
    codegen::FkwWeights r = f;
    r.filterOrder.clear(), r.kernelStart = {0}, r.inputChannel.clear(), r.patternId.clear();
    r.weights.clear();
    for (size_t s = f.filterOrder.size(); s-- > 0;) {
        r.filterOrder.push_back(f.filterOrder[s]);
        for (int32_t k = f.kernelStart[s]; k < f.kernelStart[s + 1]; ++k) {
            r.inputChannel.push_back(f.inputChannel[size_t(k)]);
            r.patternId.push_back(f.patternId[size_t(k)]);
            for (int j = 0; j < 4; ++j) r.weights.push_back(f.weights[size_t(k) * 4 + size_t(j)]);
        }
        r.kernelStart.push_back(static_cast<int32_t>(r.inputChannel.size()));
    }
    f = std::move(r);
}

// Runs `pruned` on the GPU with `model`'s layers and on the reference runner (the masked
// weights); returns the kernel report's entries for the model's non-dense layers.
std::vector<std::string> expectGpuSparseMatches(const prune::PrunedModel& pruned,
                                                const codegen::SparseModel& model,
                                                const std::string& what) {
    PrepareOptions options;
    options.sparse = std::make_shared<codegen::SparseModel>(model);
    auto exec = gpu().prepare(pruned.graph, options);
    EXPECT_TRUE(exec.ok()) << what << ": " << exec.error().toString();
    if (!exec.ok()) return {};
    const std::vector<Tensor> inputs = randomInputs(pruned.graph, 5);
    auto expected = runGraphReference(pruned.graph, inputs);
    EXPECT_TRUE(expected.ok()) << expected.error().toString();
    if (!expected.ok()) return {};
    for (int round = 0; round < 2; ++round) {  // the second run reuses every buffer
        auto got = (*exec)->run(inputs);
        EXPECT_TRUE(got.ok()) << what << ": " << got.error().toString();
        if (!got.ok()) return {};
        expectClose(*expected, *got, 1e-4f, what);
    }
    std::vector<std::string> kernels;
    for (const codegen::LayerCode& l : model.layers) {
        if (l.kind == codegen::KernelKind::Dense) continue;
        kernels.push_back(
            reportFor(**exec, pruned.graph, pruned.graph.nodes[size_t(l.node)].name).kernel);
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0) << what;
    return kernels;
}

struct PatternShape {
    const char* name;
    Shape input;  // [N][C][H][W]
    int64_t outChannels;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group;
    double connectivity;  // fraction of kernels removed
    bool reverse = false;
};

// Ten shapes: odd sizes, stride 2, pads (asymmetric too), dilation, groups, batch 2, channel
// counts that divide nothing, kernels removed by connectivity pruning, a layer large enough for
// its kernel lists to go into a buffer (> 256 kernels), and a reversed filter order.
const PatternShape kPatternShapes[] = {
    {"3to5_7x9_pad1", {1, 3, 7, 9}, 5, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 0.0},
    {"5to7_11x13_stride2", {1, 5, 11, 13}, 7, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, 0.3},
    {"8to6_9x9_stride2_nopad", {1, 8, 9, 9}, 6, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, 0.5},
    {"4to4_8x7_asymmetric_pads", {1, 4, 8, 7}, 4, {1, 1}, {0, 1, 2, 1}, {1, 1}, 1, 0.2},
    {"6to4_10x10_2groups", {1, 6, 10, 10}, 4, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, 0.25},
    {"5to6_12x11_dilation2", {1, 5, 12, 11}, 6, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, 0.4},
    {"batch2_3to4_6x6", {2, 3, 6, 6}, 4, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 0.0},
    {"24to24_10x10_buffered_lists", {1, 24, 10, 10}, 24, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 0.4},
    {"1to13_5x3_stride2", {1, 1, 5, 3}, 13, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, 0.0},
    {"7to9_9x8_reversed_order", {1, 7, 9, 8}, 9, {1, 2}, {1, 0, 1, 1}, {1, 1}, 1, 0.5, true},
};

// Test names and failure messages show the shape's name, not its bytes.
void PrintTo(const PatternShape& shape, std::ostream* os) {
    *os << shape.name;
}

class VulkanPattern : public ::testing::TestWithParam<PatternShape> {};

TEST_P(VulkanPattern, GeneratedShaderMatchesTheReference) {
    SKIP_WITHOUT_VULKAN();
    const PatternShape& p = GetParam();
    GraphBuilder b;
    const ValueId x = b.input(p.input);
    const int64_t inPerGroup = p.input[1] / p.group;
    b.output(b.op(
        OpKind::Conv,
        {x, b.randomConstant({p.outChannels, inPerGroup, 3, 3}), b.randomConstant({p.outChannels})},
        convAttrs(p.strides, p.pads, p.dilations, p.group)));
    auto pruned = prune::applyPlan(b.graph, patternPlan(p.connectivity));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto model = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    ASSERT_EQ(model->layers.size(), 1u);
    codegen::LayerCode& layer = model->layers[0];
    ASSERT_EQ(layer.kind, codegen::KernelKind::Pattern) << layer.decision;
    const int64_t all = p.outChannels * inPerGroup;
    const auto kept = static_cast<int64_t>(layer.fkw.inputChannel.size());
    if (p.connectivity > 0) {
        EXPECT_LT(kept, all) << "connectivity pruning removed kernels";
    }
    if (p.reverse) reverseFilters(layer);
    if (std::string(p.name).find("buffered") != std::string::npos) {
        EXPECT_GT(kept, 256) << "enough kernels for the lists to go into a buffer";
    }
    const std::vector<std::string> kernels = expectGpuSparseMatches(*pruned, *model, p.name);
    ASSERT_EQ(kernels.size(), 1u);
    EXPECT_EQ(kernels[0].rfind("gpu pattern 3x3 (", 0), 0u) << kernels[0];
    EXPECT_NE(kernels[0].find(std::to_string(kept) + " kernels"), std::string::npos) << kernels[0];
}

INSTANTIATE_TEST_SUITE_P(Shapes, VulkanPattern, ::testing::ValuesIn(kPatternShapes),
                         [](const auto& shape) { return std::string(shape.param.name); });

// The shader's text carries the layer's structure: its pattern pictures and its kernel lists.
TEST(VulkanSparse, PatternShaderIsGeneratedPerLayerWithItsStructureBakedIn) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 6, 6});
    b.output(
        b.op(OpKind::Conv, {x, b.randomConstant({4, 4, 3, 3})}, convAttrs({1, 1}, {1, 1, 1, 1})));
    auto pruned = prune::applyPlan(b.graph, patternPlan(0.25));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto model = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    ASSERT_EQ(model->layers.size(), 1u);
    const size_t node = static_cast<size_t>(model->layers[0].node);
    const vulkan::ShaderContext context{pruned->graph, &*model};
    std::string why;
    const auto plan = vulkan::planShader(context, node, why);
    ASSERT_TRUE(plan) << why;
    EXPECT_EQ(plan->kernel.rfind("gpu pattern 3x3 (", 0), 0u) << plan->kernel;
    const std::string& glsl = plan->glsl;
    EXPECT_NE(glsl.find("#version 450"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("const uint KCODE["), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("vec4 pattern0("), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("// pattern 0: "), std::string::npos) << glsl;
}

// A conv and a Gemm pruned non-structured at 90% run CSR; a conv and a Gemm pruned tile-wise
// run the tile shader; each matches the reference. The conv is 2x3 with stride 2,1 and uneven
// pads (a 3x3 one this sparse would be read as patterns), the Gemm transposes its weights.
TEST(VulkanSparse, TileWiseAndCsrLayersMatchTheReference) {
    SKIP_WITHOUT_VULKAN();
    auto graphOf = [] {
        GraphBuilder b;
        const ValueId x = b.input({2, 6, 7, 9});
        const ValueId c =
            b.op(OpKind::Conv, {x, b.randomConstant({10, 6, 2, 3}), b.randomConstant({10})},
                 convAttrs({2, 1}, {1, 1, 0, 1}));
        b.output(c);
        Attributes gemm;
        gemm.set("transB", int64_t{1});
        const ValueId a = b.input({5, 36});
        b.output(b.op(OpKind::Gemm, {a, b.randomConstant({12, 36}), b.randomConstant({12})}, gemm));
        return b.graph;
    };
    const Graph graph = graphOf();
    prune::ParamValues ns;
    ns.set("rate", 0.9);
    prune::ParamValues tiles;
    tiles.set("rate", 0.6);
    tiles.set("tile_width", 16);
    struct Case {
        const char* name;
        prune::PruningPlan plan;
        codegen::KernelKind kind;
        const char* kernel;
    };
    const Case cases[] = {
        {"csr", planOf("non_structured", ns), codegen::KernelKind::Csr, "gpu csr "},
        {"tile-wise", planOf("tile_wise", tiles), codegen::KernelKind::TileWise, "gpu tile-wise "},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        auto pruned = prune::applyPlan(graph, c.plan);
        ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
        codegen::CompileOptions co;
        co.choose.tileMaxDensity = 0.9;  // small layers: keep the tile storage whatever it keeps
        auto model = codegen::compileLayers(*pruned, co);
        ASSERT_TRUE(model.ok()) << model.error().toString();
        ASSERT_EQ(model->layers.size(), 2u);
        for (const codegen::LayerCode& l : model->layers) {
            ASSERT_EQ(l.kind, c.kind) << l.name << ": " << l.decision;
        }
        EXPECT_TRUE(model->layers[1].gemm);
        const std::vector<std::string> kernels = expectGpuSparseMatches(*pruned, *model, c.name);
        ASSERT_EQ(kernels.size(), 2u);
        EXPECT_EQ(kernels[0].rfind(std::string(c.kernel) + "2x3 (", 0), 0u) << kernels[0];
        EXPECT_EQ(kernels[1].rfind(std::string(c.kernel) + "gemm (", 0), 0u) << kernels[1];
    }
}

// The sparse shaders compute their layer's epilogue too: a pattern conv + residual Add + Relu,
// and a CSR conv + per-channel PRelu, each written once.
TEST(VulkanSparse, SparseShadersFuseTheResidualAndActivations) {
    SKIP_WITHOUT_VULKAN();
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 9, 7});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
             convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId r = b.op(OpKind::Relu, {b.op(OpKind::Add, {c1, x})});
    const ValueId c2 =
        b.op(OpKind::Conv, {r, b.randomConstant({6, 8, 2, 3}), b.randomConstant({6})},
             convAttrs({2, 2}, {1, 1, 0, 1}));
    b.output(b.op(OpKind::PRelu, {c2, b.randomConstant({6, 1, 1})}));
    prune::PruningPlan plan = patternPlan(0.4);
    prune::ParamValues ns;
    ns.set("rate", 0.9);
    plan.layers[b.graph.nodes[size_t(b.graph.producer(c2))].name] =
        prune::PlanEntry::make("non_structured", ns);
    auto pruned = prune::applyPlan(b.graph, plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto model = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    const std::vector<std::string> kernels = expectGpuSparseMatches(*pruned, *model, "fused");
    ASSERT_EQ(kernels.size(), 2u);
    EXPECT_EQ(kernels[0].rfind("gpu pattern 3x3 (", 0), 0u) << kernels[0];
    EXPECT_NE(kernels[0].find("+add+relu"), std::string::npos) << kernels[0];
    EXPECT_EQ(kernels[1].rfind("gpu csr 2x3 (", 0), 0u) << kernels[1];
    EXPECT_NE(kernels[1].find("+prelu"), std::string::npos) << kernels[1];
}

// Two pattern convs with a ReLU between them, compiled for the GPU.
prune::PrunedModel twoConvModel() {
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 12, 10});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
             convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId r = b.op(OpKind::Relu, {c1});
    b.output(b.op(OpKind::Conv, {r, b.randomConstant({6, 8, 3, 3}), b.randomConstant({6})},
                  convAttrs({2, 2}, {1, 1, 1, 1})));
    auto pruned = prune::applyPlan(b.graph, patternPlan(0.5));
    EXPECT_TRUE(pruned.ok()) << pruned.error().toString();
    return pruned.ok() ? std::move(*pruned) : prune::PrunedModel{};
}

// compileFor on the GPU runs the measured decision there: typed times for the backend
// "vulkan", each layer's decision naming both times, and the model still matches.
TEST(VulkanSparse, CompileForMeasuresOnTheGpu) {
    SKIP_WITHOUT_VULKAN();
    const prune::PrunedModel pruned = twoConvModel();
    ASSERT_FALSE(pruned.graph.nodes.empty());
    CompileForOptions options;
    options.measureRuns = 3;
    auto compiled = compileFor(gpu(), pruned, options);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    EXPECT_EQ(compiled->generated, nullptr);
    EXPECT_EQ(compiled->kernels, "generated GLSL per layer");
    ASSERT_TRUE(compiled->model && compiled->model->measured);
    const codegen::Measurement& m = *compiled->model->measured;
    EXPECT_EQ(m.backend, "vulkan");
    ASSERT_EQ(m.layers.size(), 2u);
    for (const codegen::MeasuredLayer& l : m.layers) {
        EXPECT_GT(l.sparseMs, 0.0);
        EXPECT_GT(l.denseMs, 0.0);
    }
    EXPECT_EQ(compiled->model->passes.back().pass, "measure");
    for (const codegen::LayerCode& l : compiled->model->layers) {
        EXPECT_NE(l.decision.find("measured pattern"), std::string::npos) << l.decision;
        EXPECT_NE(l.decision.find(" ms vs dense "), std::string::npos) << l.decision;
    }
    // Whatever it decided, the prepared model runs those layers and matches.
    auto exec = gpu().prepare(pruned.graph, compiled->prepareOptions(1));
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<Tensor> inputs = randomInputs(pruned.graph, 9);
    auto expected = runGraphReference(pruned.graph, inputs);
    ASSERT_TRUE(expected.ok());
    auto got = (*exec)->run(inputs);
    ASSERT_TRUE(got.ok()) << got.error().toString();
    expectClose(*expected, *got, 1e-4f, "measured model");

    // Without measuring, the compiler's choices stand and nothing is timed.
    options.measure = false;
    auto unmeasured = compileFor(gpu(), pruned, options);
    ASSERT_TRUE(unmeasured.ok()) << unmeasured.error().toString();
    EXPECT_FALSE(unmeasured->model->measured.has_value());
    for (const codegen::LayerCode& l : unmeasured->model->layers) {
        EXPECT_EQ(l.kind, codegen::KernelKind::Pattern) << l.decision;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// Profiling gives one time per step, named by its node like the CPU executor's, besides the
// marked host <-> GPU transfers; nothing while it is off.
TEST(VulkanSparse, ProfilingTimesEveryNodeStep) {
    SKIP_WITHOUT_VULKAN();
    const prune::PrunedModel pruned = twoConvModel();
    ASSERT_FALSE(pruned.graph.nodes.empty());
    auto model = codegen::compileLayers(pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    PrepareOptions options;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*model));
    auto exec = gpu().prepare(pruned.graph, options);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<Tensor> inputs = randomInputs(pruned.graph, 3);
    ASSERT_TRUE((*exec)->run(inputs).ok());
    EXPECT_TRUE((*exec)->lastStepTimes().empty());
    (*exec)->setProfiling(true);
    for (int round = 0; round < 2; ++round) {
        ASSERT_TRUE((*exec)->run(inputs).ok());
        std::multiset<std::string> timed;
        std::string all;
        for (const Executor::StepTime& t : (*exec)->lastStepTimes()) {
            EXPECT_GE(t.ms, 0.0) << t.where;
            all += t.where + "; ";
            if (!t.layoutChange) timed.insert(t.where);
        }
        std::multiset<std::string> steps;
        for (const KernelChoice& k : (*exec)->kernelReport()) {
            if (k.kernel.rfind("fused into", 0) != 0) steps.insert(k.node);
        }
        EXPECT_EQ(timed, steps) << all;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// Without timestamps (simulated), each GPU segment's wall time is shared among its steps: still
// one time per node step, and their sum is the run's.
TEST(VulkanSparse, ProfilingWithoutTimestampsSharesTheWallTime) {
    SKIP_WITHOUT_VULKAN();
    const prune::PrunedModel pruned = twoConvModel();
    ASSERT_FALSE(pruned.graph.nodes.empty());
    auto model = codegen::compileLayers(pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    PrepareOptions options;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*model));
    ::setenv("PRUNELAB_VULKAN_NO_TIMESTAMPS", "1", 1);  // read at prepare
    auto exec = gpu().prepare(pruned.graph, options);
    ::unsetenv("PRUNELAB_VULKAN_NO_TIMESTAMPS");
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    (*exec)->setProfiling(true);
    const std::vector<Tensor> inputs = randomInputs(pruned.graph, 4);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE((*exec)->run(inputs).ok());
    const double wall =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    double sum = 0;
    size_t steps = 0;
    for (const Executor::StepTime& t : (*exec)->lastStepTimes()) {
        EXPECT_GE(t.ms, 0.0) << t.where;
        EXPECT_FALSE(t.layoutChange) << t.where << ": no transfers entry without timestamps";
        sum += t.ms;
        ++steps;
    }
    size_t nodes = 0;
    for (const KernelChoice& k : (*exec)->kernelReport()) {
        nodes += k.kernel.rfind("fused into", 0) != 0;
    }
    EXPECT_EQ(steps, nodes);
    EXPECT_GT(sum, 0.0);
    EXPECT_LE(sum, wall * 1.01 + 0.01);
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

std::optional<Graph> catalogModel(const std::string& id, int64_t h, int64_t w, std::string& why) {
    auto g = plugins::loadCatalogModel(id, h, w);
    if (!g.ok()) {
        why = g.error().toString();
        return std::nullopt;
    }
    return std::move(*g);
}

// Real-ESRGAN x2 pruned with the PatDNN 8x plan: its pattern layers on the GPU's generated
// shaders give the CPU's outputs within 1e-3 of each output's range.
TEST(VulkanSparse, RealEsrganX2Pattern8xMatchesTheCpu) {
    SKIP_WITHOUT_VULKAN();
    std::string why;
    auto graph = catalogModel("zoom-x2", 20, 24, why);
    if (!graph) {
        GTEST_SKIP() << "zoom-x2 (models/realesrgan/realesr-animevideov3-x2.param, .bin) is not "
                        "in the asset cache "
                     << plugins::assetCacheDir() << ": " << why << " (run ./prunelab setup)";
    }
    auto plan = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(plan.ok()) << plan.error().toString();
    auto pruned = prune::applyPlan(*graph, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto model = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(model.ok()) << model.error().toString();
    PrepareOptions options;
    options.threads = 1;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*model));
    auto onGpu = gpu().prepare(pruned->graph, options);
    ASSERT_TRUE(onGpu.ok()) << onGpu.error().toString();
    auto onCpu = cpu::cpuBackend().prepare(pruned->graph, options);
    ASSERT_TRUE(onCpu.ok()) << onCpu.error().toString();
    const std::vector<Tensor> inputs = randomInputs(pruned->graph, 21);
    auto expected = (*onCpu)->run(inputs);
    ASSERT_TRUE(expected.ok()) << expected.error().toString();
    auto got = (*onGpu)->run(inputs);
    ASSERT_TRUE(got.ok()) << got.error().toString();
    expectClose(*expected, *got, 1e-3f, "zoom-x2 patdnn-8");
    // fp16 storage: the same generated shaders reading and writing 16-bit buffers.
    PrepareOptions halfOptions = options;
    halfOptions.halfStorage = true;
    auto half = gpu().prepare(pruned->graph, halfOptions);
    if (half.ok()) {
        auto halfGot = (*half)->run(inputs);
        ASSERT_TRUE(halfGot.ok()) << halfGot.error().toString();
        expectClose(*expected, *halfGot, 2e-2f, "zoom-x2 patdnn-8, fp16 storage");
    } else {
        EXPECT_NE(half.error().message.find("fp16 storage"), std::string::npos)
            << half.error().toString();
    }
    int patterns = 0;
    for (const KernelChoice& k : (*onGpu)->kernelReport()) {
        patterns += k.kernel.rfind("gpu pattern 3x3", 0) == 0;
    }
    EXPECT_GE(patterns, 14) << "the middle convs run their generated pattern shaders";
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

}  // namespace
}  // namespace prunelab::engine::testing

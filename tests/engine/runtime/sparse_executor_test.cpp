// The CPU executor running the compiler's sparse layers: a pruned model compiled by
// engine/codegen and run with CpuOptions::sparse gives the masked dense model's outputs, with
// the residual and activation fused into the sparse kernels, on hand-made and real models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/cpu/sparse/measure.h"
#include "engine/runtime/reference_runner.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace prunelab::engine {
namespace {

using testing::GraphBuilder;

prune::PruningPlan planOf(const std::string& scheme, prune::ParamValues values) {
    prune::PruningPlan plan;
    plan.defaultEntry = prune::PlanEntry::make(scheme, std::move(values));
    return plan;
}

// Runs `pruned` through the executor with its compiled sparse layers and checks every output
// against the reference runner on the same (masked) weights, within 1e-4 of the range. Returns
// how many steps ran a sparse kernel.
int expectSparseMatches(const prune::PrunedModel& pruned, int threads,
                        const codegen::ChooseOptions& choose = {}, bool generate = false,
                        std::string* kernels = nullptr) {
    codegen::CompileOptions co;
    co.choose = choose;
    auto compiled = codegen::compileLayers(pruned, co);
    EXPECT_TRUE(compiled.ok()) << compiled.error().toString();
    if (!compiled.ok()) return 0;
    cpu::CpuOptions options;
    options.threads = threads;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*compiled));
    if (generate) {
        auto module = cpu::compileModel(*options.sparse);
        EXPECT_TRUE(module.ok()) << module.error().toString();
        if (!module.ok()) return 0;
        options.generated = std::make_shared<cpu::CompiledModule>(std::move(*module));
    }
    auto exec = cpu::CpuExecutor::create(pruned.graph, options);
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return 0;
    const std::vector<Tensor> inputs = testing::randomInputs(pruned.graph, 11);
    auto expected = runGraphReference(pruned.graph, inputs);
    EXPECT_TRUE(expected.ok()) << expected.error().toString();
    if (!expected.ok()) return 0;
    for (int round = 0; round < 2; ++round) {  // the second run reuses every buffer
        auto got = (*exec)->run(inputs);
        EXPECT_TRUE(got.ok()) << got.error().toString();
        if (!got.ok()) return 0;
        for (size_t i = 0; i < got->size(); ++i) {
            const std::vector<float> e = (*expected)[i].toFloatVector();
            const std::vector<float> g = (*got)[i].toFloatVector();
            EXPECT_EQ(e.size(), g.size());
            if (e.size() != g.size() || e.empty()) continue;
            const auto [lo, hi] = std::minmax_element(e.begin(), e.end());
            const float tol = 1e-4f * std::max(*hi - *lo, 1e-3f);
            size_t bad = 0, first = 0;
            for (size_t j = 0; j < e.size(); ++j) {
                if (!(std::fabs(g[j] - e[j]) <= tol)) first = bad++ ? first : j;
            }
            EXPECT_EQ(bad, 0u) << "output " << i << ": first at [" << first << "] got " << g[first]
                               << ", want " << e[first] << " (tolerance " << tol << ")";
        }
    }
    int sparse = 0;
    for (const cpu::KernelChoice& c : (*exec)->kernelReport()) {
        if (kernels) *kernels += c.kernel + "\n";
        sparse += c.kernel.rfind("sparse ", 0) == 0;
        if (generate && c.kernel.rfind("sparse pattern", 0) == 0) {
            EXPECT_NE(c.kernel.find("(generated"), std::string::npos) << c.kernel;
        }
    }
    return sparse;
}

std::optional<Graph> catalogModel(const std::string& id, int64_t h, int64_t w);

// conv 3x3 (pattern) + residual Add + Relu, then conv 3x3 (CSR) + PRelu: both chains fuse.
TEST(SparseExecutor, FusedResidualAndActivationsMatchTheReference) {
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 13, 11});
    ValueId c1 = b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
                      testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    ValueId r = b.op(OpKind::Relu, {b.op(OpKind::Add, {c1, x})});
    ValueId c2 = b.op(OpKind::Conv, {r, b.randomConstant({6, 8, 3, 3}), b.randomConstant({6})},
                      testing::convAttrs({2, 2}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::PRelu, {c2, b.randomConstant({6, 1, 1})}));
    ASSERT_TRUE(b.graph.topoSort().ok());

    prune::ParamValues pattern;
    pattern.set("patterns", 4);
    pattern.set("connectivity_rate", 0.5);
    prune::PruningPlan plan = planOf("pattern", pattern);
    plan.keepFirstLast = false;
    prune::ParamValues ns;
    ns.set("rate", 0.9);
    std::vector<std::string> convs;
    for (const Node& n : b.graph.nodes) {
        if (n.op == OpKind::Conv) convs.push_back(n.name);
    }
    ASSERT_EQ(convs.size(), 2u);
    plan.layers[convs[1]] = prune::PlanEntry::make("non_structured", ns);
    auto pruned = prune::applyPlan(b.graph, plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();

    for (int threads : {1, 2}) {
        SCOPED_TRACE(threads);
        EXPECT_EQ(expectSparseMatches(*pruned, threads), 2) << "both convs sparse";
    }
    // The report says what was fused and which storage ran.
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok());
    cpu::CpuOptions options;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*compiled));
    auto exec = cpu::CpuExecutor::create(pruned->graph, options);
    ASSERT_TRUE(exec.ok());
    const cpu::KernelChoice first = testing::reportFor(**exec, pruned->graph, convs[0]);
    EXPECT_NE(first.kernel.find("sparse pattern"), std::string::npos) << first.kernel;
    EXPECT_NE(first.kernel.find("+sum+relu"), std::string::npos) << first.kernel;
}

// The same chain with the pattern layer's code generated and host-compiled
// (runtime/cpu/sparse/jit.h): the generated kernel runs with the fused residual + relu; the CSR
// layer stays generic.
TEST(SparseExecutor, GeneratedKernelsRunInTheExecutor) {
    cpu::JitOptions probe;
    if (cpu::compileModule("extern \"C\" int pl_probe() { return 1; }", probe).error().code ==
        ErrorCode::NotFound) {
        GTEST_SKIP() << "no host C++ compiler: generated kernels cannot be built here";
    }
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 13, 11});
    ValueId c1 = b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3}), b.randomConstant({8})},
                      testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Relu, {b.op(OpKind::Add, {c1, x})}));
    prune::ParamValues pattern;
    pattern.set("patterns", 4);
    pattern.set("connectivity_rate", 0.5);
    prune::PruningPlan plan = planOf("pattern", pattern);
    plan.keepFirstLast = false;
    auto pruned = prune::applyPlan(b.graph, plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    for (int threads : {1, 2}) {
        SCOPED_TRACE(threads);
        EXPECT_EQ(expectSparseMatches(*pruned, threads, {}, true), 1);
    }
}

// Profiling times every step of a run; the layout changes between the dense first conv (Nhwc)
// and the sparse one (plain) are marked. Off, nothing is recorded.
TEST(SparseExecutor, ProfilingTimesEveryStepAndMarksLayoutChanges) {
    GraphBuilder b;
    const ValueId x = b.input({1, 8, 12, 12});
    ValueId c1 = b.op(OpKind::Conv, {x, b.randomConstant({8, 8, 3, 3})},
                      testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    ValueId c2 = b.op(OpKind::Conv, {b.op(OpKind::Relu, {c1}), b.randomConstant({8, 8, 3, 3})},
                      testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    // Pooling runs channels-last only: the sparse conv's plain output must be reordered.
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.set("strides", std::vector<int64_t>{2, 2});
    ValueId p = b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c2})}, pool);
    b.output(b.op(OpKind::Conv, {p, b.randomConstant({8, 8, 3, 3})},
                  testing::convAttrs({1, 1}, {1, 1, 1, 1})));
    prune::ParamValues pattern;
    pattern.set("patterns", 4);
    pattern.set("connectivity_rate", 0.5);
    auto pruned = prune::applyPlan(b.graph, planOf("pattern", pattern));  // first, last dense
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    cpu::CpuOptions options;
    options.threads = 1;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*compiled));
    auto exec = cpu::CpuExecutor::create(pruned->graph, options);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<Tensor> inputs = testing::randomInputs(pruned->graph, 3);
    ASSERT_TRUE((*exec)->run(inputs).ok());
    EXPECT_TRUE((*exec)->lastStepTimes().empty());
    (*exec)->setProfiling(true);
    ASSERT_TRUE((*exec)->run(inputs).ok());
    const auto times = (*exec)->lastStepTimes();
    ASSERT_GE(times.size(), 3u);
    int changes = 0, convs = 0;
    for (const auto& t : times) {
        EXPECT_GE(t.ms, 0.0) << t.where;
        EXPECT_FALSE(t.where.empty());
        changes += t.layoutChange;
        convs += t.where.rfind("node '", 0) == 0 && t.where.find("(Conv)") != std::string::npos;
    }
    EXPECT_EQ(convs, 3) << [&] {
        std::string all;
        for (const auto& t : times) all += t.where + "; ";
        return all;
    }();
    EXPECT_GE(changes, 1) << "sparse plain -> pooling Nhwc needs a reorder";
}

// A dense conv next to a sparse one reads and writes the plain layout itself (oneDNN has
// kernels for it) instead of a reorder moving the whole activation: no layout change at all.
TEST(SparseExecutor, DenseNeighboursOfSparseConvsHandOverPlainWithoutReorders) {
    GraphBuilder b;
    const ValueId x = b.input({1, 16, 20, 24});
    ValueId v = x;
    for (int i = 0; i < 4; ++i) {
        v = b.op(OpKind::Relu, {b.op(OpKind::Conv, {v, b.randomConstant({16, 16, 3, 3})},
                                     testing::convAttrs({1, 1}, {1, 1, 1, 1}))});
    }
    b.output(v);
    prune::ParamValues pattern;
    pattern.set("patterns", 4);
    pattern.set("connectivity_rate", 0.5);
    auto pruned = prune::applyPlan(b.graph, planOf("pattern", pattern));  // first, last dense
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    EXPECT_EQ(expectSparseMatches(*pruned, 2), 2);
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    cpu::CpuOptions options;
    options.sparse = std::make_shared<codegen::SparseModel>(std::move(*compiled));
    auto exec = cpu::CpuExecutor::create(pruned->graph, options);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    (*exec)->setProfiling(true);
    ASSERT_TRUE((*exec)->run(testing::randomInputs(pruned->graph, 5)).ok());
    std::string steps;
    int changes = 0;
    for (const auto& t : (*exec)->lastStepTimes()) {
        changes += t.layoutChange;
        steps += t.where + "; ";
    }
    std::string kernels;
    for (const cpu::KernelChoice& c : (*exec)->kernelReport()) kernels += c.kernel + "; ";
    EXPECT_EQ(changes, 0) << steps << "\nkernels: " << kernels;
}

// The measured decision: a layer stays sparse only when it is minSpeedup times faster than its
// dense step (timings are not asserted: the two extremes make the outcome certain).
TEST(SparseExecutor, MeasuredDecisionKeepsOnlyFasterLayersAndSaysWhy) {
    auto graph = catalogModel("zoom-x2", 24, 32);
    if (!graph) GTEST_SKIP() << "zoom-x2 is not in the asset cache: run ./prunelab setup";
    auto plan = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(plan.ok());
    auto pruned = prune::applyPlan(*graph, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    auto countSparse = [](const codegen::SparseModel& m) {
        return std::count_if(m.layers.begin(), m.layers.end(), [](const codegen::LayerCode& l) {
            return l.kind != codegen::KernelKind::Dense;
        });
    };
    const auto before = countSparse(*compiled);
    ASSERT_GE(before, 14);

    cpu::MeasureOptions options;
    options.runs = 1;
    options.minSpeedup = 0;  // anything counts as fast enough
    auto kept = cpu::keepFasterKernels(pruned->graph, *compiled, options);
    ASSERT_TRUE(kept.ok()) << kept.error().toString();
    EXPECT_EQ(countSparse(*kept), before);
    ASSERT_FALSE(kept->passes.empty());
    EXPECT_EQ(kept->passes.back().pass, "measure");
    EXPECT_NE(kept->passes.back().dump.find("whole model"), std::string::npos);

    options.minSpeedup = 1e9;  // nothing is a billion times faster
    auto none = cpu::keepFasterKernels(pruned->graph, *compiled, options);
    ASSERT_TRUE(none.ok()) << none.error().toString();
    EXPECT_EQ(countSparse(*none), 0);
    for (const codegen::LayerCode& l : none->layers) {
        if (compiled->layers[static_cast<size_t>(l.index)].kind == codegen::KernelKind::Dense) {
            continue;
        }
        EXPECT_NE(l.decision.find("measured pattern"), std::string::npos) << l.decision;
        EXPECT_NE(l.decision.find("pruning never makes this layer slower"), std::string::npos);
    }
    // And the executor then runs none of them sparse.
    EXPECT_EQ(expectSparseMatches(*pruned, 1, {}, false), before) << "without measuring";
}

// The one compile pipeline: its measured decision is recorded typed and as a pass, it runs on
// the backend it is given (one that cannot run here is refused with its reason), and a set
// cancel flag stops it.
TEST(SparseExecutor, CompileForRecordsItsStepsAndMeasuresOnItsBackend) {
    auto graph = catalogModel("zoom-x2", 24, 32);
    if (!graph) GTEST_SKIP() << "zoom-x2 is not in the asset cache: run ./prunelab setup";
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    CompileForOptions options;
    options.generate = false;  // the generic kernels: no host compiler in this test's time
    options.measureRuns = 1;
    std::vector<CompileProgress::Step> steps;
    options.onProgress = [&steps](const CompileProgress& p) { steps.push_back(p.step); };
    auto compiled = compileFor(defaultBackend(), *pruned, options);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    ASSERT_TRUE(compiled->model);
    EXPECT_EQ(compiled->generated, nullptr);
    EXPECT_EQ(compiled->kernels, "generic sparse kernels");
    std::vector<std::string> passes;
    for (const codegen::PassRecord& p : compiled->model->passes) passes.push_back(p.pass);
    EXPECT_EQ(passes.front(), "analyse") << ::testing::PrintToString(passes);
    EXPECT_EQ(passes.back(), "measure") << ::testing::PrintToString(passes);
    ASSERT_TRUE(compiled->model->measured.has_value());
    EXPECT_EQ(compiled->model->measured->backend, "cpu");
    EXPECT_GE(compiled->model->measured->layers.size(), 14u);
    EXPECT_EQ(steps, std::vector<CompileProgress::Step>{CompileProgress::Step::Measuring});
    // What prepare() takes runs the model with exactly these layers.
    auto exec = defaultBackend().prepare(pruned->graph, compiled->prepareOptions(1));
    ASSERT_TRUE(exec.ok()) << exec.error().toString();

    for (const Backend* b : backends()) {
        if (b->available().ok()) continue;
        auto refused = compileFor(*b, *pruned, options);
        ASSERT_FALSE(refused.ok()) << b->name();
        EXPECT_EQ(refused.error().message, b->available().error().message);
    }
    std::atomic<bool> cancel{true};
    options.cancel = &cancel;
    auto cancelled = compileFor(defaultBackend(), pruned->graph, options);
    ASSERT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);
}

// Without a compiled model, or with every layer kept dense, nothing runs sparse.
TEST(SparseExecutor, DenseDecisionsKeepTheDenseKernels) {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 9, 9});
    b.output(b.op(OpKind::Conv, {x, b.randomConstant({4, 4, 3, 3})},
                  testing::convAttrs({1, 1}, {1, 1, 1, 1})));
    prune::ParamValues ns;
    ns.set("rate", 0.5);
    prune::PruningPlan plan = planOf("non_structured", ns);
    plan.keepFirstLast = false;
    auto pruned = prune::applyPlan(b.graph, plan);
    ASSERT_TRUE(pruned.ok());
    codegen::ChooseOptions strict;
    strict.csrMaxDensity = 0.1;  // density 0.5 stays dense
    EXPECT_EQ(expectSparseMatches(*pruned, 1, strict), 0);
    EXPECT_EQ(expectSparseMatches(*pruned, 1), 0) << "0.5 is above the default CSR threshold";
    strict.csrMaxDensity = 0.6;
    EXPECT_EQ(expectSparseMatches(*pruned, 1, strict), 1);
}

std::optional<Graph> catalogModel(const std::string& id, int64_t h, int64_t w) {
    auto g = plugins::loadCatalogModel(id, h, w);
    if (!g.ok()) return std::nullopt;
    return std::move(*g);
}

TEST(SparseExecutor, RealEsrganPatdnn8MatchesTheMaskedModel) {
    auto graph = catalogModel("zoom-x2", 40, 48);
    if (!graph) GTEST_SKIP() << "zoom-x2 is not in the asset cache: run ./prunelab setup";
    auto plan = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(plan.ok());
    auto pruned = prune::applyPlan(*graph, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    for (int threads : {1, 2}) {
        SCOPED_TRACE(threads);
        EXPECT_GE(expectSparseMatches(*pruned, threads), 14) << "the middle convs run sparse";
    }
}

TEST(SparseExecutor, BlazeFaceNonStructured90MatchesTheMaskedModel) {
    auto graph = catalogModel("face-front", 0, 0);
    if (!graph) GTEST_SKIP() << "face-front is not in the asset cache: run ./prunelab setup";
    prune::ParamValues ns;
    ns.set("rate", 0.9);
    auto pruned = prune::applyPlan(*graph, planOf("non_structured", ns));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    EXPECT_GE(expectSparseMatches(*pruned, 2), 10) << "CSR convs";
}

// Tile-wise on PP-OCR det: every kind of conv it has (1x1, 3x3, depthwise, stride 2) runs the
// tile kernels, one call per thread, with its learnable scalar affine folded in and its
// decomposed hardswish fused, and matches the masked model.
TEST(SparseExecutor, PpOcrDetTile75MatchesTheMaskedModel) {
    auto graph = catalogModel("text-finder", 64, 96);
    if (!graph) GTEST_SKIP() << "text-finder is not in the asset cache: run ./prunelab setup";
    auto plan = prune::presetPlan("tile-75");
    ASSERT_TRUE(plan.ok());
    auto pruned = prune::applyPlan(*graph, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    for (int threads : {1, 2}) {
        SCOPED_TRACE(threads);
        std::string kernels;
        EXPECT_GE(expectSparseMatches(*pruned, threads, {}, false, &kernels), 20)
            << "tile-wise convs";
        EXPECT_NE(kernels.find("sparse tile-wise 1x1 (generic, density 0.25"), std::string::npos)
            << kernels;
        EXPECT_NE(kernels.find("+affine+hardswish"), std::string::npos) << kernels;
    }
}

}  // namespace
}  // namespace prunelab::engine

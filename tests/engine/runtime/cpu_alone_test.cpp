// What a device agent links: the engine's core and the CPU runtime, nothing else (no ONNX,
// OpenCV, libtorch or Qt; engine_layers_link checks this test's link line). It builds a model in
// code, prunes a conv by hand, compiles it with compileFor and runs it against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ops/builder.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/reference_runner.h"

namespace prunelab::engine {
namespace {

Graph smallNet() {
    GraphBuilder b("agent-net", 7);
    const ValueId x = b.input("x", {1, 8, 12, 12});
    const ValueId c = b.relu(b.conv(x, 16, 3));
    b.output(b.relu(b.conv(c, 16, 3)));
    auto g = b.finish();
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return std::move(*g);
}

// Zeroes 7 of every 8 weights of the second conv, as non-structured pruning would.
void pruneSecondConv(Graph& graph) {
    const Node& conv = graph.nodes[2];
    ASSERT_EQ(conv.op, OpKind::Conv);
    Tensor& w = graph.value(conv.inputs[1]).constant;
    std::span<float> v = w.span<float>();
    for (size_t i = 0; i < v.size(); ++i) {
        if (i % 8 != 0) v[i] = 0.0f;
    }
}

Tensor input(uint32_t seed) {
    std::vector<float> v(1 * 8 * 12 * 12);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * seed) * 0.37f);
    return Tensor::fromVector<float>({1, 8, 12, 12}, v);
}

void expectNear(const Tensor& got, const Tensor& want) {
    ASSERT_EQ(got.shape(), want.shape());
    std::span<const float> a = got.span<float>(), b = want.span<float>();
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_NEAR(a[i], b[i], 1e-4f * (1.0f + std::abs(b[i]))) << "element " << i;
    }
}

TEST(CpuAlone, DenseModelMatchesTheReference) {
    const Graph graph = smallNet();
    auto exec = cpu::cpuBackend().prepare(graph, PrepareOptions{.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<Tensor> in = {input(3)};
    auto got = (*exec)->run(in);
    auto want = runGraphReference(graph, in);
    ASSERT_TRUE(got.ok() && want.ok());
    expectNear((*got)[0], (*want)[0]);
}

TEST(CpuAlone, PrunedModelCompilesAndRunsItsSparseLayer) {
    Graph graph = smallNet();
    pruneSecondConv(graph);
    CompileForOptions options;
    options.generate = false;  // the generic sparse kernels: no host compiler on a phone
    options.measure = false;   // keep the compiler's choice, so the sparse kernel surely runs
    auto compiled = compileFor(cpu::cpuBackend(), graph, options);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    int sparse = 0;
    for (const codegen::LayerCode& l : compiled->model->layers) {
        sparse += l.kind != codegen::KernelKind::Dense;
    }
    EXPECT_EQ(sparse, 1) << "the pruned conv should compile to a sparse layer";
    auto exec = cpu::cpuBackend().prepare(graph, compiled->prepareOptions(2));
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    bool ranSparse = false;
    for (const KernelChoice& k : (*exec)->kernelReport()) {
        ranSparse |= k.kernel.find("sparse") != std::string::npos ||
                     k.kernel.find("csr") != std::string::npos;
    }
    EXPECT_TRUE(ranSparse) << "no step of the kernel report runs a sparse kernel";
    const std::vector<Tensor> in = {input(5)};
    auto got = (*exec)->run(in);
    auto want = runGraphReference(graph, in);
    ASSERT_TRUE(got.ok() && want.ok());
    expectNear((*got)[0], (*want)[0]);
}

}  // namespace
}  // namespace prunelab::engine

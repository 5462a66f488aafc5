// Helpers for the runtime tests (see runtime_test_util.h).
#include "runtime_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../ops/ops_test_util.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"

namespace prunelab::engine::testing {

ValueId GraphBuilder::input(const Shape& shape, DataType dtype) {
    std::string name = "in";
    name += std::to_string(graph.inputs.size());
    const ValueId id = graph.addValue(name, dtype, shape);
    graph.inputs.push_back(id);
    return id;
}

ValueId GraphBuilder::constant(const Tensor& value) {
    std::string name = std::to_string(m_counter++);
    name.insert(name.begin(), 'c');
    return graph.addConstant(name, value);
}

ValueId GraphBuilder::randomConstant(const Shape& shape) {
    return constant(randomTensor(shape, m_seed++));
}

ValueId GraphBuilder::op(OpKind kind, std::vector<ValueId> inputs, Attributes attrs) {
    auto outs = ops(kind, std::move(inputs), std::move(attrs), 1);
    return outs.empty() ? kNoValue : outs[0];
}

std::vector<ValueId> GraphBuilder::ops(OpKind kind, std::vector<ValueId> inputs, Attributes attrs,
                                       int outputs) {
    Node probe;
    probe.op = kind;
    probe.inputs = inputs;
    probe.attrs = attrs;
    probe.outputs.assign(static_cast<size_t>(outputs), kNoValue);
    std::vector<TensorInfo> info;
    Status st = inferNode(graph, probe, info);
    if (!st.ok()) {
        ADD_FAILURE() << opName(kind) << ": " << st.error().toString();
        return {};
    }
    // Built by appending: GCC 12's -Wrestrict misfires on operator+ chains here.
    std::string name(opName(kind));
    name += '_';
    name += std::to_string(m_counter++);
    std::vector<ValueId> outIds;
    for (int o = 0; o < outputs; ++o) {
        std::string valueName = name;
        valueName += "_out";
        valueName += std::to_string(o);
        outIds.push_back(graph.addValue(valueName, info[static_cast<size_t>(o)].dtype,
                                        info[static_cast<size_t>(o)].shape));
    }
    graph.addNode(kind, name, std::move(inputs), outIds, std::move(attrs));
    return outIds;
}

std::vector<Tensor> randomInputs(const Graph& graph, uint32_t seed) {
    std::vector<Tensor> inputs;
    for (ValueId id : graph.inputs) inputs.push_back(randomTensor(graph.value(id).shape, seed++));
    return inputs;
}

std::unique_ptr<Executor> expectMatchesReference(const Graph& graph, int threads, uint32_t seed,
                                                 float relTol, const Backend& backend) {
    PrepareOptions options;
    options.threads = threads;
    return expectMatchesReference(graph, options, seed, relTol, backend);
}

std::unique_ptr<Executor> expectMatchesReference(const Graph& graph, const PrepareOptions& options,
                                                 uint32_t seed, float relTol,
                                                 const Backend& backend) {
    const int threads = options.threads;
    const std::vector<Tensor> inputs = randomInputs(graph, seed);
    auto expected = runGraphReference(graph, inputs);
    if (!expected.ok()) {
        ADD_FAILURE() << "reference: " << expected.error().toString();
        return nullptr;
    }
    auto exec = backend.prepare(graph, options);
    if (!exec.ok()) {
        ADD_FAILURE() << "prepare on " << backend.name() << ": " << exec.error().toString();
        return nullptr;
    }
    // Twice: the second run reuses every planned buffer, which must not leak state.
    for (int round = 0; round < 2; ++round) {
        auto got = (*exec)->run(inputs);
        if (!got.ok()) {
            ADD_FAILURE() << "run: " << got.error().toString();
            return nullptr;
        }
        EXPECT_EQ(got->size(), expected->size());
        for (size_t i = 0; i < got->size() && i < expected->size(); ++i) {
            const Tensor& e = (*expected)[i];
            const std::vector<float> ev = e.toFloatVector();
            float lo = 0.0f;
            float hi = 0.0f;
            if (!ev.empty()) {
                lo = *std::min_element(ev.begin(), ev.end());
                hi = *std::max_element(ev.begin(), ev.end());
            }
            const float tol = relTol * std::max(hi - lo, 1.0f);
            EXPECT_EQ((*got)[i].shape(), e.shape()) << "output " << i;
            EXPECT_LE(maxAbsDiff((*got)[i], e), tol)
                << "output " << i << " (" << backend.name() << ", threads " << threads << ", run "
                << round << ")";
        }
    }
    return std::move(*exec);
}

KernelChoice reportFor(const Executor& executor, const Graph& graph, const std::string& nodeName) {
    for (const Node& n : graph.nodes) {
        if (n.name != nodeName) continue;
        const std::string d = graph.describeNode(n);
        for (const KernelChoice& c : executor.kernelReport()) {
            if (c.node == d) return c;
        }
    }
    return {};
}

Attributes convAttrs(std::vector<int64_t> strides, std::vector<int64_t> pads,
                     std::vector<int64_t> dilations, int64_t group) {
    Attributes a;
    a.set("strides", std::move(strides));
    a.set("pads", std::move(pads));
    a.set("dilations", std::move(dilations));
    a.set("group", group);
    return a;
}

}  // namespace prunelab::engine::testing

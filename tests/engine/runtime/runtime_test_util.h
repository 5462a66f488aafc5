// Helpers for the runtime tests: build small graphs by hand (shapes come from each op's own
// shape inference) and compare a runtime's outputs with runGraphReference.
#pragma once

#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/runtime/backend_list.h"

namespace prunelab::engine::testing {

class GraphBuilder {
  public:
    ValueId input(const Shape& shape, DataType dtype = DataType::Float32);
    ValueId constant(const Tensor& value);
    ValueId randomConstant(const Shape& shape);
    // Adds a node; its output value gets the shape the op's inference gives (a test failure
    // and kNoValue when inference refuses it).
    ValueId op(OpKind kind, std::vector<ValueId> inputs, Attributes attrs = {});
    std::vector<ValueId> ops(OpKind kind, std::vector<ValueId> inputs, Attributes attrs,
                             int outputs);
    void output(ValueId id) {
        if (id != kNoValue) graph.outputs.push_back(id);  // a failed op() already failed the test
    }

    Graph graph;

  private:
    int m_counter = 0;
    uint32_t m_seed = 100;
};

// Random inputs for every graph input (float in [-1, 1)).
std::vector<Tensor> randomInputs(const Graph& graph, uint32_t seed);

// Runs `graph` on `backend` (default: the CPU) with `threads` and through the reference runner,
// and checks every output within tolerance relTol * max(range of the reference output, 1).
// Returns the executor (null after a failure) so callers can inspect its reports.
std::unique_ptr<Executor> expectMatchesReference(const Graph& graph, int threads, uint32_t seed = 7,
                                                 float relTol = 1e-4f,
                                                 const Backend& backend = defaultBackend());
// The same with every prepare option given (fp16 storage, compiled layers...).
std::unique_ptr<Executor> expectMatchesReference(const Graph& graph, const PrepareOptions& options,
                                                 uint32_t seed, float relTol,
                                                 const Backend& backend);

// The report entry of the node named `name` (empty kernel when absent).
KernelChoice reportFor(const Executor& executor, const Graph& graph, const std::string& nodeName);

Attributes convAttrs(std::vector<int64_t> strides, std::vector<int64_t> pads,
                     std::vector<int64_t> dilations = {1, 1}, int64_t group = 1);

}  // namespace prunelab::engine::testing

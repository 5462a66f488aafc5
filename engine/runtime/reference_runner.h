// Runs a Graph node by node with the ops' plain reference kernels: the slow, obviously
// correct ground truth that every fast path (CPU, generated, Vulkan) is compared against.
#pragma once

#include <span>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine {

// Inputs in graph.inputs order with the declared dtype and shape (checked). Returns the
// outputs in graph.outputs order. Thread-safe: no shared state.
Result<std::vector<Tensor>> runGraphReference(const Graph& graph, std::span<const Tensor> inputs);

// Runs node `k` of `graph` with its reference kernel, reading its inputs from `slots` (one tensor
// per value) and writing its outputs there; the error names the node. Backends that fall back to
// the reference per node share it.
Status runNodeReference(const Graph& graph, size_t k, std::vector<Tensor>& slots);

// Checks that `inputs` match the graph's declared inputs (count, dtype, shape) and says which
// input is wrong and how. Shared by every runtime.
Status checkGraphInputs(const Graph& graph, std::span<const Tensor> inputs);

}  // namespace prunelab::engine

// Structured pruning applied to a whole graph: choose the channels each dependency group
// keeps, zero the rest in place (the masked model), or delete them (the physical shrink: a
// smaller dense model that gives the same outputs as the masked one and exports to ONNX).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/dependency.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

// Per group (same order as the groups), the sorted channel indices in [0, group.channels)
// that survive. A non-prunable group must keep all its channels; every group keeps at least
// one (a layer with no filters is not a valid model).
using KeptChannels = std::vector<std::vector<int64_t>>;

// Ranks each prunable group with the structured scheme over its producers' filters (summed
// norm, so tied layers lose the same channels); non-prunable groups keep everything.
// `values` are the structured scheme's parameters; axis is forced to "filters". Errors: bad
// parameters, or a rate that would remove every channel of a group.
Result<KeptChannels> selectKeptChannels(const Graph& graph,
                                        const std::vector<DependencyGroup>& groups,
                                        const ParamValues& values);

// The masked model: same shapes, with each pruned channel's producer filters and bias
// entries, depthwise filters and bias, and the consumers' input-channel weights set to zero,
// so the pruned channels no longer influence anything and shrinkStructured() with the same
// arguments gives the same outputs.
Result<Graph> maskStructured(const Graph& graph, const std::vector<DependencyGroup>& groups,
                             const KeptChannels& kept);

// The physical shrink: removes the pruned output channels from producers (weights and bias),
// the matching input channels from consumers, and the per-channel constants on the way
// (depthwise convs and their group count, BatchNormalization, PRelu slopes, per-channel
// Mul/Add/Sub/Div constants); Concats shrink through their inputs' shapes. Shapes are
// re-inferred and the result verified. `groups` must come from findDependencyGroups(graph).
Result<Graph> shrinkStructured(const Graph& graph, const std::vector<DependencyGroup>& groups,
                               const KeptChannels& kept);

// The whole structured pipeline in one call, for the CLI and the plan code: groups, the
// channels each keeps at the scheme's rate and norm, the masked model and the shrunk one.
struct StructuredPruning {
    std::vector<DependencyGroup> groups;
    KeptChannels kept;
    Graph masked;
    Graph shrunk;
};
Result<StructuredPruning> pruneStructured(const Graph& graph, const ParamValues& values);

}  // namespace prunelab::engine::prune

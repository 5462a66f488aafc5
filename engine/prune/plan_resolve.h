// Internal to engine/prune: how a plan is resolved on a graph before anything is projected
// (each layer's entry and why, the projection units, the structured groups). applyPlan and
// projectionSpec both call resolvePlan, so the exported projections read a plan exactly as ours.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/prune/dependency.h"
#include "engine/prune/plan.h"

namespace prunelab::engine::prune::detail {

// What one layer gets before projection.
struct LayerDecision {
    LayerPruning::How how = LayerPruning::How::Dense;
    std::string scheme;  // empty when dense
    ParamValues params;
    std::string reason;
};

// Layers that one scheme call projects together (one layer; all layers of a global ranking or
// a model-wide pattern set), in prunableLayers() order.
struct ProjectionUnit {
    std::string scheme;
    ParamValues params;
    std::vector<size_t> members;  // indices into ResolvedPlan::layers
};

// A plan with structured entries: one channel ranking over the whole model.
struct StructuredResolution {
    ParamValues params;  // the structured entries' parameters (they must all agree)
    std::vector<DependencyGroup> groups;
    // Per group: one of its producers stays dense, so the group keeps every channel (the
    // ranking still runs first and still fails when the rate would empty the group).
    std::vector<uint8_t> keepAll;
    // Per group: its producers' indices into ResolvedPlan::layers.
    std::vector<std::vector<size_t>> producerLayers;
};

struct ResolvedPlan {
    std::vector<Layer> layers;          // prunableLayers(graph)
    std::vector<LayerWeights> weights;  // per layer, the [out][in/g][kh][kw] view
    std::vector<LayerDecision> decisions;
    std::vector<ProjectionUnit> units;  // plans without structured entries, first-layer order
    std::optional<StructuredResolution> structured;  // plans with structured entries
};

// Validates the plan for the graph and resolves it. Errors name the layer (an unsupported
// layer with an unsupported fallback; a structured plan that prunes other layers with another
// scheme or with different structured parameters; weights that are not float32).
Result<ResolvedPlan> resolvePlan(const Graph& graph, const PruningPlan& plan);

}  // namespace prunelab::engine::prune::detail

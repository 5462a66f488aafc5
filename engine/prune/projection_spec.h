// The projection spec: a pruning plan resolved on a graph exactly as applyPlan resolves it,
// written as JSON for code outside the engine that re-implements the projections (the exported
// PyTorch script's engine/train/python/prunelab_projection.py), so both project the same units.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"

namespace prunelab::engine::prune {

inline constexpr int kProjectionSpecVersion = 1;

// {"version": 1,
//  "layers": [{"index": i, "name": NAME, "shape": [out, in/groups, kh, kw], "groups": g,
//              "dense": bool, "how": "dense"|"scheme"|"fallback", "scheme": ID or "",
//              "reason": TEXT}, ...]                       (prunableLayers() order),
//  "units": [{"scheme": ID, "params": {KEY: number|string|bool}, "layers": [i, ...]}, ...]}
// Each unit is one scheme call (Scheme::project) over its layers, in order; a layer in no unit
// stays as it is with a mask of ones. A plan with structured entries has one unit, scheme
// "structured", whose "layers" are every layer any group masks, plus
//   "groups": [{"channels": C, "prunable": bool, "keep_all": bool, "description": TEXT,
//               "producers": [{"layer": i, "offset": o}],   filters [o, o + C) of layer i
//               "consumers": [{"layer": i, "offset": o}],   input channels [o, o + C)
//               "depthwise": [{"layer": i, "offset": o}]}]  filters [o, o + C) of a depthwise
// (prunable groups are ranked by their producers' filter norms; keep_all: a producer stays
// dense, so after that ranking the group keeps every channel). Layers keep the weight's
// [out][in/g][kh][kw] view (Gemm/MatMul: [out][in][1][1]); weights are not included.
// Errors: those of applyPlan's resolution (validatePlanForGraph, unsupported layers, mixed
// structured plans), naming the layer.
Result<nlohmann::json> projectionSpec(const Graph& graph, const PruningPlan& plan);

}  // namespace prunelab::engine::prune

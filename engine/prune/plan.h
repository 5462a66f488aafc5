// Pruning plans: which scheme (and parameters) each prunable layer gets, as versioned JSON, and
// applying a plan to a graph to get the pruned model (zeros in place) plus each layer's masks
// and the reason it got what it got. Applying is deterministic. Thread-safe: no shared state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/layer_view.h"
#include "engine/ir/result.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

inline constexpr int kPlanVersion = 1;  // the newest plan version this build reads and writes

// One layer's (or the default) choice: keep dense, or a scheme id with its parameters.
struct PlanEntry {
    bool dense = false;
    std::string scheme;  // Scheme::id(), empty when dense
    ParamValues params;

    static PlanEntry keepDense() { return PlanEntry{true, {}, {}}; }
    static PlanEntry make(std::string schemeId, ParamValues values) {
        return PlanEntry{false, std::move(schemeId), std::move(values)};
    }
    bool operator==(const PlanEntry& other) const = default;
};

struct PruningPlan {
    int version = kPlanVersion;
    PlanEntry defaultEntry = PlanEntry::keepDense();  // for layers not named in `layers`
    std::map<std::string, PlanEntry> layers;          // by Layer::name
    // Layers the chosen scheme does not support (pattern: not 3x3) go to this scheme, with
    // `fallbackParams`, or when those are empty with the entry's parameters that the fallback
    // scheme also takes (so "rate" carries over). The applied result says so per layer.
    std::string fallbackScheme = "non_structured";
    ParamValues fallbackParams;
    // The first and the last prunable layer stay dense (they are small and sensitive), unless
    // `layers` names them explicitly.
    bool keepFirstLast = true;

    bool operator==(const PruningPlan& other) const = default;
};

// ---- JSON ----
// {"version": 1, "default": "dense" | {"scheme": ID, "params": {KEY: number|string|bool}},
//  "layers": {NAME: "dense" | {...}}, "fallback": {"scheme": ID, "params": {...}},
//  "keepFirstLast": true}
// Errors name the JSON path ("$.layers["conv2"].params: parameter 'rate' = 1 is outside
// [0, 0.999]") and use `source` (a file name) as context. Parsing validates every entry against
// its scheme's params() (validatePlan; `checkSchemes` false skips that, for tools and tests that
// read plans for schemes this build lacks), but not layer names, which need a graph.
Result<PruningPlan> parsePlanJson(std::string_view text, const std::string& source = {},
                                  bool checkSchemes = true);
Result<PruningPlan> loadPlanFile(const std::string& path);
std::string planToJson(const PruningPlan& plan);  // pretty-printed; parse(toJson(p)) == p
Status savePlanFile(const PruningPlan& plan, const std::string& path);

// Known schemes, parameters valid for them, rates (keys "rate" or "*_rate") in [0, 1), a
// supported version. Errors name the JSON path.
Status validatePlan(const PruningPlan& plan);
// validatePlan plus: every layer the plan names exists among the graph's prunable layers.
Status validatePlanForGraph(const PruningPlan& plan, const Graph& graph);

// ---- presets ----
// "uniform-50", "uniform-75", "uniform-90" (non_structured), "patdnn-8" (pattern, 8 patterns,
// connectivity rate 1 - 1/3.6; non-3x3 layers fall back to non_structured at the same density,
// rate 1 - 4/(9 * 3.6)), "tile-75" (tile_wise, rate 0.75). Parameter keys used:
// non_structured {rate}, pattern {patterns, connectivity_rate}, tile_wise {rate}.
std::vector<std::string> presetNames();
Result<PruningPlan> presetPlan(std::string_view name);  // NotFound lists the known names

// ---- applying ----

struct LayerPruning {
    enum class How { Dense, Scheme, Fallback };
    Layer layer;  // the layer view entry (name, shapes, MACs, storage)
    How how = How::Dense;
    std::string scheme;  // the scheme that projected it (the fallback's when How::Fallback)
    ParamValues params;  // the parameters it was projected with
    std::string reason;  // "default entry", "first layer kept dense (keepFirstLast)", ...
    // Masks, patterns, tiles; for a dense layer: the weights and an all-ones mask.
    LayerProjection projection;
};

struct PrunedModel {
    Graph graph;  // a copy of the input with the projected weights written in (zeros in place)
    PruningPlan plan;
    std::vector<LayerPruning> layers;  // every prunable layer, in prunableLayers() order
    // Structured plans: the physical shrink, a smaller dense model with the same outputs as
    // `graph` (engine/prune/shrink.h). Empty otherwise.
    std::optional<Graph> shrunk;
};

// The weights of one layer in the [out][in/g][kh][kw] view schemes read (float32 only).
Result<LayerWeights> layerWeights(const Graph& graph, const Layer& layer);
// The inverse: writes `view` ([out][in/g][kh][kw] float32) into a fresh copy of the layer's
// weight constant (graph copies share tensor storage, so other copies stay untouched).
Status setLayerWeights(Graph& graph, const Layer& layer, const Tensor& view);

// Groups layers into projection units (one per layer; all layers of one "global"-scope or
// "model"-scope entry form one unit), projects each with its scheme and writes the results into
// a copy of the graph. Structured entries prune whole dependency groups model-wide (they must
// share parameters; other layers may then only be kept dense) and also give the shrunk model.
Result<PrunedModel> applyPlan(const Graph& graph, const PruningPlan& plan);

}  // namespace prunelab::engine::prune

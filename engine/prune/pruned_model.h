// What a pruned model saves (engine/onnx/plab_file.h writes and reads the files). Two forms, both
// plain ONNX that any runtime loads:
//  - an exported .onnx: the pruned weights (zeros in place) with the plan and the statistics in
//    metadata_props ("prunelab.plan", "prunelab.stats");
//  - a PruneLab model file (.plab): the same ONNX model with, in addition, "prunelab.format"
//    ("plab/1") and "prunelab.layers": per prunable layer how it was pruned (dense / scheme /
//    fallback, scheme, parameters, reason), its pattern set and kernel patterns, its tile
//    structure, and its mask stored compactly as the list of kept weights that are exactly
//    zero (mask = weight != 0, plus those). Loading it gives back the PrunedModel losslessly,
//    except a structured plan's shrunk model, which is not stored (prune --shrunk writes it).
// Thread-safe: no shared state.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "engine/prune/plan.h"

namespace prunelab::engine::prune {

inline constexpr const char* kPlabFormat = "plab/1";

// "prunelab.plan" and "prunelab.stats" for an exported ONNX model.
std::map<std::string, std::string> prunedOnnxMetadata(const PrunedModel& model);

// The .plab metadata (the above plus format and layers). Internal if a pruned weight is not 0.
Result<std::map<std::string, std::string>> plabMetadata(const PrunedModel& model);
// Rebuilds a PrunedModel from an imported graph whose metadata holds a .plab's keys.
Result<PrunedModel> prunedModelFromGraph(Graph graph);
// Whether the graph carries a .plab's metadata.
bool isPlabGraph(const Graph& graph);

// A model pruned before it came here (a TFLite file's sparse weights, a pruned ONNX from another
// tool) seen as a PrunedModel, so the views show its own pruning: when at least 10% of its
// prunable weights are exactly zero, each layer with 5% zeros or more is recorded as
// non_structured at its own rate (its zeros are its mask), the others dense. nullopt for a dense
// model: the few zeros trained weights have (0.25% in Real-ESRGAN) are not pruning.
std::optional<PrunedModel> prunedModelFromZeros(const Graph& graph);

// The weights of `trained` carried onto `dense`, the same model imported at another input size:
// the values a trainer changes (conv, gemm and matmul weights and biases, PReLU slopes,
// normalisation scale and shift) are copied into a copy of `dense`, and `trained`'s metadata
// (its plan, statistics and .plab records) joins `dense`'s. InvalidArgument names the first node
// or value that differs.
Result<Graph> transplantWeights(const Graph& trained, const Graph& dense);

// The same for a pruned model (e.g. a retrained .plab saved at the size it was trained at):
// masks, patterns, tiles and the plan are kept as they are. A structured plan is applied again
// on the result to give its shrunk model (pruned channels are all zero, so the same go).
Result<PrunedModel> rebindPrunedModel(const PrunedModel& trained, const Graph& dense);

}  // namespace prunelab::engine::prune

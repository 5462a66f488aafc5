// Pruned models as files: an exported pruned .onnx and the PruneLab model file (.plab), whose
// metadata prune/pruned_model.h defines. Here in onnx/, so pruning itself links no ONNX.
// Thread-safe: no shared state.
#pragma once

#include <string>

#include "engine/onnx/onnx_import.h"
#include "engine/prune/pruned_model.h"

namespace prunelab::engine::prune {

// The pruned weights (zeros in place) with "prunelab.plan" and "prunelab.stats".
Status exportPrunedOnnx(const PrunedModel& model, const std::string& path);
Status savePlabFile(const PrunedModel& model, const std::string& path);
// Corrupt naming the key when the metadata is missing or inconsistent with the weights.
Result<PrunedModel> loadPlabFile(const std::string& path, const OnnxImportOptions& options = {});

}  // namespace prunelab::engine::prune

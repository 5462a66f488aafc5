// Pruned models as files: an exported pruned .onnx and the PruneLab model file (.plab), whose
// metadata prune/pruned_model.h defines. Here in onnx/, so pruning itself links no ONNX.
// Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>

#include "engine/onnx/onnx_import.h"
#include "engine/prune/pruned_model.h"

namespace prunelab::engine::prune {

// The pruned weights (zeros in place) with "prunelab.plan" and "prunelab.stats".
Status exportPrunedOnnx(const PrunedModel& model, const std::string& path);
Status savePlabFile(const PrunedModel& model, const std::string& path);
// Corrupt naming the key when the metadata is missing or inconsistent with the weights.
Result<PrunedModel> loadPlabFile(const std::string& path, const OnnxImportOptions& options = {});
// The same from the file's bytes (the fuzzer's entry point); `name` stands for the path in
// errors, and external data is refused (a .plab keeps its weights inline).
Result<PrunedModel> loadPlabBytes(std::string_view bytes, const std::string& name,
                                  const OnnxImportOptions& options = {});

}  // namespace prunelab::engine::prune

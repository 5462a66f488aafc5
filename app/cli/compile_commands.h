// prunelab-cli's compiler commands: compile (the sparse compiler's passes on a pruned model,
// each pass's state and every layer's decision written to a folder) and the sparse lane of
// bench --compare.
#pragma once

#include <string>

#include "app/cli/model_loader.h"
#include "engine/codegen/sparse_ir.h"

namespace prunelab::cli {

// The compiler's layers for a loaded model: a .plab's own record of its schemes (patterns,
// tiles), else what the zeros in a pruned ONNX model show.
engine::Result<engine::codegen::SparseModel> compileLoadedModel(const LoadedModel& model);

// Writes OUT_DIR/passes/<n>-<pass>.txt (the IR after each pass), OUT_DIR/layers.txt (every
// layer's kind and decision) and prints the decision table.
int cmdCompile(const ModelRequest& request, const std::string& outDir);

}  // namespace prunelab::cli

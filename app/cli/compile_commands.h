// prunelab-cli's compiler commands: compile (the sparse compiler's passes on a pruned model,
// each pass's state and every layer's decision written to a folder) and the sparse lane of
// bench --compare.
#pragma once

#include <memory>
#include <string>

#include "app/cli/cli.h"
#include "engine/codegen/sparse_ir.h"
#include "engine/runtime/backend.h"
#include "engine/runtime/cpu/sparse/jit.h"

namespace prunelab::cli {

// The compiler's layers for a loaded model: a .plab's own record of its schemes (patterns,
// tiles), else what the zeros in a pruned ONNX model show.
// With `tune`, the tune pass (cpu::tune, default options: this machine's caches) runs
// first. With `generated`, the layers' generated code is compiled (cached) into *generated; when
// no compiler runs it stays null and a line on stderr says the generic kernels run. With
// `measureThreads` > 0 every sparse layer is then timed against its dense kernel at that thread
// count, with the kernels that will run (generated or generic), and kept only where faster
// (cpu::keepFasterKernels).
engine::Result<engine::codegen::SparseModel> compileLoadedModel(
    const LoadedModel& model, int measureThreads = 0, bool tune = false,
    std::shared_ptr<const engine::GeneratedKernels>* generated = nullptr,
    const engine::Backend* backend = nullptr);  // where to measure; null: the CPU

// Writes OUT_DIR/passes/<n>-<pass>.txt (the IR after each pass), OUT_DIR/layers.txt (every
// layer's kind and decision), OUT_DIR/src/ (the generated C++ as a standalone CMake package, for
// another target) and prints the decision table. With `build`, also compiles the generated code
// for this machine (cached, one library per layer) and copies the libraries to
// OUT_DIR/kernels/layer_<i>.so. With `measure`,
// layers slower than dense on this machine (1 thread) are kept dense. With `tune`, the tune
// pass's choices (and its record, passes/NN-tune.txt) come first.
int cmdCompile(const ModelRequest& request, const std::string& outDir, bool build, bool measure,
               bool tune = false, const engine::Backend* backend = nullptr);

}  // namespace prunelab::cli

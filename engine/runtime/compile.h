// The one compile pipeline: a pruned model for a backend, analyse -> choose -> pack -> reorder
// (codegen::compileLayers, target-neutral), then the backend's own steps (Backend::
// generateAndMeasure): tune -> emit + build (cached) -> measure (the measured decision there).
// The CLI, the Live tab and the workbench's tabs all call it, so they agree on every decision;
// each step is recorded in the model's passes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/runtime/backend.h"

namespace prunelab::engine::prune {
struct PrunedModel;
}

namespace prunelab::engine {

// Where a compile stands, for a progress line.
struct CompileProgress {
    enum class Step { Compiling, Measuring };
    Step step = Step::Compiling;
    int done = 0, total = 0;  // Compiling: generated layers ready (cached or built) of all
    int built = 0;            // of those, made by the compiler
};

struct CompileForOptions {
    bool tune = false;  // time block sizes and unrolling per pattern layer first (cached)
    // Emit and host-compile the layers' code (cached). Without a compiler the generic sparse
    // kernels run, and CompiledForBackend::kernels says why.
    bool generate = true;
    // The measured decision: a layer stays sparse only where it measured faster, with the
    // kernels that will run (generated, else generic).
    bool measure = true;
    int measureThreads = 1;
    int measureRuns = 7;
    std::string kernelCache;  // empty: the user's cache
    // Set to stop: a compile in progress is killed and the result is Cancelled.
    const std::atomic<bool>* cancel = nullptr;
    // From the compiling threads, one call at a time.
    std::function<void(const CompileProgress&)> onProgress;
};

struct CompiledForBackend {
    std::shared_ptr<const codegen::SparseModel> model;  // layers, passes, measured
    std::shared_ptr<const GeneratedKernels> generated;  // null: the generic kernels
    std::string kernels;  // "generated kernels" or "generic sparse kernels (...why...)"
    // What backend.prepare() takes to run the model with these layers.
    PrepareOptions prepareOptions(int threads) const;
};

// `pruned.graph` holds the pruned weights; the plan's record (patterns, tiles) guides packing.
Result<CompiledForBackend> compileFor(const Backend& backend, const prune::PrunedModel& pruned,
                                      const CompileForOptions& options = {});
// Any pruned graph: a .plab's (its patterns and tiles), or a pruned ONNX (read from its zeros).
Result<CompiledForBackend> compileFor(const Backend& backend, const Graph& pruned,
                                      const CompileForOptions& options = {});

}  // namespace prunelab::engine

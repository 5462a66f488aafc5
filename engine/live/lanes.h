// The two lanes of the live demo: PruneLab's dense runtime, and the compiled pruned model (the
// sparse compiler's kernels in the same executor). Both get the same thread count; a lane is a
// RunModel, so the app can add ONNX Runtime as an external dense reference the same way.
#pragma once

#include <atomic>
#include <string>

#include "engine/ir/graph.h"
#include "engine/prune/plan.h"
#include "engine/tasks/catalog.h"

namespace prunelab::engine::live {

struct Lane {
    std::string name;    // "PruneLab dense", "PruneLab compiled", "ONNX Runtime"
    std::string detail;  // one line: what runs ("16 of 18 layers sparse, generated kernels")
    RunModel run;        // one call at a time; called from the pipeline's thread only
};

Result<Lane> denseLane(const Graph& graph, int threads);

struct CompiledLaneOptions {
    int threads = 1;
    // Generate and host-compile the pattern layers' code (cached); without a compiler the
    // generic sparse kernels run and `detail` says why.
    bool generate = true;
    // The measured decision (cpu::keepFasterKernels): layers not faster sparse run dense.
    bool measure = true;
    int measureRuns = 5;
    // Set to stop: a compile in progress is killed and the lane comes back Cancelled.
    const std::atomic<bool>* cancel = nullptr;
};

// The plan with its pruning rate set to `rate` (0..0.95) in every entry that has one: "rate",
// or for pattern entries "connectivity_rate" (the share of kernels removed). A pattern plan's
// fallback keeps the same density as its pattern layers (4 of 9 weights of the kept kernels).
// The live demo's slider.
prune::PruningPlan planAtRate(prune::PruningPlan plan, double rate);
// The rate planAtRate would change: the default entry's (or the first layer entry's); -1 when
// the plan has none.
double planRate(const prune::PruningPlan& plan);

// `pruned.graph` holds the pruned weights; the lane computes exactly what it does.
Result<Lane> compiledLane(const prune::PrunedModel& pruned, const CompiledLaneOptions& options);
// A pruned graph: a .plab's (its patterns and tiles) or any pruned ONNX (read from its zeros).
Result<Lane> compiledLane(const Graph& pruned, const CompiledLaneOptions& options);

}  // namespace prunelab::engine::live

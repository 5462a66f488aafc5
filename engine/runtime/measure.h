// The compiler's measured decision, on any backend: each sparse layer is timed against the dense
// kernel on the device that will run it, in place in the model, and kept sparse only when it is
// faster, so that pruning never makes a layer slower. codegen::choose()'s thresholds are a guess.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/runtime/backend.h"

namespace prunelab::engine {

struct MeasureOptions {
    int threads = 1;
    int runs = 7;  // profiled runs of each executor; the medians decide
    // A layer stays sparse when dense ms >= sparse ms * minSpeedup (1: never slower).
    double minSpeedup = 1.0;
    std::shared_ptr<const GeneratedKernels> generated;  // time these kernels, if given
    // Where to measure. Required here; cpu::keepFasterKernels defaults it to the CPU.
    const Backend* backend = nullptr;
};

// One executor's profile: the median ms of each step (by its `where`, layout changes apart) and
// of whole runs, and how much of a run the layout changes take.
struct StepMedians {
    std::map<std::string, double> byStep;  // compute steps only
    double totalMs = 0;                    // median over runs of the whole run
    double layoutChangeMs = 0;             // median over runs of the layout changes' sum
    double of(const std::string& where) const {
        auto it = byStep.find(where);
        return it == byStep.end() ? 0 : it->second;
    }
};
// Warms up, then profiles `runs` runs of each executor, alternating (so a noisy neighbour hits
// both alike): what the measured decision and bench --compare's per-layer table both read.
Result<std::pair<StepMedians, StepMedians>> profileAlternating(Executor& a, Executor& b,
                                                               std::span<const Tensor> inputs,
                                                               int runs);

// Runs `graph` with and without `model`'s sparse layers on options.backend (random inputs) and
// turns every sparse layer that was not at least minSpeedup faster than its dense step into a
// Dense one, its decision saying both times. Then the whole model: when the remaining sparse
// layers plus the layout changes around them are not minSpeedup faster than dense, all of them
// turn dense. Fills model.measured and appends a "measure" PassRecord with every time.
// InvalidArgument without a backend.
Result<codegen::SparseModel> keepFasterKernels(const Graph& graph, codegen::SparseModel model,
                                               const MeasureOptions& options);

}  // namespace prunelab::engine

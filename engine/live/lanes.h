// The two lanes of the live demo: PruneLab's dense runtime, and the compiled pruned model (the
// sparse compiler's kernels in the same executor). Both get the same thread count; a lane is a
// RunModel, so the app can add ONNX Runtime as an external dense reference the same way.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>

#include "engine/ir/graph.h"
#include "engine/prune/plan.h"
#include "engine/runtime/compile.h"
#include "engine/tasks/catalog.h"

namespace prunelab::engine::live {

struct Lane {
    std::string name;    // "PruneLab dense", "PruneLab compiled", "ONNX Runtime"
    std::string detail;  // one line: what runs ("16 of 18 layers sparse, generated kernels")
    RunModel run;        // one call at a time; called from the pipeline's thread only
    // A lane on a backend that runs elsewhere (a phone, an agent): its last run's time on the
    // device's own clock and the link's (Executor::lastRunSplit), read after each run on the
    // pipeline's thread. Empty for a lane on this computer.
    std::function<std::optional<Executor::RunSplit>()> lastSplit;
    // On a remote backend: a run that fails with Io there is the link dropping
    // (LiveRunOptions::onLinkLost), not a bug in the model.
    bool remote = false;
};

// The backend runs on another device over a link (phone[:SERIAL], agent:HOST:PORT): its lanes
// report the device's time and the link's apart, and may lose the link.
bool runsElsewhere(const Backend& backend);

// `backend`: where the lane runs (backend_list.inc); null: the default, the CPU.
Result<Lane> denseLane(const Graph& graph, int threads, const Backend* backend = nullptr);

// Where building a compiled lane stands, for a progress line: the compile pipeline's own.
using LaneProgress = CompileProgress;

struct CompiledLaneOptions {
    int threads = 1;  // the lane's threads; the measured decision times at the same count
    const Backend* backend = nullptr;  // where the lane runs; null: the default, the CPU
    // How the lane's model is compiled (engine/runtime/compile.h): generated kernels (without a
    // compiler the generic sparse kernels run and `detail` says why), the measured decision,
    // cancel, the kernel cache and progress. Fewer timed runs than the CLI's: a class waits.
    CompileForOptions compile{.measureRuns = 5};
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

// Lane B for a demo that must not wait. The lane with generated kernels builds on a thread of its
// own; when it is not ready within `patience` (the compiler is running: a first Real-ESRGAN
// compile takes about a minute on 2 cores), the generic sparse kernels, built at once and not
// measured, stand in until it is, and the caller swaps it in (LivePipeline::replaceLaneB).
class StagedLane {
  public:
    // `build(options)` makes the lane (compiledLane on the caller's model); it runs on another
    // thread, so it must own what it reads. `options.generate` off: nothing to wait for, start()
    // builds the one lane.
    using Build = std::function<Result<Lane>(const CompiledLaneOptions&)>;
    StagedLane(Build build, CompiledLaneOptions options,
               std::chrono::milliseconds patience = std::chrono::milliseconds(1000));
    ~StagedLane();  // waits for the build: cancel it first (options.cancel) not to wait long
    StagedLane(const StagedLane&) = delete;
    StagedLane& operator=(const StagedLane&) = delete;

    // The lane to run first (call once): the generated one when it was ready in time, else the
    // generic stand-in, whose detail says the full build is on its way.
    Result<Lane> start();
    // The stand-in runs and the generated lane is still to be taken.
    bool pending() const { return m_pending; }
    // The generated lane once it is built (pending() turns false), nullopt while it builds; an
    // error (named; Cancelled when cancelled) leaves the stand-in to run.
    std::optional<Result<Lane>> takeReady();
    // takeReady(), waiting for the build.
    Result<Lane> waitReady();

  private:
    Build m_build;
    CompiledLaneOptions m_options;
    std::chrono::milliseconds m_patience;
    std::future<Result<Lane>> m_full;
    bool m_pending = false;
};

}  // namespace prunelab::engine::live

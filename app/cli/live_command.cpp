// prunelab-cli live: the live demo without a window (what `./prunelab run` shows on a machine
// with no display): frames from a video, camera or picture through the dense model and the
// compiled pruned one, the same frames and threads for both, and the numbers a class would see.
#include "app/cli/live_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/cli/cli.h"
#include "engine/live/live_recorder.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "plugins/model-files/demo_models.h"
#include "plugins/refrt/ort_lane.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

bool isPreset(const std::string& name) {
    for (const std::string& p : prune::presetNames()) {
        if (p == name) return true;
    }
    return false;
}

// Without --pruned: the catalog's bundled pruned-and-retrained demo when the model has one,
// else patdnn-8 on the dense weights (not retrained), saying which.
Result<live::Lane> defaultPrunedLane(const CatalogEntry& entry, const LoadedModel& dense,
                                     const live::CompiledLaneOptions& options) {
    if (entry.demo) {
        auto demo = plugins::loadDemoModel(entry, dense.graph);
        if (demo.ok()) {
            std::printf("  pruned model: the bundled demo, pruned and retrained (%s)\n",
                        entry.demo->words.c_str());
            std::fflush(stdout);
            return live::compiledLane(*demo, options);
        }
        std::printf("  ! the bundled demo could not be loaded: %s\n",
                    demo.error().toString().c_str());
    }
    std::printf("  pruned model: patdnn-8 on the dense weights, not retrained (%s)\n",
                entry.demo ? "its demo failed" : "no bundled demo for this model");
    std::fflush(stdout);
    PL_TRY_ASSIGN(prune::PruningPlan plan, prune::presetPlan("patdnn-8"));
    auto pruned = prune::applyPlan(dense.graph, plan);
    if (!pruned.ok()) return pruned.error().within(dense.path);
    return live::compiledLane(*pruned, options);
}

// Lane B's compile, as it goes: one line a terminal rewrites, or in a log a line every few
// seconds, so a first compile (about a minute for Real-ESRGAN on 2 cores) is never silent.
std::function<void(const live::LaneProgress&)> progressPrinter() {
    using Clock = std::chrono::steady_clock;
    const bool terminal = ::isatty(::fileno(stdout)) != 0;
    auto last = std::make_shared<Clock::time_point>();
    return [terminal, last](const live::LaneProgress& p) {
        if (p.step == live::LaneProgress::Step::Measuring) {
            std::printf("  measuring which layers run faster sparse on this computer...\n");
        } else if (p.total > 0) {
            const bool end = p.done == p.total;
            const auto now = Clock::now();
            if (!terminal && !end && p.done > 0 && now - *last < std::chrono::seconds(3)) return;
            *last = now;
            // Done counts failures too (a compile that timed out); the built count is exact.
            std::printf(
                "%s  compiling generated kernels: %d of %d layers done (%d compiled here)%s",
                terminal ? "\r" : "", p.done, p.total, p.built, !terminal || end ? "\n" : "");
        }
        std::fflush(stdout);
    };
}

// The pruned lane from a preset, a plan file (applied to the dense model here) or a pruned
// model file bound to the dense model's size; the default when none is given.
Result<live::Lane> prunedLane(const LiveRequest& request, const CatalogEntry& entry,
                              const LoadedModel& dense, const live::CompiledLaneOptions& options) {
    const std::string& what = request.pruned;
    if (what.empty()) return defaultPrunedLane(entry, dense, options);
    if (isPreset(what) || std::filesystem::path(what).extension() == ".json") {
        PL_TRY_ASSIGN(prune::PruningPlan plan,
                      isPreset(what) ? prune::presetPlan(what) : prune::loadPlanFile(what));
        auto pruned = prune::applyPlan(dense.graph, plan);
        if (!pruned.ok()) return pruned.error().within(dense.path);
        return live::compiledLane(*pruned, options);
    }
    ModelRequest model = request.model;
    model.path = what;
    PL_TRY_ASSIGN(LoadedModel loaded, loadModel(model));
    if (loaded.graph.value(loaded.graph.inputs[0]).shape !=
        dense.graph.value(dense.graph.inputs[0]).shape) {
        return makeError(ErrorCode::InvalidArgument,
                         "its input shape differs from the dense model's (give both the same "
                         "--size)",
                         what);
    }
    return live::compiledLane(loaded.graph, options);
}

Result<live::Lane> referenceLane(const LiveRequest& request, const LoadedModel& dense,
                                 const Backend& backend) {
    if (request.reference == "prunelab")
        return live::denseLane(dense.graph, request.threads, &backend);
    if (request.reference == "ort")
        return refrt::onnxRuntimeLane(dense.graph, request.threads, dense.path);
    return makeError(ErrorCode::InvalidArgument, "--reference is prunelab or ort",
                     request.reference);
}

void printSummary(const live::LiveRunSummary& s, int threads) {
    const live::LiveStats& st = s.stats;
    std::printf("\n  %-22s %10s %10s %8s\n", "", "median ms", "p90 ms", "fps");
    std::printf("  %-22s %10.2f %10.2f %8.1f\n", "lane A (dense)", st.a.median, st.a.p90,
                st.a.fps());
    std::printf("  %-22s %10.2f %10.2f %8.1f\n", "lane B (pruned)", st.b.median, st.b.p90,
                st.b.fps());
    // A lane on a phone (or any agent): its own clock's time and the link's, apart.
    auto remoteRows = [](const char* lane, const live::LatencySummary& device,
                         const live::LatencySummary& link) {
        if (device.count == 0) return;
        std::printf("  %-22s %10.2f %10.2f\n", (std::string(lane) + " on the device").c_str(),
                    device.median, device.p90);
        std::printf("  %-22s %10.2f %10.2f\n", (std::string(lane) + " link").c_str(), link.median,
                    link.p90);
    };
    remoteRows("  A", st.aDevice, st.aLink);
    remoteRows("  B", st.bDevice, st.bLink);
    std::printf("  %-22s %10.2f %10.2f\n", "overhead per frame", st.overhead.median,
                st.overhead.p90);
    // End to end, each lane alone would pay its run plus the frame's overhead.
    const double e2eA = st.a.median + st.overhead.median;
    const double e2eB = st.b.median + st.overhead.median;
    const double engine = st.speedup();
    const double e2e = e2eB > 0 ? e2eA / e2eB : 0;
    if (st.speedupOnDevice()) {
        // Dense there against pruned there: the link, which pruning does not change, stays out.
        std::printf("\n  speedup on the device (its own clock):     %.2fx\n", engine);
    } else {
        std::printf("\n  speedup, engine only (median lane times):  %.2fx\n", engine);
    }
    std::printf("  speedup, end to end (lane + overhead):     %.2fx  (%.0f%% of the engine's)\n",
                e2e, engine > 0 ? 100.0 * e2e / engine : 0.0);
    std::printf("  overhead: %.1f%% of the pruned lane's frame time\n",
                e2eB > 0 ? 100.0 * st.overhead.median / e2eB : 0.0);
    std::printf(
        "  frames: %lld processed, %lld captured, %lld dropped (only the newest frame "
        "is processed), %d thread(s) per lane\n",
        static_cast<long long>(s.processed), static_cast<long long>(s.captured),
        static_cast<long long>(s.dropped), threads);
}

}  // namespace

int cmdLive(const LiveRequest& request) {
    if (request.threads < 1) {
        return fail(makeError(ErrorCode::InvalidArgument, "--threads must be 1 or more"));
    }
    if (request.frames < 1) {
        return fail(makeError(ErrorCode::InvalidArgument, "--frames must be 1 or more"));
    }
    auto backend = findBackend(request.backend);
    if (!backend.ok()) return fail(backend.error());
    auto entry = resolveEntry(request.model);
    if (!entry.ok()) return fail(entry.error());
    if (!*entry) {
        return fail(makeError(ErrorCode::InvalidArgument,
                              "live needs a catalog model to know how to feed and draw it (a "
                              "catalog id, or --as ID)",
                              request.model.path));
    }
    const std::string bundled = assetCacheDir() + "/video/vtest.avi";
    auto spec = live::parseSource(request.source, bundled);
    if (!spec.ok()) return fail(spec.error());
    if (!request.cameraSize.empty()) {
        auto size = parseSize(request.cameraSize);
        if (!size.ok()) return fail(size.error().within("--camera-size"));
        spec->width = static_cast<int>(size->first);
        spec->height = static_cast<int>(size->second);
    }
    auto source = live::openSource(*spec);
    if (!source.ok()) return fail(source.error());

    auto dense = loadModel(request.model);
    if (!dense.ok()) return fail(dense.error());
    std::printf("live: %s on %s, %d thread(s) per lane, %d frames\n", (*entry)->name.c_str(),
                (*source)->describe().c_str(), request.threads, request.frames);
    auto laneA = referenceLane(request, *dense, **backend);
    if (!laneA.ok()) return fail(laneA.error());
    live::CompiledLaneOptions options;
    options.threads = request.threads;
    options.backend = *backend;
    options.compile.generate = !request.generic;
    options.compile.measure = !request.noMeasure;
    options.compile.onProgress = progressPrinter();
    std::printf(
        "  compiling the pruned model (generated kernels are cached after the first "
        "time)...\n");
    std::fflush(stdout);
    auto laneB = prunedLane(request, **entry, *dense, options);
    if (!laneB.ok()) {
        return fail(request.pruned.empty() ? laneB.error() : laneB.error().within(request.pruned));
    }
    std::printf("  lane A: %s (%s)\n  lane B: %s (%s)\n", laneA->name.c_str(),
                laneA->detail.c_str(), laneB->name.c_str(), laneB->detail.c_str());

    const double fps = (*source)->fps();
    live::FrameGrabber grabber(std::move(*source), [spec = *spec, bundled]() {
        // A camera or file that fails mid-stream: the bundled video keeps the demo going.
        auto fallback = live::parseSource("vtest.avi", bundled);
        if (!fallback.ok()) return Result<std::unique_ptr<live::FrameSource>>(fallback.error());
        fallback->pace = spec.pace;
        return live::openSource(*fallback);
    });
    live::LivePipeline pipeline(
        **entry, dense->graph.value(dense->graph.inputs[0]).shape, std::move(*laneA),
        std::move(*laneB),
        {static_cast<size_t>(std::max(request.frames, 1)), false, !request.recordPath.empty()});
    std::unique_ptr<live::LiveRecorder> recorder;
    if (!request.recordPath.empty() || !request.csvPath.empty()) {
        auto opened = live::LiveRecorder::open(request.recordPath, request.csvPath, fps);
        if (!opened.ok()) return fail(opened.error());
        recorder = std::move(*opened);
    }
    live::LiveRunOptions run;
    run.frames = request.frames;
    run.onMessage = [](const std::string& m) { std::printf("  ! %s\n", m.c_str()); };
    auto summary = live::runLive(grabber, pipeline, recorder.get(), run);
    grabber.stop();
    if (!summary.ok()) return fail(summary.error());
    if (recorder) {
        Status closed = recorder->close();
        if (!closed.ok()) return fail(closed.error());
    }
    printSummary(*summary, request.threads);
    if (!request.recordPath.empty()) std::printf("  clip: %s\n", request.recordPath.c_str());
    if (!request.csvPath.empty()) std::printf("  per-frame CSV: %s\n", request.csvPath.c_str());
    return 0;
}

}  // namespace prunelab::cli

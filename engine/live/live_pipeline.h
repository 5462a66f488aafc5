// One frame through both lanes, honestly: the same pre-processed input, the same threads, the
// lanes one after the other (alternating which goes first), each timed around its run() alone,
// with capture, pre- and post-processing and drawing timed apart as overhead.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/live/frame_grabber.h"
#include "engine/live/lanes.h"
#include "engine/live/rolling_stats.h"

namespace prunelab::engine::live {

struct LaneOutput {
    TaskResult result;            // faces, text boxes or the enhanced picture, in frame pixels
    std::vector<Tensor> outputs;  // the raw outputs, kept when LiveOptions::keepOutputs
    double ms = 0;                // run() alone
    // A remote lane's (Lane::lastSplit) part of `ms`: the device's own time and the link's.
    std::optional<double> deviceMs, linkMs;
    Image drawn;  // the frame with the result drawn (LiveOptions::draw)
};

struct LiveFrame {
    int64_t seq = 0;
    Image before;  // the frame at the size the model sees (the "before" side of a split view)
    LaneOutput a, b;
    double captureMs = 0, preMs = 0, postMs = 0, drawMs = 0;
    double overheadMs() const { return captureMs + preMs + postMs + drawMs; }
};

struct LiveStats {
    std::string laneA, laneB;  // names, with lane B's detail
    LatencySummary a, b;       // rolling over the last `window` frames
    LatencySummary overhead;   // capture + pre + post + draw per frame
    // A remote lane's device and link times, apart (count 0 for a lane on this computer).
    LatencySummary aDevice, aLink, bDevice, bLink;
    int64_t frames = 0;  // frames through both lanes
    int64_t laneBSwaps = 0;
    // Both lanes on a remote device: the speedup compares their times on the device's own clock,
    // dense there against pruned there; the link, which neither model changes, stays out.
    bool speedupOnDevice() const { return aDevice.count > 0 && bDevice.count > 0; }
    // Dense median over pruned median: the speedup a person sees.
    double speedup() const {
        if (speedupOnDevice()) return bDevice.median > 0 ? aDevice.median / bDevice.median : 0;
        return b.median > 0 ? a.median / b.median : 0;
    }
    // How far apart the medians must be before the speedup means something: the larger lane's
    // spread, (p90 - median) / median, between 5% and 50%. On a busy machine, a few frames of two
    // lanes running the same kernels read "1.6x faster" by chance; their spread says so.
    double speedupNoise() const {
        auto spread = [](const LatencySummary& l) {
            return l.median > 0 ? (l.p90 - l.median) / l.median : 0.0;
        };
        const double worst = speedupOnDevice() ? std::max(spread(aDevice), spread(bDevice))
                                               : std::max(spread(a), spread(b));
        return std::clamp(worst, 0.05, 0.5);
    }
};

struct LiveOptions {
    size_t window = 60;        // frames in the rolling medians
    bool keepOutputs = false;  // keep each lane's raw outputs (tests compare them)
    bool draw = true;
};

// Thread-safe: process() on one thread (the pipeline's), stats() and replaceLaneB() from any.
class LivePipeline {
  public:
    // `inputShape`: the model's image input bound for the frames (inputSizeFor).
    LivePipeline(CatalogEntry entry, Shape inputShape, Lane a, Lane b, LiveOptions options = {});

    Result<LiveFrame> process(const Image& frame, int64_t seq = 0, double captureMs = 0);

    // Swaps lane B in at the next frame (after a re-prune and compile in the background); its
    // rolling numbers start again, since they measured another model.
    void replaceLaneB(Lane b);
    // Both lanes at once, from the next frame (a remote link lost: this computer's lanes); every
    // rolling number starts again, and a lane B waiting to be swapped in is dropped.
    void replaceLanes(Lane a, Lane b);
    // The error of the last process() when it was a remote lane's link (an Io from its run),
    // once; nullopt otherwise.
    std::optional<Error> takeLinkLost();
    LiveStats stats() const;
    const CatalogEntry& entry() const { return m_entry; }

  private:
    Result<LaneOutput> runLane(const Lane& lane, const TaskInput& input, const Image& frame,
                               double& postMs, double& drawMs);

    CatalogEntry m_entry;
    Shape m_inputShape;
    LiveOptions m_options;
    mutable std::mutex m_mutex;  // guards everything below
    Lane m_a, m_b;
    std::optional<Lane> m_nextB;
    RollingStats m_statsA, m_statsB, m_overhead;
    RollingStats m_deviceA, m_linkA, m_deviceB, m_linkB;
    std::optional<Error> m_linkLost;
    int64_t m_frames = 0, m_swaps = 0;
};

class LiveRecorder;

// What a run goes on with when a remote lane's link drops: this computer's lanes, and the words
// to report (LiveRunOptions::onMessage, LiveRunSummary::messages).
struct LaneFallback {
    Lane a, b;
    std::string message;
};

struct LiveRunOptions {
    int64_t frames = 0;  // stop after this many processed frames; 0 = until `stop`
    std::chrono::milliseconds frameTimeout{10000};  // no frame for this long: an error
    const std::atomic<bool>* stop = nullptr;
    // After each frame; returning false stops the run.
    std::function<bool(const LiveFrame&, const LiveStats&)> onFrame;
    std::function<void(const std::string&)> onMessage;  // the grabber's switches and errors
    // A remote lane's link dropped (its run() failed with Io; `lost` names the lane): the lanes
    // to go on with, on the pipeline's thread; the frame is skipped and the run goes on. Empty,
    // or an error from it: the run ends with the error.
    std::function<Result<LaneFallback>(const Error& lost)> onLinkLost;
};

struct LiveRunSummary {
    LiveStats stats;
    int64_t processed = 0, captured = 0, dropped = 0;
    int64_t fallbacks = 0;  // links lost and replaced (onLinkLost)
    std::vector<std::string> messages;
};

// Starts the grabber if needed, and processes the newest frame each time until done. An error
// when capture ends with no fallback left or a lane fails (naming the lane).
Result<LiveRunSummary> runLive(FrameGrabber& grabber, LivePipeline& pipeline,
                               LiveRecorder* recorder, const LiveRunOptions& options);

}  // namespace prunelab::engine::live

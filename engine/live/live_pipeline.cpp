// The live pipeline's per-frame steps and its run loop (see live_pipeline.h).
#include "engine/live/live_pipeline.h"

#include "engine/live/live_recorder.h"
#include "engine/tasks/draw.h"

namespace prunelab::engine::live {

namespace {

using Clock = std::chrono::steady_clock;

// How often a run waiting for a frame looks at its stop flag.
constexpr std::chrono::milliseconds kStopCheck{50};

double msSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

LivePipeline::LivePipeline(CatalogEntry entry, Shape inputShape, Lane a, Lane b,
                           LiveOptions options)
    : m_entry(std::move(entry)),
      m_inputShape(std::move(inputShape)),
      m_options(options),
      m_a(std::move(a)),
      m_b(std::move(b)),
      m_statsA(options.window),
      m_statsB(options.window),
      m_overhead(options.window) {
    // Pre- and post-processing on the pipeline's thread: the lanes' thread counts are the only
    // cores in use, and no OpenCV worker outlives the process's end (see image.h).
    runOpenCvOnCallingThread();
}

Result<LaneOutput> LivePipeline::runLane(const Lane& lane, const TaskInput& input,
                                         const Image& frame, double& postMs, double& drawMs) {
    LaneOutput out;
    const auto start = Clock::now();
    auto outputs = lane.run(std::span<const Tensor>(&input.tensor, 1));
    out.ms = msSince(start);
    if (!outputs.ok()) return outputs.error().within(lane.name);
    const auto post = Clock::now();
    PL_TRY_ASSIGN(out.result, decodeOutputs(m_entry, *outputs, input.mapping));
    postMs += msSince(post);
    if (m_options.keepOutputs) out.outputs = std::move(*outputs);
    if (m_options.draw) {
        const auto draw = Clock::now();
        out.drawn = drawResult(frame, out.result);
        drawMs += msSince(draw);
    }
    return out;
}

Result<LiveFrame> LivePipeline::process(const Image& frame, int64_t seq, double captureMs) {
    // Both lanes are taken under the lock, then run outside it: a swap waits for no frame.
    Lane a, b;
    bool bFirst = false;
    {
        std::lock_guard lock(m_mutex);
        if (m_nextB) {
            m_b = std::move(*m_nextB);
            m_nextB.reset();
            m_statsB.clear();
            ++m_swaps;
        }
        a = m_a;
        b = m_b;
        // Alternate which lane runs first, so neither always inherits the other's warm caches.
        bFirst = (m_frames % 2) == 1;
    }
    LiveFrame f;
    f.seq = seq;
    f.captureMs = captureMs;
    const auto pre = Clock::now();
    PL_TRY_ASSIGN(TaskInput input, prepareInput(m_entry, frame, m_inputShape));
    f.preMs = msSince(pre);
    if (bFirst) {
        PL_TRY_ASSIGN(f.b, runLane(b, input, frame, f.postMs, f.drawMs));
        PL_TRY_ASSIGN(f.a, runLane(a, input, frame, f.postMs, f.drawMs));
    } else {
        PL_TRY_ASSIGN(f.a, runLane(a, input, frame, f.postMs, f.drawMs));
        PL_TRY_ASSIGN(f.b, runLane(b, input, frame, f.postMs, f.drawMs));
    }
    f.before = std::move(input.picture);
    std::lock_guard lock(m_mutex);
    m_statsA.add(f.a.ms);
    m_statsB.add(f.b.ms);
    m_overhead.add(f.overheadMs());
    ++m_frames;
    return f;
}

void LivePipeline::replaceLaneB(Lane b) {
    std::lock_guard lock(m_mutex);
    m_nextB = std::move(b);
}

LiveStats LivePipeline::stats() const {
    std::lock_guard lock(m_mutex);
    LiveStats s;
    s.laneA = m_a.name;
    s.laneB = m_b.name + (m_b.detail.empty() ? "" : " (" + m_b.detail + ")");
    s.a = m_statsA.summary();
    s.b = m_statsB.summary();
    s.overhead = m_overhead.summary();
    s.frames = m_frames;
    s.laneBSwaps = m_swaps;
    return s;
}

Result<LiveRunSummary> runLive(FrameGrabber& grabber, LivePipeline& pipeline,
                               LiveRecorder* recorder, const LiveRunOptions& options) {
    LiveRunSummary summary;
    auto report = [&](const std::string& message) {
        summary.messages.push_back(message);
        if (options.onMessage) options.onMessage(message);
    };
    grabber.start();
    int64_t last = 0;
    while (options.frames == 0 || summary.processed < options.frames) {
        if (options.stop && options.stop->load()) break;
        // In slices, so that a stop is seen while a slow source has no frame yet.
        std::optional<GrabbedFrame> frame;
        const auto deadline = Clock::now() + options.frameTimeout;
        for (auto now = Clock::now(); !frame && now < deadline; now = Clock::now()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
            frame = grabber.takeNewest(last, std::min(left, kStopCheck));
            if (grabber.error() || (options.stop && options.stop->load())) break;
        }
        for (const std::string& m : grabber.takeMessages()) report(m);
        if (!frame) {
            if (options.stop && options.stop->load()) break;
            if (auto error = grabber.error()) return *error;
            return makeError(ErrorCode::Io,
                             "no frame for " + std::to_string(options.frameTimeout.count()) + " ms",
                             grabber.sourceName());
        }
        last = frame->seq;
        PL_TRY_ASSIGN(LiveFrame f, pipeline.process(frame->image, frame->seq, frame->captureMs));
        ++summary.processed;
        if (recorder) PL_TRY(recorder->add(f, pipeline.stats()));
        if (options.onFrame && !options.onFrame(f, pipeline.stats())) break;
    }
    for (const std::string& m : grabber.takeMessages()) report(m);
    summary.stats = pipeline.stats();
    summary.captured = grabber.captured();
    summary.dropped = grabber.dropped();
    return summary;
}

}  // namespace prunelab::engine::live

// The live pipeline's per-frame steps and its run loop (see live_pipeline.h).
#include "engine/live/live_pipeline.h"

#include "engine/live/live_recorder.h"
#include "engine/tasks/draw.h"

#include <utility>

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
      m_overhead(options.window),
      m_deviceA(options.window),
      m_linkA(options.window),
      m_deviceB(options.window),
      m_linkB(options.window) {
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
    if (!outputs.ok()) {
        Error e = outputs.error().within(lane.name);
        if (lane.remote && e.code == ErrorCode::Io) {
            std::lock_guard lock(m_mutex);
            m_linkLost = e;
        }
        return e;
    }
    if (lane.lastSplit) {
        if (const std::optional<Executor::RunSplit> split = lane.lastSplit()) {
            out.deviceMs = split->deviceMs;
            out.linkMs = split->linkMs;
        }
    }
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
    Lane old;  // a swapped-out lane B ends outside the lock: a remote one says BYE first
    bool bFirst = false;
    {
        std::lock_guard lock(m_mutex);
        m_linkLost.reset();
        if (m_nextB) {
            old = std::exchange(m_b, std::move(*m_nextB));
            m_nextB.reset();
            m_statsB.clear();
            m_deviceB.clear();
            m_linkB.clear();
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
    if (f.a.deviceMs) m_deviceA.add(*f.a.deviceMs);
    if (f.a.linkMs) m_linkA.add(*f.a.linkMs);
    if (f.b.deviceMs) m_deviceB.add(*f.b.deviceMs);
    if (f.b.linkMs) m_linkB.add(*f.b.linkMs);
    m_overhead.add(f.overheadMs());
    ++m_frames;
    return f;
}

void LivePipeline::replaceLaneB(Lane b) {
    std::lock_guard lock(m_mutex);
    m_nextB = std::move(b);
}

void LivePipeline::replaceLanes(Lane a, Lane b) {
    // The old lanes end outside the lock: a remote lane's end says BYE and stops its agent,
    // which stats() on the UI thread must not wait for.
    std::optional<Lane> oldNext;
    std::lock_guard lock(m_mutex);
    std::swap(m_a, a);
    std::swap(m_b, b);
    oldNext = std::exchange(m_nextB, std::nullopt);
    for (RollingStats* s :
         {&m_statsA, &m_statsB, &m_overhead, &m_deviceA, &m_linkA, &m_deviceB, &m_linkB})
        s->clear();
}

std::optional<Error> LivePipeline::takeLinkLost() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_linkLost, std::nullopt);
}

LiveStats LivePipeline::stats() const {
    std::lock_guard lock(m_mutex);
    LiveStats s;
    s.laneA = m_a.name;
    s.laneB = m_b.name + (m_b.detail.empty() ? "" : " (" + m_b.detail + ")");
    s.a = m_statsA.summary();
    s.b = m_statsB.summary();
    s.overhead = m_overhead.summary();
    s.aDevice = m_deviceA.summary();
    s.aLink = m_linkA.summary();
    s.bDevice = m_deviceB.summary();
    s.bLink = m_linkB.summary();
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
        auto processed = pipeline.process(frame->image, frame->seq, frame->captureMs);
        if (!processed.ok()) {
            // A remote lane's link lost: the run goes on with the fallback's lanes, once they
            // are made; the old lanes (and their sessions) end when the pipeline lets them go.
            std::optional<Error> lost = pipeline.takeLinkLost();
            if (!lost || !options.onLinkLost) return processed.error();
            PL_TRY_ASSIGN(LaneFallback fallback, options.onLinkLost(*lost));
            pipeline.replaceLanes(std::move(fallback.a), std::move(fallback.b));
            ++summary.fallbacks;
            report(fallback.message);
            continue;
        }
        LiveFrame& f = *processed;
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

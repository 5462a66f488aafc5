// The capture thread and its one-frame slot (see frame_grabber.h). Everything the thread touches
// lives in a State it co-owns, so a thread stuck in a device read can be let go at stop().
#include "engine/live/frame_grabber.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <pthread.h>

namespace prunelab::engine::live {

struct FrameGrabber::State {
    mutable std::mutex mutex;  // guards everything below but the atomics
    std::condition_variable changed;
    std::unique_ptr<FrameSource> source;
    SourceFactory fallback;
    bool usingFallback = false;
    std::optional<GrabbedFrame> slot;
    std::vector<std::string> messages;
    std::optional<Error> error;
    std::string sourceName;
    bool finished = false;  // the capture loop returned
    std::atomic<bool> stop{false};
    std::atomic<int64_t> captured{0}, dropped{0};
};

namespace {

using State = FrameGrabber::State;

void captureLoop(State& s) {
    int64_t seq = 0;
    while (!s.stop) {
        Result<Image> frame = s.source->read();
        if (s.stop) break;  // a frame read or a wait cut short while stopping: not a failure
        if (!frame.ok()) {
            std::string message = frame.error().toString();
            std::unique_ptr<FrameSource> next;
            if (s.fallback && !s.usingFallback) {
                auto opened = s.fallback();
                if (opened.ok()) {
                    next = std::move(*opened);
                    next->setStopFlag(&s.stop);
                } else {
                    message += "; the fallback failed too: " + opened.error().toString();
                }
            }
            std::lock_guard lock(s.mutex);
            if (!next) {
                s.error = frame.error();
                s.messages.push_back(message + "; capture stopped");
                return;
            }
            s.messages.push_back(message + "; showing " + next->describe() + " instead");
            s.source = std::move(next);
            s.usingFallback = true;
            s.sourceName = s.source->describe();
            continue;
        }
        GrabbedFrame g;
        g.image = std::move(*frame);
        g.seq = ++seq;
        g.captureMs = s.source->lastReadMs();
        std::lock_guard lock(s.mutex);
        g.source = s.sourceName;
        if (s.slot) ++s.dropped;
        s.slot = std::move(g);
        ++s.captured;
        s.changed.notify_all();
    }
}

}  // namespace

FrameGrabber::FrameGrabber(std::unique_ptr<FrameSource> source, SourceFactory fallback)
    : m_state(std::make_shared<State>()) {
    m_state->source = std::move(source);
    m_state->fallback = std::move(fallback);
    if (m_state->source) {
        m_state->sourceName = m_state->source->describe();
        m_state->source->setStopFlag(&m_state->stop);
    }
    runOpenCvOnCallingThread();  // decoding and colour conversion on this thread only
}

FrameGrabber::~FrameGrabber() {
    stop();
}

void FrameGrabber::start() {
    if (m_thread.joinable() || !m_state->source) return;
    m_state->stop = false;
    {
        std::lock_guard lock(m_state->mutex);
        m_state->finished = false;
    }
    m_thread = std::thread([state = m_state] {
        pthread_setname_np(pthread_self(), "pl-capture");  // what a person sees in top -H
        captureLoop(*state);
        std::lock_guard lock(state->mutex);
        state->finished = true;
        state->changed.notify_all();
    });
}

void FrameGrabber::stop(std::chrono::milliseconds patience) {
    m_state->stop = true;
    m_state->changed.notify_all();
    if (!m_thread.joinable()) return;
    bool finished = false;
    {
        std::unique_lock lock(m_state->mutex);
        finished = m_state->changed.wait_for(lock, patience, [&] { return m_state->finished; });
    }
    if (finished) {
        m_thread.join();
    } else {
        m_thread.detach();  // it holds its State; the read's return ends it
    }
}

std::optional<GrabbedFrame> FrameGrabber::takeNewest(int64_t afterSeq,
                                                     std::chrono::milliseconds timeout) {
    State& s = *m_state;
    std::unique_lock lock(s.mutex);
    s.changed.wait_for(lock, timeout, [&] {
        return (s.slot && s.slot->seq > afterSeq) || s.error.has_value() || s.finished ||
               s.stop.load();
    });
    if (!s.slot || s.slot->seq <= afterSeq) return std::nullopt;
    std::optional<GrabbedFrame> out = std::move(s.slot);
    s.slot.reset();
    return out;
}

int64_t FrameGrabber::captured() const {
    return m_state->captured.load();
}

int64_t FrameGrabber::dropped() const {
    return m_state->dropped.load();
}

std::vector<std::string> FrameGrabber::takeMessages() {
    std::lock_guard lock(m_state->mutex);
    return std::exchange(m_state->messages, {});
}

std::optional<Error> FrameGrabber::error() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->error;
}

std::string FrameGrabber::sourceName() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->sourceName;
}

}  // namespace prunelab::engine::live

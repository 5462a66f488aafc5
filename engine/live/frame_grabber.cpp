// The capture thread and its one-frame slot (see frame_grabber.h).
#include "engine/live/frame_grabber.h"

namespace prunelab::engine::live {

FrameGrabber::FrameGrabber(std::unique_ptr<FrameSource> source, SourceFactory fallback)
    : m_source(std::move(source)), m_fallback(std::move(fallback)) {
    if (m_source) m_sourceName = m_source->describe();
    runOpenCvOnCallingThread();  // decoding and colour conversion on this thread only
}

FrameGrabber::~FrameGrabber() {
    stop();
}

void FrameGrabber::start() {
    if (m_thread.joinable() || !m_source) return;
    m_stop = false;
    m_thread = std::thread([this] { loop(); });
}

void FrameGrabber::stop() {
    m_stop = true;
    m_changed.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void FrameGrabber::loop() {
    int64_t seq = 0;
    while (!m_stop) {
        Result<Image> frame = m_source->read();
        if (!frame.ok()) {
            std::string message = frame.error().toString();
            std::unique_ptr<FrameSource> next;
            if (m_fallback && !m_usingFallback) {
                auto opened = m_fallback();
                if (opened.ok()) {
                    next = std::move(*opened);
                } else {
                    message += "; the fallback failed too: " + opened.error().toString();
                }
            }
            std::lock_guard lock(m_mutex);
            if (!next) {
                m_error = frame.error();
                m_messages.push_back(message + "; capture stopped");
                m_changed.notify_all();
                return;
            }
            m_messages.push_back(message + "; showing " + next->describe() + " instead");
            m_source = std::move(next);
            m_usingFallback = true;
            m_sourceName = m_source->describe();
            continue;
        }
        GrabbedFrame g;
        g.image = std::move(*frame);
        g.seq = ++seq;
        g.captureMs = m_source->lastReadMs();
        std::lock_guard lock(m_mutex);
        g.source = m_sourceName;
        if (m_slot) ++m_dropped;
        m_slot = std::move(g);
        ++m_captured;
        m_changed.notify_all();
    }
}

std::optional<GrabbedFrame> FrameGrabber::takeNewest(int64_t afterSeq,
                                                     std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [&] {
        return (m_slot && m_slot->seq > afterSeq) || m_error.has_value() || m_stop.load();
    });
    if (!m_slot || m_slot->seq <= afterSeq) return std::nullopt;
    std::optional<GrabbedFrame> out = std::move(m_slot);
    m_slot.reset();
    return out;
}

std::vector<std::string> FrameGrabber::takeMessages() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_messages, {});
}

std::optional<Error> FrameGrabber::error() const {
    std::lock_guard lock(m_mutex);
    return m_error;
}

std::string FrameGrabber::sourceName() const {
    std::lock_guard lock(m_mutex);
    return m_sourceName;
}

}  // namespace prunelab::engine::live

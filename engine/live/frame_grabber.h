// Capture on its own thread, keeping only the newest frame: a slow model makes the demo skip
// frames, never fall behind the camera or fill memory. A source that fails mid-stream is
// replaced by the fallback (the bundled video) with a message, so the picture never freezes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/live/frame_source.h"

namespace prunelab::engine::live {

struct GrabbedFrame {
    Image image;
    int64_t seq = 0;       // 1, 2, ... in capture order over every source
    double captureMs = 0;  // time spent reading and decoding it (the pace's wait excluded)
    std::string source;    // describe() of the source it came from
};

// Opens the source to switch to when the current one fails; an error ends capture.
using SourceFactory = std::function<Result<std::unique_ptr<FrameSource>>()>;

class FrameGrabber {
  public:
    // `fallback` may be empty: then a failing source ends capture with its error.
    FrameGrabber(std::unique_ptr<FrameSource> source, SourceFactory fallback = {});
    ~FrameGrabber();  // stops and joins
    FrameGrabber(const FrameGrabber&) = delete;
    FrameGrabber& operator=(const FrameGrabber&) = delete;

    void start();
    void stop();

    // Takes the newest frame captured after `afterSeq`, waiting up to `timeout` for one. Empty on
    // timeout or when capture has ended (then error() says why).
    std::optional<GrabbedFrame> takeNewest(int64_t afterSeq, std::chrono::milliseconds timeout);

    int64_t captured() const { return m_captured.load(); }
    // Frames replaced in the slot before anybody took them: the newest-frame policy at work.
    int64_t dropped() const { return m_dropped.load(); }
    // Messages for the person watching ("camera 0 stopped ...; showing vtest.avi instead"),
    // each returned once.
    std::vector<std::string> takeMessages();
    // Why capture ended (both the source and the fallback failed); empty while it runs.
    std::optional<Error> error() const;
    std::string sourceName() const;

  private:
    void loop();

    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::unique_ptr<FrameSource> m_source;
    SourceFactory m_fallback;
    bool m_usingFallback = false;
    std::optional<GrabbedFrame> m_slot;
    std::vector<std::string> m_messages;
    std::optional<Error> m_error;
    std::string m_sourceName;
    std::atomic<bool> m_stop{false};
    std::atomic<int64_t> m_captured{0}, m_dropped{0};
    std::thread m_thread;
};

}  // namespace prunelab::engine::live

// Capture on its own thread, keeping only the newest frame: a slow model makes the demo skip
// frames, never fall behind the camera or fill memory. A source that fails mid-stream is
// replaced by the fallback (the bundled video) with a message, so the picture never freezes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
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
    ~FrameGrabber();  // stop()
    FrameGrabber(const FrameGrabber&) = delete;
    FrameGrabber& operator=(const FrameGrabber&) = delete;

    void start();
    // Ends capture. Waits up to `patience` for the capture thread; one still blocked in a device
    // read then (a camera that stopped answering) is left to end on its own when the read
    // returns, holding only its own state: closing the demo never waits on a device.
    void stop(std::chrono::milliseconds patience = std::chrono::milliseconds(1000));

    // Takes the newest frame captured after `afterSeq`, waiting up to `timeout` for one. Empty on
    // timeout, when capture has ended (then error() says why) or when it is stopped.
    std::optional<GrabbedFrame> takeNewest(int64_t afterSeq, std::chrono::milliseconds timeout);

    int64_t captured() const;
    // Frames replaced in the slot before anybody took them: the newest-frame policy at work.
    int64_t dropped() const;
    // Messages for the person watching ("camera 0 stopped ...; showing vtest.avi instead"),
    // each returned once.
    std::vector<std::string> takeMessages();
    // Why capture ended (both the source and the fallback failed); empty while it runs.
    std::optional<Error> error() const;
    std::string sourceName() const;

    struct State;  // shared with the capture thread, which may outlive the grabber (see stop)

  private:
    std::shared_ptr<State> m_state;
    std::thread m_thread;
};

}  // namespace prunelab::engine::live

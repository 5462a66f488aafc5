// Where live frames come from: a webcam (V4L2 through OpenCV), a video file (paced at its own
// frame rate and looped, as a camera would deliver it) or a still picture repeated. A source
// that fails says which device or file and why, so the grabber can switch to another.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/ir/result.h"

namespace prunelab::engine::live {

struct SourceSpec {
    enum class Kind { Camera, Video, Still };
    Kind kind = Kind::Video;
    std::string path;           // the video or picture file; for a camera its device
    int camera = -1;            // V4L2 index (/dev/videoN)
    int width = 0, height = 0;  // a camera's requested resolution; 0 = its default
    bool pace = true;           // video and still: no faster than the frame rate, like a camera
    bool loop = true;           // video: start over at the end
    double stillFps = 30;       // a still picture's frame rate
};

// "camera:N", "/dev/videoN" or a bare number: a camera; "vtest.avi" (or "bundled"): the bundled
// video at `bundledVideo`; a file: a picture when OpenCV reads it as one, else a video.
// NotFound names a missing file.
Result<SourceSpec> parseSource(const std::string& text, const std::string& bundledVideo);

class FrameSource {
  public:
    virtual ~FrameSource() = default;
    // The next frame (RGB), after waiting for the pace. An error means this source will give no
    // more (camera gone, file damaged), and names the device or file; Cancelled when the stop
    // flag turned true during the wait.
    Result<Image> read();
    // The reader's stop flag: the wait for the pace ends soon after it turns true, so stopping
    // never waits out a frame period (a still at 1 fps would hold a closing window a second).
    void setStopFlag(const std::atomic<bool>* stop) { m_stop = stop; }
    // What the last read() cost in ms: decoding and conversion, not the wait for the pace or
    // for a camera's next exposure (that wait is not work the demo could save).
    double lastReadMs() const { return m_lastReadMs; }
    // "vtest.avi (768x576, 10 fps)", "camera 0 (/dev/video0, 640x480)".
    virtual std::string describe() const = 0;
    virtual double fps() const = 0;

  protected:
    void setPace(double fps);  // 0: no pacing
    // Called by a source that blocks on its device before the work starts.
    void restartWorkClock();
    virtual Result<Image> readFrame() = 0;

  private:
    double m_period = 0;  // seconds between frames when paced
    std::chrono::steady_clock::time_point m_next{}, m_workStart{};
    double m_lastReadMs = 0;
    const std::atomic<bool>* m_stop = nullptr;
};

Result<std::unique_ptr<FrameSource>> openSource(const SourceSpec& spec);

// A camera OpenCV could open: what a person picks from.
struct CameraInfo {
    int index = 0;
    std::string device;  // /dev/videoN
    int width = 0, height = 0;
};
// Tries /dev/video0 .. /dev/video{maxIndex-1} that exist; empty when there is no camera.
std::vector<CameraInfo> listCameras(int maxIndex = 10);

}  // namespace prunelab::engine::live

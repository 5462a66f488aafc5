// What a teacher takes home from a live demo: a side-by-side clip (the two lanes' pictures with
// their latencies written on them) and a CSV of every frame's timings.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "engine/live/live_pipeline.h"

namespace cv {
class VideoWriter;
}

namespace prunelab::engine::live {

// Lane A's picture left, lane B's right, at `height` pixels, each captioned with its name and
// median latency, and the speedup between them.
Image sideBySide(const LiveFrame& frame, const LiveStats& stats, int height = 360);

class LiveRecorder {
  public:
    // Either path may be empty (nothing written there). The clip is Motion-JPEG in AVI, which
    // every player opens; `fps` is its nominal rate (the source's).
    static Result<std::unique_ptr<LiveRecorder>> open(const std::string& videoPath,
                                                      const std::string& csvPath, double fps);
    ~LiveRecorder();

    Status add(const LiveFrame& frame, const LiveStats& stats);
    // Flushes and closes both files; Io names the file that could not be written.
    Status close();
    int64_t frames() const { return m_frames; }

  private:
    LiveRecorder() = default;

    std::string m_videoPath, m_csvPath;
    std::unique_ptr<cv::VideoWriter> m_video;
    std::ofstream m_csv;
    double m_fps = 10;
    int m_width = 0, m_height = 0;
    int64_t m_frames = 0;
};

}  // namespace prunelab::engine::live

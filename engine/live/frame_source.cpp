// Frame sources on OpenCV's video I/O: FFmpeg for files (CAP_ANY would also try GStreamer and
// read a numbered name as a picture sequence), V4L2 for cameras.
#include "engine/live/frame_source.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <thread>

namespace prunelab::engine::live {

namespace {

using Clock = std::chrono::steady_clock;

Image fromBgr(const cv::Mat& bgr) {
    Image image(bgr.cols, bgr.rows);
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, image.rgb.data());
    if (bgr.channels() == 1) {
        cv::cvtColor(bgr, rgb, cv::COLOR_GRAY2RGB);
    } else if (bgr.channels() == 4) {
        cv::cvtColor(bgr, rgb, cv::COLOR_BGRA2RGB);
    } else {
        cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    }
    return image;
}

class VideoSource final : public FrameSource {
  public:
    static Result<std::unique_ptr<FrameSource>> open(const SourceSpec& spec) {
        auto source = std::unique_ptr<VideoSource>(new VideoSource(spec));
        PL_TRY(source->reopen());
        const double fps = source->m_capture.get(cv::CAP_PROP_FPS);
        source->m_fps = fps > 0 && fps < 1000 ? fps : 25.0;
        source->m_expected = static_cast<int64_t>(source->m_capture.get(cv::CAP_PROP_FRAME_COUNT));
        source->setPace(spec.pace ? source->m_fps : 0);
        return std::unique_ptr<FrameSource>(std::move(source));
    }

    Result<Image> readFrame() override {
        cv::Mat frame;
        try {
            if (!m_capture.read(frame) || frame.empty()) {
                // The header says how many frames there are; stopping well short of that is a
                // damaged or truncated file, not the end of the video.
                if (m_expected > 0 && m_index < m_expected * 98 / 100) {
                    return makeError(ErrorCode::Corrupt,
                                     "the video stops at frame " + std::to_string(m_index) +
                                         " of " + std::to_string(m_expected) +
                                         " (truncated or damaged)",
                                     m_spec.path);
                }
                if (!m_spec.loop || m_index == 0) {
                    return makeError(ErrorCode::NotFound, "the video has no more frames",
                                     m_spec.path);
                }
                PL_TRY(reopen());
                if (!m_capture.read(frame) || frame.empty()) {
                    return makeError(ErrorCode::Corrupt, "no frame after starting over",
                                     m_spec.path);
                }
            }
        } catch (const cv::Exception& e) {
            return makeError(ErrorCode::Corrupt, std::string("cannot decode a frame: ") + e.what(),
                             m_spec.path);
        }
        ++m_index;
        if (m_width == 0) m_width = frame.cols, m_height = frame.rows;
        return fromBgr(frame);
    }

    std::string describe() const override {
        const std::string name = std::filesystem::path(m_spec.path).filename().string();
        char text[96];
        std::snprintf(text, sizeof text, " (%dx%d, %.0f fps)", m_width, m_height, m_fps);
        return name + text;
    }
    double fps() const override { return m_fps; }

  private:
    explicit VideoSource(SourceSpec spec) : m_spec(std::move(spec)) {}

    Status reopen() {
        m_capture.release();
        try {
            m_capture.open(m_spec.path, cv::CAP_FFMPEG);
        } catch (const cv::Exception& e) {
            return makeError(ErrorCode::Corrupt, std::string("cannot open: ") + e.what(),
                             m_spec.path);
        }
        if (!m_capture.isOpened()) {
            return makeError(ErrorCode::Corrupt,
                             "FFmpeg cannot open it as a video (unknown or broken file)",
                             m_spec.path);
        }
        m_width = static_cast<int>(m_capture.get(cv::CAP_PROP_FRAME_WIDTH));
        m_height = static_cast<int>(m_capture.get(cv::CAP_PROP_FRAME_HEIGHT));
        m_index = 0;
        return {};
    }

    SourceSpec m_spec;
    cv::VideoCapture m_capture;
    double m_fps = 25;
    int64_t m_expected = 0, m_index = 0;
    int m_width = 0, m_height = 0;
};

class StillSource final : public FrameSource {
  public:
    StillSource(SourceSpec spec, Image image) : m_spec(std::move(spec)), m_image(std::move(image)) {
        setPace(m_spec.pace ? m_spec.stillFps : 0);
    }
    Result<Image> readFrame() override { return m_image; }
    std::string describe() const override {
        return std::filesystem::path(m_spec.path).filename().string() + " (" +
               std::to_string(m_image.width) + "x" + std::to_string(m_image.height) +
               ", a still picture)";
    }
    double fps() const override { return m_spec.stillFps; }

  private:
    SourceSpec m_spec;
    Image m_image;
};

class CameraSource final : public FrameSource {
  public:
    static Result<std::unique_ptr<FrameSource>> open(const SourceSpec& spec) {
        auto source = std::unique_ptr<CameraSource>(new CameraSource(spec));
        try {
            source->m_capture.open(spec.camera, cv::CAP_V4L2);
            if (source->m_capture.isOpened() && spec.width > 0 && spec.height > 0) {
                source->m_capture.set(cv::CAP_PROP_FRAME_WIDTH, spec.width);
                source->m_capture.set(cv::CAP_PROP_FRAME_HEIGHT, spec.height);
            }
        } catch (const cv::Exception& e) {
            return makeError(ErrorCode::NotFound, std::string("cannot open: ") + e.what(),
                             source->device());
        }
        if (!source->m_capture.isOpened()) {
            return makeError(ErrorCode::NotFound,
                             "no camera answers there (not plugged in, or in use)",
                             source->device());
        }
        source->m_width = static_cast<int>(source->m_capture.get(cv::CAP_PROP_FRAME_WIDTH));
        source->m_height = static_cast<int>(source->m_capture.get(cv::CAP_PROP_FRAME_HEIGHT));
        const double fps = source->m_capture.get(cv::CAP_PROP_FPS);
        source->m_fps = fps > 0 && fps < 1000 ? fps : 30.0;
        return std::unique_ptr<FrameSource>(std::move(source));
    }

    Result<Image> readFrame() override {
        cv::Mat frame;
        try {
            // grab() waits for the sensor; only retrieving and converting is the demo's cost.
            if (m_capture.grab()) {
                restartWorkClock();
                if (m_capture.retrieve(frame) && !frame.empty()) return fromBgr(frame);
            }
        } catch (const cv::Exception&) {
            // the same as no frame: the device went away under the driver
        }
        return makeError(ErrorCode::Io, "the camera stopped giving frames (unplugged?)", device());
    }
    std::string describe() const override {
        return "camera " + std::to_string(m_spec.camera) + " (" + device() + ", " +
               std::to_string(m_width) + "x" + std::to_string(m_height) + ")";
    }
    double fps() const override { return m_fps; }

  private:
    explicit CameraSource(SourceSpec spec) : m_spec(std::move(spec)) {}
    std::string device() const { return "/dev/video" + std::to_string(m_spec.camera); }

    SourceSpec m_spec;
    cv::VideoCapture m_capture;
    int m_width = 0, m_height = 0;
    double m_fps = 30;
};

bool allDigits(const std::string& s) {
    return !s.empty() && s.size() < 4 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<Image> FrameSource::read() {
    if (m_period > 0) {
        // Sleep until the next frame is due, as a camera makes its reader wait; a reader that
        // is already late is not made later.
        const auto now = Clock::now();
        // In short naps, so that a stop is seen within one of them.
        constexpr auto kNap = std::chrono::milliseconds(20);
        for (auto t = now; m_next > t; t = Clock::now()) {
            if (m_stop && m_stop->load()) {
                return makeError(ErrorCode::Cancelled, "stopped while waiting for the next frame",
                                 describe());
            }
            std::this_thread::sleep_until(std::min<Clock::time_point>(m_next, t + kNap));
        }
        m_next = std::max(m_next, now) + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(m_period));
    }
    m_workStart = Clock::now();
    Result<Image> frame = readFrame();
    m_lastReadMs = std::chrono::duration<double, std::milli>(Clock::now() - m_workStart).count();
    return frame;
}

void FrameSource::setPace(double fps) {
    m_period = fps > 0 ? 1.0 / fps : 0;
}

void FrameSource::restartWorkClock() {
    m_workStart = Clock::now();
}

Result<SourceSpec> parseSource(const std::string& text, const std::string& bundledVideo) {
    SourceSpec spec;
    std::string camera;
    if (text.rfind("camera:", 0) == 0) camera = text.substr(7);
    if (text.rfind("/dev/video", 0) == 0) camera = text.substr(10);
    if (allDigits(text)) camera = text;
    if (!camera.empty() || text == "camera:") {
        if (!allDigits(camera)) {
            return makeError(ErrorCode::InvalidArgument,
                             "a camera is camera:N, /dev/videoN or N (N a number)", text);
        }
        spec.kind = SourceSpec::Kind::Camera;
        spec.camera = std::stoi(camera);
        spec.path = "/dev/video" + camera;
        return spec;
    }
    spec.path = (text == "vtest.avi" || text == "bundled") ? bundledVideo : text;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(spec.path, ec)) {
        return makeError(ErrorCode::NotFound,
                         text == spec.path ? "no such file"
                                           : "the bundled video is missing (run ./prunelab setup)",
                         spec.path);
    }
    spec.kind = cv::haveImageReader(spec.path) ? SourceSpec::Kind::Still : SourceSpec::Kind::Video;
    return spec;
}

Result<std::unique_ptr<FrameSource>> openSource(const SourceSpec& spec) {
    switch (spec.kind) {
        case SourceSpec::Kind::Camera:
            return CameraSource::open(spec);
        case SourceSpec::Kind::Video:
            return VideoSource::open(spec);
        case SourceSpec::Kind::Still: {
            PL_TRY_ASSIGN(Image image, readImage(spec.path));
            return std::unique_ptr<FrameSource>(new StillSource(spec, std::move(image)));
        }
    }
    return makeError(ErrorCode::InvalidArgument, "unknown source kind", spec.path);
}

std::vector<CameraInfo> listCameras(int maxIndex) {
    std::vector<CameraInfo> cameras;
    for (int i = 0; i < maxIndex; ++i) {
        const std::string device = "/dev/video" + std::to_string(i);
        std::error_code ec;
        if (!std::filesystem::exists(device, ec)) continue;
        try {
            cv::VideoCapture capture(i, cv::CAP_V4L2);
            if (!capture.isOpened()) continue;
            cameras.push_back({i, device, static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH)),
                               static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT))});
        } catch (const cv::Exception&) {
            // a node that is not a capture device (metadata nodes sit beside real cameras)
        }
    }
    return cameras;
}

}  // namespace prunelab::engine::live

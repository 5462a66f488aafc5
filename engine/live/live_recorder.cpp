// Side-by-side composition (OpenCV drawing) and the clip and CSV writers.
#include "engine/live/live_recorder.h"

#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace prunelab::engine::live {

namespace {

cv::Mat asMat(Image& image) {
    return cv::Mat(image.height, image.width, CV_8UC3, image.rgb.data());
}

// The lane's picture scaled to `height`, with a caption band on top.
cv::Mat laneTile(const LaneOutput& lane, const Image& fallback, int height,
                 const std::string& caption) {
    Image source = lane.drawn.empty() ? fallback : lane.drawn;
    cv::Mat picture = asMat(source);
    const int width = std::max(1, picture.cols * height / std::max(1, picture.rows));
    cv::Mat tile(height, width, CV_8UC3);
    cv::resize(picture, tile, tile.size(), 0, 0, cv::INTER_AREA);
    const int band = std::max(18, height / 14);
    cv::rectangle(tile, cv::Rect(0, 0, width, band), cv::Scalar(0, 0, 0), cv::FILLED);
    cv::putText(tile, caption, cv::Point(6, band * 3 / 4), cv::FONT_HERSHEY_SIMPLEX, band / 36.0,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    return tile;
}

std::string csvField(const std::string& text) {
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

Image sideBySide(const LiveFrame& frame, const LiveStats& stats, int height) {
    height = std::max(height, 64);
    // A remote lane's time in its two parts, as the speedup (on the device's clock) reads it.
    auto time = [](const LaneOutput& lane) {
        char t[64];
        if (lane.deviceMs && lane.linkMs)
            std::snprintf(t, sizeof t, "%.1f ms + link %.1f ms", *lane.deviceMs, *lane.linkMs);
        else
            std::snprintf(t, sizeof t, "%.1f ms", lane.ms);
        return std::string(t);
    };
    char a[200], b[200];
    std::snprintf(a, sizeof a, "%s  %s", stats.laneA.c_str(), time(frame.a).c_str());
    std::snprintf(b, sizeof b, "pruned  %s  (%.2fx)", time(frame.b).c_str(), stats.speedup());
    cv::Mat left = laneTile(frame.a, frame.before, height, a);
    cv::Mat right = laneTile(frame.b, frame.before, height, b);
    Image out(left.cols + right.cols, height);
    cv::Mat joined = asMat(out);
    left.copyTo(joined(cv::Rect(0, 0, left.cols, height)));
    right.copyTo(joined(cv::Rect(left.cols, 0, right.cols, height)));
    return out;
}

Result<std::unique_ptr<LiveRecorder>> LiveRecorder::open(const std::string& videoPath,
                                                         const std::string& csvPath, double fps) {
    std::unique_ptr<LiveRecorder> r(new LiveRecorder());
    r->m_videoPath = videoPath;
    r->m_csvPath = csvPath;
    r->m_fps = fps > 0 && fps < 1000 ? fps : 10;
    if (!csvPath.empty()) {
        r->m_csv.open(csvPath, std::ios::binary | std::ios::trunc);
        if (!r->m_csv) return makeError(ErrorCode::Io, "cannot write the file", csvPath);
        r->m_csv
            << "frame,seq,lane_a_ms,lane_b_ms,capture_ms,pre_ms,post_ms,draw_ms,lane_a_device_ms,"
               "lane_a_link_ms,lane_b_device_ms,lane_b_link_ms,lane_a,lane_b\n";
    }
    return r;
}

LiveRecorder::~LiveRecorder() {
    (void)close();
}

Status LiveRecorder::add(const LiveFrame& frame, const LiveStats& stats) {
    ++m_frames;
    if (m_csv.is_open()) {
        char row[256];
        std::snprintf(row, sizeof row, "%lld,%lld,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,",
                      static_cast<long long>(m_frames), static_cast<long long>(frame.seq),
                      frame.a.ms, frame.b.ms, frame.captureMs, frame.preMs, frame.postMs,
                      frame.drawMs);
        m_csv << row;
        // A remote lane's device and link times (Lane::lastSplit); empty for a lane here.
        for (const std::optional<double>& ms :
             {frame.a.deviceMs, frame.a.linkMs, frame.b.deviceMs, frame.b.linkMs}) {
            if (ms) {
                std::snprintf(row, sizeof row, "%.3f", *ms);
                m_csv << row;
            }
            m_csv << ',';
        }
        m_csv << csvField(stats.laneA) << ',' << csvField(stats.laneB) << '\n';
        if (!m_csv) return makeError(ErrorCode::Io, "cannot write the file", m_csvPath);
    }
    if (m_videoPath.empty()) return {};
    Image joined = sideBySide(frame, stats);
    cv::Mat rgb = asMat(joined), bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    if (!m_video) {
        // The first frame fixes the clip's size; MJPG needs even sizes on some players.
        m_width = bgr.cols & ~1;
        m_height = bgr.rows & ~1;
        m_video = std::make_unique<cv::VideoWriter>();
        try {
            m_video->open(m_videoPath, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                          m_fps, cv::Size(m_width, m_height));
        } catch (const cv::Exception& e) {
            return makeError(ErrorCode::Io, std::string("cannot record: ") + e.what(), m_videoPath);
        }
        if (!m_video->isOpened()) {
            return makeError(ErrorCode::Io, "cannot record a Motion-JPEG AVI there", m_videoPath);
        }
    }
    if (bgr.cols != m_width || bgr.rows != m_height) {
        cv::Mat fitted;
        cv::resize(bgr, fitted, cv::Size(m_width, m_height), 0, 0, cv::INTER_AREA);
        bgr = fitted;
    }
    m_video->write(bgr);
    return {};
}

Status LiveRecorder::close() {
    if (m_video) {
        m_video->release();
        m_video.reset();
    }
    if (m_csv.is_open()) {
        m_csv.flush();
        const bool ok = static_cast<bool>(m_csv);
        m_csv.close();
        if (!ok) return makeError(ErrorCode::Io, "cannot write the file", m_csvPath);
    }
    return {};
}

}  // namespace prunelab::engine::live

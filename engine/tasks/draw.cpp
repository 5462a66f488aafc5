// Drawing a task's result with OpenCV's primitives on a copy of the picture.
#include "engine/tasks/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace prunelab::engine {

namespace {

cv::Point toCv(Point2f p) {
    return {static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))};
}

// Text with a dark outline so it reads on any background.
void label(cv::Mat& m, const std::string& text, cv::Point at, double scale, int thickness) {
    cv::putText(m, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), thickness + 2,
                cv::LINE_AA);
    cv::putText(m, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), thickness,
                cv::LINE_AA);
}

}  // namespace

Image drawResult(const Image& picture, const TaskResult& result) {
    if (result.task == Task::SuperResolution || result.task == Task::Denoise) return result.image;
    Image out = picture;
    if (out.empty()) return out;
    cv::Mat m(out.height, out.width, CV_8UC3, out.rgb.data());  // RGB order: colours below are RGB
    // Lines scale with the picture so they stay visible on a projector and on a thumbnail.
    const int thick = std::max(2, std::min(out.width, out.height) / 200);
    const double textScale = std::max(0.4, std::min(out.width, out.height) / 600.0);
    const cv::Scalar green(60, 220, 90), yellow(255, 210, 40);
    for (const Detection& d : result.detections) {
        if (d.quad.size() == 4) {
            std::vector<cv::Point> poly;
            for (Point2f p : d.quad) poly.push_back(toCv(p));
            cv::polylines(m, poly, true, yellow, thick, cv::LINE_8);
        } else {
            // Solid (not anti-aliased) outlines: crisp on a projector, exact colours in tests.
            cv::rectangle(m, toCv({d.x0, d.y0}), toCv({d.x1, d.y1}), green, thick, cv::LINE_8);
        }
        for (Point2f p : d.keypoints) cv::circle(m, toCv(p), thick + 1, yellow, cv::FILLED);
        if (!d.quad.empty()) continue;  // on text lines a score would cover the words
        char score[16];
        std::snprintf(score, sizeof score, "%.2f", d.score);
        label(m, score, toCv({d.x0, std::max(d.y0 - 4.0f, 12.0f)}), textScale * 0.6, 1);
    }
    int y = static_cast<int>(28 * textScale);
    for (const ClassScore& c : result.classes) {
        char line[256];
        std::snprintf(line, sizeof line, "%5.1f%%  %s", 100.0 * c.probability, c.label.c_str());
        label(m, line, {8, y}, textScale * 0.7, std::max(1, thick));
        y += static_cast<int>(26 * textScale);
    }
    return out;
}

}  // namespace prunelab::engine

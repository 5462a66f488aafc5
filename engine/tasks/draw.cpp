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

// The segmentation overlay: the background (probability below the mask's threshold, blended
// smoothly by probability) dimmed towards grey so the person stands out, the person's outline
// traced, and the share of the picture that is person written in the bottom-left corner.
void drawMask(cv::Mat& m, const SegmentationMask& mask, int thick, double textScale) {
    cv::Mat prob(mask.height, mask.width, CV_32F, const_cast<float*>(mask.probability.data()));
    if (mask.width != m.cols || mask.height != m.rows) {
        cv::Mat fitted;  // a mask decoded for another size of the same frame
        cv::resize(prob, fitted, m.size(), 0, 0, cv::INTER_LINEAR);
        prob = fitted;
    }
    for (int y = 0; y < m.rows; ++y) {
        cv::Vec3b* row = m.ptr<cv::Vec3b>(y);
        const float* p = prob.ptr<float>(y);
        for (int x = 0; x < m.cols; ++x) {
            // Background pixels keep 35% of their colour over a dark blue-grey.
            const float keep = 0.35f + 0.65f * std::clamp(p[x], 0.0f, 1.0f);
            const float tint[3] = {40, 48, 64};
            for (int c = 0; c < 3; ++c) {
                row[x][c] = cv::saturate_cast<uint8_t>(keep * row[x][c] + (1 - keep) * tint[c]);
            }
        }
    }
    cv::Mat person;
    cv::compare(prob, mask.threshold, person, cv::CMP_GE);
    std::vector<std::vector<cv::Point>> outlines;
    cv::findContours(person, outlines, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(m, outlines, -1, cv::Scalar(60, 220, 90), thick, cv::LINE_8);
    char text[64];
    std::snprintf(text, sizeof text, "person: %.0f%% of the picture", 100.0 * mask.coverage);
    // Bottom-left: the Live tab captions each lane across the top of its frame.
    // Full text scale: the Live tab shows a frame at half its size or less.
    label(m, text, {8, m.rows - static_cast<int>(12 * textScale)}, textScale,
          std::max(1, thick / 2));
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
    if (!result.mask.empty()) drawMask(m, result.mask, thick, textScale);
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

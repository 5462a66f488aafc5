// DB (Differentiable Binarization) post-processing for PP-OCR text detectors, following
// PaddleOCR's DBPostProcess in "quad" box mode with "fast" scoring, on OpenCV instead of
// pyclipper/shapely (see unclipRect for why the two agree).
#include "engine/tasks/text_detection.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace prunelab::engine {
namespace {

using Quad = std::array<cv::Point2f, 4>;

// The rectangle's corners clockwise from the top-left, chosen as PaddleOCR's get_mini_boxes
// does: of the two leftmost corners the upper is top-left, of the two rightmost the upper is
// top-right. Recognisers crop along this order, so it must match PaddleOCR's for any angle.
Quad orderedCorners(const cv::RotatedRect& rect) {
    cv::Point2f p[4];
    rect.points(p);
    std::sort(p, p + 4, [](const cv::Point2f& a, const cv::Point2f& b) { return a.x < b.x; });
    const bool firstIsTop = p[0].y <= p[1].y;
    const bool thirdIsTop = p[2].y <= p[3].y;
    const cv::Point2f topLeft = firstIsTop ? p[0] : p[1], bottomLeft = firstIsTop ? p[1] : p[0];
    const cv::Point2f topRight = thirdIsTop ? p[2] : p[3], bottomRight = thirdIsTop ? p[3] : p[2];
    return {topLeft, topRight, bottomRight, bottomLeft};
}

// Mean probability inside the quad ("fast" mode): the polygon is rasterised into a mask over
// its bounding box only, clipped to the map, so a box costs its own area and not the map's.
// Corners are truncated to integers before filling, as PaddleOCR does.
float meanInside(const cv::Mat& prob, const Quad& quad) {
    float minX = quad[0].x, maxX = quad[0].x, minY = quad[0].y, maxY = quad[0].y;
    for (const cv::Point2f& p : quad) {
        minX = std::min(minX, p.x), maxX = std::max(maxX, p.x);
        minY = std::min(minY, p.y), maxY = std::max(maxY, p.y);
    }
    const int x0 = std::clamp(static_cast<int>(std::floor(minX)), 0, prob.cols - 1);
    const int x1 = std::clamp(static_cast<int>(std::ceil(maxX)), 0, prob.cols - 1);
    const int y0 = std::clamp(static_cast<int>(std::floor(minY)), 0, prob.rows - 1);
    const int y1 = std::clamp(static_cast<int>(std::ceil(maxY)), 0, prob.rows - 1);
    const cv::Rect roi(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    cv::Mat mask = cv::Mat::zeros(roi.size(), CV_8U);
    std::vector<cv::Point> poly;
    for (const cv::Point2f& p : quad) {
        poly.emplace_back(static_cast<int>(p.x - static_cast<float>(x0)),
                          static_cast<int>(p.y - static_cast<float>(y0)));
    }
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(1));
    return static_cast<float>(cv::mean(prob(roi), mask)[0]);
}

// PaddleOCR grows the box with pyclipper: offset the rectangle's outline outwards by
// distance = area * ratio / perimeter with round joins, then take minAreaRect of the result.
// A rectangle offset by d with round joins is the rectangle grown by d on every side with its
// corners rounded (radius d); its minimum-area enclosing rectangle is that grown rectangle
// (tilting it only lengthens both sides), so moving each side out by d is the same box
// without the polygon clipper (pyclipper also rounds to whole pixels; we keep fractions).
cv::RotatedRect unclipRect(const cv::RotatedRect& rect, float ratio) {
    const float w = rect.size.width, h = rect.size.height;
    const float perimeter = 2.0f * (w + h);
    const float d = perimeter > 0 ? w * h * ratio / perimeter : 0.0f;
    return cv::RotatedRect(rect.center, cv::Size2f(w + 2 * d, h + 2 * d), rect.angle);
}

Status checkOptions(const TextDetectionOptions& o) {
    auto unit = [](float v) { return std::isfinite(v) && v >= 0.0f && v <= 1.0f; };
    if (!unit(o.binaryThreshold) || !unit(o.boxThreshold)) {
        return makeError(ErrorCode::InvalidArgument,
                         "text detection thresholds must lie in [0, 1] (binary " +
                             std::to_string(o.binaryThreshold) + ", box " +
                             std::to_string(o.boxThreshold) + ")");
    }
    if (!std::isfinite(o.unclipRatio) || o.unclipRatio < 0.0f || o.minSide < 0 ||
        o.maxCandidates < 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "text detection needs unclipRatio >= 0, minSide >= 0 and "
                         "maxCandidates >= 0");
    }
    return {};
}

// Top to bottom, then left to right within a line. Boxes whose tops differ by less than half
// the shorter one's height count as one line (PaddleOCR uses a fixed 10 px, which depends on
// the input size); a stable sort by top followed by adjacent swaps, as PaddleOCR's
// sorted_boxes does, because "same line" is not transitive and cannot be a sort key.
void sortReadingOrder(std::vector<Detection>& boxes) {
    std::stable_sort(boxes.begin(), boxes.end(), [](const Detection& a, const Detection& b) {
        return a.y0 != b.y0 ? a.y0 < b.y0 : a.x0 < b.x0;
    });
    for (size_t i = 1; i < boxes.size(); ++i) {
        for (size_t j = i; j > 0; --j) {
            const Detection &above = boxes[j - 1], &here = boxes[j];
            const float tolerance = 0.5f * std::min(above.height(), here.height());
            if (std::abs(here.y0 - above.y0) < tolerance && here.x0 < above.x0) {
                std::swap(boxes[j - 1], boxes[j]);
            } else {
                break;
            }
        }
    }
}

}  // namespace

Result<std::vector<Detection>> decodeTextProbabilityMap(const Tensor& probability,
                                                        const TextDetectionOptions& options) {
    const Shape& s = probability.shape();
    if (probability.dtype() != DataType::Float32 || s.size() != 4 || s[0] != 1 || s[1] != 1 ||
        s[2] <= 0 || s[3] <= 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "a text probability map must be float32 [1, 1, H, W], got " +
                             std::string(dataTypeName(probability.dtype())) + " " +
                             shapeToString(s));
    }
    PL_TRY(checkOptions(options));
    const int h = static_cast<int>(s[2]), w = static_cast<int>(s[3]);
    // OpenCV only reads the map: the const_cast lends the tensor's buffer without copying it.
    const cv::Mat prob(h, w, CV_32F, const_cast<float*>(probability.data<float>()));

    cv::Mat binary = prob > options.binaryThreshold;  // 255 where text, as findContours wants
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(binary, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);

    // PaddleOCR keeps the first max_candidates in OpenCV's scan order; the largest first is
    // the same when there are fewer, and keeps the text rather than specks when there are more.
    std::vector<std::pair<double, size_t>> order;
    order.reserve(contours.size());
    for (size_t i = 0; i < contours.size(); ++i) {
        order.emplace_back(cv::contourArea(contours[i]), i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (order.size() > static_cast<size_t>(options.maxCandidates)) {
        order.resize(static_cast<size_t>(options.maxCandidates));
    }

    const float minSide = static_cast<float>(options.minSide);
    std::vector<Detection> boxes;
    for (const auto& [area, index] : order) {
        const cv::RotatedRect rect = cv::minAreaRect(contours[index]);
        if (std::min(rect.size.width, rect.size.height) < minSide) continue;
        const float score = meanInside(prob, orderedCorners(rect));
        if (score < options.boxThreshold) continue;
        const cv::RotatedRect grown = unclipRect(rect, options.unclipRatio);
        if (std::min(grown.size.width, grown.size.height) < minSide + 2.0f) continue;

        Detection d;
        d.score = score;
        d.x0 = static_cast<float>(w), d.y0 = static_cast<float>(h), d.x1 = 0, d.y1 = 0;
        for (const cv::Point2f& p : orderedCorners(grown)) {
            // Clipped to the map's extent, as PaddleOCR clips to the picture.
            Point2f q{std::clamp(p.x, 0.0f, static_cast<float>(w)),
                      std::clamp(p.y, 0.0f, static_cast<float>(h))};
            d.quad.push_back(q);
            d.x0 = std::min(d.x0, q.x), d.y0 = std::min(d.y0, q.y);
            d.x1 = std::max(d.x1, q.x), d.y1 = std::max(d.y1, q.y);
        }
        boxes.push_back(std::move(d));
    }
    sortReadingOrder(boxes);
    return boxes;
}

}  // namespace prunelab::engine

// IoU and greedy non-maximum suppression for the detectors' post-processing.
#include "engine/tasks/detection.h"

#include <algorithm>

namespace prunelab::engine {

float intersectionOverUnion(const Detection& a, const Detection& b) {
    float ix = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
    float iy = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
    float inter = ix > 0 && iy > 0 ? ix * iy : 0.0f;
    float uni = a.area() + b.area() - inter;
    return uni > 0 ? inter / uni : 0.0f;
}

std::vector<Detection> nonMaxSuppression(std::vector<Detection> boxes, float iouThreshold,
                                         size_t maxKeep) {
    std::stable_sort(boxes.begin(), boxes.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    std::vector<Detection> kept;
    for (Detection& box : boxes) {
        if (kept.size() >= maxKeep) break;
        bool overlaps = false;
        for (const Detection& k : kept) {
            if (intersectionOverUnion(box, k) > iouThreshold) {
                overlaps = true;
                break;
            }
        }
        if (!overlaps) kept.push_back(std::move(box));
    }
    return kept;
}

}  // namespace prunelab::engine

// BlazeFace post-processing as MediaPipe's short-range, full-range and back face detection
// graphs do it: SSD anchor centres, box and keypoint offsets decoded in input pixels, clipped
// sigmoid scores, and weighted non-maximum suppression (overlapping boxes blended by score, not
// dropped).
#include "engine/tasks/face_detection.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace prunelab::engine {

namespace {

constexpr int kKeypoints = 6;
constexpr int64_t kCoords = 4 + 2 * kKeypoints;  // x, y, w, h, then (x, y) per keypoint
// MediaPipe's score_clipping_thresh: keeps exp() finite on wild logits.
constexpr float kScoreClip = 100.0f;

// MediaPipe's SsdAnchorsCalculator options per model (anchor offset 0.5, fixed_anchor_size, so
// only the centres matter). Short range (128, 4 layers: 8 | 16,16,16) and back (256: 16 |
// 32,32,32) take aspect ratio 1 plus the interpolated scale, 2 anchors per layer and cell, and
// layers that share a stride share one grid: a 16x16 grid x 2 and an 8x8 grid x 6. Full range
// (192) has one layer of stride 4 and no interpolated scale: a 48x48 grid x 1.
struct AnchorLayout {
    std::vector<int> strides;  // per layer
    int anchorsPerLayer = 0;   // per layer and cell
};

AnchorLayout anchorLayout(int inputSize) {
    if (inputSize == 128) return {{8, 16, 16, 16}, 2};
    if (inputSize == 192) return {{4}, 1};
    if (inputSize == 256) return {{16, 32, 32, 32}, 2};
    return {};
}

// The anchors per grid, in output order (the split ONNX outputs hold one grid each).
std::vector<int64_t> anchorsPerGrid(int inputSize) {
    const AnchorLayout layout = anchorLayout(inputSize);
    std::vector<int64_t> counts;
    for (size_t layer = 0; layer < layout.strides.size();) {
        size_t last = layer;
        while (last < layout.strides.size() && layout.strides[last] == layout.strides[layer])
            ++last;
        const int64_t cells = (inputSize + layout.strides[layer] - 1) / layout.strides[layer];
        counts.push_back(cells * cells * layout.anchorsPerLayer *
                         static_cast<int64_t>(last - layer));
        layer = last;
    }
    return counts;
}

float sigmoid(float logit) {
    float x = std::clamp(logit, -kScoreClip, kScoreClip);
    return 1.0f / (1.0f + std::exp(-x));
}

// The outputs sorted by role, each list in anchor order: one tensor for all anchors, or one per
// grid (finer grid first).
struct BlazeFaceOutputs {
    std::vector<const Tensor*> scores;  // [1, n, 1] logits
    std::vector<const Tensor*> boxes;   // [1, n, 16]
};

std::string countsText(const std::vector<int64_t>& counts) {
    std::string text;
    for (int64_t n : counts) text += (text.empty() ? "" : " + ") + std::to_string(n);
    return text;
}

Result<BlazeFaceOutputs> findOutputs(std::span<const Tensor> outputs, int inputSize) {
    const std::vector<int64_t> grids = anchorsPerGrid(inputSize);
    int64_t total = 0;
    for (int64_t n : grids) total += n;
    const std::string want =
        "scores [1, N, 1] and boxes [1, N, 16] for N = " + std::to_string(total) +
        (grids.size() > 1 ? " (all anchors) or per grid, N = " + countsText(grids)
                          : std::string(" (all anchors)"));
    if (outputs.size() != 2 && outputs.size() != 2 * grids.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace " + std::to_string(inputSize) + " has " + want + ", got " +
                             std::to_string(outputs.size()) + " outputs");
    }
    BlazeFaceOutputs found;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& t = outputs[i];
        const Shape& s = t.shape();
        const std::string what = "BlazeFace output " + std::to_string(i) + " " + shapeToString(s);
        if (s.size() != 3 || s[0] != 1 || (s[2] != 1 && s[2] != kCoords) || s[1] <= 0) {
            return makeError(ErrorCode::InvalidArgument,
                             what + " is neither [1, N, 1] nor [1, N, 16]");
        }
        if (t.dtype() != DataType::Float32) {
            return makeError(ErrorCode::InvalidArgument, what + " is not float32");
        }
        (s[2] == 1 ? found.scores : found.boxes).push_back(&t);
    }
    // Bigger grids come first in anchor order (16x16 x 2 = 512 before 8x8 x 6 = 384).
    auto byCount = [](const Tensor* a, const Tensor* b) { return a->dim(1) > b->dim(1); };
    std::stable_sort(found.scores.begin(), found.scores.end(), byCount);
    std::stable_sort(found.boxes.begin(), found.boxes.end(), byCount);
    std::vector<int64_t> scoreCounts, boxCounts;
    for (const Tensor* t : found.scores) scoreCounts.push_back(t->dim(1));
    for (const Tensor* t : found.boxes) boxCounts.push_back(t->dim(1));
    const bool fits = scoreCounts == boxCounts &&
                      (scoreCounts == std::vector<int64_t>{total} || scoreCounts == grids);
    if (!fits) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace " + std::to_string(inputSize) + " has " + want +
                             ", got scores for " + countsText(scoreCounts) + " and boxes for " +
                             countsText(boxCounts) + " anchors");
    }
    return found;
}

// MediaPipe's WeightedNonMaxSuppression: the best remaining box and every remaining box whose
// IoU with it exceeds the threshold (itself included) become one face, whose box and keypoints
// are their score-weighted mean and whose score is the best one. Blending the anchors that fire
// on one face averages their independent errors, so boxes jitter less from frame to frame and
// small numeric differences (a pruned model, another runtime) move the result continuously
// instead of flipping which anchor wins.
std::vector<Detection> weightedNonMaxSuppression(std::vector<Detection> boxes, float iouThreshold,
                                                 size_t maxKeep) {
    std::stable_sort(boxes.begin(), boxes.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    std::vector<Detection> kept;
    std::vector<bool> used(boxes.size(), false);
    for (size_t i = 0; i < boxes.size() && kept.size() < maxKeep; ++i) {
        if (used[i]) continue;
        const Detection& best = boxes[i];
        Detection sum;
        sum.keypoints.assign(best.keypoints.size(), Point2f{});
        float weight = 0.0f;
        for (size_t j = i; j < boxes.size(); ++j) {
            if (used[j]) continue;
            const Detection& d = boxes[j];
            if (j != i && !(intersectionOverUnion(best, d) > iouThreshold)) continue;
            used[j] = true;
            const float w = d.score;
            sum.x0 += w * d.x0, sum.y0 += w * d.y0, sum.x1 += w * d.x1, sum.y1 += w * d.y1;
            for (size_t k = 0; k < sum.keypoints.size() && k < d.keypoints.size(); ++k) {
                sum.keypoints[k].x += w * d.keypoints[k].x;
                sum.keypoints[k].y += w * d.keypoints[k].y;
            }
            weight += w;
        }
        Detection face = best;
        if (weight > 0.0f) {
            face.x0 = sum.x0 / weight, face.y0 = sum.y0 / weight;
            face.x1 = sum.x1 / weight, face.y1 = sum.y1 / weight;
            for (size_t k = 0; k < face.keypoints.size(); ++k) {
                face.keypoints[k] = {sum.keypoints[k].x / weight, sum.keypoints[k].y / weight};
            }
        }
        kept.push_back(std::move(face));
    }
    return kept;
}

}  // namespace

std::vector<Point2f> blazeFaceAnchors(int inputSize) {
    const AnchorLayout layout = anchorLayout(inputSize);
    const std::vector<int>& strides = layout.strides;
    std::vector<Point2f> anchors;
    size_t layer = 0;
    while (layer < strides.size()) {
        // Consecutive layers with the same stride are one grid, each adding its anchors per cell.
        size_t last = layer;
        while (last < strides.size() && strides[last] == strides[layer]) ++last;
        const int perCell = layout.anchorsPerLayer * static_cast<int>(last - layer);
        const int cells = (inputSize + strides[layer] - 1) / strides[layer];  // ceil, as MediaPipe
        for (int y = 0; y < cells; ++y) {
            for (int x = 0; x < cells; ++x) {
                const Point2f centre{(static_cast<float>(x) + 0.5f) / static_cast<float>(cells),
                                     (static_cast<float>(y) + 0.5f) / static_cast<float>(cells)};
                anchors.insert(anchors.end(), static_cast<size_t>(perCell), centre);
            }
        }
        layer = last;
    }
    return anchors;
}

Result<std::vector<Detection>> decodeBlazeFace(std::span<const Tensor> outputs,
                                               const BlazeFaceOptions& options) {
    const std::vector<Point2f> anchors = blazeFaceAnchors(options.inputSize);
    if (anchors.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace input size must be 128 (front), 192 (full range) or 256 "
                         "(back), got " +
                             std::to_string(options.inputSize));
    }
    if (options.maxFaces < 0 || !(options.iouThreshold >= 0.0f && options.iouThreshold <= 1.0f)) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace needs maxFaces >= 0 and an IoU threshold in [0, 1]");
    }
    PL_TRY_ASSIGN(BlazeFaceOutputs out, findOutputs(outputs, options.inputSize));
    // MediaPipe's x_scale = y_scale = w_scale = h_scale = input size: offsets are in pixels.
    const float size = static_cast<float>(options.inputSize);
    std::vector<Detection> candidates;
    size_t anchor = 0;
    // findOutputs checked that the counts add up to the anchors, in anchor order.
    for (size_t part = 0; part < out.scores.size(); ++part) {
        const float* logit = out.scores[part]->data<float>();
        const float* raw = out.boxes[part]->data<float>();
        const int64_t count = out.scores[part]->dim(1);
        for (int64_t i = 0; i < count; ++i, ++anchor) {
            const float score = sigmoid(logit[i]);
            // MediaPipe keeps scores equal to the threshold; NaN logits never pass.
            if (!(score >= options.scoreThreshold)) continue;
            const float* r = raw + i * kCoords;
            const float ax = anchors[anchor].x * size, ay = anchors[anchor].y * size;
            const float cx = ax + r[0], cy = ay + r[1];
            Detection d;
            d.x0 = cx - r[2] / 2, d.x1 = cx + r[2] / 2;
            d.y0 = cy - r[3] / 2, d.y1 = cy + r[3] / 2;
            d.score = score;
            d.keypoints.resize(kKeypoints);
            for (int k = 0; k < kKeypoints; ++k) {
                d.keypoints[static_cast<size_t>(k)] = {ax + r[4 + 2 * k], ay + r[5 + 2 * k]};
            }
            candidates.push_back(std::move(d));
        }
    }
    return weightedNonMaxSuppression(std::move(candidates), options.iouThreshold,
                                     static_cast<size_t>(options.maxFaces));
}

}  // namespace prunelab::engine

// BlazeFace post-processing as MediaPipe's face_detection_{front,back} graphs do it: SSD anchor
// centres, box and keypoint offsets decoded in input pixels, clipped sigmoid scores, and
// weighted non-maximum suppression (overlapping boxes blended by score, not dropped).
#include "engine/tasks/face_detection.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace prunelab::engine {

namespace {

constexpr int kKeypoints = 6;
constexpr int64_t kCoords = 4 + 2 * kKeypoints;  // x, y, w, h, then (x, y) per keypoint
// MediaPipe's score_clipping_thresh: keeps exp() finite on wild logits.
constexpr float kScoreClip = 100.0f;

// MediaPipe's SsdAnchorsCalculator options for the two models (num_layers 4, anchor offset
// 0.5, aspect ratio 1 plus the interpolated scale, fixed_anchor_size). Layers that share a
// stride share one grid, each contributing 2 anchors per cell: front 8 | 16,16,16 and back
// 16 | 32,32,32 both give a 16x16 grid x 2 and an 8x8 grid x 6.
std::vector<int> anchorStrides(int inputSize) {
    if (inputSize == 128) return {8, 16, 16, 16};
    if (inputSize == 256) return {16, 32, 32, 32};
    return {};
}

float sigmoid(float logit) {
    float x = std::clamp(logit, -kScoreClip, kScoreClip);
    return 1.0f / (1.0f + std::exp(-x));
}

// The four outputs sorted by role; each null until found.
struct BlazeFaceOutputs {
    const Tensor* scores16 = nullptr;  // [1, 512, 1]: the 16x16 grid's logits
    const Tensor* scores8 = nullptr;   // [1, 384, 1]: the 8x8 grid's logits
    const Tensor* boxes16 = nullptr;   // [1, 512, 16]
    const Tensor* boxes8 = nullptr;    // [1, 384, 16]
};

Result<BlazeFaceOutputs> findOutputs(std::span<const Tensor> outputs) {
    if (outputs.size() != 4) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace has 4 outputs, got " + std::to_string(outputs.size()));
    }
    BlazeFaceOutputs found;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& t = outputs[i];
        const Shape& s = t.shape();
        const Tensor** slot = nullptr;
        if (s == Shape{1, 512, 1}) slot = &found.scores16;
        if (s == Shape{1, 384, 1}) slot = &found.scores8;
        if (s == Shape{1, 512, kCoords}) slot = &found.boxes16;
        if (s == Shape{1, 384, kCoords}) slot = &found.boxes8;
        const std::string what = "BlazeFace output " + std::to_string(i) + " " + shapeToString(s);
        if (slot == nullptr) {
            return makeError(ErrorCode::InvalidArgument,
                             what +
                                 " is none of [1, 512, 1], [1, 384, 1], [1, 512, 16], "
                                 "[1, 384, 16]");
        }
        if (*slot != nullptr) {
            return makeError(ErrorCode::InvalidArgument, what + " appears twice");
        }
        if (t.dtype() != DataType::Float32) {
            return makeError(ErrorCode::InvalidArgument, what + " is not float32");
        }
        *slot = &t;
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
    const std::vector<int> strides = anchorStrides(inputSize);
    std::vector<Point2f> anchors;
    size_t layer = 0;
    while (layer < strides.size()) {
        // Consecutive layers with the same stride are one grid with 2 anchors each per cell.
        size_t last = layer;
        while (last < strides.size() && strides[last] == strides[layer]) ++last;
        const int perCell = 2 * static_cast<int>(last - layer);
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
    if (anchors.size() != 896) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace input size must be 128 (front) or 256 (back), got " +
                             std::to_string(options.inputSize));
    }
    if (options.maxFaces < 0 || !(options.iouThreshold >= 0.0f && options.iouThreshold <= 1.0f)) {
        return makeError(ErrorCode::InvalidArgument,
                         "BlazeFace needs maxFaces >= 0 and an IoU threshold in [0, 1]");
    }
    PL_TRY_ASSIGN(BlazeFaceOutputs out, findOutputs(outputs));

    // The 16x16 grid's 512 anchors come first, then the 8x8 grid's 384: the anchor order.
    const std::array<const Tensor*, 2> scores = {out.scores16, out.scores8};
    const std::array<const Tensor*, 2> boxes = {out.boxes16, out.boxes8};
    // MediaPipe's x_scale = y_scale = w_scale = h_scale = input size: offsets are in pixels.
    const float size = static_cast<float>(options.inputSize);
    std::vector<Detection> candidates;
    size_t anchor = 0;
    for (size_t grid = 0; grid < 2; ++grid) {
        const float* logit = scores[grid]->data<float>();
        const float* raw = boxes[grid]->data<float>();
        const int64_t count = scores[grid]->dim(1);
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

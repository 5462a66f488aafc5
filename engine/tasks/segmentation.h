// Segmentation masks (MediaPipe's selfie segmentation): the model's per-pixel "person"
// probability taken back to every pixel of the picture, and the share of the picture it covers.
#pragma once

#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/preprocess.h"

namespace prunelab::engine {

struct SegmentationOptions {
    float threshold = 0.5f;  // a pixel counts as "person" when its probability is >= this
    bool sigmoid =
        false;  // the output holds logits, not probabilities (MediaPipe's: probabilities)
};

// One probability per picture pixel, row-major. Empty when the task is not segmentation.
struct SegmentationMask {
    int width = 0, height = 0;  // the picture's pixels
    std::vector<float> probability;
    float threshold = 0.5f;
    double coverage = 0.0;  // the share of the picture's pixels at or above the threshold, 0..1

    bool empty() const { return probability.empty(); }
    float at(int x, int y) const {
        return probability[static_cast<size_t>(y) * static_cast<size_t>(width) +
                           static_cast<size_t>(x)];
    }
};

// `output` is the model's one-channel mask over its input tensor, [1, H, W, 1] (NHWC, as the
// .tflite declares it), [1, 1, H, W] or [1, H, W], at the input's resolution or any other (it
// covers the whole input). `mapping` is prepareInput's, with both sizes set: each picture
// pixel's centre goes through it into the input tensor and samples the mask bilinearly, so a
// letterbox's bars are left out and a stretch is undone. InvalidArgument for another shape, a
// non-float32 output or a mapping without its sizes.
Result<SegmentationMask> decodeSegmentationMask(const Tensor& output, const InputMapping& mapping,
                                                const SegmentationOptions& options);

}  // namespace prunelab::engine

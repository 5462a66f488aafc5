// PP-OCR (DB) text-detection post-processing: probability map -> binary map -> contours ->
// rotated boxes scored by their mean probability, expanded ("unclipped") as PaddleOCR does.
#pragma once

#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/detection.h"

namespace prunelab::engine {

struct TextDetectionOptions {
    float binaryThreshold = 0.3f;  // a pixel is text when its probability exceeds this
    float boxThreshold = 0.6f;     // a box is kept when its mean probability exceeds this
    float unclipRatio = 1.5f;      // grow each box by area * ratio / perimeter, as DB does
    int minSide = 3;               // drop boxes whose shorter side is below this (pixels)
    int maxCandidates = 1000;      // contours considered, largest first
};

// `probability` is [1, 1, H, W] float32. Returns text boxes in input-tensor pixels with `quad`
// set (clockwise from top-left) and the axis-aligned box around it, sorted top to bottom, then
// left to right. InvalidArgument for any other shape.
Result<std::vector<Detection>> decodeTextProbabilityMap(const Tensor& probability,
                                                        const TextDetectionOptions& options);

}  // namespace prunelab::engine

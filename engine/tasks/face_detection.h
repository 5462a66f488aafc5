// BlazeFace post-processing (MediaPipe face detection): SSD anchors for the 128 (front) and 256
// (back) models, box and keypoint decoding, sigmoid scores and non-maximum suppression.
#pragma once

#include <span>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/detection.h"

namespace prunelab::engine {

struct BlazeFaceOptions {
    int inputSize = 128;          // 128 (front) or 256 (back); the input is square
    float scoreThreshold = 0.5f;  // after the sigmoid
    float iouThreshold = 0.3f;    // for non-maximum suppression
    int maxFaces = 20;
};

// The anchor centres in [0, 1], in the models' output order: a 16x16 grid with 2 anchors per
// cell, then an 8x8 grid with 6 (896 in all for both models). Empty for any other inputSize.
std::vector<Point2f> blazeFaceAnchors(int inputSize);

// `outputs` are the model's four outputs in any order, told apart by shape: scores [1, 512, 1]
// and [1, 384, 1], regressors [1, 512, 16] and [1, 384, 16]. Returns faces in input-tensor
// pixels (0 .. inputSize), best first; overlapping boxes are blended by score as MediaPipe's
// weighted NMS does. InvalidArgument when the outputs do not have those shapes (or are not
// float32), or inputSize is neither 128 nor 256.
Result<std::vector<Detection>> decodeBlazeFace(std::span<const Tensor> outputs,
                                               const BlazeFaceOptions& options);

}  // namespace prunelab::engine

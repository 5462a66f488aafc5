// BlazeFace post-processing (MediaPipe face detection): SSD anchors for the 128 (front, short
// range), 192 (full range) and 256 (back) models, box and keypoint decoding, sigmoid scores and
// non-maximum suppression.
#pragma once

#include <span>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/detection.h"

namespace prunelab::engine {

struct BlazeFaceOptions {
    int inputSize = 128;          // 128 (front), 192 (full range) or 256 (back); square input
    float scoreThreshold = 0.5f;  // after the sigmoid
    float iouThreshold = 0.3f;    // for non-maximum suppression
    int maxFaces = 20;
};

// The anchor centres in [0, 1], in the models' output order. 128 and 256: a 16x16 grid with 2
// anchors per cell, then an 8x8 grid with 6 (896 in all). 192 (full range): one 48x48 grid with
// 1 anchor per cell (2304). Empty for any other inputSize.
std::vector<Point2f> blazeFaceAnchors(int inputSize);

// `outputs` are the model's scores ([1, N, 1], logits) and regressors ([1, N, 16]) in any order,
// told apart by shape, either for all anchors at once (two outputs, N = 896 or 2304: the .tflite
// files) or per grid (four outputs, N = 512 and 384: the 128/256 ONNX conversions). Returns
// faces in input-tensor pixels (0 .. inputSize), best first; overlapping boxes are blended by
// score as MediaPipe's weighted NMS does. InvalidArgument when the outputs do not have those
// shapes (or are not float32), or inputSize is not 128, 192 or 256.
Result<std::vector<Detection>> decodeBlazeFace(std::span<const Tensor> outputs,
                                               const BlazeFaceOptions& options);

}  // namespace prunelab::engine

// Photos -> model input tensors: decode, convert to RGB, resize to the input's H x W, scale,
// and lay out as the model declares (NCHW or NHWC). Per-model normalisation comes from the
// caller (the catalog, or the CLI's --mean/--std).
#pragma once

#include <string>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

enum class ImageLayout { NCHW, NHWC };

struct ImageToTensor {
    // value = (pixel / 255 - mean[c]) / std[c], channels in RGB order (BGR when bgr = true).
    float mean[3] = {0.0f, 0.0f, 0.0f};
    float std[3] = {1.0f, 1.0f, 1.0f};
    bool bgr = false;
};

// Guesses the layout of a 4-D image input: [N, C, H, W] with C in {1, 3} -> NCHW, else
// [N, H, W, C] with C in {1, 3} -> NHWC. Error when it is neither.
Result<ImageLayout> guessImageLayout(const Shape& inputShape);

// Loads `path` and returns a float32 tensor of exactly `inputShape` (batch 1).
Result<Tensor> loadImageAsInput(const std::string& path, const Shape& inputShape,
                                const ImageToTensor& options = {});

}  // namespace prunelab::engine

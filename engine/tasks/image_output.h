// Image-to-image outputs (super-resolution, denoise): a [1, 3, H, W] tensor back to a picture,
// clamped, and PSNR to say how close two pictures are.
#pragma once

#include "engine/io/image.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

// `output` is float32 [1, 3, H, W] (NCHW, RGB) with values in [0, 1]; each value is clamped to
// [0, 1], scaled by 255 and rounded. InvalidArgument for any other shape or dtype.
Result<Image> tensorToImage(const Tensor& output);

// Peak signal-to-noise ratio in dB over all three channels (peak 255). Infinity when equal.
// InvalidArgument when the sizes differ.
Result<double> psnr(const Image& a, const Image& b);

}  // namespace prunelab::engine

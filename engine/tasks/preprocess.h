// Pictures -> model inputs for the catalog's tasks: resize (stretch or letterbox), optional
// nearest-neighbour pre-upscale and replicate border (waifu2x), normalise, lay out. The mapping
// it returns takes points in the input tensor back to the original picture.
#pragma once

#include "engine/io/image.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/detection.h"

namespace prunelab::engine {

enum class Fit {
    Stretch,    // resize to the input's W x H, ignoring the aspect ratio
    Letterbox,  // keep the aspect ratio, centre, pad with black (MediaPipe's BlazeFace)
    FitHeight,  // scale to the input's height, width min(scaled, W), left-aligned; the rest of
                // the row is 0 in the normalised tensor (PP-OCR's text-line classifier)
};

struct Preprocess {
    ImageToTensor norm;  // value = (pixel / 255 - mean) / std, RGB unless norm.bgr
    Fit fit = Fit::Stretch;
    int upscale = 1;  // nearest-neighbour upscale first (waifu2x scale2.0x expects it)
    int border = 0;   // then replicate this many pixels on every side (waifu2x's offset)
};

// image = (input - offset) / scale, per axis, in pixels.
struct InputMapping {
    float scaleX = 1.0f, scaleY = 1.0f;
    float offsetX = 0.0f, offsetY = 0.0f;
    // The two sizes it maps between (0 when not known): a per-pixel output such as a
    // segmentation mask is taken back to every pixel of the picture through them.
    int imageWidth = 0, imageHeight = 0;  // the picture's
    int inputWidth = 0, inputHeight = 0;  // the input tensor's

    Point2f toImage(Point2f p) const {
        return {(p.x - offsetX) / scaleX, (p.y - offsetY) / scaleY};
    }
    Detection toImage(const Detection& d) const;
};

// Returns a float32 tensor of exactly `inputShape` ([1, C, H, W] or [1, H, W, C], C = 1 or 3).
// For Stretch and Letterbox the picture (after upscale and border) is resized to fit H x W.
Result<Tensor> imageToInput(const Image& image, const Shape& inputShape, const Preprocess& pre,
                            InputMapping* mapping = nullptr);

}  // namespace prunelab::engine

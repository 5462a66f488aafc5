// Photos -> model input tensors: decode, convert to RGB, resize to the input's H x W, scale,
// and lay out as the model declares (NCHW or NHWC). Per-model normalisation comes from the
// caller (the catalog, or the CLI's --mean/--std).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

// An 8-bit RGB picture, rows top to bottom, pixels interleaved R, G, B: what the tasks read,
// pre-process, draw on and write out. Plain data, so views and tests can make one without OpenCV.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;  // width * height * 3 bytes

    Image() = default;
    Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0) {}
    bool empty() const { return width <= 0 || height <= 0; }
    uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<size_t>(y) * width + x) * 3; }
    const uint8_t* pixel(int x, int y) const {
        return rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
    }
};

enum class Interpolation { Nearest, Linear, Cubic, Area };

// Decodes any format OpenCV reads (jpg, png, bmp, ...). NotFound / Corrupt name the file.
Result<Image> readImage(const std::string& path);
// Encodes by the extension (.png, .jpg, .bmp). Io names the file when it cannot be written.
Status writeImage(const std::string& path, const Image& image);
// Resizes with OpenCV (Cubic and Linear as cv::resize; Area for downscaling).
Image resizeImage(const Image& image, int width, int height, Interpolation how);

// Makes OpenCV run its image operations on the calling thread, process-wide (once; cheap to
// call again). Debian's OpenCV 4.6 parallelises with TBB: those workers take cores the engine
// does not count (the live demo promises both lanes the same threads), and they outlive main,
// where their thread-exit hook reads OpenCV's already destroyed TLS and aborts the process.
// The engine's own thread pools own the cores. OpenCV DNN (a dense reference) sets its own.
void runOpenCvOnCallingThread();

// Loads `path` and returns a float32 tensor of exactly `inputShape` (batch 1).
Result<Tensor> loadImageAsInput(const std::string& path, const Shape& inputShape,
                                const ImageToTensor& options = {});

}  // namespace prunelab::engine

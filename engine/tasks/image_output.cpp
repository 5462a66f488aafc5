// Image-to-image outputs: a [1, 3, H, W] float tensor in [0, 1] back to an 8-bit RGB picture,
// and PSNR between two pictures (see image_output.h for the contract).
#include "engine/tasks/image_output.h"

#include <cmath>
#include <limits>
#include <string>

namespace prunelab::engine {

Result<Image> tensorToImage(const Tensor& output) {
    const Shape& s = output.shape();
    if (output.dtype() != DataType::Float32 || s.size() != 4 || s[0] != 1 || s[1] != 3 ||
        s[2] < 1 || s[3] < 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "an image output must be float32 [1, 3, H, W], got " +
                             std::string(dataTypeName(output.dtype())) + " " + shapeToString(s));
    }
    const int h = static_cast<int>(s[2]), w = static_cast<int>(s[3]);
    const size_t plane = static_cast<size_t>(h) * w;
    const float* src = output.data<float>();
    Image image(w, h);
    for (size_t i = 0; i < plane; ++i) {
        for (size_t c = 0; c < 3; ++c) {
            float v = src[c * plane + i];
            // Models overshoot a little at edges (and a broken one may emit NaN): clamp first so
            // the cast to uint8 is always defined; NaN counts as black.
            v = std::isnan(v) ? 0.0f : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            image.rgb[i * 3 + c] = static_cast<uint8_t>(std::lround(v * 255.0f));
        }
    }
    return image;
}

Result<double> psnr(const Image& a, const Image& b) {
    if (a.width != b.width || a.height != b.height) {
        return makeError(ErrorCode::InvalidArgument,
                         "PSNR needs pictures of one size, got " + std::to_string(a.width) + "x" +
                             std::to_string(a.height) + " and " + std::to_string(b.width) + "x" +
                             std::to_string(b.height));
    }
    if (a.empty() || a.rgb.size() != b.rgb.size() ||
        a.rgb.size() != static_cast<size_t>(a.width) * a.height * 3) {
        return makeError(ErrorCode::InvalidArgument, "PSNR of an empty or inconsistent picture");
    }
    // PSNR = 10 log10(peak^2 / MSE), the MSE taken over every channel of every pixel.
    double sum = 0.0;
    for (size_t i = 0; i < a.rgb.size(); ++i) {
        const double d = static_cast<double>(a.rgb[i]) - static_cast<double>(b.rgb[i]);
        sum += d * d;
    }
    if (sum == 0.0) return std::numeric_limits<double>::infinity();
    const double mse = sum / static_cast<double>(a.rgb.size());
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace prunelab::engine

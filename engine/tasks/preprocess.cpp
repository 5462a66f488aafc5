// Picture -> input tensor for the catalog's tasks (see preprocess.h for the steps and why).
#include "engine/tasks/preprocess.h"

#include <algorithm>
#include <cmath>

namespace prunelab::engine {

Detection InputMapping::toImage(const Detection& d) const {
    Detection out = d;
    Point2f a = toImage(Point2f{d.x0, d.y0}), b = toImage(Point2f{d.x1, d.y1});
    out.x0 = a.x, out.y0 = a.y, out.x1 = b.x, out.y1 = b.y;
    for (Point2f& p : out.keypoints) p = toImage(p);
    for (Point2f& p : out.quad) p = toImage(p);
    return out;
}

namespace {

// Replicates the outermost pixels `border` times on every side (waifu2x pads this way, so the
// unpadded network sees plausible context at the picture's edge).
Image replicateBorder(const Image& image, int border) {
    Image out(image.width + 2 * border, image.height + 2 * border);
    for (int y = 0; y < out.height; ++y) {
        int sy = std::clamp(y - border, 0, image.height - 1);
        for (int x = 0; x < out.width; ++x) {
            int sx = std::clamp(x - border, 0, image.width - 1);
            const uint8_t* s = image.pixel(sx, sy);
            uint8_t* d = out.pixel(x, y);
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        }
    }
    return out;
}

}  // namespace

Result<Tensor> imageToInput(const Image& image, const Shape& inputShape, const Preprocess& pre,
                            InputMapping* mapping) {
    if (image.empty() || image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
        return makeError(ErrorCode::InvalidArgument, "the picture is empty or inconsistent");
    }
    if (pre.upscale < 1 || pre.upscale > 8 || pre.border < 0 || pre.border > 64) {
        return makeError(ErrorCode::InvalidArgument,
                         "pre-processing needs upscale 1..8 and border 0..64");
    }
    PL_TRY_ASSIGN(ImageLayout layout, guessImageLayout(inputShape));
    if (inputShape[0] != 1) return makeError(ErrorCode::Unsupported, "image inputs need batch 1");
    const bool nchw = layout == ImageLayout::NCHW;
    const int64_t c = nchw ? inputShape[1] : inputShape[3];
    const int h = static_cast<int>(nchw ? inputShape[2] : inputShape[1]);
    const int w = static_cast<int>(nchw ? inputShape[3] : inputShape[2]);

    // Each step records how it moves coordinates, so boxes found in the input map back.
    InputMapping map;
    Image work = image;
    if (pre.upscale > 1) {
        work = resizeImage(work, work.width * pre.upscale, work.height * pre.upscale,
                           Interpolation::Nearest);
        map.scaleX = map.scaleY = static_cast<float>(pre.upscale);
    }
    if (pre.border > 0) {
        work = replicateBorder(work, pre.border);
        map.offsetX = map.offsetY = static_cast<float>(pre.border);
    }

    int fitW = w, fitH = h, padX = 0, padY = 0;
    if (pre.fit == Fit::Letterbox) {
        float s = std::min(static_cast<float>(w) / work.width, static_cast<float>(h) / work.height);
        fitW = std::max(1, static_cast<int>(std::lround(work.width * s)));
        fitH = std::max(1, static_cast<int>(std::lround(work.height * s)));
        padX = (w - fitW) / 2;
        padY = (h - fitH) / 2;
    } else if (pre.fit == Fit::FitHeight) {
        // As PaddleOCR's ClsResizeImg: a long line is squeezed to W rather than shrunk in height.
        double scaled = std::ceil(static_cast<double>(h) * work.width / work.height);
        fitW = static_cast<int>(std::clamp(scaled, 1.0, static_cast<double>(w)));
    }
    if (fitW != work.width || fitH != work.height) {
        float sx = static_cast<float>(fitW) / work.width,
              sy = static_cast<float>(fitH) / work.height;
        bool shrinking = fitW < work.width && fitH < work.height;
        work =
            resizeImage(work, fitW, fitH, shrinking ? Interpolation::Area : Interpolation::Linear);
        map.scaleX *= sx, map.scaleY *= sy;
        map.offsetX *= sx, map.offsetY *= sy;
    }
    map.offsetX += static_cast<float>(padX);
    map.offsetY += static_cast<float>(padY);
    map.imageWidth = image.width, map.imageHeight = image.height;
    map.inputWidth = w, map.inputHeight = h;

    Tensor t(DataType::Float32, inputShape);
    float* dst = t.data<float>();
    // Letterbox bars are black pixels, normalised like any other pixel; FitHeight's tail is 0.
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            int sx = x - padX, sy = y - padY;
            bool inside = sx >= 0 && sy >= 0 && sx < work.width && sy < work.height;
            if (!inside && pre.fit == Fit::FitHeight) {
                for (int64_t ch = 0; ch < c; ++ch) {
                    dst[nchw ? static_cast<size_t>((ch * h + y) * w + x)
                             : static_cast<size_t>((static_cast<int64_t>(y) * w + x) * c + ch)] =
                        0.0f;
                }
                continue;
            }
            const uint8_t* p = inside ? work.pixel(sx, sy) : nullptr;
            uint8_t rgb[3] = {0, 0, 0};
            if (p) rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
            // A grey input takes the luma (ITU-R BT.601), as cv::cvtColor would.
            const float luma = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
            if (pre.norm.bgr) std::swap(rgb[0], rgb[2]);
            for (int64_t ch = 0; ch < c; ++ch) {
                float v = c == 1 ? luma : static_cast<float>(rgb[ch]);
                v = (v / 255.0f - pre.norm.mean[ch]) / pre.norm.std[ch];
                size_t at = nchw ? static_cast<size_t>((ch * h + y) * w + x)
                                 : static_cast<size_t>((static_cast<int64_t>(y) * w + x) * c + ch);
                dst[at] = v;
            }
        }
    }
    if (mapping) *mapping = map;
    return t;
}

}  // namespace prunelab::engine

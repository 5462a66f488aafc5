// Segmentation masks back in the picture's pixels: each picture pixel samples the model's mask
// where pre-processing put it (bilinear), so the mask lines up with the picture whatever the fit.
#include "engine/tasks/segmentation.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace prunelab::engine {

namespace {

// Above this many picture pixels the mask would take gigabytes: a caller's mistake, not a photo.
constexpr int64_t kMaxPicturePixels = int64_t{1} << 26;

// Where one picture row or column samples the mask: the two neighbouring mask cells and the
// weight of the second.
struct Tap {
    int64_t i0 = 0, i1 = 0;
    float w1 = 0.0f;
};

// Picture pixel p (its centre at p + 0.5) -> input pixels u = (p + 0.5) * scale + offset -> mask
// cells, whose centres sit at (i + 0.5) * inputSize / maskSize; clamped at the mask's edges.
std::vector<Tap> taps(int picture, float scale, float offset, int input, int64_t mask) {
    std::vector<Tap> out(static_cast<size_t>(picture));
    const double cellsPerInputPixel = static_cast<double>(mask) / input;
    for (int p = 0; p < picture; ++p) {
        const double u = (p + 0.5) * scale + offset;
        const double m =
            std::clamp(u * cellsPerInputPixel - 0.5, 0.0, static_cast<double>(mask - 1));
        Tap& t = out[static_cast<size_t>(p)];
        t.i0 = static_cast<int64_t>(std::floor(m));
        t.i1 = std::min(t.i0 + 1, mask - 1);
        t.w1 = static_cast<float>(m - static_cast<double>(t.i0));
    }
    return out;
}

// A probability in [0, 1]; NaN (a broken model) counts as background.
float probability(float v, bool sigmoid) {
    if (sigmoid) v = 1.0f / (1.0f + std::exp(-std::clamp(v, -100.0f, 100.0f)));
    return v >= 0.0f ? std::min(v, 1.0f) : 0.0f;
}

}  // namespace

Result<SegmentationMask> decodeSegmentationMask(const Tensor& output, const InputMapping& mapping,
                                                const SegmentationOptions& options) {
    const Shape& s = output.shape();
    const std::string what = "segmentation output " + shapeToString(s);
    int64_t h = 0, w = 0;
    if (s.size() == 4 && s[0] == 1 && s[3] == 1) {
        h = s[1], w = s[2];  // NHWC, as TFLite declares it
    } else if (s.size() == 4 && s[0] == 1 && s[1] == 1) {
        h = s[2], w = s[3];  // NCHW
    } else if (s.size() == 3 && s[0] == 1) {
        h = s[1], w = s[2];
    }
    if (h <= 0 || w <= 0) {
        return makeError(ErrorCode::InvalidArgument,
                         what + " is not one mask ([1, H, W, 1], [1, 1, H, W] or [1, H, W])");
    }
    if (output.dtype() != DataType::Float32) {
        return makeError(ErrorCode::InvalidArgument, what + " is not float32");
    }
    if (!(options.threshold >= 0.0f && options.threshold <= 1.0f)) {
        return makeError(ErrorCode::InvalidArgument, "the mask threshold must be in [0, 1]");
    }
    const int pw = mapping.imageWidth, ph = mapping.imageHeight;
    if (pw <= 0 || ph <= 0 || mapping.inputWidth <= 0 || mapping.inputHeight <= 0 ||
        !(mapping.scaleX > 0.0f) || !(mapping.scaleY > 0.0f)) {
        return makeError(ErrorCode::InvalidArgument,
                         "the input mapping lacks the picture's or the input's size (prepareInput "
                         "sets both)");
    }
    if (static_cast<int64_t>(pw) * ph > kMaxPicturePixels) {
        return makeError(ErrorCode::InvalidArgument, "the picture (" + std::to_string(pw) + "x" +
                                                         std::to_string(ph) +
                                                         ") is too large for a mask");
    }

    // The mask as probabilities once, so the sigmoid is not applied 4 times per picture pixel.
    const float* raw = output.data<float>();
    std::vector<float> cells(static_cast<size_t>(h * w));
    for (size_t i = 0; i < cells.size(); ++i) cells[i] = probability(raw[i], options.sigmoid);

    const std::vector<Tap> cols = taps(pw, mapping.scaleX, mapping.offsetX, mapping.inputWidth, w);
    const std::vector<Tap> rows = taps(ph, mapping.scaleY, mapping.offsetY, mapping.inputHeight, h);
    SegmentationMask mask;
    mask.width = pw, mask.height = ph;
    mask.threshold = options.threshold;
    mask.probability.resize(static_cast<size_t>(pw) * static_cast<size_t>(ph));
    size_t covered = 0;
    for (int y = 0; y < ph; ++y) {
        const Tap& r = rows[static_cast<size_t>(y)];
        const float* top = cells.data() + r.i0 * w;
        const float* bottom = cells.data() + r.i1 * w;
        float* out = mask.probability.data() + static_cast<size_t>(y) * static_cast<size_t>(pw);
        for (int x = 0; x < pw; ++x) {
            const Tap& c = cols[static_cast<size_t>(x)];
            // Bilinear: along x on both rows, then along y.
            const float upper = top[c.i0] + c.w1 * (top[c.i1] - top[c.i0]);
            const float lower = bottom[c.i0] + c.w1 * (bottom[c.i1] - bottom[c.i0]);
            const float p = upper + r.w1 * (lower - upper);
            out[x] = p;
            covered += p >= options.threshold ? 1 : 0;
        }
    }
    mask.coverage = static_cast<double>(covered) / static_cast<double>(mask.probability.size());
    return mask;
}

}  // namespace prunelab::engine

// Image loading with OpenCV's codecs and resize (a library does this job better than we would).
#include "engine/io/image.h"

#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace prunelab::engine {

namespace {

cv::Mat asMat(const Image& image) {
    // OpenCV only reads through this view; the const_cast never leads to a write.
    return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
}

Image fromMat(const cv::Mat& rgb) {
    Image out(rgb.cols, rgb.rows);
    cv::Mat view(out.height, out.width, CV_8UC3, out.rgb.data());
    rgb.copyTo(view);
    return out;
}

}  // namespace

Result<Image> readImage(const std::string& path) {
    cv::Mat bgr;
    try {
        bgr = cv::imread(path, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("cannot decode the image: ") + e.what(),
                         path);
    }
    if (bgr.empty()) {
        return makeError(ErrorCode::NotFound, "cannot read the image (missing or not an image)",
                         path);
    }
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return fromMat(rgb);
}

Status writeImage(const std::string& path, const Image& image) {
    if (image.empty() || image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
        return makeError(ErrorCode::InvalidArgument, "the image to write is empty or inconsistent",
                         path);
    }
    cv::Mat bgr;
    cv::cvtColor(asMat(image), bgr, cv::COLOR_RGB2BGR);
    bool written = false;
    try {
        written = cv::imwrite(path, bgr);
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Io, std::string("cannot write the image: ") + e.what(), path);
    }
    if (!written) {
        return makeError(ErrorCode::Io,
                         "cannot write the image (unknown extension or the folder is not writable)",
                         path);
    }
    return {};
}

void runOpenCvOnCallingThread() {
    static std::once_flag once;
    std::call_once(once, [] { cv::setNumThreads(0); });
}

Image resizeImage(const Image& image, int width, int height, Interpolation how) {
    int flag = cv::INTER_LINEAR;
    if (how == Interpolation::Nearest) flag = cv::INTER_NEAREST;
    if (how == Interpolation::Cubic) flag = cv::INTER_CUBIC;
    if (how == Interpolation::Area) flag = cv::INTER_AREA;
    cv::Mat resized;
    cv::resize(asMat(image), resized, cv::Size(width, height), 0, 0, flag);
    return fromMat(resized);
}

Result<ImageLayout> guessImageLayout(const Shape& s) {
    if (s.size() == 4 && (s[1] == 1 || s[1] == 3)) return ImageLayout::NCHW;
    if (s.size() == 4 && (s[3] == 1 || s[3] == 3)) return ImageLayout::NHWC;
    return makeError(ErrorCode::Unsupported,
                     "input of shape " + shapeToString(s) +
                         " is not an image (expected [1, 3, H, W] or [1, H, W, 3]); feed a .npy");
}

Result<Tensor> loadImageAsInput(const std::string& path, const Shape& inputShape,
                                const ImageToTensor& options) {
    PL_TRY_ASSIGN(ImageLayout layout, guessImageLayout(inputShape));
    if (inputShape[0] != 1) {
        return makeError(ErrorCode::Unsupported, "image inputs need batch 1", path);
    }
    const bool nchw = layout == ImageLayout::NCHW;
    const int64_t c = nchw ? inputShape[1] : inputShape[3];
    const int64_t h = nchw ? inputShape[2] : inputShape[1];
    const int64_t w = nchw ? inputShape[3] : inputShape[2];

    cv::Mat image;
    try {
        image = cv::imread(path, c == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("cannot decode the image: ") + e.what(),
                         path);
    }
    if (image.empty()) {
        return makeError(ErrorCode::NotFound, "cannot read the image (missing or not an image)",
                         path);
    }
    if (c == 3 && !options.bgr) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0,
               cv::INTER_LINEAR);

    Tensor t(DataType::Float32, inputShape);
    float* dst = t.data<float>();
    for (int64_t y = 0; y < h; ++y) {
        const uint8_t* row = resized.ptr<uint8_t>(static_cast<int>(y));
        for (int64_t x = 0; x < w; ++x) {
            for (int64_t ch = 0; ch < c; ++ch) {
                float v = (row[x * c + ch] / 255.0f - options.mean[ch]) / options.std[ch];
                size_t at = nchw ? static_cast<size_t>((ch * h + y) * w + x)
                                 : static_cast<size_t>((y * w + x) * c + ch);
                dst[at] = v;
            }
        }
    }
    return t;
}

}  // namespace prunelab::engine

// Pre-processing: layouts, normalisation, letterbox, waifu2x's upscale + border, and the mapping
// from input pixels back to the picture, all checked against values worked out by hand.
#include <gtest/gtest.h>

#include "engine/tasks/preprocess.h"

namespace prunelab::engine {
namespace {

// A picture whose pixel (x, y) is (10x, 10y, 7) so every value says where it came from.
Image gradient(int w, int h) {
    Image im(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            uint8_t* p = im.pixel(x, y);
            p[0] = static_cast<uint8_t>(10 * x), p[1] = static_cast<uint8_t>(10 * y), p[2] = 7;
        }
    return im;
}

float at(const Tensor& t, int64_t i) {
    return t.data<float>()[i];
}

TEST(Preprocess, NchwAndNhwcSameSizeAreExactPixels) {
    Image im = gradient(4, 3);
    Preprocess pre;
    auto nchw = imageToInput(im, {1, 3, 3, 4}, pre);
    ASSERT_TRUE(nchw.ok()) << nchw.error().toString();
    // Channel 1 (green) at y=2, x=3 holds 10 * 2 / 255.
    EXPECT_FLOAT_EQ(at(*nchw, (1 * 3 + 2) * 4 + 3), 20.0f / 255);
    EXPECT_FLOAT_EQ(at(*nchw, (0 * 3 + 1) * 4 + 3), 30.0f / 255);
    // [1, 2, 4, 3] reads as NHWC (an H of 3 would be taken for channels).
    auto nhwc = imageToInput(gradient(4, 2), {1, 2, 4, 3}, pre);
    ASSERT_TRUE(nhwc.ok());
    EXPECT_FLOAT_EQ(at(*nhwc, (1 * 4 + 3) * 3 + 1), 10.0f / 255);
    EXPECT_FLOAT_EQ(at(*nhwc, (1 * 4 + 3) * 3 + 0), 30.0f / 255);
}

TEST(Preprocess, MeanStdAndBgrOrder) {
    Image im = gradient(2, 2);
    Preprocess pre;
    pre.norm.bgr = true;
    pre.norm.mean[0] = 0.5f, pre.norm.std[0] = 0.25f;
    auto t = imageToInput(im, {1, 3, 2, 2}, pre);
    ASSERT_TRUE(t.ok());
    // Channel 0 is blue (7) once swapped: (7/255 - 0.5) / 0.25.
    EXPECT_FLOAT_EQ(at(*t, 0), (7.0f / 255 - 0.5f) / 0.25f);
    EXPECT_FLOAT_EQ(at(*t, 2 * 4 + 1), 10.0f / 255);  // red of x = 1 is channel 2
}

TEST(Preprocess, LetterboxCentresAndMapsBack) {
    Image im(200, 100);  // 2:1 into 64x64: 64x32 with 16 rows of black above and below
    for (uint8_t& v : im.rgb) v = 255;
    Preprocess pre;
    pre.fit = Fit::Letterbox;
    InputMapping map;
    auto t = imageToInput(im, {1, 64, 64, 3}, pre, &map);
    ASSERT_TRUE(t.ok());
    EXPECT_FLOAT_EQ(at(*t, (5 * 64 + 10) * 3), 0.0f);   // bar
    EXPECT_FLOAT_EQ(at(*t, (20 * 64 + 10) * 3), 1.0f);  // picture
    EXPECT_FLOAT_EQ(at(*t, (50 * 64 + 10) * 3), 0.0f);  // bar
    Point2f p = map.toImage(Point2f{32.0f, 32.0f});  // the input's centre is the picture's centre
    EXPECT_NEAR(p.x, 100.0f, 1e-3);
    EXPECT_NEAR(p.y, 50.0f, 1e-3);
    Point2f corner = map.toImage(Point2f{0.0f, 16.0f});
    EXPECT_NEAR(corner.x, 0.0f, 1e-3);
    EXPECT_NEAR(corner.y, 0.0f, 1e-3);
}

TEST(Preprocess, FitHeightPadsRightWithZeros) {
    Image im(100, 50);
    for (uint8_t& v : im.rgb) v = 255;
    Preprocess pre;
    pre.fit = Fit::FitHeight;
    pre.norm.mean[0] = 0.5f;  // so a white pixel (0.5) differs from the zero tail
    InputMapping map;
    auto t = imageToInput(im, {1, 3, 48, 192}, pre, &map);  // 96x48 picture, 96 columns of 0
    ASSERT_TRUE(t.ok());
    EXPECT_FLOAT_EQ(at(*t, 10 * 192 + 90), 0.5f);
    EXPECT_FLOAT_EQ(at(*t, 10 * 192 + 100), 0.0f);
    EXPECT_NEAR(map.toImage(Point2f{96.0f, 48.0f}).x, 100.0f, 1e-3);
    // A line longer than 4:1 is squeezed to the full width, not shrunk in height.
    Image longLine(400, 50);
    for (uint8_t& v : longLine.rgb) v = 255;
    t = imageToInput(longLine, {1, 3, 48, 192}, pre, &map);
    ASSERT_TRUE(t.ok());
    EXPECT_FLOAT_EQ(at(*t, 47 * 192 + 191), 0.5f);
    EXPECT_NEAR(map.toImage(Point2f{192.0f, 48.0f}).x, 400.0f, 1e-3);
    EXPECT_NEAR(map.toImage(Point2f{192.0f, 48.0f}).y, 50.0f, 1e-3);
}

TEST(Preprocess, Waifu2xUpscaleAndReplicatedBorder) {
    Image im = gradient(3, 2);
    Preprocess pre;
    pre.upscale = 2, pre.border = 7;
    InputMapping map;
    // 3x2 -> 6x4 nearest -> 20x18 with the border: exactly the input, no resize.
    auto t = imageToInput(im, {1, 3, 18, 20}, pre, &map);
    ASSERT_TRUE(t.ok()) << t.error().toString();
    auto red = [&](int x, int y) { return at(*t, y * 20 + x) * 255; };
    EXPECT_NEAR(red(0, 0), 0, 1e-3);     // border replicates the top-left pixel
    EXPECT_NEAR(red(7, 7), 0, 1e-3);     // first real pixel
    EXPECT_NEAR(red(9, 7), 10, 1e-3);    // x = 2 in the upscaled picture is source x = 1
    EXPECT_NEAR(red(19, 17), 20, 1e-3);  // bottom-right border copies source x = 2
    Point2f p = map.toImage(Point2f{9.0f, 7.0f});
    EXPECT_NEAR(p.x, 1.0f, 1e-4);
    EXPECT_NEAR(p.y, 0.0f, 1e-4);
}

TEST(Preprocess, GreyInputTakesLuma) {
    Image im(1, 1);
    im.rgb = {255, 0, 0};
    auto t = imageToInput(im, {1, 1, 1, 1}, Preprocess{});
    ASSERT_TRUE(t.ok());
    EXPECT_NEAR(at(*t, 0), 0.299f, 1e-5);
}

TEST(Preprocess, RejectsBadInputs) {
    Image im = gradient(4, 4);
    EXPECT_EQ(imageToInput(Image{}, {1, 3, 4, 4}, Preprocess{}).error().code,
              ErrorCode::InvalidArgument);
    EXPECT_EQ(imageToInput(im, {1, 5, 4, 4}, Preprocess{}).error().code, ErrorCode::Unsupported);
    EXPECT_EQ(imageToInput(im, {2, 3, 4, 4}, Preprocess{}).error().code, ErrorCode::Unsupported);
    Preprocess bad;
    bad.upscale = 0;
    EXPECT_EQ(imageToInput(im, {1, 3, 4, 4}, bad).error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace prunelab::engine

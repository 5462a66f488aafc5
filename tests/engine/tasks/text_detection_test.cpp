// DB text-detection decoding: synthetic probability maps with boxes worked out by hand, and
// PP-OCRv4 det on a picture with rendered text lines whose boxes we know from cv::getTextSize.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_inputs.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/tasks/preprocess.h"
#include "engine/tasks/text_detection.h"

namespace prunelab::engine {
namespace {

// A [1, 1, H, W] tensor holding `map` (CV_32F).
Tensor toTensor(const cv::Mat& map) {
    Tensor t(DataType::Float32, {1, 1, map.rows, map.cols});
    for (int y = 0; y < map.rows; ++y) {
        std::memcpy(t.data<float>() + static_cast<size_t>(y) * map.cols, map.ptr<float>(y),
                    sizeof(float) * static_cast<size_t>(map.cols));
    }
    return t;
}

void fillBox(cv::Mat& map, int x0, int y0, int x1, int y1, float value) {
    cv::rectangle(map, cv::Point(x0, y0), cv::Point(x1, y1), cv::Scalar(value), cv::FILLED);
}

// Corners of a rectangle of size w x h centred on (cx, cy), its width axis turned by `degrees`
// clockwise on screen (y down), listed clockwise from the top-left. Written out from the
// rotation itself, not from cv::RotatedRect, so the decoder's corner order is checked.
std::vector<Point2f> rotatedCorners(float cx, float cy, float w, float h, float degrees) {
    const float a = degrees * static_cast<float>(CV_PI) / 180.0f;
    const float ux = std::cos(a), uy = std::sin(a);  // along the width
    const float vx = -uy, vy = ux;                   // along the height (downwards)
    const float sw[4] = {-1, 1, 1, -1}, sh[4] = {-1, -1, 1, 1};
    std::vector<Point2f> out;
    for (int i = 0; i < 4; ++i) {
        out.push_back({cx + sw[i] * w / 2 * ux + sh[i] * h / 2 * vx,
                       cy + sw[i] * w / 2 * uy + sh[i] * h / 2 * vy});
    }
    return out;
}

TEST(TextDetectionDecode, RotatedRectangleGivesOneUnclippedQuad) {
    cv::Mat map = cv::Mat::zeros(240, 320, CV_32F);
    const std::vector<Point2f> blob = rotatedCorners(160, 120, 100, 30, 20);
    std::vector<cv::Point> poly;
    for (const Point2f& p : blob) poly.emplace_back(cvRound(p.x), cvRound(p.y));
    cv::fillPoly(map, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(0.9));

    auto boxes = decodeTextProbabilityMap(toTensor(map), TextDetectionOptions{});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 1u);
    const Detection& d = (*boxes)[0];
    EXPECT_NEAR(d.score, 0.9f, 0.05f);

    // Unclip by hand: d = area * ratio / perimeter = 100 * 30 * 1.5 / 260 = 17.31 px on every
    // side, so the box becomes 134.6 x 64.6 around the same centre at the same angle.
    const std::vector<Point2f> want = rotatedCorners(160, 120, 134.6f, 64.6f, 20);
    ASSERT_EQ(d.quad.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_NEAR(d.quad[i].x, want[i].x, 2.0f) << "corner " << i;
        EXPECT_NEAR(d.quad[i].y, want[i].y, 2.0f) << "corner " << i;
    }
    // The axis-aligned box is exactly the quad's extent.
    float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
    for (const Point2f& p : d.quad) {
        x0 = std::min(x0, p.x), y0 = std::min(y0, p.y);
        x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    }
    EXPECT_FLOAT_EQ(d.x0, x0);
    EXPECT_FLOAT_EQ(d.y0, y0);
    EXPECT_FLOAT_EQ(d.x1, x1);
    EXPECT_FLOAT_EQ(d.y1, y1);
}

TEST(TextDetectionDecode, AxisAlignedBlobGrowsBySidesAndIsClippedToTheMap) {
    // A 60 x 20 block touching the left edge: d = 60 * 20 * 1.5 / 160 = 11.25 px, so the box
    // would start at x = -11.25 and is clipped to 0; the other sides move out by 11.25.
    cv::Mat map = cv::Mat::zeros(100, 200, CV_32F);
    fillBox(map, 0, 40, 60, 60, 0.8f);
    auto boxes = decodeTextProbabilityMap(toTensor(map), TextDetectionOptions{});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 1u);
    const Detection& d = (*boxes)[0];
    EXPECT_FLOAT_EQ(d.x0, 0.0f);
    EXPECT_NEAR(d.x1, 71.25f, 1.0f);
    EXPECT_NEAR(d.y0, 28.75f, 1.0f);
    EXPECT_NEAR(d.y1, 71.25f, 1.0f);
    EXPECT_NEAR(d.score, 0.8f, 1e-4f);
    ASSERT_EQ(d.quad.size(), 4u);
    EXPECT_FLOAT_EQ(d.quad[0].x, 0.0f);  // top-left, clipped
    EXPECT_NEAR(d.quad[0].y, 28.75f, 1.0f);
    EXPECT_NEAR(d.quad[2].x, 71.25f, 1.0f);  // bottom-right
    EXPECT_NEAR(d.quad[2].y, 71.25f, 1.0f);
}

TEST(TextDetectionDecode, SeparateBlobsAreBoxedInReadingOrder) {
    cv::Mat map = cv::Mat::zeros(240, 320, CV_32F);
    // Two words on one line, the right one 2 px higher (a plain sort by top would put it
    // first), and a line below them.
    fillBox(map, 20, 52, 120, 80, 0.95f);
    fillBox(map, 180, 50, 300, 78, 0.9f);
    fillBox(map, 40, 150, 200, 180, 0.85f);
    auto boxes = decodeTextProbabilityMap(toTensor(map), TextDetectionOptions{});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 3u);
    const Detection &a = (*boxes)[0], &b = (*boxes)[1], &c = (*boxes)[2];
    EXPECT_LT(a.x1, 150.0f);
    EXPECT_GT(b.x0, 150.0f);
    EXPECT_LT(b.y1, 120.0f);
    EXPECT_GT(c.y0, 120.0f);
    EXPECT_NEAR(a.score, 0.95f, 1e-3f);
    EXPECT_NEAR(b.score, 0.9f, 1e-3f);
    EXPECT_NEAR(c.score, 0.85f, 1e-3f);
}

TEST(TextDetectionDecode, BlobBelowTheBoxThresholdIsDropped) {
    cv::Mat map = cv::Mat::zeros(200, 300, CV_32F);
    fillBox(map, 20, 20, 140, 50, 0.5f);  // text by the binary threshold, not by the box one
    fillBox(map, 20, 120, 140, 150, 0.9f);
    TextDetectionOptions options;  // boxThreshold 0.6
    auto boxes = decodeTextProbabilityMap(toTensor(map), options);
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 1u);
    EXPECT_GT((*boxes)[0].y0, 90.0f);

    // The same faint blob passes a lower box threshold: it was the score that dropped it.
    options.boxThreshold = 0.4f;
    boxes = decodeTextProbabilityMap(toTensor(map), options);
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 2u);
    EXPECT_NEAR((*boxes)[0].score, 0.5f, 1e-3f);
}

TEST(TextDetectionDecode, TinyBlobIsDroppedAndSmallOneKept) {
    cv::Mat map = cv::Mat::zeros(100, 100, CV_32F);
    fillBox(map, 10, 10, 11, 11, 1.0f);  // 2 x 2 pixels: its rectangle is 1 x 1 < minSide 3
    auto boxes = decodeTextProbabilityMap(toTensor(map), TextDetectionOptions{});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    EXPECT_TRUE(boxes->empty());

    // 6 x 6 pixels: a 5 x 5 rectangle, grown by 25 * 1.5 / 20 = 1.875 to 8.75 >= minSide + 2.
    fillBox(map, 50, 50, 55, 55, 1.0f);
    boxes = decodeTextProbabilityMap(toTensor(map), TextDetectionOptions{});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 1u);
    EXPECT_NEAR((*boxes)[0].width(), 8.75f, 0.5f);
}

TEST(TextDetectionDecode, MaxCandidatesKeepsTheLargest) {
    cv::Mat map = cv::Mat::zeros(200, 300, CV_32F);
    fillBox(map, 20, 20, 60, 40, 0.9f);
    fillBox(map, 20, 100, 260, 140, 0.9f);
    TextDetectionOptions options;
    options.maxCandidates = 1;
    auto boxes = decodeTextProbabilityMap(toTensor(map), options);
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    ASSERT_EQ(boxes->size(), 1u);
    EXPECT_GT((*boxes)[0].width(), 240.0f);
}

TEST(TextDetectionDecode, EmptyMapGivesNoBoxes) {
    auto boxes = decodeTextProbabilityMap(toTensor(cv::Mat::zeros(64, 64, CV_32F)), {});
    ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
    EXPECT_TRUE(boxes->empty());
}

TEST(TextDetectionDecode, WrongShapeOrOptionsAreInvalidArgument) {
    const TextDetectionOptions ok;
    for (const Shape& shape :
         {Shape{1, 2, 8, 8}, Shape{2, 1, 8, 8}, Shape{8, 8}, Shape{1, 8, 8}, Shape{1, 1, 0, 8}}) {
        auto r = decodeTextProbabilityMap(Tensor(DataType::Float32, shape), ok);
        ASSERT_FALSE(r.ok()) << shapeToString(shape);
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument) << shapeToString(shape);
    }
    auto wrongType = decodeTextProbabilityMap(Tensor(DataType::Int64, {1, 1, 8, 8}), ok);
    ASSERT_FALSE(wrongType.ok());
    EXPECT_EQ(wrongType.error().code, ErrorCode::InvalidArgument);

    const Tensor map(DataType::Float32, {1, 1, 8, 8});
    TextDetectionOptions bad;
    bad.binaryThreshold = 1.5f;
    EXPECT_FALSE(decodeTextProbabilityMap(map, bad).ok());
    bad = ok;
    bad.boxThreshold = std::numeric_limits<float>::quiet_NaN();
    EXPECT_FALSE(decodeTextProbabilityMap(map, bad).ok());
    bad = ok;
    bad.unclipRatio = -1.0f;
    EXPECT_FALSE(decodeTextProbabilityMap(map, bad).ok());
    bad = ok;
    bad.maxCandidates = -1;
    EXPECT_FALSE(decodeTextProbabilityMap(map, bad).ok());
}

// ---- PP-OCRv4 det on rendered text ----

// The model under $XDG_CACHE_HOME/prunelab (where ./prunelab setup puts it when the variable
// is set now), else under the cache the build was configured with.
std::string findDetModel(std::string* tried) {
    const std::string rel = "/models/ppocr/ch_PP-OCRv4_det_infer.onnx";
    std::vector<std::string> candidates;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
        candidates.push_back(std::string(xdg) + "/prunelab" + rel);
    }
    candidates.push_back(std::string(PRUNELAB_CACHE_DIR) + rel);
    for (const std::string& c : candidates) {
        if (std::filesystem::exists(c)) return c;
        *tried += (tried->empty() ? "" : ", ") + c;
    }
    return {};
}

// PaddleOCR's DetResizeForTest (limit_type "max", limit_side_len 960): shrink so the longer
// side is at most 960, then round each side to the nearest multiple of 32 (at least 32).
int detSide(int side, double ratio) {
    const int resized = static_cast<int>(side * ratio);
    return std::max(static_cast<int>(std::lround(resized / 32.0)) * 32, 32);
}

struct TextLine {
    const char* text;
    cv::Point origin;  // bottom-left of the text, as cv::putText takes it
};

class PpOcrDetOnRenderedText : public ::testing::Test {
  protected:
    // Imports the detector bound to `image`'s DetResizeForTest size, runs it, decodes, and
    // maps the boxes back to the picture.
    std::vector<Detection> detect(const Image& image, const TextDetectionOptions& options) {
        std::string tried;
        const std::string path = findDetModel(&tried);
        [&] {
            ASSERT_FALSE(path.empty()) << "PP-OCRv4 det is missing (looked for " << tried
                                       << "): run ./prunelab setup (it fetches the pinned models)";
        }();
        if (path.empty()) return {};

        const int longer = std::max(image.width, image.height);
        const double ratio = longer > 960 ? 960.0 / longer : 1.0;
        const int64_t h = detSide(image.height, ratio), w = detSide(image.width, ratio);
        if (!m_executor || m_h != h || m_w != w) {
            auto inputs = readOnnxInputs(path);
            EXPECT_TRUE(inputs.ok() && inputs->size() == 1)
                << (inputs.ok() ? "expected one input" : inputs.error().toString());
            if (!inputs.ok() || inputs->size() != 1) return {};
            OnnxImportOptions io;
            m_inputShape = bindImageSize((*inputs)[0].shape, h, w);
            io.inputShapes[(*inputs)[0].name] = m_inputShape;
            auto graph = importOnnxFile(path, io);
            EXPECT_TRUE(graph.ok()) << graph.error().toString();
            if (!graph.ok()) return {};
            cpu::CpuOptions co;
            co.threads = 2;
            auto exec = cpu::CpuExecutor::create(*graph, co);
            EXPECT_TRUE(exec.ok()) << exec.error().toString();
            if (!exec.ok()) return {};
            m_executor = std::move(*exec);
            m_h = h, m_w = w;
        }

        // PaddleOCR normalises the BGR picture cv2 gives it with these (ImageNet's RGB
        // statistics, applied in BGR order): bgr = true reproduces that.
        Preprocess pre;
        pre.fit = Fit::Stretch;
        pre.norm = ImageToTensor{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, true};
        InputMapping mapping;
        auto input = imageToInput(image, m_inputShape, pre, &mapping);
        EXPECT_TRUE(input.ok()) << input.error().toString();
        if (!input.ok()) return {};

        const auto start = std::chrono::steady_clock::now();
        auto outputs = m_executor->run(std::span<const Tensor>(&*input, 1));
        m_runMs =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        EXPECT_TRUE(outputs.ok()) << outputs.error().toString();
        if (!outputs.ok() || outputs->empty()) return {};
        EXPECT_EQ((*outputs)[0].shape(), (Shape{1, 1, h, w}));

        auto boxes = decodeTextProbabilityMap((*outputs)[0], options);
        EXPECT_TRUE(boxes.ok()) << boxes.error().toString();
        if (!boxes.ok()) return {};
        std::vector<Detection> out;
        for (const Detection& d : *boxes) out.push_back(mapping.toImage(d));
        return out;
    }

    std::unique_ptr<cpu::CpuExecutor> m_executor;
    Shape m_inputShape;
    int64_t m_h = 0, m_w = 0;
    double m_runMs = 0;
};

Image toImage(const cv::Mat& bgr) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    Image image(rgb.cols, rgb.rows);
    for (int y = 0; y < rgb.rows; ++y) {
        std::memcpy(image.pixel(0, y), rgb.ptr<uint8_t>(y), static_cast<size_t>(rgb.cols) * 3);
    }
    return image;
}

TEST_F(PpOcrDetOnRenderedText, FindsEveryLineAndNothingElse) {
    // 620 x 470 is not a multiple of 32, so the input (608 x 480) is stretched and the boxes
    // must come back through the mapping to land on the lines.
    cv::Mat canvas(470, 620, CV_8UC3, cv::Scalar(255, 255, 255));
    const TextLine lines[] = {
        {"PRUNE LAB 2026", {40, 90}},
        {"Sparse models run fast", {30, 240}},
        {"Hello OCR", {330, 400}},
    };
    const double scale = 1.3;
    const int thickness = 2;
    std::vector<Detection> truth;
    for (const TextLine& line : lines) {
        cv::putText(canvas, line.text, line.origin, cv::FONT_HERSHEY_SIMPLEX, scale,
                    cv::Scalar(0, 0, 0), thickness);
        int baseline = 0;
        const cv::Size size =
            cv::getTextSize(line.text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
        Detection t;
        t.x0 = static_cast<float>(line.origin.x);
        t.y0 = static_cast<float>(line.origin.y - size.height);
        t.x1 = static_cast<float>(line.origin.x + size.width);
        t.y1 = static_cast<float>(line.origin.y + baseline);
        truth.push_back(t);
    }

    const std::vector<Detection> found = detect(toImage(canvas), TextDetectionOptions{});
    if (HasFatalFailure()) return;
    std::printf("PP-OCRv4 det %lldx%lld: %.1f ms, %zu boxes\n", static_cast<long long>(m_w),
                static_cast<long long>(m_h), m_runMs, found.size());

    // Every line is found ...
    for (size_t i = 0; i < truth.size(); ++i) {
        float best = 0;
        for (const Detection& d : found) best = std::max(best, intersectionOverUnion(d, truth[i]));
        std::printf("  line %zu '%s' truth [%.0f %.0f %.0f %.0f] best IoU %.3f\n", i, lines[i].text,
                    truth[i].x0, truth[i].y0, truth[i].x1, truth[i].y1, best);
        EXPECT_GT(best, 0.5f) << "line '" << lines[i].text << "' not found";
    }
    // ... and every box is one of the lines: nothing on the blank canvas.
    for (const Detection& d : found) {
        float best = 0;
        for (const Detection& t : truth) best = std::max(best, intersectionOverUnion(d, t));
        std::printf("  box [%.1f %.1f %.1f %.1f] score %.3f best IoU %.3f\n", d.x0, d.y0, d.x1,
                    d.y1, d.score, best);
        EXPECT_GT(best, 0.5f) << "box [" << d.x0 << ", " << d.y0 << ", " << d.x1 << ", " << d.y1
                              << "] matches no rendered line";
        EXPECT_EQ(d.quad.size(), 4u);
    }
    EXPECT_EQ(found.size(), truth.size());
    // Reading order: the lines were placed top to bottom.
    for (size_t i = 1; i < found.size(); ++i) EXPECT_LT(found[i - 1].y0, found[i].y0);
}

TEST_F(PpOcrDetOnRenderedText, BlankPictureGivesNoBoxes) {
    cv::Mat canvas(470, 620, CV_8UC3, cv::Scalar(255, 255, 255));
    const std::vector<Detection> found = detect(toImage(canvas), TextDetectionOptions{});
    if (HasFatalFailure()) return;
    EXPECT_TRUE(found.empty()) << found.size() << " boxes on a blank picture";
}

}  // namespace
}  // namespace prunelab::engine

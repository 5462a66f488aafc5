// The segmentation-mask decoder: a mask made over the model's input lands back on the picture's
// pixels (stretch and letterbox undone, letterbox bars left out), its coverage, layouts, bad
// outputs, the catalog's segmentation entries and the drawn overlay.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/tasks/catalog.h"
#include "engine/tasks/draw.h"
#include "engine/tasks/preprocess.h"
#include "engine/tasks/segmentation.h"

namespace prunelab::engine {
namespace {

// A picture with a red rectangle [x0, x1) x [y0, y1) on grey.
Image redRectangle(int w, int h, int x0, int y0, int x1, int y1) {
    Image im(w, h);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            uint8_t* p = im.pixel(x, y);
            const bool red = x >= x0 && x < x1 && y >= y0 && y < y1;
            p[0] = red ? 250 : 90, p[1] = red ? 10 : 90, p[2] = red ? 10 : 90;
        }
    }
    return im;
}

// The mask a perfect model would give: 1 where the input tensor (NHWC, values in [0, 1]) shows
// red, 0 elsewhere, at the input's resolution divided by `down` (nearest: each mask cell looks at
// its first input pixel). Made from the tensor itself, so it knows nothing of the mapping.
Tensor maskOfRed(const Tensor& input, int down, bool barsArePerson) {
    const int64_t h = input.dim(1), w = input.dim(2);
    Tensor mask(DataType::Float32, {1, h / down, w / down, 1});
    const float* in = input.data<float>();
    for (int64_t y = 0; y < h / down; ++y) {
        for (int64_t x = 0; x < w / down; ++x) {
            const float* p = in + ((y * down) * w + x * down) * 3;
            const bool red = p[0] > 0.6f && p[1] < 0.3f;
            const bool bar = p[0] == 0.0f && p[1] == 0.0f && p[2] == 0.0f;
            mask.data<float>()[y * (w / down) + x] = red || (bar && barsArePerson) ? 1.0f : 0.0f;
        }
    }
    return mask;
}

// The share of the picture's pixels the mask marks as person that are red, and the share of red
// pixels it marks: both near 1 when the mask lies on the rectangle.
struct Overlap {
    double precision = 0, recall = 0;
};
Overlap overlap(const SegmentationMask& m, const Image& picture) {
    size_t both = 0, marked = 0, red = 0;
    for (int y = 0; y < m.height; ++y) {
        for (int x = 0; x < m.width; ++x) {
            const bool isRed = picture.pixel(x, y)[0] > 200;
            const bool isMarked = m.at(x, y) >= 0.5f;
            both += isRed && isMarked, marked += isMarked, red += isRed;
        }
    }
    return {marked ? static_cast<double>(both) / marked : 0,
            red ? static_cast<double>(both) / red : 0};
}

TEST(SegmentationMask, StretchedInputMapsBackCellForCell) {
    // A 64 x 32 picture stretched onto a 16 x 16 input: input = picture * (0.25, 0.5). The mask
    // marks input cells x 4..11, y 8..15, which are picture x 16..47, y 16..31: a quarter.
    InputMapping map{.scaleX = 0.25f, .scaleY = 0.5f};
    map.imageWidth = 64, map.imageHeight = 32, map.inputWidth = 16, map.inputHeight = 16;
    Tensor out(DataType::Float32, {1, 16, 16, 1});
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) out.data<float>()[y * 16 + x] = x >= 4 && x < 12 && y >= 8;
    auto m = decodeSegmentationMask(out, map, {});
    ASSERT_TRUE(m.ok()) << m.error().toString();
    ASSERT_EQ(m->width, 64);
    ASSERT_EQ(m->height, 32);
    ASSERT_EQ(m->probability.size(), 64u * 32u);
    // Bilinear sampling rounds each corner off by a pixel: 2 of the 2048 pixels.
    EXPECT_NEAR(m->coverage, 0.25, 0.002);
    // Well inside and well outside the marked cells: exactly 1 and 0 (no blur away from edges).
    EXPECT_FLOAT_EQ(m->at(32, 28), 1.0f);
    EXPECT_FLOAT_EQ(m->at(4, 28), 0.0f);
    EXPECT_FLOAT_EQ(m->at(32, 4), 0.0f);
    for (float p : m->probability) {
        EXPECT_GE(p, 0.0f);
        EXPECT_LE(p, 1.0f);
    }
    // The same cells, declared NCHW or without a channel, decode the same.
    Tensor nchw(DataType::Float32, {1, 1, 16, 16}), flat(DataType::Float32, {1, 16, 16});
    std::copy_n(out.data<float>(), 256, nchw.data<float>());
    std::copy_n(out.data<float>(), 256, flat.data<float>());
    for (const Tensor* t : {&nchw, &flat}) {
        auto again = decodeSegmentationMask(*t, map, {});
        ASSERT_TRUE(again.ok()) << again.error().toString();
        EXPECT_EQ(again->probability, m->probability) << shapeToString(t->shape());
    }
    // A higher threshold marks less.
    auto strict = decodeSegmentationMask(out, map, {.threshold = 0.9f});
    ASSERT_TRUE(strict.ok());
    EXPECT_LT(strict->coverage, m->coverage);
    EXPECT_GT(strict->coverage, 0.15);
}

TEST(SegmentationMask, LetterboxIsUndoneAndItsBarsLeftOut) {
    // 200 x 100 into 64 x 64: the picture fills rows 16..47, black bars above and below.
    const Image picture = redRectangle(200, 100, 40, 30, 120, 80);  // 80 x 50 of 200 x 100
    Preprocess pre;
    pre.fit = Fit::Letterbox;
    InputMapping map;
    auto input = imageToInput(picture, {1, 64, 64, 3}, pre, &map);
    ASSERT_TRUE(input.ok()) << input.error().toString();
    const double redShare = 80.0 * 50.0 / (200.0 * 100.0);
    for (int down : {1, 2}) {  // the mask at the input's resolution and at half of it
        SCOPED_TRACE(down);
        // The bars marked as person too: they lie outside the picture and must not count.
        auto m = decodeSegmentationMask(maskOfRed(*input, down, true), map, {});
        ASSERT_TRUE(m.ok()) << m.error().toString();
        ASSERT_EQ(m->width, 200);
        ASSERT_EQ(m->height, 100);
        const Overlap o = overlap(*m, picture);
        EXPECT_GT(o.precision, 0.9);
        EXPECT_GT(o.recall, 0.9);
        EXPECT_NEAR(m->coverage, redShare, 0.05);
    }
}

TEST(SegmentationMask, LogitsThroughTheSigmoid) {
    InputMapping map;
    map.imageWidth = 8, map.imageHeight = 8, map.inputWidth = 8, map.inputHeight = 8;
    Tensor logits(DataType::Float32, {1, 8, 8, 1});
    for (int i = 0; i < 64; ++i) logits.data<float>()[i] = i < 16 ? 3.0f : -3.0f;
    auto m = decodeSegmentationMask(logits, map, {.sigmoid = true});
    ASSERT_TRUE(m.ok()) << m.error().toString();
    EXPECT_NEAR(m->at(3, 0), 1.0f / (1.0f + std::exp(-3.0f)), 1e-6f);
    EXPECT_NEAR(m->at(3, 7), 1.0f / (1.0f + std::exp(3.0f)), 1e-6f);
    EXPECT_NEAR(m->coverage, 0.25, 1e-9);
    // Without the option the same numbers are clamped probabilities: 1 and 0.
    auto raw = decodeSegmentationMask(logits, map, {});
    ASSERT_TRUE(raw.ok());
    EXPECT_FLOAT_EQ(raw->at(3, 0), 1.0f);
    EXPECT_FLOAT_EQ(raw->at(3, 7), 0.0f);
}

TEST(SegmentationMask, BadOutputsAndMappingsAreRefused) {
    InputMapping map;
    map.imageWidth = 8, map.imageHeight = 8, map.inputWidth = 8, map.inputHeight = 8;
    auto refused = [&](const Tensor& t, const InputMapping& mp, SegmentationOptions o,
                       const std::string& words) {
        auto r = decodeSegmentationMask(t, mp, o);
        ASSERT_FALSE(r.ok()) << words;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    };
    Tensor good(DataType::Float32, {1, 8, 8, 1});
    refused(Tensor(DataType::Float32, {1, 8, 8, 2}), map, {}, "[1, 8, 8, 2] is not one mask");
    refused(Tensor(DataType::Float32, {2, 8, 8, 1}), map, {}, "is not one mask");
    refused(Tensor(DataType::Float32, {64}), map, {}, "is not one mask");
    refused(Tensor(DataType::Int64, {1, 8, 8, 1}), map, {}, "is not float32");
    refused(good, InputMapping{}, {}, "lacks the picture's or the input's size");
    refused(good, map, {.threshold = 1.5f}, "threshold");
    InputMapping huge = map;
    huge.imageWidth = huge.imageHeight = 100000;
    refused(good, huge, {}, "too large");
}

const char* kSelfieEntry = R"({"version": 1, "models": [{"id": "selfie", "name": "S",
    "kids": "k", "research": "r", "task": "segmentation", "format": "tflite",
    "files": ["models/s.tflite"], "licence": "Apache-2.0", "source": "s",
    "input": {"width": 256, "height": 256, "colour": "RGB"},
    "output": {"decoder": "segmentation-mask", "threshold": 0.6}}]})";

TEST(SegmentationMask, CatalogEntriesParseAndDecodeThroughTheCatalog) {
    auto catalog = parseCatalog(kSelfieEntry, "test.json");
    ASSERT_TRUE(catalog.ok()) << catalog.error().toString();
    const CatalogEntry& e = catalog->entries[0];
    EXPECT_EQ(e.task, Task::Segmentation);
    EXPECT_EQ(e.format, ModelFormat::Tflite);
    EXPECT_FLOAT_EQ(e.segmentation.threshold, 0.6f);
    EXPECT_STREQ(taskName(e.task), "segmentation");

    // The catalog's path: prepareInput records both sizes, decodeOutputs maps the mask back.
    const Image picture = redRectangle(120, 90, 30, 20, 90, 70);
    auto in = prepareInput(e, picture, {1, 256, 256, 3});
    ASSERT_TRUE(in.ok()) << in.error().toString();
    EXPECT_EQ(in->mapping.imageWidth, 120);
    EXPECT_EQ(in->mapping.inputHeight, 256);
    std::vector<Tensor> outputs{maskOfRed(in->tensor, 1, false)};
    auto r = decodeOutputs(e, outputs, in->mapping);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->task, Task::Segmentation);
    const Overlap o = overlap(r->mask, picture);
    EXPECT_GT(o.precision, 0.9);
    EXPECT_GT(o.recall, 0.9);
    outputs.push_back(outputs[0]);
    auto two = decodeOutputs(e, outputs, in->mapping);
    ASSERT_FALSE(two.ok());
    EXPECT_NE(two.error().message.find("one output"), std::string::npos) << two.error().message;

    std::string wrong = kSelfieEntry;
    wrong.replace(wrong.find("segmentation-mask"), 17, "blazeface");
    auto bad = parseCatalog(wrong, "test.json");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("$.models[0].output.decoder"), std::string::npos)
        << bad.error().message;
    std::string high = kSelfieEntry;
    high.replace(high.find("0.6"), 3, "1.6");
    bad = parseCatalog(high, "test.json");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("output.threshold"), std::string::npos)
        << bad.error().message;
}

TEST(SegmentationMask, OverlayDimsTheBackgroundOutlinesAndSaysTheShare) {
    Image picture(120, 80);
    for (uint8_t& v : picture.rgb) v = 200;
    TaskResult r;
    r.task = Task::Segmentation;
    r.mask.width = 120, r.mask.height = 80;
    r.mask.probability.assign(120 * 80, 0.0f);
    for (int y = 0; y < 80; ++y)
        for (int x = 0; x < 60; ++x) r.mask.probability[static_cast<size_t>(y * 120 + x)] = 1.0f;
    r.mask.coverage = 0.5;
    Image drawn = drawResult(picture, r);
    ASSERT_EQ(drawn.width, 120);
    // Background (right half, away from the outline): clearly darker. Person (left half, above
    // the text in the bottom-left corner, away from the outline): untouched.
    EXPECT_LT(drawn.pixel(100, 60)[1], 140);
    EXPECT_EQ(drawn.pixel(30, 60)[1], 200);
    // The outline runs along the person's right edge, x = 59.
    bool outlined = false;
    for (int x = 56; x <= 62; ++x)
        outlined |= drawn.pixel(x, 60)[1] > 210 && drawn.pixel(x, 60)[0] < 100;
    EXPECT_TRUE(outlined) << "no green outline at the mask's edge";
    EXPECT_EQ(picture.pixel(100, 60)[1], 200) << "the input picture was modified";
}

}  // namespace
}  // namespace prunelab::engine

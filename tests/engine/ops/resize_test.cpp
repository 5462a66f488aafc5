// Resize against known cases worked out by hand (nearest modes, align_corners and half_pixel
// linear, cubic weights and exclude_outside, constant/ramp preservation) and a direct 2-D
// bilinear formula; the ONNX import of Resize 10/11/13 and Upsample 7/9, and the round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "compute_test_util.h"
#include "engine/ops/resize.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;
using Floats = std::vector<float>;

Attributes resizeAttrs(const std::string& mode, const std::string& coord, Floats scales, Ints sizes,
                       const std::string& nearest = "round_prefer_floor", float cubicA = -0.75f,
                       int64_t excludeOutside = 0) {
    return attrsOf({{"mode", mode},
                    {"coordinate_transformation_mode", coord},
                    {"scales", scales},
                    {"sizes", sizes},
                    {"nearest_mode", nearest},
                    {"cubic_coeff_a", cubicA},
                    {"exclude_outside", excludeOutside}});
}

TEST(Resize, NearestAsymmetricUpsample) {
    Tensor x = tensor({1, 1, 2, 2}, {1, 2, 3, 4});
    expectNear(run1(OpKind::Resize,
                    resizeAttrs("nearest", "asymmetric", {1, 1, 2, 2}, {1, 1, 4, 4}, "floor"), {x}),
               {1, 1, 4, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

TEST(Resize, NearestModesOnTies) {
    // [10, 20] upsampled 4x with asymmetric coordinates 0, .25, .5, .75, 1, 1.25, 1.5, 1.75
    // (indices past the end clamp to 1).
    Tensor x = tensor({2}, {10, 20});
    auto run = [&](const char* mode) {
        return run1(OpKind::Resize, resizeAttrs("nearest", "asymmetric", {4}, {8}, mode), {x});
    };
    expectNear(run("round_prefer_floor"), {8}, {10, 10, 10, 20, 20, 20, 20, 20});
    expectNear(run("round_prefer_ceil"), {8}, {10, 10, 20, 20, 20, 20, 20, 20});
    expectNear(run("floor"), {8}, {10, 10, 10, 10, 20, 20, 20, 20});
    expectNear(run("ceil"), {8}, {10, 20, 20, 20, 20, 20, 20, 20});
    // half_pixel downsample by 2: coordinates (o + 0.5) * 2 - 0.5 = 0.5, 2.5 -> ties.
    Tensor y = tensor({4}, {1, 2, 3, 4});
    expectNear(run1(OpKind::Resize, resizeAttrs("nearest", "half_pixel", {0.5f}, {2}), {y}), {2},
               {1, 3});
    expectNear(run1(OpKind::Resize,
                    resizeAttrs("nearest", "half_pixel", {0.5f}, {2}, "round_prefer_ceil"), {y}),
               {2}, {2, 4});
}

// A hostile file's scale of 1e-40 makes every input coordinate infinite: each mode still reads
// edge pixels (no index from inf or NaN, which is undefined behaviour).
TEST(Resize, DegenerateScalesReadEdgePixels) {
    Tensor x = tensor({3}, {10, 20, 30});
    for (const char* mode : {"nearest", "linear", "cubic"}) {
        for (const char* coord : {"asymmetric", "half_pixel", "pytorch_half_pixel"}) {
            SCOPED_TRACE(std::string(mode) + " " + coord);
            const Tensor y = run1(OpKind::Resize, resizeAttrs(mode, coord, {1e-40f}, {2}), {x});
            for (float v : y.toFloatVector()) {
                EXPECT_TRUE(std::isfinite(v)) << v;
                EXPECT_GE(v, 10.0f - 1e-3f);
                EXPECT_LE(v, 30.0f + 1e-3f);
            }
        }
    }
    EXPECT_EQ(resizeInputCoordinate("asymmetric", 1.0f, 0.0f, 3, 2), 11.0f);  // +inf, clamped
    EXPECT_EQ(resizeInputCoordinate("asymmetric", 0.0f, 0.0f, 3, 2), 0.0f);   // 0 / 0 = NaN
}

TEST(Resize, LinearAlignCornersTwoByTwoToThreeByThree) {
    // Corners stay, the new pixels are midpoints.
    Tensor x = tensor({1, 1, 2, 2}, {1, 2, 3, 4});
    expectNear(run1(OpKind::Resize,
                    resizeAttrs("linear", "align_corners", {1, 1, 1.5f, 1.5f}, {1, 1, 3, 3}), {x}),
               {1, 1, 3, 3}, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
}

TEST(Resize, LinearHalfPixelAndPytorchHalfPixel) {
    // [0, 4] to 4: coordinates -0.25, 0.25, 0.75, 1.25 clamp to 0, .25, .75, 1.
    Tensor x = tensor({2}, {0, 4});
    expectNear(run1(OpKind::Resize, resizeAttrs("linear", "half_pixel", {2}, {4}), {x}), {4},
               {0, 1, 3, 4});
    // To a single pixel: half_pixel samples 0.5 / 0.5 - 0.5 = 0.5; pytorch_half_pixel samples 0.
    expectNear(run1(OpKind::Resize, resizeAttrs("linear", "half_pixel", {0.5f}, {1}), {x}), {1},
               {2});
    expectNear(run1(OpKind::Resize, resizeAttrs("linear", "pytorch_half_pixel", {0.5f}, {1}), {x}),
               {1}, {0});
    // Asymmetric 2x: 0, 0.5, 1, 1.5 (clamped to 1).
    expectNear(run1(OpKind::Resize, resizeAttrs("linear", "asymmetric", {2}, {4}), {x}), {4},
               {0, 2, 4, 4});
}

TEST(Resize, CubicWeightsByHand) {
    // Keys' kernel with A = -0.75 at t = 0.5: w(0.5) = 1.25/8 - 2.25/4 + 1 = 0.59375 and
    // w(1.5) = A(3.375 - 11.25 + 12 - 4) = -0.09375.
    Tensor x = tensor({4}, {1, 2, 4, 8});
    Tensor y = run1(OpKind::Resize, resizeAttrs("cubic", "asymmetric", {2}, {8}), {x});
    ASSERT_EQ(y.shape(), Shape{8});
    // Output 3 samples 1.5: taps 0..3.
    EXPECT_NEAR(values(y)[3], -0.09375f * 1 + 0.59375f * 2 + 0.59375f * 4 - 0.09375f * 8, 1e-6f);
    // Output 2 samples 1.0 exactly: the input value.
    EXPECT_NEAR(values(y)[2], 2.0f, 1e-6f);
    // Output 1 samples 0.5: tap -1 reads the edge (1), or with exclude_outside is dropped and
    // the other weights renormalised by 1 / 1.09375.
    EXPECT_NEAR(values(y)[1], -0.09375f * 1 + 0.59375f * 1 + 0.59375f * 2 - 0.09375f * 4, 1e-6f);
    Tensor excl =
        run1(OpKind::Resize,
             resizeAttrs("cubic", "asymmetric", {2}, {8}, "round_prefer_floor", -0.75f, 1), {x});
    EXPECT_NEAR(values(excl)[1], (0.59375f * 1 + 0.59375f * 2 - 0.09375f * 4) / 1.09375f, 1e-6f);
}

TEST(Resize, CubicPreservesConstantsAndRamps) {
    // The weights sum to 1 for any A and exclude_outside: a constant stays constant.
    Tensor c(DataType::Float32, {1, 2, 3, 5});
    for (float& v : c.span<float>()) v = 2.5f;
    for (int64_t excl = 0; excl < 2; ++excl) {
        for (const char* coord :
             {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"}) {
            SCOPED_TRACE(coord);
            Tensor y = run1(OpKind::Resize,
                            resizeAttrs("cubic", coord, {1, 1, 2.5f, 0.6f}, {1, 2, 7, 3},
                                        "round_prefer_floor", -0.75f, excl),
                            {c});
            for (float v : values(y)) EXPECT_NEAR(v, 2.5f, 1e-5f);
        }
    }
    // With A = -0.5 (Catmull-Rom) the kernel also reproduces straight lines: away from the
    // edges (no clamped taps) a ramp x[i] = i resamples to the coordinate itself.
    Tensor ramp = tensor({8}, {0, 1, 2, 3, 4, 5, 6, 7});
    Tensor y =
        run1(OpKind::Resize,
             resizeAttrs("cubic", "asymmetric", {2}, {16}, "round_prefer_floor", -0.5f), {ramp});
    for (int64_t o = 2; o < 12; ++o) EXPECT_NEAR(values(y)[size_t(o)], o / 2.0f, 1e-5f) << o;
    // Linear mode reproduces it everywhere inside [0, 7], align_corners mapping 8 -> 15.
    y = run1(OpKind::Resize, resizeAttrs("linear", "align_corners", {15.0f / 8}, {15}), {ramp});
    for (int64_t o = 0; o < 15; ++o) EXPECT_NEAR(values(y)[size_t(o)], o * 7.0f / 14, 1e-5f) << o;
}

// The test's coordinate mapping and a direct (non-separable) bilinear sample of an H x W plane.
float sourceCoord(const std::string& mode, int64_t o, float scale, int64_t in, int64_t out) {
    if (mode == "align_corners") return out == 1 ? 0.0f : float(o) * float(in - 1) / float(out - 1);
    if (mode == "asymmetric") return float(o) / scale;
    if (mode == "pytorch_half_pixel" && out == 1) return 0.0f;
    return (float(o) + 0.5f) / scale - 0.5f;
}

TEST(Resize, BilinearMatchesDirectFormula) {
    struct Case {
        Shape x;
        Ints sizes;
        Floats scales;  // empty: sizes / input
    };
    const Case cases[] = {
        {{1, 2, 3, 5}, {1, 2, 7, 4}, {}},
        {{2, 1, 4, 4}, {2, 1, 8, 8}, {}},
        {{1, 1, 5, 7}, {1, 1, 2, 3}, {}},
        {{1, 1, 1, 1}, {1, 1, 3, 2}, {}},
        {{1, 3, 4, 6}, {1, 3, 6, 14}, {1, 1, 1.6f, 2.4f}},  // scales not equal to size / input
    };
    uint32_t seed = 500;
    for (const Case& k : cases) {
        Tensor x = randomTensor(k.x, seed++);
        Floats scales = k.scales;
        if (scales.empty()) {
            for (size_t i = 0; i < 4; ++i) scales.push_back(float(k.sizes[i]) / float(k.x[i]));
        }
        for (const char* coord :
             {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"}) {
            SCOPED_TRACE(shapeToString(k.x) + " -> " + shapeToString(k.sizes) + " " + coord);
            const int64_t h = k.x[2], w = k.x[3], oh = k.sizes[2], ow = k.sizes[3];
            std::vector<float> expected;
            for (int64_t nc = 0; nc < k.x[0] * k.x[1]; ++nc) {
                for (int64_t i = 0; i < oh; ++i) {
                    for (int64_t j = 0; j < ow; ++j) {
                        const float fy =
                            std::clamp(sourceCoord(coord, i, scales[2], h, oh), 0.0f, float(h - 1));
                        const float fx =
                            std::clamp(sourceCoord(coord, j, scales[3], w, ow), 0.0f, float(w - 1));
                        const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
                        const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
                        const double dy = fy - y0, dx = fx - x0;
                        auto px = [&](int64_t r, int64_t c) {
                            return double(x.data<float>()[(nc * h + r) * w + c]);
                        };
                        expected.push_back(
                            float((1 - dy) * ((1 - dx) * px(y0, x0) + dx * px(y0, x1)) +
                                  dy * ((1 - dx) * px(y1, x0) + dx * px(y1, x1))));
                    }
                }
            }
            expectNear(run1(OpKind::Resize, resizeAttrs("linear", coord, scales, k.sizes), {x}),
                       k.sizes, expected);
        }
    }
}

TEST(Resize, InferErrors) {
    Tensor x(DataType::Float32, {1, 1, 2, 2});
    EXPECT_EQ(
        runError(OpKind::Resize, resizeAttrs("linear", "half_pixel", {2, 2}, {4, 4}), {x}).code,
        ErrorCode::ShapeMismatch);
    Error e =
        runError(OpKind::Resize,
                 resizeAttrs("linear", "tf_crop_and_resize", {1, 1, 2, 2}, {1, 1, 4, 4}), {x});
    EXPECT_EQ(e.code, ErrorCode::Unsupported);
    EXPECT_EQ(
        runError(OpKind::Resize, resizeAttrs("area", "half_pixel", {1, 1, 2, 2}, {1, 1, 4, 4}), {x})
            .code,
        ErrorCode::InvalidArgument);
}

OnnxCall resize13(Attributes attrs, std::vector<TensorInfo> operands) {
    std::vector<TensorInfo> inputs = {inputInfo({1, 3, 4, 5})};
    for (TensorInfo& t : operands) inputs.push_back(t);
    return OnnxCall{"Resize", 13, std::move(attrs), std::move(inputs), 1};
}

TEST(Resize, ImportOpset11And13) {
    const Tensor scales = Tensor::fromVector<float>({4}, {1, 1, 2, 1.5f});
    const Tensor sizes = Tensor::fromVector<int64_t>({4}, {1, 3, 3, 7});
    const Tensor empty(DataType::Float32, {0});
    const Tensor roi = Tensor::fromVector<float>({8}, {0, 0, 0, 0, 1, 1, 1, 1});
    // Scales given: sizes = floor(in * scale); defaults written out.
    Attributes a = importedAttrs(resize13({}, {TensorInfo{}, constantInfo(scales)}));
    EXPECT_EQ(a.getString("mode"), "nearest");
    EXPECT_EQ(a.getString("coordinate_transformation_mode"), "half_pixel");
    EXPECT_EQ(a.getString("nearest_mode"), "round_prefer_floor");
    EXPECT_EQ(a.getFloat("cubic_coeff_a"), -0.75f);
    EXPECT_EQ(a.getInt("exclude_outside", -1), 0);
    EXPECT_EQ(a.getFloats("scales"), (Floats{1, 1, 2, 1.5f}));
    EXPECT_EQ(a.getInts("sizes"), (Ints{1, 3, 8, 7}));
    // Sizes given (opset 11 style: roi and an empty scales tensor before it).
    OnnxCall call = resize13(attrsOf({{"mode", std::string("linear")}}),
                             {constantInfo(roi), constantInfo(empty), constantInfo(sizes)});
    call.opset = 11;
    a = importedAttrs(call);
    EXPECT_EQ(a.getInts("sizes"), (Ints{1, 3, 3, 7}));
    EXPECT_EQ(a.getFloats("scales"), (Floats{1, 1, 0.75f, 7.0f / 5.0f}));
    EXPECT_EQ(a.getString("mode"), "linear");
    Result<OnnxImport> r = importNode(call);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->inputs, (std::vector<int>{0}));
}

TEST(Resize, ImportErrors) {
    const Tensor scales = Tensor::fromVector<float>({4}, {1, 1, 2, 2});
    // Computed sizes cannot become an attribute.
    Result<OnnxImport> r =
        importNode(resize13({}, {TensorInfo{}, TensorInfo{}, inputInfo({4}, DataType::Int64)}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_NE(r.error().message.find("Resize 'sizes' must be a constant"), std::string::npos)
        << r.error().message;
    r = importNode(resize13({}, {TensorInfo{}, inputInfo({4})}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("'scales' must be a constant"), std::string::npos);
    r = importNode(
        resize13(attrsOf({{"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}),
                 {TensorInfo{}, constantInfo(scales)}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    // Neither scales nor sizes.
    EXPECT_FALSE(importNode(resize13({}, {TensorInfo{}})).ok());
}

TEST(Resize, ImportLegacyResizeAndUpsample) {
    // Upsample-7: scales attribute, asymmetric coordinates, flooring nearest.
    OnnxCall up7{
        "Upsample", 7, attrsOf({{"scales", Floats{1, 1, 2, 2}}}), {inputInfo({1, 3, 4, 5})}, 1};
    Attributes a = importedAttrs(up7);
    EXPECT_EQ(a.getString("mode"), "nearest");
    EXPECT_EQ(a.getString("coordinate_transformation_mode"), "asymmetric");
    EXPECT_EQ(a.getString("nearest_mode"), "floor");
    EXPECT_EQ(a.getInts("sizes"), (Ints{1, 3, 8, 10}));
    // Upsample-9: scales as a constant input; "bilinear" is the old spelling of linear.
    const Tensor scales = Tensor::fromVector<float>({4}, {1, 1, 2, 3});
    OnnxCall up9{"Upsample",
                 9,
                 attrsOf({{"mode", std::string("bilinear")}}),
                 {inputInfo({1, 3, 4, 5}), constantInfo(scales)},
                 1};
    a = importedAttrs(up9);
    EXPECT_EQ(a.getString("mode"), "linear");
    EXPECT_EQ(a.getInts("sizes"), (Ints{1, 3, 8, 15}));
    EXPECT_EQ(a.getFloats("scales"), (Floats{1, 1, 2, 3}));
    // Resize-10 downsampling: ONNX Runtime rounds nearest up.
    const Tensor half = Tensor::fromVector<float>({4}, {1, 1, 0.5f, 0.5f});
    OnnxCall r10{"Resize", 10, {}, {inputInfo({1, 3, 4, 6}), constantInfo(half)}, 1};
    a = importedAttrs(r10);
    EXPECT_EQ(a.getString("nearest_mode"), "ceil");
    EXPECT_EQ(a.getInts("sizes"), (Ints{1, 3, 2, 3}));
    // The imported Upsample runs: nearest 2x of [[1, 2]] is [[1, 1, 2, 2]] on both rows.
    OnnxCall small{
        "Upsample", 7, attrsOf({{"scales", Floats{1, 1, 2, 2}}}), {inputInfo({1, 1, 1, 2})}, 1};
    expectNear(run1(OpKind::Resize, importedAttrs(small), {tensor({1, 1, 1, 2}, {1, 2})}),
               {1, 1, 2, 4}, {1, 1, 2, 2, 1, 1, 2, 2});
    // Non-constant scales input.
    up9.inputs[1] = inputInfo({4});
    EXPECT_FALSE(importNode(up9).ok());
}

TEST(Resize, ExportRoundTrip) {
    // From scales (sizes = floor(in * scale)) and from sizes (scales = size / in).
    const Shape x = {1, 3, 4, 5};
    expectRoundTrip(OpKind::Resize,
                    resizeAttrs("nearest", "asymmetric", {1, 1, 2, 1.5f}, {1, 3, 8, 7}, "floor"),
                    {x});
    expectRoundTrip(OpKind::Resize,
                    resizeAttrs("linear", "half_pixel", {1, 1, 0.75f, 7.0f / 5.0f}, {1, 3, 3, 7}),
                    {x});
    expectRoundTrip(OpKind::Resize,
                    resizeAttrs("cubic", "align_corners", {1, 1, 1.7f, 1.3f}, {1, 3, 6, 6},
                                "round_prefer_floor", -0.5f, 1),
                    {x});
    // Scales written as a constant operand, roi absent.
    Graph g;
    auto chain =
        exportNode(OpKind::Resize,
                   resizeAttrs("nearest", "asymmetric", {1, 1, 2, 1.5f}, {1, 3, 8, 7}), {x}, g);
    ASSERT_TRUE(chain.ok());
    const OnnxNodeOut& n = chain->front();
    ASSERT_EQ(n.inputs.size(), 3u);
    EXPECT_EQ(n.inputs[1].kind, OnnxOperand::Kind::Absent);
    EXPECT_EQ(n.inputs[2].kind, OnnxOperand::Kind::Constant);
    EXPECT_EQ(n.inputs[2].constant.toFloatVector(), (Floats{1, 1, 2, 1.5f}));
    // Sizes that neither form reproduces cannot be exported faithfully.
    Graph g2;
    EXPECT_FALSE(exportNode(OpKind::Resize,
                            resizeAttrs("nearest", "asymmetric", {1, 1, 2, 2}, {1, 3, 5, 5}), {x},
                            g2)
                     .ok());
}

}  // namespace
}  // namespace prunelab::engine::testing

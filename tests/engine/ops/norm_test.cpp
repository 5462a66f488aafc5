// BatchNormalization (inference form) against hand-computed values and the folded affine form
// y = x * a + b, shape errors, the ONNX import (training mode refused) and the round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

TEST(BatchNormalization, HandComputed) {
    // Channel 0: (x - 1) / sqrt(4) * 1 + 0; channel 1: (x - 3) / sqrt(1) * 2 + 1.
    Tensor x = tensor({1, 2, 1, 2}, {1, 2, 3, 4});
    Tensor scale = tensor({2}, {1, 2}), bias = tensor({2}, {0, 1});
    Tensor mean = tensor({2}, {1, 3}), var = tensor({2}, {4, 1});
    expectNear(
        run1(OpKind::BatchNormalization, attrsOf({{"epsilon", 0.0f}}), {x, scale, bias, mean, var}),
        {1, 2, 1, 2}, {0, 0.5f, 1, 3});
    // epsilon joins the variance: var 0 with epsilon 0.25 divides by 0.5.
    Tensor one = tensor({1}, {1}), zero = tensor({1}, {0});
    expectNear(run1(OpKind::BatchNormalization, attrsOf({{"epsilon", 0.25f}}),
                    {tensor({1, 1}, {3}), one, zero, one, zero}),
               {1, 1}, {4});
}

TEST(BatchNormalization, MatchesFoldedAffineForm) {
    // What BN folding into a Conv relies on: y = x * a[c] + b[c] with
    // a = scale / sqrt(var + eps), b = B - mean * a.
    const Shape shapes[] = {{2, 3, 4, 5}, {1, 4}, {3, 2, 7}, {1, 1, 1, 1}};
    uint32_t seed = 20;
    for (const Shape& s : shapes) {
        SCOPED_TRACE(shapeToString(s));
        const int64_t c = s[1];
        Tensor x = randomTensor(s, seed++);
        Tensor scale = randomTensor({c}, seed++), bias = randomTensor({c}, seed++);
        Tensor mean = randomTensor({c}, seed++), var = randomTensor({c}, seed++);
        for (float& v : var.span<float>()) v = std::fabs(v) + 0.1f;
        const float eps = 1e-3f;
        Tensor want(DataType::Float32, s);
        int64_t inner = 1;
        for (size_t i = 2; i < s.size(); ++i) inner *= s[i];
        for (int64_t i = 0; i < x.elements(); ++i) {
            const int64_t ch = i / inner % c;
            const double a =
                scale.data<float>()[ch] / std::sqrt(double(var.data<float>()[ch]) + eps);
            const double b = bias.data<float>()[ch] - mean.data<float>()[ch] * a;
            want.data<float>()[i] = static_cast<float>(x.data<float>()[i] * a + b);
        }
        Tensor got = run1(OpKind::BatchNormalization, attrsOf({{"epsilon", eps}}),
                          {x, scale, bias, mean, var});
        EXPECT_LT(maxAbsDiff(got, want), 1e-5f);
    }
}

TEST(BatchNormalization, ShapeErrors) {
    Tensor x(DataType::Float32, {1, 3, 2, 2}), c3(DataType::Float32, {3});
    Error e =
        runError(OpKind::BatchNormalization, {}, {x, c3, c3, Tensor(DataType::Float32, {4}), c3});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("mean"), std::string::npos) << e.message;
    EXPECT_EQ(runError(OpKind::BatchNormalization, {}, {x, c3, c3, c3}).code,
              ErrorCode::InvalidArgument);
    EXPECT_EQ(
        runError(OpKind::BatchNormalization, {}, {Tensor(DataType::Float32, {3}), c3, c3, c3, c3})
            .code,
        ErrorCode::ShapeMismatch);
}

TEST(BatchNormalization, ImportRefusesTrainingModeAndRoundTrips) {
    const Shape x = {1, 3, 4, 4}, c = {3};
    OnnxCall call{"BatchNormalization",
                  9,
                  attrsOf({{"epsilon", 1e-3f}, {"momentum", 0.9f}}),
                  {inputInfo(x), inputInfo(c), inputInfo(c), inputInfo(c), inputInfo(c)},
                  1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getFloat("epsilon"), 1e-3f);
    EXPECT_FALSE(a.has("momentum"));
    expectRoundTrip(OpKind::BatchNormalization, a, {x, c, c, c, c});
    // Default epsilon.
    call.attrs = {};
    EXPECT_EQ(importedAttrs(call).getFloat("epsilon"), 1e-5f);
    // Training mode: running statistics as extra outputs, or opset 14's training_mode.
    call.outputCount = 5;
    Result<OnnxImport> r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    call.outputCount = 1;
    call.opset = 15;
    call.attrs = attrsOf({{"training_mode", int64_t(1)}});
    r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
}

}  // namespace
}  // namespace prunelab::engine::testing

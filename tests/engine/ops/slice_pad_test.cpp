// Slice and Pad: hand-computed and loop-formula expectations, ONNX's clamping rules for
// starts/ends (negative steps, INT64 limits), every opset form, and export round trips.
#include <gtest/gtest.h>

#include <limits>

#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

std::vector<float> iota(int n) {
    std::vector<float> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(i));
    return v;
}

using Ints = std::vector<int64_t>;

Attributes sliceAttrs(Ints starts, Ints ends, Ints axes, Ints steps) {
    return attrs({{"starts", starts}, {"ends", ends}, {"axes", axes}, {"steps", steps}});
}

// ---- Slice: the canonical (resolved) form ----

TEST(Slice, ForwardWithSteps) {
    // Rows 1..2, columns 0 and 2 of a 3x4 iota.
    Tensor y =
        run1(OpKind::Slice, sliceAttrs({1, 0}, {3, 4}, {0, 1}, {1, 2}), {f32({3, 4}, iota(12))});
    expectFloats(y, {2, 2}, {4, 6, 8, 10});
}

TEST(Slice, BackwardPastIndexZero) {
    // start 4, end -1 (past index 0), step -2: elements 4, 2, 0.
    expectFloats(run1(OpKind::Slice, sliceAttrs({4}, {-1}, {0}, {-2}), {f32({5}, iota(5))}), {3},
                 {4, 2, 0});
    // Reversal of int64 values.
    expectInts(run1(OpKind::Slice, sliceAttrs({2}, {-1}, {0}, {-1}), {i64({3}, {7, 8, 9})}),
               DataType::Int64, {3}, {9, 8, 7});
}

TEST(Slice, MatchesLoopFormulaIn3D) {
    // Axis 0: 3, 1 (step -2 from 3 down to, excluding, 0); axis 2: 1, 3, 5; axis 1 untouched.
    Tensor x = randomTensor({4, 5, 6}, 3);
    Tensor y = run1(OpKind::Slice, sliceAttrs({3, 1}, {0, 6}, {0, 2}, {-2, 2}), {x});
    std::vector<float> want;
    for (int i = 3; i > 0; i -= 2) {
        for (int j = 0; j < 5; ++j) {
            for (int k = 1; k < 6; k += 2) want.push_back(x.data<float>()[(i * 5 + j) * 6 + k]);
        }
    }
    expectFloats(y, {2, 5, 3}, want);
}

TEST(Slice, EmptyResults) {
    expectFloats(run1(OpKind::Slice, sliceAttrs({3}, {3}, {0}, {1}), {f32({5}, iota(5))}), {0}, {});
    expectFloats(run1(OpKind::Slice, sliceAttrs({1}, {3}, {0}, {-1}), {f32({5}, iota(5))}), {0},
                 {});
    expectFloats(run1(OpKind::Slice, sliceAttrs({0}, {2}, {1}, {1}), {f32({0, 3}, {})}), {0, 2},
                 {});
}

TEST(Slice, InferErrors) {
    Tensor x = f32({2, 5}, iota(10));
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({0}, {2}, {0}, {0}), {x}),
              ErrorCode::InvalidArgument);  // step 0
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({-1}, {2}, {1}, {1}), {x}),
              ErrorCode::InvalidArgument);  // unresolved negative start
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({0}, {6}, {1}, {1}), {x}),
              ErrorCode::InvalidArgument);  // end past the dim
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({5}, {0}, {1}, {-1}), {x}),
              ErrorCode::InvalidArgument);  // backward start must be < dim
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({0, 0}, {1, 1}, {1, 1}, {1, 1}), {x}),
              ErrorCode::InvalidArgument);  // repeated axis
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({0}, {1}, {2}, {1}), {x}),
              ErrorCode::InvalidArgument);  // axis out of range
    EXPECT_EQ(runError(OpKind::Slice, sliceAttrs({0}, {1, 2}, {0}, {1}), {x}),
              ErrorCode::InvalidArgument);  // lengths differ
}

// ---- Slice: ONNX import (clamping happens here) ----

TEST(SliceOnnx, InputFormClampsLikeOnnx) {
    const TensorInfo x = info(DataType::Float32, {5, 6});
    Tensor starts = i64({2}, {-1, -100});
    Tensor ends = i64({2}, {kMin, kMax});
    Tensor axes = i64({2}, {0, -1});
    Tensor steps = i64({2}, {-2, 1});
    auto imported =
        importNode("Slice", 13, {},
                   {x, constInfo(starts), constInfo(ends), constInfo(axes), constInfo(steps)});
    ASSERT_TRUE(imported.ok()) << imported.error().toString();
    EXPECT_EQ(imported->inputs, (std::vector<int>{0}));
    EXPECT_EQ(imported->attrs, sliceAttrs({4, 0}, {-1, 6}, {0, 1}, {-2, 1}));
    // And runs: rows 4, 2, 0 of a 5x6 iota.
    Tensor y = run1(OpKind::Slice, imported->attrs, {f32({5, 6}, iota(30))});
    std::vector<float> want;
    for (int r : {4, 2, 0}) {
        for (int c = 0; c < 6; ++c) want.push_back(static_cast<float>(r * 6 + c));
    }
    expectFloats(y, {3, 6}, want);
}

TEST(SliceOnnx, BackwardStartPastTheEndClampsToLast) {
    const TensorInfo x = info(DataType::Float32, {5});
    Tensor starts = i64({1}, {10});
    Tensor ends = i64({1}, {-10});
    Tensor axes = i64({1}, {0});
    Tensor steps = i64({1}, {-1});
    auto imported =
        importNode("Slice", 10, {},
                   {x, constInfo(starts), constInfo(ends), constInfo(axes), constInfo(steps)});
    ASSERT_TRUE(imported.ok());
    EXPECT_EQ(imported->attrs, sliceAttrs({4}, {-1}, {0}, {-1}));
}

TEST(SliceOnnx, DefaultsAndSortedAxes) {
    const TensorInfo x = info(DataType::Float32, {4, 5, 6});
    Tensor starts = i64({2}, {1, 2});
    Tensor ends = i64({2}, {-1, 3});
    // No axes, no steps: axes 0..n-1, steps 1.
    auto plain = importNode("Slice", 13, {}, {x, constInfo(starts), constInfo(ends)});
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->attrs, sliceAttrs({1, 2}, {3, 3}, {0, 1}, {1, 1}));
    // Axes given out of order come back sorted with their starts and ends.
    Tensor axes = i64({2}, {2, 0});
    auto sorted =
        importNode("Slice", 13, {}, {x, constInfo(starts), constInfo(ends), constInfo(axes)});
    ASSERT_TRUE(sorted.ok());
    EXPECT_EQ(sorted->attrs, sliceAttrs({2, 1}, {3, 5}, {0, 2}, {1, 1}));
    Tensor twice = i64({2}, {1, -2});
    EXPECT_FALSE(
        importNode("Slice", 13, {}, {x, constInfo(starts), constInfo(ends), constInfo(twice)})
            .ok());
}

TEST(SliceOnnx, AttributeFormBeforeOpset10) {
    const TensorInfo x = info(DataType::Float32, {3, 4});
    auto imported = importNode(
        "Slice", 9, attrs({{"starts", Ints{0, 1}}, {"ends", Ints{kMax, -1}}, {"axes", Ints{1, 0}}}),
        {x});
    ASSERT_TRUE(imported.ok());
    EXPECT_EQ(imported->attrs, sliceAttrs({1, 0}, {2, 4}, {0, 1}, {1, 1}));
    auto noAxes = importNode("Slice", 1, attrs({{"starts", Ints{1}}, {"ends", Ints{2}}}), {x});
    ASSERT_TRUE(noAxes.ok());
    EXPECT_EQ(noAxes->attrs, sliceAttrs({1}, {2}, {0}, {1}));
}

TEST(SliceOnnx, RefusesComputedOperandsAndZeroSteps) {
    const TensorInfo x = info(DataType::Float32, {3, 4});
    Tensor starts = i64({1}, {0});
    Tensor ends = i64({1}, {2});
    Tensor zero = i64({1}, {0});
    Tensor axes = i64({1}, {0});
    auto computed = importNode("Slice", 13, {}, {x, constInfo(starts), info(DataType::Int64, {1})});
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);
    EXPECT_FALSE(
        importNode("Slice", 13, {},
                   {x, constInfo(starts), constInfo(ends), constInfo(axes), constInfo(zero)})
            .ok());
}

TEST(SliceOnnx, ZeroSizedDimBackward) {
    const TensorInfo x = info(DataType::Float32, {0, 3});
    Tensor starts = i64({1}, {-1});
    Tensor ends = i64({1}, {kMin});
    Tensor axes = i64({1}, {0});
    Tensor steps = i64({1}, {-1});
    auto imported =
        importNode("Slice", 13, {},
                   {x, constInfo(starts), constInfo(ends), constInfo(axes), constInfo(steps)});
    ASSERT_TRUE(imported.ok());
    expectFloats(run1(OpKind::Slice, imported->attrs, {f32({0, 3}, {})}), {0, 3}, {});
}

TEST(SliceOnnx, RoundTrip) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {5, 6, 7})};
    for (const Attributes& canonical :
         {sliceAttrs({4, 1}, {-1, 7}, {0, 2}, {-2, 3}), sliceAttrs({0}, {6}, {1}, {1}),
          sliceAttrs({5}, {0}, {1}, {-1})}) {
        auto back = roundTrip(OpKind::Slice, canonical, x);
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_EQ(*back, canonical);
    }
}

// ---- Pad ----

Attributes padAttrs(Ints pads, std::string mode, float value = 0.0f) {
    return attrs({{"pads", pads}, {"mode", mode}, {"value", value}});
}

TEST(Pad, ConstantAsymmetric) {
    // pads = [row_begin, col_begin, row_end, col_end] = [1, 0, 0, 1], value 9.
    Tensor y =
        run1(OpKind::Pad, padAttrs({1, 0, 0, 1}, "constant", 9), {f32({2, 2}, {1, 2, 3, 4})});
    expectFloats(y, {3, 3}, {9, 9, 9, 1, 2, 9, 3, 4, 9});
}

TEST(Pad, ReflectAsymmetric) {
    // Mirror without repeating the border: 3 2 | 1 2 3 4 | 3.
    Tensor y = run1(OpKind::Pad, padAttrs({0, 2, 0, 1}, "reflect"), {f32({1, 4}, {1, 2, 3, 4})});
    expectFloats(y, {1, 7}, {3, 2, 1, 2, 3, 4, 3});
}

TEST(Pad, ReflectBothDims) {
    // numpy.pad(arange(9).reshape(3, 3), 1, mode="reflect"): index map -1->1, 3->1.
    Tensor y = run1(OpKind::Pad, padAttrs({1, 1, 1, 1}, "reflect"), {f32({3, 3}, iota(9))});
    expectFloats(y, {5, 5},
                 {4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 7, 6, 7, 8, 7, 4, 3, 4, 5, 4});
}

TEST(Pad, EdgeAsymmetric) {
    Tensor y = run1(OpKind::Pad, padAttrs({1, 1, 0, 2}, "edge"), {f32({2, 3}, {1, 2, 3, 4, 5, 6})});
    expectFloats(y, {3, 6}, {1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6});
}

TEST(Pad, NegativePadsCropAndIntegerValues) {
    expectFloats(run1(OpKind::Pad, padAttrs({-1, 2}, "constant"), {f32({4}, {1, 2, 3, 4})}), {5},
                 {2, 3, 4, 0, 0});
    expectInts(run1(OpKind::Pad, padAttrs({1, 1}, "constant", 7), {i64({2}, {5, 6})}),
               DataType::Int64, {4}, {7, 5, 6, 7});
    expectFloats(run1(OpKind::Pad, padAttrs({0, 0, 1, 0}, "constant", 2), {f32({0, 2}, {})}),
                 {1, 2}, {2, 2});
}

TEST(Pad, InferErrors) {
    Tensor x = f32({2, 3}, iota(6));
    EXPECT_EQ(runError(OpKind::Pad, padAttrs({0, 3, 0, 0}, "reflect"), {x}),
              ErrorCode::InvalidArgument);  // reflect can add at most dim - 1
    EXPECT_EQ(runError(OpKind::Pad, padAttrs({1, 1}, "constant"), {x}),
              ErrorCode::InvalidArgument);  // wrong pads length
    EXPECT_EQ(runError(OpKind::Pad, padAttrs({0, 0, -3, 0}, "constant"), {x}),
              ErrorCode::InvalidArgument);  // crops below zero
    EXPECT_EQ(runError(OpKind::Pad, padAttrs({0, 1, 0, 0}, "wrap"), {x}), ErrorCode::Unsupported);
    EXPECT_EQ(runError(OpKind::Pad, padAttrs({1, 0}, "edge"), {f32({0}, {})}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(
        runError(OpKind::Pad, padAttrs({1, 0}, "constant", std::numeric_limits<float>::infinity()),
                 {i64({1}, {1})}),
        ErrorCode::InvalidArgument);
}

TEST(PadOnnx, AttributeFormBeforeOpset11) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3})};
    auto constant = importNode("Pad", 2, attrs({{"pads", Ints{0, 1, 0, 1}}, {"value", 1.5f}}), x);
    ASSERT_TRUE(constant.ok());
    EXPECT_EQ(constant->attrs, padAttrs({0, 1, 0, 1}, "constant", 1.5f));
    auto edge = importNode(
        "Pad", 2,
        attrs({{"pads", Ints{0, 1, 0, 1}}, {"mode", std::string("edge")}, {"value", 1.5f}}), x);
    ASSERT_TRUE(edge.ok());
    EXPECT_EQ(edge->attrs, padAttrs({0, 1, 0, 1}, "edge", 0));
}

TEST(PadOnnx, InputFormAndAxes) {
    const TensorInfo x = info(DataType::Float32, {2, 3});
    Tensor pads = i64({4}, {1, 0, 2, 0});
    Tensor value = f32({}, {-1});
    auto both = importNode("Pad", 13, attrs({{"mode", std::string("constant")}}),
                           {x, constInfo(pads), constInfo(value)});
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->inputs, (std::vector<int>{0}));
    EXPECT_EQ(both->attrs, padAttrs({1, 0, 2, 0}, "constant", -1));
    auto noValue =
        importNode("Pad", 11, attrs({{"mode", std::string("reflect")}}), {x, constInfo(pads)});
    ASSERT_TRUE(noValue.ok());
    EXPECT_EQ(noValue->attrs, padAttrs({1, 0, 2, 0}, "reflect"));
    // Opset 18 axes: pads [begin_axis1, end_axis1] for axis -1 only.
    Tensor axisPads = i64({2}, {2, 1});
    Tensor axes = i64({1}, {-1});
    auto withAxes = importNode("Pad", 18, {}, {x, constInfo(axisPads), absent(), constInfo(axes)});
    ASSERT_TRUE(withAxes.ok()) << withAxes.error().toString();
    EXPECT_EQ(withAxes->attrs, padAttrs({0, 2, 0, 1}, "constant"));
    auto computed = importNode("Pad", 13, {}, {x, info(DataType::Int64, {4})});
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);
    EXPECT_FALSE(
        importNode("Pad", 19, attrs({{"mode", std::string("wrap")}}), {x, constInfo(pads)}).ok());
}

TEST(PadOnnx, RoundTrip) {
    for (const auto& [dtype, canonical] : std::vector<std::pair<DataType, Attributes>>{
             {DataType::Float32, padAttrs({1, 0, 2, 3}, "constant", 0.5f)},
             {DataType::Int64, padAttrs({0, 1, 0, 0}, "constant", 4)},
             {DataType::Float32, padAttrs({1, 1, 1, 1}, "reflect")},
             {DataType::Float32, padAttrs({0, 2, 1, 0}, "edge")}}) {
        auto back = roundTrip(OpKind::Pad, canonical, {info(dtype, {3, 4})});
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_EQ(*back, canonical);
    }
}

}  // namespace
}  // namespace prunelab::engine::testing

// Gather and Cast: negative indices on any axis, shape-vector gathers, every supported dtype
// conversion with hand-computed results (truncation, saturation, wrap-around), ONNX type
// mapping both ways.
#include <gtest/gtest.h>

#include <limits>

#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// ---- Gather ----

TEST(Gather, RowsWithNegativeIndices) {
    Tensor x = f32({3, 2}, {0, 1, 10, 11, 20, 21});
    expectFloats(run1(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {x, i64({2}, {2, -3})}),
                 {2, 2}, {20, 21, 0, 1});
}

TEST(Gather, InnerAxisWith2DIndicesMatchesLoops) {
    // Y[i][a][b] = X[i][wrap(idx[a][b])] for X [2, 3], idx [2, 2], axis 1.
    Tensor x = randomTensor({2, 3}, 9);
    const std::vector<int64_t> idx = {0, -1, 1, 1};
    Tensor y = run1(OpKind::Gather, attrs({{"axis", int64_t(1)}}), {x, i64({2, 2}, idx)});
    std::vector<float> want;
    for (int i = 0; i < 2; ++i) {
        for (int64_t k : idx) want.push_back(x.data<float>()[i * 3 + (k < 0 ? k + 3 : k)]);
    }
    expectFloats(y, {2, 2, 2}, want);
}

TEST(Gather, ScalarIndexDropsTheAxis) {
    // The shape-folding idiom: Gather(Shape(x), 0) -> the batch size as a scalar.
    expectInts(run1(OpKind::Gather, attrs({{"axis", int64_t(0)}}),
                    {i64({4}, {1, 3, 224, 224}), i64({}, {0})}),
               DataType::Int64, {}, {1});
    expectFloats(
        run1(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {f32({3}, {5, 6, 7}), i32({}, {-1})}),
        {}, {7});
    expectFloats(
        run1(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {f32({3}, {5, 6, 7}), i64({0}, {})}),
        {0}, {});
}

TEST(Gather, Errors) {
    Tensor x = f32({3}, {5, 6, 7});
    EXPECT_EQ(runError(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {x, i64({1}, {3})}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {x, i64({1}, {-4})}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Gather, attrs({{"axis", int64_t(1)}}), {x, i64({1}, {0})}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Gather, attrs({{"axis", int64_t(0)}}), {x, f32({1}, {0})}),
              ErrorCode::InvalidArgument);
}

TEST(GatherOnnx, NegativeAxisAndRoundTrip) {
    const std::vector<TensorInfo> in = {info(DataType::Float32, {2, 3, 4}),
                                        info(DataType::Int64, {5})};
    auto byDefault = importNode("Gather", 13, {}, in);
    ASSERT_TRUE(byDefault.ok());
    EXPECT_EQ(byDefault->attrs, attrs({{"axis", int64_t(0)}}));
    EXPECT_EQ(byDefault->inputs, (std::vector<int>{0, 1}));
    auto negative = importNode("Gather", 11, attrs({{"axis", int64_t(-2)}}), in);
    ASSERT_TRUE(negative.ok());
    EXPECT_EQ(negative->attrs, attrs({{"axis", int64_t(1)}}));
    EXPECT_FALSE(importNode("Gather", 11, attrs({{"axis", int64_t(3)}}), in).ok());
    auto back = roundTrip(OpKind::Gather, negative->attrs, in);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, negative->attrs);
}

// ---- Cast ----

Attributes castTo(DataType t) {
    return attrs({{"to", static_cast<int64_t>(t)}});
}

TEST(Cast, FloatToIntegersTruncatesAndSaturates) {
    Tensor x = f32({5}, {1.7f, -1.7f, 0, 2.5f, 1e20f});
    expectInts(run1(OpKind::Cast, castTo(DataType::Int64), {x}), DataType::Int64, {5},
               {1, -1, 0, 2, std::numeric_limits<int64_t>::max()});
    expectInts(run1(OpKind::Cast, castTo(DataType::UInt8), {f32({4}, {-5, 300, 7.9f, kNaN})}),
               DataType::UInt8, {4}, {0, 255, 7, 0});
    expectInts(run1(OpKind::Cast, castTo(DataType::Int8), {f32({3}, {-200, 127.5f, -3.2f})}),
               DataType::Int8, {3}, {-128, 127, -3});
}

TEST(Cast, ToAndFromBool) {
    expectInts(run1(OpKind::Cast, castTo(DataType::Bool), {f32({4}, {0, -0.5f, 3, kNaN})}),
               DataType::Bool, {4}, {0, 1, 1, 1});
    expectInts(run1(OpKind::Cast, castTo(DataType::Bool), {i64({3}, {0, -2, 256})}), DataType::Bool,
               {3}, {0, 1, 1});
    Tensor flags = Tensor::fromVector<bool>({2}, {true, false});
    expectFloats(run1(OpKind::Cast, castTo(DataType::Float32), {flags}), {2}, {1, 0});
    expectInts(run1(OpKind::Cast, castTo(DataType::Int32), {flags}), DataType::Int32, {2}, {1, 0});
}

TEST(Cast, BetweenIntegersWraps) {
    const int64_t big = (int64_t(1) << 32) + 5;
    expectInts(run1(OpKind::Cast, castTo(DataType::Int32), {i64({2}, {big, -1})}), DataType::Int32,
               {2}, {5, -1});
    expectInts(run1(OpKind::Cast, castTo(DataType::UInt8), {i64({2}, {300, -1})}), DataType::UInt8,
               {2}, {44, 255});
    expectInts(run1(OpKind::Cast, castTo(DataType::Int64), {i32({2}, {-7, 9})}), DataType::Int64,
               {2}, {-7, 9});
}

TEST(Cast, FloatWidths) {
    // int64 -> float64 keeps 2^53 + 0 exactly; float64 -> float32 rounds to nearest.
    const int64_t exact = int64_t(1) << 53;
    Tensor wide = run1(OpKind::Cast, castTo(DataType::Float64), {i64({2}, {exact, -3})});
    ASSERT_EQ(wide.dtype(), DataType::Float64);
    EXPECT_EQ(wide.data<double>()[0], 9007199254740992.0);
    EXPECT_EQ(wide.data<double>()[1], -3.0);
    Tensor narrow = run1(OpKind::Cast, castTo(DataType::Float32),
                         {Tensor::fromVector<double>({2}, {0.1, 1e300})});
    expectFloats(narrow, {2}, {0.1f, std::numeric_limits<float>::infinity()});
    expectFloats(run1(OpKind::Cast, castTo(DataType::Float32), {f32({0}, {})}), {0}, {});
}

TEST(Cast, InferErrors) {
    Tensor x = f32({1}, {1});
    EXPECT_EQ(runError(OpKind::Cast, castTo(DataType::Float16), {x}), ErrorCode::Unsupported);
    EXPECT_EQ(runError(OpKind::Cast, attrs({{"to", int64_t(42)}}), {x}), ErrorCode::Unsupported);
    EXPECT_EQ(runError(OpKind::Cast, {}, {x}), ErrorCode::Unsupported);
}

TEST(CastOnnx, TypeEnumMapping) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2})};
    const std::vector<std::pair<int64_t, DataType>> table =
        {{1, DataType::Float32},  {2, DataType::UInt8}, {3, DataType::Int8},
         {6, DataType::Int32},    {7, DataType::Int64}, {9, DataType::Bool},
         {10, DataType::Float32},  // float16 computes as float32
         {11, DataType::Float64}};
    for (const auto& [onnx, engine] : table) {
        auto imported = importNode("Cast", 13, attrs({{"to", onnx}}), x);
        ASSERT_TRUE(imported.ok()) << onnx;
        EXPECT_EQ(imported->attrs, castTo(engine)) << onnx;
        EXPECT_EQ(imported->inputs, (std::vector<int>{0}));
    }
    auto text = importNode("Cast", 13, attrs({{"to", int64_t(8)}}), x);  // STRING
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code, ErrorCode::Unsupported);
    EXPECT_FALSE(importNode("Cast", 13, {}, x).ok());
}

TEST(CastOnnx, RoundTripAndExportedEnum) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2})};
    for (DataType t : {DataType::Float32, DataType::Float64, DataType::Int64, DataType::Int32,
                       DataType::Int8, DataType::UInt8, DataType::Bool}) {
        auto back = roundTrip(OpKind::Cast, castTo(t), x);
        ASSERT_TRUE(back.ok()) << dataTypeName(t);
        EXPECT_EQ(*back, castTo(t)) << dataTypeName(t);
    }
    Graph graph;
    Node node;
    node.op = OpKind::Cast;
    node.attrs = castTo(DataType::Int64);
    node.inputs = {graph.addValue("x", DataType::Float32, {2})};
    node.outputs = {graph.addValue("y", DataType::Int64, {2})};
    auto chain = opDef(OpKind::Cast).exportOnnx(node, graph);
    ASSERT_TRUE(chain.ok());
    EXPECT_EQ((*chain)[0].attrs.getInt("to"), 7);  // TensorProto.INT64
}

}  // namespace
}  // namespace prunelab::engine::testing

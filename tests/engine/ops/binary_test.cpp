// Add, Sub, Mul, Div, Pow and the broadcasting helpers: hand-computed values and a second,
// index-arithmetic formulation of broadcasting, odd shapes and int64 arithmetic included.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/ops/elementwise.h"
#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(Broadcast, ShapesFollowNumpyRules) {
    EXPECT_EQ(*broadcastShapes({2, 3}, {3}), (Shape{2, 3}));
    EXPECT_EQ(*broadcastShapes({2, 1, 3}, {4, 1}), (Shape{2, 4, 3}));
    EXPECT_EQ(*broadcastShapes({}, {2, 2}), (Shape{2, 2}));
    EXPECT_EQ(*broadcastShapes({0, 3}, {1, 3}), (Shape{0, 3}));
    EXPECT_EQ(*broadcastShapes({5, 0}, {1}), (Shape{5, 0}));
    auto bad = broadcastShapes({1, 3, 4}, {1, 5});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::ShapeMismatch);
    EXPECT_EQ(bad.error().message, "cannot broadcast [1, 3, 4] with [1, 5]");
    EXPECT_FALSE(broadcastShapes({0}, {2}).ok());  // 0 only stretches from 1
}

TEST(Broadcast, StridesAndOneWay) {
    EXPECT_EQ(contiguousStrides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
    EXPECT_EQ(broadcastStrides({3, 1}, {2, 3, 4}), (std::vector<int64_t>{0, 1, 0}));
    EXPECT_TRUE(broadcastsTo({3, 1, 1}, {2, 3, 4, 4}));
    EXPECT_FALSE(broadcastsTo({2, 3, 4, 4}, {3, 1, 1}));
    EXPECT_FALSE(broadcastsTo({5}, {2, 3}));
}

TEST(Add, TrailingBroadcast) {
    Tensor c = run1(OpKind::Add, {}, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30})});
    expectFloats(c, {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST(Add, OneSizedDimsOnBothSides) {
    // A [2,1,3] + B [4,1] -> [2,4,3]; expected by explicit index arithmetic:
    // C[n][i][j] = A[n][0][j] + B[i][0].
    Tensor a = randomTensor({2, 1, 3}, 1);
    Tensor b = randomTensor({4, 1}, 2);
    Tensor c = run1(OpKind::Add, {}, {a, b});
    std::vector<float> want;
    for (int n = 0; n < 2; ++n) {
        for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 3; ++j)
                want.push_back(a.data<float>()[n * 3 + j] + b.data<float>()[i]);
        }
    }
    expectFloats(c, {2, 4, 3}, want);
}

TEST(Sub, ScalarMinusMatrixAndBack) {
    expectFloats(run1(OpKind::Sub, {}, {f32({}, {5}), f32({2, 2}, {1, 2, 3, 4})}), {2, 2},
                 {4, 3, 2, 1});
    expectFloats(run1(OpKind::Sub, {}, {f32({2, 2}, {1, 2, 3, 4}), f32({}, {5})}), {2, 2},
                 {-4, -3, -2, -1});
    expectFloats(run1(OpKind::Sub, {}, {f32({}, {5}), f32({}, {7})}), {}, {-2});
}

TEST(Mul, ZeroSizedDims) {
    expectFloats(run1(OpKind::Mul, {}, {f32({0, 3}, {}), f32({3}, {1, 2, 3})}), {0, 3}, {});
    expectFloats(run1(OpKind::Mul, {}, {f32({2, 0}, {}), f32({1}, {4})}), {2, 0}, {});
    expectFloats(run1(OpKind::Mul, {}, {f32({1, 2}, {2, 3}), f32({2, 1}, {10, 100})}), {2, 2},
                 {20, 30, 200, 300});
}

TEST(Arithmetic, Int64ShapeMaths) {
    // The importer folds shape computations like Gather(Shape(x)) * 2 + 1 in int64.
    expectInts(run1(OpKind::Mul, {}, {i64({3}, {1, 3, 224}), i64({}, {2})}), DataType::Int64, {3},
               {2, 6, 448});
    expectInts(run1(OpKind::Add, {}, {i64({2}, {5, -7}), i64({1}, {1})}), DataType::Int64, {2},
               {6, -6});
    expectInts(run1(OpKind::Sub, {}, {i64({2}, {0, 3}), i64({2, 1}, {1, 10})}), DataType::Int64,
               {2, 2}, {-1, 2, -10, -7});
    expectInts(run1(OpKind::Mul, {}, {i32({2}, {-3, 4}), i32({2}, {5, 6})}), DataType::Int32, {2},
               {-15, 24});
}

TEST(Arithmetic, Int64OverflowWraps) {
    const int64_t big = std::numeric_limits<int64_t>::max();
    const int64_t small = std::numeric_limits<int64_t>::min();
    expectInts(run1(OpKind::Add, {}, {i64({}, {big}), i64({}, {1})}), DataType::Int64, {}, {small});
    expectInts(run1(OpKind::Sub, {}, {i64({}, {small}), i64({}, {1})}), DataType::Int64, {}, {big});
}

TEST(Div, IntegerDivisionTruncates) {
    expectInts(run1(OpKind::Div, {}, {i64({4}, {7, -7, 7, -7}), i64({4}, {2, 2, -2, -2})}),
               DataType::Int64, {4}, {3, -3, -3, 3});
    expectInts(run1(OpKind::Div, {}, {i32({3}, {224, 225, 1}), i32({}, {32})}), DataType::Int32,
               {3}, {7, 7, 0});
    const int64_t small = std::numeric_limits<int64_t>::min();
    expectInts(run1(OpKind::Div, {}, {i64({}, {small}), i64({}, {-1})}), DataType::Int64, {},
               {small});
    EXPECT_EQ(runError(OpKind::Div, {}, {i64({2}, {1, 2}), i64({2}, {1, 0})}),
              ErrorCode::InvalidArgument);
}

TEST(Div, FloatFollowsIeee) {
    expectFloats(run1(OpKind::Div, {}, {f32({4}, {1, -1, 0, 3}), f32({4}, {0, 0, 0, 4})}), {4},
                 {kInf, -kInf, kNaN, 0.75f});
}

TEST(Pow, FloatBaseWithFloatOrIntExponent) {
    expectFloats(run1(OpKind::Pow, {}, {f32({2, 2}, {1, -2, 3, 0.5f}), i64({}, {2})}), {2, 2},
                 {1, 4, 9, 0.25f});
    expectFloats(run1(OpKind::Pow, {}, {f32({3}, {-2, -2, -8}), i32({3}, {3, -1, 0})}), {3},
                 {-8, -0.5f, 1});
    expectFloats(run1(OpKind::Pow, {}, {f32({3}, {4, 2, -8}), f32({3}, {0.5f, -2, 1.0f / 3})}), {3},
                 {2, 0.25f, kNaN});
    // Broadcasting the exponent over rows: C[i][j] = A[i][j] ^ B[j].
    Tensor a = f32({2, 2}, {2, 3, 4, 5});
    Tensor c = run1(OpKind::Pow, {}, {a, f32({2}, {1, 3})});
    expectFloats(c, {2, 2}, {2, 27, 4, 125});
}

TEST(Arithmetic, InferErrors) {
    EXPECT_EQ(runError(OpKind::Add, {}, {f32({1, 3, 4}, std::vector<float>(12)), f32({1, 5}, {})}),
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Add, {}, {f32({2}, {1, 2}), i64({2}, {1, 2})}),
              ErrorCode::InvalidArgument);
    Tensor flags = Tensor::fromVector<bool>({2}, {true, false});
    EXPECT_EQ(runError(OpKind::Mul, {}, {flags, flags}), ErrorCode::Unsupported);
    EXPECT_EQ(runError(OpKind::Sub, {}, {f32({2}, {1, 2})}), ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Pow, {}, {i64({1}, {2}), i64({1}, {2})}), ErrorCode::Unsupported);
}

TEST(ArithmeticOnnx, ImportKeepsBothInputsAndRefusesLegacyBroadcast) {
    for (std::string_view op : {"Add", "Sub", "Mul", "Div", "Pow"}) {
        auto imported =
            importNode(op, 13, {}, {info(DataType::Float32, {2, 3}), info(DataType::Float32, {3})});
        ASSERT_TRUE(imported.ok()) << op;
        EXPECT_EQ(imported->inputs, (std::vector<int>{0, 1}));
        EXPECT_TRUE(imported->attrs.all().empty());
        auto legacy = importNode(op, 6, attrs({{"broadcast", int64_t(1)}, {"axis", int64_t(1)}}),
                                 {info(DataType::Float32, {2, 3}), info(DataType::Float32, {3})});
        ASSERT_FALSE(legacy.ok());
        EXPECT_EQ(legacy.error().code, ErrorCode::Unsupported);
    }
}

TEST(ArithmeticOnnx, ExportRoundTrip) {
    for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow}) {
        auto back = roundTrip(op, {}, {info(DataType::Float32, {2}), info(DataType::Float32, {2})});
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_TRUE(back->all().empty());
    }
}

}  // namespace
}  // namespace prunelab::engine::testing

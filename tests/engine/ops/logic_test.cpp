// The comparison and logic ops (Equal, Greater, Less, GreaterOrEqual, LessOrEqual, Not, And, Or),
// Where and the variadic Min/Max: each against nested loops written out per index (an independent
// formulation of broadcasting), NaN and infinity cases, int64 inputs, shape and dtype errors, and
// their ONNX import forms and export round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor bools(Shape shape, const std::vector<int>& values) {
    Tensor t(DataType::Bool, std::move(shape));
    auto* p = reinterpret_cast<uint8_t*>(t.raw());
    for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.elements()); ++i) {
        p[i] = static_cast<uint8_t>(values[i]);
    }
    return t;
}

std::vector<int64_t> boolsOf(const Tensor& t) {
    EXPECT_EQ(t.dtype(), DataType::Bool);
    return t.toInt64Vector();
}

struct Comparison {
    OpKind op;
    std::function<bool(double, double)> holds;
};

const std::vector<Comparison>& comparisons() {
    static const std::vector<Comparison> all = {
        {OpKind::Equal, [](double a, double b) { return a == b; }},
        {OpKind::Greater, [](double a, double b) { return a > b; }},
        {OpKind::Less, [](double a, double b) { return a < b; }},
        {OpKind::GreaterOrEqual, [](double a, double b) { return a >= b; }},
        {OpKind::LessOrEqual, [](double a, double b) { return a <= b; }},
    };
    return all;
}

TEST(Comparison, BroadcastAgainstExplicitLoops) {
    // A [2,1,3] vs B [4,1]: C[n][i][j] = A[n][0][j] op B[i][0], with ties made likely by rounding
    // to quarters.
    Tensor a = randomTensor({2, 1, 3}, 3);
    Tensor b = randomTensor({4, 1}, 4);
    for (float& v : a.span<float>()) v = std::round(v * 4) / 4;
    for (float& v : b.span<float>()) v = std::round(v * 4) / 4;
    for (const Comparison& c : comparisons()) {
        std::vector<int64_t> want;
        for (int n = 0; n < 2; ++n) {
            for (int i = 0; i < 4; ++i) {
                for (int j = 0; j < 3; ++j) {
                    want.push_back(c.holds(a.data<float>()[n * 3 + j], b.data<float>()[i]));
                }
            }
        }
        Tensor out = run1(c.op, {}, {a, b});
        EXPECT_EQ(out.shape(), (Shape{2, 4, 3})) << opName(c.op);
        EXPECT_EQ(boolsOf(out), want) << opName(c.op);
    }
}

TEST(Comparison, NaNAndInfinities) {
    // IEEE 754: NaN compares false with everything, itself included; +-inf order as numbers.
    Tensor a = f32({6}, {kNaN, kNaN, kInf, -kInf, kInf, 1});
    Tensor b = f32({6}, {kNaN, 1, kInf, kInf, 1e38f, 1});
    for (const Comparison& c : comparisons()) {
        std::vector<int64_t> want;
        for (int i = 0; i < 6; ++i) want.push_back(c.holds(a.data<float>()[i], b.data<float>()[i]));
        EXPECT_EQ(boolsOf(run1(c.op, {}, {a, b})), want) << opName(c.op);
    }
    EXPECT_EQ(boolsOf(run1(OpKind::Equal, {}, {a, b})), (std::vector<int64_t>{0, 0, 1, 0, 0, 1}));
    EXPECT_EQ(boolsOf(run1(OpKind::GreaterOrEqual, {}, {a, b})),
              (std::vector<int64_t>{0, 0, 1, 0, 1, 1}));
}

TEST(Comparison, Int64AndInt32BeyondFloatPrecision) {
    // 2^53 + 1 and 2^53 differ as int64 but are equal as doubles: the loop compares integers.
    const int64_t big = (int64_t(1) << 53);
    Tensor a = i64({3}, {big + 1, -5, std::numeric_limits<int64_t>::min()});
    Tensor b = i64({3}, {big, -5, std::numeric_limits<int64_t>::max()});
    EXPECT_EQ(boolsOf(run1(OpKind::Equal, {}, {a, b})), (std::vector<int64_t>{0, 1, 0}));
    EXPECT_EQ(boolsOf(run1(OpKind::Greater, {}, {a, b})), (std::vector<int64_t>{1, 0, 0}));
    EXPECT_EQ(boolsOf(run1(OpKind::LessOrEqual, {}, {a, b})), (std::vector<int64_t>{0, 1, 1}));
    EXPECT_EQ(boolsOf(run1(OpKind::Less, {}, {i32({2}, {-1, 7}), i32({}, {0})})),
              (std::vector<int64_t>{1, 0}));
    // Equal also takes bools (ONNX allows them); any non-zero byte reads as true.
    EXPECT_EQ(boolsOf(run1(OpKind::Equal, {}, {bools({3}, {1, 0, 2}), bools({3}, {1, 1, 1})})),
              (std::vector<int64_t>{1, 0, 1}));
}

TEST(Comparison, ErrorsNameTheOpAndProblem) {
    for (const Comparison& c : comparisons()) {
        const std::string name(opName(c.op));
        auto mixed = runOp(c.op, {}, {f32({2}, {1, 2}), i64({2}, {1, 2})});
        ASSERT_FALSE(mixed.ok()) << name;
        EXPECT_EQ(mixed.error().code, ErrorCode::InvalidArgument);
        EXPECT_EQ(mixed.error().message, name + " needs inputs of one type, got float32 and int64");
        auto shapes = runOp(c.op, {}, {f32({2, 3}, {}), f32({4}, {})});
        ASSERT_FALSE(shapes.ok()) << name;
        EXPECT_EQ(shapes.error().code, ErrorCode::ShapeMismatch);
        EXPECT_NE(shapes.error().message.find("cannot broadcast [2, 3] with [4]"),
                  std::string::npos);
        EXPECT_EQ(runError(c.op, {}, {f32({2}, {1, 2})}), ErrorCode::InvalidArgument) << name;
    }
    auto boolGreater = runOp(OpKind::Greater, {}, {bools({1}, {1}), bools({1}, {0})});
    ASSERT_FALSE(boolGreater.ok());
    EXPECT_EQ(boolGreater.error().code, ErrorCode::Unsupported);
    EXPECT_NE(boolGreater.error().message.find("Greater supports"), std::string::npos);
}

TEST(Logic, NotAndOrAgainstTruthTables) {
    EXPECT_EQ(boolsOf(run1(OpKind::Not, {}, {bools({2, 2}, {0, 1, 1, 0})})),
              (std::vector<int64_t>{1, 0, 0, 1}));
    // A [2,1] vs B [3]: every pair of truth values appears.
    Tensor a = bools({2, 1}, {0, 1});
    Tensor b = bools({3}, {0, 1, 1});
    std::vector<int64_t> wantAnd, wantOr;
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) {
            const bool x = i == 1;
            const bool y = j > 0;
            wantAnd.push_back(x && y);
            wantOr.push_back(x || y);
        }
    }
    Tensor both = run1(OpKind::And, {}, {a, b});
    EXPECT_EQ(both.shape(), (Shape{2, 3}));
    EXPECT_EQ(boolsOf(both), wantAnd);
    EXPECT_EQ(boolsOf(run1(OpKind::Or, {}, {a, b})), wantOr);
}

TEST(Logic, RefusesNonBool) {
    for (OpKind op : {OpKind::And, OpKind::Or}) {
        auto r = runOp(op, {}, {bools({2}, {1, 0}), f32({2}, {1, 0})});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message,
                  std::string(opName(op)) + " input 1 must be bool, got float32");
        EXPECT_EQ(runError(op, {}, {bools({2}, {1, 0}), bools({3}, {1, 0, 1})}),
                  ErrorCode::ShapeMismatch);
    }
    auto notFloat = runOp(OpKind::Not, {}, {f32({1}, {1})});
    ASSERT_FALSE(notFloat.ok());
    EXPECT_EQ(notFloat.error().message, "Not input must be bool, got float32");
}

TEST(Where, ThreeWayBroadcastAgainstLoops) {
    // cond [2,1,1], X [1,3,1], Y [4]: out[n][i][j] = cond[n] ? X[i] : Y[j].
    Tensor cond = bools({2, 1, 1}, {1, 0});
    Tensor x = randomTensor({1, 3, 1}, 5);
    Tensor y = randomTensor({4}, 6);
    std::vector<float> want;
    for (int n = 0; n < 2; ++n) {
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 4; ++j) {
                want.push_back(n == 0 ? x.data<float>()[i] : y.data<float>()[j]);
            }
        }
    }
    expectFloats(run1(OpKind::Where, {}, {cond, x, y}), {2, 3, 4}, want, 0);
    // int64 values and a scalar condition; NaN and inf are copied, not computed.
    expectInts(run1(OpKind::Where, {}, {bools({}, {0}), i64({2}, {1, 2}), i64({2}, {-7, 9})}),
               DataType::Int64, {2}, {-7, 9});
    expectFloats(
        run1(OpKind::Where, {}, {bools({3}, {1, 0, 1}), f32({3}, {kNaN, 0, -kInf}), f32({}, {5})}),
        {3}, {kNaN, 5, -kInf});
}

TEST(Where, Errors) {
    auto notBool = runOp(OpKind::Where, {}, {f32({2}, {1, 0}), f32({2}, {}), f32({2}, {})});
    ASSERT_FALSE(notBool.ok());
    EXPECT_EQ(notBool.error().message, "Where condition must be bool, got float32");
    auto mixed = runOp(OpKind::Where, {}, {bools({2}, {1, 0}), f32({2}, {}), i64({2}, {})});
    ASSERT_FALSE(mixed.ok());
    EXPECT_EQ(mixed.error().message, "Where needs X and Y of one type, got float32 and int64");
    auto shapes = runOp(OpKind::Where, {}, {bools({3}, {1, 0, 1}), f32({2}, {}), f32({2}, {})});
    ASSERT_FALSE(shapes.ok());
    EXPECT_EQ(shapes.error().code, ErrorCode::ShapeMismatch);
    EXPECT_EQ(shapes.error().message, "Where condition: cannot broadcast [3] with [2]");
    EXPECT_EQ(runError(OpKind::Where, {}, {bools({2}, {1, 0}), f32({2}, {})}),
              ErrorCode::InvalidArgument);
}

// max/min in double with NaN winning: what numpy's np.maximum / np.minimum compute.
double pickMax(double a, double b) {
    return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
}
double pickMin(double a, double b) {
    return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
}

TEST(MinMax, VariadicBroadcastAgainstLoops) {
    // X0 [2,1,3], X1 [4,1], X2 [3]: Y[n][i][j] = pick(X0[n][0][j], X1[i][0], X2[j]).
    Tensor x0 = randomTensor({2, 1, 3}, 7);
    Tensor x1 = randomTensor({4, 1}, 8);
    Tensor x2 = randomTensor({3}, 9);
    for (auto [op, pick] : {std::pair<OpKind, double (*)(double, double)>{OpKind::Max, pickMax},
                            {OpKind::Min, pickMin}}) {
        std::vector<float> want;
        for (int n = 0; n < 2; ++n) {
            for (int i = 0; i < 4; ++i) {
                for (int j = 0; j < 3; ++j) {
                    want.push_back(static_cast<float>(
                        pick(pick(x0.data<float>()[n * 3 + j], x1.data<float>()[i]),
                             x2.data<float>()[j])));
                }
            }
        }
        expectFloats(run1(op, {}, {x0, x1, x2}), {2, 4, 3}, want, 0);
        // One input: a copy.
        expectFloats(run1(op, {}, {x1}), {4, 1}, x1.toFloatVector(), 0);
    }
}

TEST(MinMax, NaNInfAndIntegers) {
    // A NaN in either position wins, whatever the order (std::max would depend on it).
    Tensor a = f32({4}, {kNaN, 1, -kInf, 3});
    Tensor b = f32({4}, {1, kNaN, 2, kInf});
    expectFloats(run1(OpKind::Max, {}, {a, b}), {4}, {kNaN, kNaN, 2, kInf});
    expectFloats(run1(OpKind::Min, {}, {a, b}), {4}, {kNaN, kNaN, -kInf, 3});
    expectFloats(run1(OpKind::Max, {}, {b, a}), {4}, {kNaN, kNaN, 2, kInf});
    const int64_t big = (int64_t(1) << 53) + 1;  // not a double: compared as an integer
    expectInts(run1(OpKind::Max, {}, {i64({2}, {big, -3}), i64({2}, {big - 1, -4})}),
               DataType::Int64, {2}, {big, -3});
    expectInts(run1(OpKind::Min, {}, {i32({3}, {5, -2, 0}), i32({}, {1})}), DataType::Int32, {3},
               {1, -2, 0});
}

TEST(MinMax, Errors) {
    auto none = runOp(OpKind::Max, {}, {});
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().message, "Max needs at least 1 input");
    auto mixed = runOp(OpKind::Min, {}, {f32({2}, {}), f32({2}, {}), i64({2}, {})});
    ASSERT_FALSE(mixed.ok());
    EXPECT_EQ(mixed.error().message,
              "Min needs inputs of one type: input 0 is float32, input 2 is int64");
    auto shapes = runOp(OpKind::Max, {}, {f32({2, 3}, {}), f32({3}, {}), f32({2}, {})});
    ASSERT_FALSE(shapes.ok());
    EXPECT_EQ(shapes.error().code, ErrorCode::ShapeMismatch);
    EXPECT_EQ(shapes.error().message, "Max input 2: cannot broadcast [2, 3] with [2]");
    EXPECT_EQ(runError(OpKind::Max, {}, {bools({1}, {1})}), ErrorCode::Unsupported);
}

TEST(LogicOnnx, ImportAndExportRoundTrip) {
    const TensorInfo a = info(DataType::Float32, {2, 3});
    const TensorInfo b = info(DataType::Float32, {3});
    const TensorInfo c = info(DataType::Bool, {2, 3});
    for (const char* type : {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"}) {
        auto imported = importNode(type, 13, {}, {a, b});
        ASSERT_TRUE(imported.ok()) << type;
        EXPECT_EQ(imported->inputs, (std::vector<int>{0, 1}));
        // Opset 1-6's legacy broadcasting is refused with the reason.
        auto legacy = importNode(type, 6, attrs({{"broadcast", int64_t{1}}}), {a, b});
        ASSERT_FALSE(legacy.ok()) << type;
        EXPECT_EQ(legacy.error().code, ErrorCode::Unsupported);
    }
    for (OpKind op : {OpKind::Equal, OpKind::Greater, OpKind::Less, OpKind::GreaterOrEqual,
                      OpKind::LessOrEqual}) {
        auto back = roundTrip(op, {}, {a, b});
        ASSERT_TRUE(back.ok()) << opName(op) << ": " << back.error().toString();
    }
    for (OpKind op : {OpKind::And, OpKind::Or}) {
        ASSERT_TRUE(roundTrip(op, {}, {c, c}).ok()) << opName(op);
    }
    ASSERT_TRUE(roundTrip(OpKind::Not, {}, {c}).ok());
    ASSERT_TRUE(roundTrip(OpKind::Where, {}, {c, a, b}).ok());
    auto whereShort = importNode("Where", 16, {}, {c, a});
    ASSERT_FALSE(whereShort.ok());
    EXPECT_EQ(whereShort.error().message, "Where takes 3 inputs (condition, X, Y)");
    auto three = importNode("Max", 13, {}, {a, b, a});
    ASSERT_TRUE(three.ok());
    EXPECT_EQ(three->inputs, (std::vector<int>{0, 1, 2}));
    ASSERT_TRUE(roundTrip(OpKind::Min, {}, {a, b, a}).ok());
    auto holey = importNode("Min", 13, {}, {a, absent()});
    ASSERT_FALSE(holey.ok());
    EXPECT_EQ(holey.error().message, "Min input 1 is empty");
}

}  // namespace
}  // namespace prunelab::engine::testing

// The one-input activations (Relu, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Sqrt,
// Exp, Clip), the float maths (Neg, Abs, Floor, Ceil, Round, Log, Reciprocal, Erf, Softplus,
// Mish) and PRelu, each against hand values or a second formulation of its maths, plus their
// ONNX import forms and export round trips.
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <functional>
#include <limits>

#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Applies `f` per element in double precision: the independent formulation.
std::vector<float> perElement(const Tensor& x, const std::function<double(double)>& f) {
    std::vector<float> out;
    for (float v : x.toFloatVector()) out.push_back(static_cast<float>(f(v)));
    return out;
}

TEST(Relu, HandValues) {
    expectFloats(run1(OpKind::Relu, {}, {f32({2, 3}, {-2, -0.5f, 0, 0.5f, 2, -kInf})}), {2, 3},
                 {0, 0, 0, 0.5f, 2, 0});
    expectFloats(run1(OpKind::Relu, {}, {f32({}, {3})}), {}, {3});
    expectFloats(run1(OpKind::Relu, {}, {f32({0, 4}, {})}), {0, 4}, {});
}

TEST(LeakyRelu, DefaultAndGivenAlpha) {
    Tensor x = f32({4}, {-10, -1, 0, 3});
    expectFloats(run1(OpKind::LeakyRelu, {}, {x}), {4}, {-0.1f, -0.01f, 0, 3});
    expectFloats(run1(OpKind::LeakyRelu, attrs({{"alpha", 0.2f}}), {x}), {4}, {-2, -0.2f, 0, 3});
}

TEST(Sigmoid, MatchesOneOverOnePlusExp) {
    Tensor x = randomTensor({3, 5}, 7);
    Tensor y = run1(OpKind::Sigmoid, {}, {x});
    expectFloats(y, {3, 5}, perElement(x, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }),
                 1e-6f);
    // Far tails: exact 0.5 at 0, no NaN or overflow at the extremes.
    Tensor tails = run1(OpKind::Sigmoid, {}, {f32({4}, {0, -100, 100, -kInf})});
    expectFloats(tails, {4}, {0.5f, 3.72e-44f, 1, 0}, 3e-45f);
    EXPECT_GT(tails.data<float>()[1], 0.0f);
}

TEST(HardSigmoid, PiecewiseLinear) {
    Tensor x = f32({5}, {-5, -2.5f, 0, 1, 5});
    // alpha 0.2, beta 0.5: 0.2x + 0.5 clamped to [0, 1].
    expectFloats(run1(OpKind::HardSigmoid, {}, {x}), {5}, {0, 0, 0.5f, 0.7f, 1});
    expectFloats(run1(OpKind::HardSigmoid, attrs({{"alpha", 0.5f}, {"beta", 0.25f}}), {x}), {5},
                 {0, 0, 0.25f, 0.75f, 1});
}

TEST(HardSwish, MatchesReluSixForm) {
    Tensor x = f32({6}, {-4, -3, -1, 0, 2, 4});
    // x * relu6(x + 3) / 6
    expectFloats(
        run1(OpKind::HardSwish, {}, {x}), {6},
        perElement(x, [](double v) { return v * std::min(6.0, std::max(0.0, v + 3)) / 6; }), 1e-6f);
}

TEST(Tanh, MatchesExpFormula) {
    Tensor x = randomTensor({2, 2, 3}, 11);
    expectFloats(run1(OpKind::Tanh, {}, {x}), {2, 2, 3},
                 perElement(x,
                            [](double v) {
                                return (std::exp(v) - std::exp(-v)) / (std::exp(v) + std::exp(-v));
                            }),
                 1e-6f);
}

TEST(Sqrt, HandValuesAndNegative) {
    expectFloats(run1(OpKind::Sqrt, {}, {f32({4}, {0, 4, 2.25f, -1})}), {4}, {0, 2, 1.5f, kNaN});
}

TEST(Exp, HandValues) {
    expectFloats(run1(OpKind::Exp, {}, {f32({4}, {0, 1, -1, -kInf})}), {4},
                 {1, 2.7182817f, 0.36787945f, 0});
}

TEST(Clip, BoundsAndDefaults) {
    Tensor x = f32({5}, {-10, -1, 0, 5, 10});
    expectFloats(run1(OpKind::Clip, attrs({{"min", 0.0f}, {"max", 6.0f}}), {x}), {5},
                 {0, 0, 0, 5, 6});
    expectFloats(run1(OpKind::Clip, attrs({{"min", -2.0f}}), {x}), {5}, {-2, -1, 0, 5, 10});
    expectFloats(run1(OpKind::Clip, {}, {x}), {5}, {-10, -1, 0, 5, 10});
    // min > max: everything becomes max, as in ONNX Runtime.
    expectFloats(run1(OpKind::Clip, attrs({{"min", 3.0f}, {"max", 1.0f}}), {x}), {5},
                 {1, 1, 1, 1, 1});
    EXPECT_EQ(runError(OpKind::Clip, attrs({{"min", kNaN}}), {x}), ErrorCode::InvalidArgument);
}

TEST(PRelu, PerChannelSlope) {
    // X [1,2,2,2], slope [2,1,1]: Y = x >= 0 ? x : slope[c] * x.
    Tensor x = f32({1, 2, 2, 2}, {-1, 2, -3, 4, -1, 2, -3, 4});
    Tensor slope = f32({2, 1, 1}, {0.5f, -2});
    expectFloats(run1(OpKind::PRelu, {}, {x, slope}), {1, 2, 2, 2},
                 {-0.5f, 2, -1.5f, 4, 2, 2, 6, 4});
    expectFloats(run1(OpKind::PRelu, {}, {f32({3}, {-1, 0, 1}), f32({}, {0.25f})}), {3},
                 {-0.25f, 0, 1});
    // The slope must broadcast to X, not the other way round.
    EXPECT_EQ(runError(OpKind::PRelu, {}, {f32({2}, {1, 2}), f32({2, 2}, {1, 2, 3, 4})}),
              ErrorCode::ShapeMismatch);
}

// Values that probe the float maths: signed zeros, halves, big and tiny magnitudes, infinities
// and NaN, plus random ones.
Tensor probes() {
    std::vector<float> v = {0.0f,     -0.0f,       0.5f,  -0.5f, 1.5f,  2.5f,   -2.5f,
                            3.49999f, 0.49999997f, -1.0f, 7.0f,  1e-8f, -1e-8f, 8388607.5f,
                            1e30f,    -1e30f,      kInf,  -kInf, kNaN};
    for (float r : randomTensor({40}, 21).toFloatVector()) v.push_back(r * 20.0f);
    return f32({static_cast<int64_t>(v.size())}, v);
}

// Each element within one float32 rounding step (relative 2^-23) of want; NaN and inf exactly.
void expectRelative(const Tensor& got, const std::vector<float>& want) {
    std::vector<float> out = got.toFloatVector();
    ASSERT_EQ(out.size(), want.size());
    for (size_t i = 0; i < out.size(); ++i) {
        if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(out[i])) << "element " << i;
        } else if (std::isinf(want[i])) {
            EXPECT_EQ(out[i], want[i]) << "element " << i;
        } else {
            EXPECT_LE(std::fabs(out[i] - want[i]), std::fabs(want[i]) * 1.2e-7f + 1e-30f)
                << "element " << i << ": " << out[i] << " vs " << want[i];
        }
    }
}

TEST(FloatMaths, NegAbsFloorCeilAgainstTheLibrary) {
    Tensor x = probes();
    auto same = [](const Tensor& got, const Tensor& from, float (*f)(float)) {
        std::vector<float> in = from.toFloatVector();
        std::vector<float> out = got.toFloatVector();
        ASSERT_EQ(in.size(), out.size());
        for (size_t i = 0; i < in.size(); ++i) {
            const float want = f(in[i]);
            if (std::isnan(want)) {
                EXPECT_TRUE(std::isnan(out[i])) << "x = " << in[i];
            } else {
                // Bitwise: the sign of a zero matters (floor(-0) = -0, abs(-0) = +0).
                EXPECT_EQ(std::signbit(out[i]), std::signbit(want)) << "x = " << in[i];
                EXPECT_EQ(out[i], want) << "x = " << in[i];
            }
        }
    };
    same(run1(OpKind::Neg, {}, {x}), x, [](float v) { return -1.0f * v; });
    same(run1(OpKind::Abs, {}, {x}), x, [](float v) { return std::copysign(v, 1.0f); });
    same(run1(OpKind::Floor, {}, {x}), x, [](float v) { return std::floor(v); });
    same(run1(OpKind::Ceil, {}, {x}), x, [](float v) { return std::ceil(v); });
}

TEST(FloatMaths, RoundIsNearbyintUnderTiesToEven) {
    // The library's rounding in the default mode, FE_TONEAREST, is IEEE's ties-to-even: ONNX's
    // Round. The reference computes it with floor and a parity test instead.
    ASSERT_EQ(std::fegetround(), FE_TONEAREST);
    Tensor x = probes();
    std::vector<float> in = x.toFloatVector();
    std::vector<float> out = run1(OpKind::Round, {}, {x}).toFloatVector();
    for (size_t i = 0; i < in.size(); ++i) {
        const float want = std::nearbyint(in[i]);
        if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(out[i]));
            continue;
        }
        EXPECT_EQ(out[i], want) << "x = " << in[i];
        EXPECT_EQ(std::signbit(out[i]), std::signbit(want)) << "x = " << in[i];
    }
    expectFloats(run1(OpKind::Round, {}, {f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f})}), {6},
                 {0, 2, 2, 0, -2, -2}, 0);
}

TEST(FloatMaths, LogReciprocalErf) {
    Tensor x = probes();
    std::vector<float> in = x.toFloatVector();
    // Log: ln in double, then rounded; log(0) = -inf, negative -> NaN, log(inf) = inf.
    expectRelative(run1(OpKind::Log, {}, {x}), perElement(x, [](double v) { return std::log(v); }));
    expectFloats(run1(OpKind::Log, {}, {f32({3}, {1, 2.7182817f, 0.125f})}), {3},
                 {0, 1, -2.0794415f}, 1e-6f);
    // Reciprocal: 1/x in double; 1/+-0 = +-inf keeps the zero's sign.
    Tensor r = run1(OpKind::Reciprocal, {}, {x});
    expectRelative(r, perElement(x, [](double v) { return 1.0 / v; }));
    EXPECT_EQ(r.data<float>()[1], -kInf);
    // Erf against the library's erf in double, and its odd symmetry and limits.
    expectFloats(run1(OpKind::Erf, {}, {x}), x.shape(),
                 perElement(x, [](double v) { return std::erf(v); }), 1e-7f);
    expectFloats(run1(OpKind::Erf, {}, {f32({4}, {0, 1, -1, 6})}), {4},
                 {0, 0.84270079f, -0.84270079f, 1}, 1e-7f);
}

// Softplus the naive way, in long double where it does not overflow: ln(1 + e^x).
double naiveSoftplus(double x) {
    return static_cast<double>(std::log1p(std::exp(static_cast<long double>(x))));
}

TEST(FloatMaths, SoftplusStableAndAsymptotic) {
    // Moderate x: the naive formula (exact enough in long double).
    Tensor mid = randomTensor({64}, 22);
    for (float& v : mid.span<float>()) v *= 30.0f;
    expectFloats(run1(OpKind::Softplus, {}, {mid}), mid.shape(), perElement(mid, naiveSoftplus),
                 1e-5f);
    // Asymptotes: softplus(x) -> x for large x (where e^x overflows float and double), e^x for
    // very negative x, ln 2 at 0; +inf -> +inf, -inf -> 0, NaN -> NaN.
    Tensor tails = f32({8}, {100, 1000, 3e38f, -100, -1000, 0, kInf, -kInf});
    Tensor y = run1(OpKind::Softplus, {}, {tails});
    expectFloats(y, {8},
                 {100, 1000, 3e38f, static_cast<float>(std::exp(-100.0)), 0,
                  static_cast<float>(std::log(2.0)), kInf, 0},
                 0);
    EXPECT_GT(y.data<float>()[3], 0.0f);  // e^-100 = 3.7e-44, a float32 denormal, not 0
    expectFloats(run1(OpKind::Softplus, {}, {f32({1}, {kNaN})}), {1}, {kNaN});
}

TEST(FloatMaths, MishIsXTanhSoftplus) {
    // The definition in long double, where nothing overflows for |x| <= 60.
    Tensor x = randomTensor({64}, 23);
    for (float& v : x.span<float>()) v *= 60.0f;
    expectFloats(run1(OpKind::Mish, {}, {x}), x.shape(),
                 perElement(x,
                            [](double v) {
                                const long double sp =
                                    std::log1p(std::exp(static_cast<long double>(v)));
                                return static_cast<double>(v * std::tanh(sp));
                            }),
                 2e-5f);
    // Limits: mish(x) -> x for large x, -> 0 from below for very negative x; mish(0) = 0.
    Tensor y = run1(OpKind::Mish, {}, {f32({6}, {1e4f, 3e38f, -1e4f, 0, kInf, -kInf})});
    expectFloats(y, {6}, {1e4f, 3e38f, 0, 0, kInf, 0}, 0);
    expectFloats(run1(OpKind::Mish, {}, {f32({1}, {kNaN})}), {1}, {kNaN});
}

TEST(FloatMaths, NegAbsOnIntegersWrap) {
    const int64_t lo = std::numeric_limits<int64_t>::min();
    expectInts(run1(OpKind::Neg, {}, {i64({3}, {5, -7, lo})}), DataType::Int64, {3}, {-5, 7, lo});
    expectInts(run1(OpKind::Abs, {}, {i64({3}, {5, -7, lo})}), DataType::Int64, {3}, {5, 7, lo});
    expectInts(run1(OpKind::Abs, {}, {i32({2}, {-3, 0})}), DataType::Int32, {2}, {3, 0});
}

TEST(FloatMaths, InferErrors) {
    for (OpKind op : {OpKind::Floor, OpKind::Ceil, OpKind::Round, OpKind::Log, OpKind::Reciprocal,
                      OpKind::Erf, OpKind::Softplus, OpKind::Mish}) {
        auto r = runOp(op, {}, {i64({2}, {1, 2})});
        ASSERT_FALSE(r.ok()) << opName(op);
        EXPECT_EQ(r.error().code, ErrorCode::Unsupported) << opName(op);
        EXPECT_EQ(r.error().message, std::string(opName(op)) + " supports float32, not int64");
        EXPECT_EQ(runError(op, {}, {}), ErrorCode::InvalidArgument) << opName(op);
    }
    Tensor b(DataType::Bool, {2});
    for (OpKind op : {OpKind::Neg, OpKind::Abs}) {
        auto r = runOp(op, {}, {b});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message,
                  std::string(opName(op)) + " supports float32, int64 and int32, not bool");
    }
}

TEST(FloatMathsOnnx, ExportRoundTripAndMishChain) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3})};
    for (OpKind op : {OpKind::Neg, OpKind::Abs, OpKind::Floor, OpKind::Ceil, OpKind::Round,
                      OpKind::Log, OpKind::Reciprocal, OpKind::Erf, OpKind::Softplus}) {
        auto back = roundTrip(op, {}, x);
        ASSERT_TRUE(back.ok()) << opName(op) << ": " << back.error().toString();
        EXPECT_TRUE(back->all().empty()) << opName(op);
    }
    // Opset 13 has no Mish (added in 18): Softplus, Tanh, Mul by x, which computes the same.
    Graph graph;
    Node node;
    node.op = OpKind::Mish;
    node.inputs = {graph.addValue("x", DataType::Float32, {5})};
    node.outputs = {graph.addValue("y", DataType::Float32, {5})};
    auto chain = opDef(OpKind::Mish).exportOnnx(node, graph);
    ASSERT_TRUE(chain.ok());
    ASSERT_EQ(chain->size(), 3u);
    EXPECT_EQ((*chain)[0].opType, "Softplus");
    EXPECT_EQ((*chain)[1].opType, "Tanh");
    EXPECT_EQ((*chain)[2].opType, "Mul");
    Tensor v = f32({5}, {-3, -0.5f, 0, 0.5f, 4});
    Tensor viaChain =
        run1(OpKind::Mul, {}, {v, run1(OpKind::Tanh, {}, {run1(OpKind::Softplus, {}, {v})})});
    EXPECT_LT(maxAbsDiff(viaChain, run1(OpKind::Mish, {}, {v})), 1e-6f);
    // ncnn and newer exporters write Mish itself: it imports.
    auto mish = importNode("Mish", 18, {}, x);
    ASSERT_TRUE(mish.ok());
    EXPECT_EQ(mish->inputs, (std::vector<int>{0}));
}

TEST(Unary, InferErrors) {
    for (OpKind op : {OpKind::Relu, OpKind::Sigmoid, OpKind::Tanh, OpKind::Sqrt, OpKind::Exp,
                      OpKind::HardSwish, OpKind::HardSigmoid, OpKind::LeakyRelu, OpKind::Clip}) {
        EXPECT_EQ(runError(op, {}, {i64({2}, {1, 2})}), ErrorCode::Unsupported) << opName(op);
        EXPECT_EQ(runError(op, {}, {}), ErrorCode::InvalidArgument) << opName(op);
    }
}

TEST(UnaryOnnx, DefaultsFilledIn) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {1, 4})};
    auto leaky = importNode("LeakyRelu", 6, {}, x);
    ASSERT_TRUE(leaky.ok());
    EXPECT_FLOAT_EQ(leaky->attrs.getFloat("alpha", -1), 0.01f);
    auto hard = importNode("HardSigmoid", 6, attrs({{"alpha", 0.25f}}), x);
    ASSERT_TRUE(hard.ok());
    EXPECT_FLOAT_EQ(hard->attrs.getFloat("alpha", -1), 0.25f);
    EXPECT_FLOAT_EQ(hard->attrs.getFloat("beta", -1), 0.5f);
    // Opset 6's consumed_inputs is dropped.
    auto relu = importNode("Relu", 6, attrs({{"consumed_inputs", std::vector<int64_t>{0}}}), x);
    ASSERT_TRUE(relu.ok());
    EXPECT_EQ(relu->inputs, (std::vector<int>{0}));
    EXPECT_TRUE(relu->attrs.all().empty());
    auto swish = importNode("HardSwish", 14, {}, x);
    ASSERT_TRUE(swish.ok());
    auto prelu = importNode("PRelu", 9, {}, {x[0], info(DataType::Float32, {4})});
    ASSERT_TRUE(prelu.ok());
    EXPECT_EQ(prelu->inputs, (std::vector<int>{0, 1}));
}

TEST(ClipOnnx, AttributeForm) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {4})};
    auto both = importNode("Clip", 6, attrs({{"min", 0.0f}, {"max", 6.0f}}), x);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->attrs, attrs({{"min", 0.0f}, {"max", 6.0f}}));
    auto none = importNode("Clip", 6, {}, x);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->attrs, attrs({{"min", -kInf}, {"max", kInf}}));
}

TEST(ClipOnnx, InputForm) {
    Tensor lo = f32({}, {0});
    Tensor hi = f32({}, {6});
    const TensorInfo x = info(DataType::Float32, {4});
    auto both = importNode("Clip", 11, {}, {x, constInfo(lo), constInfo(hi)});
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->inputs, (std::vector<int>{0}));
    EXPECT_EQ(both->attrs, attrs({{"min", 0.0f}, {"max", 6.0f}}));
    auto maxOnly = importNode("Clip", 13, {}, {x, absent(), constInfo(hi)});
    ASSERT_TRUE(maxOnly.ok());
    EXPECT_EQ(maxOnly->attrs, attrs({{"min", -kInf}, {"max", 6.0f}}));
    auto onlyX = importNode("Clip", 12, {}, {x});
    ASSERT_TRUE(onlyX.ok());
    EXPECT_EQ(onlyX->attrs, attrs({{"min", -kInf}, {"max", kInf}}));
    auto computed = importNode("Clip", 11, {}, {x, info(DataType::Float32, {})});
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);
}

TEST(UnaryOnnx, ExportRoundTrip) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3})};
    const std::vector<std::pair<OpKind, Attributes>> cases = {
        {OpKind::Relu, {}},
        {OpKind::Sigmoid, {}},
        {OpKind::Tanh, {}},
        {OpKind::Sqrt, {}},
        {OpKind::Exp, {}},
        {OpKind::LeakyRelu, attrs({{"alpha", 0.1f}})},
        {OpKind::HardSigmoid, attrs({{"alpha", 0.2f}, {"beta", 0.5f}})},
        {OpKind::Clip, attrs({{"min", 0.0f}, {"max", 6.0f}})},
        {OpKind::Clip, attrs({{"min", -kInf}, {"max", 1.5f}})},
    };
    for (const auto& [op, canonical] : cases) {
        auto back = roundTrip(op, canonical, x);
        ASSERT_TRUE(back.ok()) << opName(op) << ": " << back.error().toString();
        EXPECT_EQ(*back, canonical) << opName(op);
    }
    auto prelu = roundTrip(OpKind::PRelu, {}, {x[0], info(DataType::Float32, {3})});
    ASSERT_TRUE(prelu.ok());
}

TEST(HardSwishOnnx, ExportsAsHardSigmoidTimesX) {
    // Opset 13 has no HardSwish: the export is a two-node chain.
    Graph graph;
    Node node;
    node.op = OpKind::HardSwish;
    node.inputs = {graph.addValue("x", DataType::Float32, {4})};
    node.outputs = {graph.addValue("y", DataType::Float32, {4})};
    auto chain = opDef(OpKind::HardSwish).exportOnnx(node, graph);
    ASSERT_TRUE(chain.ok());
    ASSERT_EQ(chain->size(), 2u);
    EXPECT_EQ((*chain)[0].opType, "HardSigmoid");
    EXPECT_FLOAT_EQ((*chain)[0].attrs.getFloat("alpha"), 1.0f / 6.0f);
    EXPECT_FLOAT_EQ((*chain)[0].attrs.getFloat("beta"), 0.5f);
    EXPECT_EQ((*chain)[1].opType, "Mul");
    ASSERT_EQ((*chain)[1].inputs.size(), 2u);
    EXPECT_EQ((*chain)[1].inputs[0].kind, OnnxOperand::Kind::IrInput);
    EXPECT_EQ((*chain)[1].inputs[1].kind, OnnxOperand::Kind::Chained);
    // And the chain computes the same as HardSwish.
    Tensor x = f32({4}, {-4, -1, 1, 4});
    Tensor gate = run1(OpKind::HardSigmoid, (*chain)[0].attrs, {x});
    Tensor viaChain = run1(OpKind::Mul, {}, {x, gate});
    EXPECT_LT(maxAbsDiff(viaChain, run1(OpKind::HardSwish, {}, {x})), 1e-6f);
}

}  // namespace
}  // namespace prunelab::engine::testing

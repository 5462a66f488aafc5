// The comparison, logic, Where, Min/Max and float-maths ops through ONNX: a constant chain made of
// them folds away at import, and a model using all of them imports, exports at opset 13 (Mish as
// Softplus -> Tanh -> Mul), passes onnx's checker and runs in ONNX Runtime to the reference's
// outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/refrt/ort_runner.h"
#include "tests/engine/onnx/onnx_roundtrip.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

using testing::OnnxModelBuilder;
using testing::setAttr;

Tensor ints(std::vector<int64_t> v) {
    const auto n = static_cast<int64_t>(v.size());
    return Tensor::fromVector<int64_t>({n}, v);
}

TEST(OnnxLogicOps, ConstantChainFoldsAway) {
    // The shape arithmetic exporters write around a Reshape, with the new ops:
    //   s    = Shape(x)                                   [1, 3, 4, 4]
    //   keep = And(Not(Equal(s, 3)), GreaterOrEqual(s, 1)) [T, F, T, T]
    //   t    = Min(Where(keep, s, Neg(1)), [1, 99, 2, 8]) [1, -1, 2, 4]
    //   y    = Reshape(x, t)                              [1, 6, 2, 4]
    // and a bias computed from a constant by the float ops, added to y:
    //   bias = Mish(Softplus(Erf(Reciprocal(Log(Ceil(Floor(Abs(Neg(Round(k))))))))))
    // Opset 18: the first with Mish.
    OnnxModelBuilder b(18);
    b.input("x", {1, 3, 4, 4});
    b.initializer("three", ints({3}));
    b.initializer("one", ints({1}));
    b.initializer("cap", ints({1, 99, 2, 8}));
    const std::vector<float> k = {2.5f, -3.7f, 7.2f, -1.5f};
    b.initializer("k", Tensor::fromVector<float>({4}, k));
    b.node("Shape", {"x"}, {"s"});
    b.node("Equal", {"s", "three"}, {"is3"});
    b.node("Not", {"is3"}, {"not3"});
    b.node("GreaterOrEqual", {"s", "one"}, {"pos"});
    b.node("And", {"not3", "pos"}, {"keep"});
    b.node("Neg", {"one"}, {"minus1"});
    b.node("Where", {"keep", "s", "minus1"}, {"t0"});
    b.node("Min", {"t0", "cap"}, {"t"});
    b.node("Reshape", {"x", "t"}, {"r"});
    std::string prev = "k";
    for (const char* op :
         {"Round", "Neg", "Abs", "Floor", "Ceil", "Log", "Reciprocal", "Erf", "Softplus", "Mish"}) {
        const std::string out = std::string("k_") + op;
        b.node(op, {prev}, {out});
        prev = out;
    }
    b.node("Add", {"r", prev}, {"y"});
    b.output("y");
    auto g = importOnnxBytes(b.bytes(), "chain.onnx", "");
    ASSERT_TRUE(g.ok()) << g.error().toString();
    // Two nodes left: Reshape to the folded shape and Add of the folded bias.
    ASSERT_EQ(g->nodes.size(), 2u);
    const Node& reshape = g->nodes[0];
    ASSERT_EQ(reshape.op, OpKind::Reshape);
    EXPECT_EQ(reshape.attrs.getInts("shape"), (std::vector<int64_t>{1, 6, 2, 4}));
    const Node& add = g->nodes[1];
    ASSERT_EQ(add.op, OpKind::Add);
    const Value& bias = g->value(add.inputs[1]);
    ASSERT_TRUE(bias.isConstant());
    // The same chain in double with the C library: round-half-even by nearbyint.
    std::vector<float> got = bias.constant.toFloatVector();
    ASSERT_EQ(got.size(), k.size());
    for (size_t i = 0; i < k.size(); ++i) {
        double v = std::fabs(-std::nearbyint(double(k[i])));
        v = std::ceil(std::floor(v));
        v = std::erf(1.0 / std::log(v));
        v = std::log1p(std::exp(v));
        v = v * std::tanh(std::log1p(std::exp(v)));
        EXPECT_NEAR(got[i], v, 1e-6) << "k = " << k[i];
    }
    EXPECT_TRUE(verifyGraph(*g).ok());
}

// A model with every op of this group on two [2, 3, 4] inputs whose values sit on a grid of
// quarters (so comparisons see ties and Round sees halves), every output float32.
std::string allOpsModel() {
    OnnxModelBuilder b(18);  // the first opset with Mish
    b.input("x", {2, 3, 4});
    b.input("y", {2, 3, 4});
    b.initializer("row", Tensor::fromVector<float>({4}, {-0.5f, 0, 0.25f, 2}));
    b.initializer("zero", Tensor::fromVector<float>({}, {0}));
    std::vector<std::string> outs;
    auto toFloat = [&](const std::string& in, const std::string& out) {
        setAttr(b.node("Cast", {in}, {out}), "to", int64_t(onnx::TensorProto::FLOAT));
        outs.push_back(out);
    };
    for (const char* op : {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"}) {
        b.node(op, {"x", "y"}, {std::string(op) + "_b"});
        toFloat(std::string(op) + "_b", op);
        b.node(op, {"x", "row"}, {std::string(op) + "_rb"});
        toFloat(std::string(op) + "_rb", std::string(op) + "_row");
    }
    b.node("Greater", {"x", "zero"}, {"xpos"});
    b.node("Less", {"y", "zero"}, {"yneg"});
    b.node("And", {"xpos", "yneg"}, {"and_b"});
    toFloat("and_b", "And");
    b.node("Or", {"xpos", "yneg"}, {"or_b"});
    toFloat("or_b", "Or");
    b.node("Not", {"xpos"}, {"not_b"});
    toFloat("not_b", "Not");
    b.node("Where", {"xpos", "y", "row"}, {"Where"});
    outs.push_back("Where");
    b.node("Min", {"x", "y"}, {"Min"});
    b.node("Max", {"x", "y", "row"}, {"Max"});
    outs.insert(outs.end(), {"Min", "Max"});
    for (const char* op : {"Neg", "Abs", "Floor", "Ceil", "Round", "Erf", "Softplus", "Mish"}) {
        b.node(op, {"x"}, {op});
        outs.push_back(op);
    }
    // Log and Reciprocal of |y| + 0.25 > 0.
    b.initializer("quarter", Tensor::fromVector<float>({}, {0.25f}));
    b.node("Abs", {"y"}, {"ay"});
    b.node("Add", {"ay", "quarter"}, {"py"});
    b.node("Log", {"py"}, {"Log"});
    b.node("Reciprocal", {"py"}, {"Reciprocal"});
    outs.insert(outs.end(), {"Log", "Reciprocal"});
    for (const std::string& o : outs) b.output(o);
    return b.bytes();
}

std::vector<Tensor> gridInputs() {
    std::vector<Tensor> inputs;
    for (uint32_t seed : {31u, 32u}) {
        Tensor t = testing::randomFloats({2, 3, 4}, seed, -3, 3);
        for (float& v : t.span<float>()) v = std::round(v * 4) / 4;
        inputs.push_back(t);
    }
    return inputs;
}

TEST(OnnxLogicOps, ExportRunsInOnnxRuntimeLikeTheReference) {
    auto g = importOnnxBytes(allOpsModel(), "all_ops.onnx", "");
    ASSERT_TRUE(g.ok()) << g.error().toString();
    const std::vector<Tensor> inputs = gridInputs();
    auto ref = runGraphReference(*g, inputs);
    ASSERT_TRUE(ref.ok()) << ref.error().toString();
    auto bytes = exportOnnxBytes(*g);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    testing::expectPassesOnnxChecker(*bytes);
    if (!refrt::ortAvailable()) {
        GTEST_SKIP() << "built without ONNX Runtime (./prunelab setup installs it): the export "
                        "was checked, not run";
    }
    auto ort = refrt::OrtRunner::loadBytes(*bytes, "all_ops.onnx", 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto theirs = (*ort)->run(inputs);
    ASSERT_TRUE(theirs.ok()) << theirs.error().toString();
    ASSERT_EQ(theirs->size(), ref->size());
    for (size_t o = 0; o < ref->size(); ++o) {
        const std::string name = g->value(g->outputs[o]).name;
        const Tensor& a = (*ref)[o];
        const Tensor& t = (*theirs)[o];
        ASSERT_EQ(a.shape(), t.shape()) << name;
        std::vector<float> x = a.toFloatVector(), y = t.toFloatVector();
        const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        const float range = std::max(*hi - *lo, 1.0f);
        float worst = 0;
        for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
        // Comparisons, Where, Min/Max, Neg..Round are exact; Erf/Softplus/Mish/Log within
        // ORT's approximations.
        EXPECT_LE(worst, 1e-5f * range) << name;
    }
}

TEST(OnnxLogicOps, ReimportOfTheExportIsBitIdentical) {
    // Without Mish, whose opset-13 export is three nodes, the round trip keeps every op.
    OnnxModelBuilder b;
    b.input("x", {2, 3, 4});
    b.input("y", {2, 3, 4});
    b.node("Greater", {"x", "y"}, {"gt"});
    b.node("Where", {"gt", "x", "y"}, {"w"});
    b.node("Max", {"w", "y"}, {"m"});
    b.node("Round", {"m"}, {"r"});
    b.node("Softplus", {"r"}, {"s"});
    b.node("Erf", {"s"}, {"e"});
    b.output("e");
    auto g = importOnnxBytes(b.bytes(), "round_trip.onnx", "");
    ASSERT_TRUE(g.ok()) << g.error().toString();
    testing::expectRoundTripIdentical(*g, gridInputs());
}

}  // namespace
}  // namespace prunelab::engine

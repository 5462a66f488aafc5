// Softmax (single axis and legacy flatten-from-axis) against hand-computed values and a
// log-sum-exp formulation; the ONNX import of opset < 13 and 13 defaults, and the export
// (one node, or Flatten -> Softmax -> Reshape for legacy).
#include <gtest/gtest.h>

#include <cmath>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

Attributes softmaxAttrs(int64_t axis, int64_t legacy) {
    return attrsOf({{"axis", axis}, {"legacy", legacy}});
}

TEST(Softmax, HandComputed) {
    // exp(0) : exp(ln 3) = 1 : 3.
    expectNear(run1(OpKind::Softmax, softmaxAttrs(1, 0), {tensor({1, 2}, {0, std::log(3.0f)})}),
               {1, 2}, {0.25f, 0.75f});
    // Large inputs do not overflow: 1000 and 1000 + ln 3 give the same.
    expectNear(
        run1(OpKind::Softmax, softmaxAttrs(1, 0), {tensor({1, 2}, {1000, 1000 + std::log(3.0f)})}),
        {1, 2}, {0.25f, 0.75f}, 1e-4f);
    // A zero [1, 2, 2]: along axis 1 each pair shares 1/2; legacy axis 1 flattens the 2x2
    // tail and each of the four gets 1/4.
    Tensor zeros(DataType::Float32, {1, 2, 2});
    expectNear(run1(OpKind::Softmax, softmaxAttrs(1, 0), {zeros}), {1, 2, 2},
               {0.5f, 0.5f, 0.5f, 0.5f});
    expectNear(run1(OpKind::Softmax, softmaxAttrs(1, 1), {zeros}), {1, 2, 2},
               {0.25f, 0.25f, 0.25f, 0.25f});
    // Axis 0 of a column: [[0], [ln 3]] -> [[1/4], [3/4]] (a non-last axis).
    expectNear(run1(OpKind::Softmax, softmaxAttrs(0, 0), {tensor({2, 1}, {0, std::log(3.0f)})}),
               {2, 1}, {0.25f, 0.75f});
}

// y = exp(x - logsumexp(x over the group)), groups enumerated by the test itself.
Tensor softmaxByLogSumExp(const Tensor& x, int64_t axis, bool legacy) {
    const Shape& s = x.shape();
    Tensor y(DataType::Float32, s);
    std::vector<float> v = x.toFloatVector();
    // group key of element i: its index with the reduced coordinates zeroed.
    auto key = [&](int64_t i) {
        int64_t k = 0, stride = 1;
        for (size_t d = s.size(); d-- > 0;) {
            const int64_t coord = i % s[d];
            i /= s[d];
            const bool reduced =
                static_cast<int64_t>(d) == axis || (legacy && static_cast<int64_t>(d) > axis);
            if (!reduced) k += coord * stride;
            stride *= s[d];
        }
        return k;
    };
    for (int64_t i = 0; i < x.elements(); ++i) {
        double m = -INFINITY;
        for (int64_t j = 0; j < x.elements(); ++j) {
            if (key(j) == key(i)) m = std::max(m, double(v[size_t(j)]));
        }
        double lse = 0.0;
        for (int64_t j = 0; j < x.elements(); ++j) {
            if (key(j) == key(i)) lse += std::exp(v[size_t(j)] - m);
        }
        y.data<float>()[i] = static_cast<float>(std::exp(v[size_t(i)] - m - std::log(lse)));
    }
    return y;
}

TEST(Softmax, MatchesLogSumExpOnEveryAxis) {
    const Shape s = {2, 3, 4, 5};
    Tensor x = randomTensor(s, 9);
    for (float& v : x.span<float>()) v *= 8.0f;
    for (int64_t axis = 0; axis < 4; ++axis) {
        for (int64_t legacy = 0; legacy < 2; ++legacy) {
            SCOPED_TRACE("axis " + std::to_string(axis) + " legacy " + std::to_string(legacy));
            EXPECT_LT(maxAbsDiff(run1(OpKind::Softmax, softmaxAttrs(axis, legacy), {x}),
                                 softmaxByLogSumExp(x, axis, legacy != 0)),
                      1e-6f);
        }
    }
}

TEST(Softmax, Errors) {
    EXPECT_EQ(
        runError(OpKind::Softmax, softmaxAttrs(2, 0), {Tensor(DataType::Float32, {2, 3})}).code,
        ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Softmax, {}, {Tensor(DataType::Int64, {2, 3})}).code,
              ErrorCode::Unsupported);
}

TEST(Softmax, ImportMapsOpsetSemantics) {
    // Opset 11, default axis 1 on rank 4: legacy flattening.
    OnnxCall call{"Softmax", 11, {}, {inputInfo({1, 3, 4, 5})}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getInt("axis", -1), 1);
    EXPECT_EQ(a.getInt("legacy", -1), 1);
    // Opset 11 on the last axis is the same as opset 13: legacy 0.
    call.attrs = attrsOf({{"axis", int64_t(-1)}});
    a = importedAttrs(call);
    EXPECT_EQ(a.getInt("axis", -1), 3);
    EXPECT_EQ(a.getInt("legacy", -1), 0);
    call.inputs = {inputInfo({8, 10})};
    call.attrs = {};
    a = importedAttrs(call);  // default axis 1 is the last of rank 2
    EXPECT_EQ(a.getInt("axis", -1), 1);
    EXPECT_EQ(a.getInt("legacy", -1), 0);
    // Opset 13: single axis, default last, negative normalised.
    call = OnnxCall{"Softmax", 13, {}, {inputInfo({1, 3, 4, 5})}, 1};
    a = importedAttrs(call);
    EXPECT_EQ(a.getInt("axis", -1), 3);
    EXPECT_EQ(a.getInt("legacy", -1), 0);
    call.attrs = attrsOf({{"axis", int64_t(-3)}});
    a = importedAttrs(call);
    EXPECT_EQ(a.getInt("axis", -1), 1);
    EXPECT_EQ(a.getInt("legacy", -1), 0);
    call.attrs = attrsOf({{"axis", int64_t(4)}});
    EXPECT_FALSE(importNode(call).ok());
}

TEST(Softmax, ExportSingleNodeRoundTripsAndLegacyBecomesAChain) {
    expectRoundTrip(OpKind::Softmax, softmaxAttrs(3, 0), {{1, 3, 4, 5}});
    expectRoundTrip(OpKind::Softmax, softmaxAttrs(1, 0), {{1, 3, 4, 5}});
    // legacy on the last axis is a plain softmax.
    Graph g1;
    auto last = exportNode(OpKind::Softmax, softmaxAttrs(3, 1), {{1, 3, 4, 5}}, g1);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->size(), 1u);

    Graph g;
    auto chain = exportNode(OpKind::Softmax, softmaxAttrs(1, 1), {{1, 3, 4, 5}}, g);
    ASSERT_TRUE(chain.ok()) << chain.error().toString();
    ASSERT_EQ(chain->size(), 3u);
    const OnnxNodeOut& flatten = (*chain)[0];
    const OnnxNodeOut& softmax = (*chain)[1];
    const OnnxNodeOut& reshape = (*chain)[2];
    EXPECT_EQ(flatten.opType, "Flatten");
    EXPECT_EQ(flatten.attrs.getInt("axis", -1), 1);
    ASSERT_EQ(flatten.inputs.size(), 1u);
    EXPECT_EQ(flatten.inputs[0].kind, OnnxOperand::Kind::IrInput);
    EXPECT_EQ(softmax.opType, "Softmax");
    EXPECT_EQ(softmax.attrs.getInt("axis", -1), 1);  // the last axis of the 2-D view
    ASSERT_EQ(softmax.inputs.size(), 1u);
    EXPECT_EQ(softmax.inputs[0].kind, OnnxOperand::Kind::Chained);
    EXPECT_EQ(softmax.inputs[0].index, 0);
    EXPECT_EQ(reshape.opType, "Reshape");
    ASSERT_EQ(reshape.inputs.size(), 2u);
    EXPECT_EQ(reshape.inputs[0].kind, OnnxOperand::Kind::Chained);
    EXPECT_EQ(reshape.inputs[0].index, 1);
    EXPECT_EQ(reshape.inputs[1].kind, OnnxOperand::Kind::Constant);
    EXPECT_EQ(reshape.inputs[1].constant.toInt64Vector(), (std::vector<int64_t>{1, 3, 4, 5}));
    // The middle node re-imports (opset 13) as a single-axis softmax over the flat tail.
    OnnxCall mid{"Softmax", 13, softmax.attrs, {inputInfo({1, 60})}, 1};
    Attributes a = importedAttrs(mid);
    EXPECT_EQ(a.getInt("axis", -1), 1);
    EXPECT_EQ(a.getInt("legacy", -1), 0);
}

}  // namespace
}  // namespace prunelab::engine::testing

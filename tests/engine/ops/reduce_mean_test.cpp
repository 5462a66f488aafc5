// ReduceMean against hand-computed means and nested loops in the test, keepdims and empty axes
// included; the ONNX import (attribute and opset 18 input forms) and the round trip.
#include <gtest/gtest.h>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

Attributes reduceAttrs(Ints axes, int64_t keepdims) {
    return attrsOf({{"axes", axes}, {"keepdims", keepdims}});
}

TEST(ReduceMean, HandComputed) {
    Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({1}, 1), {x}), {2, 1}, {2, 5});
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({0}, 0), {x}), {3}, {2.5f, 3.5f, 4.5f});
    // Empty axes reduce everything.
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({}, 1), {x}), {1, 1}, {3.5f});
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({}, 0), {x}), {}, {3.5f});
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({0, 1}, 0), {x}), {}, {3.5f});
}

TEST(ReduceMean, MatchesNestedLoops) {
    // Spatial mean of [N, C, H, W] over H and W (axes 2, 3) and over C and W (axes 1, 3).
    const Shape s = {2, 3, 4, 5};
    Tensor x = randomTensor(s, 77);
    auto at = [&](int64_t n, int64_t c, int64_t h, int64_t w) {
        return double(x.data<float>()[((n * 3 + c) * 4 + h) * 5 + w]);
    };
    std::vector<float> hw, cw;
    for (int64_t n = 0; n < 2; ++n) {
        for (int64_t c = 0; c < 3; ++c) {
            double sum = 0;
            for (int64_t h = 0; h < 4; ++h) {
                for (int64_t w = 0; w < 5; ++w) sum += at(n, c, h, w);
            }
            hw.push_back(static_cast<float>(sum / 20));
        }
    }
    for (int64_t n = 0; n < 2; ++n) {
        for (int64_t h = 0; h < 4; ++h) {
            double sum = 0;
            for (int64_t c = 0; c < 3; ++c) {
                for (int64_t w = 0; w < 5; ++w) sum += at(n, c, h, w);
            }
            cw.push_back(static_cast<float>(sum / 15));
        }
    }
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({2, 3}, 1), {x}), {2, 3, 1, 1}, hw);
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({2, 3}, 0), {x}), {2, 3}, hw);
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({1, 3}, 1), {x}), {2, 1, 4, 1}, cw);
    expectNear(run1(OpKind::ReduceMean, reduceAttrs({1, 3}, 0), {x}), {2, 4}, cw);
}

TEST(ReduceMean, Errors) {
    EXPECT_EQ(
        runError(OpKind::ReduceMean, reduceAttrs({2}, 1), {Tensor(DataType::Float32, {2, 3})}).code,
        ErrorCode::InvalidArgument);
}

TEST(ReduceMean, ImportAttributeAndInputForms) {
    // Opset 13: axes attribute, negative axes normalised and sorted; keepdims default 1.
    OnnxCall call{"ReduceMean", 13, attrsOf({{"axes", Ints{-1, 1}}}), {inputInfo({2, 3, 4})}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getInts("axes"), (Ints{1, 2}));
    EXPECT_EQ(a.getInt("keepdims", -1), 1);
    expectRoundTrip(OpKind::ReduceMean, a, {{2, 3, 4}});
    // No axes: all of them (kept empty), and that round-trips too.
    call.attrs = attrsOf({{"keepdims", int64_t(0)}});
    a = importedAttrs(call);
    EXPECT_EQ(a.getInts("axes", {99}), Ints{});
    EXPECT_EQ(a.getInt("keepdims", -1), 0);
    expectRoundTrip(OpKind::ReduceMean, a, {{2, 3, 4}});
    // Opset 18: axes as a constant input.
    Tensor axes = Tensor::fromVector<int64_t>({2}, {2, -3});
    call = OnnxCall{"ReduceMean", 18, {}, {inputInfo({2, 3, 4}), constantInfo(axes)}, 1};
    Result<OnnxImport> r = importNode(call);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->attrs.getInts("axes"), (Ints{0, 2}));
    EXPECT_EQ(r->inputs, (std::vector<int>{0}));
    // A computed axes input cannot become an attribute.
    call.inputs[1] = inputInfo({2}, DataType::Int64);
    r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    // noop_with_empty_axes has no canonical form.
    call = OnnxCall{
        "ReduceMean", 18, attrsOf({{"noop_with_empty_axes", int64_t(1)}}), {inputInfo({2, 3})}, 1};
    EXPECT_FALSE(importNode(call).ok());
    call = OnnxCall{"ReduceMean", 13, attrsOf({{"axes", Ints{3}}}), {inputInfo({2, 3})}, 1};
    EXPECT_FALSE(importNode(call).ok());
}

}  // namespace
}  // namespace prunelab::engine::testing

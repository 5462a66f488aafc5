// The layout ops (Concat, Split, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Identity,
// Shape, ConstantOfShape): hand-computed results, the ONNX forms of every opset, negative
// axes, export round trips and inference errors.
#include <gtest/gtest.h>

#include "tensor_ops_test_util.h"

namespace prunelab::engine::testing {
namespace {

std::vector<float> iota(int n) {
    std::vector<float> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(i));
    return v;
}

// ---- Concat ----

TEST(Concat, MiddleAxis) {
    Tensor a = f32({2, 1, 2}, {0, 1, 2, 3});
    Tensor b = f32({2, 2, 2}, {10, 11, 12, 13, 14, 15, 16, 17});
    expectFloats(run1(OpKind::Concat, attrs({{"axis", int64_t(1)}}), {a, b}), {2, 3, 2},
                 {0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17});
}

TEST(Concat, Int64VectorsAndEmptyPieces) {
    // Shape building: [batch] ++ [] ++ [-1].
    Tensor y = run1(OpKind::Concat, attrs({{"axis", int64_t(0)}}),
                    {i64({1}, {8}), i64({0}, {}), i64({1}, {-1})});
    expectInts(y, DataType::Int64, {2}, {8, -1});
}

TEST(Concat, Errors) {
    Attributes axis1 = attrs({{"axis", int64_t(1)}});
    EXPECT_EQ(runError(OpKind::Concat, axis1, {f32({2, 1}, {}), f32({3, 1}, {})}),
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Concat, axis1, {f32({2, 1}, {}), i64({2, 1}, {})}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Concat, attrs({{"axis", int64_t(2)}}), {f32({2, 1}, {})}),
              ErrorCode::InvalidArgument);
}

TEST(ConcatOnnx, NegativeAxisNormalisedAndRoundTrip) {
    const std::vector<TensorInfo> in = {info(DataType::Float32, {1, 2, 3}),
                                        info(DataType::Float32, {1, 4, 3})};
    auto imported = importNode("Concat", 13, attrs({{"axis", int64_t(-2)}}), in);
    ASSERT_TRUE(imported.ok());
    EXPECT_EQ(imported->attrs, attrs({{"axis", int64_t(1)}}));
    EXPECT_EQ(imported->inputs, (std::vector<int>{0, 1}));
    EXPECT_FALSE(importNode("Concat", 13, attrs({{"axis", int64_t(3)}}), in).ok());
    auto back = roundTrip(OpKind::Concat, imported->attrs, in);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, imported->attrs);
}

// ---- Split ----

TEST(Split, UnevenSizes) {
    Tensor x = f32({2, 5}, iota(10));
    auto out =
        runOp(OpKind::Split,
              attrs({{"axis", int64_t(1)}, {"split", std::vector<int64_t>{2, 0, 3}}}), {x}, 3);
    ASSERT_TRUE(out.ok()) << out.error().toString();
    expectFloats((*out)[0], {2, 2}, {0, 1, 5, 6});
    expectFloats((*out)[1], {2, 0}, {});
    expectFloats((*out)[2], {2, 3}, {2, 3, 4, 7, 8, 9});
}

TEST(Split, SizesMustAddUp) {
    Tensor x = f32({4}, iota(4));
    EXPECT_EQ(
        runError(OpKind::Split,
                 attrs({{"axis", int64_t(0)}, {"split", std::vector<int64_t>{1, 2}}}), {x}, 2),
        ErrorCode::ShapeMismatch);
    EXPECT_EQ(
        runError(OpKind::Split,
                 attrs({{"axis", int64_t(0)}, {"split", std::vector<int64_t>{1, 3}}}), {x}, 3),
        ErrorCode::InvalidArgument);
}

TEST(SplitOnnx, EveryOpsetForm) {
    const TensorInfo x = info(DataType::Float32, {2, 6});
    auto attr = importNode(
        "Split", 11, attrs({{"axis", int64_t(-1)}, {"split", std::vector<int64_t>{2, 4}}}), {x}, 2);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->attrs, attrs({{"axis", int64_t(1)}, {"split", std::vector<int64_t>{2, 4}}}));
    Tensor sizes = i64({2}, {5, 1});
    auto input = importNode("Split", 13, attrs({{"axis", int64_t(1)}}), {x, constInfo(sizes)}, 2);
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(input->inputs, (std::vector<int>{0}));
    EXPECT_EQ(input->attrs.getInts("split"), (std::vector<int64_t>{5, 1}));
    auto equal = importNode("Split", 13, attrs({{"axis", int64_t(1)}}), {x}, 3);
    ASSERT_TRUE(equal.ok());
    EXPECT_EQ(equal->attrs.getInts("split"), (std::vector<int64_t>{2, 2, 2}));
    auto legacyEqual = importNode("Split", 7, {}, {x}, 2);  // axis defaults to 0
    ASSERT_TRUE(legacyEqual.ok());
    EXPECT_EQ(legacyEqual->attrs,
              attrs({{"axis", int64_t(0)}, {"split", std::vector<int64_t>{1, 1}}}));
    // 6 into 4: impossible before opset 18, ceil-sized pieces with num_outputs from 18.
    EXPECT_FALSE(importNode("Split", 13, attrs({{"axis", int64_t(1)}}), {x}, 4).ok());
    auto uneven =
        importNode("Split", 18, attrs({{"axis", int64_t(1)}, {"num_outputs", int64_t(4)}}), {x}, 4);
    ASSERT_TRUE(uneven.ok());
    EXPECT_EQ(uneven->attrs.getInts("split"), (std::vector<int64_t>{2, 2, 2, 0}));
    auto computed = importNode("Split", 13, {}, {x, info(DataType::Int64, {2})}, 2);
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);

    Attributes canonical = attrs({{"axis", int64_t(1)}, {"split", std::vector<int64_t>{1, 5}}});
    auto back = roundTrip(OpKind::Split, canonical, {x}, 2);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_EQ(*back, canonical);
}

// ---- Reshape and Flatten ----

TEST(Reshape, KeepsRowMajorOrder) {
    Tensor y = run1(OpKind::Reshape, attrs({{"shape", std::vector<int64_t>{3, 2}}}),
                    {f32({2, 3}, iota(6))});
    expectFloats(y, {3, 2}, iota(6));
    Tensor ints =
        run1(OpKind::Reshape, attrs({{"shape", std::vector<int64_t>{}}}), {i64({1}, {9})});
    expectInts(ints, DataType::Int64, {}, {9});
    EXPECT_EQ(runError(OpKind::Reshape, attrs({{"shape", std::vector<int64_t>{4, 2}}}),
                       {f32({2, 3}, iota(6))}),
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Reshape, attrs({{"shape", std::vector<int64_t>{-1, 6}}}),
                       {f32({6}, iota(6))}),
              ErrorCode::InvalidArgument);
}

TEST(ReshapeOnnx, ZeroCopiesAndMinusOneInfers) {
    const TensorInfo x = info(DataType::Float32, {2, 3, 4});
    Tensor spec = i64({2}, {0, -1});
    auto copied = importNode("Reshape", 13, {}, {x, constInfo(spec)});
    ASSERT_TRUE(copied.ok());
    EXPECT_EQ(copied->inputs, (std::vector<int>{0}));
    EXPECT_EQ(copied->attrs.getInts("shape"), (std::vector<int64_t>{2, 12}));
    Tensor spec2 = i64({4}, {-1, 0, 2, 2});
    auto middle = importNode("Reshape", 5, {}, {x, constInfo(spec2)});
    ASSERT_TRUE(middle.ok());
    EXPECT_EQ(middle->attrs.getInts("shape"), (std::vector<int64_t>{2, 3, 2, 2}));
    auto legacy = importNode("Reshape", 1, attrs({{"shape", std::vector<int64_t>{-1}}}), {x});
    ASSERT_TRUE(legacy.ok());
    EXPECT_EQ(legacy->attrs.getInts("shape"), (std::vector<int64_t>{24}));
    // allowzero=1 (opset 14): 0 is an empty dim, legal only for an empty input.
    const TensorInfo empty = info(DataType::Float32, {0, 3});
    Tensor spec3 = i64({2}, {3, 0});
    auto zero =
        importNode("Reshape", 14, attrs({{"allowzero", int64_t(1)}}), {empty, constInfo(spec3)});
    ASSERT_TRUE(zero.ok());
    EXPECT_EQ(zero->attrs.getInts("shape"), (std::vector<int64_t>{3, 0}));
    EXPECT_FALSE(importNode("Reshape", 13, {}, {x, constInfo(i64({2}, {-1, -1}))}).ok());
    EXPECT_FALSE(importNode("Reshape", 13, {}, {x, constInfo(i64({2}, {5, -1}))}).ok());
    auto computed = importNode("Reshape", 13, {}, {x, info(DataType::Int64, {2})});
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);
}

TEST(ReshapeOnnx, RoundTrip) {
    Attributes canonical = attrs({{"shape", std::vector<int64_t>{6, 4}}});
    auto back = roundTrip(OpKind::Reshape, canonical, {info(DataType::Float32, {2, 3, 4})});
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_EQ(*back, canonical);
    // An empty dim where the input has none cannot be said in opset 13.
    auto empty = roundTrip(OpKind::Reshape, attrs({{"shape", std::vector<int64_t>{3, 0}}}),
                           {info(DataType::Float32, {0, 3})});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, ErrorCode::Unsupported);
}

TEST(Flatten, AxisPositions) {
    Tensor x = f32({2, 3, 4}, iota(24));
    expectFloats(run1(OpKind::Flatten, attrs({{"axis", int64_t(2)}}), {x}), {6, 4}, iota(24));
    expectFloats(run1(OpKind::Flatten, attrs({{"axis", int64_t(0)}}), {x}), {1, 24}, iota(24));
    expectFloats(run1(OpKind::Flatten, attrs({{"axis", int64_t(3)}}), {x}), {24, 1}, iota(24));
    expectFloats(run1(OpKind::Flatten, {}, {f32({0, 5}, {})}), {0, 5}, {});
    EXPECT_EQ(runError(OpKind::Flatten, attrs({{"axis", int64_t(4)}}), {x}),
              ErrorCode::InvalidArgument);
}

TEST(FlattenOnnx, DefaultAndNegativeAxis) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3, 4})};
    auto byDefault = importNode("Flatten", 9, {}, x);
    ASSERT_TRUE(byDefault.ok());
    EXPECT_EQ(byDefault->attrs, attrs({{"axis", int64_t(1)}}));
    auto negative = importNode("Flatten", 13, attrs({{"axis", int64_t(-1)}}), x);
    ASSERT_TRUE(negative.ok());
    EXPECT_EQ(negative->attrs, attrs({{"axis", int64_t(2)}}));
    auto atRank = importNode("Flatten", 13, attrs({{"axis", int64_t(3)}}), x);
    ASSERT_TRUE(atRank.ok());
    EXPECT_EQ(atRank->attrs, attrs({{"axis", int64_t(3)}}));
    auto back = roundTrip(OpKind::Flatten, negative->attrs, x);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, negative->attrs);
}

// ---- Transpose ----

TEST(Transpose, MatchesIndexFormula) {
    // perm [2, 0, 1]: Y[k][i][j] = X[i][j][k] for X [2, 3, 4].
    Tensor x = randomTensor({2, 3, 4}, 5);
    Tensor y = run1(OpKind::Transpose, attrs({{"perm", std::vector<int64_t>{2, 0, 1}}}), {x});
    std::vector<float> want;
    for (int k = 0; k < 4; ++k) {
        for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 3; ++j) want.push_back(x.data<float>()[(i * 3 + j) * 4 + k]);
        }
    }
    expectFloats(y, {4, 2, 3}, want);
    Tensor ints = run1(OpKind::Transpose, attrs({{"perm", std::vector<int64_t>{1, 0}}}),
                       {i64({2, 3}, {1, 2, 3, 4, 5, 6})});
    expectInts(ints, DataType::Int64, {3, 2}, {1, 4, 2, 5, 3, 6});
    expectFloats(
        run1(OpKind::Transpose, attrs({{"perm", std::vector<int64_t>{1, 0}}}), {f32({0, 3}, {})}),
        {3, 0}, {});
}

TEST(Transpose, BadPerm) {
    Tensor x = f32({2, 3}, iota(6));
    EXPECT_EQ(runError(OpKind::Transpose, attrs({{"perm", std::vector<int64_t>{0, 0}}}), {x}),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::Transpose, attrs({{"perm", std::vector<int64_t>{0}}}), {x}),
              ErrorCode::InvalidArgument);
}

TEST(TransposeOnnx, DefaultReversesAndNegativesNormalise) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3, 4, 5})};
    auto reversed = importNode("Transpose", 13, {}, x);
    ASSERT_TRUE(reversed.ok());
    EXPECT_EQ(reversed->attrs.getInts("perm"), (std::vector<int64_t>{3, 2, 1, 0}));
    auto negative =
        importNode("Transpose", 13, attrs({{"perm", std::vector<int64_t>{0, -1, 1, -2}}}), x);
    ASSERT_TRUE(negative.ok());
    EXPECT_EQ(negative->attrs.getInts("perm"), (std::vector<int64_t>{0, 3, 1, 2}));
    auto back = roundTrip(OpKind::Transpose, negative->attrs, x);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, negative->attrs);
}

// ---- Squeeze and Unsqueeze ----

TEST(Squeeze, RemovesListedOnes) {
    Tensor x = f32({1, 3, 1, 2}, iota(6));
    expectFloats(run1(OpKind::Squeeze, attrs({{"axes", std::vector<int64_t>{0, 2}}}), {x}), {3, 2},
                 iota(6));
    expectFloats(run1(OpKind::Squeeze, attrs({{"axes", std::vector<int64_t>{2}}}), {x}), {1, 3, 2},
                 iota(6));
    EXPECT_EQ(runError(OpKind::Squeeze, attrs({{"axes", std::vector<int64_t>{1}}}), {x}),
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Squeeze, attrs({{"axes", std::vector<int64_t>{4}}}), {x}),
              ErrorCode::InvalidArgument);
}

TEST(SqueezeOnnx, AttributeInputAndAbsentForms) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {1, 3, 1, 2})};
    auto attr = importNode("Squeeze", 11, attrs({{"axes", std::vector<int64_t>{-2, 0}}}), x);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->attrs.getInts("axes"), (std::vector<int64_t>{0, 2}));
    Tensor axes = i64({1}, {-4});
    auto input = importNode("Squeeze", 13, {}, {x[0], constInfo(axes)});
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(input->inputs, (std::vector<int>{0}));
    EXPECT_EQ(input->attrs.getInts("axes"), (std::vector<int64_t>{0}));
    for (int64_t opset : {11, 13}) {
        auto all = importNode("Squeeze", opset, {}, x);
        ASSERT_TRUE(all.ok());
        EXPECT_EQ(all->attrs.getInts("axes"), (std::vector<int64_t>{0, 2}));
    }
    EXPECT_FALSE(importNode("Squeeze", 11, attrs({{"axes", std::vector<int64_t>{0, -4}}}), x).ok());
    auto back = roundTrip(OpKind::Squeeze, attr->attrs, x);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, attr->attrs);
}

TEST(Unsqueeze, InsertsOnes) {
    Tensor x = i64({3}, {4, 5, 6});
    expectInts(run1(OpKind::Unsqueeze, attrs({{"axes", std::vector<int64_t>{0, 2}}}), {x}),
               DataType::Int64, {1, 3, 1}, {4, 5, 6});
    expectInts(run1(OpKind::Unsqueeze, attrs({{"axes", std::vector<int64_t>{0}}}), {i64({}, {7})}),
               DataType::Int64, {1}, {7});
    EXPECT_EQ(runError(OpKind::Unsqueeze, attrs({{"axes", std::vector<int64_t>{3}}}), {x}),
              ErrorCode::InvalidArgument);
}

TEST(UnsqueezeOnnx, AttributeAndInputForms) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {3, 4})};
    // Negative axes count in the output rank (here 4).
    auto attr = importNode("Unsqueeze", 11, attrs({{"axes", std::vector<int64_t>{-1, 0}}}), x);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->attrs.getInts("axes"), (std::vector<int64_t>{0, 3}));
    Tensor axes = i64({2}, {-1, 1});
    auto input = importNode("Unsqueeze", 13, {}, {x[0], constInfo(axes)});
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(input->attrs.getInts("axes"), (std::vector<int64_t>{1, 3}));
    Tensor twice = i64({2}, {1, -3});  // -3 + 4 = 1 again
    EXPECT_FALSE(importNode("Unsqueeze", 13, {}, {x[0], constInfo(twice)}).ok());
    EXPECT_EQ(input->inputs, (std::vector<int>{0}));
    EXPECT_FALSE(importNode("Unsqueeze", 13, {}, x).ok());
    auto back = roundTrip(OpKind::Unsqueeze, attr->attrs, x);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, attr->attrs);
}

// ---- Identity / Dropout ----

TEST(Identity, CopiesAnyDtype) {
    expectInts(run1(OpKind::Identity, {}, {i64({2}, {3, -4})}), DataType::Int64, {2}, {3, -4});
    expectFloats(run1(OpKind::Identity, {}, {f32({}, {2.5f})}), {}, {2.5f});
}

TEST(IdentityOnnx, DropoutImportsAsIdentity) {
    const TensorInfo x = info(DataType::Float32, {2, 2});
    Tensor ratio = f32({}, {0.5f});
    Tensor training = Tensor::fromVector<bool>({}, {false});
    auto dropout = importNode("Dropout", 12, {}, {x, constInfo(ratio), constInfo(training)});
    ASSERT_TRUE(dropout.ok());
    EXPECT_EQ(dropout->inputs, (std::vector<int>{0}));
    auto mask = importNode("Dropout", 10, {}, {x}, 2);
    ASSERT_FALSE(mask.ok());
    EXPECT_EQ(mask.error().code, ErrorCode::Unsupported);
    Tensor train = Tensor::fromVector<bool>({}, {true});
    EXPECT_FALSE(importNode("Dropout", 12, {}, {x, constInfo(ratio), constInfo(train)}).ok());
    auto back = roundTrip(OpKind::Identity, {}, {x});
    ASSERT_TRUE(back.ok());
}

// ---- Shape ----

TEST(Shape, WholeAndPart) {
    Tensor x = f32({2, 3, 4}, std::vector<float>(24));
    expectInts(run1(OpKind::Shape, {}, {x}), DataType::Int64, {3}, {2, 3, 4});
    expectInts(run1(OpKind::Shape, attrs({{"start", int64_t(1)}, {"end", int64_t(3)}}), {x}),
               DataType::Int64, {2}, {3, 4});
    expectInts(run1(OpKind::Shape, attrs({{"start", int64_t(2)}, {"end", int64_t(1)}}), {x}),
               DataType::Int64, {0}, {});
    expectInts(run1(OpKind::Shape, {}, {f32({}, {1})}), DataType::Int64, {0}, {});
    EXPECT_EQ(runError(OpKind::Shape, attrs({{"end", int64_t(4)}}), {x}),
              ErrorCode::InvalidArgument);
}

TEST(ShapeOnnx, StartEndResolved) {
    const std::vector<TensorInfo> x = {info(DataType::Float32, {2, 3, 4})};
    auto plain = importNode("Shape", 13, {}, x);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->attrs, attrs({{"start", int64_t(0)}, {"end", int64_t(3)}}));
    auto part = importNode("Shape", 15, attrs({{"start", int64_t(-2)}, {"end", int64_t(99)}}), x);
    ASSERT_TRUE(part.ok());
    EXPECT_EQ(part->attrs, attrs({{"start", int64_t(1)}, {"end", int64_t(3)}}));
    auto clamped = importNode("Shape", 15, attrs({{"end", int64_t(-7)}}), x);
    ASSERT_TRUE(clamped.ok());
    EXPECT_EQ(clamped->attrs, attrs({{"start", int64_t(0)}, {"end", int64_t(0)}}));
    auto back = roundTrip(OpKind::Shape, plain->attrs, x);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, plain->attrs);
}

TEST(ShapeOnnx, PartialShapeExportsAsShapeThenSlice) {
    Graph graph;
    Node node;
    node.op = OpKind::Shape;
    node.attrs = attrs({{"start", int64_t(1)}, {"end", int64_t(3)}});
    node.inputs = {graph.addValue("x", DataType::Float32, {2, 3, 4})};
    node.outputs = {graph.addValue("s", DataType::Int64, {2})};
    auto chain = opDef(OpKind::Shape).exportOnnx(node, graph);
    ASSERT_TRUE(chain.ok());
    ASSERT_EQ(chain->size(), 2u);
    EXPECT_EQ((*chain)[0].opType, "Shape");
    EXPECT_EQ((*chain)[1].opType, "Slice");
    ASSERT_EQ((*chain)[1].inputs.size(), 4u);
    EXPECT_EQ((*chain)[1].inputs[0].kind, OnnxOperand::Kind::Chained);
    EXPECT_EQ((*chain)[1].inputs[1].constant.toInt64Vector(), (std::vector<int64_t>{1}));
    EXPECT_EQ((*chain)[1].inputs[2].constant.toInt64Vector(), (std::vector<int64_t>{3}));
}

// ---- ConstantOfShape ----

TEST(ConstantOfShape, FillsWithValue) {
    Tensor y = run1(OpKind::ConstantOfShape,
                    attrs({{"shape", std::vector<int64_t>{2, 3}}, {"value", i64({1}, {7})}}), {});
    expectInts(y, DataType::Int64, {2, 3}, {7, 7, 7, 7, 7, 7});
    expectFloats(run1(OpKind::ConstantOfShape, attrs({{"shape", std::vector<int64_t>{2}}}), {}),
                 {2}, {0, 0});
    expectFloats(run1(OpKind::ConstantOfShape,
                      attrs({{"shape", std::vector<int64_t>{0, 4}}, {"value", f32({1}, {1})}}), {}),
                 {0, 4}, {});
    EXPECT_EQ(
        runError(OpKind::ConstantOfShape,
                 attrs({{"shape", std::vector<int64_t>{2}}, {"value", f32({2}, {1, 2})}}), {}),
        ErrorCode::InvalidArgument);
    EXPECT_EQ(runError(OpKind::ConstantOfShape, attrs({{"shape", std::vector<int64_t>{-1}}}), {}),
              ErrorCode::InvalidArgument);
}

TEST(ConstantOfShapeOnnx, ImportAndRoundTrip) {
    Tensor shape = i64({2}, {3, 1});
    auto byDefault = importNode("ConstantOfShape", 9, {}, {constInfo(shape)});
    ASSERT_TRUE(byDefault.ok());
    EXPECT_TRUE(byDefault->inputs.empty());
    EXPECT_EQ(byDefault->attrs.getInts("shape"), (std::vector<int64_t>{3, 1}));
    ASSERT_NE(byDefault->attrs.getTensor("value"), nullptr);
    EXPECT_TRUE(byDefault->attrs.getTensor("value")->identical(f32({1}, {0})));
    auto given =
        importNode("ConstantOfShape", 9, attrs({{"value", i64({1}, {1})}}), {constInfo(shape)});
    ASSERT_TRUE(given.ok());
    EXPECT_TRUE(given->attrs.getTensor("value")->identical(i64({1}, {1})));
    auto computed = importNode("ConstantOfShape", 9, {}, {info(DataType::Int64, {2})});
    ASSERT_FALSE(computed.ok());
    EXPECT_EQ(computed.error().code, ErrorCode::Unsupported);
    auto back = roundTrip(OpKind::ConstantOfShape, given->attrs, {});
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_EQ(*back, given->attrs);
}

}  // namespace
}  // namespace prunelab::engine::testing

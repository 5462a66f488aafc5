// Tensor: checked sizes (hostile shapes must not allocate), alignment, sharing and cloning.
#include <gtest/gtest.h>

#include <cstdint>

#include "engine/ir/attributes.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {
namespace {

TEST(Tensor, HugeShapeIsOutOfRangeNotAnAllocation) {
    auto t = Tensor::make(DataType::Float32, {1 << 20, 1 << 20});  // 2^40 elements
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::OutOfRange);
    EXPECT_NE(t.error().message.find("2^32"), std::string::npos) << t.error().message;
}

TEST(Tensor, OverflowingShapeIsOutOfRange) {
    auto n = checkedElementCount({INT64_MAX / 2, 4});
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().code, ErrorCode::OutOfRange);
}

TEST(Tensor, NegativeDimIsInvalid) {
    auto n = checkedElementCount({3, -1});
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().code, ErrorCode::InvalidArgument);
}

TEST(Tensor, ZeroFilledAlignedAndSized) {
    Tensor t(DataType::Float32, {2, 3, 5});
    EXPECT_EQ(t.elements(), 30);
    EXPECT_EQ(t.bytes(), 120u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
    for (float x : t.span<float>()) EXPECT_EQ(x, 0.0f);
}

TEST(Tensor, CopiesShareCloneDoesNot) {
    Tensor a = Tensor::fromVector<float>({3}, {1, 2, 3});
    Tensor shared = a;
    Tensor deep = a.clone();
    a.data<float>()[0] = 9;
    EXPECT_EQ(shared.data<float>()[0], 9);
    EXPECT_EQ(deep.data<float>()[0], 1);
    EXPECT_FALSE(a.identical(deep));
    deep.data<float>()[0] = 9;
    EXPECT_TRUE(a.identical(deep));
}

TEST(Tensor, ConversionsToVectors) {
    Tensor i = Tensor::fromVector<int64_t>({2}, {-3, 7});
    EXPECT_EQ(i.toInt64Vector(), (std::vector<int64_t>{-3, 7}));
    EXPECT_EQ(i.toFloatVector(), (std::vector<float>{-3.0f, 7.0f}));
    EXPECT_EQ(i.reshaped({2, 1}).shape(), (Shape{2, 1}));
}

TEST(Attributes, TypedGettersConvertAndFallBack) {
    Attributes a;
    a.set("k", int64_t{3});
    a.set("f", 0.5f);
    a.set("v", std::vector<int64_t>{1, 2});
    EXPECT_EQ(a.getInt("k"), 3);
    EXPECT_EQ(a.getFloat("k"), 3.0f);
    EXPECT_EQ(a.getInt("missing", 7), 7);
    EXPECT_EQ(a.getFloats("v"), (std::vector<float>{1.0f, 2.0f}));
    Attributes b = a;
    EXPECT_TRUE(a == b);
    b.set("f", 0.25f);
    EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace prunelab::engine

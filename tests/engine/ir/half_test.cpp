// The host's half <-> float conversions: exact widening of every half, and narrowing that rounds
// to nearest-even like a GPU, with the edges (subnormals, overflow, NaN) spelled out.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/ir/half.h"

namespace prunelab::engine {
namespace {

TEST(Half, EveryHalfWidensAndNarrowsBackToItself) {
    for (uint32_t h = 0; h <= 0xffff; ++h) {
        const float f = halfToFloat(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(f)))) << std::hex << h;
            continue;
        }
        EXPECT_EQ(floatToHalf(f), h) << std::hex << h << " read as " << f;
    }
}

TEST(Half, KnownValues) {
    EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
    EXPECT_EQ(halfToFloat(0xc000), -2.0f);
    EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
    EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
    EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
}

// Between two neighbouring halves a float rounds to the nearer, and at the middle to the one
// whose last bit is 0; above the largest half it is infinity, under half the smallest one zero.
TEST(Half, NarrowingRoundsToNearestEven) {
    const float one = 1.0f, ulp = std::ldexp(1.0f, -10);  // the halves' step just above 1
    EXPECT_EQ(floatToHalf(one + ulp * 0.49f), 0x3c00);
    EXPECT_EQ(floatToHalf(one + ulp * 0.51f), 0x3c01);
    EXPECT_EQ(floatToHalf(one + ulp * 0.5f), 0x3c00);    // tie: 0x3c00 is even
    EXPECT_EQ(floatToHalf(one + ulp * 1.5f), 0x3c02);    // tie: 0x3c02 is even
    EXPECT_EQ(floatToHalf(2.0f - ulp * 0.25f), 0x4000);  // carry into the exponent
    EXPECT_EQ(floatToHalf(65504.0f + 15.0f), 0x7bff);    // still nearer 65504
    EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);            // tie with 65536: infinity
    EXPECT_EQ(floatToHalf(1e6f), 0x7c00);
    EXPECT_EQ(floatToHalf(-1e6f), 0xfc00);
    EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // half the smallest: tie, to 0
    EXPECT_EQ(floatToHalf(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 subnormal steps: tie, even
    EXPECT_EQ(floatToHalf(1e-30f), 0x0000);
    EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
    EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400);  // to normal
    EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace prunelab::engine

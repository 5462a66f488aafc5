// IoU and non-maximum suppression on boxes worked out by hand.
#include <gtest/gtest.h>

#include "engine/tasks/detection.h"

namespace prunelab::engine {
namespace {

Detection box(float x0, float y0, float x1, float y1, float score) {
    Detection d;
    d.x0 = x0, d.y0 = y0, d.x1 = x1, d.y1 = y1, d.score = score;
    return d;
}

TEST(Detection, IntersectionOverUnionByHand) {
    // Two 10x10 boxes overlapping in a 5x10 strip: 50 / (100 + 100 - 50).
    EXPECT_FLOAT_EQ(intersectionOverUnion(box(0, 0, 10, 10, 1), box(5, 0, 15, 10, 1)), 50.0f / 150);
    EXPECT_FLOAT_EQ(intersectionOverUnion(box(0, 0, 10, 10, 1), box(0, 0, 10, 10, 1)), 1.0f);
    EXPECT_FLOAT_EQ(intersectionOverUnion(box(0, 0, 10, 10, 1), box(20, 20, 30, 30, 1)), 0.0f);
    // Degenerate boxes have no area and never overlap anything.
    EXPECT_FLOAT_EQ(intersectionOverUnion(box(5, 5, 5, 5, 1), box(5, 5, 5, 5, 1)), 0.0f);
}

TEST(Detection, NonMaxSuppressionKeepsTheBestOfEachCluster) {
    std::vector<Detection> in = {box(0, 0, 10, 10, 0.6f), box(1, 1, 11, 11, 0.9f),
                                 box(50, 50, 60, 60, 0.7f), box(0, 0, 10, 10, 0.2f)};
    std::vector<Detection> out = nonMaxSuppression(in, 0.3f, 10);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_FLOAT_EQ(out[0].score, 0.9f);
    EXPECT_FLOAT_EQ(out[1].score, 0.7f);
    EXPECT_FLOAT_EQ(out[1].x0, 50.0f);
}

TEST(Detection, NonMaxSuppressionThresholdAndLimit) {
    // IoU of these two is 81 / 119 = 0.68: kept both at 0.7, merged at 0.5.
    std::vector<Detection> in = {box(0, 0, 10, 10, 0.9f), box(1, 1, 11, 11, 0.8f),
                                 box(40, 40, 50, 50, 0.5f)};
    EXPECT_EQ(nonMaxSuppression(in, 0.7f, 10).size(), 3u);
    EXPECT_EQ(nonMaxSuppression(in, 0.5f, 10).size(), 2u);
    EXPECT_EQ(nonMaxSuppression(in, 0.7f, 1).size(), 1u);
    EXPECT_TRUE(nonMaxSuppression({}, 0.5f, 10).empty());
}

}  // namespace
}  // namespace prunelab::engine

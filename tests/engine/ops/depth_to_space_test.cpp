// DepthToSpace in DCR and CRD order against hand-worked outputs and the ONNX definition as a
// reshape -> transpose -> reshape done index by index in the test; import and round trip.
#include <gtest/gtest.h>

#include <array>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

Attributes d2sAttrs(int64_t block, const std::string& mode) {
    return attrsOf({{"blocksize", block}, {"mode", mode}});
}

TEST(DepthToSpace, HandComputedDcrAndCrd) {
    // 8 channels of one pixel, blocksize 2 -> 2 channels of 2x2.
    Tensor x = tensor({1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
    // DCR: the block offset is the outer part of the channel index.
    expectNear(run1(OpKind::DepthToSpace, d2sAttrs(2, "DCR"), {x}), {1, 2, 2, 2},
               {0, 2, 4, 6, 1, 3, 5, 7});
    // CRD: each output channel's 2x2 block comes from 4 consecutive channels.
    expectNear(run1(OpKind::DepthToSpace, d2sAttrs(2, "CRD"), {x}), {1, 2, 2, 2},
               {0, 1, 2, 3, 4, 5, 6, 7});
}

// ONNX's definition: reshape X to 6-D, transpose, reshape to [N, C/b^2, H*b, W*b]. The test
// walks the transposed 6-D tensor in order and reads each element from X.
Tensor byReshapeTranspose(const Tensor& x, int64_t b, bool dcr) {
    const int64_t n = x.dim(0), c = x.dim(1) / (b * b), h = x.dim(2), w = x.dim(3);
    // 6-D view of X: DCR [N, b, b, C', H, W]; CRD [N, C', b, b, H, W].
    const std::array<int64_t, 6> dims =
        dcr ? std::array<int64_t, 6>{n, b, b, c, h, w} : std::array<int64_t, 6>{n, c, b, b, h, w};
    // Transpose: DCR [0, 3, 4, 1, 5, 2]; CRD [0, 1, 4, 2, 5, 3].
    const std::array<size_t, 6> perm =
        dcr ? std::array<size_t, 6>{0, 3, 4, 1, 5, 2} : std::array<size_t, 6>{0, 1, 4, 2, 5, 3};
    Tensor y(DataType::Float32, {n, c, h * b, w * b});
    std::array<int64_t, 6> idx{};  // index into the transposed tensor
    for (int64_t flat = 0; flat < y.elements(); ++flat) {
        int64_t rest = flat;
        for (size_t i = 6; i-- > 0;) {
            idx[i] = rest % dims[perm[i]];
            rest /= dims[perm[i]];
        }
        std::array<int64_t, 6> src{};
        for (size_t i = 0; i < 6; ++i) src[perm[i]] = idx[i];
        int64_t offset = 0;
        for (size_t i = 0; i < 6; ++i) offset = offset * dims[i] + src[i];
        y.data<float>()[flat] = x.data<float>()[offset];
    }
    return y;
}

TEST(DepthToSpace, MatchesReshapeTransposeDefinition) {
    uint32_t seed = 60;
    for (int64_t b : {1, 2, 3}) {
        for (const char* mode : {"DCR", "CRD"}) {
            SCOPED_TRACE(std::string(mode) + " blocksize " + std::to_string(b));
            Tensor x = randomTensor({2, 2 * b * b, 3, 2}, seed++);
            EXPECT_EQ(maxAbsDiff(run1(OpKind::DepthToSpace, d2sAttrs(b, mode), {x}),
                                 byReshapeTranspose(x, b, std::string(mode) == "DCR")),
                      0.0f);
        }
    }
}

TEST(DepthToSpace, ErrorsImportAndRoundTrip) {
    Error e = runError(OpKind::DepthToSpace, d2sAttrs(2, "DCR"),
                       {Tensor(DataType::Float32, {1, 6, 2, 2})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::DepthToSpace, d2sAttrs(2, "XYZ"),
                       {Tensor(DataType::Float32, {1, 4, 2, 2})})
                  .code,
              ErrorCode::InvalidArgument);
    // Found through ncnn_import_fuzzer's PixelShuffle (tests/data/fuzz/regressions/
    // ncnn_pixelshuffle_overflow.ncnn): blocksize^2 overflowed int64, undefined behaviour.
    e = runError(OpKind::DepthToSpace, d2sAttrs(int64_t(1) << 32, "DCR"),
                 {Tensor(DataType::Float32, {1, 4, 2, 2})});
    EXPECT_EQ(e.code, ErrorCode::OutOfRange) << e.toString();
    EXPECT_NE(e.toString().find("blocksize' 4294967296"), std::string::npos) << e.toString();
    // Opset 1 has no mode: DCR.
    OnnxCall call{
        "DepthToSpace", 1, attrsOf({{"blocksize", int64_t(2)}}), {inputInfo({1, 8, 3, 3})}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getString("mode"), "DCR");
    EXPECT_EQ(a.getInt("blocksize"), 2);
    expectRoundTrip(OpKind::DepthToSpace, a, {{1, 8, 3, 3}});
    expectRoundTrip(OpKind::DepthToSpace, d2sAttrs(2, "CRD"), {{1, 8, 3, 3}});
    call.attrs = {};
    EXPECT_FALSE(importNode(call).ok());
}

}  // namespace
}  // namespace prunelab::engine::testing

// Conv and ConvTranspose against hand-computed cases, an independent im2col + matrix-product
// formulation (Conv), the adjoint identity <conv(x), y> == <x, convT(y)> (ConvTranspose),
// shape errors, the ONNX import (auto_pad, output_shape) and the export round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

struct ConvCase {
    const char* name;
    int64_t n, c, h, w, o, kh, kw;
    Ints strides, pads, dilations;
    int64_t group;
};

const ConvCase kConvCases[] = {
    {"1x1 spatial", 2, 3, 1, 1, 4, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    {"1x1 spatial, 3x3 kernel padded", 1, 2, 1, 1, 3, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
    {"stride 2, odd sizes", 1, 3, 7, 5, 4, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1},
    {"stride 2x1, 2x3 kernel", 2, 2, 6, 5, 3, 2, 3, {2, 1}, {0, 1, 1, 1}, {1, 1}, 1},
    {"groups", 1, 4, 5, 5, 6, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},
    {"depthwise", 2, 3, 6, 7, 3, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 3},
    {"depthwise multiplier 2", 1, 2, 5, 4, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},
    {"asymmetric pads", 1, 2, 5, 6, 2, 3, 3, {1, 2}, {0, 2, 1, 0}, {1, 1}, 1},
    {"dilation 2", 1, 2, 7, 7, 3, 3, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1},
    {"dilation 2x3, stride 3", 1, 3, 9, 11, 2, 2, 3, {3, 2}, {1, 0, 0, 2}, {2, 3}, 1},
};

Attributes convAttrs(const ConvCase& k) {
    return attrsOf(
        {{"strides", k.strides}, {"pads", k.pads}, {"dilations", k.dilations}, {"group", k.group}});
}

int64_t outLength(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t padSum) {
    return (in + padSum - (kernel - 1) * dilation - 1) / stride + 1;
}

// Conv as the test computes it, independently of the kernel: unfold each group's input into a
// column matrix cols[(c, kh, kw)][(oh, ow)] (im2col), then Y_g = W_g * cols + B.
Tensor convByIm2col(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor& b) {
    const int64_t oh = outLength(k.h, k.kh, k.strides[0], k.dilations[0], k.pads[0] + k.pads[2]);
    const int64_t ow = outLength(k.w, k.kw, k.strides[1], k.dilations[1], k.pads[1] + k.pads[3]);
    const int64_t cg = k.c / k.group, og = k.o / k.group, rows = cg * k.kh * k.kw;
    Tensor y(DataType::Float32, {k.n, k.o, oh, ow});
    const float* xs = x.data<float>();
    const float* ws = w.data<float>();
    float* ys = y.data<float>();
    for (int64_t n = 0; n < k.n; ++n) {
        for (int64_t g = 0; g < k.group; ++g) {
            std::vector<float> cols(static_cast<size_t>(rows * oh * ow), 0.0f);
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t c = r / (k.kh * k.kw), i = r / k.kw % k.kh, j = r % k.kw;
                for (int64_t p = 0; p < oh * ow; ++p) {
                    const int64_t ih = p / ow * k.strides[0] + i * k.dilations[0] - k.pads[0];
                    const int64_t iw = p % ow * k.strides[1] + j * k.dilations[1] - k.pads[1];
                    if (ih >= 0 && ih < k.h && iw >= 0 && iw < k.w) {
                        cols[static_cast<size_t>(r * oh * ow + p)] =
                            xs[((n * k.c + g * cg + c) * k.h + ih) * k.w + iw];
                    }
                }
            }
            for (int64_t o = 0; o < og; ++o) {
                for (int64_t p = 0; p < oh * ow; ++p) {
                    double sum = b.data<float>()[g * og + o];
                    for (int64_t r = 0; r < rows; ++r) {
                        sum += static_cast<double>(ws[(g * og + o) * rows + r]) *
                               cols[static_cast<size_t>(r * oh * ow + p)];
                    }
                    ys[(n * k.o + g * og + o) * oh * ow + p] = static_cast<float>(sum);
                }
            }
        }
    }
    return y;
}

double dot(const Tensor& a, const Tensor& b) {
    double s = 0.0;
    for (size_t i = 0; i < static_cast<size_t>(a.elements()); ++i) {
        s += static_cast<double>(a.data<float>()[i]) * b.data<float>()[i];
    }
    return s;
}

// ---- Conv ----

TEST(Conv, HandComputedDiagonalKernelWithBias) {
    // y[i][j] = x[i][j] + x[i+1][j+1] + 0.5 over the 2x2 valid positions of a 3x3 input.
    Tensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor w = tensor({1, 1, 2, 2}, {1, 0, 0, 1});
    Tensor b = tensor({1}, {0.5f});
    expectNear(run1(OpKind::Conv, {}, {x, w, b}), {1, 1, 2, 2}, {6.5f, 8.5f, 12.5f, 14.5f});
}

TEST(Conv, HandComputedAsymmetricPadAndStride) {
    // Pads top 1, right 1, stride 2, a 1x1 kernel of 2: rows read -1 (pad) and 1, columns 0
    // and 2 -> [[0, 0], [2*4, 2*6]].
    Tensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor w = tensor({1, 1, 1, 1}, {2});
    Attributes a = attrsOf({{"strides", Ints{2, 2}}, {"pads", Ints{1, 0, 0, 1}}});
    expectNear(run1(OpKind::Conv, a, {x, w}), {1, 1, 2, 2}, {0, 0, 8, 12});
}

TEST(Conv, HandComputedGroups) {
    // Two groups of one channel, a 1x1 kernel each: channel 0 x3, channel 1 x(-1).
    Tensor x = tensor({1, 2, 1, 2}, {1, 2, 3, 4});
    Tensor w = tensor({2, 1, 1, 1}, {3, -1});
    expectNear(run1(OpKind::Conv, attrsOf({{"group", int64_t(2)}}), {x, w}), {1, 2, 1, 2},
               {3, 6, -3, -4});
}

TEST(Conv, MatchesIm2colFormulation) {
    uint32_t seed = 1;
    for (const ConvCase& k : kConvCases) {
        SCOPED_TRACE(k.name);
        Tensor x = randomTensor({k.n, k.c, k.h, k.w}, seed++);
        Tensor w = randomTensor({k.o, k.c / k.group, k.kh, k.kw}, seed++);
        Tensor b = randomTensor({k.o}, seed++);
        Tensor got = run1(OpKind::Conv, convAttrs(k), {x, w, b});
        Tensor want = convByIm2col(k, x, w, b);
        EXPECT_LT(maxAbsDiff(got, want), 1e-5f);
        // Without a bias, the same as with a zero bias.
        Tensor zero(DataType::Float32, {k.o});
        EXPECT_LT(maxAbsDiff(run1(OpKind::Conv, convAttrs(k), {x, w}), convByIm2col(k, x, w, zero)),
                  1e-5f);
    }
}

TEST(Conv, ShapeErrorsSayWhatDoesNotFit) {
    Tensor x(DataType::Float32, {1, 3, 8, 8});
    Error e = runError(OpKind::Conv, {}, {x, Tensor(DataType::Float32, {4, 16, 3, 3})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("16 input channels per group but input has 3 channels with group 1"),
              std::string::npos)
        << e.message;
    // Group that does not divide the channels, a bias of the wrong length, a too-big kernel.
    EXPECT_EQ(runError(OpKind::Conv, attrsOf({{"group", int64_t(2)}}),
                       {x, Tensor(DataType::Float32, {4, 1, 3, 3})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Conv, {},
                       {x, Tensor(DataType::Float32, {4, 3, 3, 3}), Tensor(DataType::Float32, {5})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Conv, {}, {x, Tensor(DataType::Float32, {4, 3, 9, 3})}).code,
              ErrorCode::ShapeMismatch);
    Error rank =
        runError(OpKind::Conv, {},
                 {Tensor(DataType::Float32, {1, 3, 8}), Tensor(DataType::Float32, {4, 3, 3})});
    EXPECT_EQ(rank.code, ErrorCode::Unsupported);
    EXPECT_NE(rank.message.find("only 2-D convolutions are supported"), std::string::npos);
    EXPECT_EQ(runError(OpKind::Conv, attrsOf({{"strides", Ints{0, 1}}}),
                       {x, Tensor(DataType::Float32, {4, 3, 3, 3})})
                  .code,
              ErrorCode::InvalidArgument);
    // Values that would overflow the window arithmetic (a fuzzer's) are refused by name.
    Error huge = runError(OpKind::Conv, attrsOf({{"dilations", Ints{int64_t{1} << 62, 1}}}),
                          {x, Tensor(DataType::Float32, {4, 3, 3, 3})});
    EXPECT_EQ(huge.code, ErrorCode::InvalidArgument);
    EXPECT_NE(huge.message.find("'dilations' values must be at most"), std::string::npos)
        << huge.message;
}

OnnxCall onnxConv(const Shape& x, const Shape& w, Attributes attrs, bool bias = false) {
    OnnxCall call{"Conv", 13, std::move(attrs), {inputInfo(x), inputInfo(w)}, 1};
    if (bias) call.inputs.push_back(inputInfo({w[0]}));
    return call;
}

TEST(Conv, ImportResolvesAutoPad) {
    // 6 wide, kernel 3, stride 2: out = ceil(6/2) = 3 needs (3-1)*2 + 3 - 6 = 1 pixel of padding,
    // at the end for SAME_UPPER and at the beginning for SAME_LOWER.
    const Shape x = {1, 2, 6, 6}, w = {4, 2, 3, 3};
    Attributes a = importedAttrs(onnxConv(
        x, w, attrsOf({{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 0, 1, 1}));
    a = importedAttrs(onnxConv(
        x, w, attrsOf({{"auto_pad", std::string("SAME_LOWER")}, {"strides", Ints{2, 2}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{1, 1, 0, 0}));
    // 5 wide, stride 1, dilation 2 (effective kernel 5): 4 pixels, 2 each side.
    a = importedAttrs(
        onnxConv({1, 2, 5, 5}, w,
                 attrsOf({{"auto_pad", std::string("SAME_UPPER")}, {"dilations", Ints{2, 2}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{2, 2, 2, 2}));
    a = importedAttrs(
        onnxConv(x, w, attrsOf({{"auto_pad", std::string("VALID")}, {"pads", Ints{1, 1, 1, 1}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 0, 0, 0}));
    // Defaults are written out explicitly.
    a = importedAttrs(onnxConv(x, w, {}));
    EXPECT_EQ(a.getInts("strides"), (Ints{1, 1}));
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 0, 0, 0}));
    EXPECT_EQ(a.getInts("dilations"), (Ints{1, 1}));
    EXPECT_EQ(a.getInt("group", -1), 1);
    // The bias stays an input.
    Result<OnnxImport> withBias = importNode(onnxConv(x, w, {}, true));
    ASSERT_TRUE(withBias.ok());
    EXPECT_EQ(withBias->inputs, (std::vector<int>{0, 1, 2}));
}

TEST(Conv, ImportErrors) {
    Result<OnnxImport> r =
        importNode(onnxConv({1, 2, 6, 6}, {4, 2, 3, 3}, attrsOf({{"kernel_shape", Ints{5, 5}}})));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::ShapeMismatch);
    r = importNode(onnxConv({1, 2, 6}, {4, 2, 3}, {}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    r = importNode(onnxConv({1, 2, 6, 6}, {4, 2, 3, 3}, attrsOf({{"pads", Ints{1, 1}}})));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST(Conv, ExportRoundTrip) {
    for (const ConvCase& k : kConvCases) {
        SCOPED_TRACE(k.name);
        expectRoundTrip(OpKind::Conv, convAttrs(k),
                        {{k.n, k.c, k.h, k.w}, {k.o, k.c / k.group, k.kh, k.kw}, {k.o}});
    }
    // Export writes kernel_shape from W so other tools need not infer it.
    Graph g;
    auto chain =
        exportNode(OpKind::Conv, convAttrs(kConvCases[3]), {{2, 2, 6, 5}, {3, 2, 2, 3}}, g);
    ASSERT_TRUE(chain.ok());
    EXPECT_EQ(chain->front().attrs.getInts("kernel_shape"), (Ints{2, 3}));
}

// ---- ConvTranspose ----

TEST(ConvTranspose, HandComputed) {
    Tensor x = tensor({1, 1, 2, 2}, {1, 2, 3, 4});
    Tensor ones = tensor({1, 1, 2, 2}, {1, 1, 1, 1});
    // Stride 1: each output sums the inputs whose 2x2 footprint covers it.
    expectNear(run1(OpKind::ConvTranspose, {}, {x, ones}), {1, 1, 3, 3},
               {1, 3, 2, 4, 10, 6, 3, 7, 4});
    // Stride 2: the footprints tile the output, each input becomes a 2x2 block.
    Attributes s2 = attrsOf({{"strides", Ints{2, 2}}});
    expectNear(run1(OpKind::ConvTranspose, s2, {x, ones}), {1, 1, 4, 4},
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    // Pads crop the border: the inner 2x2 of the stride-1 result; output_padding adds a
    // bias-only row/column at the end.
    Tensor b = tensor({1}, {0.5f});
    Attributes cropped = attrsOf({{"pads", Ints{1, 1, 0, 0}}, {"output_padding", Ints{0, 0}}});
    expectNear(run1(OpKind::ConvTranspose, cropped, {x, ones, b}), {1, 1, 2, 2},
               {10.5f, 6.5f, 7.5f, 4.5f});
    Attributes extended = attrsOf({{"strides", Ints{2, 2}}, {"output_padding", Ints{1, 0}}});
    expectNear(run1(OpKind::ConvTranspose, extended, {x, ones}), {1, 1, 5, 4},
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4, 0, 0, 0, 0});
}

TEST(ConvTranspose, IsTheAdjointOfConv) {
    // For the same W, strides, pads, dilations and groups, ConvTranspose is the transpose of
    // the linear map Conv: <conv(x), y> == <x, convT(y)>. output_padding makes convT's output
    // the size of x again.
    uint32_t seed = 100;
    for (const ConvCase& k : kConvCases) {
        SCOPED_TRACE(k.name);
        Tensor x = randomTensor({k.n, k.c, k.h, k.w}, seed++);
        Tensor w = randomTensor({k.o, k.c / k.group, k.kh, k.kw}, seed++);
        Tensor cx = run1(OpKind::Conv, convAttrs(k), {x, w});
        Tensor y = randomTensor(cx.shape(), seed++);
        Attributes t = convAttrs(k);
        Ints outputPadding;
        for (int i = 0; i < 2; ++i) {
            const int64_t in = i == 0 ? k.h : k.w, kernel = i == 0 ? k.kh : k.kw;
            const int64_t natural = k.strides[i] * (cx.dim(2 + i) - 1) +
                                    (kernel - 1) * k.dilations[i] + 1 - k.pads[i] - k.pads[i + 2];
            outputPadding.push_back(in - natural);
        }
        t.set("output_padding", outputPadding);
        Tensor ty = run1(OpKind::ConvTranspose, t, {y, w});
        ASSERT_EQ(ty.shape(), x.shape());
        const double lhs = dot(cx, y), rhs = dot(x, ty);
        EXPECT_NEAR(lhs, rhs, 1e-4 * (1.0 + std::fabs(lhs)));
    }
}

TEST(ConvTranspose, ShapeErrors) {
    Tensor x(DataType::Float32, {1, 4, 3, 3});
    Error e = runError(OpKind::ConvTranspose, {}, {x, Tensor(DataType::Float32, {3, 2, 3, 3})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("3 input channels but input has 4"), std::string::npos) << e.message;
    // Bias must have O = W[1] * group entries.
    EXPECT_EQ(runError(OpKind::ConvTranspose, attrsOf({{"group", int64_t(2)}}),
                       {x, Tensor(DataType::Float32, {4, 3, 3, 3}), Tensor(DataType::Float32, {3})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::ConvTranspose, attrsOf({{"pads", Ints{3, 3, 3, 3}}}),
                       {x, Tensor(DataType::Float32, {4, 1, 1, 1})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::ConvTranspose, {},
                       {Tensor(DataType::Float32, {1, 4, 3}), Tensor(DataType::Float32, {4, 1, 3})})
                  .code,
              ErrorCode::Unsupported);
}

OnnxCall onnxConvT(Attributes attrs, const Shape& x = {1, 1, 3, 3}, const Shape& w = {1, 2, 3, 3}) {
    return OnnxCall{"ConvTranspose", 13, std::move(attrs), {inputInfo(x), inputInfo(w)}, 1};
}

TEST(ConvTranspose, ImportResolvesOutputShapeAndAutoPad) {
    // ONNX's test_convtranspose_output_shape: 3x3 input, strides 3x2, output_shape 10x8. The
    // kernel reaches 9x7, so the extra row and column are output padding (bias only).
    Attributes a =
        importedAttrs(onnxConvT(attrsOf({{"strides", Ints{3, 2}}, {"output_shape", Ints{10, 8}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 0, 0, 0}));
    EXPECT_EQ(a.getInts("output_padding"), (Ints{1, 1}));
    // Stride 2 reaches 7; output_shape 5 crops 2 (1 each side), 6 crops 1: at the beginning
    // by default, at the end for SAME_UPPER.
    a = importedAttrs(onnxConvT(attrsOf({{"strides", Ints{2, 2}}, {"output_shape", Ints{5, 6}}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{1, 1, 1, 0}));
    a = importedAttrs(onnxConvT(attrsOf({{"strides", Ints{2, 2}},
                                         {"output_shape", Ints{1, 2, 5, 6}},
                                         {"auto_pad", std::string("SAME_UPPER")}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{1, 0, 1, 1}));
    // auto_pad SAME without output_shape targets in * stride = 6: crop 1.
    a = importedAttrs(
        onnxConvT(attrsOf({{"strides", Ints{2, 2}}, {"auto_pad", std::string("SAME_UPPER")}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{0, 0, 1, 1}));
    a = importedAttrs(
        onnxConvT(attrsOf({{"strides", Ints{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}})));
    EXPECT_EQ(a.getInts("pads"), (Ints{1, 1, 0, 0}));
    // The resolved node produces the requested shape.
    Node node;
    node.op = OpKind::ConvTranspose;
    node.attrs =
        importedAttrs(onnxConvT(attrsOf({{"strides", Ints{3, 2}}, {"output_shape", Ints{10, 8}}})));
    const std::vector<TensorInfo> in = {inputInfo({1, 1, 3, 3}), inputInfo({1, 2, 3, 3})};
    std::vector<TensorInfo> out(1);
    ASSERT_TRUE(opDef(OpKind::ConvTranspose).infer(node, in, out).ok());
    EXPECT_EQ(out[0].shape, (Shape{1, 2, 10, 8}));
}

TEST(ConvTranspose, ExportRoundTrip) {
    for (const ConvCase& k : kConvCases) {
        SCOPED_TRACE(k.name);
        Attributes a = convAttrs(k);
        a.set("output_padding", Ints{k.strides[0] - 1, 0});
        expectRoundTrip(OpKind::ConvTranspose, a,
                        {{k.n, k.o, k.h, k.w}, {k.o, k.c / k.group, k.kh, k.kw}, {k.c}});
    }
}

}  // namespace
}  // namespace prunelab::engine::testing

// InstanceNormalization, LayerNormalization and LRN against formulations written here: two-pass
// mean and variance in double per (n, c) plane or per row, and LRN's sum with its window
// bounds spelled out; the ONNX import (training outputs refused) and the export.
#include <gtest/gtest.h>

#include <cmath>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

// Normalises each of `rows` consecutive runs of `len` elements of `x` by its own mean and
// (population) variance, computed in two passes in double.
std::vector<double> normaliseRuns(const std::vector<float>& x, int64_t len, double eps) {
    std::vector<double> y(x.size());
    for (size_t start = 0; start < x.size(); start += static_cast<size_t>(len)) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < len; ++j) mean += x[start + static_cast<size_t>(j)];
        mean /= double(len);
        for (int64_t j = 0; j < len; ++j) {
            const double d = x[start + static_cast<size_t>(j)] - mean;
            var += d * d;
        }
        var /= double(len);
        for (int64_t j = 0; j < len; ++j) {
            y[start + static_cast<size_t>(j)] =
                (x[start + static_cast<size_t>(j)] - mean) / std::sqrt(var + eps);
        }
    }
    return y;
}

TEST(InstanceNormalization, MatchesPerPlaneStatistics) {
    for (const Shape& s : {Shape{2, 3, 4, 5}, Shape{1, 4, 7}, Shape{3, 2, 1, 1}}) {
        SCOPED_TRACE(shapeToString(s));
        Tensor x = randomTensor(s, 11), scale = randomTensor({s[1]}, 12),
               bias = randomTensor({s[1]}, 13);
        const float eps = 1e-3f;
        const int64_t plane = x.elements() / (s[0] * s[1]);
        std::vector<double> n = normaliseRuns(values(x), plane, eps);
        std::vector<float> want;
        for (size_t i = 0; i < n.size(); ++i) {
            const auto c = static_cast<size_t>((static_cast<int64_t>(i) / plane) % s[1]);
            want.push_back(static_cast<float>(n[i] * values(scale)[c] + values(bias)[c]));
        }
        expectNear(
            run1(OpKind::InstanceNormalization, attrsOf({{"epsilon", eps}}), {x, scale, bias}), s,
            want, 1e-5f);
    }
    // A constant plane has variance 0: only epsilon keeps it finite, and y = B.
    expectNear(run1(OpKind::InstanceNormalization, attrsOf({{"epsilon", 1e-5f}}),
                    {tensor({1, 1, 2}, {3, 3}), tensor({1}, {2}), tensor({1}, {0.5f})}),
               {1, 1, 2}, {0.5f, 0.5f});
}

TEST(InstanceNormalization, ErrorsImportAndRoundTrip) {
    Error e = runError(OpKind::InstanceNormalization, {},
                       {Tensor(DataType::Float32, {1, 3, 4}), Tensor(DataType::Float32, {2}),
                        Tensor(DataType::Float32, {3})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("InstanceNormalization scale"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("3 channels"), std::string::npos) << e.message;
    OnnxCall call{"InstanceNormalization",
                  6,
                  attrsOf({{"epsilon", 1e-3f}}),
                  {inputInfo({1, 3, 4}), inputInfo({3}), inputInfo({3})},
                  1};
    Attributes a = importedAttrs(call);
    EXPECT_FLOAT_EQ(a.getFloat("epsilon"), 1e-3f);
    expectRoundTrip(OpKind::InstanceNormalization, a, {{1, 3, 4}, {3}, {3}});
}

TEST(LayerNormalization, MatchesPerRowStatistics) {
    struct Case {
        Shape x;
        int64_t onnxAxis;
        Shape scale, bias;  // bias {} with hasBias false: absent
        bool hasBias;
    };
    const Case cases[] = {
        {{2, 3, 8}, -1, {8}, {8}, true},
        {{2, 3, 4}, 1, {3, 4}, {4}, true},  // B broadcasts along the rows' first dim
        {{4, 6}, -1, {6}, {}, false},
        {{2, 2, 3}, -2, {1, 3}, {2, 1}, true},
    };
    uint32_t seed = 30;
    for (const Case& c : cases) {
        SCOPED_TRACE(shapeToString(c.x) + " axis " + std::to_string(c.onnxAxis));
        OnnxCall call{"LayerNormalization",
                      17,
                      attrsOf({{"axis", c.onnxAxis}, {"epsilon", 1e-4f}}),
                      {inputInfo(c.x), inputInfo(c.scale)},
                      1};
        if (c.hasBias) call.inputs.push_back(inputInfo(c.bias));
        Result<OnnxImport> imported = importNode(call);
        ASSERT_TRUE(imported.ok()) << imported.error().toString();
        const int64_t axis = imported->attrs.getInt("axis", -1);
        ASSERT_EQ(axis, (c.onnxAxis + static_cast<int64_t>(c.x.size())) %
                            static_cast<int64_t>(c.x.size()));
        EXPECT_EQ(imported->inputs.size(), c.hasBias ? 3u : 2u);
        Tensor x = randomTensor(c.x, seed++), scale = randomTensor(c.scale, seed++);
        Tensor bias = c.hasBias ? randomTensor(c.bias, seed++) : Tensor{};
        const Shape row(c.x.begin() + axis, c.x.end());
        const int64_t len = elementCount(row);
        std::vector<double> n = normaliseRuns(values(x), len, 1e-4);
        // Scale and B read through broadcasting, by right-aligned coordinates within the row.
        auto at = [&](const Tensor& t, int64_t j) {
            int64_t flat = 0, rest = j;
            std::vector<int64_t> coord(row.size());
            for (size_t d = row.size(); d-- > 0;) {
                coord[d] = rest % row[d];
                rest /= row[d];
            }
            const size_t lead = row.size() - t.shape().size();
            for (size_t d = 0; d < t.shape().size(); ++d) {
                flat = flat * t.shape()[d] + (t.shape()[d] == 1 ? 0 : coord[lead + d]);
            }
            return double(t.data<float>()[flat]);
        };
        std::vector<float> want;
        for (size_t i = 0; i < n.size(); ++i) {
            const int64_t j = static_cast<int64_t>(i) % len;
            want.push_back(
                static_cast<float>(n[i] * at(scale, j) + (c.hasBias ? at(bias, j) : 0.0)));
        }
        std::vector<Tensor> inputs = {x, scale};
        if (c.hasBias) inputs.push_back(bias);
        expectNear(run1(OpKind::LayerNormalization, imported->attrs, inputs), c.x, want, 1e-5f);
    }
}

TEST(LayerNormalization, ImportRefusalsAndExportChain) {
    OnnxCall call{"LayerNormalization", 17, {}, {inputInfo({2, 5}), inputInfo({5})}, 3};
    auto r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_NE(r.error().message.find("Mean and InvStdDev"), std::string::npos) << r.error().message;
    call.outputCount = 1;
    call.attrs = attrsOf({{"stash_type", int64_t(2)}});
    EXPECT_FALSE(importNode(call).ok());
    call.attrs = attrsOf({{"axis", int64_t(2)}});
    EXPECT_FALSE(importNode(call).ok());
    // Scale that does not broadcast to the normalised dims.
    Error e = runError(OpKind::LayerNormalization, attrsOf({{"axis", int64_t(1)}}),
                       {Tensor(DataType::Float32, {2, 5}), Tensor(DataType::Float32, {4})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("LayerNormalization Scale [4]"), std::string::npos) << e.message;
    // Opset 13 has no LayerNormalization: the export spells it out (checked numerically against
    // ONNX Runtime in tests/engine/onnx/onnx_ort_tensor_ops_test.cpp).
    for (bool bias : {false, true}) {
        Graph g;
        std::vector<Shape> shapes = {{2, 5}, {5}};
        if (bias) shapes.push_back({5});
        auto chain = exportNode(OpKind::LayerNormalization,
                                attrsOf({{"axis", int64_t(1)}, {"epsilon", 1e-5f}}), shapes, g);
        ASSERT_TRUE(chain.ok()) << chain.error().toString();
        EXPECT_EQ(chain->front().opType, "ReduceMean");
        EXPECT_EQ(chain->size(), bias ? 9u : 8u);
        EXPECT_EQ(chain->back().opType, bias ? "Add" : "Mul");
    }
}

// LRN with its window written as bounds: channels c' with c - floor((size-1)/2) <= c' <=
// c + ceil((size-1)/2), inside [0, C).
TEST(LRN, MatchesTheWindowFormula) {
    const Shape s = {2, 7, 3, 2};
    Tensor x = randomTensor(s, 21);
    for (int64_t size : {1, 2, 3, 4, 5, 9}) {
        SCOPED_TRACE("size " + std::to_string(size));
        const float alpha = 0.02f, beta = 0.75f, bias = 1.5f;
        const double lo = std::floor((size - 1) / 2.0), hi = std::ceil((size - 1) / 2.0);
        std::vector<float> want;
        const int64_t plane = s[2] * s[3];
        for (int64_t i = 0; i < x.elements(); ++i) {
            const int64_t n = i / (s[1] * plane), c = (i / plane) % s[1], p = i % plane;
            double sum = 0;
            for (int64_t k = 0; k < s[1]; ++k) {
                if (k < c - lo || k > c + hi) continue;
                const double v = x.data<float>()[(n * s[1] + k) * plane + p];
                sum += v * v;
            }
            want.push_back(static_cast<float>(x.data<float>()[i] /
                                              std::pow(bias + alpha / double(size) * sum, beta)));
        }
        OnnxCall call{"LRN",
                      13,
                      attrsOf({{"size", size}, {"alpha", alpha}, {"beta", beta}, {"bias", bias}}),
                      {inputInfo(s)},
                      1};
        Attributes a = importedAttrs(call);
        expectRoundTrip(OpKind::LRN, a, {s});
        expectNear(run1(OpKind::LRN, a, {x}), s, want, 1e-6f);
    }
    // Defaults: alpha 1e-4, beta 0.75, bias 1.
    OnnxCall call{"LRN", 13, attrsOf({{"size", int64_t(3)}}), {inputInfo(s)}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_FLOAT_EQ(a.getFloat("alpha"), 1e-4f);
    EXPECT_FLOAT_EQ(a.getFloat("beta"), 0.75f);
    EXPECT_FLOAT_EQ(a.getFloat("bias"), 1.0f);
    // size is required; rank 2 has no spatial dims.
    call.attrs = {};
    EXPECT_FALSE(importNode(call).ok());
    Error e =
        runError(OpKind::LRN, attrsOf({{"size", int64_t(3)}}), {Tensor(DataType::Float32, {2, 3})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("LRN needs X as [N, C, spatial...]"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace prunelab::engine::testing

// Gemm and MatMul against hand-computed products and an independent formulation in the test
// (operands transposed/broadcast explicitly first, then a k-outer product), shape errors, the
// ONNX import defaults and the export round trip.
#include <gtest/gtest.h>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

// Plain [rows][cols] matrix helpers for the test's own formulation.
std::vector<double> transposed(const Tensor& t) {
    const int64_t r = t.dim(0), c = t.dim(1);
    std::vector<double> out(static_cast<size_t>(r * c));
    for (int64_t i = 0; i < r; ++i) {
        for (int64_t j = 0; j < c; ++j)
            out[static_cast<size_t>(j * r + i)] = t.data<float>()[i * c + j];
    }
    return out;
}

std::vector<double> asDouble(const Tensor& t) {
    std::vector<double> out;
    for (float v : t.span<float>()) out.push_back(v);
    return out;
}

// ---- Gemm ----

TEST(Gemm, HandComputedAlphaBetaAndRowBias) {
    // A*B = [[4, 5], [10, 11]]; 2 * AB + 0.5 * [1, 2] broadcast over rows.
    Tensor a = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor b = tensor({3, 2}, {1, 0, 0, 1, 1, 1});
    Tensor c = tensor({2}, {1, 2});
    Attributes attrs = attrsOf({{"alpha", 2.0f}, {"beta", 0.5f}});
    expectNear(run1(OpKind::Gemm, attrs, {a, b, c}), {2, 2}, {8.5f, 11.0f, 20.5f, 23.0f});
    // No C: just alpha * A * B.
    expectNear(run1(OpKind::Gemm, attrs, {a, b}), {2, 2}, {8, 10, 20, 22});
}

TEST(Gemm, HandComputedTransposes) {
    // transA with A stored as 3x2 (A^T = [[1, 3, 5], [2, 4, 6]]), transB with B stored 2x3.
    Tensor a = tensor({3, 2}, {1, 2, 3, 4, 5, 6});
    Tensor b = tensor({2, 3}, {1, 0, 1, 0, 1, 1});
    // A^T * B^T: rows [1, 3, 5] and [2, 4, 6] against columns [1, 0, 1] and [0, 1, 1].
    expectNear(
        run1(OpKind::Gemm, attrsOf({{"transA", int64_t(1)}, {"transB", int64_t(1)}}), {a, b}),
        {2, 2}, {6, 8, 8, 10});
}

TEST(Gemm, MatchesExplicitTransposeFormulation) {
    const int64_t m = 3, k = 5, n = 4;
    const Shape biasShapes[] = {{}, {1}, {n}, {m, 1}, {1, n}, {m, n}};
    uint32_t seed = 7;
    for (int transA = 0; transA < 2; ++transA) {
        for (int transB = 0; transB < 2; ++transB) {
            for (const Shape& cs : biasShapes) {
                SCOPED_TRACE(std::to_string(transA) + std::to_string(transB) + shapeToString(cs));
                Tensor a = randomTensor(transA ? Shape{k, m} : Shape{m, k}, seed++);
                Tensor b = randomTensor(transB ? Shape{n, k} : Shape{k, n}, seed++);
                Tensor c = randomTensor(cs, seed++);
                Attributes attrs = attrsOf({{"alpha", 0.75f},
                                            {"beta", -1.5f},
                                            {"transA", int64_t(transA)},
                                            {"transB", int64_t(transB)}});
                // The test's formulation: materialise A' and B', broadcast C to [m, n] by
                // repeating it, then accumulate rank-1 updates k-outer.
                std::vector<double> ap = transA ? transposed(a) : asDouble(a);
                std::vector<double> bp = transB ? transposed(b) : asDouble(b);
                std::vector<double> want(static_cast<size_t>(m * n), 0.0);
                for (int64_t kk = 0; kk < k; ++kk) {
                    for (int64_t i = 0; i < m; ++i) {
                        for (int64_t j = 0; j < n; ++j) {
                            want[static_cast<size_t>(i * n + j)] +=
                                ap[static_cast<size_t>(i * k + kk)] *
                                bp[static_cast<size_t>(kk * n + j)];
                        }
                    }
                }
                std::vector<float> cv = c.toFloatVector();
                const int64_t crows = cs.size() == 2 ? cs[0] : 1;
                const int64_t ccols = cs.empty() ? 1 : cs.back();
                std::vector<float> expected;
                for (int64_t i = 0; i < m; ++i) {
                    for (int64_t j = 0; j < n; ++j) {
                        const double cij = cv[static_cast<size_t>((i % crows) * ccols + j % ccols)];
                        expected.push_back(static_cast<float>(
                            0.75 * want[static_cast<size_t>(i * n + j)] - 1.5 * cij));
                    }
                }
                expectNear(run1(OpKind::Gemm, attrs, {a, b, c}), {m, n}, expected);
            }
        }
    }
}

TEST(Gemm, ShapeErrors) {
    Error e = runError(OpKind::Gemm, {},
                       {Tensor(DataType::Float32, {2, 3}), Tensor(DataType::Float32, {4, 2})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_NE(e.message.find("3 columns"), std::string::npos) << e.message;
    EXPECT_EQ(runError(OpKind::Gemm, {},
                       {Tensor(DataType::Float32, {2, 3}), Tensor(DataType::Float32, {3, 4}),
                        Tensor(DataType::Float32, {3})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::Gemm, {},
                       {Tensor(DataType::Float32, {2, 3, 1}), Tensor(DataType::Float32, {3, 4})})
                  .code,
              ErrorCode::ShapeMismatch);
}

TEST(Gemm, ImportDefaultsAndRoundTrip) {
    OnnxCall call{"Gemm",
                  9,
                  attrsOf({{"transB", int64_t(1)}}),
                  {inputInfo({2, 3}), inputInfo({4, 3}), inputInfo({4})},
                  1};
    Result<OnnxImport> r = importNode(call);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->attrs.getFloat("alpha"), 1.0f);
    EXPECT_EQ(r->attrs.getFloat("beta"), 1.0f);
    EXPECT_EQ(r->attrs.getInt("transA", -1), 0);
    EXPECT_EQ(r->attrs.getInt("transB", -1), 1);
    EXPECT_EQ(r->inputs, (std::vector<int>{0, 1, 2}));
    expectRoundTrip(OpKind::Gemm, r->attrs, {{2, 3}, {4, 3}, {4}});
    expectRoundTrip(
        OpKind::Gemm,
        attrsOf({{"alpha", 0.5f}, {"beta", 2.0f}, {"transA", int64_t(1)}, {"transB", int64_t(0)}}),
        {{3, 2}, {3, 4}});
}

// ---- MatMul ----

TEST(MatMul, HandComputedVectorsAndMatrices) {
    // [1, 2] . [3, 4] = 11, a scalar.
    expectNear(run1(OpKind::MatMul, {}, {tensor({2}, {1, 2}), tensor({2}, {3, 4})}), {}, {11});
    // Row vector times matrix: [1, 2] * [[1, 2, 3], [4, 5, 6]] = [9, 12, 15].
    Tensor m23 = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    expectNear(run1(OpKind::MatMul, {}, {tensor({2}, {1, 2}), m23}), {3}, {9, 12, 15});
    // Matrix times column vector: [[1, 2, 3], [4, 5, 6]] * [1, 0, -1] = [-2, -2].
    expectNear(run1(OpKind::MatMul, {}, {m23, tensor({3}, {1, 0, -1})}), {2}, {-2, -2});
    // A batch of two 1x2 rows against one shared 2x1 column.
    expectNear(run1(OpKind::MatMul, {}, {tensor({2, 1, 2}, {1, 2, 3, 4}), tensor({2, 1}, {10, 1})}),
               {2, 1, 1}, {12, 34});
    // 1-D A against a batch of matrices: the row is shared, the promoted dim dropped.
    expectNear(run1(OpKind::MatMul, {}, {tensor({2}, {1, 1}), tensor({2, 2, 1}, {1, 2, 3, 4})}),
               {2, 1}, {3, 7});
}

// Broadcasts a [batch..., r, c] operand to the full batch explicitly (the test's own way).
std::vector<double> broadcastTo(const Tensor& t, const Shape& batch) {
    const Shape& s = t.shape();
    const int64_t r = s[s.size() - 2], c = s.back();
    int64_t count = 1;
    for (int64_t d : batch) count *= d;
    std::vector<double> out;
    for (int64_t flat = 0; flat < count; ++flat) {
        // Multi-index in the full batch, then clamp each size-1 dim of t to 0.
        std::vector<int64_t> index(batch.size());
        int64_t rest = flat;
        for (size_t i = batch.size(); i-- > 0;) {
            index[i] = rest % batch[i];
            rest /= batch[i];
        }
        int64_t offset = 0;
        const size_t tb = s.size() - 2, lead = batch.size() - tb;
        for (size_t i = 0; i < tb; ++i) offset = offset * s[i] + (s[i] == 1 ? 0 : index[lead + i]);
        for (int64_t e = 0; e < r * c; ++e) out.push_back(t.data<float>()[offset * r * c + e]);
    }
    return out;
}

TEST(MatMul, BatchedBroadcastMatchesExplicitBroadcast) {
    struct Case {
        Shape a, b, batch;
    };
    const Case cases[] = {
        {{2, 1, 3, 4}, {3, 4, 5}, {2, 3}},
        {{3, 4}, {2, 2, 4, 1}, {2, 2}},
        {{1, 2, 1, 4}, {3, 1, 4, 2}, {3, 2}},
        {{5, 1, 1}, {5, 1, 3}, {5}},
    };
    uint32_t seed = 40;
    for (const Case& k : cases) {
        SCOPED_TRACE(shapeToString(k.a) + " x " + shapeToString(k.b));
        Tensor a = randomTensor(k.a, seed++), b = randomTensor(k.b, seed++);
        const int64_t m = k.a[k.a.size() - 2], kk = k.a.back(), n = k.b.back();
        std::vector<double> ab = broadcastTo(a, k.batch), bb = broadcastTo(b, k.batch);
        std::vector<float> expected;
        for (size_t bi = 0; bi < ab.size() / static_cast<size_t>(m * kk); ++bi) {
            for (int64_t i = 0; i < m; ++i) {
                for (int64_t j = 0; j < n; ++j) {
                    double s = 0.0;
                    for (int64_t e = 0; e < kk; ++e) {
                        s +=
                            ab[bi * static_cast<size_t>(m * kk) + static_cast<size_t>(i * kk + e)] *
                            bb[bi * static_cast<size_t>(kk * n) + static_cast<size_t>(e * n + j)];
                    }
                    expected.push_back(static_cast<float>(s));
                }
            }
        }
        Shape outShape = k.batch;
        outShape.push_back(m);
        outShape.push_back(n);
        expectNear(run1(OpKind::MatMul, {}, {a, b}), outShape, expected);
    }
}

TEST(MatMul, ShapeErrorsAndRoundTrip) {
    Error e = runError(OpKind::MatMul, {},
                       {Tensor(DataType::Float32, {2, 3}), Tensor(DataType::Float32, {4, 2})});
    EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::MatMul, {},
                       {Tensor(DataType::Float32, {2, 2, 3}), Tensor(DataType::Float32, {3, 3, 2})})
                  .code,
              ErrorCode::ShapeMismatch);
    EXPECT_EQ(runError(OpKind::MatMul, {},
                       {Tensor(DataType::Float32, {}), Tensor(DataType::Float32, {3})})
                  .code,
              ErrorCode::ShapeMismatch);
    Result<OnnxImport> r =
        importNode({"MatMul", 13, {}, {inputInfo({2, 3}), inputInfo({3, 4})}, 1});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->inputs, (std::vector<int>{0, 1}));
    expectRoundTrip(OpKind::MatMul, {}, {{2, 3}, {3, 4}});
}

}  // namespace
}  // namespace prunelab::engine::testing

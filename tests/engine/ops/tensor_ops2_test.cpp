// Expand, Tile, Range, ReduceMax/Sum/Min, ArgMax and GlobalMaxPool against independent
// formulations written here (index arithmetic by division, nested loops over the reduced
// coordinates), negative axes and keepdims through the ONNX import, and shape errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "compute_test_util.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

// The coordinates of flat row-major index `flat` in `shape`, by division.
Ints coordsOf(int64_t flat, const Shape& shape) {
    Ints c(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        c[d] = flat % shape[d];
        flat /= shape[d];
    }
    return c;
}
int64_t flatOf(const Ints& c, const Shape& shape) {
    int64_t flat = 0;
    for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + c[d];
    return flat;
}

void expectErrorMentions(const Error& e, ErrorCode code, const std::string& op,
                         const std::string& problem) {
    EXPECT_EQ(e.code, code) << e.toString();
    EXPECT_NE(e.message.find(op), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(problem), std::string::npos) << e.message;
}

// ---- Expand ----

TEST(Expand, MatchesIndexArithmetic) {
    struct Case {
        Shape x, out;
    };
    const Case cases[] = {
        {{3, 1}, {2, 3, 4}}, {{1, 4}, {3, 4}}, {{2, 1, 3}, {2, 5, 3}}, {{}, {2, 2}}};
    uint32_t seed = 1;
    for (const Case& c : cases) {
        SCOPED_TRACE(shapeToString(c.x) + " -> " + shapeToString(c.out));
        Tensor x = randomTensor(c.x, seed++);
        Tensor y = run1(OpKind::Expand, attrsOf({{"shape", Ints(c.out)}}), {x});
        ASSERT_EQ(y.shape(), c.out);
        const size_t lead = c.out.size() - c.x.size();
        for (int64_t o = 0; o < y.elements(); ++o) {
            Ints oc = coordsOf(o, c.out), ic;
            for (size_t d = 0; d < c.x.size(); ++d) ic.push_back(c.x[d] == 1 ? 0 : oc[lead + d]);
            EXPECT_EQ(y.data<float>()[o], x.data<float>()[flatOf(ic, c.x)]) << "element " << o;
        }
    }
    // Any dtype: int64 moves as it is.
    Tensor i = Tensor::fromVector<int64_t>({2, 1}, {7, -9});
    EXPECT_EQ(run1(OpKind::Expand, attrsOf({{"shape", Ints{2, 3}}}), {i}).toInt64Vector(),
              (Ints{7, 7, 7, -9, -9, -9}));
}

TEST(Expand, ImportResolvesTheOutputShapeAndRoundTrips) {
    // ONNX's shape may hold 1s where X is larger, and fewer dims than X.
    Tensor shape = Tensor::fromVector<int64_t>({3}, {2, 1, 4});
    OnnxCall call{"Expand", 13, {}, {inputInfo({3, 1}), constantInfo(shape)}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getInts("shape"), (Ints{2, 3, 4}));
    expectRoundTrip(OpKind::Expand, a, {{3, 1}});
    Tensor small = Tensor::fromVector<int64_t>({1}, {1});
    call.inputs = {inputInfo({3, 5}), constantInfo(small)};
    EXPECT_EQ(importedAttrs(call).getInts("shape"), (Ints{3, 5}));
    // A shape computed at run time cannot become an attribute; a shape that does not broadcast.
    call.inputs = {inputInfo({3, 1}), inputInfo({3}, DataType::Int64)};
    auto r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    Tensor bad = Tensor::fromVector<int64_t>({2}, {2, 4});
    call.inputs = {inputInfo({3, 1}), constantInfo(bad)};
    EXPECT_FALSE(importNode(call).ok());
}

TEST(Expand, ShapeErrorsNameTheOpAndTheProblem) {
    expectErrorMentions(runError(OpKind::Expand, attrsOf({{"shape", Ints{3, 4}}}),
                                 {Tensor(DataType::Float32, {2, 4})}),
                        ErrorCode::ShapeMismatch, "Expand", "cannot broadcast [2, 4] to [3, 4]");
    // A hostile file's shape is refused before anything is allocated.
    EXPECT_EQ(
        runError(OpKind::Expand, attrsOf({{"shape", Ints{int64_t(1) << 31, int64_t(1) << 31}}}),
                 {Tensor(DataType::Float32, {1, 1})})
            .code,
        ErrorCode::OutOfRange);
    EXPECT_EQ(runError(OpKind::Tile, attrsOf({{"repeats", Ints{int64_t(1) << 40, 1}}}),
                       {Tensor(DataType::Float32, {1 << 12, 1})})
                  .code,
              ErrorCode::ShapeMismatch);
    // The target may not drop X's dims.
    EXPECT_EQ(
        runError(OpKind::Expand, attrsOf({{"shape", Ints{4}}}), {Tensor(DataType::Float32, {2, 4})})
            .code,
        ErrorCode::ShapeMismatch);
}

// ---- Tile ----

TEST(Tile, MatchesIndexArithmetic) {
    struct Case {
        Shape x;
        Ints repeats;
    };
    const Case cases[] = {{{2, 3}, {2, 1}}, {{2, 1, 3}, {1, 4, 2}}, {{5}, {3}}, {{2, 2}, {0, 3}}};
    uint32_t seed = 10;
    for (const Case& c : cases) {
        SCOPED_TRACE(shapeToString(c.x) + " x " + shapeToString(c.repeats));
        Tensor x = randomTensor(c.x, seed++);
        Tensor y = run1(OpKind::Tile, attrsOf({{"repeats", c.repeats}}), {x});
        Shape want;
        for (size_t d = 0; d < c.x.size(); ++d) want.push_back(c.x[d] * c.repeats[d]);
        ASSERT_EQ(y.shape(), want);
        for (int64_t o = 0; o < y.elements(); ++o) {
            Ints oc = coordsOf(o, want);
            for (size_t d = 0; d < oc.size(); ++d) oc[d] %= c.x[d];
            EXPECT_EQ(y.data<float>()[o], x.data<float>()[flatOf(oc, c.x)]) << "element " << o;
        }
    }
}

TEST(Tile, ImportRoundTripAndErrors) {
    Tensor repeats = Tensor::fromVector<int64_t>({2}, {3, 2});
    OnnxCall call{"Tile", 13, {}, {inputInfo({2, 4}), constantInfo(repeats)}, 1};
    Attributes a = importedAttrs(call);
    EXPECT_EQ(a.getInts("repeats"), (Ints{3, 2}));
    expectRoundTrip(OpKind::Tile, a, {{2, 4}});
    // Tile-1's (input, tiles, axis) meant something else: refused, not misread.
    Tensor axis = Tensor::fromVector<int64_t>({1}, {0});
    OnnxCall tile1{
        "Tile", 1, {}, {inputInfo({2, 4}), constantInfo(repeats), constantInfo(axis)}, 1};
    auto refused = importNode(tile1);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::Unsupported);
    Tensor wrongCount = Tensor::fromVector<int64_t>({1}, {3});
    call.inputs[1] = constantInfo(wrongCount);
    EXPECT_FALSE(importNode(call).ok());
    expectErrorMentions(runError(OpKind::Tile, attrsOf({{"repeats", Ints{2}}}),
                                 {Tensor(DataType::Float32, {2, 4})}),
                        ErrorCode::ShapeMismatch, "Tile", "one count per dim");
    expectErrorMentions(runError(OpKind::Tile, attrsOf({{"repeats", Ints{1, -1}}}),
                                 {Tensor(DataType::Float32, {2, 4})}),
                        ErrorCode::InvalidArgument, "Tile", "negative");
}

// ---- Range ----

Attributes rangeAttrs(Tensor start, Tensor limit, Tensor delta) {
    return attrsOf({{"start", start}, {"limit", limit}, {"delta", delta}});
}
Tensor f1(float v) {
    return Tensor::fromVector<float>({1}, {v});
}
Tensor i1(int64_t v) {
    return Tensor::fromVector<int64_t>({1}, {v});
}

TEST(Range, MatchesTheDefinition) {
    // Written out: n = max(ceil((limit - start) / delta), 0), y[i] = start + i * delta.
    struct Case {
        int64_t start, limit, delta;
    };
    for (const Case& c : {Case{0, 10, 3}, Case{10, 0, -3}, Case{5, 0, 1}, Case{-4, 4, 2}}) {
        SCOPED_TRACE(std::to_string(c.start) + ".." + std::to_string(c.limit) + " by " +
                     std::to_string(c.delta));
        Ints want;
        for (int64_t v = c.start; c.delta > 0 ? v < c.limit : v > c.limit; v += c.delta) {
            want.push_back(v);
        }
        Tensor y = run1(OpKind::Range, rangeAttrs(i1(c.start), i1(c.limit), i1(c.delta)), {});
        EXPECT_EQ(y.dtype(), DataType::Int64);
        EXPECT_EQ(y.shape(), (Shape{static_cast<int64_t>(want.size())}));
        EXPECT_EQ(y.toInt64Vector(), want);
        // The same in float32.
        Tensor f = run1(OpKind::Range,
                        rangeAttrs(f1(float(c.start)), f1(float(c.limit)), f1(float(c.delta))), {});
        EXPECT_EQ(f.dtype(), DataType::Float32);
        std::vector<float> wf(want.begin(), want.end());
        EXPECT_EQ(f.toFloatVector(), wf);
    }
    // A fractional step: ceil(1 / 0.3) = 4 elements.
    Tensor f = run1(OpKind::Range, rangeAttrs(f1(0), f1(1), f1(0.3f)), {});
    expectNear(f, {4}, {0, 0.3f, 0.6f, 0.9f});
}

TEST(Range, ErrorsAndImport) {
    expectErrorMentions(runError(OpKind::Range, rangeAttrs(i1(0), i1(4), i1(0)), {}),
                        ErrorCode::InvalidArgument, "Range", "delta must not be 0");
    expectErrorMentions(runError(OpKind::Range, rangeAttrs(i1(0), f1(4), i1(1)), {}),
                        ErrorCode::InvalidArgument, "Range", "one dtype");
    // Import folds the three constant scalars; a computed operand is refused, naming it.
    Tensor s = Tensor::fromVector<int64_t>({}, {2}), l = Tensor::fromVector<int64_t>({}, {9}),
           d = Tensor::fromVector<int64_t>({}, {3});
    OnnxCall call{"Range", 13, {}, {constantInfo(s), constantInfo(l), constantInfo(d)}, 1};
    auto r = importNode(call);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_TRUE(r->inputs.empty());
    EXPECT_EQ(run1(OpKind::Range, r->attrs, {}).toInt64Vector(), (Ints{2, 5, 8}));
    call.inputs[1] = inputInfo({}, DataType::Int64);
    r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_NE(r.error().message.find("limit"), std::string::npos) << r.error().message;
}

// ---- ReduceMax, ReduceSum, ReduceMin ----

// The reduction written as nested loops: for each output coordinate (in the keepdims layout),
// walk every combination of the reduced coordinates.
std::vector<double> reduceByLoops(const Tensor& x, const std::vector<bool>& reduced, OpKind op) {
    const Shape& s = x.shape();
    Shape kept = s;
    for (size_t d = 0; d < s.size(); ++d) {
        if (reduced[d]) kept[d] = 1;
    }
    Shape inner;
    for (size_t d = 0; d < s.size(); ++d) inner.push_back(reduced[d] ? s[d] : 1);
    std::vector<double> out;
    for (int64_t o = 0; o < elementCount(kept); ++o) {
        const Ints oc = coordsOf(o, kept);
        double acc = op == OpKind::ReduceSum   ? 0.0
                     : op == OpKind::ReduceMax ? -std::numeric_limits<double>::infinity()
                                               : std::numeric_limits<double>::infinity();
        for (int64_t k = 0; k < elementCount(inner); ++k) {
            Ints c = coordsOf(k, inner);
            for (size_t d = 0; d < c.size(); ++d) c[d] += oc[d];
            const double v = x.toFloatVector()[static_cast<size_t>(flatOf(c, s))];
            acc = op == OpKind::ReduceSum   ? acc + v
                  : op == OpKind::ReduceMax ? std::max(acc, v)
                                            : std::min(acc, v);
        }
        out.push_back(acc);
    }
    return out;
}

TEST(Reduce, MatchesNestedLoopsWithNegativeAxesAndKeepdims) {
    const Shape s = {2, 3, 4, 5};
    Tensor x = randomTensor(s, 41);
    const std::vector<Ints> onnxAxes = {{-1}, {1, -1}, {0, 2}, {}, {-4, 1, 2, 3}};
    for (OpKind op : {OpKind::ReduceMax, OpKind::ReduceSum, OpKind::ReduceMin}) {
        for (const Ints& axes : onnxAxes) {
            for (int64_t keep : {0, 1}) {
                SCOPED_TRACE(std::string(opName(op)) + " axes " + shapeToString(axes) +
                             " keepdims " + std::to_string(keep));
                // Import from the ONNX attribute (opset 13) or, for ReduceSum-13, the input.
                OnnxCall call{
                    std::string(opName(op)), 13, attrsOf({{"keepdims", keep}}), {inputInfo(s)}, 1};
                Tensor axesTensor =
                    Tensor::fromVector<int64_t>({static_cast<int64_t>(axes.size())}, axes);
                if (op == OpKind::ReduceSum) {
                    if (!axes.empty()) call.inputs.push_back(constantInfo(axesTensor));
                } else if (!axes.empty()) {
                    call.attrs.set("axes", axes);
                }
                Attributes a = importedAttrs(call);
                expectRoundTrip(op, a, {s});
                std::vector<bool> reduced(4, axes.empty());
                for (int64_t ax : axes) reduced[static_cast<size_t>((ax + 4) % 4)] = true;
                Shape want;
                for (size_t d = 0; d < 4; ++d) {
                    if (!reduced[d])
                        want.push_back(s[d]);
                    else if (keep)
                        want.push_back(1);
                }
                std::vector<double> ref = reduceByLoops(x, reduced, op);
                expectNear(run1(op, a, {x}), want, std::vector<float>(ref.begin(), ref.end()),
                           1e-5f);
            }
        }
    }
}

TEST(Reduce, Int64AndNoopWithEmptyAxes) {
    Tensor x = Tensor::fromVector<int64_t>({2, 3}, {1, -5, 3, 4, 9, -6});
    Attributes a = attrsOf({{"axes", Ints{1}}, {"keepdims", int64_t(0)}});
    EXPECT_EQ(run1(OpKind::ReduceSum, a, {x}).toInt64Vector(), (Ints{-1, 7}));
    EXPECT_EQ(run1(OpKind::ReduceMax, a, {x}).toInt64Vector(), (Ints{3, 9}));
    EXPECT_EQ(run1(OpKind::ReduceMin, a, {x}).toInt64Vector(), (Ints{-5, -6}));
    // noop_with_empty_axes and no axes: the input as it is (ReduceSum-13, every reduce at 18).
    for (const char* type : {"ReduceSum", "ReduceMax", "ReduceMin"}) {
        SCOPED_TRACE(type);
        OnnxCall call{
            type, 18, attrsOf({{"noop_with_empty_axes", int64_t(1)}}), {inputInfo({2, 3})}, 1};
        Attributes noop = importedAttrs(call);
        const OpKind op = opDefForOnnx(type)->kind;
        Tensor f = randomTensor({2, 3}, 5);
        expectNear(run1(op, noop, {f}), {2, 3}, values(f), 0.0f);
        // Exported at opset 13 as an Identity (ReduceMax/Min-13 have no noop_with_empty_axes).
        Graph g;
        auto chain = exportNode(op, noop, {{2, 3}}, g);
        ASSERT_TRUE(chain.ok());
        EXPECT_EQ(chain->front().opType, "Identity");
    }
    // Empty axes without noop reduce everything.
    Tensor f = randomTensor({3, 2}, 6);
    double sum = 0;
    for (float v : values(f)) sum += v;
    expectNear(run1(OpKind::ReduceSum, attrsOf({{"keepdims", int64_t(0)}}), {f}), {},
               {static_cast<float>(sum)});
}

TEST(Reduce, ErrorsNameTheOpAndTheProblem) {
    expectErrorMentions(runError(OpKind::ReduceMax, attrsOf({{"axes", Ints{2}}}),
                                 {Tensor(DataType::Float32, {2, 3})}),
                        ErrorCode::InvalidArgument, "ReduceMax", "axis 2 is out of range");
    expectErrorMentions(runError(OpKind::ReduceMin, attrsOf({{"axes", Ints{0}}}),
                                 {Tensor(DataType::Float32, {0, 3})}),
                        ErrorCode::ShapeMismatch, "ReduceMin", "empty axis");
    // A sum over nothing is 0.
    expectNear(run1(OpKind::ReduceSum, attrsOf({{"axes", Ints{0}}, {"keepdims", int64_t(0)}}),
                    {Tensor(DataType::Float32, {0, 3})}),
               {3}, {0, 0, 0});
    OnnxCall call{"ReduceMax", 13, attrsOf({{"axes", Ints{-3}}}), {inputInfo({2, 3})}, 1};
    EXPECT_FALSE(importNode(call).ok());
    Tensor axes = Tensor::fromVector<int64_t>({1}, {0});
    call = OnnxCall{"ReduceSum", 13, {}, {inputInfo({2, 3}), inputInfo({1}, DataType::Int64)}, 1};
    auto r = importNode(call);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
}

// ---- ArgMax ----

TEST(ArgMax, TiesGoFirstOrLast) {
    // Row 0: ties at 1 and 3; row 1: all equal.
    Tensor x = tensor({2, 4}, {0, 5, 1, 5, 2, 2, 2, 2});
    Attributes first = attrsOf({{"axis", int64_t(1)}, {"keepdims", int64_t(0)}});
    Tensor y = run1(OpKind::ArgMax, first, {x});
    EXPECT_EQ(y.dtype(), DataType::Int64);
    EXPECT_EQ(y.shape(), (Shape{2}));
    EXPECT_EQ(y.toInt64Vector(), (Ints{1, 0}));
    Attributes last = first;
    last.set("select_last_index", int64_t(1));
    EXPECT_EQ(run1(OpKind::ArgMax, last, {x}).toInt64Vector(), (Ints{3, 3}));
    // Along axis 0 with keepdims.
    Tensor down = run1(OpKind::ArgMax, attrsOf({{"axis", int64_t(0)}}), {x});
    EXPECT_EQ(down.shape(), (Shape{1, 4}));
    EXPECT_EQ(down.toInt64Vector(), (Ints{1, 0, 1, 0}));
}

TEST(ArgMax, MatchesAScanAlongEachAxis) {
    const Shape s = {3, 4, 5};
    Tensor x = randomTensor(s, 9);
    for (int64_t onnxAxis : {-1, 0, 1, -2}) {
        SCOPED_TRACE("axis " + std::to_string(onnxAxis));
        OnnxCall call{"ArgMax",
                      13,
                      attrsOf({{"axis", onnxAxis}, {"keepdims", int64_t(1)}}),
                      {inputInfo(s)},
                      1};
        Attributes a = importedAttrs(call);
        expectRoundTrip(OpKind::ArgMax, a, {s});
        const auto axis = static_cast<size_t>((onnxAxis + 3) % 3);
        Shape kept = s;
        kept[axis] = 1;
        Tensor y = run1(OpKind::ArgMax, a, {x});
        ASSERT_EQ(y.shape(), kept);
        for (int64_t o = 0; o < y.elements(); ++o) {
            Ints c = coordsOf(o, kept);
            int64_t best = 0;
            float bestValue = -std::numeric_limits<float>::infinity();
            for (int64_t k = 0; k < s[axis]; ++k) {
                c[axis] = k;
                const float v = x.data<float>()[flatOf(c, s)];
                if (v > bestValue) {
                    bestValue = v;
                    best = k;
                }
            }
            EXPECT_EQ(y.data<int64_t>()[o], best) << "element " << o;
        }
    }
    expectErrorMentions(
        runError(OpKind::ArgMax, attrsOf({{"axis", int64_t(3)}}), {Tensor(DataType::Float32, s)}),
        ErrorCode::InvalidArgument, "ArgMax", "axis 3 is out of range");
}

// ---- GlobalMaxPool ----

TEST(GlobalMaxPool, MatchesAScanPerPlane) {
    for (const Shape& s : {Shape{2, 3, 4, 5}, Shape{1, 2, 7}, Shape{1, 1, 1, 1}}) {
        SCOPED_TRACE(shapeToString(s));
        Tensor x = randomTensor(s, 3);
        Shape want = s;
        for (size_t d = 2; d < s.size(); ++d) want[d] = 1;
        const int64_t plane = x.elements() / (s[0] * s[1]);
        std::vector<float> ref;
        for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
            const float* p = x.data<float>() + nc * plane;
            ref.push_back(*std::max_element(p, p + plane));
        }
        expectNear(run1(OpKind::GlobalMaxPool, {}, {x}), want, ref, 0.0f);
    }
    expectErrorMentions(runError(OpKind::GlobalMaxPool, {}, {Tensor(DataType::Float32, {2, 3})}),
                        ErrorCode::ShapeMismatch, "GlobalMaxPool", "[N, C, spatial...]");
    expectRoundTrip(OpKind::GlobalMaxPool, {}, {{1, 2, 3, 3}});
}

}  // namespace
}  // namespace prunelab::engine::testing

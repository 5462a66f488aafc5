// The tensor ops of issue 22 (Expand, Tile, Range, ReduceMax/Sum/Min, ArgMax,
// InstanceNormalization, LayerNormalization, GlobalMaxPool, LRN) and the old Upsample, each in
// a small ONNX model built here: ONNX Runtime on that model is the independent answer. The
// imported graph must match it on the reference runner and the CPU executor, and our export
// of the graph must pass onnx's checker and give ONNX Runtime the same answer again.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "engine/onnx/onnx_import.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/refrt/ort_runner.h"
#include "tests/engine/onnx/onnx_roundtrip.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine::testing {
namespace {

using Ints = std::vector<int64_t>;

// Within 1e-4 of `want`'s range (exact for integer outputs).
void expectClose(const Tensor& got, const Tensor& want, const std::string& who) {
    ASSERT_EQ(got.shape(), want.shape()) << who;
    ASSERT_EQ(got.dtype(), want.dtype()) << who;
    if (want.dtype() == DataType::Int64) {
        EXPECT_EQ(got.toInt64Vector(), want.toInt64Vector()) << who;
        return;
    }
    const std::vector<float> a = want.toFloatVector(), b = got.toFloatVector();
    if (a.empty()) return;
    const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
    const float range = std::max(*hi - *lo, 1e-3f);
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    EXPECT_LE(worst, 1e-4f * range) << who << ": range " << range;
}

std::vector<Tensor> runOrt(const std::string& bytes, const std::string& name,
                           const std::vector<Tensor>& inputs) {
    auto ort = refrt::OrtRunner::loadBytes(bytes, name, 1);
    EXPECT_TRUE(ort.ok()) << ort.error().toString();
    if (!ort.ok()) return {};
    auto out = (*ort)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? *out : std::vector<Tensor>{};
}

// Imports `model`, checks that `op` survived import (unless it folds), and compares ONNX
// Runtime on the model, our reference runner, our CPU executor and ONNX Runtime on our export.
void expectMatchesOrt(OnnxModelBuilder& model, const std::vector<Tensor>& inputs,
                      const std::string& op, bool folds = false) {
    SCOPED_TRACE(op);
    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime: nothing to compare";
    const std::string bytes = model.bytes();
    const std::vector<Tensor> theirs = runOrt(bytes, op + ".onnx", inputs);
    ASSERT_FALSE(theirs.empty());
    auto graph = importOnnxBytes(bytes, op + ".onnx", "");
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const bool present = std::any_of(graph->nodes.begin(), graph->nodes.end(),
                                     [&](const Node& n) { return opName(n.op) == op; });
    EXPECT_EQ(present, !folds) << op << (folds ? " should fold" : " is not in the graph");
    auto ours = runGraphReference(*graph, inputs);
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    auto exec = cpu::CpuExecutor::create(*graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto cpuOut = (*exec)->run(inputs);
    ASSERT_TRUE(cpuOut.ok()) << cpuOut.error().toString();
    auto exported = exportOnnxBytes(*graph);
    ASSERT_TRUE(exported.ok()) << exported.error().toString();
    expectPassesOnnxChecker(*exported);
    const std::vector<Tensor> again = runOrt(*exported, op + " (exported)", inputs);
    ASSERT_EQ(ours->size(), theirs.size());
    ASSERT_EQ(cpuOut->size(), theirs.size());
    ASSERT_EQ(again.size(), theirs.size());
    for (size_t o = 0; o < theirs.size(); ++o) {
        expectClose((*ours)[o], theirs[o], "reference output " + std::to_string(o));
        expectClose((*cpuOut)[o], theirs[o], "CPU executor output " + std::to_string(o));
        expectClose(again[o], theirs[o], "ONNX Runtime on our export, output " + std::to_string(o));
    }
}

Tensor int64s(const Ints& v) {
    return Tensor::fromVector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// A one-op model: input x of `shape`, op(x, constant operands...) -> y.
OnnxModelBuilder oneOp(int64_t opset, const std::string& op, const Shape& shape,
                       const std::vector<Tensor>& constants,
                       const std::function<void(onnx::NodeProto&)>& attrs = {},
                       int32_t outType = onnx::TensorProto::FLOAT) {
    OnnxModelBuilder b(opset);
    b.input("x", shape);
    std::vector<std::string> ins = {"x"};
    for (size_t i = 0; i < constants.size(); ++i) {
        std::string name = "c";  // built by appending (GCC 12 -Wrestrict false positive)
        name += std::to_string(i);
        if (constants[i].empty()) {
            ins.push_back("");
            continue;
        }
        b.initializer(name, constants[i]);
        ins.push_back(name);
    }
    onnx::NodeProto& node = b.node(op, ins, {"y"});
    if (attrs) attrs(node);
    b.output("y", outType);
    return b;
}

TEST(OnnxOrtTensorOps, ExpandAndTile) {
    auto expand = oneOp(13, "Expand", {3, 1}, {int64s({2, 1, 4})});
    expectMatchesOrt(expand, {randomFloats({3, 1}, 1)}, "Expand");
    auto tile = oneOp(13, "Tile", {2, 3, 2}, {int64s({2, 1, 3})});
    expectMatchesOrt(tile, {randomFloats({2, 3, 2}, 2)}, "Tile");
}

TEST(OnnxOrtTensorOps, RangeFoldsInFloatAndInt64) {
    // y = x + Range(-1.5, 2.2, 0.4): the Range folds at import, its values must be ONNX's.
    OnnxModelBuilder b(13);
    b.input("x", {10});
    b.initializer("s", Tensor::fromVector<float>({}, {-1.5f}));
    b.initializer("l", Tensor::fromVector<float>({}, {2.2f}));
    b.initializer("d", Tensor::fromVector<float>({}, {0.4f}));
    b.node("Range", {"s", "l", "d"}, {"r"});
    b.node("Add", {"x", "r"}, {"y"});
    b.output("y");
    expectMatchesOrt(b, {randomFloats({10}, 3)}, "Range", true);
    OnnxModelBuilder i(13);
    i.input("x", {4}, onnx::TensorProto::INT64);
    i.initializer("s", Tensor::fromVector<int64_t>({}, {10}));
    i.initializer("l", Tensor::fromVector<int64_t>({}, {-1}));
    i.initializer("d", Tensor::fromVector<int64_t>({}, {-3}));
    i.node("Range", {"s", "l", "d"}, {"r"});
    i.node("Add", {"x", "r"}, {"y"});
    i.output("y", onnx::TensorProto::INT64);
    expectMatchesOrt(i, {Tensor::fromVector<int64_t>({4}, {1, 2, 3, 4})}, "Range", true);
}

TEST(OnnxOrtTensorOps, Reductions) {
    const Shape s = {2, 3, 4, 5};
    const Tensor x = randomFloats(s, 4);
    for (const char* op : {"ReduceMax", "ReduceMin"}) {
        for (int64_t keep : {0, 1}) {
            auto m = oneOp(13, op, s, {}, [&](onnx::NodeProto& n) {
                setAttr(n, "axes", Ints{-1, 1});
                setAttr(n, "keepdims", keep);
            });
            expectMatchesOrt(m, {x}, op);
        }
        auto all = oneOp(13, op, s, {});  // no axes: everything
        expectMatchesOrt(all, {x}, op);
        // Opset 18: axes as an input.
        auto in18 = oneOp(18, op, s, {int64s({0, -2})});
        expectMatchesOrt(in18, {x}, op);
    }
    for (int64_t keep : {0, 1}) {
        auto sum = oneOp(13, "ReduceSum", s, {int64s({-1, 1})},
                         [&](onnx::NodeProto& n) { setAttr(n, "keepdims", keep); });
        expectMatchesOrt(sum, {x}, "ReduceSum");
    }
    auto sumAll = oneOp(13, "ReduceSum", s, {});
    expectMatchesOrt(sumAll, {x}, "ReduceSum");
}

TEST(OnnxOrtTensorOps, ArgMaxTies) {
    // Few distinct values, so every row has ties: first and last index both checked.
    Tensor x = randomFloats({3, 6, 4}, 5);
    for (float& v : x.span<float>()) v = std::round(v * 2.0f);
    for (int64_t last : {0, 1}) {
        for (int64_t axis : {1, -1}) {
            for (int64_t keep : {0, 1}) {
                auto m = oneOp(
                    13, "ArgMax", {3, 6, 4}, {},
                    [&](onnx::NodeProto& n) {
                        setAttr(n, "axis", axis);
                        setAttr(n, "keepdims", keep);
                        setAttr(n, "select_last_index", last);
                    },
                    onnx::TensorProto::INT64);
                expectMatchesOrt(m, {x}, "ArgMax");
            }
        }
    }
}

TEST(OnnxOrtTensorOps, Normalizations) {
    const Shape s = {2, 3, 5, 4};
    auto inorm = oneOp(13, "InstanceNormalization", s, {randomFloats({3}, 6), randomFloats({3}, 7)},
                       [](onnx::NodeProto& n) { setAttr(n, "epsilon", 1e-3f); });
    expectMatchesOrt(inorm, {randomFloats(s, 8)}, "InstanceNormalization");
    for (bool bias : {true, false}) {
        for (int64_t axis : {-1, 1}) {
            const Shape norm(s.begin() + (axis < 0 ? 3 : 1), s.end());
            std::vector<Tensor> c = {randomFloats(norm, 9)};
            if (bias) c.push_back(randomFloats(norm, 10));
            auto ln = oneOp(17, "LayerNormalization", s, c, [&](onnx::NodeProto& n) {
                setAttr(n, "axis", axis);
                setAttr(n, "epsilon", 1e-4f);
            });
            // Exported at opset 13 as its ReduceMean/Sub/... chain: the numbers must still agree.
            expectMatchesOrt(ln, {randomFloats(s, 11)}, "LayerNormalization");
        }
    }
    // ONNX Runtime refuses even sizes (its kernel asserts size % 2 == 1); the reference's
    // asymmetric window for them is checked against the formula in norm2_test.cpp.
    for (int64_t size : {3, 5}) {
        auto lrn = oneOp(13, "LRN", s, {}, [&](onnx::NodeProto& n) {
            setAttr(n, "size", size);
            setAttr(n, "alpha", 0.05f);
            setAttr(n, "beta", 0.6f);
            setAttr(n, "bias", 2.0f);
        });
        expectMatchesOrt(lrn, {randomFloats(s, 12)}, "LRN");
    }
    auto gmp = oneOp(13, "GlobalMaxPool", s, {});
    expectMatchesOrt(gmp, {randomFloats(s, 13)}, "GlobalMaxPool");
}

// Constant folding bounds its work: LRN over a 2^20-channel constant with a window as wide
// would take 2^40 steps at import, so it stays in the graph (a fuzzer-sized file must not hang).
TEST(OnnxOrtTensorOps, LrnOverAHugeConstantIsNotFolded) {
    OnnxModelBuilder b(13);
    b.input("x", {1});
    b.initializer("shape", int64s({1, int64_t(1) << 20, 1}));
    b.node("ConstantOfShape", {"shape"}, {"c"});
    onnx::NodeProto& lrn = b.node("LRN", {"c"}, {"l"});
    setAttr(lrn, "size", int64_t(1) << 20);
    b.node("ReduceSum", {"l"}, {"s"});
    b.node("Add", {"x", "s"}, {"y"});
    b.output("y");
    auto graph = importOnnxBytes(b.bytes(), "huge_lrn.onnx", "");
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    EXPECT_TRUE(std::any_of(graph->nodes.begin(), graph->nodes.end(),
                            [](const Node& n) { return n.op == OpKind::LRN; }));
}

TEST(OnnxOrtTensorOps, UpsampleOpset9And7ImportAsResize) {
    const Shape s = {1, 2, 3, 4};
    for (const char* mode : {"nearest", "linear"}) {
        SCOPED_TRACE(mode);
        auto up9 = oneOp(9, "Upsample", s, {Tensor::fromVector<float>({4}, {1, 1, 2, 3})},
                         [&](onnx::NodeProto& n) { setAttr(n, "mode", std::string(mode)); });
        expectMatchesOrt(up9, {randomFloats(s, 14)}, "Resize");
        auto up7 = oneOp(7, "Upsample", s, {}, [&](onnx::NodeProto& n) {
            setAttr(n, "mode", std::string(mode));
            setAttr(n, "scales", std::vector<float>{1, 1, 3, 2});
        });
        expectMatchesOrt(up7, {randomFloats(s, 15)}, "Resize");
    }
}

}  // namespace
}  // namespace prunelab::engine::testing

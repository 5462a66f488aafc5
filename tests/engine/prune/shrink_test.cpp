// Structured shrink: on hand-built graphs and BlazeFace, the masked model and the shrunk
// model give the same outputs, the shrunk one verifies, is smaller and exports; each group
// keeps exactly its rounded count; masking is idempotent; bad kept lists are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/builder.h"
#include "engine/ops/op.h"
#include "engine/prune/shrink.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::engine::prune {
namespace {

ParamValues rateValues(double rate, const std::string& norm = "l1") {
    ParamValues v;
    v.set("rate", rate);
    v.set("norm", norm);
    return v;
}

int64_t constantElements(const Graph& g) {
    int64_t n = 0;
    for (const Node& node : g.nodes)
        for (ValueId in : node.inputs)
            if (in != kNoValue && g.value(in).isConstant()) n += g.value(in).constant.elements();
    return n;
}

std::vector<Tensor> randomInputs(const Graph& g, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<Tensor> inputs;
    for (ValueId id : g.inputs) {
        Tensor t(DataType::Float32, g.value(id).shape);
        for (float& x : t.span<float>()) x = dist(rng);
        inputs.push_back(t);
    }
    return inputs;
}

// Appends a node to a finished graph, inferring its output like GraphBuilder does.
ValueId append(Graph& g, OpKind op, std::vector<ValueId> inputs, Attributes attrs = {}) {
    const std::string name = g.uniqueName(std::string(opName(op)));
    const ValueId out = g.addValue(name, DataType::Float32, {});
    Node& n = g.addNode(op, name, std::move(inputs), {out}, std::move(attrs));
    std::vector<TensorInfo> info;
    EXPECT_TRUE(inferNode(g, n, info).ok());
    g.value(out).dtype = info[0].dtype;
    g.value(out).shape = info[0].shape;
    return out;
}

ValueId constant(Graph& g, Shape shape, float base, float step) {
    Tensor t(DataType::Float32, std::move(shape));
    float v = base;
    for (float& x : t.span<float>()) x = (v += step);
    return g.addConstant(g.uniqueName("const"), t);
}

// Prunes every prunable group at `rate`, checks the kept counts, and compares the masked
// model with the shrunk one on random inputs.
void checkShrink(const Graph& g, double rate, bool expectSmaller = true) {
    ASSERT_TRUE(verifyGraph(g).ok()) << verifyGraph(g).error().toString();
    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok()) << groups.error().toString();
    auto kept = selectKeptChannels(g, *groups, rateValues(rate));
    ASSERT_TRUE(kept.ok()) << kept.error().toString();
    for (size_t i = 0; i < groups->size(); ++i) {
        const DependencyGroup& group = (*groups)[i];
        const int64_t expected =
            group.prunable
                ? group.channels - std::llround(rate * static_cast<double>(group.channels))
                : group.channels;
        EXPECT_EQ(static_cast<int64_t>((*kept)[i].size()), expected) << group.description;
    }
    auto masked = maskStructured(g, *groups, *kept);
    ASSERT_TRUE(masked.ok()) << masked.error().toString();
    auto shrunk = shrinkStructured(g, *groups, *kept);
    ASSERT_TRUE(shrunk.ok()) << shrunk.error().toString();
    EXPECT_TRUE(verifyGraph(*shrunk).ok());
    if (expectSmaller) {
        EXPECT_LT(constantElements(*shrunk), constantElements(g));
    }
    EXPECT_EQ(constantElements(*masked), constantElements(g));

    for (uint32_t seed : {1u, 2u}) {
        const std::vector<Tensor> inputs = randomInputs(g, seed);
        auto a = runGraphReference(*masked, inputs);
        auto b = runGraphReference(*shrunk, inputs);
        ASSERT_TRUE(a.ok()) << a.error().toString();
        ASSERT_TRUE(b.ok()) << b.error().toString();
        ASSERT_EQ(a->size(), b->size());
        for (size_t o = 0; o < a->size(); ++o) {
            ASSERT_EQ((*a)[o].shape(), (*b)[o].shape());
            const float* x = (*a)[o].data<float>();
            const float* y = (*b)[o].data<float>();
            float worst = 0;
            for (int64_t k = 0; k < (*a)[o].elements(); ++k)
                worst = std::max(worst, std::fabs(x[k] - y[k]) / std::max(1.0f, std::fabs(x[k])));
            EXPECT_LE(worst, 1e-5f) << "output " << o;
        }
    }
    auto bytes = exportOnnxBytes(*shrunk);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto back = importOnnxBytes(*bytes, "shrunk", "");
    ASSERT_TRUE(back.ok()) << back.error().toString();
    const std::vector<Tensor> inputs = randomInputs(g, 3);
    auto before = runGraphReference(*shrunk, inputs);
    auto after = runGraphReference(*back, inputs);
    ASSERT_TRUE(before.ok() && after.ok());
    for (size_t o = 0; o < before->size(); ++o) {
        const float* x = (*before)[o].data<float>();
        const float* y = (*after)[o].data<float>();
        for (int64_t k = 0; k < (*before)[o].elements(); ++k) {
            ASSERT_NEAR(x[k], y[k], 1e-4f * std::max(1.0f, std::fabs(x[k]))) << "re-imported";
        }
    }

    // Masking is a projection: ranking the masked model again keeps the same channels, and
    // masking it again changes nothing.
    auto again = selectKeptChannels(*masked, *groups, rateValues(rate));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *kept);
    auto masked2 = maskStructured(*masked, *groups, *again);
    ASSERT_TRUE(masked2.ok());
    ASSERT_EQ(masked->nodes.size(), masked2->nodes.size());
    for (size_t i = 0; i < masked->nodes.size(); ++i) {
        const Node& n = masked->nodes[i];
        const Node& m = masked2->nodes[i];
        for (size_t s = 0; s < n.inputs.size(); ++s) {
            if (n.inputs[s] == kNoValue || !masked->value(n.inputs[s]).isConstant()) continue;
            EXPECT_TRUE(
                masked->value(n.inputs[s]).constant.identical(masked2->value(m.inputs[s]).constant))
                << masked->describeNode(i) << " input " << s;
        }
    }
}

Graph build(const std::function<void(GraphBuilder&)>& body) {
    GraphBuilder b("test");
    body(b);
    auto g = b.finish();
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(g).value() : Graph{};
}

TEST(StructuredShrink, Chain) {
    Graph g = build([](GraphBuilder& b) {
        ValueId x = b.input("x", {1, 3, 8, 8});
        ValueId c = b.relu(b.conv(x, 8, 3));
        c = b.maxPool(b.relu(b.conv(c, 16, 3)), 2, 2);
        b.output(b.conv(c, 4, 1));
    });
    for (double rate : {0.0, 0.25, 0.5, 0.9}) checkShrink(g, rate, rate > 0);
}

TEST(StructuredShrink, ResidualDepthwiseConcatAndClassifier) {
    Graph g = build([](GraphBuilder& b) {
        ValueId x = b.input("x", {1, 3, 12, 12});
        ValueId r = b.relu(b.conv(x, 8, 3));
        r = b.relu(b.add(b.conv(r, 8, 3), r));
        ValueId dw = b.relu(b.conv(r, 8, 3, 1, 8));
        r = b.add(b.conv(dw, 8, 1), r);
        ValueId side = b.relu(b.conv(x, 6, 3));
        ValueId cat = b.concat({r, side});
        ValueId dw2 = b.conv(cat, 14, 3, 2, 14);  // depthwise over both groups
        ValueId f = b.relu(b.conv(dw2, 12, 1));
        b.output(b.gemm(b.flatten(b.globalAveragePool(f)), 5));
    });
    for (double rate : {0.25, 0.5, 0.75}) checkShrink(g, rate);
}

TEST(StructuredShrink, PerChannelConstantsOnTheWay) {
    GraphBuilder b("consts");
    ValueId x = b.input("x", {1, 3, 8, 8});
    b.output(b.conv(x, 8, 3));
    auto built = b.finish();
    ASSERT_TRUE(built.ok());
    Graph g = std::move(built).value();
    const ValueId c = g.outputs[0];
    g.outputs.clear();
    Attributes bn;
    bn.set("epsilon", 1e-5f);
    ValueId y = append(g, OpKind::BatchNormalization,
                       {c, constant(g, {8}, 0.5f, 0.1f), constant(g, {8}, -0.2f, 0.05f),
                        constant(g, {8}, 0.0f, 0.01f), constant(g, {8}, 0.5f, 0.2f)},
                       bn);
    y = append(g, OpKind::PRelu, {y, constant(g, {8, 1, 1}, 0.01f, 0.02f)});
    y = append(g, OpKind::Mul, {y, constant(g, {1, 8, 1, 1}, 0.5f, 0.1f)});
    y = append(g, OpKind::Div, {y, constant(g, {8, 1, 1}, 1.0f, 0.1f)});
    y = append(g, OpKind::Add, {y, constant(g, {1}, 0.1f, 0.0f)});
    Attributes conv;
    conv.set("strides", std::vector<int64_t>{1, 1});
    conv.set("pads", std::vector<int64_t>{0, 0, 0, 0});
    conv.set("dilations", std::vector<int64_t>{1, 1});
    conv.set("group", int64_t{1});
    y = append(g, OpKind::Conv, {y, constant(g, {4, 8, 1, 1}, -1.0f, 0.07f)}, conv);
    g.outputs.push_back(y);
    checkShrink(g, 0.5);

    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok());
    ASSERT_EQ(groups->size(), 2u);
    EXPECT_EQ((*groups)[0].passThrough.size(), 4u);  // BN, PRelu, Mul, Div; not the scalar Add
}

Attributes convAttrs(int64_t stride = 1) {
    Attributes a;
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("pads", std::vector<int64_t>{0, 0, 0, 0});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", int64_t{1});
    return a;
}

// Starts a graph with x -> Conv(8, 3x3) -> Relu and hands back the Relu for appending.
Graph startGraph(ValueId& last) {
    GraphBuilder b("start");
    ValueId x = b.input("x", {1, 3, 8, 8});
    b.output(b.relu(b.conv(x, 8, 3)));
    auto built = b.finish();
    EXPECT_TRUE(built.ok());
    Graph g = std::move(built).value();
    last = g.outputs[0];
    g.outputs.clear();
    return g;
}

TEST(StructuredShrink, ChannelPaddingConcatSplitsTheWiderConv) {
    // BlazeFace's widening block: concat(r, zeros) + conv(r) with twice the channels.
    ValueId r = kNoValue;
    Graph g = startGraph(r);
    Attributes cat;
    cat.set("axis", int64_t{1});
    ValueId padded = append(g, OpKind::Concat, {r, constant(g, {1, 8, 8, 8}, 0.0f, 0.0f)}, cat);
    ValueId wide =
        append(g, OpKind::Conv,
               {r, constant(g, {16, 8, 1, 1}, -0.6f, 0.01f), constant(g, {16}, -0.1f, 0.02f)},
               convAttrs());
    ValueId y = append(g, OpKind::Relu, {append(g, OpKind::Add, {wide, padded})});
    g.outputs.push_back(
        append(g, OpKind::Conv, {y, constant(g, {4, 16, 1, 1}, -0.3f, 0.01f)}, convAttrs()));
    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok()) << groups.error().toString();
    ASSERT_EQ(groups->size(), 3u);
    const DependencyGroup& first = (*groups)[0];
    const DependencyGroup& second = (*groups)[1];
    ASSERT_EQ(first.producers.size(), 2u);  // Conv_0 and the first half of the wide conv
    EXPECT_EQ(first.channels, 8);
    EXPECT_EQ(first.producers[1].offset, 0);
    ASSERT_EQ(second.producers.size(), 1u);  // the wide conv's second half
    EXPECT_EQ(second.producers[0].offset, 8);
    ASSERT_EQ(second.passThrough.size(), 1u);  // the zeros it is added to
    EXPECT_TRUE(first.prunable && second.prunable);
    checkShrink(g, 0.5);
}

TEST(StructuredShrink, ConvTransposeMatMulAndGemmWithoutTransB) {
    ValueId r = kNoValue;
    Graph g = startGraph(r);
    Attributes deconv = convAttrs(2);
    deconv.set("output_padding", std::vector<int64_t>{0, 0});
    ValueId up =
        append(g, OpKind::ConvTranspose,
               {r, constant(g, {8, 6, 2, 2}, -0.5f, 0.01f), constant(g, {6}, 0.1f, 0.03f)}, deconv);
    Attributes flat;
    flat.set("axis", int64_t{1});
    ValueId v =
        append(g, OpKind::Flatten,
               {append(g, OpKind::GlobalAveragePool, {append(g, OpKind::Relu, {up})})}, flat);
    v = append(g, OpKind::Relu,
               {append(g, OpKind::MatMul, {v, constant(g, {6, 5}, -0.4f, 0.03f)})});
    Attributes gemm;
    gemm.set("alpha", 1.0f);
    gemm.set("beta", 1.0f);
    gemm.set("transA", int64_t{0});
    gemm.set("transB", int64_t{0});
    g.outputs.push_back(append(g, OpKind::Gemm,
                               {v, constant(g, {5, 3}, -0.7f, 0.1f), constant(g, {3}, 0.0f, 0.1f)},
                               gemm));
    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok());
    ASSERT_EQ(groups->size(), 4u);  // conv, deconv, matmul, gemm (output)
    EXPECT_TRUE((*groups)[1].prunable && (*groups)[2].prunable);
    EXPECT_FALSE((*groups)[3].prunable);
    checkShrink(g, 0.5);
}

TEST(StructuredShrink, ResizeAndReshapeTakeTheNewChannelCount) {
    ValueId r = kNoValue;
    Graph g = startGraph(r);
    Attributes resize;
    resize.set("mode", std::string("nearest"));
    resize.set("sizes", std::vector<int64_t>{1, 8, 16, 16});
    resize.set("scales", std::vector<float>{1, 1, 2, 2});
    ValueId v = append(g, OpKind::Resize, {r}, resize);
    Attributes flat, back;
    flat.set("shape", std::vector<int64_t>{1, 8, 256});
    back.set("shape", std::vector<int64_t>{1, 8, 16, 16});
    v = append(g, OpKind::Reshape, {append(g, OpKind::Reshape, {v}, flat)}, back);
    g.outputs.push_back(
        append(g, OpKind::Conv, {v, constant(g, {4, 8, 1, 1}, -0.3f, 0.02f)}, convAttrs()));
    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok());
    ASSERT_EQ(groups->size(), 2u);
    EXPECT_TRUE((*groups)[0].prunable) << (*groups)[0].reason;
    checkShrink(g, 0.25);
}

TEST(StructuredShrink, OneCallPrunesMasksAndShrinks) {
    Graph g = build([](GraphBuilder& b) {
        ValueId x = b.input("x", {1, 3, 8, 8});
        ValueId r = b.relu(b.conv(x, 8, 3));
        r = b.add(b.conv(r, 8, 3), r);
        b.output(b.conv(r, 4, 1));
    });
    auto pruned = pruneStructured(g, rateValues(0.5, "l2"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    ASSERT_EQ(pruned->groups.size(), 2u);
    EXPECT_EQ(pruned->kept[0].size(), 4u);
    EXPECT_LT(constantElements(pruned->shrunk), constantElements(pruned->masked));
    EXPECT_TRUE(verifyGraph(pruned->shrunk).ok());
}

TEST(StructuredShrink, RefusesBadKeptLists) {
    Graph g = build([](GraphBuilder& b) {
        ValueId x = b.input("x", {1, 3, 8, 8});
        b.output(b.conv(b.conv(x, 8, 3), 4, 1));
    });
    auto groups = findDependencyGroups(g);
    ASSERT_TRUE(groups.ok());
    ASSERT_EQ(groups->size(), 2u);
    const std::vector<int64_t> all4 = {0, 1, 2, 3};
    EXPECT_FALSE(shrinkStructured(g, *groups, {{0, 1}}).ok());          // one list
    EXPECT_FALSE(shrinkStructured(g, *groups, {{3, 1}, all4}).ok());    // unsorted
    EXPECT_FALSE(shrinkStructured(g, *groups, {{0, 8}, all4}).ok());    // out of range
    EXPECT_FALSE(shrinkStructured(g, *groups, {{}, all4}).ok());        // empty
    auto notPrunable = shrinkStructured(g, *groups, {{0, 1}, {0, 1}});  // graph output
    ASSERT_FALSE(notPrunable.ok());
    EXPECT_NE(notPrunable.error().message.find("cannot be pruned"), std::string::npos);
    EXPECT_TRUE(shrinkStructured(g, *groups, {{0, 5}, all4}).ok());
    EXPECT_FALSE(selectKeptChannels(g, *groups, rateValues(1.5)).ok());
}

TEST(StructuredShrink, BlazeFace) {
    const std::string path = std::string(PRUNELAB_CACHE_DIR) +
                             "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    auto g = importOnnxFile(path);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    checkShrink(*g, 0.5);
}

TEST(StructuredShrink, BlazeFaceShrunkExportRunsInOnnxRuntimeLikeTheMaskedModel) {
    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime";
    const std::string path = std::string(PRUNELAB_CACHE_DIR) +
                             "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    auto g = importOnnxFile(path);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    auto pruned = pruneStructured(*g, rateValues(0.5));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto bytes = exportOnnxBytes(pruned->shrunk);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    EXPECT_LT(bytes->size(), exportOnnxBytes(*g)->size());
    auto ort = refrt::OrtRunner::loadBytes(*bytes, "blazeface_shrunk.onnx", 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    const std::vector<Tensor> inputs = randomInputs(*g, 5);
    auto expected = runGraphReference(pruned->masked, inputs);
    auto actual = (*ort)->run(inputs);
    ASSERT_TRUE(expected.ok()) << expected.error().toString();
    ASSERT_TRUE(actual.ok()) << actual.error().toString();
    ASSERT_EQ(expected->size(), actual->size());
    for (size_t o = 0; o < expected->size(); ++o) {
        ASSERT_EQ((*expected)[o].shape(), (*actual)[o].shape());
        const float* x = (*expected)[o].data<float>();
        const float* y = (*actual)[o].data<float>();
        float worst = 0;
        for (int64_t k = 0; k < (*expected)[o].elements(); ++k)
            worst = std::max(worst, std::fabs(x[k] - y[k]) / std::max(1.0f, std::fabs(x[k])));
        EXPECT_LE(worst, 1e-4f) << "output " << o;
    }
}

}  // namespace
}  // namespace prunelab::engine::prune

// The LOAD model format: a small conv net built here and catalog models (Real-ESRGAN x2,
// BlazeFace) pruned pattern-8x and compiled, encoded, decoded and run on the CPU backend with
// outputs bit-identical to the original's; every attribute kind; and bad models (every
// truncation, out-of-range ids, a pattern id outside its set, inconsistent storage) refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/protocol.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace prunelab::engine::remote {
namespace {

using engine::testing::GraphBuilder;

// conv 3x3 -> Relu -> conv 3x3 stride 2 -> LeakyRelu -> Resize x2 (nearest) -> Add with a
// ConstantOfShape: int, float, string, ints, floats and tensor attributes all appear.
Graph smallConvNet(int64_t channels, int64_t h, int64_t w) {
    GraphBuilder b;
    const ValueId x = b.input({1, channels, h, w});
    ValueId c1 =
        b.op(OpKind::Conv,
             {x, b.randomConstant({channels, channels, 3, 3}), b.randomConstant({channels})},
             engine::testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    ValueId r = b.op(OpKind::Relu, {c1});
    ValueId c2 = b.op(OpKind::Conv, {r, b.randomConstant({channels, channels, 3, 3})},
                      engine::testing::convAttrs({2, 2}, {1, 1, 1, 1}));
    Attributes leaky;
    leaky.set("alpha", 0.125f);
    ValueId l = b.op(OpKind::LeakyRelu, {c2}, leaky);
    Attributes resize;
    resize.set("mode", std::string("nearest"));
    resize.set("scales", std::vector<float>{1, 1, 2, 2});
    resize.set("sizes", std::vector<int64_t>{1, channels, (h + 1) / 2 * 2, (w + 1) / 2 * 2});
    ValueId up = b.op(OpKind::Resize, {l}, resize);
    Attributes fill;
    fill.set("shape", std::vector<int64_t>{1, channels, (h + 1) / 2 * 2, (w + 1) / 2 * 2});
    fill.set("value", Tensor::fromVector<float>({1}, {0.25f}));
    ValueId k = b.op(OpKind::ConstantOfShape, {}, fill);
    b.output(b.op(OpKind::Add, {up, k}));
    EXPECT_TRUE(b.graph.topoSort().ok());
    b.graph.name = "small conv net";
    b.graph.metadata["prunelab.note"] = "made by model_codec_test";
    return b.graph;
}

prune::PrunedModel prunePattern(const Graph& graph) {
    prune::ParamValues pattern;
    pattern.set("patterns", 8);
    prune::PruningPlan plan;
    plan.defaultEntry = prune::PlanEntry::make("pattern", pattern);
    plan.keepFirstLast = false;
    auto pruned = prune::applyPlan(graph, plan);
    EXPECT_TRUE(pruned.ok()) << pruned.error().toString();
    return pruned.ok() ? std::move(*pruned) : prune::PrunedModel{};
}

void expectSameGraph(const Graph& a, const Graph& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.metadata, b.metadata);
    ASSERT_EQ(a.values.size(), b.values.size());
    for (size_t i = 0; i < a.values.size(); ++i) {
        EXPECT_EQ(a.values[i].name, b.values[i].name);
        EXPECT_EQ(a.values[i].dtype, b.values[i].dtype);
        EXPECT_EQ(a.values[i].shape, b.values[i].shape);
        EXPECT_EQ(a.values[i].isConstant(), b.values[i].isConstant());
        if (a.values[i].isConstant()) {
            EXPECT_TRUE(a.values[i].constant.identical(b.values[i].constant)) << a.values[i].name;
        }
    }
    ASSERT_EQ(a.nodes.size(), b.nodes.size());
    for (size_t k = 0; k < a.nodes.size(); ++k) {
        EXPECT_EQ(a.nodes[k].op, b.nodes[k].op);
        EXPECT_EQ(a.nodes[k].name, b.nodes[k].name);
        EXPECT_EQ(a.nodes[k].inputs, b.nodes[k].inputs);
        EXPECT_EQ(a.nodes[k].outputs, b.nodes[k].outputs);
        EXPECT_TRUE(a.nodes[k].attrs == b.nodes[k].attrs) << a.describeNode(k);
    }
    EXPECT_EQ(a.inputs, b.inputs);
    EXPECT_EQ(a.outputs, b.outputs);
}

void expectSameLayers(const codegen::SparseModel& a, const codegen::SparseModel& b) {
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
        const codegen::LayerCode &x = a.layers[i], &y = b.layers[i];
        EXPECT_EQ(x.node, y.node);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.decision, y.decision);
        EXPECT_EQ(x.conv.outH, y.conv.outH);
        EXPECT_EQ(x.fkw.patterns, y.fkw.patterns);
        EXPECT_EQ(x.fkw.filterOrder, y.fkw.filterOrder);
        EXPECT_EQ(x.fkw.kernelStart, y.fkw.kernelStart);
        EXPECT_EQ(x.fkw.inputChannel, y.fkw.inputChannel);
        EXPECT_EQ(x.fkw.patternId, y.fkw.patternId);
        EXPECT_EQ(x.fkw.weights, y.fkw.weights);
        EXPECT_EQ(x.tiles.rows, y.tiles.rows);
        EXPECT_EQ(x.tiles.blocks, y.tiles.blocks);
        EXPECT_EQ(x.csr.rowStart, y.csr.rowStart);
        EXPECT_EQ(x.csr.values, y.csr.values);
        EXPECT_EQ(x.bias, y.bias);
        EXPECT_EQ(x.tuning.filterBlock, y.tuning.filterBlock);
        EXPECT_EQ(x.tuning.source, y.tuning.source);
    }
}

std::vector<Tensor> runCpu(const Graph& graph, std::shared_ptr<const codegen::SparseModel> sparse,
                           const std::vector<Tensor>& inputs) {
    cpu::CpuOptions options;
    options.threads = 2;
    options.sparse = std::move(sparse);
    auto exec = cpu::CpuExecutor::create(graph, options);
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return {};
    auto out = (*exec)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? std::move(*out) : std::vector<Tensor>{};
}

// Encode -> LOAD frame -> decode; the decoded model runs bit-identically to the original.
// Returns how many compiled layers are sparse.
int expectRoundTripRunsIdentically(const prune::PrunedModel& pruned) {
    auto compiled = codegen::compileLayers(pruned, {});
    EXPECT_TRUE(compiled.ok()) << compiled.error().toString();
    if (!compiled.ok()) return 0;
    const std::vector<uint8_t> payload =
        encodeLoad(makeLoad(encodeModel(pruned.graph, &*compiled)));
    EXPECT_LE(payload.size(), maxPayloadBytes(MessageType::Load));
    auto load = decodeLoad(payload);
    EXPECT_TRUE(load.ok()) << load.error().toString();
    if (!load.ok()) return 0;
    auto decoded = decodeModel(load->model);
    EXPECT_TRUE(decoded.ok()) << decoded.error().toString();
    if (!decoded.ok()) return 0;
    expectSameGraph(pruned.graph, decoded->graph);
    EXPECT_TRUE(decoded->sparse.has_value());
    if (!decoded->sparse) return 0;
    expectSameLayers(*compiled, *decoded->sparse);

    const std::vector<Tensor> inputs = engine::testing::randomInputs(pruned.graph, 5);
    const std::vector<Tensor> want =
        runCpu(pruned.graph, std::make_shared<codegen::SparseModel>(std::move(*compiled)), inputs);
    const std::vector<Tensor> got =
        runCpu(decoded->graph, std::make_shared<codegen::SparseModel>(*decoded->sparse), inputs);
    EXPECT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        EXPECT_TRUE(want[i].identical(got[i])) << "output " << i << " differs";
    }
    int sparse = 0;
    for (const codegen::LayerCode& l : decoded->sparse->layers) {
        sparse += l.kind != codegen::KernelKind::Dense;
    }
    return sparse;
}

TEST(ModelCodec, SmallConvNetRoundTripsAndRunsIdentically) {
    const Graph graph = smallConvNet(8, 13, 11);
    // Dense first: no compiled layers travel.
    auto dense = decodeModel(encodeModel(graph, nullptr));
    ASSERT_TRUE(dense.ok()) << dense.error().toString();
    EXPECT_FALSE(dense->sparse.has_value());
    expectSameGraph(graph, dense->graph);
    const std::vector<Tensor> inputs = engine::testing::randomInputs(graph, 3);
    const std::vector<Tensor> a = runCpu(graph, nullptr, inputs),
                              b = runCpu(dense->graph, nullptr, inputs);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_TRUE(a[0].identical(b[0]));

    const prune::PrunedModel pruned = prunePattern(graph);
    EXPECT_EQ(expectRoundTripRunsIdentically(pruned), 2) << "both convs run pattern kernels";
}

// A layer the measured decision turned dense keeps its packed storage on the desktop; it travels
// as a dense layer without it (codegen::verify refuses a dense layer with storage), and runs the
// same.
TEST(ModelCodec, ALayerMeasuredDenseTravelsWithoutItsStorage) {
    const Graph graph = smallConvNet(8, 13, 11);
    const prune::PrunedModel pruned = prunePattern(graph);
    auto compiled = codegen::compileLayers(pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    ASSERT_FALSE(compiled->layers.empty());
    codegen::LayerCode& first = compiled->layers.front();
    ASSERT_EQ(first.kind, codegen::KernelKind::Pattern);
    ASSERT_FALSE(first.fkw.weights.empty());
    first.kind = codegen::KernelKind::Dense;  // what keepFasterKernels does
    auto decoded = decodeModel(encodeModel(pruned.graph, &*compiled));
    ASSERT_TRUE(decoded.ok()) << decoded.error().toString();
    ASSERT_TRUE(decoded->sparse.has_value());
    const codegen::LayerCode& got = decoded->sparse->layers.front();
    EXPECT_EQ(got.kind, codegen::KernelKind::Dense);
    EXPECT_TRUE(got.fkw.weights.empty());
    EXPECT_EQ(got.bias, first.bias);
    EXPECT_EQ(decoded->sparse->layers.back().kind, compiled->layers.back().kind);
    const std::vector<Tensor> inputs = engine::testing::randomInputs(pruned.graph, 4);
    const std::vector<Tensor> want =
        runCpu(pruned.graph, std::make_shared<codegen::SparseModel>(*compiled), inputs);
    const std::vector<Tensor> have =
        runCpu(decoded->graph, std::make_shared<codegen::SparseModel>(*decoded->sparse), inputs);
    ASSERT_EQ(want.size(), have.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(want[i].identical(have[i]));
}

std::optional<Graph> catalogModel(const std::string& id, int64_t h, int64_t w) {
    auto g = plugins::loadCatalogModel(id, h, w);
    if (!g.ok()) return std::nullopt;
    return std::move(*g);
}

TEST(ModelCodec, RealEsrganX2Patdnn8RoundTripsAndRunsIdentically) {
    auto graph = catalogModel("zoom-x2", 24, 32);
    if (!graph) GTEST_SKIP() << "zoom-x2 is not in the asset cache: run ./prunelab setup";
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    EXPECT_GE(expectRoundTripRunsIdentically(*pruned), 14) << "the middle convs run sparse";
}

TEST(ModelCodec, BlazeFacePatdnn8RoundTripsAndRunsIdentically) {
    auto graph = catalogModel("face-front", 0, 0);
    if (!graph) GTEST_SKIP() << "face-front is not in the asset cache: run ./prunelab setup";
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    expectRoundTripRunsIdentically(*pruned);
}

// A tiny pruned, compiled model: small enough to cut at every byte.
struct Tiny {
    Graph graph;
    codegen::SparseModel sparse;
};

Tiny tinyModel() {
    Tiny t;
    const prune::PrunedModel pruned = prunePattern(smallConvNet(2, 4, 3));
    t.graph = pruned.graph;
    auto compiled = codegen::compileLayers(pruned, {});
    EXPECT_TRUE(compiled.ok()) << compiled.error().toString();
    if (compiled.ok()) t.sparse = std::move(*compiled);
    return t;
}

TEST(ModelCodec, EveryTruncationIsAClearError) {
    const Tiny t = tinyModel();
    const std::vector<uint8_t> bytes = encodeModel(t.graph, &t.sparse);
    ASSERT_TRUE(decodeModel(bytes).ok()) << decodeModel(bytes).error().toString();
    for (size_t n = 0; n < bytes.size(); ++n) {
        auto m = decodeModel({bytes.data(), n});
        ASSERT_FALSE(m.ok()) << "cut to " << n << " of " << bytes.size() << " bytes";
        EXPECT_EQ(m.error().code, ErrorCode::Corrupt) << m.error().toString();
        EXPECT_NE(m.error().toString().find("LOAD model"), std::string::npos);
    }
}

std::string decodeError(const Graph& g, const codegen::SparseModel* sparse) {
    auto m = decodeModel(encodeModel(g, sparse));
    return m.ok() ? std::string() : m.error().toString();
}

TEST(ModelCodec, GraphsWithBadIdsOrOpsAreRefused) {
    const Tiny t = tinyModel();
    Graph g = t.graph;
    g.nodes[1].inputs[0] = 999;
    EXPECT_NE(decodeError(g, nullptr).find("input value id 999 is outside"), std::string::npos)
        << decodeError(g, nullptr);
    g = t.graph;
    g.nodes[0].outputs[0] = -5;
    EXPECT_NE(decodeError(g, nullptr).find("output value id -5"), std::string::npos);
    g = t.graph;
    g.outputs.push_back(12345);
    EXPECT_NE(decodeError(g, nullptr).find("out of range"), std::string::npos);
    g = t.graph;
    g.nodes[0].op = static_cast<OpKind>(kOpCount);
    EXPECT_NE(decodeError(g, nullptr).find("is not among the"), std::string::npos);
    g = t.graph;
    g.nodes[0].outputs.clear();  // shape inference writes out[0]: refused before it runs
    EXPECT_NE(decodeError(g, nullptr).find("0 outputs"), std::string::npos);
    g = t.graph;
    std::swap(g.nodes[0], g.nodes[1]);  // not topological: the IR verifier says so
    EXPECT_NE(decodeError(g, nullptr).find("topological"), std::string::npos);
    g = t.graph;
    g.values[static_cast<size_t>(g.nodes[0].outputs[0])].shape = {1, 2, 9, 9};
    EXPECT_NE(decodeError(g, nullptr).find("infers as"), std::string::npos);
    g = t.graph;
    g.values[1].name = g.values[0].name;
    EXPECT_NE(decodeError(g, nullptr).find("used twice"), std::string::npos);
    g = t.graph;  // the fuzzer's first find: shape arithmetic overflowing int64 in Conv
    g.nodes[0].attrs.set("pads", std::vector<int64_t>{int64_t(1) << 62, 0, 0, 0});
    EXPECT_NE(decodeError(g, nullptr).find("outside +-(2^31 - 1)"), std::string::npos);
    g = t.graph;
    g.inputs.push_back(g.nodes[0].outputs[0]);
    EXPECT_NE(decodeError(g, nullptr).find("computed by a node"), std::string::npos);
}

TEST(ModelCodec, CompiledLayersThatDisagreeWithTheGraphAreRefused) {
    const Tiny t = tinyModel();
    ASSERT_FALSE(t.sparse.layers.empty());
    size_t pattern = 0;
    while (pattern < t.sparse.layers.size() &&
           t.sparse.layers[pattern].kind != codegen::KernelKind::Pattern) {
        ++pattern;
    }
    ASSERT_LT(pattern, t.sparse.layers.size()) << "the tiny model has a pattern layer";
    auto broken = [&](auto edit) {
        codegen::SparseModel s = t.sparse;
        edit(s.layers[pattern]);
        return decodeError(t.graph, &s);
    };
    std::string e = broken([](codegen::LayerCode& l) {
        l.fkw.patternId[0] = static_cast<uint8_t>(l.fkw.patterns.size());
    });
    EXPECT_NE(e.find("pattern id"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.fkw.kernelStart[1] = l.fkw.kernelStart.back() + 1; });
    EXPECT_NE(e.find("kernelStart"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.fkw.inputChannel[0] = 7; });
    EXPECT_NE(e.find("input channel"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.fkw.weights[0] += 1.0f; });
    EXPECT_NE(e.find("unpacks to"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.conv.outH += 1; });
    EXPECT_NE(e.find("conv parameters"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.node = 1000; });
    EXPECT_NE(e.find("no compiled layer"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.tuning.filterBlock = 100000; });
    EXPECT_NE(e.find("tuning"), std::string::npos) << e;
    e = broken([](codegen::LayerCode& l) { l.bias.push_back(1); });
    EXPECT_NE(e.find("bias"), std::string::npos) << e;
    e = broken(
        [](codegen::LayerCode& l) { l.fkw.weights[0] = std::numeric_limits<float>::quiet_NaN(); });
    EXPECT_NE(e.find("not finite"), std::string::npos) << e;
}

// The fuzzer's seeds (tests/data/fuzz/remote_protocol): written only when
// PRUNELAB_WRITE_REMOTE_SEEDS names a folder, so they follow the format when it changes.
TEST(ModelCodec, WritesFuzzSeedsWhenAsked) {
    const char* dir = std::getenv("PRUNELAB_WRITE_REMOTE_SEEDS");
    if (dir == nullptr || *dir == 0) return;
    auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
        std::ofstream out(std::filesystem::path(dir) / name, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        ASSERT_TRUE(out.good()) << name;
    };
    const Tiny t = tinyModel();
    const std::vector<uint8_t> model = encodeModel(t.graph, &t.sparse);
    write("model_pattern.bin", model);
    write("model_dense.bin", encodeModel(t.graph, nullptr));
    // A whole session as the agent reads it, and the agent's replies as the desktop reads them.
    auto append = [](std::vector<uint8_t>& to, MessageType type, const std::vector<uint8_t>& p) {
        const std::vector<uint8_t> f = encodeFrame(type, p);
        to.insert(to.end(), f.begin(), f.end());
    };
    std::vector<uint8_t> session, replies;
    SessionToken token{};
    token[0] = 7;
    append(session, MessageType::Hello, encodeHello({kProtocolVersion, token}));
    append(session, MessageType::Load, encodeLoad(makeLoad(model)));
    remote::Run run;
    for (ValueId id : t.graph.inputs) {
        run.inputs.push_back(
            {t.graph.value(id).name, Tensor(t.graph.value(id).dtype, t.graph.value(id).shape)});
    }
    append(session, MessageType::Run, encodeRun(run));
    append(session, MessageType::Stats, {});
    append(session, MessageType::Bye, {});
    write("session.bin", session);
    append(replies, MessageType::HelloReply,
           encodeHelloReply({kProtocolVersion, {"Seed CPU", "aarch64", 4}}));
    append(replies, MessageType::LoadReply, encodeLoadReply({sha256(model), 7, 2}));
    RunReply reply;
    reply.outputs = {{"y", Tensor::fromVector<float>({2}, {1.5f, -2})}};
    reply.steps = {{"conv", 0.25}};
    reply.deviceMs = 0.5;
    append(replies, MessageType::RunReply, encodeRunReply(reply));
    append(replies, MessageType::StatsReply,
           encodeStatsReply({{"Seed CPU", "aarch64", 4}, 1 << 20}));
    append(replies, MessageType::Error, encodeError({ErrorCode::NotFound, "no model is loaded"}));
    write("replies.bin", replies);
}

// Inputs the fuzzer once crashed on (tests/data/fuzz/regressions/remote_protocol_*) decode to
// errors or models, never crashes; the fuzzer replays them too.
TEST(ModelCodec, FuzzRegressionsDoNotCrash) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(PRUNELAB_SOURCE_DIR) / "tests/data/fuzz/regressions";
    int replayed = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind("remote_protocol_", 0) != 0) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
        (void)decodeModel(bytes);
        (void)takeFrame(bytes);
        ++replayed;
    }
    SUCCEED() << replayed << " regression inputs replayed";
}

}  // namespace
}  // namespace prunelab::engine::remote

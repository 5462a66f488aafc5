// tfjs importer against TensorFlow.js itself (node + the pure-JS bundle, tfjs_reference.js):
// the bundled graph models, a synthetic graph model covering the other ops and quantised
// weights, and two layers models that tfjs builds and saves; each run through our reference
// runner and the CPU executor, matched within 1e-4 of each output's range. Then every refusal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/io/npy.h"
#include "engine/ir/half.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "engine/tasks/catalog.h"
#include "plugins/import-tfjs/tfjs_import.h"
#include "plugins/model-files/model_files.h"
#include "tests/test_cache.h"

namespace {

using namespace prunelab;
using engine::Shape;
using engine::Tensor;
using Json = nlohmann::json;
namespace fs = std::filesystem;

const char* kNode = "/usr/bin/node";

std::string bundlePath() {
    return prunelab::testing::cacheDir() + "/tfjs/tf.es2017.min.js";
}
std::string scriptPath() {
    return std::string(PRUNELAB_SOURCE_DIR) + "/tests/plugins/tfjs_reference.js";
}

// Why the node reference cannot run, or "" when it can.
std::string referenceMissing() {
    if (!fs::exists(kNode)) return "node is not installed (/usr/bin/node)";
    if (!fs::exists(bundlePath())) return "TensorFlow.js is not in the cache: run ./prunelab setup";
    return "";
}

fs::path freshDir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("prunelab_tfjs_" + std::to_string(::getpid()) + "_" + name);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);  // kept for a look otherwise
    fs::create_directories(dir);
    return dir;
}

// With PRUNELAB_WRITE_TFJS_SEEDS=<folder>, a model the test builds is also written there as
// model.json, a NUL and its shard: the tfjs fuzzer's seeds (tests/data/fuzz/tfjs).
void writeSeed(const std::string& name, const fs::path& modelJson, const fs::path& shard) {
    const char* dir = std::getenv("PRUNELAB_WRITE_TFJS_SEEDS");
    if (dir == nullptr || *dir == '\0') return;
    std::ifstream a(modelJson, std::ios::binary), b(shard, std::ios::binary);
    std::ostringstream text;
    text << a.rdbuf() << '\0' << b.rdbuf();
    std::ofstream(fs::path(dir) / (name + ".tfjs"), std::ios::binary) << text.str();
}

Tensor randomInput(const Shape& shape, uint32_t seed) {
    Tensor t(engine::DataType::Float32, shape);
    uint32_t s = seed;
    for (float& v : t.span<float>()) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / static_cast<float>(1u << 24);  // [0, 1)
    }
    return t;
}

std::string shellQuote(const std::string& s) {
    std::string q(1, '\'');
    q.append(s);
    q.push_back('\'');
    return q;
}

struct Reference {
    std::vector<std::string> names;
    std::vector<Tensor> outputs;
};

// Runs tfjs_reference.js with `args` (after the mode and bundle); reads what it wrote to `out`.
Reference runNode(const std::string& mode, const std::vector<std::string>& args,
                  const fs::path& out) {
    std::vector<std::string> words = {kNode, shellQuote(scriptPath()), mode,
                                      shellQuote(bundlePath())};
    for (const std::string& a : args) words.push_back(shellQuote(a));
    words.push_back(">");
    words.push_back(shellQuote((out.parent_path() / "node.log").string()));
    words.push_back("2>&1");
    std::string cmd;
    for (const std::string& w : words) {
        cmd.append(w);
        cmd.push_back(' ');
    }
    Reference r;
    const int rc = std::system(cmd.c_str());
    std::ifstream log(out.parent_path() / "node.log");
    std::stringstream logText;
    logText << log.rdbuf();
    EXPECT_EQ(rc, 0) << "node failed: " << cmd << "\n" << logText.str();
    if (rc != 0) return r;
    std::ifstream names(out / "names.txt");
    for (std::string line; std::getline(names, line);) {
        if (line.empty()) continue;
        auto t = engine::readNpy((out / (std::to_string(r.names.size()) + ".npy")).string());
        EXPECT_TRUE(t.ok()) << t.error().toString();
        if (!t.ok()) return r;
        r.names.push_back(line);
        r.outputs.push_back(*t);
    }
    return r;
}

// Every reference output matches ours (found by name, else by position) within 1e-4 of its
// range, through the reference runner and the CPU executor.
void expectMatches(const engine::Graph& graph, const Tensor& input, const Reference& ref) {
    ASSERT_FALSE(ref.outputs.empty());
    ASSERT_EQ(graph.outputs.size(), ref.outputs.size());
    std::vector<Tensor> inputs = {input};
    auto ours = engine::runGraphReference(graph, inputs);
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto fast = (*exec)->run(inputs);
    ASSERT_TRUE(fast.ok()) << fast.error().toString();
    for (size_t i = 0; i < ref.outputs.size(); ++i) {
        size_t k = i;
        for (size_t j = 0; j < graph.outputs.size(); ++j) {
            if (graph.value(graph.outputs[j]).name == ref.names[i]) k = j;
        }
        const Tensor& theirs = ref.outputs[i];
        SCOPED_TRACE("output '" + ref.names[i] + "' as ours '" +
                     graph.value(graph.outputs[k]).name + "'");
        ASSERT_EQ((*ours)[k].shape(), theirs.shape());
        ASSERT_EQ((*fast)[k].shape(), theirs.shape());
        const auto t = theirs.span<float>();
        const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
        const double tol = 1e-4 * std::max(1e-3, static_cast<double>(*hi - *lo));
        double worstRef = 0, worstCpu = 0;
        for (size_t e = 0; e < t.size(); ++e) {
            worstRef = std::max(worstRef, std::abs(double((*ours)[k].span<float>()[e]) - t[e]));
            worstCpu = std::max(worstCpu, std::abs(double((*fast)[k].span<float>()[e]) - t[e]));
        }
        EXPECT_LE(worstRef, tol) << "reference runner vs tfjs, range " << (*hi - *lo);
        EXPECT_LE(worstCpu, tol) << "CPU executor vs tfjs, range " << (*hi - *lo);
    }
}

// ---- The bundled graph models ---------------------------------------------------------------

struct BundledModel {
    const char* name;
    Shape input;  // NHWC
};

class TfjsBundled : public ::testing::TestWithParam<BundledModel> {};

TEST_P(TfjsBundled, MatchesTensorFlowJs) {
    const BundledModel& m = GetParam();
    const std::string model =
        prunelab::testing::cacheDir() + "/models/tfjs/" + m.name + "/model.json";
    if (!fs::exists(model)) GTEST_SKIP() << model << " is missing: run ./prunelab setup";
    if (const std::string why = referenceMissing(); !why.empty()) GTEST_SKIP() << why;
    auto graph = tfjs::importTfjs(model, m.input[1], m.input[2]);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_EQ(graph->inputs.size(), 1u);
    EXPECT_EQ(graph->value(graph->inputs[0]).shape, m.input);  // NHWC, as the model declares

    const fs::path dir = freshDir(m.name);
    const Tensor input = randomInput(m.input, 7);
    ASSERT_TRUE(engine::writeNpy((dir / "input.npy").string(), input).ok());
    const Reference ref =
        runNode("run", {model, (dir / "input.npy").string(), (dir / "out").string()}, dir / "out");
    expectMatches(*graph, input, ref);
    // The outputs come in tfjs's order, under its names.
    ASSERT_EQ(graph->outputs.size(), ref.names.size());
    for (size_t i = 0; i < ref.names.size(); ++i) {
        EXPECT_EQ(graph->value(graph->outputs[i]).name, ref.names[i]) << "output " << i;
    }
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);  // kept for a look otherwise
}

INSTANTIATE_TEST_SUITE_P(Models, TfjsBundled,
                         ::testing::Values(BundledModel{"blazeface-front", {1, 128, 128, 3}},
                                           BundledModel{"emotion", {1, 64, 64, 1}},
                                           BundledModel{"selfie", {1, 256, 256, 3}}),
                         [](const auto& p) {
                             std::string n = p.param.name;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

// ---- A synthetic graph model: every other op, and quantised weights ----------------------

// Writes model.json + weights.bin for a graph model built node by node.
class GraphModelWriter {
  public:
    Json& node(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
        Json n = {{"name", name}, {"op", op}, {"attr", Json::object()}};
        if (!inputs.empty()) n["input"] = inputs;
        m_nodes.push_back(n);
        return m_nodes.back();
    }
    // A float32 weight stored as float32, float16, or uint8 / uint16 (scale and min).
    void weight(const std::string& name, const Shape& shape, uint32_t seed,
                const std::string& storage = "float32") {
        const Tensor t = randomInput(shape, seed);
        Json w = {{"name", name}, {"shape", shape}, {"dtype", "float32"}};
        if (storage == "float32") {
            m_data.append(reinterpret_cast<const char*>(t.raw()), t.bytes());
        } else if (storage == "float16") {
            w["quantization"] = {{"dtype", "float16"}};
            for (float v : t.span<float>()) {
                const uint16_t h = engine::floatToHalf(v - 0.5f);
                m_data.append(reinterpret_cast<const char*>(&h), 2);
            }
        } else if (storage == "uint16") {
            w["quantization"] = {{"dtype", "uint16"}, {"scale", 0.00002}, {"min", -0.6}};
            for (float v : t.span<float>()) {
                const auto q = static_cast<uint16_t>(v * 65535.0f);
                m_data.append(reinterpret_cast<const char*>(&q), 2);
            }
        } else {
            w["quantization"] = {{"dtype", "uint8"}, {"scale", 0.004}, {"min", -0.5}};
            for (float v : t.span<float>()) m_data.push_back(static_cast<char>(v * 255.0f));
        }
        m_weights.push_back(w);
        node(name, "Const", {})["attr"] = {{"dtype", {{"type", "DT_FLOAT"}}}};
    }
    void ints(const std::string& name, const std::vector<int32_t>& values, Shape shape = {}) {
        if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
        m_weights.push_back({{"name", name}, {"shape", shape}, {"dtype", "int32"}});
        m_data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
        node(name, "Const", {})["attr"] = {{"dtype", {{"type", "DT_INT32"}}}};
    }
    void write(const fs::path& dir, const std::vector<std::string>& outputs) const {
        Json model = {{"format", "graph-model"},
                      {"modelTopology", {{"node", m_nodes}, {"versions", {{"producer", 1808}}}}},
                      {"weightsManifest", {{{"paths", {"weights.bin"}}, {"weights", m_weights}}}}};
        Json sig = Json::object();
        for (const std::string& o : outputs) sig[o + ":0"] = {{"name", o + ":0"}};
        model["signature"] = {{"outputs", sig}};
        std::ofstream(dir / "model.json") << model.dump();
        std::ofstream(dir / "weights.bin", std::ios::binary) << m_data;
    }

  private:
    std::vector<Json> m_nodes;
    Json m_weights = Json::array();
    std::string m_data;
};

Json ints(std::vector<int64_t> v) {
    Json list = Json::array();
    for (int64_t x : v) list.push_back(std::to_string(x));
    return {{"list", {{"i", list}}}};
}
Json str(const std::string& s) {  // base64, as GraphDef JSON stores strings
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -6;
    for (unsigned char c : s) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(abc[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) out.push_back(abc[((val << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4) out.push_back('=');
    return {{"s", out}};
}
Json strs(const std::vector<std::string>& v) {
    Json list = Json::array();
    for (const std::string& s : v) list.push_back(str(s)["s"]);
    return {{"list", {{"s", list}}}};
}

void writeOpsModel(const fs::path& dir) {
    GraphModelWriter w;
    w.node("x", "Placeholder", {})["attr"] = {
        {"dtype", {{"type", "DT_FLOAT"}}},
        {"shape",
         {{"shape",
           {{"dim", {{{"size", "1"}}, {{"size", "10"}}, {{"size", "10"}}, {{"size", "4"}}}}}}}}};
    w.weight("w0", {3, 3, 4, 6}, 1, "uint8");
    w.weight("b0", {6}, 2);
    w.node("conv", "_FusedConv2D", {"x", "w0", "b0"})["attr"] = {
        {"strides", ints({1, 1, 1, 1})},
        {"padding", str("SAME")},
        {"data_format", str("NHWC")},
        {"dilations", ints({1, 1, 1, 1})},
        {"fused_ops", strs({"BiasAdd", "LeakyRelu"})},
        {"num_args", {{"i", "1"}}},
        {"leakyrelu_alpha", {{"f", 0.1}}}};
    w.weight("wd", {3, 3, 6, 1}, 3, "float16");
    w.weight("bd", {6}, 4);
    w.node("dw", "FusedDepthwiseConv2dNative", {"conv", "wd", "bd"})["attr"] = {
        {"strides", ints({1, 2, 2, 1})},
        {"padding", str("VALID")},
        {"data_format", str("NHWC")},
        {"dilations", ints({1, 1, 1, 1})},
        {"fused_ops", strs({"BiasAdd", "Relu6"})},
        {"num_args", {{"i", "1"}}}};
    w.ints("mp_pads", {0, 0, 1, 1, 2, 1, 0, 0}, {4, 2});
    w.node("mp", "MirrorPad", {"dw", "mp_pads"})["attr"] = {{"mode", str("REFLECT")}};
    w.ints("size", {9, 11});
    w.node("rn", "ResizeNearestNeighbor", {"mp", "size"})["attr"] = {
        {"align_corners", {{"b", false}}}, {"half_pixel_centers", {{"b", true}}}};
    w.node("rb", "ResizeBilinear", {"mp", "size"})["attr"] = {
        {"align_corners", {{"b", true}}}, {"half_pixel_centers", {{"b", false}}}};
    w.node("rn2", "ResizeNearestNeighbor", {"mp", "size"})["attr"] = {
        {"align_corners", {{"b", true}}}, {"half_pixel_centers", {{"b", false}}}};
    w.node("rb2", "ResizeBilinear", {"mp", "size"})["attr"] = {
        {"align_corners", {{"b", false}}}, {"half_pixel_centers", {{"b", true}}}};
    w.node("mx", "Maximum", {"rn", "rb"});
    w.weight("third", {}, 5);
    w.node("mn", "Minimum", {"rn2", "third"});
    w.node("s", "Sub", {"mx", "mn"});
    w.weight("div", {6}, 6);
    w.node("d", "RealDiv", {"s", "div"});
    w.node("m", "Mul", {"d", "rb2"});
    w.ints("axis3", {3}, {});
    w.node("cat", "ConcatV2", {"m", "rn", "axis3"});
    w.node("dts", "DepthToSpace", {"cat"})["attr"] = {{"block_size", {{"i", "2"}}},
                                                      {"data_format", str("NHWC")}};
    w.ints("pads", {0, 0, 1, 0, 0, 1, 0, 0}, {4, 2});
    w.node("pd", "Pad", {"dts", "pads"});
    w.node("ap", "AvgPool", {"pd"})["attr"] = {{"ksize", ints({1, 3, 3, 1})},
                                               {"strides", ints({1, 2, 2, 1})},
                                               {"padding", str("SAME")},
                                               {"data_format", str("NHWC")}};
    w.weight("alpha", {3}, 7);
    w.node("pr", "Prelu", {"ap", "alpha"});
    w.ints("perm", {0, 3, 1, 2});
    w.node("tp", "Transpose", {"pr", "perm"});
    w.ints("ss_b", {0, 1, 0, 1});
    w.ints("ss_e", {1, 3, 8, 0});
    w.ints("ss_s", {1, 1, 2, 3});
    w.node("ss1", "StridedSlice", {"tp", "ss_b", "ss_e", "ss_s"})["attr"] = {
        {"begin_mask", {{"i", "0"}}}, {"end_mask", {{"i", "8"}}}};
    // tfjs 4.22 mis-indexes a shrunk axis when another axis has a stride above 1, so the
    // shrink (from the end: index -1) is a second slice with unit strides.
    w.ints("ss2_b", {0, -1, 0, 0});
    w.ints("ss2_e", {1, 0, 4, 4});
    w.ints("ss2_s", {1, 1, 1, 1});
    w.node("ss", "StridedSlice",
           {"ss1", "ss2_b", "ss2_e", "ss2_s"})["attr"] = {{"shrink_axis_mask", {{"i", "2"}}}};
    w.ints("zero", {0}, {});
    w.node("ed", "ExpandDims", {"ss", "zero"});
    w.node("sq", "Squeeze", {"ed"})["attr"] = {{"squeeze_dims", ints({0})}};
    w.ints("flat", {1, -1});
    w.node("rs", "Reshape", {"sq", "flat"});
    w.weight("wm", {16, 5}, 8, "uint16");
    w.weight("bm", {5}, 9);
    w.node("mm", "_FusedMatMul", {"rs", "wm", "bm"})["attr"] = {
        {"fused_ops", strs({"BiasAdd", "Sigmoid"})},
        {"num_args", {{"i", "1"}}},
        {"transpose_a", {{"b", false}}},
        {"transpose_b", {{"b", false}}}};
    w.weight("wt", {7, 16}, 10);
    w.node("mm2", "MatMul", {"rs", "wt"})["attr"] = {{"transpose_b", {{"b", true}}}};
    w.node("sm", "Softmax", {"mm2"});
    w.ints("hw", {1, 2});
    w.node("mean", "Mean", {"pr", "hw"})["attr"] = {{"keep_dims", {{"b", true}}}};
    w.node("addn", "AddN", {"mean", "mean", "mean"});
    w.node("sg", "Sigmoid", {"addn"});
    w.weight("wc", {2, 2, 4, 3}, 11);
    w.node("cd", "Conv2D", {"x", "wc"})["attr"] = {{"strides", ints({1, 1, 1, 1})},
                                                   {"padding", str("SAME")},
                                                   {"data_format", str("NHWC")},
                                                   {"dilations", ints({1, 2, 2, 1})}};
    w.weight("bc", {3}, 12);
    w.node("cb", "BiasAdd", {"cd", "bc"})["attr"] = {{"data_format", str("NHWC")}};
    w.node("mpool", "MaxPool", {"cb"})["attr"] = {{"ksize", ints({1, 3, 2, 1})},
                                                  {"strides", ints({1, 2, 3, 1})},
                                                  {"padding", str("VALID")},
                                                  {"data_format", str("NHWC")}};
    w.node("th", "Tanh", {"mpool"});
    w.node("rl", "Relu", {"th"});
    w.write(dir, {"mm", "sm", "sg", "rl"});
}

TEST(TfjsOps, SyntheticGraphModelMatchesTensorFlowJs) {
    if (const std::string why = referenceMissing(); !why.empty()) GTEST_SKIP() << why;
    const fs::path dir = freshDir("ops");
    writeOpsModel(dir);
    writeSeed("ops", dir / "model.json", dir / "weights.bin");
    auto graph = tfjs::importTfjs((dir / "model.json").string(), 0, 0);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const Tensor input = randomInput({1, 10, 10, 4}, 3);
    ASSERT_TRUE(engine::writeNpy((dir / "input.npy").string(), input).ok());
    const Reference ref = runNode(
        "run",
        {(dir / "model.json").string(), (dir / "input.npy").string(), (dir / "out").string()},
        dir / "out");
    expectMatches(*graph, input, ref);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);  // kept for a look otherwise
}

// ---- Layers models that tfjs builds and saves ---------------------------------------------

struct LayersCase {
    const char* kind;
    Shape input;
};

class TfjsLayers : public ::testing::TestWithParam<LayersCase> {};

TEST_P(TfjsLayers, MatchesTensorFlowJs) {
    if (const std::string why = referenceMissing(); !why.empty()) GTEST_SKIP() << why;
    const LayersCase& c = GetParam();
    const fs::path dir = freshDir(std::string("layers_") + c.kind);
    const Tensor input = randomInput(c.input, 5);
    ASSERT_TRUE(engine::writeNpy((dir / "input.npy").string(), input).ok());
    const Reference ref = runNode(
        "make-layers",
        {c.kind, (dir / "model").string(), (dir / "input.npy").string(), (dir / "out").string()},
        dir / "out");
    writeSeed(std::string("layers_") + c.kind, dir / "model" / "model.json",
              dir / "model" / "weights.bin");
    auto graph = tfjs::importTfjs((dir / "model" / "model.json").string(), c.input[1], c.input[2]);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    EXPECT_EQ(graph->value(graph->inputs[0]).shape, c.input);
    expectMatches(*graph, input, ref);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);  // kept for a look otherwise
}

INSTANTIATE_TEST_SUITE_P(Models, TfjsLayers,
                         ::testing::Values(LayersCase{"seq", {1, 20, 24, 3}},
                                           LayersCase{"func", {1, 12, 12, 4}}),
                         [](const auto& p) { return std::string(p.param.kind); });

// A layers model from npm: nsfwjs's Keras MobileNetV2 (uint8 weights; Conv2D, DepthwiseConv2D,
// BatchNormalization, ReLU(6), ZeroPadding2D, Add, AveragePooling2D, Flatten, Dense, Dropout),
// unbundled from the package's .min.js files by node, then matched like the others.
TEST(TfjsNpmLayers, NsfwjsMobileNetV2MatchesTensorFlowJs) {
    const std::string bundled =
        prunelab::testing::cacheDir() + "/models/tfjs/nsfwjs-mobilenet-v2/model.min.js";
    if (!fs::exists(bundled)) GTEST_SKIP() << bundled << " is missing: run ./prunelab setup";
    if (const std::string why = referenceMissing(); !why.empty()) GTEST_SKIP() << why;
    const fs::path dir = freshDir("nsfwjs");
    (void)runNode("unbundle", {bundled, (dir / "model").string()}, dir / "model");
    ASSERT_TRUE(fs::exists(dir / "model" / "model.json"));
    auto graph = tfjs::importTfjs((dir / "model" / "model.json").string(), 224, 224);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    EXPECT_EQ(graph->value(graph->inputs[0]).shape, (Shape{1, 224, 224, 3}));
    const Tensor input = randomInput({1, 224, 224, 3}, 11);
    ASSERT_TRUE(engine::writeNpy((dir / "input.npy").string(), input).ok());
    const Reference ref = runNode("run",
                                  {(dir / "model" / "model.json").string(),
                                   (dir / "input.npy").string(), (dir / "out").string()},
                                  dir / "out");
    expectMatches(*graph, input, ref);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// ---- Refusals --------------------------------------------------------------------------------

// A one-conv graph model whose manifest and nodes each test bends.
struct TinyModel {
    Json model;
    std::string shard;
    TinyModel() {
        GraphModelWriter w;
        model = {
            {"format", "graph-model"},
            {"modelTopology",
             {{"node",
               {{{"name", "x"},
                 {"op", "Placeholder"},
                 {"attr",
                  {{"shape",
                    {{"shape",
                      {{"dim",
                        {{{"size", "1"}},
                         {{"size", "4"}},
                         {{"size", "4"}},
                         {{"size", "2"}}}}}}}}}}},
                {{"name", "k"}, {"op", "Const"}},
                {{"name", "y"},
                 {"op", "Conv2D"},
                 {"input", {"x", "k"}},
                 {"attr", {{"strides", ints({1, 1, 1, 1})}, {"padding", str("SAME")}}}}}}}},
            {"weightsManifest",
             {{{"paths", {"w.bin"}},
               {"weights", {{{"name", "k"}, {"shape", {1, 1, 2, 3}}, {"dtype", "float32"}}}}}}}};
        shard.assign(6 * 4, '\0');
    }
    engine::Result<engine::Graph> import(const std::string& name) const {
        const fs::path dir = freshDir("bad_" + name);
        std::ofstream(dir / "model.json") << model.dump();
        std::ofstream(dir / "w.bin", std::ios::binary) << shard;
        if (name == "ok") writeSeed("tiny_conv", dir / "model.json", dir / "w.bin");
        return tfjs::importTfjs((dir / "model.json").string(), 0, 0);
    }
};

void expectRefused(const engine::Result<engine::Graph>& r, const std::vector<std::string>& words) {
    ASSERT_FALSE(r.ok()) << "accepted";
    const std::string text = r.error().toString();
    for (const std::string& w : words) EXPECT_NE(text.find(w), std::string::npos) << text;
    EXPECT_NE(text.find("model.json"), std::string::npos) << text;
}

TEST(TfjsRefusals, TheTinyModelImports) {
    auto g = TinyModel().import("ok");
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_EQ(g->value(g->outputs[0]).shape, (Shape{1, 4, 4, 3}));
    EXPECT_EQ(g->value(g->outputs[0]).name, "y");
}

TEST(TfjsRefusals, DuplicateWeightName) {
    TinyModel m;
    m.model["weightsManifest"][0]["weights"].push_back(m.model["weightsManifest"][0]["weights"][0]);
    m.shard += m.shard;
    expectRefused(m.import("dup"), {"'k'", "twice", "silently keep the last"});
}

TEST(TfjsRefusals, ShortShard) {
    TinyModel m;
    m.shard.resize(20);
    expectRefused(m.import("short"), {"'w.bin'", "too short", "20 bytes", "needs 24"});
}

TEST(TfjsRefusals, ShardPathOutsideTheFolder) {
    for (const std::string path : {"../w.bin", "/etc/passwd", "sub/../../w.bin"}) {
        TinyModel m;
        m.model["weightsManifest"][0]["paths"][0] = path;
        expectRefused(m.import("escape"), {path, "outside"});
    }
}

TEST(TfjsRefusals, SymlinkedShardLeadingOut) {
    const fs::path outside = freshDir("outside");
    std::ofstream(outside / "secret.bin", std::ios::binary) << std::string(24, '\0');
    TinyModel m;
    m.model["weightsManifest"][0]["paths"][0] = "link.bin";
    const fs::path dir = freshDir("bad_symlink");
    std::ofstream(dir / "model.json") << m.model.dump();
    fs::create_symlink(outside / "secret.bin", dir / "link.bin");
    expectRefused(tfjs::importTfjs((dir / "model.json").string(), 0, 0),
                  {"link.bin", "outside the model's folder"});
}

TEST(TfjsRefusals, UnknownOpNamesTheNode) {
    TinyModel m;
    m.model["modelTopology"]["node"][2]["op"] = "FancyOp";
    expectRefused(m.import("op"), {"node 'y'", "FancyOp", "not supported"});
}

TEST(TfjsRefusals, BadDtypeAndShapeInTheManifest) {
    TinyModel m;
    m.model["weightsManifest"][0]["weights"][0]["dtype"] = "float64";
    expectRefused(m.import("dtype"), {"'k'", "float64"});
    TinyModel s;
    s.model["weightsManifest"][0]["weights"][0]["shape"] = {1, -2, 2, 3};
    expectRefused(s.import("shape"), {"'k'", "bad shape"});
    TinyModel q;
    q.model["weightsManifest"][0]["weights"][0]["quantization"] = {{"dtype", "int4"}};
    expectRefused(q.import("quant"), {"'k'", "int4"});
}

TEST(TfjsRefusals, NchwAndSymmetricMirrorPad) {
    TinyModel m;
    m.model["modelTopology"]["node"][2]["attr"]["data_format"] = str("NCHW");
    expectRefused(m.import("nchw"), {"node 'y'", "NCHW"});
    TinyModel p;
    auto& nodes = p.model["modelTopology"]["node"];
    nodes[2] = {{"name", "y"},
                {"op", "MirrorPad"},
                {"input", {"x", "k"}},
                {"attr", {{"mode", str("SYMMETRIC")}}}};
    expectRefused(p.import("mirror"), {"node 'y'", "SYMMETRIC"});
}

TEST(TfjsRefusals, MissingWeightAndInput) {
    TinyModel m;
    m.model["modelTopology"]["node"][2]["input"] = {"x", "nothere"};
    expectRefused(m.import("missing"), {"node 'y'", "nothere"});
    TinyModel n;
    n.model["modelTopology"]["node"][1]["name"] = "k2";
    n.model["modelTopology"]["node"][2]["input"] = {"x", "k2"};
    expectRefused(n.import("noweight"), {"node 'k2'", "no weight"});
}

TEST(TfjsRefusals, LooksLikeTfjsTellsWaifu2xApart) {
    EXPECT_TRUE(tfjs::looksLikeTfjsModel(TinyModel().model.dump()));
    EXPECT_FALSE(tfjs::looksLikeTfjsModel(R"([{"nInputPlane": 3, "weight": []}])"));
    EXPECT_FALSE(tfjs::looksLikeTfjsModel("not json"));
}

// ".json" is both waifu2x's and tfjs's: loadModelFile tells them apart by content.
TEST(TfjsModelFiles, JsonOpensTfjsAndStillWaifu2x) {
    const std::string tfjsModel = prunelab::testing::cacheDir() + "/models/tfjs/emotion/model.json";
    const std::string waifu2x =
        prunelab::testing::cacheDir() + "/models/waifu2x/scale2.0x_model.json";
    if (!fs::exists(tfjsModel) || !fs::exists(waifu2x)) {
        GTEST_SKIP() << "emotion (tfjs) or waifu2x scale2.0x is missing: run ./prunelab setup";
    }
    auto emotion = plugins::loadModelFile(tfjsModel);
    ASSERT_TRUE(emotion.ok()) << emotion.error().toString();
    EXPECT_EQ(emotion->value(emotion->inputs[0]).shape, (Shape{1, 64, 64, 1}));
    EXPECT_EQ(emotion->value(emotion->outputs[0]).shape, (Shape{1, 7}));
    auto scale = plugins::loadModelFile(waifu2x, 40, 48);
    ASSERT_TRUE(scale.ok()) << scale.error().toString();
    EXPECT_EQ(scale->value(scale->inputs[0]).shape, (Shape{1, 3, 40, 48}));
}

// The catalog's "selfie-tfjs" decodes through the segmentation task, and its mask on a photo of a
// person agrees with MediaPipe's own .tflite of the same model ("selfie-segmentation").
TEST(TfjsCatalog, SelfieMaskAgreesWithMediaPipesTflite) {
    auto catalog = engine::loadCatalog(std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json");
    ASSERT_TRUE(catalog.ok()) << catalog.error().toString();
    const engine::CatalogEntry* web = catalog->find("selfie-tfjs");
    const engine::CatalogEntry* lite = catalog->find("selfie-segmentation");
    ASSERT_NE(web, nullptr);
    ASSERT_NE(lite, nullptr);
    EXPECT_EQ(web->format, engine::ModelFormat::Tfjs);
    const std::string photo = prunelab::testing::cacheDir() + "/photos/person.jpg";
    for (const auto* e : {web, lite}) {
        for (const std::string& f : e->files) {
            if (!fs::exists(prunelab::testing::cacheDir() + "/" + f)) {
                GTEST_SKIP() << f << " is missing: run ./prunelab setup";
            }
        }
    }
    if (!fs::exists(photo)) GTEST_SKIP() << photo << " is missing: run ./prunelab setup";
    auto picture = engine::readImage(photo);
    ASSERT_TRUE(picture.ok()) << picture.error().toString();
    std::vector<engine::SegmentationMask> masks;
    for (const auto* e : {web, lite}) {
        auto graph = plugins::loadCatalogModel(*e, prunelab::testing::cacheDir(), 0, 0);
        ASSERT_TRUE(graph.ok()) << e->id << ": " << graph.error().toString();
        auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 2});
        ASSERT_TRUE(exec.ok()) << exec.error().toString();
        const engine::RunModel run = [&](std::span<const Tensor> in) { return (*exec)->run(in); };
        auto r = engine::runTask(*e, graph->value(graph->inputs[0]).shape, run, *picture);
        ASSERT_TRUE(r.ok()) << e->id << ": " << r.error().toString();
        masks.push_back(r->mask);
    }
    ASSERT_EQ(masks[0].width, masks[1].width);
    ASSERT_EQ(masks[0].height, masks[1].height);
    size_t both = 0, either = 0;
    for (size_t i = 0; i < masks[0].probability.size(); ++i) {
        const bool a = masks[0].probability[i] >= 0.5f, b = masks[1].probability[i] >= 0.5f;
        both += a && b;
        either += a || b;
    }
    const double iou = either == 0 ? 0.0 : static_cast<double>(both) / static_cast<double>(either);
    std::printf(
        "selfie-tfjs vs selfie-segmentation on person.jpg: coverage %.3f vs %.3f, IoU %.3f\n",
        masks[0].coverage, masks[1].coverage, iou);
    EXPECT_GT(masks[0].coverage, 0.02);  // a person is there (about 5% of person.jpg)
    EXPECT_LT(masks[0].coverage, 0.95);  // and not everywhere
    EXPECT_GE(iou, 0.8);
}

// The catalog's "emotion" on a face (the messi5.jpg crop the face tests use): our decoded top-7
// carries tfjs's probability for each label, best first, the labels in FER-2013 order by index.
TEST(TfjsCatalog, EmotionClassesFollowTensorFlowJsOnAFace) {
    if (const std::string why = referenceMissing(); !why.empty()) GTEST_SKIP() << why;
    auto catalog = engine::loadCatalog(std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json");
    ASSERT_TRUE(catalog.ok()) << catalog.error().toString();
    const engine::CatalogEntry* e = catalog->find("emotion");
    ASSERT_NE(e, nullptr);
    const std::string model = prunelab::testing::cacheDir() + "/" + e->files[0];
    const std::string photo = prunelab::testing::cacheDir() + "/photos/messi5.jpg";
    if (!fs::exists(model) || !fs::exists(photo)) GTEST_SKIP() << "run ./prunelab setup";
    auto full = engine::readImage(photo);
    ASSERT_TRUE(full.ok()) << full.error().toString();
    engine::Image face(120, 120);
    for (int r = 0; r < 120; ++r) std::copy_n(full->pixel(181, 54 + r), 120 * 3, face.pixel(0, r));

    auto graph = plugins::loadCatalogModel(*e, prunelab::testing::cacheDir(), 0, 0);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const engine::RunModel run = [&](std::span<const Tensor> in) { return (*exec)->run(in); };
    engine::TaskInput used;
    auto r = engine::runTask(*e, graph->value(graph->inputs[0]).shape, run, face, &used);
    ASSERT_TRUE(r.ok()) << r.error().toString();

    const fs::path dir = freshDir("emotion");
    ASSERT_TRUE(engine::writeNpy((dir / "input.npy").string(), used.tensor).ok());
    const Reference ref =
        runNode("run", {model, (dir / "input.npy").string(), (dir / "out").string()}, dir / "out");
    ASSERT_EQ(ref.outputs.size(), 1u);
    const auto probs = ref.outputs[0].span<float>();
    ASSERT_EQ(probs.size(), 7u);
    const std::vector<std::string> fer = {"angry", "disgust",  "fear",   "happy",
                                          "sad",   "surprise", "neutral"};
    ASSERT_EQ(r->classes.size(), 7u);
    for (size_t k = 0; k < r->classes.size(); ++k) {
        const engine::ClassScore& c = r->classes[k];
        ASSERT_GE(c.index, 0);
        ASSERT_LT(c.index, 7);
        EXPECT_EQ(c.label, fer[static_cast<size_t>(c.index)]);
        EXPECT_NEAR(c.probability, probs[static_cast<size_t>(c.index)], 1e-4) << c.label;
        if (k > 0) {
            EXPECT_GE(r->classes[k - 1].probability, c.probability);
        }
    }
    std::printf("emotion on the messi5.jpg face: %s %.3f, %s %.3f\n", r->classes[0].label.c_str(),
                r->classes[0].probability, r->classes[1].label.c_str(), r->classes[1].probability);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace

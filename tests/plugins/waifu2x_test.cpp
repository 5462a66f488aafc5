// waifu2x JSON importer on the real vgg_7 models: the IR runs like ONNX Runtime on the exported
// model, the first conv matches a hand computation from the JSON, and bad files fail clearly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "plugins/import-waifu2x/waifu2x_import.h"
#include "plugins/refrt/ort_runner.h"

namespace {

using namespace prunelab;
using nlohmann::json;

const std::string kModelDir = std::string(PRUNELAB_CACHE_DIR) + "/models/waifu2x/";
const std::string kPhoto = std::string(PRUNELAB_CACHE_DIR) + "/photos/person.jpg";

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string writeTemp(const std::string& name, const std::string& text) {
    const std::string path = testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

int countOps(const engine::Graph& g, engine::OpKind op) {
    return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(),
                                          [&](const engine::Node& n) { return n.op == op; }));
}

class Waifu2xModel : public testing::TestWithParam<const char*> {};

TEST_P(Waifu2xModel, ImportsAndMatchesOnnxRuntime) {
    const std::string path = kModelDir + GetParam();
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing: run ./prunelab setup";
    auto graph = plugins::importWaifu2xJson(path, 64, 64);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_TRUE(verifyGraph(*graph).ok());
    EXPECT_EQ(countOps(*graph, engine::OpKind::Conv), 7);
    EXPECT_EQ(countOps(*graph, engine::OpKind::LeakyRelu), 6);
    EXPECT_EQ(graph->value(graph->outputs[0]).shape, (engine::Shape{1, 3, 50, 50}));
    EXPECT_EQ(graph->metadata.at("waifu2x.offset"), "7");

    auto input = engine::loadImageAsInput(kPhoto, {1, 3, 64, 64});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(*graph);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto ours = (*exec)->run({&*input, 1});
    ASSERT_TRUE(ours.ok()) << ours.error().toString();

    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime";
    auto bytes = engine::exportOnnxBytes(*graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto ort = refrt::OrtRunner::loadBytes(*bytes, GetParam(), 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto ref = (*ort)->run({&*input, 1});
    ASSERT_TRUE(ref.ok()) << ref.error().toString();

    auto a = (*ours)[0].span<float>();
    auto b = (*ref)[0].span<float>();
    ASSERT_EQ(a.size(), b.size());
    auto [lo, hi] = std::minmax_element(b.begin(), b.end());
    const float range = *hi - *lo;
    ASSERT_GT(range, 0.0f);
    float maxDiff = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) maxDiff = std::max(maxDiff, std::fabs(a[i] - b[i]));
    EXPECT_LE(maxDiff, 1e-4f * range) << "range " << range;
}

INSTANTIATE_TEST_SUITE_P(RealFiles, Waifu2xModel,
                         testing::Values("scale2.0x_model.json", "noise0_model.json",
                                         "noise1_model.json", "noise2_model.json",
                                         "noise3_model.json"));

// Independent of the importer: the first conv at one pixel, summed in double from the JSON
// numbers, against the engine running a graph cut after the first Conv.
TEST(Waifu2x, FirstConvMatchesHandComputation) {
    const std::string path = kModelDir + "scale2.0x_model.json";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
    auto graph = plugins::importWaifu2xJson(path, 64, 64);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    engine::Graph cut = *graph;
    ASSERT_EQ(cut.nodes[0].op, engine::OpKind::Conv);
    cut.outputs = {cut.nodes[0].outputs[0]};
    cut.removeDeadCode();
    ASSERT_TRUE(verifyGraph(cut).ok());

    auto input = engine::loadImageAsInput(kPhoto, {1, 3, 64, 64});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(cut);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto out = (*exec)->run({&*input, 1});
    ASSERT_TRUE(out.ok()) << out.error().toString();
    const engine::Tensor& y = (*out)[0];
    ASSERT_EQ(y.shape(), (engine::Shape{1, 32, 62, 62}));

    const json layer = json::parse(readFile(path))[0];
    const float* x = input->data<float>();
    const int oy = 20, ox = 37;  // an arbitrary interior pixel
    for (int o : {0, 5, 31}) {
        double sum = layer["bias"][o].get<double>();
        for (int c = 0; c < 3; ++c)
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx)
                    sum += layer["weight"][o][c][ky][kx].get<double>() *
                           double(x[(c * 64 + oy + ky) * 64 + ox + kx]);
        const float got = y.data<float>()[(o * 62 + oy) * 62 + ox];
        EXPECT_NEAR(got, sum, 1e-5 * (1.0 + std::fabs(sum))) << "channel " << o;
    }
}

// A small consistent model (1x1 kernels) to break one thing at a time.
json tinyModel() {
    json m = json::array();
    const int planes[3] = {3, 4, 3};
    for (int i = 0; i < 2; ++i) {
        json l = {{"nInputPlane", planes[i]},
                  {"nOutputPlane", planes[i + 1]},
                  {"kW", 1},
                  {"kH", 1},
                  {"dW", 1},
                  {"dH", 1}};
        json w = json::array();
        for (int o = 0; o < planes[i + 1]; ++o) {
            json wo = json::array();
            for (int c = 0; c < planes[i]; ++c) wo.push_back(json::array({json::array({0.5})}));
            w.push_back(wo);
        }
        l["weight"] = w;
        l["bias"] = json(std::vector<double>(static_cast<size_t>(planes[i + 1]), 0.1));
        m.push_back(l);
    }
    return m;
}

void expectError(const std::string& path, const std::string& needle,
                 engine::ErrorCode code = engine::ErrorCode::Corrupt, int64_t size = 16) {
    auto r = plugins::importWaifu2xJson(path, size, size);
    ASSERT_FALSE(r.ok()) << path;
    const std::string text = r.error().toString();
    EXPECT_EQ(r.error().code, code) << text;
    EXPECT_NE(text.find(path), std::string::npos) << text;
    EXPECT_NE(text.find(needle), std::string::npos) << text;
}

TEST(Waifu2x, TinyModelImports) {
    auto r = plugins::importWaifu2xJson(writeTemp("w2x_tiny.json", tinyModel().dump()), 4, 4);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(countOps(*r, engine::OpKind::LeakyRelu), 1);
}

TEST(Waifu2x, TruncatedFileIsCorrupt) {
    const std::string path = kModelDir + "noise1_model.json";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
    const std::string text = readFile(path);
    expectError(writeTemp("w2x_truncated.json", text.substr(0, text.size() / 2)), "not valid JSON");
}

TEST(Waifu2x, WrongBiasLengthNamesTheLayer) {
    json m = tinyModel();
    m[1]["bias"].erase(0);
    expectError(writeTemp("w2x_bias.json", m.dump()), "layer 1: bias");
}

TEST(Waifu2x, BrokenChainingNamesTheLayer) {
    json m = tinyModel();
    // Layer 0 outputs 4 planes; make it 2 consistently, so only the chaining is wrong.
    m[0]["nOutputPlane"] = 2;
    m[0]["weight"].erase(0);
    m[0]["weight"].erase(0);
    m[0]["bias"].erase(0);
    m[0]["bias"].erase(0);
    expectError(writeTemp("w2x_chain.json", m.dump()), "layer 1: nInputPlane is 4");
}

TEST(Waifu2x, WeightNestingNamesTheLayer) {
    json m = tinyModel();
    m[0]["weight"][2].erase(1);
    expectError(writeTemp("w2x_nesting.json", m.dump()), "layer 0: weight[2] (nInputPlane)");
}

TEST(Waifu2x, MissingKeyNamesTheLayer) {
    json m = tinyModel();
    m[1].erase("kW");
    expectError(writeTemp("w2x_key.json", m.dump()), "layer 1: missing key 'kW'");
}

TEST(Waifu2x, NonFiniteNumberNamesTheLayer) {
    std::string text = tinyModel().dump();
    // 1e300 is a finite double but infinity as float32, the IR's weight type.
    text.replace(text.rfind("0.1"), 3, "1e300");
    expectError(writeTemp("w2x_inf.json", text), "layer 1: bias[2] is not a finite float");
}

TEST(Waifu2x, NumberOverflowIsCorrupt) {
    std::string text = tinyModel().dump();
    text.replace(text.find("0.5"), 3, "1e999");  // beyond double: nlohmann refuses it
    expectError(writeTemp("w2x_overflow.json", text), "not valid JSON");
}

TEST(Waifu2x, NotAnArray) {
    expectError(writeTemp("w2x_object.json", R"({"nInputPlane": 3})"), "expected a JSON array");
}

TEST(Waifu2x, InputSmallerThanReceptiveField) {
    const std::string path = kModelDir + "noise2_model.json";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
    expectError(path, "too small", engine::ErrorCode::InvalidArgument, 14);
}

TEST(Waifu2x, HugeInputIsRefused) {
    const std::string path = writeTemp("w2x_huge.json", tinyModel().dump());
    auto r = plugins::importWaifu2xJson(path, int64_t(1) << 30, int64_t(1) << 30);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, engine::ErrorCode::OutOfRange) << r.error().toString();
}

// The fuzzer's entry point (waifu2x_import_fuzzer) reads text as the file one reads a file.
TEST(Waifu2x, ImportsFromTextAsFromAFile) {
    const std::string text = tinyModel().dump();
    const std::string path = writeTemp("w2x_text.json", text);
    auto fromFile = plugins::importWaifu2xJson(path, 4, 4);
    auto fromText = plugins::importWaifu2xJsonText(text, path, 4, 4);
    ASSERT_TRUE(fromFile.ok()) << fromFile.error().toString();
    ASSERT_TRUE(fromText.ok()) << fromText.error().toString();
    auto a = engine::exportOnnxBytes(*fromFile);
    auto b = engine::exportOnnxBytes(*fromText);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
    auto broken = plugins::importWaifu2xJsonText(text.substr(0, 40), "memory.json", 4, 4);
    ASSERT_FALSE(broken.ok());
    EXPECT_EQ(broken.error().code, engine::ErrorCode::Corrupt);
    EXPECT_NE(broken.error().toString().find("memory.json"), std::string::npos);
}

TEST(Waifu2x, MissingFile) {
    expectError(testing::TempDir() + "no_such_waifu2x.json", "cannot open",
                engine::ErrorCode::NotFound);
}

}  // namespace

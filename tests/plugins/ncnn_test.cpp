// ncnn importer on Real-ESRGAN animevideov3 x2/x3/x4: shapes, the engine vs ONNX Runtime on the
// exported graph, the first Conv+PReLU against a hand-written reader, and clear errors on bad
// files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "plugins/import-ncnn/ncnn_import.h"
#include "plugins/refrt/ort_runner.h"

namespace {

using namespace prunelab;
namespace fs = std::filesystem;

constexpr int64_t kH = 24, kW = 32;  // small: the model is ~1.2 MB but runs at full width

std::string modelPath(int scale, const char* ext) {
    return std::string(PRUNELAB_CACHE_DIR) + "/models/realesrgan/realesr-animevideov3-x" +
           std::to_string(scale) + ext;
}
std::string photoPath() {
    return std::string(PRUNELAB_CACHE_DIR) + "/photos/person.jpg";
}

std::string readAll(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}
void writeAll(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

#define SKIP_WITHOUT_MODEL(scale)                                                         \
    if (!fs::exists(modelPath(scale, ".param")) || !fs::exists(modelPath(scale, ".bin"))) \
    GTEST_SKIP() << "Real-ESRGAN not in the cache: run ./prunelab setup"

class RealEsrgan : public ::testing::TestWithParam<int> {};

TEST_P(RealEsrgan, ImportsVerifiesAndMatchesOnnxRuntime) {
    const int scale = GetParam();
    SKIP_WITHOUT_MODEL(scale);
    auto graph = ncnn::importNcnn(modelPath(scale, ".param"), modelPath(scale, ".bin"), kH, kW);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_TRUE(verifyGraph(*graph).ok());
    ASSERT_EQ(graph->outputs.size(), 1u);
    EXPECT_EQ(graph->value(graph->outputs[0]).shape, (engine::Shape{1, 3, kH * scale, kW * scale}));

    auto input = engine::loadImageAsInput(photoPath(), {1, 3, kH, kW});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 2});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    std::vector<engine::Tensor> inputs = {*input};
    auto ours = (*exec)->run(inputs);
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    ASSERT_EQ((*ours)[0].shape(), (engine::Shape{1, 3, kH * scale, kW * scale}));

    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime";
    auto bytes = engine::exportOnnxBytes(*graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto ort = refrt::OrtRunner::loadBytes(*bytes, "realesrgan-x" + std::to_string(scale), 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto theirs = (*ort)->run(inputs);
    ASSERT_TRUE(theirs.ok()) << theirs.error().toString();
    ASSERT_EQ((*theirs)[0].shape(), (*ours)[0].shape());
    auto a = (*ours)[0].span<float>();
    auto b = (*theirs)[0].span<float>();
    const auto [lo, hi] = std::minmax_element(b.begin(), b.end());
    const float range = *hi - *lo;
    ASSERT_GT(range, 0.1f);  // a real image through a real model, not all zeros
    float maxDiff = 0;
    for (size_t i = 0; i < a.size(); ++i) maxDiff = std::max(maxDiff, std::abs(a[i] - b[i]));
    EXPECT_LE(maxDiff, 1e-4f * range) << "range " << range;
}

INSTANTIATE_TEST_SUITE_P(Scales, RealEsrgan, ::testing::Values(2, 3, 4));

// ---- An independent reader for the first Convolution + PReLU ----------------------------

float halfBits(uint16_t h) {  // IEEE binary16 -> float, by the formula
    const int sign = (h >> 15) ? -1 : 1;
    const int e = (h >> 10) & 31;
    const int m = h & 1023;
    if (e == 0) return static_cast<float>(sign * std::ldexp(m, -24));
    return static_cast<float>(sign * std::ldexp(1024 + m, e - 25));
}

TEST(NcnnReference, FirstConvAndPReluMatchAHandReader) {
    SKIP_WITHOUT_MODEL(4);
    // The .param: find the first Convolution line and read num_output, kernel, weight size.
    std::istringstream param(readAll(modelPath(4, ".param")));
    std::string line;
    int outC = 0, k = 0, pad = 0, weightSize = 0;
    std::string convTop, preluTop;
    while (std::getline(param, line)) {
        std::istringstream in(line);
        std::string type, name, b, t, kv;
        int nb = 0, nt = 0;
        in >> type >> name >> nb >> nt;
        if (type == "Convolution" && convTop.empty()) {
            in >> b >> convTop;
            while (in >> kv) {
                const int key = std::stoi(kv.substr(0, kv.find('=')));
                const int val = std::stoi(kv.substr(kv.find('=') + 1));
                if (key == 0) outC = val;
                if (key == 1) k = val;
                if (key == 4) pad = val;
                if (key == 6) weightSize = val;
            }
        } else if (type == "PReLU" && !convTop.empty() && preluTop.empty()) {
            in >> b >> preluTop;
        }
    }
    ASSERT_EQ(outC, 64);
    ASSERT_EQ(k, 3);
    ASSERT_EQ(weightSize, outC * 3 * k * k);

    // The .bin: the fp16 tag, the fp16 weights (padded to 4 bytes), fp32 bias, fp32 slopes.
    const std::string bin = readAll(modelPath(4, ".bin"));
    uint32_t tag = 0;
    std::memcpy(&tag, bin.data(), 4);
    ASSERT_EQ(tag, 0x01306B47u);
    size_t pos = 4;
    std::vector<float> w(static_cast<size_t>(weightSize)), bias(64), slope(64);
    for (auto& v : w) {
        uint16_t h = 0;
        std::memcpy(&h, bin.data() + pos, 2);
        v = halfBits(h);
        pos += 2;
    }
    pos = (pos + 3) & ~size_t(3);
    std::memcpy(bias.data(), bin.data() + pos, 64 * 4);
    pos += 64 * 4;
    std::memcpy(slope.data(), bin.data() + pos, 64 * 4);

    auto graph = ncnn::importNcnn(modelPath(4, ".param"), modelPath(4, ".bin"), kH, kW);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Node& conv = graph->nodes[0];
    ASSERT_EQ(conv.op, engine::OpKind::Conv);
    const engine::Tensor& weight = graph->value(conv.inputs[1]).constant;
    ASSERT_EQ(weight.shape(), (engine::Shape{64, 3, 3, 3}));
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(weight.span<float>()[i], w[i]) << i;

    // The engine's PReLU output as the graph output, then a few pixels computed by hand.
    const engine::ValueId act = graph->findValue(preluTop);
    ASSERT_NE(act, engine::kNoValue);
    graph->outputs = {act};
    graph->removeDeadCode();
    auto input = engine::loadImageAsInput(photoPath(), {1, 3, kH, kW});
    ASSERT_TRUE(input.ok()) << input.error().toString();
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 1});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    std::vector<engine::Tensor> inputs = {*input};
    auto out = (*exec)->run(inputs);
    ASSERT_TRUE(out.ok()) << out.error().toString();
    auto x = input->span<float>();
    auto y = (*out)[0].span<float>();
    const int pixels[][3] = {{0, 0, 0}, {5, 0, 31}, {17, 12, 7}, {63, 23, 31}, {40, 11, 0}};
    for (const auto& p : pixels) {
        const int o = p[0], oy = p[1], ox = p[2];
        double sum = bias[static_cast<size_t>(o)];
        for (int c = 0; c < 3; ++c) {
            for (int ky = 0; ky < k; ++ky) {
                for (int kx = 0; kx < k; ++kx) {
                    const int iy = oy + ky - pad, ix = ox + kx - pad;
                    if (iy < 0 || iy >= kH || ix < 0 || ix >= kW) continue;  // zero padding
                    sum += double(w[size_t(((o * 3 + c) * k + ky) * k + kx)]) *
                           x[size_t((c * kH + iy) * kW + ix)];
                }
            }
        }
        const double expected = sum >= 0 ? sum : sum * slope[static_cast<size_t>(o)];
        EXPECT_NEAR(y[size_t((o * kH + oy) * kW + ox)], expected, 1e-4)
            << "channel " << o << " at (" << oy << ", " << ox << ")";
    }
}

// ---- Bad files ---------------------------------------------------------------------------

class NcnnBadFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(modelPath(4, ".param"))) GTEST_SKIP() << "Real-ESRGAN not in the cache";
        m_dir = fs::temp_directory_path() /
                ("prunelab_ncnn_test_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(m_dir);
        m_param = readAll(modelPath(4, ".param"));
        m_bin = readAll(modelPath(4, ".bin"));
    }
    void TearDown() override {
        std::error_code ec;
        if (!m_dir.empty()) fs::remove_all(m_dir, ec);
    }
    engine::Error importBroken(const std::string& param, const std::string& bin) {
        writeAll((m_dir / "m.param").string(), param);
        writeAll((m_dir / "m.bin").string(), bin);
        auto g = ncnn::importNcnn((m_dir / "m.param").string(), (m_dir / "m.bin").string(), kH, kW);
        EXPECT_FALSE(g.ok());
        return g.ok() ? engine::Error{} : g.error();
    }
    static std::string replaced(std::string s, const std::string& from, const std::string& to) {
        const size_t at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) s.replace(at, from.size(), to);
        return s;
    }
    fs::path m_dir;
    std::string m_param, m_bin;
};

TEST_F(NcnnBadFiles, TruncatedBinNamesLayerAndBytes) {
    const engine::Error e = importBroken(m_param, m_bin.substr(0, 5000));
    EXPECT_EQ(e.code, engine::ErrorCode::Corrupt);
    const std::string text = e.toString();
    EXPECT_NE(text.find("m.bin"), std::string::npos) << text;
    EXPECT_NE(text.find("layer 'Conv_2'"), std::string::npos) << text;
    EXPECT_NE(text.find("needs 73728 bytes"), std::string::npos) << text;
}

TEST_F(NcnnBadFiles, BadMagic) {
    const engine::Error e = importBroken(replaced(m_param, "7767517", "7767518"), m_bin);
    EXPECT_EQ(e.code, engine::ErrorCode::Corrupt);
    EXPECT_NE(e.toString().find("m.param"), std::string::npos) << e.toString();
    EXPECT_NE(e.toString().find("magic"), std::string::npos) << e.toString();
}

TEST_F(NcnnBadFiles, UnknownLayerTypeNamesTheLayer) {
    const engine::Error e =
        importBroken(replaced(m_param, "PixelShuffle ", "FancyShuffle "), m_bin);
    EXPECT_EQ(e.code, engine::ErrorCode::Unsupported);
    EXPECT_NE(e.toString().find("DepthToSpace_35"), std::string::npos) << e.toString();
    EXPECT_NE(e.toString().find("FancyShuffle"), std::string::npos) << e.toString();
}

TEST_F(NcnnBadFiles, MissingBlobNamesTheBlob) {
    const engine::Error e = importBroken(replaced(m_param, " 105 106 ", " nosuch 106 "), m_bin);
    EXPECT_EQ(e.code, engine::ErrorCode::NotFound);
    EXPECT_NE(e.toString().find("'nosuch'"), std::string::npos) << e.toString();
    EXPECT_NE(e.toString().find("DepthToSpace_35"), std::string::npos) << e.toString();
}

TEST_F(NcnnBadFiles, WeightSizeMismatch) {
    const engine::Error e = importBroken(replaced(m_param, "6=1728", "6=1729"), m_bin);
    EXPECT_EQ(e.code, engine::ErrorCode::Corrupt);
    EXPECT_NE(e.toString().find("Conv_0"), std::string::npos) << e.toString();
    EXPECT_NE(e.toString().find("weight_data_size"), std::string::npos) << e.toString();
}

TEST_F(NcnnBadFiles, LayerCountMismatch) {
    const engine::Error e = importBroken(replaced(m_param, "\n40 41", "\n41 41"), m_bin);
    EXPECT_EQ(e.code, engine::ErrorCode::Corrupt);
    EXPECT_NE(e.toString().find("layers"), std::string::npos) << e.toString();
}

TEST(NcnnImport, MissingFileIsIoError) {
    auto g = ncnn::importNcnn("/nonexistent/x.param", "/nonexistent/x.bin", kH, kW);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, engine::ErrorCode::Io);
    EXPECT_NE(g.error().toString().find("/nonexistent/x.param"), std::string::npos);
}

// The fuzzer's entry point (ncnn_import_fuzzer) reads the files' contents as importNcnn reads
// the files, and names the files it was given.
TEST(NcnnImport, ImportsFromMemoryAsFromFiles) {
    const std::string param =
        "7767517\n2 2\nInput data 0 1 data 0=5 1=5 2=1\n"
        "Convolution conv 1 1 data y 0=2 1=1 5=1 6=2\n";
    std::string bin(4, '\0');                            // fp32 tag
    const float values[4] = {0.5f, -2.0f, 0.25f, 1.0f};  // two 1x1 weights, two biases
    bin.append(reinterpret_cast<const char*>(values), sizeof values);
    const fs::path dir =
        fs::temp_directory_path() / ("prunelab_ncnn_memory_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string paramPath = (dir / "m.param").string(), binPath = (dir / "m.bin").string();
    writeAll(paramPath, param);
    writeAll(binPath, bin);
    auto fromFiles = ncnn::importNcnn(paramPath, binPath, 5, 5);
    fs::remove_all(dir);
    auto fromMemory = ncnn::importNcnnData(param, bin, paramPath, binPath, 5, 5);
    ASSERT_TRUE(fromFiles.ok()) << fromFiles.error().toString();
    ASSERT_TRUE(fromMemory.ok()) << fromMemory.error().toString();
    auto a = engine::exportOnnxBytes(*fromFiles);
    auto b = engine::exportOnnxBytes(*fromMemory);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
    auto shortBin = ncnn::importNcnnData(param, bin.substr(0, 10), "mem.param", "mem.bin", 5, 5);
    ASSERT_FALSE(shortBin.ok());
    EXPECT_NE(shortBin.error().toString().find("mem.bin"), std::string::npos)
        << shortBin.error().toString();
}

// Found by hand while reading the code for ncnn_import_fuzzer (reproducer in
// tests/data/fuzz/regressions/ncnn_input_channels_overflow.ncnn): an Input's channel count was the
// file's, unchecked, so the Reshape after it overflowed int64 multiplying the dims (undefined
// behaviour). Every blob's size is now checked as its layer makes it.
TEST(NcnnImport, HugeInputChannelsAreRefusedNamingTheLayer) {
    const std::string param =
        "7767517\n2 2\nInput in 0 1 data 2=2147483647\n"
        "Reshape rs 1 1 data r 0=-1\n";
    auto g = ncnn::importNcnnData(param, "", "huge.param", "huge.bin", 7, 9);
    ASSERT_FALSE(g.ok());
    const std::string text = g.error().toString();
    EXPECT_EQ(g.error().code, engine::ErrorCode::OutOfRange) << text;
    EXPECT_NE(text.find("huge.param"), std::string::npos) << text;
    EXPECT_NE(text.find("layer 'in' (Input)"), std::string::npos) << text;
    EXPECT_NE(text.find("more than 2^32 elements"), std::string::npos) << text;
}

// Found by hand while reading the code for ncnn_import_fuzzer (reproducers in
// tests/data/fuzz/regressions/ncnn_*.ncnn): an Interp scale of 3e38 made an infinite size cast to
// an integer, a parameter id of -2^63 was negated, and 64-bit parameters overflowed the sums and
// products of Pooling, InnerProduct and Convolution; all undefined behaviour. Parameters are now
// 32-bit, as ncnn reads them, and each case is refused naming file, layer and problem.
TEST(NcnnImport, HugeScalesParamIdsAndSizesAreRefused) {
    struct Case {
        const char* layer;
        const char* says;
    };
    const Case cases[] = {
        {"Interp up 1 1 data o 0=1 1=3.000000e+38 2=1.000000e+00", "beyond 2^32"},
        {"Interp up 1 1 data o 0=2 1=-3.000000e+38 2=1.000000e+00", "beyond 2^32"},
        {"ReLU up 1 1 data o -9223372036854775808=0", "outside ncnn's 0..31"},
        {"ReLU up 1 1 data o 32=1", "id 32 is outside"},
        {"ReLU up 1 1 data o -5=1", "id -5 is outside"},
        {"ReLU up 1 1 data o -23332=1,1", "id -23332 is outside"},
        {"Pooling up 1 1 data o 0=0 1=2 3=9223372036854775807 5=0",
         "parameter 3='9223372036854775807' is not a 32-bit integer"},
        {"InnerProduct up 1 1 data o 0=4611686018427387904 2=5", "is not a 32-bit integer"},
        {"Crop up 1 1 data o -23309=1,-2147483649 -23310=1,2", "is not a 32-bit integer"},
        // Within 32 bits, num_output * in * kh * kw still passes int64.
        {"Convolution up 1 1 data o 0=2147483647 1=2147483647 6=1", "more than 2^63"},
    };
    for (const Case& c : cases) {
        const std::string param = std::string("7767517\n2 2\nInput in 0 1 data\n") + c.layer + "\n";
        auto g = ncnn::importNcnnData(param, "", "bad.param", "bad.bin", 7, 9);
        ASSERT_FALSE(g.ok()) << c.layer;
        const std::string text = g.error().toString();
        EXPECT_EQ(g.error().code, engine::ErrorCode::Corrupt) << text;
        EXPECT_NE(text.find("bad.param"), std::string::npos) << text;
        EXPECT_NE(text.find("layer 'up'"), std::string::npos) << text;
        EXPECT_NE(text.find(c.says), std::string::npos) << text;
    }
    // The largest ids ncnn reads still import.
    auto ok = ncnn::importNcnnData(
        "7767517\n2 2\nInput in 0 1 data 31=0 -23331=0\n"
        "ReLU up 1 1 data o\n",
        "", "ok.param", "ok.bin", 7, 9);
    EXPECT_TRUE(ok.ok()) << ok.error().toString();
}

}  // namespace

// ---- A small synthetic model for the layers Real-ESRGAN does not use ----------------------

void appendFloats(std::string& bin, const std::vector<float>& values) {
    bin.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

TEST(NcnnSynthetic, PoolingDepthwiseEltwiseInnerProductMatchOnnxRuntime) {
    const fs::path dir =
        fs::temp_directory_path() / ("prunelab_ncnn_synthetic_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string param =
        "7767517\n"
        "8 10\n"
        "Input data 0 1 data 0=7 1=7 2=2\n"
        "Split split 1 3 data a b c\n"
        "Pooling pool 1 1 a p 0=0 1=2 2=2\n"  // max 2x2/2, ncnn "full" padding: 4x4 out
        "ConvolutionDepthWise dw 1 1 b d 0=2 1=3 4=1 5=1 6=18 7=2 9=2 -23310=1,1.000000e-01\n"
        "ReLU leaky 1 1 c r 0=2.000000e-01\n"
        "Eltwise sum 2 1 d r s 0=1\n"
        "Pooling gap 1 1 s g 0=1 4=1\n"
        "InnerProduct fc 1 1 g f 0=3 1=1 2=6 9=4\n";
    std::string bin;
    bin.append(4, '\0');  // fp32 tag
    std::vector<float> dw(18);
    for (size_t i = 0; i < dw.size(); ++i) dw[i] = 0.1f * static_cast<float>(i) - 0.8f;
    appendFloats(bin, dw);
    appendFloats(bin, {0.25f, -0.5f});  // dw bias
    const uint32_t fp16Tag = 0x01306B47;
    bin.append(reinterpret_cast<const char*>(&fp16Tag), 4);
    const uint16_t halves[6] = {0x3C00, 0xC000, 0x3800, 0x0000, 0xBC00, 0x4200};  // 1 -2 .5 0 -1 3
    bin.append(reinterpret_cast<const char*>(halves), sizeof halves);  // 12 bytes: 4-aligned
    appendFloats(bin, {0.1f, 0.2f, 0.3f});                             // fc bias
    writeAll((dir / "s.param").string(), param);
    writeAll((dir / "s.bin").string(), bin);

    auto graph = ncnn::importNcnn((dir / "s.param").string(), (dir / "s.bin").string(), 7, 7);
    fs::remove_all(dir);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    ASSERT_EQ(graph->outputs.size(), 2u);
    EXPECT_EQ(graph->value(graph->outputs[0]).shape, (engine::Shape{1, 2, 4, 4}));
    EXPECT_EQ(graph->value(graph->outputs[1]).shape, (engine::Shape{1, 3}));
    const engine::Value& fcWeight = graph->value(graph->findValue("fc_weight"));
    EXPECT_EQ(fcWeight.constant.toFloatVector(),
              (std::vector<float>{1.0f, -2.0f, 0.5f, 0.0f, -1.0f, 3.0f}));

    engine::Tensor x(engine::DataType::Float32, {1, 2, 7, 7});
    auto xs = x.span<float>();
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.37f * static_cast<float>(i));
    auto exec = engine::cpu::CpuExecutor::create(*graph, {.threads = 1});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    std::vector<engine::Tensor> inputs = {x};
    auto ours = (*exec)->run(inputs);
    ASSERT_TRUE(ours.ok()) << ours.error().toString();
    // ncnn's tail padding: the last 2x2 window of the 7x7 plane covers only pixel (6, 6).
    EXPECT_EQ((*ours)[0].span<float>()[15], xs[48]);
    EXPECT_EQ((*ours)[0].span<float>()[0], std::max({xs[0], xs[1], xs[7], xs[8]}));

    if (!refrt::ortAvailable()) GTEST_SKIP() << "built without ONNX Runtime";
    auto bytes = engine::exportOnnxBytes(*graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    auto ort = refrt::OrtRunner::loadBytes(*bytes, "synthetic", 1);
    ASSERT_TRUE(ort.ok()) << ort.error().toString();
    auto theirs = (*ort)->run(inputs);
    ASSERT_TRUE(theirs.ok()) << theirs.error().toString();
    for (size_t o = 0; o < 2; ++o) {
        auto a = (*ours)[o].span<float>();
        auto b = (*theirs)[o].span<float>();
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << o << ":" << i;
    }
}

// ncnn importer, layer by layer, on small synthetic .param/.bin pairs written here:
// Deconvolution(DepthWise), Reshape, Permute, Softmax, Crop, Padding, Flatten, BinaryOp's
// reversed/scalar ops, HardSigmoid/HardSwish and Mish. Each is checked against a plain computation
// of ncnn's own semantics written in this file, the engine's reference runner against its CPU
// executor, and the exported ONNX in ONNX Runtime; then each layer's bad parameters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "plugins/import-ncnn/ncnn_import.h"
#include "plugins/refrt/ort_runner.h"

namespace {

using namespace prunelab;
namespace fs = std::filesystem;

void appendFloats(std::string& bin, const std::vector<float>& values) {
    bin.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// Writes the pair to a fresh temporary folder, imports it at height x width, removes it.
engine::Result<engine::Graph> importText(const std::string& param, const std::string& bin,
                                         int64_t height, int64_t width) {
    static int counter = 0;
    const fs::path dir =
        fs::temp_directory_path() /
        ("prunelab_ncnn_layers_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir);
    std::ofstream((dir / "m.param").string(), std::ios::binary) << param;
    std::ofstream((dir / "m.bin").string(), std::ios::binary) << bin;
    auto graph =
        ncnn::importNcnn((dir / "m.param").string(), (dir / "m.bin").string(), height, width);
    fs::remove_all(dir);
    return graph;
}

// "7767517", the counts, an Input of c x h x w, then `layers` (one per line).
std::string model(int64_t c, const std::vector<std::string>& layers, int blobs) {
    std::string text = "7767517\n" + std::to_string(layers.size() + 1) + " " +
                       std::to_string(blobs) +
                       "\nInput data 0 1 data 0=0 1=0 2=" + std::to_string(c) + "\n";
    for (const std::string& line : layers) text += line + "\n";
    return text;
}

engine::Tensor wave(const engine::Shape& shape, float phase = 0.0f) {
    engine::Tensor x(engine::DataType::Float32, shape);
    auto xs = x.span<float>();
    for (size_t i = 0; i < xs.size(); ++i) {
        xs[i] = std::sin(0.61f * static_cast<float>(i) + phase) * (1.0f + 0.01f * float(i % 7));
    }
    return x;
}

// Runs the graph with the reference runner and the CPU executor (they must agree), exports
// it to ONNX and runs ONNX Runtime (must agree to 1e-4 of each output's range); returns the
// reference outputs. Records failures; returns empty on a hard error.
std::vector<engine::Tensor> runEverywhere(const engine::Graph& graph, const engine::Tensor& x) {
    std::vector<engine::Tensor> inputs = {x};
    auto ref = engine::runGraphReference(graph, inputs);
    EXPECT_TRUE(ref.ok()) << ref.error().toString();
    if (!ref.ok()) return {};
    auto exec = engine::cpu::CpuExecutor::create(graph, {.threads = 1});
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return {};
    auto cpu = (*exec)->run(inputs);
    EXPECT_TRUE(cpu.ok()) << cpu.error().toString();
    if (!cpu.ok()) return {};
    std::vector<std::vector<engine::Tensor>> others = {*cpu};
    if (refrt::ortAvailable()) {
        auto bytes = engine::exportOnnxBytes(graph);
        EXPECT_TRUE(bytes.ok()) << bytes.error().toString();
        if (!bytes.ok()) return {};
        auto ort = refrt::OrtRunner::loadBytes(*bytes, graph.name, 1);
        EXPECT_TRUE(ort.ok()) << ort.error().toString();
        if (!ort.ok()) return {};
        auto theirs = (*ort)->run(inputs);
        EXPECT_TRUE(theirs.ok()) << theirs.error().toString();
        if (!theirs.ok()) return {};
        others.push_back(*theirs);
    }
    for (size_t k = 0; k < others.size(); ++k) {
        const char* who = k == 0 ? "CPU executor" : "ONNX Runtime";
        EXPECT_EQ(others[k].size(), ref->size()) << who;
        for (size_t o = 0; o < std::min(others[k].size(), ref->size()); ++o) {
            EXPECT_EQ(others[k][o].shape(), (*ref)[o].shape()) << who << " output " << o;
            if (others[k][o].shape() != (*ref)[o].shape()) continue;
            auto a = (*ref)[o].span<float>();
            auto b = others[k][o].span<float>();
            const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
            const float range = std::max(*hi - *lo, 1e-3f);
            float maxDiff = 0;
            for (size_t i = 0; i < a.size(); ++i)
                maxDiff = std::max(maxDiff, std::abs(a[i] - b[i]));
            EXPECT_LE(maxDiff, 1e-4f * range) << who << " output " << o << ", range " << range;
        }
    }
    return *ref;
}

// Compares `got` element-wise with expected(c, h, w) over a [1, C, H, W] output.
void expectPlanes(const engine::Tensor& got, const engine::Shape& shape,
                  const std::function<float(int64_t, int64_t, int64_t)>& expected,
                  float tolerance = 1e-5f) {
    ASSERT_EQ(got.shape(), shape);
    auto y = got.span<float>();
    size_t i = 0;
    for (int64_t c = 0; c < shape[1]; ++c) {
        for (int64_t h = 0; h < shape[2]; ++h) {
            for (int64_t w = 0; w < shape[3]; ++w, ++i) {
                ASSERT_NEAR(y[i], expected(c, h, w), tolerance)
                    << "at c " << c << ", h " << h << ", w " << w;
            }
        }
    }
}

// ---- Deconvolution ------------------------------------------------------------------------

struct DeconvCase {
    const char* name;
    bool depthwise;
    int64_t inC, outC, group, kw, kh, sw, sh, dw, dh;
    int64_t padL, padR, padT, padB, outPadR, outPadB, outW, outH;
    bool bias;
    int64_t act;  // 0 none, 1 relu, 2 leaky 0.1, 4 sigmoid
};

void PrintTo(const DeconvCase& d, std::ostream* os) {
    *os << d.name;
}

std::string deconvLine(const DeconvCase& d) {
    const int64_t weights = d.outC * (d.inC / d.group) * d.kh * d.kw;
    std::string line = std::string(d.depthwise ? "DeconvolutionDepthWise" : "Deconvolution") +
                       " up 1 1 data y 0=" + std::to_string(d.outC) + " 1=" + std::to_string(d.kw) +
                       " 11=" + std::to_string(d.kh) + " 2=" + std::to_string(d.dw) +
                       " 12=" + std::to_string(d.dh) + " 3=" + std::to_string(d.sw) +
                       " 13=" + std::to_string(d.sh) + " 4=" + std::to_string(d.padL) +
                       " 15=" + std::to_string(d.padR) + " 14=" + std::to_string(d.padT) +
                       " 16=" + std::to_string(d.padB) + " 18=" + std::to_string(d.outPadR) +
                       " 19=" + std::to_string(d.outPadB) + " 20=" + std::to_string(d.outW) +
                       " 21=" + std::to_string(d.outH) + " 5=" + std::to_string(d.bias ? 1 : 0) +
                       " 6=" + std::to_string(weights);
    if (d.depthwise) line += " 7=" + std::to_string(d.group);
    if (d.act != 0) line += " 9=" + std::to_string(d.act);
    if (d.act == 2) line += " -23310=1,1.000000e-01";
    return line;
}

// ncnn's Deconvolution::forward and cut_padding, as plain loops: scatter into the full
// extent, bias, activation, zero output padding at the end, then the cut.
std::vector<float> plainDeconv(const DeconvCase& d, const engine::Tensor& x,
                               const std::vector<float>& w, const std::vector<float>& bias,
                               int64_t H, int64_t W, int64_t& outH, int64_t& outW) {
    const int64_t fullH = (H - 1) * d.sh + d.dh * (d.kh - 1) + 1;
    const int64_t fullW = (W - 1) * d.sw + d.dw * (d.kw - 1) + 1;
    const int64_t cg = d.inC / d.group, og = d.outC / d.group;
    const int64_t bigH = fullH + d.outPadB, bigW = fullW + d.outPadR;
    std::vector<double> full(size_t(d.outC * bigH * bigW), 0.0);
    auto xs = x.span<float>();
    for (int64_t oc = 0; oc < d.outC; ++oc) {
        const int64_t g = oc / og, o = oc % og;
        std::vector<double> plane(size_t(fullH * fullW), d.bias ? bias[size_t(oc)] : 0.0);
        for (int64_t c = 0; c < cg; ++c) {
            for (int64_t i = 0; i < H; ++i) {
                for (int64_t j = 0; j < W; ++j) {
                    const double v = xs[size_t(((g * cg + c) * H + i) * W + j)];
                    for (int64_t ki = 0; ki < d.kh; ++ki) {
                        for (int64_t kj = 0; kj < d.kw; ++kj) {
                            const float wv =
                                w[size_t((((g * og + o) * cg + c) * d.kh + ki) * d.kw + kj)];
                            plane[size_t((i * d.sh + ki * d.dh) * fullW + j * d.sw + kj * d.dw)] +=
                                v * wv;
                        }
                    }
                }
            }
        }
        for (double& v : plane) {
            if (d.act == 1) v = std::max(v, 0.0);
            if (d.act == 2) v = v > 0 ? v : v * 0.1;
            if (d.act == 4) v = 1.0 / (1.0 + std::exp(-v));
        }
        for (int64_t i = 0; i < fullH; ++i) {
            for (int64_t j = 0; j < fullW; ++j) {
                full[size_t((oc * bigH + i) * bigW + j)] = plane[size_t(i * fullW + j)];
            }
        }
    }
    int64_t top = 0, bottom = 0, left = 0, right = 0;
    if (d.padL > 0 || d.padR > 0 || d.padT > 0 || d.padB > 0) {
        top = d.padT, bottom = d.padB, left = d.padL, right = d.padR;
    } else if (d.outW > 0 && d.outH > 0) {
        const int64_t hcut = bigH - d.outH, wcut = bigW - d.outW;
        const bool upper = d.padL == -233;
        top = upper ? hcut / 2 : hcut - hcut / 2, bottom = hcut - top;
        left = upper ? wcut / 2 : wcut - wcut / 2, right = wcut - left;
    }
    outH = bigH - top - bottom;
    outW = bigW - left - right;
    std::vector<float> out;
    for (int64_t oc = 0; oc < d.outC; ++oc) {
        for (int64_t i = 0; i < outH; ++i) {
            for (int64_t j = 0; j < outW; ++j) {
                out.push_back(float(full[size_t((oc * bigH + i + top) * bigW + j + left)]));
            }
        }
    }
    return out;
}

class NcnnDeconvolution : public ::testing::TestWithParam<DeconvCase> {};

TEST_P(NcnnDeconvolution, MatchesPlainNcnnLoopsAndOnnxRuntime) {
    const DeconvCase& d = GetParam();
    constexpr int64_t H = 5, W = 6;
    const int64_t count = d.outC * (d.inC / d.group) * d.kh * d.kw;
    std::vector<float> w(static_cast<size_t>(count)), bias(static_cast<size_t>(d.outC));
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.37f * float(i)) * 0.5f;
    for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.3f - 0.2f * float(i);
    std::string bin(4, '\0');  // fp32 storage tag
    appendFloats(bin, w);
    if (d.bias) appendFloats(bin, bias);
    auto graph = importText(model(d.inC, {deconvLine(d)}, 2), bin, H, W);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, d.inC, H, W});
    int64_t outH = 0, outW = 0;
    const std::vector<float> expected = plainDeconv(d, x, w, bias, H, W, outH, outW);
    ASSERT_EQ(graph->value(graph->outputs[0]).shape, (engine::Shape{1, d.outC, outH, outW}));
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 1u);
    auto y = out[0].span<float>();
    ASSERT_EQ(y.size(), expected.size());
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-4f) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NcnnDeconvolution,
    ::testing::Values(
        // stride 2, pads 1, output_pad 1 inside the cut, leaky
        DeconvCase{"pads", false, 2, 3, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, 2},
        // non-square everything, output_pad past the (zero) pads: zero rows after a sigmoid
        DeconvCase{"outpad", false, 2, 3, 1, 3, 4, 2, 3, 1, 2, 0, 0, 0, 0, 1, 2, 0, 0, true, 4},
        // output_pad 2 against pad_bottom 1: one zero row survives the cut
        DeconvCase{"mixed", false, 3, 2, 1, 2, 2, 2, 2, 1, 1, 0, 1, 2, 1, 0, 2, 0, 0, true, 0},
        // SAME_UPPER / SAME_LOWER to an explicit output size
        DeconvCase{"same_upper", false, 2,    2,    1, 3, 3,  2,  2,    1, 1,
                   -233,         -233,  -233, -233, 1, 1, 12, 10, true, 0},
        DeconvCase{"same_lower", false, 2,    2,    1, 4, 3,  2, 2,     1, 1,
                   -234,         -234,  -234, -234, 0, 0, 11, 9, false, 1},
        // grouped and true depthwise
        DeconvCase{"grouped", true, 4, 6, 2, 2, 2, 2, 2, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, false, 1},
        DeconvCase{"depthwise", true, 3, 3, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, true, 2}),
    [](const auto& test) { return std::string(test.param.name); });

// ---- Crop, Padding, Permute, Reshape, Flatten, Softmax -----------------------------------

TEST(NcnnLayers, CropOffsetsNumpySlicesAndReferenceMatchPlainIndexing) {
    // x: 1x4x6x7. a: offsets (w 1 size 4, h 2 to the end, c 1 size 2); b: numpy slices on
    // c [1, end) and w [-3, -1); c: cropped to the size of a with offsets w 2, h 1.
    const std::string param = model(
        4,
        {"Split split 1 3 data d0 d1 d2", "Crop a 1 1 d0 a 0=1 1=2 2=1 3=4 4=-233 5=2",
         "Split sa 1 2 a a0 a1", "Crop b 1 1 d1 b -23309=2,1,-3 -23310=2,-233,-1 -23311=2,0,2",
         "Crop c 2 1 d2 a1 c 0=2 1=1", "Flatten keep 1 1 a0 f"},
        10);
    auto graph = importText(param, "", 6, 7);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, 4, 6, 7});
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 3u);  // b, c, f (a is read by c and the Flatten)
    auto xs = x.span<float>();
    const auto at = [&](int64_t c, int64_t h, int64_t w) {
        return xs[size_t((c * 6 + h) * 7 + w)];
    };
    expectPlanes(out[0], {1, 3, 6, 2},
                 [&](int64_t c, int64_t h, int64_t w) { return at(c + 1, h, w + 4); });
    expectPlanes(out[1], {1, 2, 4, 4},
                 [&](int64_t c, int64_t h, int64_t w) { return at(c, h + 1, w + 2); });
    ASSERT_EQ(out[2].shape(), (engine::Shape{1, 2 * 4 * 4}));
    auto f = out[2].span<float>();
    for (int64_t c = 0, i = 0; c < 2; ++c) {
        for (int64_t h = 0; h < 4; ++h) {
            for (int64_t w = 0; w < 4; ++w, ++i) {
                ASSERT_EQ(f[size_t(i)], at(c + 1, h + 2, w + 1)) << i;
            }
        }
    }
}

int64_t reflectIndex(int64_t i, int64_t n) {  // mirror without repeating the edge
    i = std::abs(i);
    return (n - 1) - std::abs(i - (n - 1));
}

TEST(NcnnLayers, PaddingConstantReplicateReflectMatchPlainIndexing) {
    const std::string param =
        model(3,
              {"Split split 1 3 data d0 d1 d2",
               "Padding constant 1 1 d0 p0 0=1 1=2 2=0 3=3 4=0 5=1.500000e+00 7=2 8=1",
               "Padding edge 1 1 d1 p1 0=2 1=1 2=3 3=1 4=1 7=1 8=2",
               "Padding reflect 1 1 d2 p2 0=3 1=1 2=2 3=4 4=2 7=2 8=1"},
              7);
    auto graph = importText(param, "", 4, 5);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, 3, 4, 5});
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 3u);
    auto xs = x.span<float>();
    const auto at = [&](int64_t c, int64_t h, int64_t w) {
        return xs[size_t((c * 4 + h) * 5 + w)];
    };
    expectPlanes(out[0], {1, 6, 7, 8}, [&](int64_t c, int64_t h, int64_t w) {
        const int64_t ic = c - 2, ih = h - 1, iw = w;
        const bool inside = ic >= 0 && ic < 3 && ih >= 0 && ih < 4 && iw < 5;
        return inside ? at(ic, ih, iw) : 1.5f;
    });
    const auto clamp = [](int64_t i, int64_t n) { return std::clamp<int64_t>(i, 0, n - 1); };
    expectPlanes(out[1], {1, 6, 7, 9}, [&](int64_t c, int64_t h, int64_t w) {
        return at(clamp(c - 1, 3), clamp(h - 2, 4), clamp(w - 3, 5));
    });
    expectPlanes(out[2], {1, 6, 8, 11}, [&](int64_t c, int64_t h, int64_t w) {
        return at(reflectIndex(c - 2, 3), reflectIndex(h - 3, 4), reflectIndex(w - 2, 5));
    });
}

TEST(NcnnLayers, PermuteEveryOrderMatchesItsNamedAxes) {
    // order_type k: the output's (w, h, c) are the input's dims named by kNames[k].
    static const char* const kNames[] = {"whc", "hwc", "wch", "cwh", "hcw", "chw"};
    std::vector<std::string> layers = {"Split split 1 6 data d0 d1 d2 d3 d4 d5"};
    for (int k = 0; k < 6; ++k) {
        layers.push_back("Permute perm" + std::to_string(k) + " 1 1 d" + std::to_string(k) + " p" +
                         std::to_string(k) + " 0=" + std::to_string(k));
    }
    auto graph = importText(model(2, layers, 13), "", 3, 4);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, 2, 3, 4});
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 6u);
    auto xs = x.span<float>();
    const int64_t size[3] = {4, 3, 2};  // w h c
    const auto index = [](char name) { return name == 'w' ? 0 : name == 'h' ? 1 : 2; };
    for (int k = 0; k < 6; ++k) {
        SCOPED_TRACE(kNames[k]);
        const int ow = index(kNames[k][0]), oh = index(kNames[k][1]), oc = index(kNames[k][2]);
        expectPlanes(out[size_t(k)], {1, size[oc], size[oh], size[ow]},
                     [&](int64_t c, int64_t h, int64_t w) {
                         int64_t in[3] = {};  // w h c
                         in[ow] = w, in[oh] = h, in[oc] = c;
                         return xs[size_t((in[2] * 3 + in[1]) * 4 + in[0])];
                     });
    }
}

TEST(NcnnLayers, ReshapeZeroMinusOneAndPermuteFlag) {
    // a: c kept (0), h 12, w inferred; b: permute=1 to h 4 x w 6 through HWC order;
    // c: permute=1 to 1-D; d: Flatten.
    const std::string param = model(
        2,
        {"Split split 1 4 data d0 d1 d2 d3", "Reshape a 1 1 d0 a 0=-1 1=6 2=0",
         "Reshape b 1 1 d1 b 0=6 1=4 3=1", "Reshape c 1 1 d2 c 0=-1 3=1", "Flatten d 1 1 d3 f"},
        9);
    auto graph = importText(param, "", 3, 4);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, 2, 3, 4});
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 4u);
    auto xs = x.span<float>();
    EXPECT_EQ(out[0].shape(), (engine::Shape{1, 2, 6, 2}));
    EXPECT_EQ(out[0].toFloatVector(), x.toFloatVector());
    // The HWC sequence: s[(h*W + w)*C + c] = x[c][h][w].
    std::vector<float> s(24);
    for (int64_t c = 0; c < 2; ++c) {
        for (int64_t h = 0; h < 3; ++h) {
            for (int64_t w = 0; w < 4; ++w)
                s[size_t((h * 4 + w) * 2 + c)] = xs[size_t((c * 3 + h) * 4 + w)];
        }
    }
    // 2-D target (h 4, w 6) filled in column order of that sequence: out[i][j] = s[j*4 + i].
    ASSERT_EQ(out[1].shape(), (engine::Shape{1, 4, 6}));
    for (int64_t i = 0; i < 4; ++i) {
        for (int64_t j = 0; j < 6; ++j) {
            EXPECT_EQ(out[1].span<float>()[size_t(i * 6 + j)], s[size_t(j * 4 + i)]);
        }
    }
    EXPECT_EQ(out[2].shape(), (engine::Shape{1, 24}));
    EXPECT_EQ(out[2].toFloatVector(), s);
    EXPECT_EQ(out[3].shape(), (engine::Shape{1, 24}));
    EXPECT_EQ(out[3].toFloatVector(), x.toFloatVector());
}

TEST(NcnnLayers, SoftmaxAxesMatchPlainSums) {
    const std::string param = model(
        3, {"Split split 1 2 data d0 d1", "Softmax c 1 1 d0 c 0=0", "Softmax w 1 1 d1 w 0=-1 1=1"},
        5);
    auto graph = importText(param, "", 2, 4);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    const engine::Tensor x = wave({1, 3, 2, 4});
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 2u);
    auto xs = x.span<float>();
    const auto at = [&](int64_t c, int64_t h, int64_t w) {
        return xs[size_t((c * 2 + h) * 4 + w)];
    };
    expectPlanes(out[0], {1, 3, 2, 4}, [&](int64_t c, int64_t h, int64_t w) {
        double sum = 0;
        for (int64_t k = 0; k < 3; ++k) sum += std::exp(double(at(k, h, w)));
        return float(std::exp(double(at(c, h, w))) / sum);
    });
    expectPlanes(out[1], {1, 3, 2, 4}, [&](int64_t c, int64_t h, int64_t w) {
        double sum = 0;
        for (int64_t k = 0; k < 4; ++k) sum += std::exp(double(at(c, h, k)));
        return float(std::exp(double(at(c, h, w))) / sum);
    });
}

TEST(NcnnLayers, BinaryOpReversedAndScalarOpsAndHardActivations) {
    const std::string param =
        model(2,
              {"Split split 1 8 data d0 d1 d2 d3 d4 d5 d6 d7",
               "BinaryOp rsub 1 1 d0 rsub 0=7 1=1 2=2.000000e+00",
               "BinaryOp rdiv 2 1 d1 d2 rdiv 0=8", "BinaryOp max 1 1 d3 max 0=4 1=1 2=2.500000e-01",
               "BinaryOp min 1 1 d4 min 0=5 1=1 2=-1.000000e-01",
               "HardSigmoid hs 1 1 d5 hs 0=3.000000e-01 1=4.000000e-01",
               "HardSwish hw 1 1 d6 hw 0=1.666667e-01 1=5.000000e-01", "HardSwish hw2 1 1 d7 hw2"},
              16);
    auto graph = importText(param, "", 3, 4);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    engine::Tensor x = wave({1, 2, 3, 4});
    for (float& v : x.span<float>()) v = v * 4.0f + (v > 0 ? 0.5f : -0.5f);  // no zeros; past +-3
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 7u);
    const std::vector<float> xv = x.toFloatVector();
    const std::function<float(float)> expected[] = {
        [](float v) { return 2.0f - v; },
        [](float v) { return v / v; },  // rdiv of the blob by itself: b / a
        [](float v) { return std::max(v, 0.25f); },
        [](float v) { return std::min(v, -0.1f); },
        [](float v) { return std::clamp(0.3f * v + 0.4f, 0.0f, 1.0f); },
        [](float v) { return v * std::clamp(v / 6.0f + 0.5f, 0.0f, 1.0f); },
        [](float v) { return v * std::clamp(0.2f * v + 0.5f, 0.0f, 1.0f); },
    };
    for (size_t o = 0; o < 7; ++o) {
        ASSERT_EQ(out[o].shape(), x.shape()) << o;
        for (size_t i = 0; i < xv.size(); ++i) {
            ASSERT_NEAR(out[o].span<float>()[i], expected[o](xv[i]), 1e-5f) << o << ":" << i;
        }
    }
}

// ncnn's Mish layer and a convolution's fused activation_type 5 both import as the Mish op:
// x * tanh(ln(1 + e^x)), checked against that formula in double (ONNX Runtime runs the opset-13
// export, Softplus -> Tanh -> Mul, inside runEverywhere).
TEST(NcnnLayers, MishLayerAndFusedMishActivation) {
    // A 1x1 convolution with weight 1 and no bias: the identity, so its output is mish(x).
    std::string bin(4, '\0');
    appendFloats(bin, {1.0f});
    const std::string param = model(
        1,
        {"Split split 1 2 data d0 d1", "Mish m 1 1 d0 m", "Convolution c 1 1 d1 c 0=1 1=1 6=1 9=5"},
        5);
    auto graph = importText(param, bin, 3, 4);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    int mishNodes = 0;
    for (const engine::Node& n : graph->nodes) mishNodes += n.op == engine::OpKind::Mish;
    EXPECT_EQ(mishNodes, 2);
    engine::Tensor x = wave({1, 1, 3, 4});
    for (float& v : x.span<float>()) v *= 6.0f;
    auto out = runEverywhere(*graph, x);
    ASSERT_EQ(out.size(), 2u);
    const std::vector<float> xv = x.toFloatVector();
    for (size_t o = 0; o < 2; ++o) {
        for (size_t i = 0; i < xv.size(); ++i) {
            const double v = xv[i];
            ASSERT_NEAR(out[o].span<float>()[i], v * std::tanh(std::log(1.0 + std::exp(v))), 1e-5)
                << o << ":" << i;
        }
    }
}

// ---- Bad parameters -----------------------------------------------------------------------

struct BadCase {
    const char* name;
    const char* layer;  // reads blob "data" (C 4, 6 x 7), writes "y"
    engine::ErrorCode code;
    const char* says;  // a fragment of the message
    int64_t weights;   // fp32 weights (after a tag) to put in the .bin, -1 for none
};

void PrintTo(const BadCase& b, std::ostream* os) {
    *os << b.layer;
}

class NcnnBadLayer : public ::testing::TestWithParam<BadCase> {};

TEST_P(NcnnBadLayer, FailsWithTheLayerNamed) {
    const BadCase& b = GetParam();
    std::string bin;
    if (b.weights >= 0) {
        bin.assign(4, '\0');
        appendFloats(bin, std::vector<float>(size_t(b.weights), 0.5f));
    }
    const std::string line = b.layer;
    auto g = importText(model(4, {line}, 2), bin, 6, 7);
    ASSERT_FALSE(g.ok()) << b.layer;
    const std::string text = g.error().toString();
    EXPECT_EQ(g.error().code, b.code) << text;
    const std::string name =
        line.substr(line.find(' ') + 1, line.find(' ', line.find(' ') + 1) - line.find(' ') - 1);
    EXPECT_NE(text.find("layer '" + name + "'"), std::string::npos) << text;
    EXPECT_NE(text.find("m.param"), std::string::npos) << text;
    EXPECT_NE(text.find(b.says), std::string::npos) << text;
}

using engine::ErrorCode;
INSTANTIATE_TEST_SUITE_P(
    Layers, NcnnBadLayer,
    ::testing::Values(
        BadCase{"DeconvWeightSize", "Deconvolution up 1 1 data y 0=2 1=3 6=71", ErrorCode::Corrupt,
                "weight_data_size 71", -1},
        BadCase{"DeconvStride0", "Deconvolution up 1 1 data y 0=2 1=3 3=0 6=72", ErrorCode::Corrupt,
                "stride", -1},
        BadCase{"DeconvOutputSizeNoSame", "Deconvolution up 1 1 data y 0=2 1=3 20=9 6=72",
                ErrorCode::Corrupt, "-233", -1},
        BadCase{"DeconvOutputTooBig", "Deconvolution up 1 1 data y 0=2 1=3 4=-233 20=99 6=72",
                ErrorCode::Corrupt, "larger", -1},
        BadCase{"DeconvMixedPads", "Deconvolution up 1 1 data y 0=2 1=3 4=1 15=-233 6=72",
                ErrorCode::Corrupt, "mix", -1},
        BadCase{"DeconvDynamic", "Deconvolution up 1 1 data y 0=2 1=3 6=72 28=1",
                ErrorCode::Unsupported, "dynamic_weight", -1},
        BadCase{"DeconvActivation7", "Deconvolution up 1 1 data y 0=2 1=3 6=72 9=7",
                ErrorCode::Unsupported, "activation_type 7", 72},
        BadCase{"DeconvDwGroup", "DeconvolutionDepthWise up 1 1 data y 0=3 1=3 6=27 7=3",
                ErrorCode::Corrupt, "group 3", -1},
        BadCase{"DeconvShortBin", "Deconvolution up 1 1 data y 0=2 1=3 6=72", ErrorCode::Corrupt,
                "file too short", 10},
        BadCase{"ReshapeCount", "Reshape r 1 1 data y 0=5 1=7", ErrorCode::Corrupt,
                "makes 35 elements", -1},
        BadCase{"ReshapeHuge", "Reshape r 1 1 data y 0=2147483647 1=2147483647 2=-1",
                ErrorCode::Corrupt, "more than the 168 elements", -1},
        // ncnn's parameters are 32-bit ints (64-bit ones overflowed the importer's arithmetic).
        BadCase{"CropHugeStart", "Crop c 1 1 data y -23309=1,-9223372036854775807 -23310=1,2",
                ErrorCode::Corrupt, "parameter 9='-9223372036854775807' is not a 32-bit integer",
                -1},
        BadCase{"ReshapeTwoInferred", "Reshape r 1 1 data y 0=-1 1=-1", ErrorCode::Corrupt,
                "only one -1", -1},
        BadCase{"ReshapeIndivisible", "Reshape r 1 1 data y 0=-1 1=5", ErrorCode::Corrupt,
                "cannot infer", -1},
        BadCase{"ReshapeDepth", "Reshape r 1 1 data y 0=7 1=6 11=2 2=2", ErrorCode::Unsupported,
                "d (11)", -1},
        BadCase{"ReshapeNoW", "Reshape r 1 1 data y 3=1", ErrorCode::Corrupt, "needs w", -1},
        BadCase{"PermuteOrder", "Permute p 1 1 data y 0=6", ErrorCode::Unsupported, "order_type 6",
                -1},
        BadCase{"SoftmaxOld", "Softmax s 1 1 data y 0=1", ErrorCode::Unsupported, "fixbug0", -1},
        BadCase{"SoftmaxAxis", "Softmax s 1 1 data y 0=3 1=1", ErrorCode::Corrupt,
                "outside a 3-D blob", -1},
        BadCase{"CropPastEnd", "Crop c 1 1 data y 0=8 3=-233 4=-233 5=-233", ErrorCode::Corrupt,
                "from offset 8 of 7", -1},
        BadCase{"CropZeroSize", "Crop c 1 1 data y 0=1 3=4 5=-233", ErrorCode::Corrupt, "takes 0",
                -1},
        BadCase{"CropShiftedForm", "Crop c 1 1 data y 0=1 1=-233 3=4", ErrorCode::Unsupported,
                "-233 offset", -1},
        BadCase{"CropStartsOnly", "Crop c 1 1 data y -23309=1,1 3=1", ErrorCode::Corrupt,
                "both starts", -1},
        BadCase{"CropAxis", "Crop c 1 1 data y -23309=1,1 -23310=1,2 -23311=1,3",
                ErrorCode::Corrupt, "Crop axis 3", -1},
        BadCase{"CropNoReference", "Crop c 1 1 data y 0=1", ErrorCode::Corrupt,
                "expects 2 input(s)", -1},
        BadCase{"PaddingType", "Padding p 1 1 data y 0=1 4=3", ErrorCode::Unsupported,
                "Padding type 3", -1},
        BadCase{"PaddingNegative", "Padding p 1 1 data y 0=-1", ErrorCode::Corrupt, "negative", -1},
        BadCase{"PaddingDynamic", "Padding p 1 1 data y 0=-233 1=-233 2=-233 3=-233",
                ErrorCode::Unsupported, "second input", -1},
        BadCase{"PaddingReflectTooWide", "Padding p 1 1 data y 2=7 4=2", ErrorCode::Corrupt,
                "below the size 7", -1},
        BadCase{"PaddingPerChannel", "Padding p 1 1 data y 0=1 6=4", ErrorCode::Unsupported,
                "per-channel", -1},
        BadCase{"FlattenTwoInputs", "Flatten f 2 1 data data y", ErrorCode::Corrupt,
                "expects 1 input(s)", -1},
        BadCase{"BinaryMaxOfBlobs", "BinaryOp b 2 1 data data y 0=4", ErrorCode::Unsupported,
                "max/min of two blobs", -1},
        BadCase{"BinaryAtan2", "BinaryOp b 2 1 data data y 0=10", ErrorCode::Unsupported,
                "op_type 10", -1},
        BadCase{"BinaryWithScalar2", "BinaryOp b 1 1 data y 0=0 1=2", ErrorCode::Corrupt,
                "with_scalar", -1},
        BadCase{"HardSigmoidAlpha0", "HardSigmoid h 1 1 data y 0=0", ErrorCode::Unsupported,
                "alpha 0", -1}),
    [](const auto& test) { return std::string(test.param.name); });

}  // namespace

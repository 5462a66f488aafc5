// IrModule against the engine: the torch interpretation of the zoo nets and the pinned real
// models (BlazeFace, Real-ESRGAN, waifu2x, PP-OCR det) gives the CPU executor's outputs, batches
// per example, exposes the layer views prune::layerWeights reads, and writes training back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/prune/plan.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/reference_runner.h"
#include "engine/train/torch_module.h"
#include "engine/train/zoo.h"
#include "plugins/import-ncnn/ncnn_import.h"
#include "plugins/import-waifu2x/waifu2x_import.h"
#include "tests/test_cache.h"

namespace prunelab::engine::train {
namespace {

namespace fs = std::filesystem;

// Where ./prunelab setup put the assets: $XDG_CACHE_HOME/prunelab when set, else the cache the
// build was configured with.
using prunelab::testing::cacheDir;

// A missing asset is a broken setup, not a reason to skip.
#define REQUIRE_ASSET(path) \
    if (!fs::exists(path)) FAIL() << (path) << " is missing: run ./prunelab setup"

Tensor randomTensor(const Shape& shape, uint32_t seed) {
    torch::manual_seed(seed);
    return fromTorch(torch::rand(std::vector<int64_t>(shape.begin(), shape.end())));
}

std::shared_ptr<IrModule> makeModule(const Graph& g) {
    auto m = IrModule::create(g);
    EXPECT_TRUE(m.ok()) << m.error().toString();
    return m.ok() ? *m : nullptr;
}

// Max |a - b| over the range of b.
double relativeDiff(const torch::Tensor& at, const torch::Tensor& bt) {
    // Comparisons give booleans: compare them as 0 / 1.
    const torch::Tensor a = at.to(torch::kDouble), b = bt.to(torch::kDouble);
    const double range = std::max((b.max() - b.min()).item<double>(), 1e-6);
    return (a - b).abs().max().item<double>() / range;
}

// Eval mode, batch 1: every output of the module against the CPU executor; returns the worst
// relative difference.
double compareWithCpu(const Graph& g, uint32_t seed) {
    auto module = makeModule(g);
    if (!module) return INFINITY;
    module->eval();
    std::vector<Tensor> inputs;
    std::vector<torch::Tensor> torchInputs;
    for (ValueId id : g.inputs) {
        inputs.push_back(randomTensor(g.value(id).shape, seed++));
        torchInputs.push_back(toTorch(inputs.back()));
    }
    auto exec = cpu::CpuExecutor::create(g, {.threads = 2});
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return INFINITY;
    auto expected = (*exec)->run(inputs);
    EXPECT_TRUE(expected.ok()) << expected.error().toString();
    if (!expected.ok()) return INFINITY;
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> got = module->forward(torchInputs);
    EXPECT_EQ(got.size(), expected->size());
    double worst = 0;
    for (size_t i = 0; i < got.size() && i < expected->size(); ++i) {
        const torch::Tensor want = toTorch((*expected)[i]);
        EXPECT_EQ(got[i].sizes(), want.sizes()) << "output " << i;
        if (got[i].sizes() != want.sizes()) return INFINITY;
        worst = std::max(worst, relativeDiff(got[i], want));
    }
    std::cout << "[ torch vs cpu ] " << g.name << ": max diff " << worst << " of range\n";
    return worst;
}

// Three different examples in one batch give each example's batch-1 outputs.
void expectBatchMatchesSingles(const Graph& g) {
    auto module = makeModule(g);
    ASSERT_TRUE(module);
    module->eval();
    torch::NoGradGuard noGrad;
    const Shape& shape = g.value(g.inputs[0]).shape;
    std::vector<torch::Tensor> singles;
    for (uint32_t k = 0; k < 3; ++k) singles.push_back(toTorch(randomTensor(shape, 40 + k)));
    const std::vector<torch::Tensor> batched = module->forward({torch::cat(singles, 0)});
    for (size_t k = 0; k < 3; ++k) {
        const std::vector<torch::Tensor> one = module->forward({singles[k]});
        ASSERT_EQ(one.size(), batched.size());
        for (size_t o = 0; o < one.size(); ++o) {
            EXPECT_EQ(batched[o].size(0), 3);
            const torch::Tensor slice = batched[o].narrow(0, static_cast<int64_t>(k), 1);
            EXPECT_LT(relativeDiff(slice, one[o]), 1e-5) << "example " << k << " output " << o;
        }
    }
}

Graph blazeFace() {
    const std::string path =
        cacheDir() + "/models/blazeface/face_detection_front_128x128_barracuda.onnx";
    auto g = importOnnxFile(path);
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(*g) : Graph{};
}

Graph lenet() {
    auto g = buildLenet5(1);
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(*g) : Graph{};
}

Graph vggSmall() {
    auto g = buildVggSmall(2);
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(*g) : Graph{};
}

// ---- Forward against the CPU executor ----

TEST(IrModuleForward, ZooMatchesCpu) {
    EXPECT_LT(compareWithCpu(lenet(), 1), 1e-4);
    EXPECT_LT(compareWithCpu(vggSmall(), 2), 1e-4);
}

TEST(IrModuleForward, BlazeFaceMatchesCpu) {
    REQUIRE_ASSET(cacheDir() + "/models/blazeface/face_detection_front_128x128_barracuda.onnx");
    EXPECT_LT(compareWithCpu(blazeFace(), 3), 1e-4);
}

TEST(IrModuleForward, RealEsrganMatchesCpu) {
    const std::string base = cacheDir() + "/models/realesrgan/realesr-animevideov3-x2";
    REQUIRE_ASSET(base + ".param");
    REQUIRE_ASSET(base + ".bin");
    auto g = ncnn::importNcnn(base + ".param", base + ".bin", 24, 32);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_LT(compareWithCpu(*g, 4), 1e-4);
}

TEST(IrModuleForward, Waifu2xMatchesCpu) {
    const std::string path = cacheDir() + "/models/waifu2x/scale2.0x_model.json";
    REQUIRE_ASSET(path);
    auto g = plugins::importWaifu2xJson(path, 40, 40);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_LT(compareWithCpu(*g, 5), 1e-4);
}

TEST(IrModuleForward, PpOcrDetMatchesCpu) {
    const std::string path = cacheDir() + "/models/ppocr/ch_PP-OCRv4_det_infer.onnx";
    REQUIRE_ASSET(path);
    OnnxImportOptions options;
    options.inputShapes["x"] = {1, 3, 64, 96};
    auto g = importOnnxFile(path, options);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    EXPECT_LT(compareWithCpu(*g, 6), 1e-4);
}

TEST(IrModuleForward, BatchOfThreeMatchesSingles) {
    expectBatchMatchesSingles(lenet());
    expectBatchMatchesSingles(vggSmall());
    REQUIRE_ASSET(cacheDir() + "/models/blazeface/face_detection_front_128x128_barracuda.onnx");
    expectBatchMatchesSingles(blazeFace());
}

TEST(IrModuleForward, UnsupportedOpNamesTheNode) {
    Graph g;
    g.name = "shape-model";
    const ValueId x = g.addValue("x", DataType::Float32, {1, 3, 4, 4});
    g.inputs.push_back(x);
    const ValueId y = g.addValue("y", DataType::Int64, {4});
    Attributes a;
    a.set("start", int64_t{0});
    a.set("end", int64_t{4});
    g.addNode(OpKind::Shape, "shape_of_x", {x}, {y}, a);
    g.outputs.push_back(y);
    ASSERT_TRUE(verifyGraph(g).ok()) << verifyGraph(g).error().toString();
    auto m = IrModule::create(g);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::Unsupported);
    EXPECT_NE(m.error().toString().find("shape_of_x"), std::string::npos) << m.error().toString();
}

// ---- Single ops against the reference kernels ----

// One node on input x (values in [-1, 1), or [0, 1) when `positive`) plus constant operands.
struct OpCase {
    std::string name;
    OpKind op;
    Shape x;
    Attributes attrs;
    std::vector<Tensor> constants;
    int outputs = 1;
    bool positive = false;
};

Tensor floats(Shape shape, uint32_t seed) {
    torch::manual_seed(seed);
    return fromTorch(torch::rand(std::vector<int64_t>(shape.begin(), shape.end())) * 2 - 1);
}

Attributes attrs(std::initializer_list<std::pair<const char*, AttributeValue>> list) {
    Attributes a;
    for (const auto& [k, v] : list) a.set(k, v);
    return a;
}
using Ints = std::vector<int64_t>;
using Floats = std::vector<float>;

std::vector<OpCase> opCases() {
    const Ints conv = {1, 1};
    return {
        {"conv_groups_dilation_asymmetric_pads",
         OpKind::Conv,
         {1, 4, 9, 8},
         attrs({{"strides", Ints{2, 1}},
                {"pads", Ints{1, 0, 2, 1}},
                {"dilations", Ints{2, 1}},
                {"group", int64_t{2}}}),
         {floats({6, 2, 3, 3}, 1), floats({6}, 2)}},
        {"conv_transpose_output_padding",
         OpKind::ConvTranspose,
         {1, 4, 5, 5},
         attrs({{"strides", Ints{2, 2}},
                {"pads", Ints{1, 0, 0, 1}},
                {"dilations", conv},
                {"group", int64_t{2}},
                {"output_padding", Ints{1, 0}}}),
         {floats({4, 3, 3, 3}, 3), floats({6}, 4)}},
        {"gemm_alpha_beta",
         OpKind::Gemm,
         {1, 5},
         attrs({{"alpha", 0.5f}, {"beta", 2.0f}, {"transA", int64_t{0}}, {"transB", int64_t{0}}}),
         {floats({5, 3}, 5), floats({3}, 6)}},
        {"matmul", OpKind::MatMul, {1, 4, 5}, {}, {floats({5, 3}, 7)}},
        {"maxpool_ceil_pads",
         OpKind::MaxPool,
         {1, 2, 8, 7},
         attrs({{"kernel_shape", Ints{3, 3}},
                {"strides", Ints{2, 2}},
                {"pads", Ints{1, 1, 0, 0}},
                {"dilations", conv},
                {"ceil_mode", int64_t{1}}})},
        {"avgpool_ceil_exclude_pad",
         OpKind::AveragePool,
         {1, 2, 8, 7},
         attrs({{"kernel_shape", Ints{3, 3}},
                {"strides", Ints{2, 2}},
                {"pads", Ints{1, 1, 1, 1}},
                {"dilations", conv},
                {"ceil_mode", int64_t{1}},
                {"count_include_pad", int64_t{0}}})},
        {"avgpool_include_pad",
         OpKind::AveragePool,
         {1, 2, 8, 7},
         attrs({{"kernel_shape", Ints{3, 2}},
                {"strides", Ints{2, 2}},
                {"pads", Ints{1, 0, 1, 1}},
                {"dilations", conv},
                {"ceil_mode", int64_t{1}},
                {"count_include_pad", int64_t{1}}})},
        {"resize_linear_align_corners",
         OpKind::Resize,
         {1, 2, 5, 6},
         attrs({{"mode", std::string("linear")},
                {"sizes", Ints{1, 2, 9, 13}},
                {"scales", Floats{1, 1, 9.0f / 5, 13.0f / 6}},
                {"coordinate_transformation_mode", std::string("align_corners")}})},
        {"resize_cubic_half_pixel",
         OpKind::Resize,
         {1, 2, 5, 6},
         attrs({{"mode", std::string("cubic")},
                {"sizes", Ints{1, 2, 10, 12}},
                {"scales", Floats{1, 1, 2, 2}},
                {"coordinate_transformation_mode", std::string("half_pixel")},
                {"cubic_coeff_a", -0.75f}})},
        {"resize_nearest_asymmetric",
         OpKind::Resize,
         {1, 2, 5, 6},
         attrs({{"mode", std::string("nearest")},
                {"sizes", Ints{1, 2, 10, 12}},
                {"scales", Floats{1, 1, 2, 2}},
                {"coordinate_transformation_mode", std::string("asymmetric")},
                {"nearest_mode", std::string("floor")}})},
        {"depth_to_space_dcr",
         OpKind::DepthToSpace,
         {1, 8, 3, 3},
         attrs({{"blocksize", int64_t{2}}, {"mode", std::string("DCR")}})},
        {"depth_to_space_crd",
         OpKind::DepthToSpace,
         {1, 8, 3, 3},
         attrs({{"blocksize", int64_t{2}}, {"mode", std::string("CRD")}})},
        {"softmax_legacy",
         OpKind::Softmax,
         {1, 3, 4},
         attrs({{"axis", int64_t{1}}, {"legacy", int64_t{1}}})},
        {"softmax", OpKind::Softmax, {1, 3, 4}, attrs({{"axis", int64_t{1}}})},
        {"pad_reflect",
         OpKind::Pad,
         {1, 2, 4, 5},
         attrs({{"pads", Ints{0, 0, 1, 2, 0, 0, 2, 1}}, {"mode", std::string("reflect")}})},
        {"pad_edge",
         OpKind::Pad,
         {1, 2, 4, 5},
         attrs({{"pads", Ints{0, 0, 1, 2, 0, 0, 2, 1}}, {"mode", std::string("edge")}})},
        {"pad_constant",
         OpKind::Pad,
         {1, 2, 4, 5},
         attrs({{"pads", Ints{0, 1, 1, 0, 0, 0, 2, -1}},
                {"mode", std::string("constant")},
                {"value", 0.5f}})},
        {"slice_steps",
         OpKind::Slice,
         {1, 4, 5, 6},
         attrs({{"starts", Ints{1, 4}},
                {"ends", Ints{3, 0}},
                {"axes", Ints{1, 3}},
                {"steps", Ints{1, -2}}})},
        {"split",
         OpKind::Split,
         {1, 4, 3},
         attrs({{"axis", int64_t{1}}, {"split", Ints{1, 3}}}),
         {},
         2},
        {"transpose", OpKind::Transpose, {1, 2, 3, 4}, attrs({{"perm", Ints{0, 2, 3, 1}}})},
        {"reduce_mean",
         OpKind::ReduceMean,
         {1, 2, 3, 4},
         attrs({{"axes", Ints{2, 3}}, {"keepdims", int64_t{0}}})},
        {"squeeze", OpKind::Squeeze, {1, 3, 1, 4}, attrs({{"axes", Ints{2}}})},
        {"unsqueeze", OpKind::Unsqueeze, {1, 3, 4}, attrs({{"axes", Ints{1, 3}}})},
        {"clip", OpKind::Clip, {1, 3, 4}, attrs({{"min", -0.2f}, {"max", 0.3f}})},
        {"leaky_relu", OpKind::LeakyRelu, {1, 3, 4}, attrs({{"alpha", 0.2f}})},
        {"hard_sigmoid", OpKind::HardSigmoid, {1, 3, 4}, attrs({{"alpha", 0.7f}, {"beta", 0.4f}})},
        {"hard_swish", OpKind::HardSwish, {1, 3, 4}, {}},
        {"prelu", OpKind::PRelu, {1, 3, 2, 2}, {}, {floats({3, 1, 1}, 8)}},
        {"sigmoid", OpKind::Sigmoid, {1, 3, 4}, {}},
        {"tanh", OpKind::Tanh, {1, 3, 4}, {}},
        {"exp", OpKind::Exp, {1, 3, 4}, {}},
        {"sqrt", OpKind::Sqrt, {1, 3, 4}, {}, {}, 1, true},
        {"div_constant",
         OpKind::Div,
         {1, 3, 4},
         {},
         {Tensor::fromVector<float>({4}, {1, 2, -4, 8})}},
        {"sub_constant", OpKind::Sub, {1, 3, 4}, {}, {floats({3, 1}, 9)}},
        {"batch_norm_eval",
         OpKind::BatchNormalization,
         {1, 3, 2, 2},
         attrs({{"epsilon", 1e-3f}}),
         {floats({3}, 10), floats({3}, 11), floats({3}, 12),
          Tensor::fromVector<float>({3}, {0.5f, 1.0f, 2.0f})}},
        {"gather",
         OpKind::Gather,
         {1, 4, 3},
         attrs({{"axis", int64_t{1}}}),
         {Tensor::fromVector<int64_t>({2}, {2, 0})}},
        {"global_average_pool", OpKind::GlobalAveragePool, {1, 3, 4, 5}, {}},
        {"flatten", OpKind::Flatten, {1, 3, 4, 5}, attrs({{"axis", int64_t{1}}})},
        {"reshape", OpKind::Reshape, {1, 3, 4}, attrs({{"shape", Ints{1, 2, 6}}})},
        // The ops of common exports (issue 22).
        {"neg", OpKind::Neg, {1, 3, 4}, {}},
        {"abs", OpKind::Abs, {1, 3, 4}, {}},
        {"floor", OpKind::Floor, {1, 3, 4}, {}},
        {"ceil", OpKind::Ceil, {1, 3, 4}, {}},
        {"round", OpKind::Round, {1, 3, 4}, {}},
        {"log", OpKind::Log, {1, 3, 4}, {}, {}, 1, true},
        {"reciprocal", OpKind::Reciprocal, {1, 3, 4}, {}, {}, 1, true},
        {"erf", OpKind::Erf, {1, 3, 4}, {}},
        {"softplus", OpKind::Softplus, {1, 3, 4}, {}},
        {"mish", OpKind::Mish, {1, 3, 4}, {}},
        {"max_of_three", OpKind::Max, {1, 3, 4}, {}, {floats({3, 1}, 13), floats({4}, 14)}},
        {"min_broadcast", OpKind::Min, {1, 3, 4}, {}, {floats({4}, 15)}},
        {"greater", OpKind::Greater, {1, 3, 4}, {}, {floats({4}, 16)}},
        {"less_or_equal", OpKind::LessOrEqual, {1, 3, 4}, {}, {floats({3, 1}, 17)}},
        {"reduce_max",
         OpKind::ReduceMax,
         {1, 3, 4, 5},
         attrs({{"axes", Ints{2, 3}}, {"keepdims", int64_t{1}}})},
        {"reduce_min",
         OpKind::ReduceMin,
         {1, 3, 4},
         attrs({{"axes", Ints{1}}, {"keepdims", int64_t{0}}})},
        {"reduce_sum",
         OpKind::ReduceSum,
         {1, 3, 4},
         attrs({{"axes", Ints{2}}, {"keepdims", int64_t{1}}})},
        {"global_max_pool", OpKind::GlobalMaxPool, {1, 3, 4, 5}, {}},
        {"instance_norm",
         OpKind::InstanceNormalization,
         {1, 3, 4, 5},
         attrs({{"epsilon", 1e-3f}}),
         {floats({3}, 18), floats({3}, 19)}},
        {"layer_norm",
         OpKind::LayerNormalization,
         {1, 3, 4, 5},
         attrs({{"axis", int64_t{2}}, {"epsilon", 1e-5f}}),
         {floats({4, 5}, 20), floats({5}, 21)}},
        {"lrn_even_size",
         OpKind::LRN,
         {1, 6, 3, 3},
         attrs({{"size", int64_t{4}}, {"alpha", 0.3f}, {"beta", 0.6f}, {"bias", 1.5f}})},
    };
}

Result<Graph> opGraph(const OpCase& c) {
    Graph g;
    g.name = c.name;
    const ValueId x = g.addValue("x", DataType::Float32, c.x);
    g.inputs.push_back(x);
    std::vector<ValueId> inputs = {x};
    for (size_t i = 0; i < c.constants.size(); ++i) {
        inputs.push_back(g.addConstant("c" + std::to_string(i), c.constants[i]));
    }
    std::vector<ValueId> outputs;
    for (int i = 0; i < c.outputs; ++i) {
        outputs.push_back(g.addValue("y" + std::to_string(i), DataType::Float32, {}));
    }
    Node& n = g.addNode(c.op, c.name, inputs, outputs, c.attrs);
    std::vector<TensorInfo> info;
    PL_TRY(inferNode(g, n, info));
    for (size_t i = 0; i < outputs.size(); ++i) {
        g.value(outputs[i]).dtype = info[i].dtype;
        g.value(outputs[i]).shape = info[i].shape;
        g.outputs.push_back(outputs[i]);
    }
    PL_TRY(verifyGraph(g));
    return g;
}

// Each op at batch 1 against its reference kernel, and at batch 2 against two batch-1 runs.
TEST(IrModuleOps, EachOpMatchesItsReference) {
    for (const OpCase& c : opCases()) {
        SCOPED_TRACE(c.name);
        auto g = opGraph(c);
        ASSERT_TRUE(g.ok()) << g.error().toString();
        auto module = makeModule(*g);
        ASSERT_TRUE(module);
        module->eval();
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> xs;
        for (uint32_t k = 0; k < 2; ++k) {
            Tensor x = floats(c.x, 20 + k);
            if (c.positive) x = fromTorch(toTorch(x).abs());
            xs.push_back(toTorch(x));
            std::vector<Tensor> inputs = {x};
            auto want = runGraphReference(*g, inputs);
            ASSERT_TRUE(want.ok()) << want.error().toString();
            const std::vector<torch::Tensor> got = module->forward({xs.back()});
            ASSERT_EQ(got.size(), want->size());
            for (size_t o = 0; o < got.size(); ++o) {
                const torch::Tensor w = toTorch((*want)[o]);
                ASSERT_EQ(got[o].sizes(), w.sizes()) << "output " << o;
                EXPECT_LT(relativeDiff(got[o], w), 1e-5) << "output " << o;
            }
        }
        const std::vector<torch::Tensor> batched = module->forward({torch::cat(xs, 0)});
        for (int64_t k = 0; k < 2; ++k) {
            const std::vector<torch::Tensor> one = module->forward({xs[static_cast<size_t>(k)]});
            for (size_t o = 0; o < one.size(); ++o) {
                EXPECT_LT(relativeDiff(batched[o].narrow(0, k, 1), one[o]), 1e-6) << "batch " << k;
            }
        }
    }
}

// ---- Layer views ----

void expectLayerViewsMatchPrune(const Graph& g) {
    auto module = makeModule(g);
    ASSERT_TRUE(module);
    const std::vector<Layer> layers = prunableLayers(g);
    ASSERT_EQ(module->layers().size(), layers.size());
    ASSERT_FALSE(layers.empty());
    for (size_t i = 0; i < layers.size(); ++i) {
        auto want = prune::layerWeights(g, layers[i]);
        ASSERT_TRUE(want.ok()) << want.error().toString();
        const torch::Tensor got = module->layerWeight(i);
        EXPECT_TRUE(torch::equal(got.contiguous(), toTorch(want->weights))) << layers[i].name;
    }
}

TEST(IrModuleLayers, ViewsMatchPruneLayerWeights) {
    expectLayerViewsMatchPrune(lenet());  // convs and Gemm (transB) layers
    REQUIRE_ASSET(cacheDir() + "/models/blazeface/face_detection_front_128x128_barracuda.onnx");
    expectLayerViewsMatchPrune(blazeFace());
}

// A penalty on the view trains the parameter: d/dW sum(W^2) = 2W, whatever the storage.
TEST(IrModuleLayers, GradientReachesTheParameter) {
    auto module = makeModule(lenet());
    ASSERT_TRUE(module);
    for (size_t i : {size_t{0}, size_t{3}}) {  // conv2d and a transB Gemm
        module->zero_grad();
        torch::Tensor w = module->layerWeight(i);
        ASSERT_TRUE(w.requires_grad());
        (w * w).sum().backward();
        int withGrad = 0;
        for (const torch::Tensor& p : module->parameters()) {
            if (!p.grad().defined() || p.grad().abs().sum().item<double>() == 0) continue;
            ++withGrad;
            EXPECT_TRUE(torch::allclose(p.grad(), 2 * p.detach()));
            EXPECT_EQ(p.numel(), w.numel());
        }
        EXPECT_EQ(withGrad, 1) << "layer " << i;
    }
}

void expectSetLayerWeightRoundTrips(const Graph& g) {
    auto module = makeModule(g);
    ASSERT_TRUE(module);
    std::vector<torch::Tensor> written;
    torch::manual_seed(9);
    for (size_t i = 0; i < module->layers().size(); ++i) {
        written.push_back(torch::randn(module->layerWeight(i).sizes()));
        module->setLayerWeight(i, written.back());
        EXPECT_TRUE(torch::equal(module->layerWeight(i).contiguous(), written.back()));
    }
    auto back = module->toGraph();
    ASSERT_TRUE(back.ok()) << back.error().toString();
    ASSERT_TRUE(verifyGraph(*back).ok()) << verifyGraph(*back).error().toString();
    const std::vector<Layer> layers = prunableLayers(*back);
    ASSERT_EQ(layers.size(), written.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        auto w = prune::layerWeights(*back, layers[i]);
        ASSERT_TRUE(w.ok()) << w.error().toString();
        EXPECT_TRUE(torch::equal(toTorch(w->weights), written[i])) << layers[i].name;
    }
    // The input graph is untouched: the module copied it.
    auto original = prune::layerWeights(g, prunableLayers(g)[0]);
    ASSERT_TRUE(original.ok());
    EXPECT_FALSE(torch::equal(toTorch(original->weights), written[0]));
}

// Every storage order: grouped ConvTranspose [in][out/g], Gemm without transB and MatMul
// [in][out], grouped conv, from the single-op graphs above.
TEST(IrModuleLayers, EveryStorageOrderMatchesPrune) {
    int layers = 0;
    for (const OpCase& c : opCases()) {
        auto g = opGraph(c);
        ASSERT_TRUE(g.ok()) << g.error().toString();
        if (prunableLayers(*g).empty()) continue;
        SCOPED_TRACE(c.name);
        ++layers;
        expectLayerViewsMatchPrune(*g);
        expectSetLayerWeightRoundTrips(*g);
    }
    EXPECT_EQ(layers, 4);
}

TEST(IrModuleLayers, SetLayerWeightRoundTripsThroughToGraph) {
    expectSetLayerWeightRoundTrips(lenet());
    REQUIRE_ASSET(cacheDir() + "/models/blazeface/face_detection_front_128x128_barracuda.onnx");
    expectSetLayerWeightRoundTrips(blazeFace());
}

// ---- Training ----

// One SGD step in train mode moves the BatchNormalization running statistics (with ONNX's
// momentum 0.9: new = 0.9 old + 0.1 batch) and the weights; toGraph carries both, and the
// written-back graph in the CPU executor gives the module's eval outputs.
TEST(IrModuleTrain, VggSmallStepUpdatesRunningStatsAndWritesBack) {
    const Graph g = vggSmall();
    auto module = makeModule(g);
    ASSERT_TRUE(module);
    torch::manual_seed(3);
    const torch::Tensor images = torch::rand({8, 1, 28, 28});
    const torch::Tensor labels = torch::randint(0, 10, {8}, torch::kInt64);
    torch::optim::SGD sgd(module->parameters(), torch::optim::SGDOptions(0.05));
    module->train();
    sgd.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(module->forward({images})[0], labels);
    loss.backward();
    sgd.step();

    auto trained = module->toGraph();
    ASSERT_TRUE(trained.ok()) << trained.error().toString();
    int bnNodes = 0;
    for (const Node& n : trained->nodes) {
        if (n.op != OpKind::BatchNormalization) continue;
        ++bnNodes;
        const Tensor& mean = trained->value(n.inputs[3]).constant;
        const Tensor& var = trained->value(n.inputs[4]).constant;
        const Tensor& oldMean = g.value(n.inputs[3]).constant;
        EXPECT_FALSE(mean.identical(oldMean)) << n.name;
        EXPECT_FALSE(var.identical(g.value(n.inputs[4]).constant)) << n.name;
        // The gamma / beta parameters moved too.
        EXPECT_FALSE(trained->value(n.inputs[2]).constant.identical(g.value(n.inputs[2]).constant));
    }
    EXPECT_EQ(bnNodes, 6);
    // First BatchNormalization by hand: 0.1 * the batch mean of conv1's output (old mean 0).
    {
        torch::NoGradGuard noGrad;
        const Node& conv1 = g.nodes[0];
        const torch::Tensor w = toTorch(g.value(conv1.inputs[1]).constant);
        const torch::Tensor batchMean = torch::conv2d(images, w, {}, 1, 1).mean({0, 2, 3});
        const Node* bn1 = nullptr;
        for (const Node& n : trained->nodes) {
            if (n.op == OpKind::BatchNormalization && bn1 == nullptr) bn1 = &n;
        }
        ASSERT_NE(bn1, nullptr);
        EXPECT_TRUE(torch::allclose(toTorch(trained->value(bn1->inputs[3]).constant),
                                    0.1 * batchMean, 1e-4, 1e-6));
    }
    EXPECT_FALSE(prune::layerWeights(*trained, prunableLayers(*trained)[0])
                     ->weights.identical(prune::layerWeights(g, prunableLayers(g)[0])->weights));
    // The written-back graph is complete: the engine runs it as the module does in eval.
    EXPECT_LT(compareWithCpu(*trained, 11), 1e-4);
    module->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor x = torch::rand({1, 1, 28, 28});
    auto exec = cpu::CpuExecutor::create(*trained, {.threads = 1});
    ASSERT_TRUE(exec.ok());
    std::vector<Tensor> inputs = {fromTorch(x)};
    auto out = (*exec)->run(inputs);
    ASSERT_TRUE(out.ok());
    EXPECT_LT(relativeDiff(module->forward({x})[0], toTorch((*out)[0])), 1e-4);
}

// Fits one batch of 64 for a few steps (the loss must fall) and prints the time per step.
TEST(IrModuleTrain, Lenet5StepsLowerTheLoss) {
    auto module = makeModule(lenet());
    ASSERT_TRUE(module);
    torch::manual_seed(4);
    const torch::Tensor images = torch::rand({64, 1, 28, 28});
    const torch::Tensor labels = torch::randint(0, 10, {64}, torch::kInt64);
    torch::optim::SGD sgd(module->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    module->train();
    double first = 0, last = 0;
    const int steps = 10;
    const auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) {
        sgd.zero_grad();
        torch::Tensor loss =
            torch::nn::functional::cross_entropy(module->forward({images})[0], labels);
        loss.backward();
        sgd.step();
        (s == 0 ? first : last) = loss.item<double>();
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[ lenet5 train ] batch 64: " << ms / steps << " ms per step (loss " << first
              << " -> " << last << ")\n";
    EXPECT_TRUE(std::isfinite(last));
    EXPECT_LT(last, first);
}

}  // namespace
}  // namespace prunelab::engine::train

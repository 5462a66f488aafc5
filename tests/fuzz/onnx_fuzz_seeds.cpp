// Writes the ONNX importer's seed corpus (tiny models built with the test builder) into the
// folder named on the command line: tests/data/fuzz/onnx_import holds its committed output.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/engine/onnx/onnx_test_models.h"

namespace {

using namespace prunelab::engine;
using namespace prunelab::engine::testing;

// A little of everything the pinned models use, on a 1x2x8x8 input.
std::string mixedOpsModel() {
    OnnxModelBuilder b;
    b.input("x", {1, 2, 8, 8});
    b.initializer("w", randomFloats({4, 2, 3, 3}, 1));
    b.initializer("fc", randomFloats({4, 3}, 2));
    b.initializer("lo", Tensor::scalar(0.0f));
    b.initializer("hi", Tensor::scalar(6.0f));
    auto& conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
    setAttr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
    setAttr(conv, "strides", std::vector<int64_t>{2, 2});
    b.node("Clip", {"c", "lo", "hi"}, {"r"}, "clip");
    auto& pool = b.node("MaxPool", {"r"}, {"p"}, "pool");
    setAttr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
    b.node("HardSigmoid", {"p"}, {"hs"}, "hsig");
    b.node("Mul", {"p", "hs"}, {"m"}, "mul");
    b.node("GlobalAveragePool", {"m"}, {"g"}, "gap");
    setAttr(b.node("Flatten", {"g"}, {"f"}, "flatten"), "axis", int64_t(1));
    b.node("MatMul", {"f", "fc"}, {"logits"}, "matmul");
    setAttr(b.node("Softmax", {"logits"}, {"y"}, "softmax"), "axis", int64_t(-1));
    b.output("y");
    return b.bytes();
}

// Resize / Transpose / Slice / Pad / Concat with constant operands.
std::string tensorOpsModel() {
    OnnxModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.initializer("roi", Tensor(DataType::Float32, {0}));
    b.initializer("scales", Tensor::fromVector<float>({4}, {1, 1, 2, 2}));
    b.initializer("starts", Tensor::fromVector<int64_t>({1}, {1}));
    b.initializer("ends", Tensor::fromVector<int64_t>({1}, {7}));
    b.initializer("axes", Tensor::fromVector<int64_t>({1}, {3}));
    b.initializer("pads", Tensor::fromVector<int64_t>({8}, {0, 0, 1, 0, 0, 0, 1, 0}));
    setAttr(b.node("Resize", {"x", "roi", "scales"}, {"up"}, "resize"), "mode",
            std::string("nearest"));
    setAttr(b.node("Transpose", {"up"}, {"t"}, "transpose"), "perm",
            std::vector<int64_t>{0, 1, 3, 2});
    b.node("Slice", {"t", "starts", "ends", "axes"}, {"s"}, "slice");
    b.node("Pad", {"s", "pads"}, {"pd"}, "pad");
    setAttr(b.node("Concat", {"pd", "pd"}, {"y"}, "concat"), "axis", int64_t(1));
    b.output("y");
    return b.bytes();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus-folder>\n", argv[0]);
        return 2;
    }
    const std::vector<std::pair<std::string, std::string>> seeds = {
        {"conv_bn_relu.onnx", convBnReluModel()},      {"shape_chain.onnx", shapeChainModel()},
        {"constants_only.onnx", constantsOnlyModel()}, {"mixed_ops.onnx", mixedOpsModel()},
        {"tensor_ops.onnx", tensorOpsModel()},
    };
    for (const auto& [name, bytes] : seeds) {
        std::ofstream out(std::string(argv[1]) + "/" + name, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "cannot write %s\n", name.c_str());
            return 1;
        }
    }
    return 0;
}

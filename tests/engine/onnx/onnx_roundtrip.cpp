// Round-trip and checker helpers for the ONNX tests.
#include "tests/engine/onnx/onnx_roundtrip.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/reference_runner.h"

namespace prunelab::engine::testing {

void expectPassesOnnxChecker(const std::string& bytes) {
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(bytes)) << "the exported bytes do not parse";
    try {
        onnx::checker::check_model(model);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "onnx's checker refuses the exported model: " << e.what();
    }
}

void expectRoundTripIdentical(const Graph& graph, const std::vector<Tensor>& inputs) {
    ASSERT_TRUE(verifyGraph(graph).ok()) << verifyGraph(graph).error().toString();
    auto bytes = exportOnnxBytes(graph);
    ASSERT_TRUE(bytes.ok()) << bytes.error().toString();
    expectPassesOnnxChecker(*bytes);
    // Folding BatchNormalization changes rounding; a graph that kept its BN must keep it.
    OnnxImportOptions options;
    options.foldBatchNorm = false;
    auto back = importOnnxBytes(*bytes, "roundtrip.onnx", "", options);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    ASSERT_TRUE(verifyGraph(*back).ok()) << verifyGraph(*back).error().toString();
    ASSERT_EQ(back->nodes.size(), graph.nodes.size());
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        EXPECT_EQ(back->nodes[k].op, graph.nodes[k].op) << "node " << k;
        EXPECT_TRUE(back->nodes[k].attrs == graph.nodes[k].attrs)
            << graph.describeNode(k) << ": attributes differ after the round trip";
    }
    auto expected = runGraphReference(graph, inputs);
    ASSERT_TRUE(expected.ok()) << expected.error().toString();
    auto actual = runGraphReference(*back, inputs);
    ASSERT_TRUE(actual.ok()) << actual.error().toString();
    ASSERT_EQ(actual->size(), expected->size());
    for (size_t i = 0; i < expected->size(); ++i) {
        EXPECT_TRUE((*actual)[i].identical((*expected)[i]))
            << "output " << i << " ('" << graph.value(graph.outputs[i]).name
            << "') differs after the round trip";
    }
}

}  // namespace prunelab::engine::testing

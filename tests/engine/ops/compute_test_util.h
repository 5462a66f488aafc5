// Helpers for the compute-op tests (conv, pools, gemm, resize...): calling an op's ONNX
// importer on a hand-made node, and the export -> import round trip of canonical attributes.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops_test_util.h"

namespace prunelab::engine::testing {

// What the ONNX importer would hand an op: attributes and input infos, no protobuf.
struct OnnxCall {
    std::string opType;
    int64_t opset = 13;
    Attributes attrs;
    std::vector<TensorInfo> inputs;
    int outputCount = 1;
};

// A non-constant input of `shape` (float32 unless said).
inline TensorInfo inputInfo(const Shape& shape, DataType dtype = DataType::Float32) {
    return TensorInfo{dtype, shape, nullptr};
}
// A constant input: `t` must outlive the call.
inline TensorInfo constantInfo(const Tensor& t) {
    return TensorInfo{t.dtype(), t.shape(), &t};
}

inline Result<OnnxImport> importNode(const OnnxCall& call) {
    const OpDef* def = opDefForOnnx(call.opType);
    if (def == nullptr || def->importOnnx == nullptr) {
        return makeError(ErrorCode::Unsupported, "no importer for " + call.opType);
    }
    OnnxNodeIn in{call.opType, call.opset, &call.attrs, call.inputs, call.outputCount};
    return def->importOnnx(in);
}

// Exports a one-node graph (`op` with canonical `attrs` over inputs of `shapes`, an empty
// shape list entry meaning an absent input) and returns the ONNX chain.
inline Result<std::vector<OnnxNodeOut>> exportNode(OpKind op, const Attributes& attrs,
                                                   const std::vector<Shape>& shapes, Graph& graph) {
    std::vector<ValueId> inputs;
    for (size_t i = 0; i < shapes.size(); ++i) {
        inputs.push_back(graph.addValue("in" + std::to_string(i), DataType::Float32, shapes[i]));
    }
    ValueId out = graph.addValue("out", DataType::Float32, {});
    const Node& node = graph.addNode(op, "n", inputs, {out}, attrs);
    return opDef(op).exportOnnx(node, graph);
}

// export(node) then import(that ONNX node) must give back the same canonical attributes and
// the same IR inputs. Only for ops that export as a single node.
inline void expectRoundTrip(OpKind op, const Attributes& attrs, const std::vector<Shape>& shapes) {
    SCOPED_TRACE(std::string(opName(op)) + " round trip");
    Graph graph;
    Result<std::vector<OnnxNodeOut>> chain = exportNode(op, attrs, shapes, graph);
    ASSERT_TRUE(chain.ok()) << chain.error().toString();
    ASSERT_EQ(chain->size(), 1u);
    const OnnxNodeOut& onnx = chain->front();
    OnnxCall call{onnx.opType, kOnnxExportOpset, onnx.attrs, {}, 1};
    std::vector<int> expectedInputs;
    for (const OnnxOperand& operand : onnx.inputs) {
        switch (operand.kind) {
            case OnnxOperand::Kind::IrInput:
                call.inputs.push_back(inputInfo(shapes[static_cast<size_t>(operand.index)]));
                expectedInputs.push_back(operand.index);
                break;
            case OnnxOperand::Kind::Constant:
                call.inputs.push_back(constantInfo(operand.constant));
                break;
            case OnnxOperand::Kind::Absent:
                call.inputs.push_back(TensorInfo{});
                break;
            case OnnxOperand::Kind::Chained:
                FAIL() << "a single exported node cannot read a chained value";
        }
    }
    Result<OnnxImport> back = importNode(call);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_TRUE(back->attrs == attrs);
    EXPECT_EQ(back->inputs, expectedInputs);
}

// The canonical attributes the importer makes of one ONNX node (asserting success).
inline Attributes importedAttrs(const OnnxCall& call) {
    Result<OnnxImport> r = importNode(call);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().toString());
    return r.ok() ? r->attrs : Attributes{};
}

// Tensor from a shape and values (float32).
inline Tensor tensor(const Shape& shape, const std::vector<float>& values) {
    return Tensor::fromVector<float>(shape, values);
}

// Elements of `t` as a vector, for EXPECT_EQ / near comparisons with hand-computed numbers.
inline std::vector<float> values(const Tensor& t) {
    return t.toFloatVector();
}

inline void expectNear(const Tensor& got, const Shape& shape, const std::vector<float>& expected,
                       float tolerance = 1e-5f) {
    ASSERT_EQ(got.shape(), shape);
    std::vector<float> v = got.toFloatVector();
    ASSERT_EQ(v.size(), expected.size());
    for (size_t i = 0; i < v.size(); ++i) {
        EXPECT_NEAR(v[i], expected[i], tolerance) << "element " << i;
    }
}

// Runs `op` and returns its single output, failing the test on error.
inline Tensor run1(OpKind op, const Attributes& attrs, const std::vector<Tensor>& inputs) {
    Result<std::vector<Tensor>> r = runOp(op, attrs, inputs);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().toString());
    return r.ok() ? r->front() : Tensor{};
}

// The error code of running `op` (shape inference included); Internal when it succeeded.
inline Error runError(OpKind op, const Attributes& attrs, const std::vector<Tensor>& inputs) {
    Result<std::vector<Tensor>> r = runOp(op, attrs, inputs);
    return r.ok() ? makeError(ErrorCode::Internal, "succeeded") : r.error();
}

inline Attributes attrsOf(std::initializer_list<std::pair<const char*, AttributeValue>> list) {
    Attributes a;
    for (const auto& [name, value] : list) a.set(name, value);
    return a;
}

}  // namespace prunelab::engine::testing

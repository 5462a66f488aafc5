// Helpers for the element-wise and tensor op tests: tensor literals, element checks, and
// driving an op's ONNX import / export by hand (no protobuf involved).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "engine/ops/op.h"
#include "ops_test_util.h"

namespace prunelab::engine::testing {

inline Tensor f32(Shape shape, std::vector<float> values) {
    return Tensor::fromVector<float>(std::move(shape), values);
}
inline Tensor i64(Shape shape, std::vector<int64_t> values) {
    return Tensor::fromVector<int64_t>(std::move(shape), values);
}
inline Tensor i32(Shape shape, std::vector<int32_t> values) {
    return Tensor::fromVector<int32_t>(std::move(shape), values);
}

// Runs `op` expecting success and one output.
inline Tensor run1(OpKind op, const Attributes& attrs, const std::vector<Tensor>& inputs) {
    auto out = runOp(op, attrs, inputs);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().toString());
    if (!out.ok() || out->empty()) return {};
    return (*out)[0];
}

// The error code of running `op`, or nothing when it succeeds.
inline std::optional<ErrorCode> runError(OpKind op, const Attributes& attrs,
                                         const std::vector<Tensor>& inputs, int outputs = 1) {
    auto out = runOp(op, attrs, inputs, outputs);
    if (out.ok()) return std::nullopt;
    return out.error().code;
}

// Checks dtype, shape and each float element within `tol`.
inline void expectFloats(const Tensor& t, const Shape& shape, const std::vector<float>& want,
                         float tol = 1e-6f) {
    ASSERT_EQ(t.dtype(), DataType::Float32);
    ASSERT_EQ(t.shape(), shape);
    std::vector<float> got = t.toFloatVector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(got[i])) << "element " << i;
        } else if (std::isinf(want[i])) {
            EXPECT_EQ(got[i], want[i]) << "element " << i;
        } else {
            EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
        }
    }
}

// Checks dtype, shape and the elements read as int64.
inline void expectInts(const Tensor& t, DataType dtype, const Shape& shape,
                       const std::vector<int64_t>& want) {
    ASSERT_EQ(t.dtype(), dtype);
    ASSERT_EQ(t.shape(), shape);
    EXPECT_EQ(t.toInt64Vector(), want);
}

inline Attributes attrs(std::initializer_list<std::pair<const std::string, AttributeValue>> list) {
    Attributes a;
    for (const auto& [name, value] : list) a.set(name, value);
    return a;
}

inline TensorInfo info(DataType dtype, Shape shape) {
    return TensorInfo{dtype, std::move(shape)};
}
inline TensorInfo constInfo(const Tensor& t) {
    return TensorInfo{t.dtype(), t.shape(), &t};
}
inline TensorInfo absent() {
    return TensorInfo{};
}

// Imports one hand-built ONNX node through the OpDef that claims `opType`.
inline Result<OnnxImport> importNode(std::string_view opType, int64_t opset,
                                     const Attributes& onnxAttrs,
                                     const std::vector<TensorInfo>& inputs, int outputCount = 1) {
    const OpDef* def = opDefForOnnx(opType);
    if (def == nullptr || def->importOnnx == nullptr) {
        return makeError(ErrorCode::Unsupported, "no importer for " + std::string(opType));
    }
    OnnxNodeIn node;
    node.opType = opType;
    node.opset = opset;
    node.attrs = &onnxAttrs;
    node.inputs = inputs;
    node.outputCount = outputCount;
    return def->importOnnx(node);
}

// Exports a node of `op` with canonical `canonical` attributes over inputs described by
// `inputs`, then imports the single ONNX node it wrote (at kOnnxExportOpset) and returns
// the canonical attributes that come back.
inline Result<Attributes> roundTrip(OpKind op, const Attributes& canonical,
                                    const std::vector<TensorInfo>& inputs, int outputs = 1) {
    Graph graph;
    Node node;
    node.op = op;
    node.attrs = canonical;
    for (size_t i = 0; i < inputs.size(); ++i) {
        node.inputs.push_back(
            graph.addValue("in" + std::to_string(i), inputs[i].dtype, inputs[i].shape));
    }
    for (int o = 0; o < outputs; ++o) {
        node.outputs.push_back(graph.addValue("out" + std::to_string(o), DataType::Float32, {}));
    }
    PL_TRY_ASSIGN(std::vector<OnnxNodeOut> chain, opDef(op).exportOnnx(node, graph));
    if (chain.size() != 1) {
        return makeError(ErrorCode::Unsupported,
                         "export wrote " + std::to_string(chain.size()) + " nodes");
    }
    const OnnxNodeOut& written = chain[0];
    std::deque<Tensor> constants;  // stable addresses for TensorInfo::constant
    std::vector<TensorInfo> onnxInputs;
    for (const OnnxOperand& operand : written.inputs) {
        switch (operand.kind) {
            case OnnxOperand::Kind::IrInput:
                onnxInputs.push_back(inputs[static_cast<size_t>(operand.index)]);
                break;
            case OnnxOperand::Kind::Constant:
                constants.push_back(operand.constant);
                onnxInputs.push_back(constInfo(constants.back()));
                break;
            case OnnxOperand::Kind::Absent:
                onnxInputs.push_back(absent());
                break;
            case OnnxOperand::Kind::Chained:
                return makeError(ErrorCode::Internal, "chained operand in a one-node export");
        }
    }
    PL_TRY_ASSIGN(OnnxImport imported,
                  importNode(written.opType, kOnnxExportOpset, written.attrs, onnxInputs, outputs));
    return imported.attrs;
}

}  // namespace prunelab::engine::testing

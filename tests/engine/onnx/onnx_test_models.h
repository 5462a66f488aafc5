// Builds tiny ONNX models with the protobuf API for the importer/exporter tests and the fuzz
// seed corpus: a small builder plus a few canned models (Conv+BN+Relu, a folded shape chain).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "engine/ir/tensor.h"

namespace prunelab::engine::testing {

class OnnxModelBuilder {
  public:
    explicit OnnxModelBuilder(int64_t opset = 13, int64_t irVersion = 8);

    // A graph input; a dim of -1 is dynamic (written as a symbolic dim_param "d<i>").
    OnnxModelBuilder& input(const std::string& name, const Shape& dims,
                            int32_t elemType = onnx::TensorProto::FLOAT);
    // A graph output with the given type and no shape (the importer infers it).
    OnnxModelBuilder& output(const std::string& name, int32_t elemType = onnx::TensorProto::FLOAT);
    // An initializer holding `value` as raw_data.
    onnx::TensorProto& initializer(const std::string& name, const Tensor& value);
    onnx::NodeProto& node(const std::string& opType, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = {});

    onnx::ModelProto& model() { return m_model; }
    onnx::GraphProto& graph() { return *m_model.mutable_graph(); }
    std::string bytes() const;

  private:
    onnx::ModelProto m_model;
};

// The ONNX op types in `ops` whose OpDef has no ONNX mapping yet, joined by spaces ("" when all
// are there): tests that need them skip until the op lands.
std::string missingOnnxOps(const std::vector<std::string>& ops);
// Same for the exporter side (OpDef::exportOnnx) and the reference kernels.
std::string missingExportOps(const std::vector<std::string>& ops);

// Attribute setters on a node.
void setAttr(onnx::NodeProto& node, const std::string& name, int64_t value);
void setAttr(onnx::NodeProto& node, const std::string& name, float value);
void setAttr(onnx::NodeProto& node, const std::string& name, const std::string& value);
void setAttr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& value);
void setAttr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& value);
void setAttr(onnx::NodeProto& node, const std::string& name, const Tensor& value);

// Fills `proto` (dims, type, raw_data) from `value`.
void fillTensorProto(const Tensor& value, onnx::TensorProto& proto);

// A float tensor of `shape` with a deterministic pseudo-random sequence in [-1, 1).
Tensor randomFloats(const Shape& shape, uint32_t seed);
// The same with values in [lo, hi) (BatchNormalization variances must be positive).
Tensor randomFloats(const Shape& shape, uint32_t seed, float lo, float hi);

// x[1,3,8,8] -> Conv(4 filters 3x3, pads 1, bias) -> BatchNormalization -> Relu -> y.
std::string convBnReluModel();
// x[N,3,4,4] -> Shape -> Gather(0) -> Unsqueeze -> Concat(with [-1]) -> Reshape(x) -> y: the
// shape chain folds once N is bound, leaving one Reshape to [N, 48].
std::string shapeChainModel();
// Only Constant nodes (value, value_float, value_ints) feeding the graph outputs: needs no op.
std::string constantsOnlyModel();

}  // namespace prunelab::engine::testing

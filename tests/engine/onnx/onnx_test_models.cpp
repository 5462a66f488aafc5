// The ONNX model builder and the canned test models.
#include "tests/engine/onnx/onnx_test_models.h"

#include <cstring>

#include "engine/ops/op.h"

namespace prunelab::engine::testing {

OnnxModelBuilder::OnnxModelBuilder(int64_t opset, int64_t irVersion) {
    m_model.set_ir_version(irVersion);
    m_model.set_producer_name("prunelab-tests");
    auto* op = m_model.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    m_model.mutable_graph()->set_name("test");
}

OnnxModelBuilder& OnnxModelBuilder::input(const std::string& name, const Shape& dims,
                                          int32_t elemType) {
    auto* in = graph().add_input();
    in->set_name(name);
    auto* type = in->mutable_type()->mutable_tensor_type();
    type->set_elem_type(elemType);
    auto* shape = type->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
        auto* dim = shape->add_dim();
        if (dims[i] < 0) {
            std::string symbol = "d";  // (not "d" + ...: GCC 12 -O3 warns wrongly on that)
            symbol += std::to_string(i);
            dim->set_dim_param(symbol);
        } else {
            dim->set_dim_value(dims[i]);
        }
    }
    return *this;
}

OnnxModelBuilder& OnnxModelBuilder::output(const std::string& name, int32_t elemType) {
    auto* out = graph().add_output();
    out->set_name(name);
    out->mutable_type()->mutable_tensor_type()->set_elem_type(elemType);
    return *this;
}

onnx::TensorProto& OnnxModelBuilder::initializer(const std::string& name, const Tensor& value) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    fillTensorProto(value, *t);
    return *t;
}

onnx::NodeProto& OnnxModelBuilder::node(const std::string& opType,
                                        const std::vector<std::string>& inputs,
                                        const std::vector<std::string>& outputs,
                                        const std::string& name) {
    auto* n = graph().add_node();
    n->set_op_type(opType);
    n->set_name(name);
    for (const auto& in : inputs) n->add_input(in);
    for (const auto& out : outputs) n->add_output(out);
    return *n;
}

std::string missingOnnxOps(const std::vector<std::string>& ops) {
    std::string missing;
    for (const std::string& op : ops) {
        const OpDef* def = opDefForOnnx(op);
        if (def == nullptr || def->importOnnx == nullptr || def->infer == nullptr) {
            if (!missing.empty()) missing += ' ';
            missing += op;
        }
    }
    return missing;
}

std::string missingExportOps(const std::vector<std::string>& ops) {
    std::string missing = missingOnnxOps(ops);
    for (const std::string& op : ops) {
        const OpDef* def = opDefForOnnx(op);
        if (def != nullptr && (def->exportOnnx == nullptr || def->reference == nullptr)) {
            if (!missing.empty()) missing += ' ';
            missing += op;
        }
    }
    return missing;
}

std::string OnnxModelBuilder::bytes() const {
    return m_model.SerializeAsString();
}

namespace {
onnx::AttributeProto& addAttr(onnx::NodeProto& node, const std::string& name,
                              onnx::AttributeProto::AttributeType type) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(type);
    return *a;
}

int32_t onnxType(DataType t) {
    switch (t) {
        case DataType::Float32:
            return onnx::TensorProto::FLOAT;
        case DataType::Float16:
            return onnx::TensorProto::FLOAT16;
        case DataType::Float64:
            return onnx::TensorProto::DOUBLE;
        case DataType::Int8:
            return onnx::TensorProto::INT8;
        case DataType::UInt8:
            return onnx::TensorProto::UINT8;
        case DataType::Int32:
            return onnx::TensorProto::INT32;
        case DataType::Int64:
            return onnx::TensorProto::INT64;
        case DataType::Bool:
            return onnx::TensorProto::BOOL;
        case DataType::Undefined:
            break;
    }
    return onnx::TensorProto::UNDEFINED;
}
}  // namespace

void setAttr(onnx::NodeProto& node, const std::string& name, int64_t value) {
    addAttr(node, name, onnx::AttributeProto::INT).set_i(value);
}
void setAttr(onnx::NodeProto& node, const std::string& name, float value) {
    addAttr(node, name, onnx::AttributeProto::FLOAT).set_f(value);
}
void setAttr(onnx::NodeProto& node, const std::string& name, const std::string& value) {
    addAttr(node, name, onnx::AttributeProto::STRING).set_s(value);
}
void setAttr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& value) {
    auto& a = addAttr(node, name, onnx::AttributeProto::INTS);
    for (int64_t v : value) a.add_ints(v);
}
void setAttr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& value) {
    auto& a = addAttr(node, name, onnx::AttributeProto::FLOATS);
    for (float v : value) a.add_floats(v);
}
void setAttr(onnx::NodeProto& node, const std::string& name, const Tensor& value) {
    fillTensorProto(value, *addAttr(node, name, onnx::AttributeProto::TENSOR).mutable_t());
}

void fillTensorProto(const Tensor& value, onnx::TensorProto& proto) {
    for (int64_t d : value.shape()) proto.add_dims(d);
    proto.set_data_type(onnxType(value.dtype()));
    proto.set_raw_data(reinterpret_cast<const char*>(value.raw()), value.bytes());
}

Tensor randomFloats(const Shape& shape, uint32_t seed, float lo, float hi) {
    Tensor t(DataType::Float32, shape);
    uint32_t state = seed * 2654435761u + 12345u;
    for (float& v : t.span<float>()) {
        state = state * 1664525u + 1013904223u;  // LCG: deterministic on every platform
        v = lo + (hi - lo) * float(state >> 8) / float(1u << 24);
    }
    return t;
}

Tensor randomFloats(const Shape& shape, uint32_t seed) {
    return randomFloats(shape, seed, -1, 1);
}

std::string convBnReluModel() {
    OnnxModelBuilder b;
    b.input("x", {1, 3, 8, 8});
    b.initializer("w", randomFloats({4, 3, 3, 3}, 1));
    b.initializer("b", randomFloats({4}, 2));
    b.initializer("scale", randomFloats({4}, 3, 0.5f, 1.5f));
    b.initializer("shift", randomFloats({4}, 4));
    b.initializer("mean", randomFloats({4}, 5));
    b.initializer("var", randomFloats({4}, 6, 0.1f, 2.0f));
    auto& conv = b.node("Conv", {"x", "w", "b"}, {"conv_out"}, "conv1");
    setAttr(conv, "kernel_shape", std::vector<int64_t>{3, 3});
    setAttr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
    auto& bn = b.node("BatchNormalization", {"conv_out", "scale", "shift", "mean", "var"},
                      {"bn_out"}, "bn1");
    setAttr(bn, "epsilon", 1e-3f);
    b.node("Relu", {"bn_out"}, {"y"}, "relu1");
    b.output("y");
    return b.bytes();
}

std::string shapeChainModel() {
    OnnxModelBuilder b;
    b.input("x", {-1, 3, 4, 4});
    b.initializer("zero", Tensor::fromVector<int64_t>({}, {0}));
    b.initializer("axes0", Tensor::fromVector<int64_t>({1}, {0}));
    b.initializer("minus_one", Tensor::fromVector<int64_t>({1}, {-1}));
    b.node("Shape", {"x"}, {"shape"}, "shape");
    setAttr(b.node("Gather", {"shape", "zero"}, {"batch"}, "gather"), "axis", int64_t(0));
    b.node("Unsqueeze", {"batch", "axes0"}, {"batch1"}, "unsqueeze");
    setAttr(b.node("Concat", {"batch1", "minus_one"}, {"target"}, "concat"), "axis", int64_t(0));
    b.node("Reshape", {"x", "target"}, {"y"}, "reshape");
    b.output("y");
    return b.bytes();
}

std::string constantsOnlyModel() {
    OnnxModelBuilder b;
    auto& c1 = b.node("Constant", {}, {"c_tensor"}, "c1");
    setAttr(c1, "value", Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4}));
    setAttr(b.node("Constant", {}, {"c_float"}, "c2"), "value_float", 2.5f);
    setAttr(b.node("Constant", {}, {"c_ints"}, "c3"), "value_ints", std::vector<int64_t>{7, 8, 9});
    b.output("c_tensor");
    b.output("c_float");
    b.output("c_ints", onnx::TensorProto::INT64);
    return b.bytes();
}

}  // namespace prunelab::engine::testing

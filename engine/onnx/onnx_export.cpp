// ONNX export: IR -> ModelProto (IR version 8, opset kOnnxExportOpset). Each node goes through
// its OpDef::exportOnnx as a chain of ONNX nodes; value names are kept, so importing the file
// again gives the same graph and bit-identical reference outputs.
#include <climits>
#include <fstream>
#include <map>
#include <new>
#include <unordered_set>

#include <onnx/onnx_pb.h>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_tensor.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

constexpr int64_t kExportIrVersion = 8;

// Hands out value names that are unique within the exported graph.
class NameTable {
  public:
    std::string claim(const std::string& wanted) {
        std::string base = wanted.empty() ? std::string("v") : wanted;
        if (m_used.insert(base).second) return base;
        for (int i = 1;; ++i) {
            std::string candidate = base + "_" + std::to_string(i);
            if (m_used.insert(candidate).second) return candidate;
        }
    }

  private:
    std::unordered_set<std::string> m_used;
};

void setValueInfo(const Value& value, const std::string& name, onnx::ValueInfoProto& info) {
    info.set_name(name);
    auto& tensorType = *info.mutable_type()->mutable_tensor_type();
    tensorType.set_elem_type(internal::dataTypeToOnnx(value.dtype));
    auto& shape = *tensorType.mutable_shape();
    for (int64_t d : value.shape) shape.add_dim()->set_dim_value(d);
}

void setAttribute(const std::string& name, const AttributeValue& value,
                  onnx::AttributeProto& attr) {
    using A = onnx::AttributeProto;
    attr.set_name(name);
    if (auto* i = std::get_if<int64_t>(&value)) {
        attr.set_type(A::INT);
        attr.set_i(*i);
    } else if (auto* f = std::get_if<float>(&value)) {
        attr.set_type(A::FLOAT);
        attr.set_f(*f);
    } else if (auto* s = std::get_if<std::string>(&value)) {
        attr.set_type(A::STRING);
        attr.set_s(*s);
    } else if (auto* ints = std::get_if<std::vector<int64_t>>(&value)) {
        attr.set_type(A::INTS);
        for (int64_t x : *ints) attr.add_ints(x);
    } else if (auto* floats = std::get_if<std::vector<float>>(&value)) {
        attr.set_type(A::FLOATS);
        for (float x : *floats) attr.add_floats(x);
    } else if (auto* t = std::get_if<Tensor>(&value)) {
        attr.set_type(A::TENSOR);
        internal::tensorToOnnx(*t, *attr.mutable_t());
    }
}

// Writes one IR node as its export chain.
Status exportNode(const Graph& graph, size_t index, const std::vector<std::string>& names,
                  NameTable& table, onnx::GraphProto& out) {
    const Node& node = graph.nodes[index];
    const OpDef& def = opDef(node.op);
    if (def.exportOnnx == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "op " + std::string(def.name) + " has no ONNX export yet");
    }
    PL_TRY_ASSIGN(std::vector<OnnxNodeOut> chain, def.exportOnnx(node, graph));
    if (chain.empty()) {
        return makeError(ErrorCode::Internal,
                         "the " + std::string(def.name) + " exporter wrote no ONNX node");
    }
    const std::string base = node.name.empty() ? names[size_t(node.outputs.at(0))] : node.name;
    std::vector<std::string> chainOutputs;
    for (size_t c = 0; c < chain.size(); ++c) {
        const OnnxNodeOut& step = chain[c];
        const bool last = c + 1 == chain.size();
        onnx::NodeProto& proto = *out.add_node();
        proto.set_op_type(step.opType);
        if (last && !node.name.empty()) proto.set_name(node.name);
        if (!last) proto.set_name(base + "/" + step.opType + std::to_string(c));

        std::vector<std::string> inputs;
        for (const OnnxOperand& operand : step.inputs) {
            switch (operand.kind) {
                case OnnxOperand::Kind::IrInput: {
                    if (operand.index < 0 || size_t(operand.index) >= node.inputs.size()) {
                        return makeError(ErrorCode::Internal,
                                         "the " + std::string(def.name) + " exporter reads input " +
                                             std::to_string(operand.index) + " of " +
                                             std::to_string(node.inputs.size()));
                    }
                    const ValueId id = node.inputs[size_t(operand.index)];
                    inputs.push_back(id == kNoValue ? std::string() : names[size_t(id)]);
                    break;
                }
                case OnnxOperand::Kind::Constant: {
                    onnx::TensorProto& init = *out.add_initializer();
                    init.set_name(table.claim(base + "_" + step.opType + "_const"));
                    internal::tensorToOnnx(operand.constant, init);
                    inputs.push_back(init.name());
                    break;
                }
                case OnnxOperand::Kind::Absent:
                    inputs.emplace_back();
                    break;
                case OnnxOperand::Kind::Chained:
                    if (operand.index < 0 || size_t(operand.index) >= chainOutputs.size()) {
                        return makeError(
                            ErrorCode::Internal,
                            "the " + std::string(def.name) + " exporter chains to step " +
                                std::to_string(operand.index) + " from step " + std::to_string(c));
                    }
                    inputs.push_back(chainOutputs[size_t(operand.index)]);
                    break;
            }
        }
        while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();  // optional tail
        for (const std::string& in : inputs) proto.add_input(in);

        if (last) {
            for (ValueId id : node.outputs) proto.add_output(names[size_t(id)]);
        } else {
            chainOutputs.push_back(table.claim(base + "_" + step.opType + std::to_string(c)));
            proto.add_output(chainOutputs.back());
        }
        for (const auto& [name, value] : step.attrs.all()) {
            setAttribute(name, value, *proto.add_attribute());
        }
    }
    return {};
}

Result<std::string> exportModel(const Graph& graph,
                                const std::map<std::string, std::string>& metadata) {
    onnx::ModelProto model;
    model.set_ir_version(kExportIrVersion);
    model.set_producer_name("PruneLab");
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxExportOpset);
    onnx::GraphProto& out = *model.mutable_graph();
    out.set_name(graph.name.empty() ? std::string("prunelab") : graph.name);
    std::map<std::string, std::string> props = metadata;
    props.insert(graph.metadata.begin(), graph.metadata.end());  // keeps `metadata`'s values
    for (const auto& [key, text] : props) {
        auto* entry = model.add_metadata_props();
        entry->set_key(key);
        entry->set_value(text);
    }

    // Value names: kept from the IR, made unique and non-empty where they are not.
    NameTable table;
    std::vector<std::string> names(graph.values.size());
    for (size_t i = 0; i < graph.values.size(); ++i) names[i] = table.claim(graph.values[i].name);

    std::vector<bool> referenced(graph.values.size(), false);
    auto mark = [&](ValueId id) {
        if (id != kNoValue) referenced[size_t(id)] = true;
    };
    for (const Node& node : graph.nodes) {
        for (ValueId id : node.inputs) mark(id);
    }
    for (ValueId id : graph.outputs) mark(id);

    for (ValueId id : graph.inputs)
        setValueInfo(graph.value(id), names[size_t(id)], *out.add_input());
    for (size_t i = 0; i < graph.values.size(); ++i) {
        const Value& v = graph.values[i];
        if (!v.isConstant() || !referenced[i]) continue;
        onnx::TensorProto& init = *out.add_initializer();
        init.set_name(names[i]);
        internal::tensorToOnnx(v.constant, init);
    }
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        Status st = exportNode(graph, k, names, table, out);
        if (!st.ok()) return st.error().within(graph.describeNode(k));
    }
    for (ValueId id : graph.outputs) {
        setValueInfo(graph.value(id), names[size_t(id)], *out.add_output());
    }

    if (model.ByteSizeLong() >= size_t(INT_MAX)) {
        return makeError(ErrorCode::OutOfRange,
                         "the model is over 2 GiB, more than one ONNX file can hold");
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) {
        return makeError(ErrorCode::Internal, "protobuf could not serialise the model");
    }
    return bytes;
}

}  // namespace

Result<std::string> exportOnnxBytes(const Graph& graph,
                                    const std::map<std::string, std::string>& metadata) {
    try {
        return exportModel(graph, metadata);
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::OutOfRange, "ran out of memory while exporting");
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Internal, std::string("unexpected error: ") + e.what());
    }
}

Status exportOnnxFile(const Graph& graph, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
    auto bytes = exportOnnxBytes(graph, metadata);
    if (!bytes.ok()) return bytes.error().within(path);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) return makeError(ErrorCode::Io, "cannot open the file for writing", path);
    file.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    file.close();
    if (!file) return makeError(ErrorCode::Io, "writing the file failed", path);
    return {};
}

}  // namespace prunelab::engine

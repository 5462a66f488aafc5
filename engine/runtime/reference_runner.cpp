// The reference runner: one tensor per value, nodes in order, no memory reuse.
#include "engine/runtime/reference_runner.h"

#include "engine/ops/op.h"

namespace prunelab::engine {

Status checkGraphInputs(const Graph& graph, std::span<const Tensor> inputs) {
    if (inputs.size() != graph.inputs.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the model takes " + std::to_string(graph.inputs.size()) +
                             " inputs, got " + std::to_string(inputs.size()),
                         graph.sourcePath);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Value& v = graph.value(graph.inputs[i]);
        if (inputs[i].dtype() != v.dtype || inputs[i].shape() != v.shape) {
            return makeError(ErrorCode::InvalidArgument,
                             "input '" + v.name + "' must be " +
                                 std::string(dataTypeName(v.dtype)) + " " + shapeToString(v.shape) +
                                 ", got " + std::string(dataTypeName(inputs[i].dtype())) + " " +
                                 shapeToString(inputs[i].shape()),
                             graph.sourcePath);
        }
    }
    return {};
}

Status runNodeReference(const Graph& graph, size_t k, std::vector<Tensor>& slots) {
    const Node& node = graph.nodes[k];
    std::vector<const Tensor*> in;
    for (ValueId id : node.inputs) {
        in.push_back(id == kNoValue ? nullptr : &slots[static_cast<size_t>(id)]);
    }
    auto out = runReference(node, in);
    if (!out.ok()) return out.error().within(graph.describeNode(k));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
        slots[static_cast<size_t>(node.outputs[o])] = std::move((*out)[o]);
    }
    return {};
}

Result<std::vector<Tensor>> runGraphReference(const Graph& graph, std::span<const Tensor> inputs) {
    PL_TRY(checkGraphInputs(graph, inputs));
    std::vector<Tensor> slots(graph.values.size());
    for (size_t i = 0; i < graph.values.size(); ++i) {
        if (graph.values[i].isConstant()) slots[i] = graph.values[i].constant;
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        slots[static_cast<size_t>(graph.inputs[i])] = inputs[i];
    }
    for (size_t k = 0; k < graph.nodes.size(); ++k) PL_TRY(runNodeReference(graph, k, slots));
    std::vector<Tensor> result;
    for (ValueId id : graph.outputs) result.push_back(slots[static_cast<size_t>(id)]);
    return result;
}

}  // namespace prunelab::engine

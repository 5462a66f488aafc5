// The engine's IR: a graph of typed, statically shaped values and the nodes that compute
// them, kept in topological order. Importers build it, passes rewrite it, runtimes plan it.
// Not thread-safe for mutation; concurrent const access is fine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/ir/attributes.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/ir/op_kind.h"

namespace prunelab::engine {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an absent optional input

struct Value {
    std::string name;  // unique within the graph (importers keep the file's names)
    DataType dtype = DataType::Undefined;
    Shape shape;      // static: dynamic dims are bound when the model is loaded
    Tensor constant;  // non-empty for weights and folded constants
    bool isConstant() const { return !constant.empty(); }
};

struct Node {
    OpKind op{};
    std::string name;             // from the file, may be empty; for messages only
    std::vector<ValueId> inputs;  // kNoValue marks an absent optional input
    std::vector<ValueId> outputs;
    Attributes attrs;  // canonical attributes, see engine/ir/op_list.inc
};

class Graph {
  public:
    std::string name;        // model or graph name from the file
    std::string sourcePath;  // the file it came from (for messages)
    // Free-form key -> value notes (ONNX metadata_props), kept through import and export;
    // pruning stores its plan and statistics here.
    std::map<std::string, std::string> metadata;
    std::vector<Value> values;
    std::vector<Node> nodes;  // topological order (verify() checks it)
    std::vector<ValueId> inputs;
    std::vector<ValueId> outputs;

    ValueId addValue(std::string valueName, DataType dtype, Shape shape);
    ValueId addConstant(std::string valueName, Tensor constant);
    Node& addNode(OpKind op, std::string nodeName, std::vector<ValueId> nodeInputs,
                  std::vector<ValueId> nodeOutputs, Attributes attrs = {});

    Value& value(ValueId id) { return values[static_cast<size_t>(id)]; }
    const Value& value(ValueId id) const { return values[static_cast<size_t>(id)]; }
    // kNoValue when no value has that name.
    ValueId findValue(const std::string& valueName) const;
    // A name not yet used in the graph, derived from `base`.
    std::string uniqueName(const std::string& base) const;

    // Index of the node producing `id`, or -1 for graph inputs and constants.
    int producer(ValueId id) const;
    // Indices of nodes reading `id`, in order.
    std::vector<int> consumers(ValueId id) const;
    bool isGraphOutput(ValueId id) const;

    // Reorders nodes topologically (stable); error if there is a cycle.
    Status topoSort();
    // Removes nodes whose outputs nobody reads and values nobody references.
    void removeDeadCode();
    // "node 'conv1' (Conv)", "node #12 (Relu)" when unnamed: for error contexts.
    std::string describeNode(const Node& node) const;
    std::string describeNode(size_t index) const { return describeNode(nodes[index]); }
};

}  // namespace prunelab::engine

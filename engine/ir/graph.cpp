// Graph construction helpers, topological sort, dead-code removal and the verifier that
// passes run between steps (so a broken rewrite is caught where it happens).
#include "engine/ir/graph.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

namespace prunelab::engine {

ValueId Graph::addValue(std::string valueName, DataType dtype, Shape shape) {
    Value v;
    v.name = std::move(valueName);
    v.dtype = dtype;
    v.shape = std::move(shape);
    values.push_back(std::move(v));
    return static_cast<ValueId>(values.size() - 1);
}

ValueId Graph::addConstant(std::string valueName, Tensor constant) {
    ValueId id = addValue(std::move(valueName), constant.dtype(), constant.shape());
    value(id).constant = std::move(constant);
    return id;
}

Node& Graph::addNode(OpKind op, std::string nodeName, std::vector<ValueId> nodeInputs,
                     std::vector<ValueId> nodeOutputs, Attributes attrs) {
    Node n;
    n.op = op;
    n.name = std::move(nodeName);
    n.inputs = std::move(nodeInputs);
    n.outputs = std::move(nodeOutputs);
    n.attrs = std::move(attrs);
    nodes.push_back(std::move(n));
    return nodes.back();
}

ValueId Graph::findValue(const std::string& valueName) const {
    for (size_t i = 0; i < values.size(); ++i) {
        if (values[i].name == valueName) return static_cast<ValueId>(i);
    }
    return kNoValue;
}

std::string Graph::uniqueName(const std::string& base) const {
    if (findValue(base) == kNoValue) return base;
    for (int i = 1;; ++i) {
        std::string candidate = base + "_" + std::to_string(i);
        if (findValue(candidate) == kNoValue) return candidate;
    }
}

int Graph::producer(ValueId id) const {
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (ValueId out : nodes[i].outputs) {
            if (out == id) return static_cast<int>(i);
        }
    }
    return -1;
}

std::vector<int> Graph::consumers(ValueId id) const {
    std::vector<int> result;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (std::find(nodes[i].inputs.begin(), nodes[i].inputs.end(), id) !=
            nodes[i].inputs.end()) {
            result.push_back(static_cast<int>(i));
        }
    }
    return result;
}

bool Graph::isGraphOutput(ValueId id) const {
    return std::find(outputs.begin(), outputs.end(), id) != outputs.end();
}

std::string Graph::describeNode(const Node& node) const {
    std::string op(opName(node.op));
    if (!node.name.empty()) return "node '" + node.name + "' (" + op + ")";
    auto index = &node - nodes.data();
    if (index >= 0 && static_cast<size_t>(index) < nodes.size()) {
        return "node #" + std::to_string(index) + " (" + op + ")";
    }
    return "node (" + op + ")";
}

Status Graph::topoSort() {
    // Kahn's algorithm, always taking the lowest original index first so the order is stable.
    std::unordered_map<ValueId, int> producerOf;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (ValueId out : nodes[i].outputs) producerOf[out] = static_cast<int>(i);
    }
    std::vector<int> pending(nodes.size(), 0);
    std::vector<std::vector<int>> users(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (ValueId in : nodes[i].inputs) {
            auto it = producerOf.find(in);
            if (in == kNoValue || it == producerOf.end()) continue;
            ++pending[i];
            users[static_cast<size_t>(it->second)].push_back(static_cast<int>(i));
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (pending[i] == 0) ready.push(static_cast<int>(i));
    }
    std::vector<Node> sorted;
    sorted.reserve(nodes.size());
    while (!ready.empty()) {
        int i = ready.top();
        ready.pop();
        sorted.push_back(nodes[static_cast<size_t>(i)]);
        for (int u : users[static_cast<size_t>(i)]) {
            if (--pending[static_cast<size_t>(u)] == 0) ready.push(u);
        }
    }
    if (sorted.size() != nodes.size()) {
        return makeError(ErrorCode::Corrupt, "the graph has a cycle", name);
    }
    nodes = std::move(sorted);
    return {};
}

void Graph::removeDeadCode() {
    // Walk backwards from the outputs marking what is needed.
    std::vector<bool> needed(values.size(), false);
    for (ValueId out : outputs) needed[static_cast<size_t>(out)] = true;
    std::vector<bool> keepNode(nodes.size(), false);
    for (size_t k = nodes.size(); k-- > 0;) {
        const Node& n = nodes[k];
        bool used = std::any_of(n.outputs.begin(), n.outputs.end(),
                                [&](ValueId v) { return needed[static_cast<size_t>(v)]; });
        if (!used) continue;
        keepNode[k] = true;
        for (ValueId in : n.inputs) {
            if (in != kNoValue) needed[static_cast<size_t>(in)] = true;
        }
        for (ValueId out : n.outputs) needed[static_cast<size_t>(out)] = true;
    }
    for (ValueId in : inputs) needed[static_cast<size_t>(in)] = true;

    std::vector<Node> keptNodes;
    for (size_t k = 0; k < nodes.size(); ++k) {
        if (keepNode[k]) keptNodes.push_back(std::move(nodes[k]));
    }
    nodes = std::move(keptNodes);

    // Compact values, remapping every reference.
    std::vector<ValueId> remap(values.size(), kNoValue);
    std::vector<Value> keptValues;
    for (size_t i = 0; i < values.size(); ++i) {
        if (!needed[i]) continue;
        remap[i] = static_cast<ValueId>(keptValues.size());
        keptValues.push_back(std::move(values[i]));
    }
    values = std::move(keptValues);
    auto fix = [&](ValueId& id) {
        if (id != kNoValue) id = remap[static_cast<size_t>(id)];
    };
    for (Node& n : nodes) {
        for (ValueId& id : n.inputs) fix(id);
        for (ValueId& id : n.outputs) fix(id);
    }
    for (ValueId& id : inputs) fix(id);
    for (ValueId& id : outputs) fix(id);
}

}  // namespace prunelab::engine

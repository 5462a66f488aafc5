// The IR verifier: ids, single producers, topological order, static shapes, constants of their
// declared shape, and every op's own shape inference re-run to confirm the recorded shapes.
// It lives with the ops because the last check needs their semantics; ir/ knows none.
#include <string>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine {

Status verifyGraph(const Graph& graph) {
    auto fail = [&](const std::string& what) {
        return makeError(ErrorCode::Internal, "IR verification failed: " + what, graph.sourcePath);
    };
    const auto count = static_cast<ValueId>(graph.values.size());
    auto valid = [&](ValueId id) { return id >= 0 && id < count; };

    std::vector<int> producedBy(graph.values.size(), -1);
    std::vector<bool> available(graph.values.size(), false);
    for (size_t i = 0; i < graph.values.size(); ++i) {
        const Value& v = graph.values[i];
        if (v.isConstant()) {
            available[i] = true;
            if (v.constant.shape() != v.shape || v.constant.dtype() != v.dtype) {
                return fail("constant '" + v.name + "' holds " + shapeToString(v.constant.shape()) +
                            " but is declared " + shapeToString(v.shape));
            }
        }
        for (int64_t d : v.shape) {
            if (d < 0) return fail("value '" + v.name + "' has an unbound dimension");
        }
    }
    for (ValueId in : graph.inputs) {
        if (!valid(in)) return fail("graph input id out of range");
        available[static_cast<size_t>(in)] = true;
    }
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        const Node& n = graph.nodes[k];
        for (ValueId in : n.inputs) {
            if (in == kNoValue) continue;
            if (!valid(in)) return fail(graph.describeNode(k) + " reads a value id out of range");
            if (!available[static_cast<size_t>(in)]) {
                return fail(graph.describeNode(k) + " reads '" +
                            graph.values[static_cast<size_t>(in)].name +
                            "' before it is computed (not in topological order)");
            }
        }
        std::vector<TensorInfo> inferred;
        Status st = inferNode(graph, n, inferred);
        if (!st.ok()) return st.error().within(graph.describeNode(k));
        for (size_t o = 0; o < n.outputs.size(); ++o) {
            ValueId out = n.outputs[o];
            if (!valid(out)) return fail(graph.describeNode(k) + " writes a value id out of range");
            auto u = static_cast<size_t>(out);
            if (producedBy[u] != -1 || graph.values[u].isConstant()) {
                return fail("value '" + graph.values[u].name + "' has more than one producer");
            }
            producedBy[u] = static_cast<int>(k);
            available[u] = true;
            if (inferred[o].shape != graph.values[u].shape ||
                inferred[o].dtype != graph.values[u].dtype) {
                return fail(graph.describeNode(k) + " output '" + graph.values[u].name +
                            "' is recorded as " + shapeToString(graph.values[u].shape) + " " +
                            std::string(dataTypeName(graph.values[u].dtype)) + " but infers as " +
                            shapeToString(inferred[o].shape) + " " +
                            std::string(dataTypeName(inferred[o].dtype)));
            }
        }
    }
    for (ValueId out : graph.outputs) {
        if (!valid(out) || !available[static_cast<size_t>(out)]) {
            return fail("a graph output is never computed");
        }
    }
    return {};
}

}  // namespace prunelab::engine

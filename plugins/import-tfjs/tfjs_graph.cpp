// tfjs "graph-model": a TF GraphDef as JSON (op, name, inputs "name:N" and "^control", attrs)
// mapped op by op onto the IR through the NHWC-aware Builder. Sections: 1. attributes,
// 2. the walk (topological, constants kept on the host until an op reads them), 3. the ops.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/op.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace prunelab::tfjs::internal {

namespace {

// ---- 1. Attributes -----------------------------------------------------------------------

std::string base64Decode(const std::string& in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string out;
    int buffer = 0, bits = 0;
    for (char c : in) {
        const int v = val(c);
        if (v < 0) continue;  // '=' padding and whitespace
        buffer = (buffer << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
        }
        buffer &= 0xFFF;
    }
    return out;
}

// JSON protobuf writes int64 as strings; accept numbers too.
bool jsonInt(const Json& j, int64_t& out) {
    if (j.is_number_integer()) {
        out = j.get<int64_t>();
        return true;
    }
    if (!j.is_string()) return false;
    const std::string s = j.get<std::string>();
    if (s.empty() || s.size() > 19) return false;
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == s.size()) return false;
    for (size_t k = i; k < s.size(); ++k) {
        if (s[k] < '0' || s[k] > '9') return false;
    }
    out = std::stoll(s);
    return true;
}

class NodeAttrs {
  public:
    explicit NodeAttrs(const Json& node) {
        if (auto it = node.find("attr"); it != node.end() && it->is_object()) m_attr = &*it;
    }
    const Json* find(const std::string& key, const char* kind) const {
        if (m_attr == nullptr) return nullptr;
        auto it = m_attr->find(key);
        if (it == m_attr->end() || !it->is_object()) return nullptr;
        auto k = it->find(kind);
        return k == it->end() ? nullptr : &*k;
    }
    Result<int64_t> getInt(const std::string& key, int64_t fallback) const {
        const Json* j = find(key, "i");
        if (j == nullptr) return fallback;
        int64_t v = 0;
        if (!jsonInt(*j, v)) return bad(key, "an integer");
        return v;
    }
    Result<float> getFloat(const std::string& key, float fallback) const {
        const Json* j = find(key, "f");
        if (j == nullptr) return fallback;
        if (!j->is_number()) return bad(key, "a number");
        return j->get<float>();
    }
    bool getBool(const std::string& key, bool fallback) const {
        const Json* j = find(key, "b");
        return j != nullptr && j->is_boolean() ? j->get<bool>() : fallback;
    }
    std::string getString(const std::string& key, const std::string& fallback) const {
        const Json* j = find(key, "s");
        return j != nullptr && j->is_string() ? base64Decode(j->get<std::string>()) : fallback;
    }
    Result<std::vector<int64_t>> getInts(const std::string& key) const {
        std::vector<int64_t> out;
        const Json* list = find(key, "list");
        if (list == nullptr || !list->is_object() || !list->contains("i")) return out;
        const Json& items = (*list)["i"];
        if (!items.is_array() || items.size() > 64) return bad(key, "a list of integers");
        for (const Json& j : items) {
            int64_t v = 0;
            if (!jsonInt(j, v)) return bad(key, "a list of integers");
            out.push_back(v);
        }
        return out;
    }
    std::vector<std::string> getStrings(const std::string& key) const {
        std::vector<std::string> out;
        const Json* list = find(key, "list");
        if (list == nullptr || !list->is_object() || !list->contains("s")) return out;
        const Json& items = (*list)["s"];
        if (!items.is_array()) return out;
        for (const Json& j : items) {
            if (j.is_string()) out.push_back(base64Decode(j.get<std::string>()));
        }
        return out;
    }

  private:
    static engine::Error bad(const std::string& key, const char* what) {
        return makeError(ErrorCode::Corrupt, "attribute '" + key + "' is not " + what);
    }
    const Json* m_attr = nullptr;
};

// ---- 2. The walk -----------------------------------------------------------------------------

struct Entry {
    TValue v;     // v.id kNoValue: a constant not yet in the graph
    Tensor host;  // non-empty for constants
};

struct GNode {
    std::string name, op;
    std::vector<std::string> inputs;  // data inputs, "name" or "name:N"
    const Json* json = nullptr;
};

class GraphImporter {
  public:
    GraphImporter(engine::Graph& graph, const std::map<std::string, Tensor>& weights,
                  int64_t height, int64_t width)
        : m_b(graph), m_weights(weights), m_height(height), m_width(width) {}

    Status run(const Json& model);

  private:
    Status importNode(const GNode& n);
    Status conv(const GNode& n, const NodeAttrs& a, bool depthwise, bool fused);
    Status fusedMatMul(const GNode& n, const NodeAttrs& a, bool fused);
    Status stridedSlice(const GNode& n, const NodeAttrs& a);
    Result<Conv2dSpec> convSpec(const NodeAttrs& a, const std::string& op);
    Status checkNhwc(const NodeAttrs& a);

    Result<TValue> value(const std::string& ref);
    Result<Tensor> constInput(const GNode& n, size_t i);
    Result<TValue> input(const GNode& n, size_t i) {
        if (i >= n.inputs.size()) {
            return makeError(ErrorCode::Corrupt, "has " + std::to_string(n.inputs.size()) +
                                                     " inputs, needs at least " +
                                                     std::to_string(i + 1));
        }
        return value(n.inputs[i]);
    }
    void set(const GNode& n, TValue v) { m_entries[n.name] = Entry{v, {}}; }
    Status expectInputs(const GNode& n, size_t count) const {
        if (n.inputs.size() == count) return {};
        return makeError(ErrorCode::Corrupt, "has " + std::to_string(n.inputs.size()) +
                                                 " inputs, expects " + std::to_string(count));
    }

    Builder m_b;
    const std::map<std::string, Tensor>& m_weights;
    int64_t m_height, m_width;
    std::map<std::string, Entry> m_entries;
};

std::pair<std::string, int64_t> splitRef(const std::string& ref) {
    const size_t colon = ref.rfind(':');
    if (colon == std::string::npos || colon + 1 == ref.size()) return {ref, 0};
    int64_t index = 0;
    if (!jsonInt(Json(ref.substr(colon + 1)), index)) return {ref, 0};
    return {ref.substr(0, colon), index};
}

Result<TValue> GraphImporter::value(const std::string& ref) {
    const auto [name, index] = splitRef(ref);
    auto it = m_entries.find(name);
    if (it == m_entries.end()) {
        return makeError(ErrorCode::NotFound, "reads '" + ref + "', which no node produces");
    }
    if (index != 0) {
        return makeError(ErrorCode::Unsupported, "reads output " + std::to_string(index) + " of '" +
                                                     name + "', which has one output here");
    }
    Entry& e = it->second;
    if (e.v.id == engine::kNoValue) {
        if (e.host.dtype() != DataType::Float32) {
            return makeError(ErrorCode::Unsupported,
                             "reads constant '" + name + "' of type " +
                                 std::string(engine::dataTypeName(e.host.dtype())) +
                                 " as data (only float32 tensors flow through the graph)");
        }
        e.v = TValue{m_b.constant(name, e.host), false};
    }
    return e.v;
}

Result<Tensor> GraphImporter::constInput(const GNode& n, size_t i) {
    if (i >= n.inputs.size()) {
        return makeError(ErrorCode::Corrupt, "has no input " + std::to_string(i));
    }
    const auto [name, index] = splitRef(n.inputs[i]);
    auto it = m_entries.find(name);
    if (it == m_entries.end()) {
        return makeError(ErrorCode::NotFound,
                         "reads '" + n.inputs[i] + "', which no node produces");
    }
    if (it->second.host.empty() || index != 0) {
        return makeError(
            ErrorCode::Unsupported,
            "input " + std::to_string(i) + " ('" + n.inputs[i] +
                "') must be a constant (weights, shapes and axes are fixed at import)");
    }
    return it->second.host;
}

Status GraphImporter::run(const Json& model) {
    const Json& topology = model["modelTopology"];
    if (!topology.is_object() || !topology.contains("node") || !topology["node"].is_array()) {
        return makeError(ErrorCode::Corrupt, "modelTopology.node must be an array of nodes");
    }
    std::vector<GNode> nodes;
    std::map<std::string, size_t> byName;
    for (const Json& j : topology["node"]) {
        GNode n;
        if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("op") ||
            !j["op"].is_string()) {
            return makeError(ErrorCode::Corrupt, "a node has no string 'name' and 'op'");
        }
        n.name = j["name"].get<std::string>();
        n.op = j["op"].get<std::string>();
        n.json = &j;
        if (auto in = j.find("input"); in != j.end()) {
            if (!in->is_array()) {
                return makeError(ErrorCode::Corrupt, "'input' is not an array",
                                 "node '" + n.name + "' (" + n.op + ")");
            }
            for (const Json& r : *in) {
                if (!r.is_string()) {
                    return makeError(ErrorCode::Corrupt, "an input is not a string",
                                     "node '" + n.name + "' (" + n.op + ")");
                }
                const std::string s = r.get<std::string>();
                if (!s.empty() && s[0] != '^') n.inputs.push_back(s);  // ^: control edge only
            }
        }
        if (!byName.emplace(n.name, nodes.size()).second) {
            return makeError(ErrorCode::Corrupt, "two nodes are named '" + n.name + "'");
        }
        nodes.push_back(std::move(n));
    }
    // GraphDefs need not be sorted: visit producers first (iteratively: a deep chain must not
    // overflow the stack), refusing cycles.
    std::vector<int> state(nodes.size(), 0);  // 0 new, 1 on the stack, 2 done
    std::vector<size_t> order;
    for (size_t root = 0; root < nodes.size(); ++root) {
        if (state[root] != 0) continue;
        std::vector<std::pair<size_t, size_t>> stack = {{root, 0}};
        state[root] = 1;
        while (!stack.empty()) {
            auto& [i, next] = stack.back();
            if (next < nodes[i].inputs.size()) {
                const auto it = byName.find(splitRef(nodes[i].inputs[next++]).first);
                if (it == byName.end()) continue;  // reported when the node is imported
                if (state[it->second] == 1) {
                    return makeError(ErrorCode::Corrupt, "the graph has a cycle through '" +
                                                             nodes[it->second].name + "'");
                }
                if (state[it->second] == 0) {
                    state[it->second] = 1;
                    stack.emplace_back(it->second, 0);
                }
                continue;
            }
            state[i] = 2;
            order.push_back(i);
            stack.pop_back();
        }
    }
    std::map<std::string, int> readers;
    for (const GNode& n : nodes) {
        for (const std::string& r : n.inputs) ++readers[splitRef(r).first];
    }
    for (size_t i : order) {
        Status st = importNode(nodes[i]);
        if (!st.ok())
            return st.error().within("node '" + nodes[i].name + "' (" + nodes[i].op + ")");
    }
    engine::Graph& g = m_b.graph();
    if (g.inputs.empty())
        return makeError(ErrorCode::Corrupt, "the graph has no Placeholder input");

    // Outputs: the signature's, else every non-constant node nobody reads, in file order.
    std::vector<std::string> outs;
    const Json* sig = nullptr;
    if (auto s = model.find("signature"); s != model.end() && s->is_object()) sig = &*s;
    // Converters that put it under userDefinedMetadata instead: tfjs reads it there too.
    if (auto u = model.find("userDefinedMetadata"); sig == nullptr && u != model.end() &&
                                                    u->is_object() && u->contains("signature") &&
                                                    (*u)["signature"].is_object()) {
        sig = &(*u)["signature"];
    }
    if (sig != nullptr && sig->contains("outputs") && (*sig)["outputs"].is_object() &&
        !(*sig)["outputs"].empty()) {
        for (auto it = (*sig)["outputs"].begin(); it != (*sig)["outputs"].end(); ++it) {
            std::string name = it.key();
            if (it.value().is_object() && it.value().contains("name") &&
                it.value()["name"].is_string()) {
                name = it.value()["name"].get<std::string>();
            }
            outs.push_back(splitRef(name).first);
        }
    } else {
        for (const GNode& n : nodes) {
            if (readers[n.name] == 0 && n.op != "Const" && n.op != "Placeholder")
                outs.push_back(n.name);
        }
    }
    if (outs.empty()) return makeError(ErrorCode::Corrupt, "the graph has no output");
    for (const std::string& name : outs) {
        auto v = value(name);
        if (!v.ok()) return v.error().within("output '" + name + "'");
        PL_TRY(m_b.output(*v, name));
    }
    return {};
}

// ---- 3. The ops ----------------------------------------------------------------------------

Status GraphImporter::checkNhwc(const NodeAttrs& a) {
    const std::string format = a.getString("data_format", "NHWC");
    if (format != "NHWC") {
        return makeError(ErrorCode::Unsupported,
                         "data_format '" + format + "' (tfjs models are NHWC; NCHW is refused)");
    }
    return {};
}

Result<Conv2dSpec> GraphImporter::convSpec(const NodeAttrs& a, const std::string& op) {
    PL_TRY(checkNhwc(a));
    Conv2dSpec s;
    PL_TRY_ASSIGN(std::vector<int64_t> strides, a.getInts("strides"));
    PL_TRY_ASSIGN(std::vector<int64_t> dil, a.getInts("dilations"));
    if (strides.empty()) strides = {1, 1, 1, 1};
    if (dil.empty()) dil = {1, 1, 1, 1};
    if (strides.size() != 4 || dil.size() != 4 || strides[0] != 1 || strides[3] != 1 ||
        dil[0] != 1 || dil[3] != 1) {
        return makeError(ErrorCode::Unsupported, op + " strides " + shapeToString(strides) +
                                                     " / dilations " + shapeToString(dil) +
                                                     " must be [1, h, w, 1]");
    }
    s.strideH = strides[1];
    s.strideW = strides[2];
    s.dilationH = dil[1];
    s.dilationW = dil[2];
    s.padding.mode = a.getString("padding", "VALID");
    if (s.padding.mode == "EXPLICIT") {
        PL_TRY_ASSIGN(std::vector<int64_t> e, a.getInts("explicit_paddings"));
        if (e.size() != 8) {
            return makeError(ErrorCode::Corrupt, "explicit_paddings must hold 8 numbers");
        }
        s.padding.explicitPads = {e[2], e[3], e[4], e[5]};
    }
    return s;
}

Status GraphImporter::conv(const GNode& n, const NodeAttrs& a, bool depthwise, bool fused) {
    PL_TRY_ASSIGN(TValue x, input(n, 0));
    PL_TRY_ASSIGN(Tensor kernel, constInput(n, 1));
    PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(a, n.op));
    Tensor bias;
    Activation act;
    if (fused) {
        // fused_ops: BiasAdd then at most one activation; the args are bias [, prelu slope].
        const std::vector<std::string> ops = a.getStrings("fused_ops");
        PL_TRY_ASSIGN(int64_t numArgs,
                      a.getInt("num_args", static_cast<int64_t>(n.inputs.size()) - 2));
        if (numArgs < 0 || static_cast<size_t>(numArgs) + 2 != n.inputs.size()) {
            return makeError(ErrorCode::Corrupt, "num_args " + std::to_string(numArgs) +
                                                     " does not match " +
                                                     std::to_string(n.inputs.size()) + " inputs");
        }
        size_t arg = 2;
        for (size_t k = 0; k < ops.size(); ++k) {
            const std::string& op = ops[k];
            if (op == "BiasAdd" && k == 0) {
                PL_TRY_ASSIGN(bias, constInput(n, arg++));
            } else if (k + 1 == ops.size() &&
                       (op == "Relu" || op == "Relu6" || op == "Sigmoid" || op == "Tanh" ||
                        op == "LeakyRelu" || op == "Prelu")) {
                act.kind = op == "LeakyRelu" ? "leakyrelu" : op == "Prelu" ? "prelu" : op;
                std::transform(act.kind.begin(), act.kind.end(), act.kind.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                PL_TRY_ASSIGN(act.alpha, a.getFloat("leakyrelu_alpha", 0.2f));
                if (op == "Prelu") {
                    PL_TRY_ASSIGN(act.slope, constInput(n, arg++));
                }
            } else {
                return makeError(ErrorCode::Unsupported,
                                 "fused op '" + op +
                                     "' (BiasAdd then Relu, Relu6, Sigmoid, Tanh, LeakyRelu or "
                                     "Prelu are supported)");
            }
        }
    } else {
        PL_TRY(expectInputs(n, 2));
    }
    PL_TRY_ASSIGN(TValue y, depthwise ? m_b.depthwise(n.name, x, kernel, bias, spec)
                                      : m_b.conv2d(n.name, x, kernel, bias, spec));
    if (!act.kind.empty()) {
        PL_TRY_ASSIGN(y, m_b.activation(n.name + "_act", y, act));
    }
    set(n, y);
    return {};
}

Status GraphImporter::fusedMatMul(const GNode& n, const NodeAttrs& a, bool fused) {
    if (a.getBool("transpose_a", false)) {
        return makeError(ErrorCode::Unsupported, "transpose_a is not supported");
    }
    PL_TRY_ASSIGN(TValue x, input(n, 0));
    Tensor bias;
    Activation act;
    if (fused) {
        const std::vector<std::string> ops = a.getStrings("fused_ops");
        size_t arg = 2;
        for (size_t k = 0; k < ops.size(); ++k) {
            if (ops[k] == "BiasAdd" && k == 0) {
                PL_TRY_ASSIGN(bias, constInput(n, arg++));
            } else if (k + 1 == ops.size() && (ops[k] == "Relu" || ops[k] == "Relu6" ||
                                               ops[k] == "Sigmoid" || ops[k] == "Tanh")) {
                act.kind = ops[k] == "Relu"      ? "relu"
                           : ops[k] == "Relu6"   ? "relu6"
                           : ops[k] == "Sigmoid" ? "sigmoid"
                                                 : "tanh";
            } else {
                return makeError(ErrorCode::Unsupported, "fused op '" + ops[k] + "'");
            }
        }
        if (arg != n.inputs.size()) {
            return makeError(ErrorCode::Corrupt, "fused_ops do not match the node's inputs");
        }
    } else {
        PL_TRY(expectInputs(n, 2));
    }
    auto kernel = constInput(n, 1);
    TValue y;
    if (kernel.ok()) {
        PL_TRY_ASSIGN(y, m_b.dense(n.name, x, *kernel, bias, a.getBool("transpose_b", false)));
    } else {
        if (a.getBool("transpose_b", false) || !bias.empty()) return kernel.error();
        PL_TRY_ASSIGN(TValue b, input(n, 1));
        PL_TRY_ASSIGN(ValueId pa, m_b.plain(x, n.name));
        PL_TRY_ASSIGN(ValueId pb, m_b.plain(b, n.name));
        PL_TRY_ASSIGN(ValueId id, m_b.emit(OpKind::MatMul, n.name, {pa, pb}));
        y = TValue{id, false};
    }
    PL_TRY_ASSIGN(y, m_b.activation(n.name + "_act", y, act));
    set(n, y);
    return {};
}

// StridedSlice with begin/end/strides constants and TF's masks; ellipsis and new-axis masks are
// refused. Runs in tfjs's layout: a Slice, then a Reshape for shrunk axes.
Status GraphImporter::stridedSlice(const GNode& n, const NodeAttrs& a) {
    PL_TRY(expectInputs(n, 4));
    PL_TRY_ASSIGN(TValue x, input(n, 0));
    PL_TRY_ASSIGN(Tensor tb, constInput(n, 1));
    PL_TRY_ASSIGN(Tensor te, constInput(n, 2));
    PL_TRY_ASSIGN(Tensor ts, constInput(n, 3));
    const std::vector<int64_t> begin = tb.toInt64Vector(), end = te.toInt64Vector(),
                               strides = ts.toInt64Vector();
    PL_TRY_ASSIGN(int64_t beginMask, a.getInt("begin_mask", 0));
    PL_TRY_ASSIGN(int64_t endMask, a.getInt("end_mask", 0));
    PL_TRY_ASSIGN(int64_t ellipsis, a.getInt("ellipsis_mask", 0));
    PL_TRY_ASSIGN(int64_t newAxis, a.getInt("new_axis_mask", 0));
    PL_TRY_ASSIGN(int64_t shrink, a.getInt("shrink_axis_mask", 0));
    if (ellipsis != 0 || newAxis != 0) {
        return makeError(ErrorCode::Unsupported,
                         "ellipsis_mask and new_axis_mask are not supported");
    }
    PL_TRY_ASSIGN(ValueId in, m_b.plain(x, n.name));
    const Shape xs = m_b.shape(in);
    if (begin.size() != end.size() || begin.size() != strides.size() || begin.size() > xs.size()) {
        return makeError(ErrorCode::ShapeMismatch,
                         "begin, end and strides must have one entry per "
                         "sliced axis of " +
                             shapeToString(xs));
    }
    std::vector<int64_t> starts, ends, axes, steps;
    Shape outShape;
    for (size_t d = 0; d < xs.size(); ++d) {
        const int64_t dim = xs[d];
        if (d >= begin.size()) {
            outShape.push_back(dim);
            continue;
        }
        const int64_t step = strides[d];
        if (step == 0) return makeError(ErrorCode::Corrupt, "a stride of 0");
        const bool bm = (beginMask >> d) & 1, em = (endMask >> d) & 1, sm = (shrink >> d) & 1;
        auto clampIndex = [&](int64_t v, bool forward) {
            if (v < 0) v += dim;
            return forward ? std::clamp<int64_t>(v, 0, dim) : std::clamp<int64_t>(v, -1, dim - 1);
        };
        const bool fwd = step > 0;
        int64_t s = bm ? (fwd ? 0 : dim - 1) : clampIndex(begin[d], fwd);
        int64_t e = em ? (fwd ? dim : -1) : clampIndex(end[d], fwd);
        int64_t st = step;
        if (sm) {  // one element at begin
            int64_t b = begin[d] < 0 ? begin[d] + dim : begin[d];
            if (b < 0 || b >= dim) {
                return makeError(ErrorCode::ShapeMismatch,
                                 "shrunk index " + std::to_string(begin[d]) + " is outside axis " +
                                     std::to_string(d));
            }
            s = b;
            e = b + 1;
            st = 1;
        }
        starts.push_back(s);
        ends.push_back(e);
        axes.push_back(static_cast<int64_t>(d));
        steps.push_back(st);
        const int64_t count = st > 0 ? std::max<int64_t>((e - s + st - 1) / st, 0)
                                     : std::max<int64_t>((s - e + (-st) - 1) / (-st), 0);
        if (!sm) outShape.push_back(count);
    }
    Attributes attrs;
    attrs.set("starts", starts);
    attrs.set("ends", ends);
    attrs.set("axes", axes);
    attrs.set("steps", steps);
    PL_TRY_ASSIGN(ValueId y, m_b.emit(OpKind::Slice, n.name, {in}, attrs));
    if (shrink != 0) {
        PL_TRY_ASSIGN(TValue r, m_b.reshape(n.name + "_shrink", TValue{y, false}, outShape));
        set(n, r);
    } else {
        set(n, TValue{y, false});
    }
    return {};
}

OpKind binaryKind(const std::string& op) {
    if (op == "Sub") return OpKind::Sub;
    if (op == "Mul") return OpKind::Mul;
    if (op == "RealDiv" || op == "Div") return OpKind::Div;
    if (op == "Maximum") return OpKind::Max;
    if (op == "Minimum") return OpKind::Min;
    return OpKind::Add;
}

Status GraphImporter::importNode(const GNode& n) {
    const NodeAttrs a(*n.json);
    const std::string& op = n.op;
    if (op == "Const") {
        auto w = m_weights.find(n.name);
        if (w == m_weights.end()) {
            return makeError(ErrorCode::NotFound, "has no weight of that name in the manifest");
        }
        m_entries[n.name] = Entry{TValue{}, w->second};
        return {};
    }
    if (op == "Placeholder") {
        const Json* shape = a.find("shape", "shape");
        std::vector<int64_t> dims;
        if (shape == nullptr || !shape->is_object() || !shape->contains("dim") ||
            !(*shape)["dim"].is_array() || (*shape)["dim"].size() > 8) {
            return makeError(ErrorCode::Unsupported, "input has no shape (rank <= 8)");
        }
        for (const Json& d : (*shape)["dim"]) {
            int64_t v = -1;
            if (d.is_object() && d.contains("size") && !jsonInt(d["size"], v)) {
                return makeError(ErrorCode::Corrupt, "input dim is not an integer");
            }
            dims.push_back(v < 0 ? -1 : v);
        }
        PL_TRY_ASSIGN(Shape s, bindInputShape(dims, m_height, m_width));
        engine::Graph& g = m_b.graph();
        if (g.findValue(n.name) != engine::kNoValue) {
            return makeError(ErrorCode::Corrupt, "input name is used twice");
        }
        const ValueId id = g.addValue(n.name, DataType::Float32, s);
        g.inputs.push_back(id);
        set(n, TValue{id, false});
        return {};
    }
    if (op == "Identity" || op == "StopGradient" || op == "Snapshot") {
        PL_TRY(expectInputs(n, 1));
        const auto [src, index] = splitRef(n.inputs[0]);
        auto it = m_entries.find(src);
        if (it != m_entries.end() && !it->second.host.empty() && index == 0) {
            m_entries[n.name] = Entry{TValue{}, it->second.host};  // stays a host constant
            return {};
        }
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        set(n, x);
        return {};
    }
    if (op == "Conv2D" || op == "_FusedConv2D") return conv(n, a, false, op == "_FusedConv2D");
    if (op == "DepthwiseConv2dNative" || op == "FusedDepthwiseConv2dNative") {
        return conv(n, a, true, op == "FusedDepthwiseConv2dNative");
    }
    if (op == "MatMul" || op == "_FusedMatMul") return fusedMatMul(n, a, op == "_FusedMatMul");
    if (op == "Conv2DBackpropInput") {
        PL_TRY(expectInputs(n, 3));
        PL_TRY_ASSIGN(Tensor sizes, constInput(n, 0));
        PL_TRY_ASSIGN(Tensor kernel, constInput(n, 1));
        PL_TRY_ASSIGN(TValue x, input(n, 2));
        PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(a, op));
        const std::vector<int64_t> s = sizes.toInt64Vector();
        if (s.size() != 4) return makeError(ErrorCode::Corrupt, "input_sizes must hold 4 numbers");
        PL_TRY_ASSIGN(TValue y, m_b.convTranspose(n.name, x, kernel, {}, spec, s[1], s[2]));
        set(n, y);
        return {};
    }
    if (op == "BiasAdd") {
        PL_TRY(checkNhwc(a));
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor bias, constInput(n, 1));
        PL_TRY_ASSIGN(TValue y, m_b.addBias(n.name, x, bias));
        set(n, y);
        return {};
    }
    if (op == "Relu" || op == "Relu6" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu" ||
        op == "Prelu") {
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        Activation act;
        act.kind = op == "Relu"        ? "relu"
                   : op == "Relu6"     ? "relu6"
                   : op == "Sigmoid"   ? "sigmoid"
                   : op == "Tanh"      ? "tanh"
                   : op == "LeakyRelu" ? "leakyrelu"
                                       : "prelu";
        PL_TRY_ASSIGN(act.alpha, a.getFloat("alpha", 0.2f));
        if (op == "Prelu") {
            PL_TRY(expectInputs(n, 2));
            PL_TRY_ASSIGN(act.slope, constInput(n, 1));
        } else {
            PL_TRY(expectInputs(n, 1));
        }
        PL_TRY_ASSIGN(TValue y, m_b.activation(n.name, x, act));
        set(n, y);
        return {};
    }
    if (op == "Softmax") {
        PL_TRY(expectInputs(n, 1));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(TValue y, m_b.softmax(n.name, x, -1));
        set(n, y);
        return {};
    }
    if (op == "Add" || op == "AddV2" || op == "Mul" || op == "Sub" || op == "RealDiv" ||
        op == "Div" || op == "Maximum" || op == "Minimum") {
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(TValue y, input(n, 1));
        PL_TRY_ASSIGN(TValue z, m_b.binary(n.name, binaryKind(op), x, y));
        set(n, z);
        return {};
    }
    if (op == "AddN") {
        if (n.inputs.empty()) return makeError(ErrorCode::Corrupt, "AddN has no inputs");
        PL_TRY_ASSIGN(TValue sum, input(n, 0));
        for (size_t i = 1; i < n.inputs.size(); ++i) {
            PL_TRY_ASSIGN(TValue next, input(n, i));
            const std::string name =
                i + 1 == n.inputs.size() ? n.name : n.name + "_" + std::to_string(i);
            PL_TRY_ASSIGN(sum, m_b.binary(name, OpKind::Add, sum, next));
        }
        set(n, sum);
        return {};
    }
    if (op == "Pad" || op == "PadV2" || op == "MirrorPad") {
        PL_TRY(expectInputs(n, op == "PadV2" ? 3 : 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor paddings, constInput(n, 1));
        float value = 0.0f;
        if (op == "PadV2") {
            PL_TRY_ASSIGN(Tensor v, constInput(n, 2));
            if (v.elements() != 1)
                return makeError(ErrorCode::Corrupt, "pad value is not a scalar");
            value = v.toFloatVector()[0];
        }
        std::string mode = "constant";
        if (op == "MirrorPad") {
            const std::string m = a.getString("mode", "REFLECT");
            if (m != "REFLECT") {
                return makeError(ErrorCode::Unsupported,
                                 "MirrorPad mode '" + m +
                                     "' (REFLECT is supported; SYMMETRIC, "
                                     "which repeats the edge pixel, is not)");
            }
            mode = "reflect";
        }
        PL_TRY_ASSIGN(TValue y, m_b.pad(n.name, x, paddings.toInt64Vector(), mode, value));
        set(n, y);
        return {};
    }
    if (op == "ResizeBilinear" || op == "ResizeNearestNeighbor") {
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor size, constInput(n, 1));
        const std::vector<int64_t> hw = size.toInt64Vector();
        if (hw.size() != 2) return makeError(ErrorCode::Corrupt, "size must hold 2 numbers");
        PL_TRY_ASSIGN(TValue y, m_b.resize(n.name, x, op == "ResizeBilinear", hw[0], hw[1],
                                           a.getBool("align_corners", false),
                                           a.getBool("half_pixel_centers", false)));
        set(n, y);
        return {};
    }
    if (op == "DepthToSpace") {
        PL_TRY(checkNhwc(a));
        PL_TRY(expectInputs(n, 1));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(int64_t block, a.getInt("block_size", 0));
        if (block < 1 || block > 4096)
            return makeError(ErrorCode::Corrupt, "block_size must be 1..4096");
        PL_TRY_ASSIGN(ValueId in, m_b.nchw(x, n.name));
        Attributes attrs;
        attrs.set("blocksize", block);
        attrs.set("mode", std::string("DCR"));  // TF's channel order: (row, column, channel)
        PL_TRY_ASSIGN(ValueId y, m_b.emit(OpKind::DepthToSpace, n.name, {in}, attrs));
        set(n, TValue{y, true});
        return {};
    }
    if (op == "ConcatV2") {
        if (n.inputs.size() < 2)
            return makeError(ErrorCode::Corrupt, "ConcatV2 needs inputs and an axis");
        PL_TRY_ASSIGN(Tensor axis, constInput(n, n.inputs.size() - 1));
        if (axis.elements() != 1) return makeError(ErrorCode::Corrupt, "axis is not a scalar");
        std::vector<TValue> xs;
        for (size_t i = 0; i + 1 < n.inputs.size(); ++i) {
            PL_TRY_ASSIGN(TValue x, input(n, i));
            xs.push_back(x);
        }
        PL_TRY_ASSIGN(TValue y, m_b.concat(n.name, xs, axis.toInt64Vector()[0]));
        set(n, y);
        return {};
    }
    if (op == "Reshape") {
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor shape, constInput(n, 1));
        if (shape.rank() > 1 || shape.elements() > 8) {
            return makeError(ErrorCode::Corrupt, "shape must be a vector of at most 8 dims");
        }
        PL_TRY_ASSIGN(TValue y, m_b.reshape(n.name, x, shape.toInt64Vector()));
        set(n, y);
        return {};
    }
    if (op == "Transpose") {
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor perm, constInput(n, 1));
        PL_TRY_ASSIGN(ValueId in, m_b.plain(x, n.name));
        Attributes attrs;
        attrs.set("perm", perm.toInt64Vector());
        PL_TRY_ASSIGN(ValueId y, m_b.emit(OpKind::Transpose, n.name, {in}, attrs));
        set(n, TValue{y, false});
        return {};
    }
    if (op == "Mean") {
        PL_TRY(expectInputs(n, 2));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Tensor axes, constInput(n, 1));
        if (axes.elements() > 8) return makeError(ErrorCode::Corrupt, "too many axes");
        PL_TRY_ASSIGN(TValue y, m_b.reduceMean(n.name, x, axes.toInt64Vector(),
                                               a.getBool("keep_dims", false)));
        set(n, y);
        return {};
    }
    if (op == "MaxPool" || op == "AvgPool") {
        PL_TRY(expectInputs(n, 1));
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(a, op));
        PL_TRY_ASSIGN(std::vector<int64_t> k, a.getInts("ksize"));
        if (k.size() != 4 || k[0] != 1 || k[3] != 1) {
            return makeError(ErrorCode::Unsupported,
                             "ksize " + shapeToString(k) + " must be [1, h, w, 1]");
        }
        PL_TRY_ASSIGN(TValue y, m_b.pool(n.name, x, op == "MaxPool", k[1], k[2], spec));
        set(n, y);
        return {};
    }
    if (op == "StridedSlice") return stridedSlice(n, a);
    if (op == "ExpandDims" || op == "Squeeze") {
        PL_TRY_ASSIGN(TValue x, input(n, 0));
        PL_TRY_ASSIGN(ValueId in, m_b.plain(x, n.name));
        Shape s = m_b.shape(in);
        const auto rank = static_cast<int64_t>(s.size());
        if (op == "ExpandDims") {
            PL_TRY(expectInputs(n, 2));
            PL_TRY_ASSIGN(Tensor dim, constInput(n, 1));
            if (dim.elements() != 1) return makeError(ErrorCode::Corrupt, "dim is not a scalar");
            int64_t d = dim.toInt64Vector()[0];
            if (d < -rank - 1 || d > rank) return makeError(ErrorCode::Corrupt, "dim out of range");
            if (d < 0) d += rank + 1;
            s.insert(s.begin() + d, 1);
        } else {
            PL_TRY(expectInputs(n, 1));
            PL_TRY_ASSIGN(std::vector<int64_t> dims, a.getInts("squeeze_dims"));
            Shape kept;
            for (int64_t d = 0; d < rank; ++d) {
                const bool listed = std::find(dims.begin(), dims.end(), d) != dims.end() ||
                                    std::find(dims.begin(), dims.end(), d - rank) != dims.end();
                if ((dims.empty() && s[static_cast<size_t>(d)] == 1) || listed) {
                    if (s[static_cast<size_t>(d)] != 1) {
                        return makeError(
                            ErrorCode::ShapeMismatch,
                            "cannot squeeze axis " + std::to_string(d) + " of " + shapeToString(s));
                    }
                    continue;
                }
                kept.push_back(s[static_cast<size_t>(d)]);
            }
            s = kept;
        }
        PL_TRY_ASSIGN(TValue y, m_b.reshape(n.name, TValue{in, false}, s));
        set(n, y);
        return {};
    }
    return makeError(ErrorCode::Unsupported,
                     "op '" + op + "' is not supported by the tfjs importer");
}

}  // namespace

Status importGraphModel(const Json& model, const std::map<std::string, Tensor>& weights,
                        engine::Graph& graph, int64_t height, int64_t width) {
    GraphImporter importer(graph, weights, height, width);
    return importer.run(model);
}

}  // namespace prunelab::tfjs::internal

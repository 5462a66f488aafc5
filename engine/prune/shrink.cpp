// Masking and physically shrinking a graph along its dependency groups. Both start from one
// "cut list": for each (node, input slot), which indices of which tensor axis are removed, so
// a layer that is a consumer of one group and a producer of another is cut on both axes.
#include "engine/prune/shrink.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "engine/ir/layer_view.h"
#include "engine/ops/op.h"

namespace prunelab::engine::prune {

namespace {

// Per input slot of a node: axis -> keep flag per index along that axis.
using SlotCuts = std::map<int64_t, std::vector<uint8_t>>;
struct CutList {
    std::map<std::pair<int, size_t>, SlotCuts> slots;
    // Whether the masked model zeroes the slot: filters and consumers yes; per-channel
    // constants (BN, PRelu, Div...) no, since zeroing a divisor would create inf.
    std::map<std::pair<int, size_t>, bool> zeroInMask;
    std::vector<int> depthwise;  // nodes whose group attribute follows their channel count
};

// Axis of a layer's weight that holds output (filter) or input channels.
int64_t outAxis(const Layer& l) {
    return l.storage == Layer::Storage::OIHW || l.storage == Layer::Storage::OutIn ? 0 : 1;
}
int64_t inAxis(const Layer& l) {
    return 1 - outAxis(l);
}

// Axis of a broadcast constant that lines up with the output's channel axis (rank >= 2).
int64_t alignedAxis(const Shape& operand, size_t outRank) {
    return static_cast<int64_t>(operand.size()) - static_cast<int64_t>(outRank - 1);
}

Status validateKept(const std::vector<DependencyGroup>& groups, const KeptChannels& kept) {
    if (kept.size() != groups.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "kept channels given for " + std::to_string(kept.size()) +
                             " groups, the graph has " + std::to_string(groups.size()));
    }
    for (size_t g = 0; g < groups.size(); ++g) {
        const DependencyGroup& group = groups[g];
        const std::string where = "group '" + group.description + "'";
        const std::vector<int64_t>& k = kept[g];
        if (k.empty()) {
            return makeError(ErrorCode::InvalidArgument,
                             "every group must keep at least one channel", where);
        }
        for (size_t i = 0; i < k.size(); ++i) {
            if (k[i] < 0 || k[i] >= group.channels || (i > 0 && k[i] <= k[i - 1])) {
                return makeError(ErrorCode::InvalidArgument,
                                 "kept channels must be sorted, unique and in [0, " +
                                     std::to_string(group.channels) + ")",
                                 where);
            }
        }
        if (!group.prunable && static_cast<int64_t>(k.size()) != group.channels) {
            return makeError(ErrorCode::InvalidArgument,
                             "this group cannot be pruned: " + group.reason, where);
        }
    }
    return {};
}

Result<CutList> buildCuts(const Graph& graph, const std::vector<DependencyGroup>& groups,
                          const KeptChannels& kept) {
    PL_TRY(validateKept(groups, kept));
    std::map<int, Layer> layers;
    for (const Layer& l : prunableLayers(graph)) layers[l.node] = l;
    CutList cuts;
    auto cut = [&](int node, size_t slot, int64_t axis, int64_t offset,
                   const std::vector<uint8_t>& keep, bool zero) -> Status {
        const Node& n = graph.nodes[static_cast<size_t>(node)];
        if (slot >= n.inputs.size() || n.inputs[slot] == kNoValue) return {};
        const Value& v = graph.value(n.inputs[slot]);
        if (!v.isConstant() || axis < 0 || axis >= static_cast<int64_t>(v.shape.size()) ||
            offset + static_cast<int64_t>(keep.size()) > v.shape[static_cast<size_t>(axis)]) {
            return makeError(ErrorCode::Internal,
                             "the dependency groups do not match this graph (input " +
                                 std::to_string(slot) + ")",
                             graph.describeNode(n));
        }
        std::vector<uint8_t>& flags = cuts.slots[{node, slot}][axis];
        if (flags.empty()) flags.assign(static_cast<size_t>(v.shape[static_cast<size_t>(axis)]), 1);
        for (size_t c = 0; c < keep.size(); ++c)
            if (!keep[c]) flags[static_cast<size_t>(offset) + c] = 0;
        cuts.zeroInMask[{node, slot}] = zero;
        return {};
    };
    auto layerOf = [&](int node) -> Result<const Layer*> {
        auto it = layers.find(node);
        if (it == layers.end()) {
            return makeError(ErrorCode::Internal, "expected a prunable layer",
                             graph.describeNode(static_cast<size_t>(node)));
        }
        return &it->second;
    };

    for (size_t g = 0; g < groups.size(); ++g) {
        const DependencyGroup& group = groups[g];
        if (static_cast<int64_t>(kept[g].size()) == group.channels) continue;
        std::vector<uint8_t> keep(static_cast<size_t>(group.channels), 0);
        for (int64_t c : kept[g]) keep[static_cast<size_t>(c)] = 1;
        for (const GroupMember& p : group.producers) {
            PL_TRY_ASSIGN(const Layer* l, layerOf(p.node));
            PL_TRY(cut(p.node, 1, outAxis(*l), p.offset, keep, true));
            if (l->bias != kNoValue) {
                const Shape& b = graph.value(l->bias).shape;
                if (!b.empty() && b.back() == l->outChannels) {
                    PL_TRY(
                        cut(p.node, 2, static_cast<int64_t>(b.size()) - 1, p.offset, keep, true));
                }
            }
        }
        for (const GroupMember& c : group.consumers) {
            PL_TRY_ASSIGN(const Layer* l, layerOf(c.node));
            PL_TRY(cut(c.node, 1, inAxis(*l), c.offset, keep, true));
        }
        for (const GroupMember& m : group.passThrough) {
            const Node& n = graph.nodes[static_cast<size_t>(m.node)];
            const size_t outRank = graph.value(n.outputs[0]).shape.size();
            const int64_t channels = graph.value(n.outputs[0]).shape[1];
            switch (n.op) {
                case OpKind::Conv:  // depthwise: filters, bias and the group count
                    PL_TRY(cut(m.node, 1, 0, m.offset, keep, true));
                    PL_TRY(cut(m.node, 2, 0, m.offset, keep, true));
                    cuts.depthwise.push_back(m.node);
                    break;
                case OpKind::Concat: {  // the constant input this slice of channels lies in
                    int64_t start = 0;
                    for (size_t s = 0; s < n.inputs.size(); ++s) {
                        const Value& v = graph.value(n.inputs[s]);
                        const int64_t len = v.shape.size() >= 2 ? v.shape[1] : 0;
                        if (v.isConstant() && m.offset >= start && m.offset < start + len) {
                            PL_TRY(cut(m.node, s, 1, m.offset - start, keep, false));
                        }
                        start += len;
                    }
                    break;
                }
                case OpKind::BatchNormalization:
                    for (size_t s = 1; s < 5; ++s) PL_TRY(cut(m.node, s, 0, m.offset, keep, false));
                    break;
                default:  // PRelu and elementwise ops: every per-channel constant operand
                    for (size_t s = 0; s < n.inputs.size(); ++s) {
                        const Value& v = graph.value(n.inputs[s]);
                        if (!v.isConstant()) continue;
                        const int64_t axis = alignedAxis(v.shape, outRank);
                        if (axis < 0 || v.shape[static_cast<size_t>(axis)] != channels) continue;
                        PL_TRY(cut(m.node, s, axis, m.offset, keep, false));
                    }
                    break;
            }
        }
    }
    return cuts;
}

// Keeps the indices of `axis` whose flag is set (any dtype: rows of bytes are copied).
Tensor sliceAxis(const Tensor& t, int64_t axis, const std::vector<uint8_t>& keep) {
    Shape shape = t.shape();
    const size_t a = static_cast<size_t>(axis);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < a; ++d) outer *= shape[d];
    for (size_t d = a + 1; d < shape.size(); ++d) inner *= shape[d];
    const int64_t n = shape[a];
    const int64_t keptCount = std::count(keep.begin(), keep.end(), uint8_t{1});
    shape[a] = keptCount;
    Tensor out(t.dtype(), shape);
    const size_t rowBytes = static_cast<size_t>(inner) * dataTypeSize(t.dtype());
    const std::byte* src = t.raw();
    std::byte* dst = out.raw();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < n; ++i) {
            if (!keep[static_cast<size_t>(i)]) continue;
            std::memcpy(dst, src + static_cast<size_t>(o * n + i) * rowBytes, rowBytes);
            dst += rowBytes;
        }
    return out;
}

// Zeroes the indices of `axis` whose flag is clear (float32 weights only).
Tensor zeroAxis(const Tensor& t, int64_t axis, const std::vector<uint8_t>& keep) {
    Tensor out = t.clone();
    const Shape& shape = t.shape();
    const size_t a = static_cast<size_t>(axis);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < a; ++d) outer *= shape[d];
    for (size_t d = a + 1; d < shape.size(); ++d) inner *= shape[d];
    const int64_t n = shape[a];
    float* w = out.data<float>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < n; ++i)
            if (!keep[static_cast<size_t>(i)]) std::fill_n(w + (o * n + i) * inner, inner, 0.0f);
    return out;
}

// Gives node input `slot` its own new constant (the old one may be shared with other nodes).
void replaceConstant(Graph& g, int node, size_t slot, Tensor t) {
    Node& n = g.nodes[static_cast<size_t>(node)];
    const std::string base = g.value(n.inputs[slot]).name;
    const ValueId id = g.addConstant(g.uniqueName(base), std::move(t));
    g.nodes[static_cast<size_t>(node)].inputs[slot] = id;
}

}  // namespace

Result<KeptChannels> selectKeptChannels(const Graph& graph,
                                        const std::vector<DependencyGroup>& groups,
                                        const ParamValues& values) {
    ParamValues filters = values;
    filters.set("axis", std::string("filters"));
    const Scheme* scheme = findScheme("structured");
    if (!scheme) return makeError(ErrorCode::Internal, "the structured scheme is not listed");
    std::map<int, Layer> layers;
    for (const Layer& l : prunableLayers(graph)) layers[l.node] = l;

    KeptChannels kept(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        const DependencyGroup& group = groups[g];
        std::vector<int64_t>& k = kept[g];
        if (!group.prunable) {
            for (int64_t c = 0; c < group.channels; ++c) k.push_back(c);
            continue;
        }
        // Each producer's weight in the scheme's [out][in/g][kh][kw] order.
        std::vector<LayerWeights> unit;
        for (const GroupMember& p : group.producers) {
            auto it = layers.find(p.node);
            if (it == layers.end() ||
                graph.value(it->second.weight).constant.dtype() != DataType::Float32) {
                return makeError(ErrorCode::Unsupported,
                                 "structured pruning needs a layer with float32 weights",
                                 graph.describeNode(static_cast<size_t>(p.node)));
            }
            const Layer& l = it->second;
            const Tensor& w = graph.value(l.weight).constant;
            // Only the filters of this group: a split space starts at p.offset.
            Tensor view(DataType::Float32, {group.channels, l.inPerGroup, l.kh, l.kw});
            float* dst = view.data<float>();
            const float* src = w.data<float>();
            for (int64_t o = p.offset; o < p.offset + group.channels; ++o)
                for (int64_t i = 0; i < l.inPerGroup; ++i)
                    for (int64_t y = 0; y < l.kh; ++y)
                        for (int64_t x = 0; x < l.kw; ++x) *dst++ = src[l.weightIndex(o, i, y, x)];
            unit.push_back({l.name, view, l.groups});
        }
        auto projected = scheme->project(unit, filters);
        if (!projected.ok()) return projected.error().within("group '" + group.description + "'");
        const Tensor& mask = (*projected)[0].mask;
        const int64_t perFilter = mask.elements() / group.channels;
        for (int64_t c = 0; c < group.channels; ++c)
            if (mask.data<uint8_t>()[c * perFilter]) k.push_back(c);
        if (k.empty()) {
            return makeError(ErrorCode::InvalidArgument,
                             "the rate removes all " + std::to_string(group.channels) +
                                 " channels; a group must keep at least one",
                             "group '" + group.description + "'");
        }
    }
    return kept;
}

Result<Graph> maskStructured(const Graph& graph, const std::vector<DependencyGroup>& groups,
                             const KeptChannels& kept) {
    PL_TRY_ASSIGN(CutList cuts, buildCuts(graph, groups, kept));
    Graph out = graph;
    for (const auto& [slot, axes] : cuts.slots) {
        if (!cuts.zeroInMask[slot]) continue;
        const Node& n = out.nodes[static_cast<size_t>(slot.first)];
        Tensor t = out.value(n.inputs[slot.second]).constant;
        if (t.dtype() != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, "only float32 weights can be masked",
                             out.describeNode(n));
        }
        for (const auto& [axis, keep] : axes) t = zeroAxis(t, axis, keep);
        replaceConstant(out, slot.first, slot.second, std::move(t));
    }
    out.removeDeadCode();
    PL_TRY(verifyGraph(out));
    return out;
}

Result<Graph> shrinkStructured(const Graph& graph, const std::vector<DependencyGroup>& groups,
                               const KeptChannels& kept) {
    PL_TRY_ASSIGN(CutList cuts, buildCuts(graph, groups, kept));
    Graph out = graph;
    for (const auto& [slot, axes] : cuts.slots) {
        const Node& n = out.nodes[static_cast<size_t>(slot.first)];
        Tensor t = out.value(n.inputs[slot.second]).constant;
        for (const auto& [axis, keep] : axes) t = sliceAxis(t, axis, keep);
        replaceConstant(out, slot.first, slot.second, std::move(t));
    }
    for (int node : cuts.depthwise) {
        Node& n = out.nodes[static_cast<size_t>(node)];
        n.attrs.set("group", out.value(n.inputs[1]).shape[0]);
    }
    // Every activation downstream may have fewer channels now: re-infer in topological order.
    // Reshape and Resize spell the channel count in their attributes; the dependency analysis
    // only follows them when they keep it, so they take the new count.
    for (size_t i = 0; i < out.nodes.size(); ++i) {
        Node& n = out.nodes[i];
        const bool resizes = n.op == OpKind::Reshape || n.op == OpKind::Resize;
        for (const char* attr : {"shape", "sizes"}) {
            if (!resizes) break;
            const Shape& oldIn = graph.value(graph.nodes[i].inputs[0]).shape;
            const Shape& oldOut = graph.value(graph.nodes[i].outputs[0]).shape;
            const Shape& newIn = out.value(n.inputs[0]).shape;
            if (oldIn.size() < 2 || oldOut.size() < 2 || oldIn[1] != oldOut[1]) break;
            std::vector<int64_t> dims = n.attrs.getInts(attr);
            if (dims.size() < 2) continue;
            dims[1] = newIn[1];
            n.attrs.set(attr, dims);
        }
        std::vector<TensorInfo> info;
        Status st = inferNode(out, n, info);
        if (!st.ok()) return st.error().within(out.describeNode(n) + " after shrinking");
        for (size_t o = 0; o < n.outputs.size(); ++o) {
            Value& v = out.value(n.outputs[o]);
            v.dtype = info[o].dtype;
            v.shape = info[o].shape;
        }
    }
    out.removeDeadCode();
    PL_TRY(verifyGraph(out));
    return out;
}

Result<StructuredPruning> pruneStructured(const Graph& graph, const ParamValues& values) {
    StructuredPruning result;
    PL_TRY_ASSIGN(result.groups, findDependencyGroups(graph));
    PL_TRY_ASSIGN(result.kept, selectKeptChannels(graph, result.groups, values));
    PL_TRY_ASSIGN(result.masked, maskStructured(graph, result.groups, result.kept));
    PL_TRY_ASSIGN(result.shrunk, shrinkStructured(graph, result.groups, result.kept));
    return result;
}

}  // namespace prunelab::engine::prune

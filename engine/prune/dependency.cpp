// Dependency analysis: walks the graph once in topological order, giving every value's channel
// axis (axis 1) a list of segments, each a slice of one producer's channel space. Residual
// joins union spaces (union-find); Concat lays segments side by side; ops that keep channels
// pass segments on; anything else marks the spaces it touches as not prunable, with a reason.
#include "engine/prune/dependency.h"
#include "engine/ops/op.h"

#include <algorithm>
#include <initializer_list>
#include <map>

#include "engine/ir/layer_view.h"
#include "engine/ir/op_kind.h"

namespace prunelab::engine::prune {

namespace {

// A run of channels on a value's axis 1: `length` channels of space `space`, or of no space
// (space -1: graph inputs, constants, outputs of ops we cannot follow).
struct Segment {
    int space = -1;
    int64_t length = 0;
};
using Segments = std::vector<Segment>;

struct Space {
    int parent = 0;
    int64_t channels = 0;
    std::vector<GroupMember> producers, passThrough, consumers;
    std::vector<std::string> ties;  // "Add 'add_3'": the joins that tied spaces together
    std::string reason;             // first reason it cannot be pruned
};

std::string nodeLabel(const Graph& g, int index) {
    const Node& n = g.nodes[static_cast<size_t>(index)];
    std::string name = n.name.empty() ? g.value(n.outputs[0]).name : n.name;
    return std::string(opName(n.op)) + " '" + name + "'";
}

std::string nodeName(const Graph& g, int index) {
    const Node& n = g.nodes[static_cast<size_t>(index)];
    return n.name.empty() ? g.value(n.outputs[0]).name : n.name;
}

// "a", "a and b", "a, b and c"; beyond `limit` names, "a, b, c and 5 more".
std::string joinNames(const std::vector<std::string>& names, size_t limit = 4) {
    std::string out;
    const size_t shown = names.size() > limit ? limit : names.size();
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
        out += names[i];
    }
    if (shown < names.size()) {
        out += " and ";
        out += std::to_string(names.size() - shown);
        out += " more";
    }
    return out;
}

class Analysis {
  public:
    explicit Analysis(const Graph& g) : m_g(g), m_segments(g.values.size()) {
        for (const Layer& l : prunableLayers(g)) m_layers[l.node] = l;
    }

    std::vector<DependencyGroup> run();

  private:
    int find(int s) {
        while (m_spaces[static_cast<size_t>(s)].parent != s) {
            int& p = m_spaces[static_cast<size_t>(s)].parent;
            p = m_spaces[static_cast<size_t>(p)].parent;
            s = p;
        }
        return s;
    }
    Space& space(int s) { return m_spaces[static_cast<size_t>(s)]; }

    // A new channel space; `node` >= 0 is its producer (constants have none).
    int newSpace(int64_t channels, int node) {
        const int id = static_cast<int>(m_spaces.size());
        Space s;
        s.parent = id;
        s.channels = channels;
        if (node >= 0) s.producers.push_back({node, nodeName(m_g, node), 0});
        m_spaces.push_back(std::move(s));
        return id;
    }

    // Splits every space tied to `root` at channel k: they keep [0, k) and a new class of
    // spaces takes [k, C), with every member's offset moved by k. Segments everywhere (and in
    // `lists`) are rewritten. This is how a Concat of 24 + 24 channels added to a 48-channel
    // conv output ties the conv's first half to one group and its second half to another.
    void splitClass(int root, int64_t k, std::initializer_list<Segments*> lists);

    // The segments on a value's channel axis; values never given any are fixed channels.
    Segments segmentsOf(ValueId v) const {
        const Segments& s = m_segments[static_cast<size_t>(v)];
        if (!s.empty()) return s;
        const Shape& shape = m_g.value(v).shape;
        if (shape.size() < 2) return {};
        return {{-1, shape[1]}};
    }

    void markNotPrunable(int s, const std::string& reason) {
        Space& sp = space(s);
        if (sp.reason.empty()) sp.reason = reason;
    }
    void markAll(const Segments& segs, const std::string& reason) {
        for (const Segment& seg : segs)
            if (seg.space >= 0) markNotPrunable(seg.space, reason);
    }
    void markInputs(int node, const std::string& reason) {
        for (ValueId in : m_g.nodes[static_cast<size_t>(node)].inputs)
            if (in != kNoValue) markAll(segmentsOf(in), reason);
    }
    void addMembers(const Segments& segs, int node, std::vector<GroupMember> Space::*list) {
        int64_t offset = 0;
        for (const Segment& seg : segs) {
            if (seg.space >= 0)
                (space(seg.space).*list).push_back({node, nodeName(m_g, node), offset});
            offset += seg.length;
        }
    }

    // Ties two values' channels one to one (a residual join), splitting spaces until their
    // segments line up; a space joined to channels that cannot be pruned is marked.
    void tie(Segments& a, Segments& b, int node);

    void visitLayer(int index, const Layer& layer);
    void visitElementwise(int index);
    bool preservesChannels(const Node& n) const;
    void setOutputs(const Node& n, const Segments& segs) {
        for (ValueId out : n.outputs) m_segments[static_cast<size_t>(out)] = segs;
    }

    const Graph& m_g;
    std::map<int, Layer> m_layers;
    std::vector<Segments> m_segments;  // by ValueId
    std::vector<Space> m_spaces;
};

void Analysis::splitClass(int root, int64_t k, std::initializer_list<Segments*> lists) {
    std::map<int, int> partner;
    int newRoot = -1;
    const size_t count = m_spaces.size();
    for (size_t i = 0; i < count; ++i) {
        const int s = static_cast<int>(i);
        if (find(s) != root) continue;
        Space t;
        const Space& src = space(s);
        t.channels = src.channels - k;
        t.reason = src.reason;
        t.ties = src.ties;
        auto shifted = [k](const std::vector<GroupMember>& members) {
            std::vector<GroupMember> out = members;
            for (GroupMember& m : out) m.offset += k;
            return out;
        };
        t.producers = shifted(src.producers);
        t.passThrough = shifted(src.passThrough);
        t.consumers = shifted(src.consumers);
        const int id = static_cast<int>(m_spaces.size());
        t.parent = newRoot < 0 ? id : newRoot;
        if (newRoot < 0) newRoot = id;
        space(s).channels = k;
        m_spaces.push_back(std::move(t));
        partner[s] = id;
    }
    auto rewrite = [&](Segments& segs) {
        Segments out;
        for (const Segment& seg : segs) {
            auto it = seg.space >= 0 ? partner.find(seg.space) : partner.end();
            if (it == partner.end()) {
                out.push_back(seg);
                continue;
            }
            out.push_back({seg.space, k});
            out.push_back({it->second, seg.length - k});
        }
        segs = std::move(out);
    };
    for (Segments& segs : m_segments) rewrite(segs);
    for (Segments* segs : lists) rewrite(*segs);
}

void Analysis::tie(Segments& a, Segments& b, int node) {
    const Node& n = m_g.nodes[static_cast<size_t>(node)];
    const std::string label = (n.op == OpKind::Add ? "residual " : "") + nodeLabel(m_g, node);
    auto total = [](const Segments& segs) {
        int64_t sum = 0;
        for (const Segment& seg : segs) sum += seg.length;
        return sum;
    };
    if (total(a) != total(b)) {
        markAll(a, label + " joins values of different channel counts");
        markAll(b, label + " joins values of different channel counts");
        return;
    }
    // Split the longer segment at the shorter one's end until both lists share boundaries.
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
            if (a[i].length == b[i].length) continue;
            Segments& longer = a[i].length > b[i].length ? a : b;
            const int64_t k = std::min(a[i].length, b[i].length);
            if (longer[i].space < 0) {
                const Segment rest{-1, longer[i].length - k};
                longer[i].length = k;
                longer.insert(longer.begin() + static_cast<std::ptrdiff_t>(i) + 1, rest);
            } else {
                splitClass(find(longer[i].space), k, {&a, &b});
            }
            changed = true;
            break;
        }
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const int sa = a[i].space, sb = b[i].space;
        if (sa < 0 && sb < 0) continue;
        if (sa < 0 || sb < 0) {
            markNotPrunable(sa < 0 ? sb : sa,
                            label +
                                " adds these channels to channels that cannot be pruned "
                                "(a graph input or an unprunable layer)");
            continue;
        }
        const int ra = find(sa), rb = find(sb);
        space(ra).ties.push_back(label);
        if (ra == rb) continue;
        space(rb).parent = ra;
    }
}

void Analysis::visitLayer(int index, const Layer& layer) {
    const Node& n = m_g.nodes[static_cast<size_t>(index)];
    const Segments in = segmentsOf(n.inputs[0]);
    const std::string label = nodeLabel(m_g, index);
    const int64_t inChannels = layer.inPerGroup * layer.groups;
    const bool depthwise = n.op == OpKind::Conv && layer.groups > 1 && layer.groups == inChannels &&
                           layer.outChannels == inChannels;
    if (depthwise) {
        // Channel c of the output reads only channel c of the input: same space, both pruned.
        addMembers(in, index, &Space::passThrough);
        setOutputs(n, in);
        return;
    }
    bool followable = layer.groups == 1;
    std::string why = label + " is a grouped conv (" + std::to_string(layer.groups) +
                      " groups): its channels would have to be pruned group by group";
    if (n.op == OpKind::Gemm && n.attrs.getInt("transA", 0) != 0) {
        followable = false;
        why = label + " transposes its input";
    }
    if (n.op == OpKind::MatMul && m_g.value(n.inputs[0]).shape.size() != 2) {
        followable = false;
        why = label + " is a batched MatMul over the channel axis";
    }
    if (followable) {
        addMembers(in, index, &Space::consumers);
    } else {
        markAll(in, why);
    }
    const int s = newSpace(layer.outChannels, index);
    if (!followable) markNotPrunable(s, why);
    setOutputs(n, {{s, layer.outChannels}});
}

// The size of a constant's or broadcast operand's axis that lines up with the output's
// channel axis (1 when it has none).
int64_t alignedChannelDim(const Shape& operand, size_t outRank) {
    if (outRank < 2 || operand.size() + 1 < outRank) return 1;
    return operand[operand.size() - (outRank - 1)];
}

void Analysis::visitElementwise(int index) {
    const Node& n = m_g.nodes[static_cast<size_t>(index)];
    const Shape& outShape = m_g.value(n.outputs[0]).shape;
    const std::string label = nodeLabel(m_g, index);
    if (outShape.size() < 2) {
        markInputs(index, label + " works on values without a channel axis");
        return;
    }
    const int64_t channels = outShape[1];
    Segments result;
    bool haveResult = false;
    for (ValueId in : n.inputs) {
        const Value& v = m_g.value(in);
        const int64_t dim = alignedChannelDim(v.shape, outShape.size());
        if (dim == 1 && channels != 1) continue;  // broadcast across channels: no tie
        if (dim != channels) {
            markInputs(index, label + " broadcasts in a way the analysis cannot follow");
            setOutputs(n, {});
            return;
        }
        if (v.isConstant()) continue;  // per-channel constant: sliced, handled below
        if (v.shape.size() != outShape.size()) {
            markInputs(index, label + " broadcasts an activation of lower rank");
            setOutputs(n, {});
            return;
        }
        Segments segs = segmentsOf(in);
        if (!haveResult) {
            result = segs;
            haveResult = true;
        } else {
            tie(result, segs, index);
        }
    }
    for (ValueId in : n.inputs) {
        const Value& v = m_g.value(in);
        if (v.isConstant() && alignedChannelDim(v.shape, outShape.size()) == channels &&
            channels != 1) {
            addMembers(result, index, &Space::passThrough);
            break;
        }
    }
    setOutputs(n, result);
}

bool Analysis::preservesChannels(const Node& n) const {
    const Shape& in = m_g.value(n.inputs[0]).shape;
    const Shape& out = m_g.value(n.outputs[0]).shape;
    auto keepsLeadingDims = [&] {
        return in.size() >= 2 && out.size() >= 2 && in[0] == out[0] && in[1] == out[1];
    };
    switch (n.op) {
        case OpKind::Relu:
        case OpKind::LeakyRelu:
        case OpKind::Sigmoid:
        case OpKind::HardSigmoid:
        case OpKind::HardSwish:
        case OpKind::Tanh:
        case OpKind::Sqrt:
        case OpKind::Exp:
        case OpKind::Clip:
        case OpKind::Identity:
        case OpKind::Cast:
        case OpKind::Neg:
        case OpKind::Abs:
        case OpKind::Floor:
        case OpKind::Ceil:
        case OpKind::Round:
        case OpKind::Log:
        case OpKind::Reciprocal:
        case OpKind::Erf:
        case OpKind::Softplus:
        case OpKind::Mish:
        case OpKind::MaxPool:
        case OpKind::AveragePool:
        case OpKind::GlobalAveragePool:
        case OpKind::GlobalMaxPool:
        case OpKind::Resize:
            return keepsLeadingDims();
        // Row-major reshapes that keep the batch and channel dims keep each element's channel.
        case OpKind::Reshape:
        case OpKind::Flatten:
        case OpKind::Squeeze:
        case OpKind::Unsqueeze:
            return keepsLeadingDims();
        case OpKind::Transpose: {
            auto perm = n.attrs.getInts("perm");
            return perm.size() >= 2 && perm[0] == 0 && perm[1] == 1;
        }
        case OpKind::Softmax: {  // over spatial axes only (also in legacy flattening mode)
            int64_t axis = n.attrs.getInt("axis", -1);
            if (axis < 0) axis += static_cast<int64_t>(in.size());
            return axis >= 2 && keepsLeadingDims();
        }
        case OpKind::Pad: {
            auto pads = n.attrs.getInts("pads");
            const size_t rank = in.size();
            return pads.size() == 2 * rank && rank >= 2 && pads[0] == 0 && pads[1] == 0 &&
                   pads[rank] == 0 && pads[rank + 1] == 0;
        }
        case OpKind::Slice: {
            auto axes = n.attrs.getInts("axes");
            return std::find(axes.begin(), axes.end(), 1) == axes.end() && keepsLeadingDims();
        }
        case OpKind::Split:
            return n.attrs.getInt("axis", 0) != 1;
        case OpKind::ReduceMean:
        case OpKind::ReduceMax:
        case OpKind::ReduceMin:
        case OpKind::ReduceSum: {
            auto axes = n.attrs.getInts("axes");
            return n.attrs.getInt("keepdims", 1) != 0 &&
                   std::find(axes.begin(), axes.end(), 1) == axes.end();
        }
        default:
            return false;
    }
}

std::vector<DependencyGroup> Analysis::run() {
    for (size_t i = 0; i < m_g.nodes.size(); ++i) {
        const int index = static_cast<int>(i);
        const Node& n = m_g.nodes[i];
        const std::string label = nodeLabel(m_g, index);
        if (auto it = m_layers.find(index); it != m_layers.end()) {
            visitLayer(index, it->second);
            continue;
        }
        switch (n.op) {
            case OpKind::Add:
            case OpKind::Sub:
            case OpKind::Mul:
            case OpKind::Div:
            case OpKind::Pow:
                visitElementwise(index);
                continue;
            case OpKind::Concat: {
                if (n.attrs.getInt("axis", 1) == 1) {
                    // A constant piece (BlazeFace pads channels with a Concat of zeros)
                    // gets its own space so a residual join can slice it with the rest.
                    Segments out;
                    int64_t offset = 0;
                    for (ValueId in : n.inputs) {
                        const Value& v = m_g.value(in);
                        Segments segs = segmentsOf(in);
                        if (v.isConstant() && v.shape.size() >= 2) {
                            const int s = newSpace(v.shape[1], -1);
                            space(s).passThrough.push_back({index, nodeName(m_g, index), offset});
                            segs = {{s, v.shape[1]}};
                        }
                        offset += v.shape.size() >= 2 ? v.shape[1] : 0;
                        out.insert(out.end(), segs.begin(), segs.end());
                    }
                    setOutputs(n, out);
                } else {
                    visitElementwise(index);  // joins along another axis tie channels 1:1
                }
                continue;
            }
            case OpKind::BatchNormalization:
            case OpKind::PRelu: {
                bool constants = true;
                for (size_t k = 1; k < n.inputs.size(); ++k)
                    constants = constants && m_g.value(n.inputs[k]).isConstant();
                const Shape& out = m_g.value(n.outputs[0]).shape;
                if (!constants || out.size() < 2) break;
                const Segments segs = segmentsOf(n.inputs[0]);
                if (n.op == OpKind::PRelu) {
                    const int64_t dim = alignedChannelDim(m_g.value(n.inputs[1]).shape, out.size());
                    if (dim != 1 && dim != out[1]) break;
                    if (dim != 1) addMembers(segs, index, &Space::passThrough);
                } else {
                    addMembers(segs, index, &Space::passThrough);
                }
                setOutputs(n, segs);
                continue;
            }
            default:
                if (!n.inputs.empty() && n.inputs[0] != kNoValue && preservesChannels(n)) {
                    setOutputs(n, segmentsOf(n.inputs[0]));
                    continue;
                }
                break;
        }
        markInputs(index, "the channels reach " + label +
                              ", which mixes or reorders the channel axis in a way the "
                              "analysis cannot follow");
    }
    for (ValueId out : m_g.outputs)
        markAll(segmentsOf(out), "the channels reach graph output '" + m_g.value(out).name + "'");

    // Merge every space into its root, then order groups by their first producer.
    std::map<int, DependencyGroup> byRoot;
    std::map<int, std::vector<std::string>> ties;
    for (size_t s = 0; s < m_spaces.size(); ++s) {
        const Space& sp = m_spaces[s];
        const int root = find(static_cast<int>(s));
        DependencyGroup& g = byRoot[root];
        g.channels = sp.channels;
        auto append = [](std::vector<GroupMember>& dst, const std::vector<GroupMember>& src) {
            dst.insert(dst.end(), src.begin(), src.end());
        };
        append(g.producers, sp.producers);
        append(g.passThrough, sp.passThrough);
        append(g.consumers, sp.consumers);
        if (!sp.reason.empty() && g.reason.empty()) g.reason = sp.reason;
        for (const std::string& t : sp.ties) {
            auto& list = ties[root];
            if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
        }
    }
    std::vector<DependencyGroup> groups;
    for (auto& [root, g] : byRoot) {
        if (g.producers.empty()) continue;  // only constants: nothing to prune
        auto byNode = [](const GroupMember& a, const GroupMember& b) {
            return a.node != b.node ? a.node < b.node : a.offset < b.offset;
        };
        std::sort(g.producers.begin(), g.producers.end(), byNode);
        std::sort(g.passThrough.begin(), g.passThrough.end(), byNode);
        std::sort(g.consumers.begin(), g.consumers.end(), byNode);
        g.prunable = g.reason.empty();
        std::vector<std::string> names;
        for (const GroupMember& p : g.producers) names.push_back(p.name);
        const std::string count = std::to_string(g.channels) + " channels";
        if (names.size() == 1) {
            g.description = names[0] + " has " + count;
        } else {
            g.description = joinNames(names) + " share " + count;
        }
        if (!ties[root].empty()) g.description += " through " + joinNames(ties[root], 3);
        std::vector<std::string> readers;
        for (const GroupMember& c : g.consumers) readers.push_back(c.name);
        if (!readers.empty()) g.description += ", read by " + joinNames(readers);
        groups.push_back(std::move(g));
    }
    std::sort(groups.begin(), groups.end(), [](const DependencyGroup& a, const DependencyGroup& b) {
        return a.producers.front().node < b.producers.front().node;
    });
    return groups;
}

}  // namespace

Result<std::vector<DependencyGroup>> findDependencyGroups(const Graph& graph) {
    PL_TRY(verifyGraph(graph));
    Analysis analysis(graph);
    return analysis.run();
}

}  // namespace prunelab::engine::prune

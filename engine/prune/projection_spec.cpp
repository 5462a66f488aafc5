// The projection spec (see projection_spec.h): applyPlan's own resolution, written as JSON.
#include "engine/prune/projection_spec.h"

#include <algorithm>
#include <set>

#include "engine/prune/plan_json.h"
#include "engine/prune/plan_resolve.h"

namespace prunelab::engine::prune {

namespace {

using json = nlohmann::json;

using detail::howName;

// The structured unit: each group's members as layer indices with the channel offsets the
// masks use (shrink.cpp's buildCuts: producers' filters, consumers' input channels, depthwise
// convs' filters; other per-channel constants are no prunable layer's weights).
Result<json> structuredUnit(const Graph& graph, const detail::ResolvedPlan& r) {
    const detail::StructuredResolution& s = *r.structured;
    auto layerOf = [&](int node) -> int64_t {
        for (size_t i = 0; i < r.layers.size(); ++i)
            if (r.layers[i].node == node) return static_cast<int64_t>(i);
        return -1;
    };
    std::set<int64_t> touched;
    json groups = json::array();
    for (size_t g = 0; g < s.groups.size(); ++g) {
        const DependencyGroup& group = s.groups[g];
        auto members = [&](const std::vector<GroupMember>& list,
                           bool depthwiseOnly) -> Result<json> {
            json out = json::array();
            for (const GroupMember& m : list) {
                if (depthwiseOnly && graph.nodes[static_cast<size_t>(m.node)].op != OpKind::Conv) {
                    continue;
                }
                const int64_t layer = layerOf(m.node);
                if (layer < 0) {
                    return makeError(ErrorCode::Internal,
                                     "a dependency group names a layer the layer view lacks",
                                     graph.describeNode(static_cast<size_t>(m.node)));
                }
                touched.insert(layer);
                out.push_back({{"layer", layer}, {"offset", m.offset}});
            }
            return out;
        };
        json entry = {{"channels", group.channels},
                      {"prunable", group.prunable},
                      {"keep_all", s.keepAll[g] != 0},
                      {"description", group.description}};
        PL_TRY_ASSIGN(entry["producers"], members(group.producers, false));
        PL_TRY_ASSIGN(entry["consumers"], members(group.consumers, false));
        PL_TRY_ASSIGN(entry["depthwise"], members(group.passThrough, true));
        groups.push_back(std::move(entry));
    }
    return json{{"scheme", "structured"},
                {"params", detail::paramsToJson(s.params)},
                {"layers", json(std::vector<int64_t>(touched.begin(), touched.end()))},
                {"groups", std::move(groups)}};
}

}  // namespace

Result<nlohmann::json> projectionSpec(const Graph& graph, const PruningPlan& plan) {
    PL_TRY_ASSIGN(detail::ResolvedPlan r, detail::resolvePlan(graph, plan));
    json layers = json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) {
        const Layer& l = r.layers[i];
        const detail::LayerDecision& d = r.decisions[i];
        layers.push_back({{"index", i},
                          {"name", l.name},
                          {"shape", {l.outChannels, l.inPerGroup, l.kh, l.kw}},
                          {"groups", l.groups},
                          {"dense", d.how == LayerPruning::How::Dense},
                          {"how", howName(d.how)},
                          {"scheme", d.scheme},
                          {"reason", d.reason}});
    }
    json units = json::array();
    if (r.structured) {
        PL_TRY_ASSIGN(json unit, structuredUnit(graph, r));
        units.push_back(std::move(unit));
    }
    for (const detail::ProjectionUnit& u : r.units) {
        units.push_back({{"scheme", u.scheme},
                         {"params", detail::paramsToJson(u.params)},
                         {"layers", u.members}});
    }
    return json{{"version", kProjectionSpecVersion},
                {"layers", std::move(layers)},
                {"units", std::move(units)}};
}

}  // namespace prunelab::engine::prune

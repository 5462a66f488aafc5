// Applying a pruning plan: decide each layer's entry (dense, scheme, fallback) and why, group
// layers into projection units, project each unit with its scheme, and write the projected
// weights into a copy of the graph.
#include <algorithm>
#include <cstdio>
#include <set>

#include "engine/prune/plan.h"
#include "engine/prune/plan_resolve.h"
#include "engine/prune/shrink.h"

namespace prunelab::engine::prune {

namespace {

using detail::LayerDecision;
using detail::ResolvedPlan;

// The fallback's parameters: the plan's, else the entry's keys the fallback scheme takes.
ParamValues fallbackParamsFor(const PruningPlan& plan, const Scheme& fallback,
                              const ParamValues& entryParams) {
    if (!plan.fallbackParams.all().empty()) return plan.fallbackParams;
    ParamValues out;
    for (const ParamSpec& spec : fallback.params()) {
        auto it = entryParams.all().find(spec.key);
        if (it != entryParams.all().end()) out.set(spec.key, it->second);
    }
    return out;
}

// Layers of one global/model-scope entry share one constraint, so they project together;
// everything else projects alone. The key says which unit a layer belongs to.
std::string unitKey(const LayerDecision& d, size_t layerIndex) {
    // non_structured says scope=global, pattern says pattern_scope=model.
    std::string scope = d.params.choice("scope", d.params.choice("pattern_scope", "layer"));
    std::string key;
    if (scope != "global" && scope != "model") {
        // Appended, not "#" + ...: GCC 12 warns wrongly (-Wrestrict) about the temporary.
        key = "#";
        key += std::to_string(layerIndex);
        return key;
    }
    key = d.scheme;
    for (const auto& [k, v] : d.params.all()) {
        key += "|" + k + "=";
        if (auto* s = std::get_if<std::string>(&v)) {
            key += *s;
        } else {
            key += std::to_string(d.params.number(k, 0));
        }
    }
    return key;
}

// "rate=0.5, scope=global", or "default parameters": for the reasons shown to the user.
std::string paramsText(const ParamValues& values) {
    std::string text;
    for (const auto& [key, v] : values.all()) {
        text += text.empty() ? "" : ", ";
        text += key + "=";
        if (auto* s = std::get_if<std::string>(&v)) {
            text += *s;
        } else {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", values.number(key, 0));
            text += buf;
        }
    }
    return text.empty() ? "default parameters" : text;
}

LayerProjection denseProjection(const LayerWeights& w) {
    LayerProjection p;
    p.weights = w.weights;
    p.mask = Tensor(DataType::UInt8, w.weights.shape());
    for (uint8_t& m : p.mask.span<uint8_t>()) m = 1;
    return p;
}

Result<detail::StructuredResolution> resolveStructured(const Graph& graph,
                                                       const std::vector<Layer>& layers,
                                                       const std::vector<LayerDecision>& decisions);
Result<PrunedModel> applyStructured(const Graph& graph, const PruningPlan& plan,
                                    const ResolvedPlan& resolved);

}  // namespace

Result<LayerWeights> layerWeights(const Graph& graph, const Layer& layer) {
    // A Layer found in another graph (or a stale one) must not index past this graph's weight.
    const std::string where = "layer '" + layer.name + "'";
    if (layer.weight < 0 || static_cast<size_t>(layer.weight) >= graph.values.size() ||
        !graph.value(layer.weight).isConstant()) {
        return makeError(ErrorCode::InvalidArgument,
                         "its weight is not a constant of this graph (a layer of another model?)",
                         where);
    }
    const Value& wv = graph.value(layer.weight);
    const int64_t viewed = layer.outChannels * layer.inPerGroup * layer.kh * layer.kw;
    if (layer.outChannels <= 0 || layer.inPerGroup <= 0 || layer.kh <= 0 || layer.kw <= 0 ||
        wv.constant.elements() != viewed) {
        return makeError(ErrorCode::ShapeMismatch,
                         "its weight '" + wv.name + "' has " +
                             std::to_string(wv.constant.elements()) + " elements, the layer " +
                             std::to_string(viewed) + " (a layer of another model?)",
                         where);
    }
    if (wv.dtype != DataType::Float32) {
        return makeError(
            ErrorCode::Unsupported,
            "weights are " + std::string(dataTypeName(wv.dtype)) + "; pruning reads float32",
            where);
    }
    LayerWeights out;
    out.name = layer.name;
    out.groups = layer.groups;
    out.weights =
        Tensor(DataType::Float32, {layer.outChannels, layer.inPerGroup, layer.kh, layer.kw});
    const float* src = wv.constant.data<float>();
    float* dst = out.weights.data<float>();
    for (int64_t o = 0; o < layer.outChannels; ++o)
        for (int64_t i = 0; i < layer.inPerGroup; ++i)
            for (int64_t y = 0; y < layer.kh; ++y)
                for (int64_t x = 0; x < layer.kw; ++x) *dst++ = src[layer.weightIndex(o, i, y, x)];
    return out;
}

namespace detail {

Result<ResolvedPlan> resolvePlan(const Graph& graph, const PruningPlan& plan) {
    PL_TRY(validatePlanForGraph(plan, graph));
    const Scheme* fallback = findScheme(plan.fallbackScheme);
    ResolvedPlan r;
    r.layers = prunableLayers(graph);
    const std::vector<Layer>& layers = r.layers;

    // 1. Decide every layer's entry and say why.
    std::vector<LayerDecision>& decisions = r.decisions;
    std::vector<LayerWeights>& weights = r.weights;
    decisions.resize(layers.size());
    weights.resize(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        const Layer& layer = layers[i];
        std::string where = "layer '" + layer.name + "'";
        PL_TRY_ASSIGN(weights[i], layerWeights(graph, layer));
        LayerDecision& d = decisions[i];
        auto named = plan.layers.find(layer.name);
        const PlanEntry& entry = named != plan.layers.end() ? named->second : plan.defaultEntry;
        bool edge = i == 0 || i + 1 == layers.size();
        if (named == plan.layers.end() && plan.keepFirstLast && edge) {
            d.reason = std::string(i == 0 ? "first" : "last") +
                       " prunable layer kept dense (keepFirstLast)";
            continue;
        }
        std::string source = named != plan.layers.end() ? "named in the plan" : "default entry";
        if (entry.dense) {
            d.reason = "kept dense (" + source + ")";
            continue;
        }
        if (entry.scheme == "structured") {
            // Whole dependency groups, decided model-wide in resolveStructured().
            d.how = LayerPruning::How::Scheme;
            d.scheme = entry.scheme;
            d.params = entry.params;
            d.reason = "structured (" + source + ")";
            continue;
        }
        const Scheme* scheme = findScheme(entry.scheme);
        if (scheme->supports(weights[i])) {
            d.how = LayerPruning::How::Scheme;
            d.scheme = entry.scheme;
            d.params = entry.params;
            d.reason = entry.scheme + " (" + source + ")";
        } else {
            d.how = LayerPruning::How::Fallback;
            d.scheme = plan.fallbackScheme;
            d.params = fallbackParamsFor(plan, *fallback, entry.params);
            d.reason = entry.scheme + " does not support this layer (" + std::to_string(layer.kh) +
                       "x" + std::to_string(layer.kw) + " kernels); fallback " +
                       plan.fallbackScheme + " with " + paramsText(d.params) + " (" + source + ")";
            if (!fallback->supports(weights[i])) {
                return makeError(ErrorCode::Unsupported,
                                 "neither " + entry.scheme + " nor the fallback " +
                                     plan.fallbackScheme + " supports this layer",
                                 where);
            }
        }
    }

    bool structured = false;
    for (const LayerDecision& d : decisions) structured |= d.scheme == "structured";
    if (structured) {
        PL_TRY_ASSIGN(r.structured, resolveStructured(graph, layers, decisions));
        return r;
    }

    // 2. Group into projection units, in first-layer order (deterministic).
    std::vector<std::string> keys(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        if (decisions[i].how != LayerPruning::How::Dense) keys[i] = unitKey(decisions[i], i);
    }
    std::set<std::string> done;
    for (size_t i = 0; i < layers.size(); ++i) {
        if (keys[i].empty() || !done.insert(keys[i]).second) continue;
        ProjectionUnit& unit = r.units.emplace_back();
        unit.scheme = decisions[i].scheme;
        unit.params = decisions[i].params;
        for (size_t j = i; j < layers.size(); ++j) {
            if (keys[j] == keys[i]) unit.members.push_back(j);
        }
    }
    return r;
}

}  // namespace detail

Result<PrunedModel> applyPlan(const Graph& graph, const PruningPlan& plan) {
    PL_TRY_ASSIGN(ResolvedPlan resolved, detail::resolvePlan(graph, plan));
    if (resolved.structured) return applyStructured(graph, plan, resolved);
    const std::vector<Layer>& layers = resolved.layers;
    const std::vector<LayerDecision>& decisions = resolved.decisions;
    const std::vector<LayerWeights>& weights = resolved.weights;

    // Project each unit with its scheme.
    PrunedModel out;
    out.graph = graph;
    out.plan = plan;
    out.layers.resize(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        out.layers[i].layer = layers[i];
        out.layers[i].how = decisions[i].how;
        out.layers[i].scheme = decisions[i].scheme;
        out.layers[i].params = decisions[i].params;
        out.layers[i].reason = decisions[i].reason;
        if (decisions[i].how == LayerPruning::How::Dense) {
            out.layers[i].projection = denseProjection(weights[i]);
        }
    }
    for (const detail::ProjectionUnit& u : resolved.units) {
        const std::vector<size_t>& members = u.members;
        std::vector<LayerWeights> unit;
        for (size_t j : members) unit.push_back(weights[j]);
        const Scheme* scheme = findScheme(u.scheme);
        auto projected = scheme->project(unit, u.params);
        if (!projected.ok())
            return projected.error().within("layer '" + layers[members[0]].name + "'");
        if (projected->size() != members.size()) {
            return makeError(ErrorCode::Internal, "scheme " + u.scheme + " returned " +
                                                      std::to_string(projected->size()) +
                                                      " projections for " +
                                                      std::to_string(members.size()) + " layers");
        }
        for (size_t k = 0; k < members.size(); ++k) {
            LayerProjection& p = (*projected)[k];
            if (p.weights.shape() != unit[k].weights.shape() ||
                p.mask.shape() != unit[k].weights.shape()) {
                return makeError(ErrorCode::Internal,
                                 "scheme " + u.scheme + " returned a projection of the wrong shape",
                                 "layer '" + layers[members[k]].name + "'");
            }
            out.layers[members[k]].projection = std::move(p);
        }
    }

    // Write projected weights back. Graph copies share tensor storage, so every pruned
    // weight gets a fresh tensor and the input graph stays untouched.
    for (const LayerPruning& lp : out.layers) {
        if (lp.how == LayerPruning::How::Dense) continue;
        PL_TRY(setLayerWeights(out.graph, lp.layer, lp.projection.weights));
    }
    return out;
}

Status setLayerWeights(Graph& graph, const Layer& layer, const Tensor& view) {
    const Shape want = {layer.outChannels, layer.inPerGroup, layer.kh, layer.kw};
    if (view.dtype() != DataType::Float32 || view.shape() != want) {
        return makeError(ErrorCode::ShapeMismatch,
                         "weights " + shapeToString(view.shape()) + " do not fit the layer's " +
                             shapeToString(want),
                         "layer '" + layer.name + "'");
    }
    Value& wv = graph.value(layer.weight);
    Tensor fresh = wv.constant.clone();
    float* dst = fresh.data<float>();
    const float* src = view.data<float>();
    for (int64_t o = 0; o < layer.outChannels; ++o)
        for (int64_t c = 0; c < layer.inPerGroup; ++c)
            for (int64_t y = 0; y < layer.kh; ++y)
                for (int64_t x = 0; x < layer.kw; ++x) dst[layer.weightIndex(o, c, y, x)] = *src++;
    wv.constant = std::move(fresh);
    return {};
}

namespace {

// Structured entries prune whole dependency groups (engine/prune/shrink.h): one ranking for
// the model, so their parameters must agree; a group keeps every channel when one of its
// producer layers is to stay dense. Other layers may only be kept dense: another scheme's
// projection would be overwritten by the group masks on its input channels.
Result<detail::StructuredResolution> resolveStructured(
    const Graph& graph, const std::vector<Layer>& layers,
    const std::vector<LayerDecision>& decisions) {
    const ParamValues* params = nullptr;
    for (size_t i = 0; i < layers.size(); ++i) {
        const LayerDecision& d = decisions[i];
        if (d.how == LayerPruning::How::Dense) continue;
        std::string where = "layer '" + layers[i].name + "'";
        if (d.scheme != "structured") {
            return makeError(ErrorCode::Unsupported,
                             "a plan with structured entries can keep other layers dense but "
                             "not prune them with " +
                                 d.scheme + " (not supported yet)",
                             where);
        }
        if (params != nullptr && !(*params == d.params)) {
            return makeError(ErrorCode::Unsupported,
                             "structured entries with different parameters (structured pruning "
                             "ranks the whole model once)",
                             where);
        }
        params = &d.params;
    }
    detail::StructuredResolution r;
    r.params = *params;
    PL_TRY_ASSIGN(r.groups, findDependencyGroups(graph));
    r.keepAll.assign(r.groups.size(), 0);
    r.producerLayers.resize(r.groups.size());
    for (size_t g = 0; g < r.groups.size(); ++g) {
        for (const GroupMember& m : r.groups[g].producers) {
            for (size_t i = 0; i < layers.size(); ++i) {
                if (layers[i].node != m.node) continue;
                r.producerLayers[g].push_back(i);
                r.keepAll[g] |= decisions[i].how == LayerPruning::How::Dense ? 1 : 0;
            }
        }
    }
    return r;
}

Result<PrunedModel> applyStructured(const Graph& graph, const PruningPlan& plan,
                                    const ResolvedPlan& resolved) {
    const std::vector<Layer>& layers = resolved.layers;
    const std::vector<LayerDecision>& decisions = resolved.decisions;
    const detail::StructuredResolution& s = *resolved.structured;
    const std::vector<DependencyGroup>& groups = s.groups;
    PL_TRY_ASSIGN(KeptChannels kept, selectKeptChannels(graph, groups, s.params));
    std::vector<std::string> groupNote(layers.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        for (size_t i : s.producerLayers[g]) {
            groupNote[i] = groups[g].prunable
                               ? "; its group of " + std::to_string(groups[g].channels) +
                                     " channels keeps " + std::to_string(kept[g].size())
                               : "; its group is not prunable: " + groups[g].reason;
        }
        if (s.keepAll[g] && groups[g].prunable) {
            kept[g].resize(static_cast<size_t>(groups[g].channels));
            for (int64_t c = 0; c < groups[g].channels; ++c) kept[g][static_cast<size_t>(c)] = c;
        }
    }
    PrunedModel out;
    out.plan = plan;
    PL_TRY_ASSIGN(out.graph, maskStructured(graph, groups, kept));
    // The masks are where the group masks zero a model of ones: comparing weights before and
    // after would call a retrained model's removed filters (zero already) kept, and a pruned,
    // retrained model would read as dense (100% density, its speed-up unseen).
    Graph ones = graph;
    for (const Layer& layer : layers) {
        Tensor one(DataType::Float32, {layer.outChannels, layer.inPerGroup, layer.kh, layer.kw});
        std::fill_n(one.data<float>(), one.elements(), 1.0f);
        PL_TRY(setLayerWeights(ones, layer, one));
    }
    PL_TRY_ASSIGN(Graph onesMasked, maskStructured(ones, groups, kept));
    const std::vector<Layer> onesLayers = prunableLayers(onesMasked);
    PL_TRY_ASSIGN(Graph shrunk, shrinkStructured(graph, groups, kept));
    out.shrunk = std::move(shrunk);
    // The masked graph may number its values differently: find each layer again by name.
    std::vector<Layer> maskedLayers = prunableLayers(out.graph);
    for (size_t i = 0; i < layers.size(); ++i) {
        LayerPruning lp;
        lp.layer = layers[i];
        lp.how = decisions[i].how;
        lp.scheme = decisions[i].scheme;
        lp.params = decisions[i].params;
        lp.reason = decisions[i].reason + groupNote[i];
        auto same = std::find_if(maskedLayers.begin(), maskedLayers.end(),
                                 [&](const Layer& l) { return l.name == layers[i].name; });
        if (same == maskedLayers.end() || same->outChannels != layers[i].outChannels ||
            same->inPerGroup != layers[i].inPerGroup) {
            return makeError(ErrorCode::Internal, "the masked model lost or reshaped this layer",
                             "layer '" + layers[i].name + "'");
        }
        lp.layer = *same;
        PL_TRY_ASSIGN(LayerWeights masked, layerWeights(out.graph, *same));
        auto oneLayer = std::find_if(onesLayers.begin(), onesLayers.end(),
                                     [&](const Layer& l) { return l.name == layers[i].name; });
        if (oneLayer == onesLayers.end()) {
            return makeError(ErrorCode::Internal, "the masked model lost this layer",
                             "layer '" + layers[i].name + "'");
        }
        PL_TRY_ASSIGN(LayerWeights maskedOnes, layerWeights(onesMasked, *oneLayer));
        if (maskedOnes.weights.shape() != masked.weights.shape()) {
            return makeError(ErrorCode::Internal, "the masked model reshaped this layer",
                             "layer '" + layers[i].name + "'");
        }
        lp.projection.weights = masked.weights;
        lp.projection.mask = Tensor(DataType::UInt8, masked.weights.shape());
        const float* cut = maskedOnes.weights.data<float>();
        uint8_t* m = lp.projection.mask.data<uint8_t>();
        bool inputsCut = false;
        for (int64_t k = 0; k < lp.projection.mask.elements(); ++k) {
            m[k] = cut[k] != 0.0f;
            inputsCut |= m[k] == 0;
        }
        if (lp.how == LayerPruning::How::Dense && inputsCut) {
            lp.reason += "; input channels removed with the filters of the layer before";
        }
        out.layers.push_back(std::move(lp));
    }
    return out;
}

}  // namespace

}  // namespace prunelab::engine::prune

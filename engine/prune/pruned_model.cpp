// Pruned-model files: ONNX metadata for an exported model, and the .plab form that keeps masks,
// patterns, tiles and the plan (format described in pruned_model.h).
#include "engine/prune/pruned_model.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "engine/prune/plan_json.h"
#include "engine/prune/stats.h"

namespace prunelab::engine::prune {

using json = nlohmann::json;

namespace {

using detail::howName;
using detail::paramsToJson;

constexpr const char* kKeyFormat = "prunelab.format";
constexpr const char* kKeyPlan = "prunelab.plan";
constexpr const char* kKeyStats = "prunelab.stats";
constexpr const char* kKeyLayers = "prunelab.layers";

ParamValues paramsFromJson(const json& j) {
    ParamValues values;
    for (const auto& [key, item] : j.items()) {
        if (item.is_boolean()) {
            values.set(key, item.get<bool>());
        } else if (item.is_number_integer()) {
            values.set(key, item.get<int64_t>());
        } else if (item.is_number()) {
            values.set(key, item.get<double>());
        } else {
            values.set(key, item.get<std::string>());
        }
    }
    return values;
}

Result<json> layerToJson(const LayerPruning& lp) {
    json j{{"name", lp.layer.name},
           {"how", howName(lp.how)},
           {"scheme", lp.scheme},
           {"params", paramsToJson(lp.params)},
           {"reason", lp.reason}};
    const LayerProjection& p = lp.projection;
    if (!p.patternSet.empty()) j["patternSet"] = p.patternSet;
    if (!p.kernelPattern.empty()) j["kernelPattern"] = p.kernelPattern;
    if (p.tiles.tileWidth > 0) {
        j["tileWidth"] = p.tiles.tileWidth;
        j["keptRows"] = p.tiles.keptRows;
        j["keptColumns"] = p.tiles.keptColumns;
    }
    // The mask is the non-zero weights plus these: kept weights that happen to be zero.
    std::vector<int64_t> keptZeros;
    const float* w = p.weights.data<float>();
    const uint8_t* m = p.mask.data<uint8_t>();
    for (int64_t i = 0; i < p.mask.elements(); ++i) {
        if (m[i] && w[i] == 0.0f) keptZeros.push_back(i);
        if (!m[i] && w[i] != 0.0f) {
            return makeError(ErrorCode::Internal,
                             "a pruned weight is not zero (element " + std::to_string(i) + ")",
                             "layer '" + lp.layer.name + "'");
        }
    }
    j["keptZeros"] = keptZeros;
    return j;
}

// A file's integer `v` (named `what` in errors) in [lo, hi]. nlohmann's get<int>() casts a float
// such as 1e30 to an integer, which is undefined behaviour, and wraps a 70000 into a uint16
// pattern: the numbers of a record are checked here instead.
Result<int64_t> intValue(const json& v, const std::string& what, int64_t lo, int64_t hi) {
    if (!v.is_number_integer()) return makeError(ErrorCode::Corrupt, what + " is not an integer");
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)
                          ? INT64_MAX
                          : v.get<int64_t>();
    if (x < lo || x > hi) {
        return makeError(ErrorCode::Corrupt, what + " is " + v.dump() + ", outside [" +
                                                 std::to_string(lo) + ", " + std::to_string(hi) +
                                                 "]");
    }
    return x;
}

// The same for each item of the array `j`, named key[i].
Result<std::vector<int64_t>> intArray(const json& j, const std::string& key, int64_t lo,
                                      int64_t hi) {
    if (!j.is_array()) return makeError(ErrorCode::Corrupt, key + " is not an array");
    std::vector<int64_t> out;
    out.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
        PL_TRY_ASSIGN(int64_t x, intValue(j[i], key + "[" + std::to_string(i) + "]", lo, hi));
        out.push_back(x);
    }
    return out;
}

template <typename T>
std::vector<T> narrowed(const std::vector<int64_t>& values) {  // values already range-checked
    return std::vector<T>(values.begin(), values.end());
}

Status layerFromJson(const json& j, const Graph& graph, LayerPruning& lp) {
    const std::string how = j.at("how").get<std::string>();
    lp.how = how == "scheme"     ? LayerPruning::How::Scheme
             : how == "fallback" ? LayerPruning::How::Fallback
                                 : LayerPruning::How::Dense;
    lp.scheme = j.at("scheme").get<std::string>();
    lp.params = paramsFromJson(j.at("params"));
    lp.reason = j.at("reason").get<std::string>();
    LayerProjection& p = lp.projection;
    PL_TRY_ASSIGN(LayerWeights w, layerWeights(graph, lp.layer));
    p.weights = w.weights;
    p.mask = Tensor(DataType::UInt8, w.weights.shape());
    const float* wv = p.weights.data<float>();
    uint8_t* m = p.mask.data<uint8_t>();
    for (int64_t i = 0; i < p.mask.elements(); ++i) m[i] = wv[i] != 0.0f;
    PL_TRY_ASSIGN(std::vector<int64_t> keptZeros,
                  intArray(j.at("keptZeros"), "keptZeros", 0, p.mask.elements() - 1));
    for (int64_t i : keptZeros) m[i] = 1;
    constexpr int64_t kInt32Max = INT32_MAX;
    if (auto it = j.find("patternSet"); it != j.end()) {
        // A pattern is a 3x3 mask: 9 bits.
        PL_TRY_ASSIGN(std::vector<int64_t> set, intArray(*it, "patternSet", 0, 511));
        p.patternSet = narrowed<Pattern>(set);
    }
    if (auto it = j.find("kernelPattern"); it != j.end()) {
        // Per kernel, an index into the pattern set or -1 (removed).
        const int64_t kernels = lp.layer.outChannels * lp.layer.inPerGroup;
        PL_TRY_ASSIGN(
            std::vector<int64_t> ids,
            intArray(*it, "kernelPattern", -1, static_cast<int64_t>(p.patternSet.size()) - 1));
        if (!ids.empty() && static_cast<int64_t>(ids.size()) != kernels) {
            return makeError(ErrorCode::Corrupt, "kernelPattern has " + std::to_string(ids.size()) +
                                                     " entries, the layer has " +
                                                     std::to_string(kernels) + " kernels");
        }
        p.kernelPattern = narrowed<int32_t>(ids);
    }
    if (auto it = j.find("tileWidth"); it != j.end()) {
        // Tiles cut the weight as a GEMM: rows are filters, columns the rest of a filter.
        const int64_t rows = lp.layer.outChannels;
        const int64_t columns = rows > 0 ? p.mask.elements() / rows : 0;
        PL_TRY_ASSIGN(p.tiles.tileWidth, intValue(*it, "tileWidth", 1, kInt32Max));
        const json& keptRows = j.at("keptRows");
        if (!keptRows.is_array()) return makeError(ErrorCode::Corrupt, "keptRows is not an array");
        for (size_t t = 0; t < keptRows.size(); ++t) {
            PL_TRY_ASSIGN(std::vector<int64_t> tileRows,
                          intArray(keptRows[t], "keptRows[" + std::to_string(t) + "]", 0,
                                   std::min(rows, kInt32Max + 1) - 1));
            p.tiles.keptRows.push_back(narrowed<int32_t>(tileRows));
        }
        PL_TRY_ASSIGN(
            std::vector<int64_t> keptColumns,
            intArray(j.at("keptColumns"), "keptColumns", 0, std::min(columns, kInt32Max + 1) - 1));
        p.tiles.keptColumns = narrowed<int32_t>(keptColumns);
    }
    return {};
}

}  // namespace

std::map<std::string, std::string> prunedOnnxMetadata(const PrunedModel& model) {
    return {{kKeyPlan, planToJson(model.plan)}, {kKeyStats, statsToJson(modelStats(model))}};
}

Result<std::map<std::string, std::string>> plabMetadata(const PrunedModel& model) {
    std::map<std::string, std::string> meta = prunedOnnxMetadata(model);
    json layers = json::array();
    for (const LayerPruning& lp : model.layers) {
        PL_TRY_ASSIGN(json j, layerToJson(lp));
        layers.push_back(std::move(j));
    }
    meta[kKeyFormat] = kPlabFormat;
    meta[kKeyLayers] = layers.dump(-1, ' ', false, json::error_handler_t::replace);
    return meta;
}

bool isPlabGraph(const Graph& graph) {
    auto it = graph.metadata.find(kKeyFormat);
    return it != graph.metadata.end() && it->second.rfind("plab/", 0) == 0;
}

Result<PrunedModel> prunedModelFromGraph(Graph graph) {
    auto format = graph.metadata.find(kKeyFormat);
    if (format == graph.metadata.end() || format->second != kPlabFormat) {
        return makeError(ErrorCode::Corrupt,
                         std::string(kKeyFormat) + ": missing or not " + kPlabFormat +
                             " (not a PruneLab model file, or one from a newer PruneLab)",
                         graph.sourcePath);
    }
    auto plan = graph.metadata.find(kKeyPlan);
    auto layers = graph.metadata.find(kKeyLayers);
    if (plan == graph.metadata.end() || layers == graph.metadata.end()) {
        return makeError(ErrorCode::Corrupt,
                         std::string("missing metadata ") +
                             (plan == graph.metadata.end() ? kKeyPlan : kKeyLayers),
                         graph.sourcePath);
    }
    PrunedModel model;
    // The plan is data here: a scheme this build lacks must not stop the model from loading.
    auto parsed = parsePlanJson(plan->second, graph.sourcePath, /*checkSchemes=*/false);
    if (!parsed.ok()) return parsed.error().within(kKeyPlan);
    model.plan = std::move(parsed).value();
    std::vector<Layer> view = prunableLayers(graph);
    try {
        json records = json::parse(layers->second);
        if (!records.is_array() || records.size() != view.size()) {
            return makeError(ErrorCode::Corrupt,
                             std::string(kKeyLayers) +
                                 ": expected one record per prunable layer (" +
                                 std::to_string(view.size()) + ")",
                             graph.sourcePath);
        }
        for (size_t i = 0; i < view.size(); ++i) {
            LayerPruning lp;
            lp.layer = view[i];
            const std::string name = records[i].at("name").get<std::string>();
            if (name != view[i].name) {
                return makeError(ErrorCode::Corrupt,
                                 std::string(kKeyLayers) + "[" + std::to_string(i) +
                                     "]: names layer '" + name + "' but the model's is '" +
                                     view[i].name + "'",
                                 graph.sourcePath);
            }
            Status st = layerFromJson(records[i], graph, lp);
            if (!st.ok()) {
                return st.error()
                    .within(std::string(kKeyLayers) + "[" + std::to_string(i) + "]")
                    .within(graph.sourcePath);
            }
            model.layers.push_back(std::move(lp));
        }
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string(kKeyLayers) + ": " + e.what(),
                         graph.sourcePath);
    }
    model.graph = std::move(graph);
    return model;
}

namespace {

// The operands a trainer changes (engine/train/torch_module.cpp trains exactly these).
bool isTrainedOperand(OpKind op, size_t input) {
    switch (op) {
        case OpKind::Conv:
        case OpKind::ConvTranspose:
        case OpKind::Gemm:
            return input == 1 || input == 2;
        case OpKind::MatMul:
        case OpKind::PRelu:
            return input == 1;
        case OpKind::BatchNormalization:
            return input == 1 || input == 2;
        default:
            return false;
    }
}

}  // namespace

Result<Graph> transplantWeights(const Graph& trained, const Graph& dense) {
    const Graph& from = trained;
    if (from.nodes.size() != dense.nodes.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the trained model has " + std::to_string(from.nodes.size()) +
                             " nodes and the model it should fit has " +
                             std::to_string(dense.nodes.size()) + ": they are not the same model");
    }
    Graph out = dense;
    for (size_t n = 0; n < from.nodes.size(); ++n) {
        const Node& a = from.nodes[n];
        const Node& b = dense.nodes[n];
        if (a.op != b.op || a.inputs.size() != b.inputs.size()) {
            return makeError(ErrorCode::InvalidArgument,
                             "node " + std::to_string(n) + " is " + from.describeNode(a) +
                                 " in the trained model but " + dense.describeNode(b) +
                                 " in the model it should fit");
        }
        for (size_t i = 0; i < a.inputs.size(); ++i) {
            if (!isTrainedOperand(a.op, i) || a.inputs[i] == kNoValue) continue;
            if (b.inputs[i] == kNoValue) {
                return makeError(
                    ErrorCode::InvalidArgument,
                    "operand " + std::to_string(i) + " is missing in the model it should fit",
                    dense.describeNode(b));
            }
            const Value& va = from.value(a.inputs[i]);
            Value& vb = out.value(b.inputs[i]);
            if (!va.isConstant() || !vb.isConstant()) continue;
            if (va.shape != vb.shape || va.dtype != vb.dtype) {
                return makeError(ErrorCode::InvalidArgument,
                                 "value '" + va.name + "' is " + shapeToString(va.shape) +
                                     " in the trained model but " + shapeToString(vb.shape) +
                                     " in the model it should fit",
                                 dense.describeNode(b));
            }
            vb.constant = va.constant;
        }
    }
    for (const auto& [key, value] : trained.metadata) out.metadata[key] = value;
    return out;
}

Result<PrunedModel> rebindPrunedModel(const PrunedModel& trained, const Graph& dense) {
    PrunedModel out;
    PL_TRY_ASSIGN(out.graph, transplantWeights(trained.graph, dense));
    out.plan = trained.plan;
    out.layers = trained.layers;
    // Each layer's view must point at the same weight in both graphs (it is the same model).
    const std::vector<Layer> layers = prunableLayers(out.graph);
    if (layers.size() != out.layers.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the pruned model has " + std::to_string(out.layers.size()) +
                             " prunable layers and the model it should fit " +
                             std::to_string(layers.size()));
    }
    bool structured = false;
    for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].node != out.layers[i].layer.node ||
            layers[i].outChannels != out.layers[i].layer.outChannels ||
            layers[i].inPerGroup != out.layers[i].layer.inPerGroup) {
            return makeError(ErrorCode::InvalidArgument,
                             "prunable layer " + std::to_string(i) + " ('" + layers[i].name +
                                 "') differs between the pruned model and the model it should fit");
        }
        out.layers[i].layer = layers[i];
        structured |= out.layers[i].scheme == "structured";
    }
    if (structured) return applyPlan(out.graph, out.plan);
    return out;
}

std::optional<PrunedModel> prunedModelFromZeros(const Graph& graph) {
    constexpr double kModelZeros = 0.10, kLayerZeros = 0.05;
    PrunedModel model;
    model.graph = graph;
    model.plan.keepFirstLast = false;  // the file's author decided, not our default
    int64_t zeros = 0, total = 0;
    for (const Layer& layer : prunableLayers(graph)) {
        auto view = layerWeights(graph, layer);
        if (!view.ok()) return std::nullopt;  // not float32: nothing to read zeros from
        const Tensor& w = view->weights;
        LayerPruning lp;
        lp.layer = layer;
        lp.projection.weights = w;
        lp.projection.mask = Tensor(DataType::UInt8, w.shape());
        std::span<uint8_t> mask = lp.projection.mask.span<uint8_t>();
        int64_t layerZeros = 0;
        const std::span<const float> values = w.span<float>();
        for (size_t i = 0; i < values.size(); ++i) {
            mask[i] = values[i] != 0.0f;
            layerZeros += values[i] == 0.0f;
        }
        const int64_t n = static_cast<int64_t>(values.size());
        zeros += layerZeros;
        total += n;
        const double rate = n ? static_cast<double>(layerZeros) / static_cast<double>(n) : 0.0;
        if (rate >= kLayerZeros) {
            lp.how = LayerPruning::How::Scheme;
            lp.scheme = "non_structured";
            // Rounded down to the plan's 1e-4 steps and within the scheme's [0, 0.999].
            lp.params.set("rate", std::min(0.999, std::floor(rate * 1e4) / 1e4));
            lp.reason = "zeros in the file: pruned before it came here";
            model.plan.layers[layer.name] = PlanEntry::make(lp.scheme, lp.params);
        } else {
            lp.reason = "no pruning in the file";
            std::fill(mask.begin(), mask.end(), uint8_t{1});
        }
        model.layers.push_back(std::move(lp));
    }
    if (total == 0 || static_cast<double>(zeros) < kModelZeros * static_cast<double>(total)) {
        return std::nullopt;
    }
    return model;
}

}  // namespace prunelab::engine::prune

// Pruned-model files: ONNX metadata for an exported model, and the .plab form that keeps masks,
// patterns, tiles and the plan (format described in pruned_model.h).
#include "engine/prune/pruned_model.h"

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
    for (int64_t i : j.at("keptZeros").get<std::vector<int64_t>>()) {
        if (i < 0 || i >= p.mask.elements()) {
            return makeError(ErrorCode::Corrupt,
                             "keptZeros index " + std::to_string(i) + " is outside the layer's " +
                                 std::to_string(p.mask.elements()) + " weights");
        }
        m[i] = 1;
    }
    if (auto it = j.find("patternSet"); it != j.end()) {
        p.patternSet = it->get<std::vector<Pattern>>();
    }
    if (auto it = j.find("kernelPattern"); it != j.end()) {
        p.kernelPattern = it->get<std::vector<int32_t>>();
    }
    if (auto it = j.find("tileWidth"); it != j.end()) {
        p.tiles.tileWidth = it->get<int64_t>();
        p.tiles.keptRows = j.at("keptRows").get<std::vector<std::vector<int32_t>>>();
        p.tiles.keptColumns = j.at("keptColumns").get<std::vector<int32_t>>();
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
                return st.error().within(std::string(kKeyLayers) + "[" + std::to_string(i) + "]");
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

}  // namespace prunelab::engine::prune

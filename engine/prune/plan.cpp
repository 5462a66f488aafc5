// Pruning plans as JSON (nlohmann-json stays inside this file: its exceptions become Result
// errors naming the JSON path), plan validation and the named presets.
#include "engine/prune/plan.h"
#include "engine/prune/plan_json.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace prunelab::engine::prune {

using json = nlohmann::json;

// Layer names come from model files and may not be valid UTF-8; dump() would throw on them.
constexpr auto kReplaceBadUtf8 = json::error_handler_t::replace;

namespace {

using detail::paramsToJson;

std::string layerPath(const std::string& name) {
    return "$.layers[" + json(name).dump(-1, ' ', false, kReplaceBadUtf8) + "]";
}

bool isRateKey(const std::string& key) {
    return key == "rate" || (key.size() > 5 && key.compare(key.size() - 5, 5, "_rate") == 0);
}

// Scheme known, parameters valid for it, rates in [0, 1). `where` is the entry's JSON path.
Status validateEntry(const PlanEntry& entry, const std::string& where) {
    if (entry.dense) return {};
    const Scheme* scheme = findScheme(entry.scheme);
    if (scheme == nullptr) {
        std::string known;
        for (const Scheme* s : allSchemes())
            known += (known.empty() ? "" : ", ") + std::string(s->id());
        return makeError(ErrorCode::InvalidArgument, where + ".scheme: unknown scheme '" +
                                                         entry.scheme + "' (known: " + known + ")");
    }
    // The [0, 1) rule holds for every scheme, whatever its spec says: a rate of 1 empties the
    // layer, which no plan means to do.
    for (const auto& [key, value] : entry.params.all()) {
        double v = entry.params.number(key, 0);
        if (isRateKey(key) && !std::holds_alternative<std::string>(value) && !(v >= 0 && v < 1)) {
            return makeError(ErrorCode::InvalidArgument, where + ".params." + key + ": " +
                                                             json(v).dump() + " is outside [0, 1)");
        }
    }
    std::vector<ParamSpec> specs = scheme->params();
    ParamValues shown;  // the hidden keys' values are the scheme's to check, in project()
    const std::vector<std::string> hidden = scheme->hiddenParamKeys();
    for (const auto& [key, value] : entry.params.all())
        if (std::find(hidden.begin(), hidden.end(), key) == hidden.end()) shown.set(key, value);
    Status st = shown.validate(specs);
    if (!st.ok()) {
        return makeError(st.error().code, where + ".params: " + st.error().message);
    }
    return {};
}

Result<ParamValue> paramFromJson(const json& j, const std::string& where) {
    switch (j.type()) {
        case json::value_t::boolean:
            return ParamValue{j.get<bool>()};
        case json::value_t::number_integer:
            return ParamValue{j.get<int64_t>()};
        case json::value_t::number_unsigned: {
            uint64_t u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) break;
            return ParamValue{static_cast<int64_t>(u)};
        }
        case json::value_t::number_float:
            return ParamValue{j.get<double>()};
        case json::value_t::string:
            return ParamValue{j.get<std::string>()};
        default:
            break;
    }
    return makeError(ErrorCode::InvalidArgument,
                     where + ": a parameter must be a number, a string or true/false");
}

json paramToJson(const ParamValue& v) {
    if (auto* d = std::get_if<double>(&v)) return *d;
    if (auto* i = std::get_if<int64_t>(&v)) return *i;
    if (auto* b = std::get_if<bool>(&v)) return *b;
    return std::get<std::string>(v);
}

Result<ParamValues> paramsFromJson(const json& j, const std::string& where) {
    if (!j.is_object()) {
        return makeError(ErrorCode::InvalidArgument, where + ": expected an object of parameters");
    }
    ParamValues values;
    for (const auto& [key, item] : j.items()) {
        PL_TRY_ASSIGN(ParamValue v, paramFromJson(item, where + "." + key));
        values.set(key, std::move(v));
    }
    return values;
}

Result<PlanEntry> entryFromJson(const json& j, const std::string& where) {
    if (j.is_string() && j.get<std::string>() == "dense") return PlanEntry::keepDense();
    if (!j.is_object()) {
        return makeError(ErrorCode::InvalidArgument,
                         where + ": expected \"dense\" or {\"scheme\": ..., \"params\": {...}}");
    }
    for (const auto& [key, item] : j.items()) {
        if (key != "scheme" && key != "params") {
            return makeError(ErrorCode::InvalidArgument,
                             where + "." + key + ": unknown key (an entry has scheme, params)");
        }
    }
    auto scheme = j.find("scheme");
    if (scheme == j.end() || !scheme->is_string()) {
        return makeError(ErrorCode::InvalidArgument,
                         where + ".scheme: missing, or not a string (a scheme id or \"dense\")");
    }
    if (scheme->get<std::string>() == "dense") return PlanEntry::keepDense();
    ParamValues params;
    if (auto p = j.find("params"); p != j.end()) {
        PL_TRY_ASSIGN(params, paramsFromJson(*p, where + ".params"));
    }
    return PlanEntry::make(scheme->get<std::string>(), std::move(params));
}

json entryToJson(const PlanEntry& entry) {
    if (entry.dense) return "dense";
    return json{{"scheme", entry.scheme}, {"params", paramsToJson(entry.params)}};
}

Result<PruningPlan> planFromJson(const json& j, bool checkSchemes) {
    if (!j.is_object()) return makeError(ErrorCode::InvalidArgument, "$: expected an object");
    PruningPlan plan;
    for (const auto& [key, item] : j.items()) {
        static const std::set<std::string> kKeys = {"version", "default", "layers", "fallback",
                                                    "keepFirstLast"};
        if (!kKeys.count(key)) {
            return makeError(ErrorCode::InvalidArgument,
                             "$." + key +
                                 ": unknown key (a plan has version, default, layers, fallback, "
                                 "keepFirstLast)");
        }
    }
    auto version = j.find("version");
    if (version == j.end() || !version->is_number_integer()) {
        return makeError(ErrorCode::InvalidArgument, "$.version: missing or not a whole number");
    }
    int64_t v = version->get<int64_t>();
    if (v > kPlanVersion) {
        return makeError(ErrorCode::Unsupported, "$.version: plan version " + std::to_string(v) +
                                                     " is newer than this PruneLab reads (" +
                                                     std::to_string(kPlanVersion) +
                                                     "); update PruneLab");
    }
    if (v < 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "$.version: " + std::to_string(v) + " is not a plan version (1 or more)");
    }
    plan.version = static_cast<int>(v);
    if (auto d = j.find("default"); d != j.end()) {
        PL_TRY_ASSIGN(plan.defaultEntry, entryFromJson(*d, "$.default"));
    }
    if (auto layers = j.find("layers"); layers != j.end()) {
        if (!layers->is_object()) {
            return makeError(ErrorCode::InvalidArgument,
                             "$.layers: expected an object {layer name: entry}");
        }
        for (const auto& [name, item] : layers->items()) {
            PL_TRY_ASSIGN(PlanEntry e, entryFromJson(item, layerPath(name)));
            plan.layers[name] = std::move(e);
        }
    }
    if (auto f = j.find("fallback"); f != j.end()) {
        PL_TRY_ASSIGN(PlanEntry e, entryFromJson(*f, "$.fallback"));
        if (e.dense) {
            return makeError(ErrorCode::InvalidArgument,
                             "$.fallback: must name a scheme (layers can be kept dense in "
                             "$.layers)");
        }
        plan.fallbackScheme = e.scheme;
        plan.fallbackParams = e.params;
    }
    if (auto k = j.find("keepFirstLast"); k != j.end()) {
        if (!k->is_boolean()) {
            return makeError(ErrorCode::InvalidArgument, "$.keepFirstLast: expected true or false");
        }
        plan.keepFirstLast = k->get<bool>();
    }
    if (checkSchemes) PL_TRY(validatePlan(plan));
    return plan;
}

}  // namespace

Status validatePlan(const PruningPlan& plan) {
    if (plan.version < 1 || plan.version > kPlanVersion) {
        return makeError(ErrorCode::Unsupported, "$.version: plan version " +
                                                     std::to_string(plan.version) +
                                                     " is not supported (this build reads 1 to " +
                                                     std::to_string(kPlanVersion) + ")");
    }
    PL_TRY(validateEntry(plan.defaultEntry, "$.default"));
    for (const auto& [name, entry] : plan.layers) PL_TRY(validateEntry(entry, layerPath(name)));
    PL_TRY(validateEntry(PlanEntry::make(plan.fallbackScheme, plan.fallbackParams), "$.fallback"));
    return {};
}

Status validatePlanForGraph(const PruningPlan& plan, const Graph& graph) {
    PL_TRY(validatePlan(plan));
    std::set<std::string> names;
    for (const Layer& l : prunableLayers(graph)) names.insert(l.name);
    for (const auto& [name, entry] : plan.layers) {
        if (!names.count(name)) {
            return makeError(ErrorCode::NotFound,
                             layerPath(name) + ": the model has no prunable layer named '" + name +
                                 "' (prunelab-cli info lists them)",
                             graph.sourcePath);
        }
    }
    return {};
}

Result<PruningPlan> parsePlanJson(std::string_view text, const std::string& source,
                                  bool checkSchemes) {
    json j;
    try {
        j = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("not valid JSON: ") + e.what(), source);
    }
    try {
        auto plan = planFromJson(j, checkSchemes);
        if (!plan.ok()) return plan.error().within(source);
        return plan;
    } catch (const json::exception& e) {
        // The checks above should leave nothing to throw; this keeps a missed case an error.
        return makeError(ErrorCode::InvalidArgument, e.what(), source);
    }
}

std::string planToJson(const PruningPlan& plan) {
    json j;
    j["version"] = plan.version;
    j["default"] = entryToJson(plan.defaultEntry);
    json layers = json::object();
    for (const auto& [name, entry] : plan.layers) layers[name] = entryToJson(entry);
    j["layers"] = std::move(layers);
    j["fallback"] = entryToJson(PlanEntry::make(plan.fallbackScheme, plan.fallbackParams));
    j["keepFirstLast"] = plan.keepFirstLast;
    return j.dump(2, ' ', false, kReplaceBadUtf8) + "\n";
}

Result<PruningPlan> loadPlanFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open the plan file", path);
    std::ostringstream text;
    text << in.rdbuf();
    return parsePlanJson(text.str(), path);
}

Status savePlanFile(const PruningPlan& plan, const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    out << planToJson(plan);
    out.close();
    if (!out) return makeError(ErrorCode::Io, "cannot write the plan file", path);
    return {};
}

std::vector<std::string> presetNames() {
    return {"uniform-50", "uniform-75", "uniform-90", "patdnn-8", "tile-75"};
}

Result<PruningPlan> presetPlan(std::string_view name) {
    PruningPlan plan;
    ParamValues params;
    if (name == "uniform-50" || name == "uniform-75" || name == "uniform-90") {
        params.set("rate", std::stoi(std::string(name.substr(8))) / 100.0);
        plan.defaultEntry = PlanEntry::make("non_structured", params);
    } else if (name == "patdnn-8") {
        // PatDNN's "3.6x connectivity": keep 1 kernel in 3.6.
        params.set("patterns", int64_t{8});
        params.set("connectivity_rate", 1.0 - 1.0 / 3.6);
        plan.defaultEntry = PlanEntry::make("pattern", params);
        // Layers that are not 3x3 get the density the pattern layers have: 4 of 9 weights in
        // 1 kernel of 3.6.
        plan.fallbackParams.set("rate", 1.0 - 4.0 / (9.0 * 3.6));
    } else if (name == "tile-75") {
        params.set("rate", 0.75);
        plan.defaultEntry = PlanEntry::make("tile_wise", params);
    } else {
        std::string known;
        for (const std::string& n : presetNames()) known += (known.empty() ? "" : ", ") + n;
        return makeError(ErrorCode::NotFound,
                         "no preset named '" + std::string(name) + "' (presets: " + known + ")");
    }
    return plan;
}

namespace detail {

json paramsToJson(const ParamValues& values) {
    json j = json::object();
    for (const auto& [key, v] : values.all()) j[key] = paramToJson(v);
    return j;
}

const char* howName(LayerPruning::How how) {
    switch (how) {
        case LayerPruning::How::Dense:
            return "dense";
        case LayerPruning::How::Scheme:
            return "scheme";
        case LayerPruning::How::Fallback:
            return "fallback";
    }
    return "dense";
}

}  // namespace detail

}  // namespace prunelab::engine::prune

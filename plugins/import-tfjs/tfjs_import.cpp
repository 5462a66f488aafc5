// tfjs model.json -> IR: reads the JSON and its shards (through the path checks), then hands the
// topology to the graph-model or layers-model importer and verifies the result.
#include "plugins/import-tfjs/tfjs_import.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/ops/op.h"
#include "plugins/import-tfjs/tfjs_import_text.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace prunelab::tfjs {

using engine::ErrorCode;
using engine::Graph;
using engine::makeError;
using engine::Result;
using internal::Json;
namespace fs = std::filesystem;

namespace {

Result<std::string> readFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return makeError(ErrorCode::Io, "cannot open file", path);
    std::ostringstream data;
    data << file.rdbuf();
    if (file.bad()) return makeError(ErrorCode::Io, "read failed", path);
    return data.str();
}

std::string stem(const std::string& path) {
    const fs::path p(path);
    const std::string dir = p.parent_path().filename().string();
    return p.filename() == "model.json" && !dir.empty() ? dir : p.stem().string();
}

}  // namespace

bool looksLikeTfjsModel(const std::string& jsonText) {
    const Json j = Json::parse(jsonText, nullptr, false);
    if (!j.is_object()) return false;
    if (j.contains("modelTopology") || j.contains("weightsManifest")) return true;
    const auto f = j.find("format");
    return f != j.end() && f->is_string() && (*f == "graph-model" || *f == "layers-model");
}

Result<Graph> importTfjsText(const std::string& jsonText, const ShardSource& shards,
                             const std::string& displayPath, int64_t height, int64_t width) {
    const Json model = Json::parse(jsonText, nullptr, false);
    if (model.is_discarded() || !model.is_object()) {
        return makeError(ErrorCode::Corrupt, "not a JSON object", displayPath);
    }
    const auto topology = model.find("modelTopology");
    if (topology == model.end() || !topology->is_object()) {
        return makeError(ErrorCode::Corrupt,
                         "no modelTopology: a weights-only manifest needs the code that built "
                         "the model, which PruneLab cannot see",
                         displayPath);
    }
    std::string format = model.contains("format") && model["format"].is_string()
                             ? model["format"].get<std::string>()
                             : std::string();
    if (format.empty()) format = topology->contains("node") ? "graph-model" : "layers-model";
    if (format != "graph-model" && format != "layers-model") {
        return makeError(ErrorCode::Unsupported,
                         "format '" + format + "' (graph-model and layers-model are read)",
                         displayPath);
    }
    Json manifest = Json::array();
    if (auto m = model.find("weightsManifest"); m != model.end()) manifest = *m;
    auto weights = internal::readWeights(manifest, shards);
    if (!weights.ok()) return weights.error().within(displayPath);

    Graph graph;
    graph.name = stem(displayPath);
    graph.sourcePath = displayPath;
    engine::Status st = format == "graph-model"
                            ? internal::importGraphModel(model, *weights, graph, height, width)
                            : internal::importLayersModel(model, *weights, graph, height, width);
    if (!st.ok()) return st.error().within(displayPath);
    st = engine::verifyGraph(graph);
    if (!st.ok()) return st.error().within(displayPath);
    return graph;
}

Result<Graph> importTfjsText(const std::string& jsonText, const std::string& modelDir,
                             const std::string& displayPath, int64_t height, int64_t width) {
    const ShardSource read = [&](const std::string& path) -> Result<std::string> {
        auto st = internal::checkShardPath(path, modelDir);
        if (!st.ok()) return st.error();
        return readFile((fs::path(modelDir.empty() ? "." : modelDir) / path).string());
    };
    return importTfjsText(jsonText, read, displayPath, height, width);
}

Result<Graph> importTfjs(const std::string& modelJsonPath, int64_t height, int64_t width) {
    PL_TRY_ASSIGN(std::string text, readFile(modelJsonPath));
    std::string dir = fs::path(modelJsonPath).parent_path().string();
    if (dir.empty()) dir = ".";
    return importTfjsText(text, dir, modelJsonPath, height, width);
}

}  // namespace prunelab::tfjs

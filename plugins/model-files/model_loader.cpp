// Model loading and input preparation for the CLI and the window (see model_loader.h).
#include "plugins/model-files/model_loader.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "engine/io/image.h"
#include "engine/io/npy.h"
#include "engine/onnx/onnx_inputs.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::plugins {

using namespace prunelab::engine;

Result<const Catalog*> bundledCatalog() {
    // Read once per process: every command that takes a model may need it.
    static const Result<Catalog> catalog = loadCatalog(plugins::defaultCatalogPath());
    if (!catalog.ok()) return catalog.error();
    return &catalog.value();
}

namespace {

Result<CatalogEntry> findEntry(const std::string& id) {
    PL_TRY_ASSIGN(const Catalog* catalog, bundledCatalog());
    if (const CatalogEntry* e = catalog->find(id)) return *e;
    std::string known;
    for (const CatalogEntry& e : catalog->entries) known += (known.empty() ? "" : ", ") + e.id;
    return makeError(
        ErrorCode::NotFound,
        "'" + id + "' is neither a model file nor a catalog id (catalog: " + known + ")");
}

}  // namespace

Result<std::optional<CatalogEntry>> resolveEntry(const ModelRequest& request) {
    if (!request.as.empty()) {
        PL_TRY_ASSIGN(CatalogEntry e, findEntry(request.as));
        return std::optional<CatalogEntry>(std::move(e));
    }
    if (!std::filesystem::exists(request.path)) {
        // Catalog ids are bare names; anything with a folder or an extension meant a file.
        if (request.path.find_first_of("/.") != std::string::npos) {
            return makeError(ErrorCode::NotFound, "no such model file", request.path);
        }
        PL_TRY_ASSIGN(CatalogEntry e, findEntry(request.path));
        return std::optional<CatalogEntry>(std::move(e));
    }
    return std::optional<CatalogEntry>();
}

Result<std::pair<int64_t, int64_t>> parseSize(const std::string& wxh) {
    size_t x = wxh.find('x');
    try {
        if (x != std::string::npos) {
            size_t used1 = 0, used2 = 0;
            int64_t w = std::stoll(wxh.substr(0, x), &used1);
            int64_t h = std::stoll(wxh.substr(x + 1), &used2);
            if (used1 == x && used2 == wxh.size() - x - 1 && w > 0 && h > 0 && w <= 16384 &&
                h <= 16384) {
                return std::pair<int64_t, int64_t>{w, h};
            }
        }
    } catch (...) {
    }
    return makeError(
        ErrorCode::InvalidArgument,
        "--size must be WIDTHxHEIGHT with each between 1 and 16384, e.g. 640x480; got '" + wxh +
            "'");
}

Result<LoadedModel> loadModel(const ModelRequest& request) {
    PL_TRY_ASSIGN(std::optional<CatalogEntry> entry, resolveEntry(request));
    LoadedModel model;
    int64_t h = request.height, w = request.width;
    if (entry && entry->width == 0 && (h == 0 || w == 0)) {
        // A model that takes any size is bound to the demo frame's size unless told otherwise.
        InputSize s = inputSizeFor(*entry, plugins::kDefaultWidth, plugins::kDefaultHeight);
        h = s.height, w = s.width;
    }
    if (std::filesystem::exists(request.path)) {
        model.path = request.path;
        PL_TRY_ASSIGN(model.graph,
                      plugins::loadModelFile(request.path, h, w, !request.keepBatchNorm));
    } else {
        model.path = assetCacheDir() + "/" + entry->files[0];
        PL_TRY_ASSIGN(model.graph, plugins::loadCatalogModel(*entry, assetCacheDir(), h, w));
        model.graph.metadata[kCatalogIdKey] = entry->id;
    }
    std::string ext = std::filesystem::path(model.path).extension().string();
    model.onnx = ext == ".onnx" || ext == ".plab";
    // A pruned copy of a catalog model remembers which one it was (see cmdPrune).
    auto recorded = model.graph.metadata.find(kCatalogIdKey);
    if (!entry && recorded != model.graph.metadata.end()) {
        if (auto e = findEntry(recorded->second); e.ok()) entry = *e;
    }
    model.entry = entry;
    return model;
}

namespace {

Tensor randomInput(const Value& v) {
    Tensor t(v.dtype, v.shape);
    if (v.dtype == DataType::Float32) {
        uint32_t state = 12345;
        for (float& x : t.span<float>()) {
            state = state * 1664525u + 1013904223u;
            x = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
        }
    }
    return t;
}

Result<Tensor> loadInputFile(const std::string& file, const Value& v) {
    Tensor t;
    if (std::filesystem::path(file).extension() == ".npy") {
        PL_TRY_ASSIGN(t, readNpy(file));
    } else {
        PL_TRY_ASSIGN(t, loadImageAsInput(file, v.shape));
    }
    if (t.shape() != v.shape || t.dtype() != v.dtype) {
        return makeError(ErrorCode::InvalidArgument,
                         "input '" + v.name + "' needs " + std::string(dataTypeName(v.dtype)) +
                             " " + shapeToString(v.shape) + " but the file holds " +
                             std::string(dataTypeName(t.dtype())) + " " + shapeToString(t.shape()),
                         file);
    }
    return t;
}

}  // namespace

Result<std::vector<Tensor>> makeInputs(const LoadedModel& model,
                                       const std::vector<std::string>& specs) {
    const Graph& g = model.graph;
    std::map<std::string, std::string> byName;
    std::string first;
    for (const std::string& spec : specs) {
        size_t eq = spec.find('=');
        if (eq != std::string::npos && g.findValue(spec.substr(0, eq)) != kNoValue) {
            byName[spec.substr(0, eq)] = spec.substr(eq + 1);
        } else if (first.empty()) {
            first = spec;
        } else {
            return makeError(ErrorCode::InvalidArgument,
                             "more than one --input without a NAME= prefix: '" + spec + "'");
        }
    }
    for (const auto& [name, file] : byName) {
        bool isInput = false;
        for (ValueId id : g.inputs) isInput |= g.value(id).name == name;
        if (!isInput) {
            return makeError(ErrorCode::NotFound, "the model has no input named '" + name + "'",
                             model.path);
        }
    }
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < g.inputs.size(); ++i) {
        const Value& v = g.value(g.inputs[i]);
        std::string file = byName.count(v.name) ? byName[v.name] : (i == 0 ? first : "");
        if (!file.empty()) {
            PL_TRY_ASSIGN(Tensor t, loadInputFile(file, v));
            inputs.push_back(std::move(t));
            continue;
        }
        std::string photo = assetCacheDir() + "/photos/person.jpg";
        if (guessImageLayout(v.shape).ok() && std::filesystem::exists(photo)) {
            PL_TRY_ASSIGN(Tensor t, loadImageAsInput(photo, v.shape));
            inputs.push_back(std::move(t));
        } else {
            inputs.push_back(randomInput(v));
        }
    }
    return inputs;
}

}  // namespace prunelab::plugins

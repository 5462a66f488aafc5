// Model files by format, the asset cache and the catalog's location.
#include "plugins/model-files/model_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_inputs.h"
#include "engine/prune/pruned_model.h"
#include "plugins/import-ncnn/ncnn_import.h"
#include "plugins/import-tfjs/tfjs_import.h"
#include "plugins/import-tflite/tflite_import.h"
#include "plugins/import-waifu2x/waifu2x_import.h"

namespace prunelab::plugins {

using namespace prunelab::engine;
namespace fs = std::filesystem;

std::string assetCacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.cache";
    return base + "/prunelab";
}

std::string defaultCatalogPath() {
    if (const char* env = std::getenv("PRUNELAB_CATALOG"); env && *env) return env;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path installed = exe.parent_path().parent_path() / "share/prunelab/catalog.json";
        if (fs::exists(installed, ec)) return installed.string();
    }
    return std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json";
}

namespace {

// ncnn and waifu2x files declare no input size: the caller's, else the live demo's.
int64_t sizeOr(int64_t given, int64_t fallback) {
    return given > 0 ? given : fallback;
}

Result<Graph> openNcnn(const std::string& path, int64_t height, int64_t width, bool) {
    std::string bin = (fs::path(path).parent_path() / fs::path(path).stem()).string() + ".bin";
    return ncnn::importNcnn(path, bin, sizeOr(height, kDefaultHeight),
                            sizeOr(width, kDefaultWidth));
}

// waifu2x and TensorFlow.js both name their models .json: a tfjs model.json is told apart by
// its content ("modelTopology", "weightsManifest", a tfjs "format").
Result<Graph> openJson(const std::string& path, int64_t height, int64_t width, bool) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return makeError(ErrorCode::Io, "cannot open file", path);
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    if (tfjs::looksLikeTfjsModel(text)) {
        return tfjs::importTfjs(path, sizeOr(height, kDefaultHeight), sizeOr(width, kDefaultWidth));
    }
    return importWaifu2xJson(path, sizeOr(height, kDefaultHeight), sizeOr(width, kDefaultWidth));
}

// A .tflite declares its size: the caller's binds only dynamic dims (0 keeps the file's).
Result<Graph> openTflite(const std::string& path, int64_t height, int64_t width, bool) {
    return tflite::importTflite(path, height, width);
}

Result<Graph> openOnnx(const std::string& path, int64_t height, int64_t width, bool foldBatchNorm);

// A .plab is an ONNX model with PruneLab's metadata (engine/prune/pruned_model.h).
const ModelFormat kFormats[] = {
    {"ONNX", {".onnx"}, ".onnx", openOnnx},
    {"PruneLab pruned model", {".plab"}, ".plab", openOnnx},
    {"ncnn", {".param"}, "ncnn .param (+ .bin)", openNcnn},
    {"waifu2x or TensorFlow.js", {".json"}, "waifu2x .json or TensorFlow.js model.json", openJson},
    {"TensorFlow Lite", {".tflite"}, ".tflite", openTflite},
};

}  // namespace

std::span<const ModelFormat> modelFormats() {
    return kFormats;
}

const ModelFormat* modelFormatFor(const std::string& path) {
    const std::string ext = fs::path(path).extension().string();
    for (const ModelFormat& f : kFormats) {
        if (std::find(f.extensions.begin(), f.extensions.end(), ext) != f.extensions.end())
            return &f;
    }
    return nullptr;
}

std::string modelFormatsText() {
    std::string text;
    for (const ModelFormat& f : kFormats) text += (text.empty() ? "" : ", ") + f.spelled;
    return text;
}

std::string modelFileFilter(const std::string& extraName, const std::string& extraPatterns) {
    std::string all, each;
    for (const ModelFormat& f : kFormats) {
        std::string patterns;
        for (const std::string& e : f.extensions) patterns += (patterns.empty() ? "*" : " *") + e;
        all += (all.empty() ? "" : " ") + patterns;
        each += ";;" + f.name + " (" + patterns + ")";
    }
    return "Models and " + extraName + " (" + all + " " + extraPatterns + ")" + each + ";;" +
           extraName + " (" + extraPatterns + ")";
}

Result<Graph> loadModelFile(const std::string& path, int64_t height, int64_t width,
                            bool foldBatchNorm) {
    const ModelFormat* format = modelFormatFor(path);
    if (format == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "unknown model format '" + fs::path(path).extension().string() +
                             "' (PruneLab reads " + modelFormatsText() + ")",
                         path);
    }
    return format->open(path, height, width, foldBatchNorm);
}

namespace {

Result<Graph> openOnnx(const std::string& path, int64_t height, int64_t width, bool foldBatchNorm) {
    PL_TRY_ASSIGN(auto declared, readOnnxInputs(path));
    OnnxImportOptions options;
    options.foldBatchNorm = foldBatchNorm;
    bool fixedElsewhere = false;  // a dim the file fixes at another size than the one asked for
    for (const OnnxDeclaredInput& in : declared) {
        options.inputShapes[in.name] = bindImageSize(in.shape, height, width);
        for (size_t d = 0; d < in.shape.size(); ++d)
            fixedElsewhere |= in.shape[d] > 0 && in.shape[d] != options.inputShapes[in.name][d];
    }
    if (!fixedElsewhere) return importOnnxFile(path, options);
    // A pruned or retrained copy of a catalog model saved at the size it was trained at: its
    // weights fit the same model at any size, so they go onto the catalog model bound there.
    OnnxImportOptions own;
    own.foldBatchNorm = foldBatchNorm;
    auto saved = importOnnxFile(path, own);
    if (!saved.ok()) return saved.error();
    auto id = saved->metadata.find(kCatalogIdKey);
    if (id == saved->metadata.end()) return importOnnxFile(path, options);  // says which dim
    PL_TRY_ASSIGN(Catalog catalog, loadCatalog(defaultCatalogPath()));
    const CatalogEntry* entry = catalog.find(id->second);
    if (entry == nullptr || entry->width > 0) return importOnnxFile(path, options);
    PL_TRY_ASSIGN(Graph dense, loadCatalogModel(*entry, assetCacheDir(), height, width));
    auto moved = prune::transplantWeights(*saved, dense);
    if (!moved.ok()) return moved.error().within(path);
    return moved;
}

}  // namespace

Result<Graph> loadCatalogModel(const CatalogEntry& entry, const std::string& cacheDir,
                               int64_t height, int64_t width) {
    for (const std::string& file : entry.files) {
        std::string p = cacheDir + "/" + file;
        if (!fs::exists(p)) {
            return makeError(ErrorCode::NotFound,
                             "model file is missing from the asset cache (run ./prunelab setup)",
                             p);
        }
    }
    if (entry.width > 0) height = entry.height, width = entry.width;
    return loadModelFile(cacheDir + "/" + entry.files[0], height, width);
}

Result<Graph> loadCatalogModel(const std::string& id, int64_t height, int64_t width) {
    PL_TRY_ASSIGN(Catalog catalog, loadCatalog(defaultCatalogPath()));
    const CatalogEntry* entry = catalog.find(id);
    if (entry == nullptr) {
        return makeError(ErrorCode::NotFound, "no model '" + id + "' in the catalog",
                         defaultCatalogPath());
    }
    return loadCatalogModel(*entry, assetCacheDir(), height, width);
}

}  // namespace prunelab::plugins

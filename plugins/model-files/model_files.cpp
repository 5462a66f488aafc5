// Model files by format, the asset cache and the catalog's location.
#include "plugins/model-files/model_files.h"

#include <cstdlib>
#include <filesystem>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_inputs.h"
#include "engine/prune/pruned_model.h"
#include "plugins/import-ncnn/ncnn_import.h"
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

Result<Graph> loadModelFile(const std::string& path, int64_t height, int64_t width,
                            bool foldBatchNorm) {
    std::string ext = fs::path(path).extension().string();
    int64_t h = height > 0 ? height : kDefaultHeight, w = width > 0 ? width : kDefaultWidth;
    if (ext == ".param") {
        std::string bin = (fs::path(path).parent_path() / fs::path(path).stem()).string() + ".bin";
        return ncnn::importNcnn(path, bin, h, w);
    }
    if (ext == ".json") return importWaifu2xJson(path, h, w);
    // A .plab is an ONNX model with PruneLab's metadata (engine/prune/pruned_model.h).
    if (ext != ".onnx" && ext != ".plab") {
        return makeError(ErrorCode::Unsupported,
                         "unknown model format '" + ext +
                             "' (PruneLab reads .onnx, .plab, ncnn .param + .bin and waifu2x "
                             ".json)",
                         path);
    }
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

}  // namespace prunelab::plugins

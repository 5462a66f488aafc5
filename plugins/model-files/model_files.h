// Opening models by file or by catalog id: dispatches on the file's format to the engine's ONNX
// importer or the ncnn / waifu2x plugins, and finds the asset cache and the catalog.
// Thread-safe (no shared state); never throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/tasks/catalog.h"

namespace prunelab::plugins {

// The metadata key a pruned copy of a catalog model keeps its catalog id under, so it is fed,
// decoded and (at another size) loaded like the original.
inline constexpr const char* kCatalogIdKey = "prunelab.catalog_id";

// ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab, as ./prunelab setup fills it.
std::string assetCacheDir();

// $PRUNELAB_CATALOG when set, else ../share/prunelab/catalog.json beside an installed binary,
// else the source tree's assets/catalog.json.
std::string defaultCatalogPath();

// The image size used for ncnn and waifu2x models when the caller gives none (their files do
// not declare one): 320x240, the live demo's size.
constexpr int64_t kDefaultWidth = 320, kDefaultHeight = 240;

// One file format PruneLab opens. The list (modelFormats) is the one place formats are named:
// the CLI's help, the window's Open dialog, drag-and-drop and loadModelFile all read it, so a new
// importer is one entry in model_files.cpp.
struct ModelFormat {
    std::string name;                     // "ncnn": the dialog's filter name
    std::vector<std::string> extensions;  // {".param"}
    std::string spelled;                  // "ncnn .param (+ .bin)": for help texts and errors
    // Imports `path`; image inputs bound to height x width (> 0), see loadModelFile.
    engine::Result<engine::Graph> (*open)(const std::string& path, int64_t height, int64_t width,
                                          bool foldBatchNorm);
};
std::span<const ModelFormat> modelFormats();
// The format of `path` by its extension; null when none reads it.
const ModelFormat* modelFormatFor(const std::string& path);
// ".onnx, .plab, ncnn .param (+ .bin), waifu2x .json or TensorFlow.js model.json, ...": every
// format, for help texts and errors.
std::string modelFormatsText();
// "Models and <extraName> (*.onnx *.plab ... <extraPatterns>);;ONNX (*.onnx);;...;;<extraName>
// (<extraPatterns>)": the Open dialog's filter (Qt's syntax), every model format and one more
// kind (projects), without an "All files" entry.
std::string modelFileFilter(const std::string& extraName, const std::string& extraPatterns);

// Reads .onnx / .plab (dynamic dims bound to height x width when those are > 0; a file saved at
// a fixed size of a catalog model that takes any size, such as a retrained .plab, has its
// weights carried onto the catalog model at height x width), .param (ncnn;
// the .bin beside it with the same stem) or .json (waifu2x, or a TensorFlow.js model.json with
// its shards, told apart by content). Unsupported names the extension.
// ONNX BatchNormalization is folded into its conv unless `foldBatchNorm` is false (retraining
// keeps it as a node so that it trains; see engine/train/trainer.h).
engine::Result<engine::Graph> loadModelFile(const std::string& path, int64_t height = 0,
                                            int64_t width = 0, bool foldBatchNorm = true);

// The entry's files from `cacheDir`, bound to width x height (the entry's fixed size wins).
// NotFound says to run ./prunelab setup when a file is missing.
engine::Result<engine::Graph> loadCatalogModel(const engine::CatalogEntry& entry,
                                               const std::string& cacheDir, int64_t height,
                                               int64_t width);
// The catalog's model `id` (the default catalog, the asset cache): for tests, benches and tools
// that name a model. NotFound names an unknown id, or says to run ./prunelab setup.
engine::Result<engine::Graph> loadCatalogModel(const std::string& id, int64_t height = 0,
                                               int64_t width = 0);

}  // namespace prunelab::plugins

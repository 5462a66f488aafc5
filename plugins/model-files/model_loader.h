// A model as the CLI and the window ask for it: a file in any format of modelFormats() or a
// catalog id, loaded into the IR with dynamic dims bound and its catalog entry found; and --input
// arguments (image, .npy, NAME=FILE.npy) turned into input tensors.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::plugins {

struct ModelRequest {
    std::string path;               // a model file or a catalog id
    int64_t width = 0, height = 0;  // from --size; 0 = the file's size (catalog: 320x240 frame)
    std::string as;                 // --as ID: decode like this catalog model (a pruned copy)
    bool keepBatchNorm = false;     // ONNX BatchNormalization stays a node (retraining)
};

struct LoadedModel {
    std::string path;  // the file read (for a catalog id, the file in the cache)
    bool onnx = true;  // .onnx / .plab, so reference runtimes can load `path` itself
    engine::Graph graph;
    std::optional<engine::CatalogEntry> entry;  // how to feed and decode it, when known
};

// The catalog, read once (plugins::defaultCatalogPath()).
engine::Result<const engine::Catalog*> bundledCatalog();

// Which catalog entry describes the request: the id itself, --as, or the catalog id a pruned
// model recorded in its metadata. nullopt for a plain file.
engine::Result<std::optional<engine::CatalogEntry>> resolveEntry(const ModelRequest& request);

engine::Result<std::pair<int64_t, int64_t>> parseSize(const std::string& wxh);
engine::Result<LoadedModel> loadModel(const ModelRequest& request);

// Each spec is FILE (for the first input; an image is resized and laid out as the input
// declares, a .npy is fed as it is) or NAME=FILE.npy. Inputs with no spec get a photo from the
// asset cache when they look like images, else deterministic random data.
engine::Result<std::vector<engine::Tensor>> makeInputs(const LoadedModel& model,
                                                       const std::vector<std::string>& specs);

}  // namespace prunelab::plugins

// Shared by the CLI's commands: load a model file into the IR with dynamic dims bound, and
// turn --input arguments (image, .npy, NAME=FILE.npy) into input tensors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::cli {

struct ModelRequest {
    std::string path;
    int64_t width = 0, height = 0;  // from --size; 0 = keep the file's size
};

struct LoadedModel {
    std::string path;
    engine::Graph graph;
};

engine::Result<std::pair<int64_t, int64_t>> parseSize(const std::string& wxh);
engine::Result<LoadedModel> loadModel(const ModelRequest& request);

// Each spec is FILE (for the first input; an image is resized and laid out as the input
// declares, a .npy is fed as it is) or NAME=FILE.npy. Inputs with no spec get a photo from the
// asset cache when they look like images, else deterministic random data.
engine::Result<std::vector<engine::Tensor>> makeInputs(const LoadedModel& model,
                                                       const std::vector<std::string>& specs);

// The asset cache (${XDG_CACHE_HOME:-~/.cache}/prunelab), as ./prunelab setup fills it.
std::string assetCacheDir();

int runHeadlessDemo();

}  // namespace prunelab::cli

// What prunelab-cli's commands share: the model loader (plugins/model-files/model_loader.h) by
// its short names, and fail(), every command's error path.
#pragma once

#include "engine/ir/result.h"
#include "plugins/model-files/model_loader.h"

namespace prunelab::cli {

using plugins::assetCacheDir;
using plugins::bundledCatalog;
using plugins::kCatalogIdKey;
using plugins::LoadedModel;
using plugins::loadModel;
using plugins::makeInputs;
using plugins::ModelRequest;
using plugins::parseSize;
using plugins::resolveEntry;

// Prints "prunelab-cli: <error>" on stderr and returns the exit code 1.
int fail(const engine::Error& error);

int runHeadlessDemo();

}  // namespace prunelab::cli

// The tfjs importer on model.json text already in memory, with its shards read from `modelDir`:
// the entry the fuzzer uses (no file per iteration), and importTfjs's own core.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::tfjs {

// As importTfjs; `displayPath` names the model in errors.
engine::Result<engine::Graph> importTfjsText(const std::string& jsonText,
                                             const std::string& modelDir,
                                             const std::string& displayPath, int64_t height,
                                             int64_t width);

// The shard bytes for a manifest path, e.g. from memory. The caller checks the path; a
// lexical check is checkShardPath in tfjs_internal.h (plugins/import-tfjs only).
using ShardSource = std::function<engine::Result<std::string>(const std::string& path)>;

// As above with shards from `shards` instead of a folder (the fuzzer's entry).
engine::Result<engine::Graph> importTfjsText(const std::string& jsonText, const ShardSource& shards,
                                             const std::string& displayPath, int64_t height,
                                             int64_t width);

}  // namespace prunelab::tfjs

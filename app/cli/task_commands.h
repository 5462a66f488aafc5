// prunelab-cli's catalog commands: `catalog` (the bundled models and whether their files are in
// the cache) and `run` on a catalog model (picture in, faces / text boxes / a bigger picture /
// labels out, optionally drawn with --draw).
#pragma once

#include <string>

#include "app/cli/cli.h"
#include "engine/runtime/backend.h"

namespace prunelab::cli {

int cmdCatalog(const std::string& id);

struct TaskRunRequest {
    ModelRequest model;    // a catalog id, or a file with --as ID / a recorded catalog id
    std::string picture;   // --input; empty: the entry's sample picture
    std::string drawPath;  // --draw OUT.png
    int threads = 0;
    const engine::Backend* backend = nullptr;  // null: the CPU
};
int cmdRunTask(const TaskRunRequest& request);

}  // namespace prunelab::cli

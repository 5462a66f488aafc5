// prunelab-cli's pruning commands: prune (apply a plan or preset, write ONNX or .plab) and stats
// (density, MACs and storage bytes of a pruned model). Each returns the process exit code and
// prints errors as "prunelab-cli: ...".
#pragma once

#include <string>

#include "app/cli/model_loader.h"

namespace prunelab::cli {

struct PruneRequest {
    ModelRequest model;
    std::string planPath;      // a plan JSON file, or
    std::string preset;        // a preset name (exactly one of the two)
    std::string outPath;       // .onnx: zeros in place + plan/stats metadata; .plab: also masks
    std::string savePlanPath;  // optional: write the plan that was applied as JSON
    std::string shrunkPath;    // optional, structured plans: the physically smaller model
};

int cmdPrune(const PruneRequest& request);
// MODEL_OR_PRUNED: a .plab, a pruned .onnx (statistics from its zeros and metadata) or any
// .onnx model (all dense).
int cmdStats(const ModelRequest& request, bool json);

}  // namespace prunelab::cli

// prunelab-cli's pruning commands: prune (apply a plan or preset, write ONNX or .plab), stats
// (density, MACs and storage bytes of a pruned model) and sensitivity (per-layer pruning
// tolerance). Each returns the process exit code and
// prints errors as "prunelab-cli: ...".
#pragma once

#include <string>
#include <vector>

#include "app/cli/cli.h"

namespace prunelab::cli {

struct PruneRequest {
    ModelRequest model;
    std::string planPath;      // a plan JSON file, or
    std::string preset;        // a preset name (exactly one of the two)
    std::string outPath;       // .onnx: zeros in place + plan/stats metadata; .plab: also masks
    std::string savePlanPath;  // optional: write the plan that was applied as JSON
    std::string shrunkPath;    // optional, structured plans: the physically smaller model
};

struct SensitivityRequest {
    ModelRequest model;
    std::string scheme = "non_structured";
    std::string inputsDir;  // images / .npy files for the first input; empty: random inputs
    int samples = 4;        // random inputs when there is no folder (fixed seed)
    std::vector<double> rates = {0.25, 0.5, 0.75, 0.9};
    std::string metric = "auto";  // auto, top1, psnr, l2
    int threads = 0;
};

int cmdPrune(const PruneRequest& request);
// Ctrl-C stops the analysis (the engine sees a cancel flag) instead of killing the process.
int cmdSensitivity(const SensitivityRequest& request);
// MODEL_OR_PRUNED: a .plab, a pruned .onnx (statistics from its zeros and metadata) or any
// .onnx model (all dense).
int cmdStats(const ModelRequest& request, bool json);

}  // namespace prunelab::cli

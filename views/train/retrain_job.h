// What the retrain panel asks for and gets back. The views never link libtorch: the app passes
// in a RetrainFunction (app/gui/retrainer.h) that opens the model and data and runs the trainer,
// or none when PruneLab was built without it, and the panel says so.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "engine/ir/result.h"
#include "engine/prune/plan.h"
#include "engine/train/trainer.h"

namespace prunelab::views {

struct RetrainRequest {
    std::string model;  // the session's source: a file or a catalog id
    engine::prune::PruningPlan plan;
    std::string data;        // engine::train::openDataset's spec ("fashion-mnist", "frames:PATH")
    size_t limit = 0;        // the first N training examples (0: all)
    size_t testLimit = 500;  // examples the metric is measured on after each record
    // Progress, cancel, checkpoint and the ADMM watch are set by the panel; `test` is filled in
    // by the function from the data's held-out part.
    engine::train::TrainOptions options;
    engine::train::RetrainOptions retrain;
    bool resume = false;  // continue from options.checkpointPath
};

struct RetrainOutcome {
    engine::train::TrainResult result;
    bool distilled = false;  // no labels: the metric is PSNR against the dense model
    std::string data;        // the training data, described ("Fashion-MNIST train (...)")
};

// Blocking; called on a worker thread, one run at a time.
using RetrainFunction = std::function<engine::Result<RetrainOutcome>(RetrainRequest)>;

}  // namespace prunelab::views

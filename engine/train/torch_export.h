// Exports a retraining run to PyTorch (`prunelab-cli admm ... --export-torch DIR`): the model,
// its weights, the data, the plan's projections and the settings as files beside a
// self-contained train.py (engine/train/python/prunelab_train.py) that runs the same ADMM under
// DistributedDataParallel. No torch here: the CLI calls it whether or not it links libtorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"
#include "engine/train/data.h"
#include "engine/train/trainer.h"

namespace prunelab::engine::train {

// Writes into `dir` (created; files of an earlier export are replaced, a checkpoint.pt there is
// removed since it belongs to the old run):
//   train.py, prunelab_projection.py, README.md,
//   model.json (values, nodes with canonical attributes and what each op needs resolved, the
//   prunable layers and their storage), weights.bin (every constant, raw little-endian, offsets
//   in model.json), data/train_x.npy + train_y.npy (the examples as the trainer sees them,
//   float32, and int64 labels), data/test_x.npy + test_y.npy when `test` is given,
//   settings.json (the options), projection.json (the projection spec of every ADMM stage's
//   plan with the pattern sets chosen on the dense weights, the final one, which layers the
//   plan prunes, the plan itself).
// `model` is as the trainer takes it (BatchNormalization kept as a node). Errors: Unsupported
// for what the script does not do (a method other than ADMM, label-free distillation, an op
// without a torch mapping, more than one input), Io naming the file.
Status exportTorchRun(const std::string& dir, const Graph& model, const prune::PruningPlan& plan,
                      const Dataset& data, const Dataset* test, const TrainOptions& options,
                      const RetrainOptions& retrainOptions);

// The ops train.py interprets (those of engine/train/torch_module.cpp).
const std::vector<OpKind>& torchExportOps();

// The text of engine/train/python/prunelab_train.py, embedded at build time (static storage).
std::string_view torchTrainScript();

}  // namespace prunelab::engine::train

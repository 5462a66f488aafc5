// The workbench's retraining: opens the model as the CLI's admm command does (BatchNormalization
// kept as a node, so it trains with labels), the data and its held-out part, and runs the trainer.
#pragma once

#include "views/train/retrain_job.h"

namespace prunelab::gui {

// Empty when PruneLab was built without libtorch (the panel then says why it cannot train).
views::RetrainFunction workbenchRetrainer();

}  // namespace prunelab::gui

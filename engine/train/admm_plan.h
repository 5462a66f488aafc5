// ADMM's plans and schedule, without torch: the progressive stage plans, the frozen pattern sets
// and the automatic update count, shared by the trainer and the PyTorch export so both run the
// same recipe (docs/ADMM.md).
#pragma once

#include <cstdint>
#include <span>

#include "engine/prune/plan.h"
#include "engine/prune/pruned_model.h"

namespace prunelab::engine::train {

// Every rate ("rate", "*_rate") r of the plan scaled to r * fraction: a gentler version of the
// same constraint, for gradual pruning.
prune::PruningPlan scaledPlan(const prune::PruningPlan& plan, double fraction);

// Progressive ADMM (Ye et al.; ADMM-NN's 10x then 50x): stage s (1-based) of `stages` keeps the
// fraction (1 - r)^(s / stages) of what each rate r removes entirely, so the kept fraction falls
// geometrically and the last stage is the plan itself.
prune::PruningPlan stagePlan(const prune::PruningPlan& plan, int stage, int stages);

// The largest rate the plan asks for anywhere (0 for a dense plan).
double largestRate(const prune::PruningPlan& plan);

// One stage per 20x of the weights a rate removes: 95% in one, 98% (50x) in two, 99.9% in three.
int autoStages(const prune::PruningPlan& plan);

// The plan with each pattern-pruned layer's pattern set fixed to the one `first` chose (PatDNN
// chooses the set once, from the dense weights): later projections of W + U may then change a
// kernel's pattern within the set, but not swap the shapes every kernel may take.
prune::PruningPlan freezePatternSets(const prune::PruningPlan& plan,
                                     std::span<const prune::LayerPruning> first);

// Z/U updates in an ADMM stage of `length` optimiser steps when chosen automatically: W-steps
// of about 200 steps, 4 to 10 a stage, none shorter than 25 (train.py has the same rule).
int64_t autoUpdates(int64_t length);

}  // namespace prunelab::engine::train

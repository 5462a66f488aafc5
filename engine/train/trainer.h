// The trainer: dense training for the zoo's lab models, and retraining a pruned model three
// ways with the same epoch budget: ADMM (W-step with the augmented penalty, Z = the plan's own
// projection of W + U, U += W - Z, then hard prune and masked fine-tune), one-shot + fine-tune,
// and gradual magnitude pruning (Zhu and Gupta). Labelled data uses cross-entropy; label-free
// data distils the dense model (MSE on its outputs, KL for classifiers). No torch in this
// header: the CLI and the GUI include it without libtorch's headers.
// BatchNormalization nodes (the zoo's models; ONNX files imported with foldBatchNorm off) train
// with batch statistics on labelled data and are folded into their convs in the result, which
// keeps every zero. Distilling, they are folded first and the folded weights retrain: frames
// unrelated to the model's training data would corrupt the statistics.
// Blocking; one training at a time per process (torch's thread count is process-wide).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"
#include "engine/train/data.h"

namespace prunelab::engine::train {

// What a progress callback sees, after every optimiser step.
struct TrainProgress {
    std::string phase;  // "train", "admm", "fine-tune", "gradual"
    int epoch = 0;      // 0-based, over the whole run
    int epochs = 0;
    int64_t step = 0;  // optimiser steps done, over the whole run
    int64_t steps = 0;
    double loss = 0;
    double learningRate = 0;  // of the step just taken
    double secondsElapsed = 0;
};

// One row of the history the GUI plots: at each ADMM Z-update, and at the end of every epoch.
struct IterationRecord {
    std::string phase;
    int epoch = 0;
    int64_t step = 0;
    int admmIteration = -1;  // ADMM rows: 0, 1, ...; -1 otherwise
    double loss = 0;         // mean training loss since the previous row
    double metric = 0;       // test accuracy (0..1) with labels; PSNR (dB) vs the dense model
    double rho = 0;          // ADMM only
    // ADMM only, per pruned layer in prunableLayers() order (0 for dense layers):
    // primal ||W - Z|| and dual ||Z - Z_prev|| (Frobenius).
    std::vector<double> primal, dual;
    double density = 1;  // kept / total weights of the plan's pruned layers, as things stand
};

// W, Z and U of one layer at an ADMM update, in the schemes' [out][in/g][kh][kw] view: what the
// GUI animates converging to the constraint set.
struct AdmmSnapshot {
    int admmIteration = 0;
    size_t layer = 0;  // index in prunableLayers()
    Tensor w, z, u;
};

struct TrainOptions {
    int epochs = 1;  // the whole budget (retraining: ADMM + fine-tune)
    int batchSize = 64;
    double learningRate = 1e-3;  // Adam's, or SGD's when momentum > 0
    // When >= 0, the learning rate falls from learningRate to this along a half cosine over the
    // whole run (a step's rate depends only on the step, so a resumed run matches a straight
    // one). Fine-tuning to a close match (distilling a super-resolution model) gains from the
    // small steps at the end; -1 keeps the rate constant.
    double learningRateFinal = -1;
    double weightDecay = 0;
    // > 0: SGD with this (heavy-ball) momentum instead of Adam, for every method alike.
    double momentum = 0;
    uint64_t seed = 1;
    int threads = 0;              // 0: one per core
    size_t maxStepsPerEpoch = 0;  // 0: the whole data set per epoch (tests use a few steps)
    // > 0: stop after this many optimiser steps; the result is the weights as they stand (no
    // hard prune, fold or final projection), which tests compare with the PyTorch export's.
    int64_t maxSteps = 0;
    const Dataset* test = nullptr;  // evaluated for every history row (a small subset is fine)
    // Checkpoints (atomic: temp file, fsync, rename) every `checkpointEvery` steps (0: only at
    // ADMM updates and epoch ends) when a path is given.
    std::string checkpointPath;
    int checkpointEvery = 0;
    std::function<void(const TrainProgress&)> progress;
    const std::atomic<bool>* cancel = nullptr;  // checked before every step
    // ADMM: called after every Z/U update with layer `watchLayer` (when it is pruned).
    int watchLayer = -1;
    std::function<void(const AdmmSnapshot&)> onAdmmUpdate;
    // Called with every history row as it is added (live charts), on the training thread.
    std::function<void(const IterationRecord&)> onRecord;
};

enum class RetrainMethod { Admm, OneShot, Gradual };
const char* retrainMethodName(RetrainMethod m);  // "admm", "one-shot", "gradual"

struct RetrainOptions {
    RetrainMethod method = RetrainMethod::Admm;
    // The last `fineTuneEpochs` of TrainOptions::epochs are masked fine-tuning (ADMM: after the
    // hard prune; gradual: after the final sparsity is reached). One-shot fine-tunes throughout.
    int fineTuneEpochs = 1;
    // ADMM (docs/ADMM.md has the whole recipe). Stages: progressive ADMM for extreme rates,
    // each stage a full ADMM at a higher rate (0: one per 20x the plan removes). Updates: Z/U
    // updates per epoch of W-steps (0: W-steps of ~200 optimiser steps, 4 to 10 a stage).
    // The penalty pulls the weights Z removes towards Z - U; those Z keeps are free.
    // rho is relative to each layer's mean squared dense weight; within every stage it starts
    // at `rho` and grows by the multiplier after each update up to rhoMax (multiplier 0: the
    // growth that reaches rhoMax at the stage's last update).
    int admmStages = 0;
    int admmUpdatesPerEpoch = 0;
    double rho = 1e-3, rhoMultiplier = 0, rhoMax = 1;
    // Gradual: pruning steps (each re-projects with the plan's rates scaled by Zhu and Gupta's
    // cubic ramp s_t = s_f (1 - (1 - t/n)^3)) spread over the non-fine-tune epochs.
    int gradualSteps = 10;
    // Label-free: the dense model's outputs are the targets (the data's labels are ignored).
    bool distill = false;
    // Distilling: which outputs (in graph order) are logits of independent yes/no scores, such
    // as a detector's; they are matched as probabilities, the rest by mean squared error.
    std::vector<bool> logitOutputs;
    // Start from these weights instead of the dense model's (an earlier retraining under the
    // same plan, at any input size: prune::transplantWeights); the dense model stays the
    // teacher. InvalidArgument when it is not the same model.
    std::optional<Graph> start;
};

struct TrainResult {
    Graph model;  // trained; retraining: pruned (zeros in place)
    std::vector<IterationRecord> history;
    double metric = 0;  // on options.test at the end (accuracy or PSNR), 0 without test data
    double seconds = 0;
    int64_t steps = 0;
};

// Trains every parameter of `model` on labelled data (cross-entropy on output 0).
Result<TrainResult> trainDense(const Graph& model, const Dataset& data,
                               const TrainOptions& options);

// Retrains `dense` under `plan`. With `resume`, continues from options.checkpointPath, which
// must exist (NotFound) and come from the same model weights, data, plan and options
// (InvalidArgument when not). The result's model satisfies the plan: prune::applyPlan(result.model,
// plan) leaves it unchanged.
Result<TrainResult> retrain(const Graph& dense, const prune::PruningPlan& plan, const Dataset& data,
                            const TrainOptions& options, const RetrainOptions& retrainOptions,
                            bool resume = false);

// Top-1 accuracy of output 0 on labelled data.
Result<double> evaluateAccuracy(const Graph& model, const Dataset& data, int batchSize = 256,
                                int threads = 0);
// PSNR (dB) of `student`'s outputs against `teacher`'s on the same inputs, the peak being the
// range of the teacher's outputs: how close a pruned model stays to the dense one.
Result<double> evaluateAgreementPsnr(const Graph& student, const Graph& teacher,
                                     const Dataset& data, int batchSize = 8, int threads = 0);

}  // namespace prunelab::engine::train

// prunelab-cli's training commands: train-base (a lab model from scratch), admm (retrain a
// model under a pruning plan: ADMM, one-shot + fine-tune or gradual; resumable) and eval
// (accuracy, or agreement with the dense model in dB). Without libtorch they say so.
#pragma once

#include <string>

#include "engine/train/trainer.h"

#include "app/cli/cli.h"

namespace prunelab::cli {

struct TrainRequest {
    std::string arch;    // train-base
    ModelRequest model;  // admm / eval
    std::string data = "fashion-mnist";
    std::string test;  // default: the data's test split when it has one
    std::string planPath, preset;
    std::string out;
    std::string checkpoint;   // write checkpoints here
    std::string resume;       // resume from (and keep writing) this checkpoint
    int checkpointEvery = 0;  // also checkpoint every N optimiser steps (0: updates, epoch ends)
    std::string historyCsv;   // write the per-iteration history
    std::string init;         // start from this pruned model's weights
    std::string method = "admm";
    std::string against;  // eval: PSNR against this (dense) model
    int epochs = 2;
    int fineTuneEpochs = 1;
    int batch = 64;
    double learningRate = 1e-3;
    double learningRateFinal = -1;  // -1: constant
    double momentum = 0;            // > 0: SGD with momentum instead of Adam
    // ADMM: the trainer's defaults (0: automatic), so the CLI and the GUI start alike.
    double rho = engine::train::RetrainOptions{}.rho;
    double rhoMultiplier = engine::train::RetrainOptions{}.rhoMultiplier;
    double rhoMax = engine::train::RetrainOptions{}.rhoMax;
    int updatesPerEpoch = engine::train::RetrainOptions{}.admmUpdatesPerEpoch;
    int stages = engine::train::RetrainOptions{}.admmStages;
    bool distill = false;
    int seed = 1;
    int threads = 0;
    size_t limit = 0;  // use only the first N training examples
    size_t testLimit = 0;
    size_t stepsPerEpoch = 0;
    std::string exportTorch;  // admm: write the run as a PyTorch folder instead of training
    int64_t maxSteps = 0;     // admm: stop after this many steps, write the weights as they are
};

int cmdTrainBase(const TrainRequest& request);
int cmdAdmm(const TrainRequest& request);
int cmdEval(const TrainRequest& request);

}  // namespace prunelab::cli

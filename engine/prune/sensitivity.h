// Sensitivity analysis: prune one layer at a time at several rates and measure how much the
// model's outputs move on a batch of inputs. Tells students which layers can take pruning.
// Runs jobs (layer x rate) on worker threads with the runner it is given; cancellable.
#pragma once

#include <atomic>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

enum class SensitivityMetric {
    Auto,           // Top1Agreement for a [1, C] output, Psnr when an output has the first
                    // input's shape (image to image), RelativeL2 otherwise
    Top1Agreement,  // fraction of inputs whose arg-max of output 0 matches the dense one
    Psnr,           // dB over all outputs, peak = the dense outputs' range; capped at 100
    RelativeL2,     // ||pruned - dense|| / ||dense|| over all outputs and inputs
};
const char* sensitivityMetricName(SensitivityMetric metric);

// Runs `graph` on every sample of `batch` and returns each sample's outputs. The caller gives it
// (a backend's executor, runtime/backend.h: runBatch), so pruning depends on no runtime. Called
// from the worker threads at once: each call must use an executor of its own.
using BatchRunner = std::function<Result<std::vector<std::vector<Tensor>>>(
    const Graph& graph, std::span<const std::vector<Tensor>> batch)>;

struct SensitivityOptions {
    BatchRunner run;  // required
    std::string scheme = "non_structured";
    ParamValues params;  // the scheme's other parameters; the rate key is set per job
    // The parameter the rates go to: empty = "rate", or the scheme's only "*_rate" parameter.
    std::string rateKey;
    std::vector<double> rates = {0.25, 0.5, 0.75, 0.9};
    SensitivityMetric metric = SensitivityMetric::Auto;
    int threads = 0;  // worker threads, 0 = hardware concurrency; each job runs single-threaded
    const std::atomic<bool>* cancel = nullptr;  // set to true to stop: returns Cancelled
    // Called after each job, from the worker threads (one call at a time), with done/total.
    std::function<void(int done, int total)> progress;
};

// The parameter of `scheme` the rates go to: `wanted` when given, else "rate", else its first
// "*_rate" parameter. InvalidArgument naming the scheme when it has none.
Result<std::string> rateKeyFor(const Scheme& scheme, const std::string& wanted = {});

struct LayerSensitivity {
    std::string layer;
    bool supported = true;       // false: the scheme does not apply to this layer (values NaN)
    std::vector<double> values;  // per rate, in options.rates order
};

struct SensitivityTable {
    SensitivityMetric metric = SensitivityMetric::RelativeL2;  // the one used (never Auto)
    std::vector<double> rates;
    std::vector<LayerSensitivity> layers;  // prunableLayers() order
};

// `batch`: one entry per sample, each the model's inputs in graph.inputs order. Errors: an
// unknown scheme or bad parameters, inputs that do not fit, Cancelled.
Result<SensitivityTable> analyzeSensitivity(const Graph& graph,
                                            std::span<const std::vector<Tensor>> batch,
                                            const SensitivityOptions& options);

std::string formatSensitivity(const SensitivityTable& table);  // a fixed-width table

}  // namespace prunelab::engine::prune

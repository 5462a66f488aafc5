// Sensitivity analysis: one job per (layer, rate) prunes that layer alone through a one-entry
// plan, runs the batch on its own single-threaded CPU executor and compares with the dense
// outputs. Jobs are claimed from an atomic counter, so results do not depend on scheduling.
#include "engine/prune/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include "engine/prune/plan.h"

namespace prunelab::engine::prune {

const char* sensitivityMetricName(SensitivityMetric metric) {
    switch (metric) {
        case SensitivityMetric::Auto:
            return "auto";
        case SensitivityMetric::Top1Agreement:
            return "top-1 agreement";
        case SensitivityMetric::Psnr:
            return "PSNR (dB)";
        case SensitivityMetric::RelativeL2:
            return "relative L2";
    }
    return "";
}

namespace {

using Outputs = std::vector<std::vector<Tensor>>;  // per sample, per graph output

constexpr double kPsnrCap = 100.0;  // identical outputs would be +inf; keep the table finite

SensitivityMetric chooseMetric(const Graph& graph) {
    const Shape& out0 = graph.value(graph.outputs[0]).shape;
    if (graph.outputs.size() == 1 && out0.size() == 2 && out0[0] == 1 && out0[1] > 1) {
        return SensitivityMetric::Top1Agreement;
    }
    const Shape& in0 = graph.value(graph.inputs[0]).shape;
    for (ValueId id : graph.outputs) {
        if (in0.size() == 4 && graph.value(id).shape == in0) return SensitivityMetric::Psnr;
    }
    return SensitivityMetric::RelativeL2;
}

size_t argmax(const std::vector<float>& v) {
    size_t best = 0;
    for (size_t i = 1; i < v.size(); ++i) {
        if (v[i] > v[best]) best = i;
    }
    return best;
}

double compare(SensitivityMetric metric, const Outputs& dense, const Outputs& pruned) {
    if (metric == SensitivityMetric::Top1Agreement) {
        int agree = 0;
        for (size_t s = 0; s < dense.size(); ++s) {
            agree += argmax(dense[s][0].toFloatVector()) == argmax(pruned[s][0].toFloatVector());
        }
        return static_cast<double>(agree) / static_cast<double>(dense.size());
    }
    double diff2 = 0, ref2 = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int64_t count = 0;
    for (size_t s = 0; s < dense.size(); ++s) {
        for (size_t o = 0; o < dense[s].size(); ++o) {
            std::vector<float> a = dense[s][o].toFloatVector(), b = pruned[s][o].toFloatVector();
            for (size_t k = 0; k < a.size(); ++k) {
                double d = static_cast<double>(b[k]) - a[k];
                diff2 += d * d;
                ref2 += static_cast<double>(a[k]) * a[k];
                lo = std::min(lo, static_cast<double>(a[k]));
                hi = std::max(hi, static_cast<double>(a[k]));
            }
            count += static_cast<int64_t>(a.size());
        }
    }
    if (metric == SensitivityMetric::RelativeL2) {
        return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
    }
    double mse = count ? diff2 / static_cast<double>(count) : 0;
    double peak = hi > lo ? hi - lo : 1.0;
    if (mse <= 0) return kPsnrCap;
    return std::min(kPsnrCap, 10.0 * std::log10(peak * peak / mse));
}

}  // namespace

Result<std::string> rateKeyFor(const Scheme& scheme, const std::string& wanted) {
    std::vector<ParamSpec> specs = scheme.params();
    std::vector<std::string> rates;
    for (const ParamSpec& s : specs) {
        if (!wanted.empty() ? s.key == wanted
                            : s.key == "rate" || (s.key.size() > 5 &&
                                                  s.key.compare(s.key.size() - 5, 5, "_rate") == 0))
            rates.push_back(s.key);
    }
    if (rates.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the " + std::string(scheme.id()) + " scheme has no " +
                             (wanted.empty() ? std::string("rate parameter") : "'" + wanted + "'") +
                             " to vary");
    }
    // Prefer "rate" when a scheme has both it and a "*_rate".
    for (const std::string& k : rates) {
        if (k == "rate") return k;
    }
    return rates.front();
}

Result<SensitivityTable> analyzeSensitivity(const Graph& graph,
                                            std::span<const std::vector<Tensor>> batch,
                                            const SensitivityOptions& options) {
    const Scheme* scheme = findScheme(options.scheme);
    if (scheme == nullptr) {
        return makeError(ErrorCode::InvalidArgument, "unknown scheme '" + options.scheme + "'");
    }
    if (batch.empty()) return makeError(ErrorCode::InvalidArgument, "no inputs to run");
    if (!options.run) {
        return makeError(ErrorCode::InvalidArgument, "sensitivity analysis needs a runner");
    }
    if (graph.outputs.empty() || graph.inputs.empty()) {
        return makeError(ErrorCode::InvalidArgument, "the model has no inputs or outputs");
    }
    PL_TRY_ASSIGN(std::string rateKey, rateKeyFor(*scheme, options.rateKey));
    for (double r : options.rates) {
        PruningPlan probe;  // checks the parameters and the [0, 1) rate before any work
        ParamValues p = options.params;
        p.set(rateKey, r);
        probe.defaultEntry = PlanEntry::make(options.scheme, p);
        PL_TRY(validatePlan(probe));
    }

    SensitivityTable table;
    table.metric = options.metric == SensitivityMetric::Auto ? chooseMetric(graph) : options.metric;
    table.rates = options.rates;
    std::vector<Layer> layers = prunableLayers(graph);
    const size_t rateCount = options.rates.size();
    for (const Layer& l : layers) {
        LayerSensitivity row;
        row.layer = l.name;
        PL_TRY_ASSIGN(LayerWeights w, layerWeights(graph, l));
        row.supported = scheme->supports(w);
        row.values.assign(rateCount, std::numeric_limits<double>::quiet_NaN());
        table.layers.push_back(std::move(row));
    }
    PL_TRY_ASSIGN(Outputs dense, options.run(graph, batch));

    std::vector<std::pair<size_t, size_t>> jobs;  // (layer, rate)
    for (size_t l = 0; l < layers.size(); ++l) {
        if (!table.layers[l].supported) continue;
        for (size_t r = 0; r < rateCount; ++r) jobs.emplace_back(l, r);
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;  // guards firstError, done and progress calls
    Error firstError;
    int done = 0;
    auto worker = [&] {
        for (;;) {
            if (failed.load() || (options.cancel && options.cancel->load())) return;
            size_t j = next.fetch_add(1);
            if (j >= jobs.size()) return;
            auto [l, r] = jobs[j];
            PruningPlan plan;
            plan.keepFirstLast = false;
            ParamValues p = options.params;
            p.set(rateKey, options.rates[r]);
            plan.layers[layers[l].name] = PlanEntry::make(options.scheme, p);
            auto pruned = applyPlan(graph, plan);
            Result<Outputs> outputs =
                pruned.ok() ? options.run(pruned->graph, batch) : Result<Outputs>(pruned.error());
            std::lock_guard<std::mutex> lock(mutex);
            if (!outputs.ok()) {
                if (!failed.exchange(true)) {
                    firstError = outputs.error().within("layer '" + layers[l].name + "'");
                }
                return;
            }
            table.layers[l].values[r] = compare(table.metric, dense, *outputs);
            ++done;
            if (options.progress) options.progress(done, static_cast<int>(jobs.size()));
        }
    };
    int threadCount = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::thread::hardware_concurrency());
    threadCount = std::max(1, std::min<int>(threadCount, static_cast<int>(jobs.size())));
    std::vector<std::thread> threads;
    for (int t = 1; t < threadCount; ++t) {
        try {
            threads.emplace_back(worker);
        } catch (const std::system_error&) {
            break;  // fewer threads is still correct
        }
    }
    worker();  // the calling thread works too
    for (std::thread& t : threads) t.join();
    if (failed.load()) return firstError;
    if (options.cancel && options.cancel->load()) {
        return makeError(ErrorCode::Cancelled, "sensitivity analysis cancelled");
    }
    return table;
}

std::string formatSensitivity(const SensitivityTable& table) {
    std::string out = std::string("metric: ") + sensitivityMetricName(table.metric) + "\n";
    char cell[64];
    std::snprintf(cell, sizeof cell, "%4s  %-40s", "#", "layer");
    out += cell;
    for (double r : table.rates) {
        std::snprintf(cell, sizeof cell, " %9s",
                      ("rate " + std::to_string(r).substr(0, 4)).c_str());
        out += cell;
    }
    out += "\n";
    for (size_t i = 0; i < table.layers.size(); ++i) {
        const LayerSensitivity& l = table.layers[i];
        std::string name =
            l.layer.size() > 40 ? "..." + l.layer.substr(l.layer.size() - 37) : l.layer;
        std::snprintf(cell, sizeof cell, "%4zu  %-40s", i, name.c_str());
        out += cell;
        for (double v : l.values) {
            if (!l.supported) {
                std::snprintf(cell, sizeof cell, " %9s", "n/a");
            } else {
                std::snprintf(cell, sizeof cell, " %9.4f", v);
            }
            out += cell;
        }
        out += "\n";
    }
    return out;
}

}  // namespace prunelab::engine::prune

// keepFasterKernels: times every step of the dense and the sparse executor on the same inputs,
// alternating runs, and keeps a sparse layer only where its median beats the dense one.
#include "engine/runtime/measure.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

namespace prunelab::engine {

namespace {

// Deterministic data for every float input: timings do not depend on values, but NaNs or
// denormals would.
std::vector<Tensor> measureInputs(const Graph& graph) {
    std::vector<Tensor> inputs;
    uint32_t state = 2024;
    for (ValueId id : graph.inputs) {
        const Value& v = graph.value(id);
        Tensor t(v.dtype, v.shape);
        if (v.dtype == DataType::Float32) {
            for (float& x : t.span<float>()) {
                state = state * 1664525u + 1013904223u;
                x = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
            }
        }
        inputs.push_back(std::move(t));
    }
    return inputs;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

// The samples of one executor's profiled runs, reduced to medians by finish().
struct Samples {
    std::map<std::string, std::vector<double>> byStep;
    std::vector<double> totals, layoutChanges;

    Status take(Executor& exec, std::span<const Tensor> inputs) {
        PL_TRY(exec.run(inputs));
        double total = 0, changes = 0;
        for (const Executor::StepTime& t : exec.lastStepTimes()) {
            total += t.ms;
            if (t.layoutChange) {
                changes += t.ms;
            } else {
                byStep[t.where].push_back(t.ms);
            }
        }
        totals.push_back(total), layoutChanges.push_back(changes);
        return {};
    }
    StepMedians finish() const {
        StepMedians m;
        for (const auto& [where, ms] : byStep) m.byStep[where] = median(ms);
        m.totalMs = median(totals), m.layoutChangeMs = median(layoutChanges);
        return m;
    }
};

}  // namespace

Result<std::pair<StepMedians, StepMedians>> profileAlternating(Executor& a, Executor& b,
                                                               std::span<const Tensor> inputs,
                                                               int runs) {
    PL_TRY(a.run(inputs));  // warm-up: first touch of buffers, caches
    PL_TRY(b.run(inputs));
    a.setProfiling(true);
    b.setProfiling(true);
    Samples sa, sb;
    for (int r = 0; r < std::max(1, runs); ++r) {
        PL_TRY(sa.take(a, inputs));
        PL_TRY(sb.take(b, inputs));
    }
    a.setProfiling(false);
    b.setProfiling(false);
    return std::pair<StepMedians, StepMedians>{sa.finish(), sb.finish()};
}

Result<codegen::SparseModel> keepFasterKernels(const Graph& graph, codegen::SparseModel model,
                                               const MeasureOptions& options) {
    if (!options.backend) {
        return makeError(ErrorCode::InvalidArgument, "the measured decision needs a backend");
    }
    const auto start = std::chrono::steady_clock::now();
    PrepareOptions denseOptions;
    denseOptions.threads = options.threads;
    PrepareOptions sparseOptions = denseOptions;
    sparseOptions.sparse = std::make_shared<codegen::SparseModel>(model);
    sparseOptions.generated = options.generated;
    const Backend& backend = *options.backend;
    PL_TRY_ASSIGN(auto dense, backend.prepare(graph, denseOptions));
    PL_TRY_ASSIGN(auto sparse, backend.prepare(graph, sparseOptions));
    const std::vector<Tensor> inputs = measureInputs(graph);
    PL_TRY_ASSIGN(auto perLayer, profileAlternating(*dense, *sparse, inputs, options.runs));
    const StepMedians& d = perLayer.first;
    const StepMedians& s = perLayer.second;

    std::string dump;
    char line[256];
    codegen::Measurement measured;
    measured.backend = std::string(backend.name());
    measured.threads = dense->threads();
    measured.runs = std::max(1, options.runs);
    for (codegen::LayerCode& layer : model.layers) {
        if (layer.kind == codegen::KernelKind::Dense) continue;
        const std::string where = graph.describeNode(static_cast<size_t>(layer.node));
        const double dm = d.of(where), sm = s.of(where);
        const bool keep = sm > 0 && dm >= sm * options.minSpeedup;
        measured.layers.push_back({layer.index, sm, dm, keep});
        std::snprintf(line, sizeof line, "measured %s %.3f ms vs dense %.3f ms (%d runs): %s",
                      codegen::kernelKindName(layer.kind), sm, dm, std::max(1, options.runs),
                      keep ? "kept" : "dense, so pruning never makes this layer slower");
        layer.decision += std::string("; ") + line;
        if (!keep) layer.kind = codegen::KernelKind::Dense;
        dump += "layer " + std::to_string(layer.index) + ": " + line + "\n";
    }
    // The layout changes around sparse layers (plain NCHW between Nhwc dense neighbours) are
    // not in any layer's own time: the whole model must be faster too, or nothing stays sparse.
    const bool anySparse = std::any_of(model.layers.begin(), model.layers.end(), [](const auto& l) {
        return l.kind != codegen::KernelKind::Dense;
    });
    if (anySparse) {
        sparseOptions.sparse = std::make_shared<codegen::SparseModel>(model);
        PL_TRY_ASSIGN(auto revised, backend.prepare(graph, sparseOptions));
        PL_TRY_ASSIGN(auto whole, profileAlternating(*dense, *revised, inputs, options.runs));
        const double dt = whole.first.totalMs, st = whole.second.totalMs;
        const bool keep = dt >= st * options.minSpeedup;
        measured.wholeSparseMs = st, measured.wholeDenseMs = dt, measured.wholeKept = keep;
        std::snprintf(line, sizeof line, "whole model %.3f ms sparse vs %.3f ms dense: %s", st, dt,
                      keep ? "kept" : "all dense (the layout changes cost more than they saved)");
        dump += std::string(line) + "\n";
        for (codegen::LayerCode& layer : model.layers) {
            if (keep || layer.kind == codegen::KernelKind::Dense) continue;
            layer.decision += std::string("; ") + line;
            layer.kind = codegen::KernelKind::Dense;
        }
    }
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    model.passes.push_back({"measure", dump, took.count()});
    model.measured = std::move(measured);
    return model;
}

}  // namespace prunelab::engine

// benchModel: builds the three lanes and times them interleaved.
#include "plugins/refrt/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "engine/codegen/sparse_ir.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/cpu/sparse/measure.h"
#include "plugins/refrt/opencv_runner.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::refrt {

using namespace prunelab::engine;

namespace {

// PruneLab's executor of the request's graph on its backend: dense, or with its sparse layers.
Result<std::unique_ptr<Executor>> prepareLane(const BenchRequest& request, bool sparse) {
    PrepareOptions options;
    options.threads = request.threads;
    if (sparse) options.sparse = request.sparse, options.generated = request.generated;
    options.halfStorage = request.halfStorage;
    const Backend& backend = request.backend ? *request.backend : defaultBackend();
    return backend.prepare(*request.graph, options);
}

}  // namespace

Result<std::vector<HalfError>> measureHalfError(const Backend& backend, const Graph& graph,
                                                std::span<const Tensor> inputs,
                                                const PrepareOptions& base) {
    PrepareOptions full = base, half = base;
    full.halfStorage = false;
    half.halfStorage = true;
    PL_TRY_ASSIGN(auto fullExec, backend.prepare(graph, full));
    PL_TRY_ASSIGN(auto halfExec, backend.prepare(graph, half));
    PL_TRY_ASSIGN(std::vector<Tensor> want, fullExec->run(inputs));
    PL_TRY_ASSIGN(std::vector<Tensor> got, halfExec->run(inputs));
    std::vector<HalfError> errors;
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        const std::vector<float> a = got[i].toFloatVector(), b = want[i].toFloatVector();
        HalfError e;
        e.output = graph.value(graph.outputs[i]).name;
        if (b.empty() || a.size() != b.size()) continue;
        const auto [lo, hi] = std::minmax_element(b.begin(), b.end());
        const double range = std::max(double(*hi) - double(*lo), 1e-12);
        double sum = 0;
        for (size_t k = 0; k < a.size(); ++k) {
            const double d = std::fabs(double(a[k]) - double(b[k]));
            sum += d;
            if (!(d <= e.worst)) e.worst = d;  // NaN too
        }
        e.worst /= range;
        e.mean = sum / static_cast<double>(a.size()) / range;
        errors.push_back(e);
    }
    return errors;
}

Result<std::vector<LaneStats>> benchModel(const BenchRequest& request) {
    const Graph& graph = *request.graph;
    PL_TRY_ASSIGN(auto exec, prepareLane(request, false));
    // Fail early, before timing, if PruneLab cannot run it.
    PL_TRY(exec->run(request.inputs));

    std::vector<std::string> inputNames;
    for (ValueId id : graph.inputs) inputNames.push_back(graph.value(id).name);

    std::vector<Lane> lanes;
    lanes.push_back({"PruneLab dense", [&]() -> Status {
                         PL_TRY(exec->run(request.inputs));
                         return {};
                     }});

    std::unique_ptr<Executor> sparse;
    if (request.sparse) {
        PL_TRY_ASSIGN(sparse, prepareLane(request, true));
        PL_TRY(sparse->run(request.inputs));
        lanes.push_back({"PruneLab sparse", [&]() -> Status {
                             PL_TRY(sparse->run(request.inputs));
                             return {};
                         }});
    }

    std::string ortError, cvError;
    auto ort = OrtRunner::load(request.modelPath, request.threads);
    if (ort.ok()) {
        lanes.push_back({"ONNX Runtime", [&]() -> Status {
                             PL_TRY((*ort)->run(request.inputs));
                             return {};
                         }});
    } else {
        ortError = ort.error().toString();
    }
    auto cv = OpenCvDnnRunner::load(request.modelPath, request.threads);
    if (cv.ok()) {
        lanes.push_back({"OpenCV DNN", [&]() -> Status {
                             PL_TRY((*cv)->run(request.inputs, inputNames));
                             return {};
                         }});
    } else {
        cvError = cv.error().toString();
    }
    TimingOptions timing;
    timing.runs = request.runs;
    timing.warmup = request.warmup;
    std::vector<LaneStats> stats = timeInterleaved(lanes, timing);
    if (!ortError.empty()) stats.push_back({"ONNX Runtime", false, ortError});
    if (!cvError.empty()) stats.push_back({"OpenCV DNN", false, cvError});
    return stats;
}

Result<LayerProfile> profileLayers(const BenchRequest& request, int runs) {
    if (!request.sparse) {
        return makeError(ErrorCode::InvalidArgument, "profiling layers needs compiled layers");
    }
    const Graph& graph = *request.graph;
    PL_TRY_ASSIGN(auto dense, prepareLane(request, false));
    PL_TRY_ASSIGN(auto sparse, prepareLane(request, true));
    PL_TRY_ASSIGN(auto medians, cpu::profileAlternating(*dense, *sparse, request.inputs, runs));
    const cpu::StepMedians& d = medians.first;
    const cpu::StepMedians& s = medians.second;
    LayerProfile profile;
    for (const codegen::LayerCode& l : request.sparse->layers) {
        LayerTiming t;
        t.index = l.index;
        t.where = graph.describeNode(static_cast<size_t>(l.node));
        t.kind = codegen::kernelKindName(l.kind);
        t.denseMs = d.of(t.where);
        t.sparseMs = s.of(t.where);
        t.denseMacs = l.denseMacs, t.keptMacs = l.keptMacs;
        t.decision = l.decision;
        profile.layers.push_back(std::move(t));
    }
    std::map<std::string, StepTiming> others;
    for (const auto* lane : {&d, &s}) {
        for (const auto& [where, ms] : lane->byStep) {
            StepTiming& t = others[where];
            t.where = where;
            (lane == &d ? t.denseMs : t.sparseMs) = ms;
        }
    }
    for (const LayerTiming& t : profile.layers) others.erase(t.where);
    for (auto& [where, t] : others) profile.others.push_back(std::move(t));
    std::stable_sort(
        profile.others.begin(), profile.others.end(), [](const StepTiming& a, const StepTiming& b) {
            return std::fabs(a.sparseMs - a.denseMs) > std::fabs(b.sparseMs - b.denseMs);
        });
    profile.denseTotalMs = d.totalMs, profile.denseReorderMs = d.layoutChangeMs;
    profile.sparseTotalMs = s.totalMs, profile.sparseReorderMs = s.layoutChangeMs;
    return profile;
}

std::string formatLayerProfile(const LayerProfile& p) {
    std::string out;
    char line[768];
    std::snprintf(line, sizeof line, "  %-3s %-9s %10s %10s %8s %10s %10s  %s\n", "#", "kernel",
                  "dense ms", "sparse ms", "speedup", "ideal", "GFLOP/s", "decision");
    out += line;
    for (const LayerTiming& t : p.layers) {
        const double ideal =
            t.keptMacs > 0 ? static_cast<double>(t.denseMacs) / static_cast<double>(t.keptMacs) : 0;
        const double gflops =
            t.sparseMs > 0 ? 2e-6 * static_cast<double>(t.keptMacs) / t.sparseMs : 0;
        std::snprintf(line, sizeof line, "  %-3d %-9s %10.3f %10.3f %7.2fx %9.2fx %10.1f  %s\n",
                      t.index, t.kind.c_str(), t.denseMs, t.sparseMs,
                      t.sparseMs > 0 ? t.denseMs / t.sparseMs : 0.0, ideal, gflops,
                      t.decision.c_str());
        out += line;
    }
    double otherDense = 0, otherSparse = 0;
    for (const StepTiming& t : p.others) otherDense += t.denseMs, otherSparse += t.sparseMs;
    std::snprintf(line, sizeof line,
                  "  other steps: dense %.3f ms, sparse %.3f ms; the largest differences:\n",
                  otherDense, otherSparse);
    out += line;
    for (size_t i = 0; i < p.others.size() && i < 5; ++i) {
        const StepTiming& t = p.others[i];
        std::snprintf(line, sizeof line, "      %10.3f %10.3f  %s\n", t.denseMs, t.sparseMs,
                      t.where.c_str());
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "  all steps: dense %.3f ms (layout changes %.3f), sparse %.3f ms (layout "
                  "changes %.3f)\n",
                  p.denseTotalMs, p.denseReorderMs, p.sparseTotalMs, p.sparseReorderMs);
    out += line;
    return out;
}

std::string formatBenchTable(const std::vector<LaneStats>& stats) {
    const LaneStats* ours = stats.empty() ? nullptr : &stats[0];
    const LaneStats* sparse = nullptr;
    for (const LaneStats& s : stats) {
        if (s.ok && s.name == "PruneLab sparse") sparse = &s;
    }
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "  %-16s %10s %10s %22s%s\n", "runtime", "median ms", "min ms",
                  "PruneLab / this (med)", sparse ? "   this / sparse (med)" : "");
    out += line;
    for (const LaneStats& s : stats) {
        if (!s.ok) {
            std::string why = s.error.size() > 110 ? s.error.substr(0, 107) + "..." : s.error;
            std::snprintf(line, sizeof line, "  %-16s %10s   (%s)\n", s.name.c_str(), "n/a",
                          why.c_str());
            out += line;
            continue;
        }
        std::string ratio = "", speedup = "";
        if (ours && ours->ok && &s != ours) {
            char r[32];
            std::snprintf(r, sizeof r, "%22.3f", ours->medianMs / s.medianMs);
            ratio = r;
        } else {
            ratio.assign(22, ' ');
        }
        if (sparse && &s != sparse) {
            char r[32];
            std::snprintf(r, sizeof r, "   %20.2fx", s.medianMs / sparse->medianMs);
            speedup = r;
        }
        std::snprintf(line, sizeof line, "  %-16s %10.3f %10.3f %s%s\n", s.name.c_str(), s.medianMs,
                      s.minMs, ratio.c_str(), speedup.c_str());
        out += line;
    }
    return out;
}

}  // namespace prunelab::refrt

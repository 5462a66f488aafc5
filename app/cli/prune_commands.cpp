// prune and stats: thin wrappers over engine/prune (plan, applyPlan, stats, pruned_model) that
// turn every failure into one actionable line.
#include "app/cli/prune_commands.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "engine/onnx/plab_file.h"
#include "engine/prune/plan.h"
#include "engine/prune/pruned_model.h"
#include "engine/prune/sensitivity.h"
#include "engine/prune/stats.h"
#include "engine/runtime/backend_list.h"

namespace prunelab::cli {

using namespace prunelab::engine;
using namespace prunelab::engine::prune;

namespace {

std::string howText(const LayerPruning& lp) {
    switch (lp.how) {
        case LayerPruning::How::Dense:
            return "dense";
        case LayerPruning::How::Scheme:
            return lp.scheme;
        case LayerPruning::How::Fallback:
            return lp.scheme + " (fallback)";
    }
    return "";
}

Result<PruningPlan> choosePlan(const PruneRequest& request) {
    if (request.planPath.empty() == request.preset.empty()) {
        std::string names;
        for (const std::string& n : presetNames()) names += (names.empty() ? "" : ", ") + n;
        return makeError(
            ErrorCode::InvalidArgument,
            "give exactly one of --plan PLAN.json or --preset NAME (presets: " + names + ")");
    }
    if (!request.preset.empty()) return presetPlan(request.preset);
    return loadPlanFile(request.planPath);
}

}  // namespace

int cmdPrune(const PruneRequest& request) {
    std::string ext = std::filesystem::path(request.outPath).extension().string();
    if (ext != ".onnx" && ext != ".plab") {
        return fail(makeError(ErrorCode::InvalidArgument,
                              "--out must end in .onnx (pruned weights, plan and statistics in "
                              "the metadata) or .plab (also the masks, patterns and tiles)",
                              request.outPath));
    }
    auto plan = choosePlan(request);
    if (!plan.ok()) return fail(plan.error());
    auto model = loadModel(request.model);
    if (!model.ok()) return fail(model.error());
    auto pruned = applyPlan(model->graph, *plan);
    if (!pruned.ok()) return fail(pruned.error().within(request.model.path));

    for (const LayerPruning& lp : pruned->layers) {
        std::printf("%-40s %-26s %s\n", lp.layer.name.c_str(), howText(lp).c_str(),
                    lp.reason.c_str());
    }
    ModelStats stats = modelStats(*pruned);
    std::printf("\n%s", formatStats(stats).c_str());

    Status st = ext == ".plab" ? savePlabFile(*pruned, request.outPath)
                               : exportPrunedOnnx(*pruned, request.outPath);
    if (!st.ok()) return fail(st.error());
    if (!request.shrunkPath.empty()) {
        if (!pruned->shrunk) {
            return fail(makeError(ErrorCode::InvalidArgument,
                                  "--shrunk needs a plan with structured entries (only they "
                                  "remove whole channels)"));
        }
        st = exportOnnxFile(*pruned->shrunk, request.shrunkPath,
                            {{"prunelab.plan", planToJson(*plan)}});
        if (!st.ok()) return fail(st.error());
        std::printf("wrote %s (structured shrink)\n", request.shrunkPath.c_str());
    }
    if (!request.savePlanPath.empty()) {
        st = savePlanFile(*plan, request.savePlanPath);
        if (!st.ok()) return fail(st.error());
    }
    std::printf("wrote %s\n", request.outPath.c_str());
    return 0;
}

int cmdStats(const ModelRequest& request, bool json) {
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    ModelStats stats;
    std::string plan;
    if (isPlabGraph(model->graph)) {
        auto pruned = prunedModelFromGraph(std::move(model->graph));
        if (!pruned.ok()) return fail(pruned.error());
        stats = modelStats(*pruned);
        plan = planToJson(pruned->plan);
    } else {
        // A plain or exported ONNX model: the masks are its non-zero weights.
        stats = modelStats(model->graph);
        auto it = model->graph.metadata.find("prunelab.plan");
        if (it != model->graph.metadata.end()) plan = it->second;
    }
    if (json) {
        std::printf("%s\n", statsToJson(stats).c_str());
        return 0;
    }
    std::printf("model   %s\n\n%s", request.path.c_str(), formatStats(stats).c_str());
    if (!plan.empty()) std::printf("\nplan:\n%s", plan.c_str());
    return 0;
}

namespace {

std::atomic<bool> g_cancel{false};  // set by SIGINT; a lock-free atomic is signal-safe

extern "C" void onInterrupt(int) {
    g_cancel.store(true);
}

// One sample per file in the folder (sorted, so the table is reproducible), or `samples`
// random ones. Each file feeds the first input, the others get their defaults.
Result<std::vector<std::vector<Tensor>>> loadBatch(const LoadedModel& model,
                                                   const SensitivityRequest& request) {
    std::vector<std::vector<Tensor>> batch;
    if (request.inputsDir.empty()) {
        uint32_t seed = 2024;
        for (int s = 0; s < request.samples; ++s) {
            std::vector<Tensor> inputs;
            for (ValueId id : model.graph.inputs) {
                const Value& v = model.graph.value(id);
                Tensor t(v.dtype, v.shape);
                if (v.dtype == DataType::Float32) {
                    for (float& x : t.span<float>()) {
                        seed = seed * 1664525u + 1013904223u;
                        x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24);
                    }
                }
                inputs.push_back(std::move(t));
            }
            batch.push_back(std::move(inputs));
        }
        return batch;
    }
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(request.inputsDir, ec)) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (ext == ".npy" || ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") {
            files.push_back(entry.path().string());
        }
    }
    if (ec)
        return makeError(ErrorCode::Io, "cannot read the folder: " + ec.message(),
                         request.inputsDir);
    if (files.empty()) {
        return makeError(ErrorCode::NotFound, "no .npy or image files in the folder",
                         request.inputsDir);
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
        PL_TRY_ASSIGN(std::vector<Tensor> inputs, makeInputs(model, {file}));
        batch.push_back(std::move(inputs));
    }
    return batch;
}

}  // namespace

int cmdSensitivity(const SensitivityRequest& request) {
    SensitivityOptions options;
    // One thread per job: the parallelism is across jobs.
    options.run = [](const Graph& graph, std::span<const std::vector<Tensor>> batch) {
        return runBatch(defaultBackend(), graph, batch, 1);
    };
    options.scheme = request.scheme;
    options.rates = request.rates;
    options.threads = request.threads;
    const std::pair<const char*, SensitivityMetric> metrics[] = {
        {"auto", SensitivityMetric::Auto},
        {"top1", SensitivityMetric::Top1Agreement},
        {"psnr", SensitivityMetric::Psnr},
        {"l2", SensitivityMetric::RelativeL2}};
    bool known = false;
    for (const auto& [name, metric] : metrics) {
        if (request.metric == name) {
            options.metric = metric;
            known = true;
        }
    }
    if (!known) {
        return fail(
            makeError(ErrorCode::InvalidArgument,
                      "--metric must be auto, top1, psnr or l2; got '" + request.metric + "'"));
    }
    auto model = loadModel(request.model);
    if (!model.ok()) return fail(model.error());
    auto batch = loadBatch(*model, request);
    if (!batch.ok()) return fail(batch.error());

    g_cancel.store(false);
    options.cancel = &g_cancel;
    auto previous = std::signal(SIGINT, onInterrupt);
    options.progress = [](int done, int total) {
        std::fprintf(stderr, "\r%d / %d", done, total);
        if (done == total) std::fprintf(stderr, "\n");
    };
    auto table = analyzeSensitivity(model->graph, *batch, options);
    std::signal(SIGINT, previous);
    if (!table.ok()) return fail(table.error().within(request.model.path));
    std::printf("%s, scheme %s, %zu input%s\n%s", request.model.path.c_str(),
                request.scheme.c_str(), batch->size(), batch->size() == 1 ? "" : "s",
                formatSensitivity(*table).c_str());
    return 0;
}

}  // namespace prunelab::cli

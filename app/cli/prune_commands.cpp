// prune and stats: thin wrappers over engine/prune (plan, applyPlan, stats, pruned_model) that
// turn every failure into one actionable line.
#include "app/cli/prune_commands.h"

#include <cstdio>
#include <filesystem>

#include "engine/prune/plan.h"
#include "engine/prune/pruned_model.h"
#include "engine/prune/stats.h"

namespace prunelab::cli {

using namespace prunelab::engine;
using namespace prunelab::engine::prune;

namespace {

int fail(const Error& e) {
    std::fprintf(stderr, "prunelab-cli: %s\n", e.toString().c_str());
    return 1;
}

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

}  // namespace prunelab::cli

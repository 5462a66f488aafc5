// ADMM's plans and schedule (see admm_plan.h).
#include "engine/train/admm_plan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <variant>

namespace prunelab::engine::train {

namespace {

bool isRateKey(const std::string& key) {
    return key == "rate" || (key.size() > 5 && key.compare(key.size() - 5, 5, "_rate") == 0);
}

// The plan with every rate ("rate", "*_rate") r replaced by f(r).
prune::PruningPlan mapRates(const prune::PruningPlan& plan,
                            const std::function<double(double)>& f) {
    auto map = [&](prune::ParamValues& values) {
        const prune::ParamValues before = values;  // values changes inside the loop
        for (const auto& [key, value] : before.all()) {
            if (!isRateKey(key) || std::holds_alternative<std::string>(value)) continue;
            values.set(key, f(values.number(key, 0)));
        }
    };
    prune::PruningPlan out = plan;
    if (!out.defaultEntry.dense) map(out.defaultEntry.params);
    for (auto& [name, entry] : out.layers)
        if (!entry.dense) map(entry.params);
    map(out.fallbackParams);
    return out;
}

}  // namespace

// Every rate scaled by `fraction`: a gentler version of the same constraint, for gradual pruning.
prune::PruningPlan scaledPlan(const prune::PruningPlan& plan, double fraction) {
    return mapRates(plan, [=](double r) { return r * fraction; });
}

// Progressive ADMM (Ye et al.; ADMM-NN's 10x then 50x): stage s of `stages` keeps the fraction
// (1 - r)^(s / stages) of what each rate r removes entirely, so the kept fraction falls
// geometrically and the last stage is the plan itself.
prune::PruningPlan stagePlan(const prune::PruningPlan& plan, int stage, int stages) {
    if (stage >= stages) return plan;
    const double e = static_cast<double>(stage) / stages;
    return mapRates(plan, [=](double r) { return 1 - std::pow(1 - r, e); });
}

// The largest rate the plan asks for anywhere (0 for a dense plan).
double largestRate(const prune::PruningPlan& plan) {
    double largest = 0;
    auto scan = [&](const prune::ParamValues& values) {
        for (const auto& [key, value] : values.all())
            if (isRateKey(key) && !std::holds_alternative<std::string>(value))
                largest = std::max(largest, values.number(key, 0));
    };
    if (!plan.defaultEntry.dense) scan(plan.defaultEntry.params);
    for (const auto& [name, entry] : plan.layers)
        if (!entry.dense) scan(entry.params);
    return largest;
}

// One stage per 20x of the weights a rate removes: 95% in one, 98% (50x) in two, 99.9% in three.
// More than 20x in one step leaves ADMM's Z far from W, and the W-steps cannot close the gap.
int autoStages(const prune::PruningPlan& plan) {
    const double keep = 1 - largestRate(plan);
    if (keep >= 1) return 1;
    return std::max(1, static_cast<int>(std::ceil(std::log(1 / keep) / std::log(20.0) - 1e-9)));
}

// The plan with each pattern-pruned layer's pattern set fixed to the one `first` chose (PatDNN
// chooses the set once, from the dense weights): later projections of W + U may then change a
// kernel's pattern within the set, but not swap the shapes every kernel may take.
prune::PruningPlan freezePatternSets(const prune::PruningPlan& plan,
                                     std::span<const prune::LayerPruning> first) {
    prune::PruningPlan out = plan;
    for (const prune::LayerPruning& lp : first) {
        if (lp.how != prune::LayerPruning::How::Scheme || lp.scheme != "pattern" ||
            lp.projection.patternSet.empty()) {
            continue;
        }
        std::string set;
        for (prune::Pattern p : lp.projection.patternSet) {
            if (!set.empty()) set += ',';
            set += std::to_string(static_cast<unsigned>(p));
        }
        prune::ParamValues params = lp.params;
        params.set("pattern_set", set);
        out.layers[lp.layer.name] = prune::PlanEntry::make("pattern", params);
    }
    return out;
}

// Automatic updates: W-steps of about this many optimiser steps. Adam moves a weight by about
// the learning rate per step, so a W-step needs a few hundred at lr 1e-3 to carry weights of
// ~0.1 to their Z (with 12-step W-steps Z oscillated and ADMM fell behind one-shot; with 1
// update per epoch of 938 steps it led).
constexpr int64_t kStepsPerWStep = 200;
constexpr int64_t kMaxUpdatesPerStage = 10;
// A short budget still gets a few updates, so rho grows and W reaches Z before the hard prune
// (with one update a stage on 6000 pictures, LeNet-5 fell to chance at it), with W-steps no
// shorter than this.
constexpr int64_t kMinUpdatesPerStage = 4;
constexpr int64_t kShortestWStep = 25;

int64_t autoUpdates(int64_t length) {
    const int64_t wanted =
        std::clamp(length / kStepsPerWStep, kMinUpdatesPerStage, kMaxUpdatesPerStage);
    return std::max<int64_t>(1, std::min(wanted, length / kShortestWStep));
}

}  // namespace prunelab::engine::train

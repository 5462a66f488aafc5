// Non-structured (magnitude) pruning: keep the largest-magnitude weights, per layer or ranked
// globally across the unit's layers with a per-layer floor so no layer is emptied.
#include <algorithm>
#include <cmath>

#include "engine/prune/prune_util.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class NonStructuredScheme final : public Scheme {
  public:
    std::string_view id() const override { return "non_structured"; }
    std::string_view displayName() const override { return "Non-structured (magnitude)"; }

    std::vector<ParamSpec> params() const override {
        ParamSpec rate = rateParam("Fraction of the weights set to zero.");
        ParamSpec scope{"scope", "Ranking scope",
                        "Rank weights within each layer, or across all layers together.",
                        ParamSpec::Type::Choice};
        scope.choices = {"layer", "global"};
        ParamSpec floor{"floor",
                        "Layer floor",
                        "Global ranking: the smallest fraction of each layer that is kept.",
                        ParamSpec::Type::Real,
                        0,
                        1,
                        0.01};
        return {rate, scope, floor};
    }

    std::string explain(const ParamValues& values) const override {
        const double rate = values.number("rate", 0.5);
        const std::string kept = percentText(1.0 - rate);
        if (values.choice("scope", "layer") == "global") {
            return "Ranks every weight of all the layers together by magnitude and keeps the " +
                   kept +
                   " largest; the rest become exactly zero. Layers with small weights lose "
                   "more, but each keeps at least " +
                   percentText(values.number("floor", 0.01)) +
                   " of its weights so none is emptied. The zeros only speed things up with a "
                   "sparse kernel.";
        }
        return "Keeps the " + kept +
               " of weights with the largest magnitude in each layer; the rest become exactly "
               "zero. It removes the weights that change the output least, but the zeros are "
               "scattered, so only a sparse kernel turns them into speed.";
    }

    bool supports(const LayerWeights& layer) const override {
        return layer.weights.dtype() == DataType::Float32 && layer.weights.rank() == 4;
    }

    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                 const ParamValues& values) const override {
        PL_TRY(values.validate(params()));
        for (const LayerWeights& layer : layers) PL_TRY(gemmView(layer));
        const double rate = values.number("rate", 0.5);
        if (values.choice("scope", "layer") == "global") {
            return projectGlobal(layers, rate, values.number("floor", 0.01));
        }
        std::vector<LayerProjection> out;
        for (const LayerWeights& layer : layers) {
            // Keep exactly round((1 - rate) * n) weights: the largest |w|, ties to the lower
            // index. Keeping the largest magnitudes is the L2-nearest point with that many
            // non-zeros, which is what ADMM's projection needs.
            std::vector<double> scores = magnitudes(layer);
            const int64_t n = static_cast<int64_t>(scores.size());
            out.push_back(projectionFromMask(layer, keepLargest(scores, keptCount(rate, n))));
        }
        return out;
    }

  private:
    static std::vector<double> magnitudes(const LayerWeights& layer) {
        std::vector<double> s;
        s.reserve(static_cast<size_t>(layer.weights.elements()));
        for (float w : layer.weights.span<float>()) s.push_back(std::fabs(static_cast<double>(w)));
        return s;
    }

    // Global ranking: first each layer keeps its own largest max(1, ceil(floor * n_l)) weights
    // (the floor), then the rest of the budget round((1 - rate) * N) goes to the largest
    // remaining weights of all layers together, ties to the lower (layer, index). When the
    // floors alone exceed the budget the floors win: the unit keeps a little more.
    static std::vector<LayerProjection> projectGlobal(std::span<const LayerWeights> layers,
                                                      double rate, double floor) {
        std::vector<std::vector<uint8_t>> keep(layers.size());
        std::vector<double> rest;       // magnitudes of weights not kept by a floor
        std::vector<size_t> restLayer;  // their layer
        std::vector<size_t> restIndex;  // their index in that layer
        int64_t total = 0, floorKept = 0;
        for (size_t l = 0; l < layers.size(); ++l) {
            std::vector<double> scores = magnitudes(layers[l]);
            const int64_t n = static_cast<int64_t>(scores.size());
            total += n;
            int64_t floorCount = static_cast<int64_t>(std::ceil(floor * static_cast<double>(n)));
            floorCount = std::clamp<int64_t>(floorCount, 1, n);
            keep[l] = keepLargest(scores, floorCount);
            floorKept += floorCount;
            for (size_t i = 0; i < scores.size(); ++i) {
                if (keep[l][i]) continue;
                rest.push_back(scores[i]);
                restLayer.push_back(l);
                restIndex.push_back(i);
            }
        }
        // `rest` is in (layer, index) order, so keepLargest's index tie-break is exactly the
        // (layer, index) tie-break.
        const int64_t budget = std::max<int64_t>(0, keptCount(rate, total) - floorKept);
        std::vector<uint8_t> restKeep = keepLargest(rest, budget);
        for (size_t j = 0; j < rest.size(); ++j) {
            if (restKeep[j]) keep[restLayer[j]][restIndex[j]] = 1;
        }
        std::vector<LayerProjection> out;
        for (size_t l = 0; l < layers.size(); ++l) {
            out.push_back(projectionFromMask(layers[l], keep[l]));
        }
        return out;
    }
};

}  // namespace

const Scheme& schemeNonStructured() {
    static const NonStructuredScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

// Structured scheme: removes whole filters (output channels) or whole input channels, ranked
// by L1/L2 norm. A unit's layers are tied along the axis (a dependency group), so one ranking
// decides for all of them; engine/prune/shrink.h then removes the channels physically.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/prune/prune_util.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

struct View {
    int64_t out = 0, in = 0, spatial = 1;  // weights as [out][in][spatial]
};

bool viewOf(const Tensor& w, View& v) {
    if (w.dtype() != DataType::Float32) return false;
    if (w.rank() == 2) {
        v = {w.dim(0), w.dim(1), 1};
        return true;
    }
    if (w.rank() == 4) {
        v = {w.dim(0), w.dim(1), w.dim(2) * w.dim(3)};
        return true;
    }
    return false;
}

class StructuredScheme final : public Scheme {
  public:
    std::string_view id() const override { return "structured"; }
    std::string_view displayName() const override { return "Structured (filters / channels)"; }

    std::vector<ParamSpec> params() const override {
        ParamSpec rate = rateParam("Fraction of channels removed: exactly round(rate * channels)");
        ParamSpec axis{"axis", "Axis", "Remove whole filters (outputs) or input channels",
                       ParamSpec::Type::Choice};
        axis.choices = {"filters", "channels"};
        ParamSpec norm{"norm", "Norm", "How a channel's importance is measured",
                       ParamSpec::Type::Choice};
        norm.choices = {"l1", "l2"};
        return {rate, axis, norm};
    }

    std::string explain(const ParamValues& values) const override {
        const double rate = values.number("rate", 0.5);
        const std::string axis = values.choice("axis", "filters");
        const std::string norm = values.choice("norm", "l1");
        char pct[32];
        std::snprintf(pct, sizeof pct, "%.0f%%", rate * 100.0);
        const bool filters = axis == "filters";
        std::string text = "Structured pruning removes whole ";
        text += filters ? "filters (output channels)" : "input channels";
        text +=
            ", not single weights, so the layer becomes a smaller dense layer that any "
            "runtime speeds up without sparse kernels. Each ";
        text += filters ? "filter" : "input channel";
        text += " is scored by its " + std::string(norm == "l2" ? "L2 norm (root of the sum of "
                                                                  "squares)"
                                                                : "L1 norm (sum of magnitudes)");
        text += "; the lowest-scoring " + std::string(pct) +
                " are set to zero. Layers tied together (by a residual Add, a Concat or a "
                "depthwise conv) share one ranking, summed over the group, because they must "
                "lose the same channels for the model to stay valid. The physical shrink then "
                "deletes those channels, and the matching inputs of the next layers.";
        return text;
    }

    bool supports(const LayerWeights& layer) const override {
        View v;
        return viewOf(layer.weights, v);
    }

    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                 const ParamValues& values) const override {
        const std::vector<ParamSpec> specs = params();
        PL_TRY(values.validate(specs));
        if (layers.empty()) return std::vector<LayerProjection>{};
        const double rate = values.number("rate", 0.5);
        const bool filters = values.choice("axis", "filters") == "filters";
        const bool l2 = values.choice("norm", "l1") == "l2";

        std::vector<View> views(layers.size());
        for (size_t l = 0; l < layers.size(); ++l) {
            if (!viewOf(layers[l].weights, views[l])) {
                return makeError(ErrorCode::InvalidArgument,
                                 "structured pruning needs float32 weights of rank 2 or 4, got " +
                                     shapeToString(layers[l].weights.shape()),
                                 "layer '" + layers[l].name + "'");
            }
        }
        // The unit is tied along the axis, so every layer must have the same channel count.
        auto count = [&](size_t l) { return filters ? views[l].out : views[l].in; };
        const int64_t channels = count(0);
        for (size_t l = 1; l < layers.size(); ++l) {
            if (count(l) != channels) {
                return makeError(ErrorCode::InvalidArgument,
                                 "layers tied for structured pruning must agree on the " +
                                     std::string(filters ? "filter" : "input channel") +
                                     " count: '" + layers[0].name + "' has " +
                                     std::to_string(channels) + ", '" + layers[l].name + "' has " +
                                     std::to_string(count(l)));
            }
        }

        // Score of channel c = sum over the unit's layers of the norm of slice c.
        std::vector<double> score(static_cast<size_t>(channels), 0.0);
        for (size_t l = 0; l < layers.size(); ++l) {
            const View& v = views[l];
            const float* w = layers[l].weights.data<float>();
            std::vector<double> part(static_cast<size_t>(channels), 0.0);
            for (int64_t o = 0; o < v.out; ++o)
                for (int64_t i = 0; i < v.in; ++i)
                    for (int64_t s = 0; s < v.spatial; ++s) {
                        const double x = w[(o * v.in + i) * v.spatial + s];
                        part[static_cast<size_t>(filters ? o : i)] += l2 ? x * x : std::fabs(x);
                    }
            for (size_t c = 0; c < part.size(); ++c) score[c] += l2 ? std::sqrt(part[c]) : part[c];
        }

        // Remove exactly round(rate * C): lowest score first, ties broken by the lower index
        // so the result does not depend on the sort implementation.
        const int64_t removeCount = std::min<int64_t>(
            channels, static_cast<int64_t>(std::llround(rate * static_cast<double>(channels))));
        std::vector<int64_t> order(static_cast<size_t>(channels));
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            const double sa = score[static_cast<size_t>(a)], sb = score[static_cast<size_t>(b)];
            return sa != sb ? sa < sb : a < b;
        });
        std::vector<uint8_t> keep(static_cast<size_t>(channels), 1);
        for (int64_t k = 0; k < removeCount; ++k)
            keep[static_cast<size_t>(order[static_cast<size_t>(k)])] = 0;

        std::vector<LayerProjection> result(layers.size());
        for (size_t l = 0; l < layers.size(); ++l) {
            const View& v = views[l];
            LayerProjection& p = result[l];
            p.weights = layers[l].weights.clone();
            p.mask = Tensor(DataType::UInt8, layers[l].weights.shape());
            float* w = p.weights.data<float>();
            uint8_t* m = p.mask.data<uint8_t>();
            for (int64_t o = 0; o < v.out; ++o)
                for (int64_t i = 0; i < v.in; ++i) {
                    const uint8_t k = keep[static_cast<size_t>(filters ? o : i)];
                    for (int64_t s = 0; s < v.spatial; ++s) {
                        const int64_t at = (o * v.in + i) * v.spatial + s;
                        m[at] = k;
                        if (!k) w[at] = 0.0f;
                    }
                }
        }
        return result;
    }
};

}  // namespace

const Scheme& schemeStructured() {
    static const StructuredScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

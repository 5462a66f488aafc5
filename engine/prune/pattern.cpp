// Pattern pruning (PatDNN, ASPLOS'20): every 3x3 kernel keeps exactly 4 weights, the centre
// plus 3 others, chosen from a small set of k patterns learnt from the weights; connectivity
// pruning then removes whole kernels (input-output channel pairs) with the smallest norm.
// Optionally filters in groups share their patterns and kept kernels: the compiler's lever.
#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "engine/prune/prune_util.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

constexpr int kCentreBit = 4;  // position (1, 1) of a 3x3 kernel: bit y * 3 + x
constexpr const char* kPatternSetKey = "pattern_set";

// The 56 candidate patterns: 4 of the 9 positions, always including the centre
// (C(8, 3) = 56), in increasing mask value. That order breaks every tie below.
std::vector<Pattern> candidatePatterns() {
    std::vector<Pattern> out;
    for (unsigned mask = 0; mask < 512; ++mask) {
        if ((mask >> kCentreBit & 1u) && std::popcount(mask) == 4) {
            out.push_back(static_cast<Pattern>(mask));
        }
    }
    return out;
}

// Squared weights of kernel `kernel` (= o * inPerGroup + i); 9 floats in y * 3 + x order.
std::array<double, 9> kernelSquares(std::span<const float> w, int64_t kernel) {
    std::array<double, 9> sq{};
    for (size_t p = 0; p < 9; ++p) {
        const double v = w[static_cast<size_t>(kernel * 9) + p];
        sq[p] = v * v;
    }
    return sq;
}

// The squared L2 norm a pattern keeps of a kernel.
double keptEnergy(const std::array<double, 9>& sq, Pattern pattern) {
    double e = 0;
    for (size_t p = 0; p < 9; ++p) {
        if (pattern >> p & 1u) e += sq[p];
    }
    return e;
}

// Index into `patterns` of the pattern keeping the most energy; the first one wins ties.
int32_t bestPattern(const std::array<double, 9>& sq, const std::vector<Pattern>& patterns) {
    int32_t best = 0;
    double bestEnergy = -1;
    for (size_t c = 0; c < patterns.size(); ++c) {
        const double e = keptEnergy(sq, patterns[c]);
        if (e > bestEnergy) {
            bestEnergy = e;
            best = static_cast<int32_t>(c);
        }
    }
    return best;
}

// "27,90,..." (decimal 9-bit masks, each with the centre and 4 positions): a fixed pattern set.
Result<std::vector<Pattern>> parsePatternSet(const ParamValue& value) {
    const std::string* text = std::get_if<std::string>(&value);
    auto bad = [&](const std::string& why) -> Result<std::vector<Pattern>> {
        return makeError(ErrorCode::InvalidArgument,
                         std::string("parameter '") + kPatternSetKey + "': " + why);
    };
    if (!text) return bad("must be a text of comma-separated 9-bit masks");
    std::vector<Pattern> set;
    size_t at = 0;
    while (at <= text->size()) {
        size_t end = text->find(',', at);
        if (end == std::string::npos) end = text->size();
        const std::string item = text->substr(at, end - at);
        unsigned mask = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), mask);
        if (ec != std::errc() || ptr != item.data() + item.size() || item.empty() || mask > 511 ||
            !(mask >> kCentreBit & 1u) || std::popcount(mask) != 4) {
            return bad("'" + item + "' is not a 3x3 pattern (4 positions with the centre)");
        }
        if (std::find(set.begin(), set.end(), static_cast<Pattern>(mask)) != set.end())
            return bad("pattern " + item + " is listed twice");
        set.push_back(static_cast<Pattern>(mask));
        at = end + 1;
    }
    if (set.empty() || set.size() > 56) return bad("needs 1 to 56 patterns");
    return set;
}

class PatternScheme final : public Scheme {
  public:
    std::string_view id() const override { return "pattern"; }
    std::string_view displayName() const override { return "Pattern (PatDNN)"; }

    std::vector<std::string> hiddenParamKeys() const override { return {kPatternSetKey}; }

    std::vector<ParamSpec> params() const override {
        ParamSpec k{"patterns",
                    "Pattern count",
                    "How many different 4-weight patterns the layer (or model) may use.",
                    ParamSpec::Type::Integer,
                    4,
                    12,
                    8};
        k.allowed = {4, 6, 8, 12};
        ParamSpec rate{"connectivity_rate",
                       "Connectivity pruning rate",
                       "Fraction of whole 3x3 kernels (input-output channel pairs) removed.",
                       ParamSpec::Type::Real,
                       0,
                       0.999,
                       0};
        ParamSpec scope{"pattern_scope", "Pattern set scope",
                        "Choose the pattern set per layer, or one set for all layers together.",
                        ParamSpec::Type::Choice};
        scope.choices = {"layer", "model"};
        // Why a group: with each filter free, a loaded input vector feeds about one filter's
        // taps and the kernel is bound by loads (PATTERN-KERNELS.md); when G filters keep the
        // same input channels with the same patterns, the generated code loads each input once
        // for all G (register blocking over filters), at the cost of a coarser choice.
        ParamSpec group{"filter_group",
                        "Filters per group",
                        "Consecutive filters that keep the same input channels with the same "
                        "patterns, so the compiled kernel loads each input once for the group.",
                        ParamSpec::Type::Integer,
                        1,
                        8,
                        1};
        group.allowed = {1, 2, 4, 8};
        return {k, rate, scope, group};
    }

    std::string explain(const ParamValues& values) const override {
        const int64_t k = static_cast<int64_t>(values.number("patterns", 8));
        const double rate = values.number("connectivity_rate", 0);
        const bool model = values.choice("pattern_scope", "layer") == "model";
        std::string text =
            "Every 3x3 kernel keeps exactly 4 of its 9 weights, always the centre, so 44% of "
            "the weights stay. The 4 positions come from a set of " +
            std::to_string(k) + " patterns chosen " +
            (model ? "once for the whole model" : "for each layer") +
            ": the shapes that most kernels would pick on their own. A fixed, small set lets "
            "the compiler generate one tight loop per pattern.";
        if (rate > 0) {
            text += " Connectivity pruning then removes the " + percentText(rate) +
                    " of kernels with the smallest norm entirely.";
        }
        const int64_t group = static_cast<int64_t>(values.number("filter_group", 1));
        if (group > 1) {
            text += " Filters go in groups of " + std::to_string(group) +
                    " that keep the same input channels with the same patterns, so the "
                    "compiled code loads each input once for the whole group.";
        }
        return text;
    }

    bool supports(const LayerWeights& layer) const override {
        return layer.weights.dtype() == DataType::Float32 && layer.weights.rank() == 4 &&
               layer.weights.dim(2) == 3 && layer.weights.dim(3) == 3;
    }

    // For each kernel K (squares s_p of its 9 weights) and pattern P, the kept energy is
    // E(K, P) = sum over p in P of s_p; projecting K onto P (zeroing the rest) is the
    // L2-nearest point with that support, so the best pattern is argmax_P E(K, P).
    //  1. best56(K) = argmax over the 56 candidates; count how often each candidate wins
    //     (all-zero kernels carry no information and are not counted).
    //  2. The pattern set = the k candidates with the highest counts (ties: candidate order).
    //  3. Each kernel is projected onto argmax over the set (ties: set order).
    //  4. Connectivity: the round(rate * kernels) kernels with the smallest projected norm
    //     become all zero (ties: the higher kernel index goes first), per layer.
    //  5. Repeat 1-4 on the result until it no longer changes (exact idempotence).
    // With filter groups of G (consecutive output channels within one conv group), steps 3 and
    // 4 work on group kernels: the G kernels of one input channel, whose squares are summed.
    // The pattern maximising the summed kept energy is the L2-nearest common support, and
    // round(rate * group kernels) group kernels with the smallest kept energy per filter go.
    // "pattern_set" (not a control: the trainer writes it) fixes the set to the listed masks,
    // skipping steps 1-2: ADMM chooses the set once, at its first Z-step, and keeps it, as
    // PatDNN does, so a dual variable cannot swap which shapes the kernels may take.
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                 const ParamValues& valuesIn) const override {
        ParamValues values;
        std::optional<std::vector<Pattern>> fixed;
        for (const auto& [key, value] : valuesIn.all()) {
            if (key != kPatternSetKey) {
                values.set(key, value);
                continue;
            }
            PL_TRY_ASSIGN(fixed, parsePatternSet(value));
        }
        PL_TRY(values.validate(params()));
        const size_t k = static_cast<size_t>(values.number("patterns", 8));
        const double rate = values.number("connectivity_rate", 0);
        const bool modelScope = values.choice("pattern_scope", "layer") == "model";
        const auto group = static_cast<int64_t>(values.number("filter_group", 1));
        for (const LayerWeights& layer : layers) {
            PL_TRY(gemmView(layer));
            if (!supports(layer)) {
                return layerError(layer, ErrorCode::InvalidArgument,
                                  "pattern pruning needs 3x3 kernels, this layer's are " +
                                      std::to_string(layer.weights.dim(2)) + "x" +
                                      std::to_string(layer.weights.dim(3)) +
                                      " (a plan sends such layers to its fallback scheme)");
            }
        }
        // Step 5: repeat on the result until it is a fixed point (see projectToFixedPoint()):
        // on weights with zeros a tie can change the set; on ordinary weights it is one pass.
        return projectToFixedPoint(layers, [&](std::span<const LayerWeights> unit) {
            return projectOnce(unit, k, rate, modelScope, group, fixed ? &*fixed : nullptr);
        });
    }

  private:
    // Steps 1 to 4 once; with a fixed set, 3 and 4 only.
    static std::vector<LayerProjection> projectOnce(std::span<const LayerWeights> layers, size_t k,
                                                    double rate, bool modelScope, int64_t group,
                                                    const std::vector<Pattern>* fixed) {
        if (fixed) {
            std::vector<LayerProjection> out;
            for (const LayerWeights& layer : layers)
                out.push_back(projectLayer(layer, *fixed, rate, group));
            return out;
        }
        static const std::vector<Pattern> candidates = candidatePatterns();

        // Step 1: per layer, the winning candidate of each kernel.
        std::vector<std::vector<int64_t>> counts(layers.size(),
                                                 std::vector<int64_t>(candidates.size(), 0));
        for (size_t l = 0; l < layers.size(); ++l) {
            const std::span<const float> w = layers[l].weights.span<float>();
            const int64_t kernels = layers[l].weights.elements() / 9;
            for (int64_t kn = 0; kn < kernels; ++kn) {
                const std::array<double, 9> sq = kernelSquares(w, kn);
                if (keptEnergy(sq, 0x1FF) == 0) continue;
                ++counts[l][static_cast<size_t>(bestPattern(sq, candidates))];
            }
        }
        if (modelScope) {
            std::vector<int64_t> total(candidates.size(), 0);
            for (const auto& c : counts) {
                for (size_t i = 0; i < c.size(); ++i) total[i] += c[i];
            }
            for (auto& c : counts) c = total;
        }

        std::vector<LayerProjection> out;
        for (size_t l = 0; l < layers.size(); ++l) {
            out.push_back(
                projectLayer(layers[l], chooseSet(counts[l], candidates, k), rate, group));
        }
        return out;
    }

    // Step 2: the k most frequent candidates, most frequent first.
    static std::vector<Pattern> chooseSet(const std::vector<int64_t>& counts,
                                          const std::vector<Pattern>& candidates, size_t k) {
        std::vector<double> scores(counts.begin(), counts.end());
        std::vector<int64_t> order = orderByScoreDescending(scores);
        std::vector<Pattern> set;
        for (size_t i = 0; i < k && i < order.size(); ++i) {
            set.push_back(candidates[static_cast<size_t>(order[i])]);
        }
        return set;
    }

    // Steps 3 and 4 for one layer, on group kernels (a single kernel when the group is 1).
    static LayerProjection projectLayer(const LayerWeights& layer, std::vector<Pattern> set,
                                        double rate, int64_t group) {
        const std::span<const float> w = layer.weights.span<float>();
        const int64_t kernels = layer.weights.elements() / 9;
        const int64_t outChannels = layer.weights.dim(0), inPerGroup = layer.weights.dim(1);
        const int64_t outPerGroup = outChannels / std::max<int64_t>(layer.groups, 1);
        // Group kernels in order: filter group (never across conv groups), then input channel.
        // members[g] lists the kernels of group kernel g.
        std::vector<std::vector<int64_t>> members;
        for (int64_t o0 = 0; o0 < outChannels;) {
            const int64_t end = std::min({o0 + group, (o0 / outPerGroup + 1) * outPerGroup});
            for (int64_t i = 0; i < inPerGroup; ++i) {
                std::vector<int64_t>& m = members.emplace_back();
                for (int64_t o = o0; o < end; ++o) m.push_back(o * inPerGroup + i);
            }
            o0 = end;
        }
        const auto groupKernels = static_cast<int64_t>(members.size());
        std::vector<int32_t> chosen(static_cast<size_t>(kernels));
        std::vector<double> norms(static_cast<size_t>(groupKernels));
        for (int64_t g = 0; g < groupKernels; ++g) {
            std::array<double, 9> sq{};
            for (int64_t kn : members[static_cast<size_t>(g)]) {
                const std::array<double, 9> one = kernelSquares(w, kn);
                for (size_t p = 0; p < 9; ++p) sq[p] += one[p];
            }
            const int32_t c = bestPattern(sq, set);
            for (int64_t kn : members[static_cast<size_t>(g)]) chosen[static_cast<size_t>(kn)] = c;
            // Per filter, so that a smaller last group is not removed for being small.
            norms[static_cast<size_t>(g)] =
                keptEnergy(sq, set[static_cast<size_t>(c)]) /
                static_cast<double>(members[static_cast<size_t>(g)].size());
        }
        const int64_t removed = std::llround(rate * static_cast<double>(groupKernels));
        const std::vector<uint8_t> keptGroup = keepLargest(norms, groupKernels - removed);
        for (int64_t g = 0; g < groupKernels; ++g) {
            if (keptGroup[static_cast<size_t>(g)]) continue;
            for (int64_t kn : members[static_cast<size_t>(g)]) chosen[static_cast<size_t>(kn)] = -1;
        }

        std::vector<uint8_t> keep(w.size(), 0);
        for (int64_t kn = 0; kn < kernels; ++kn) {
            if (chosen[static_cast<size_t>(kn)] < 0) continue;
            const Pattern p = set[static_cast<size_t>(chosen[static_cast<size_t>(kn)])];
            for (size_t b = 0; b < 9; ++b) keep[static_cast<size_t>(kn * 9) + b] = p >> b & 1u;
        }
        LayerProjection proj = projectionFromMask(layer, keep);
        proj.patternSet = std::move(set);
        proj.kernelPattern = std::move(chosen);
        return proj;
    }
};

}  // namespace

const Scheme& schemePattern() {
    static const PatternScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

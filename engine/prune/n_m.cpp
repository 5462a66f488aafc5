// N:M semi-structured pruning (e.g. 2:4, what sparse tensor cores accelerate): in every group
// of m consecutive weights along the input channels, keep the n with the largest magnitude.
#include <cmath>
#include <string>

#include "engine/prune/prune_util.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class NMScheme final : public Scheme {
  public:
    std::string_view id() const override { return "n_m"; }
    std::string_view displayName() const override { return "N:M (e.g. 2:4)"; }

    std::vector<ParamSpec> params() const override {
        ParamSpec n{"n",
                    "Kept per group (N)",
                    "How many weights each group of M keeps.",
                    ParamSpec::Type::Integer,
                    1,
                    8,
                    2};
        ParamSpec m{"m",
                    "Group size (M)",
                    "How many consecutive input weights form a group.",
                    ParamSpec::Type::Integer,
                    4,
                    8,
                    4};
        m.allowed = {4, 8};
        return {n, m};
    }

    std::string explain(const ParamValues& values) const override {
        const int64_t n = static_cast<int64_t>(values.number("n", 2));
        const int64_t m = static_cast<int64_t>(values.number("m", 4));
        const std::string nm = std::to_string(n) + ":" + std::to_string(m);
        return "Splits each filter's input channels into groups of " + std::to_string(m) +
               " and keeps the " + std::to_string(n) + " largest weights of every group (" + nm +
               "), so " + percentText(static_cast<double>(n) / static_cast<double>(m)) +
               " of the weights stay. Because every group has the same count, hardware such as "
               "sparse tensor cores can skip the zeros without an index per weight.";
    }

    bool supports(const LayerWeights& layer) const override {
        return layer.weights.dtype() == DataType::Float32 && layer.weights.rank() == 4;
    }

    // Groups run along the input channels i of one (output o, kernel row y, column x), the
    // GEMM's reduction dimension in the order cuSPARSELt and NVIDIA's ASP use: weights
    // w[o][i][y][x] for i in [g*m, g*m + m). A short tail group of len < m keeps
    // ceil(n * len / m), the same density. Within a group the largest |w| win, ties to the
    // lower channel; keeping the largest is the L2-nearest point with that many non-zeros.
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                 const ParamValues& values) const override {
        PL_TRY(values.validate(params()));
        const int64_t n = static_cast<int64_t>(values.number("n", 2));
        const int64_t m = static_cast<int64_t>(values.number("m", 4));
        if (n > m) {
            return makeError(ErrorCode::InvalidArgument,
                             "parameter 'n' = " + std::to_string(n) +
                                 " must not exceed 'm' = " + std::to_string(m));
        }
        std::vector<LayerProjection> out;
        for (const LayerWeights& layer : layers) {
            PL_TRY_ASSIGN(GemmView v, gemmView(layer));
            const std::span<const float> w = layer.weights.span<float>();
            std::vector<uint8_t> keep(w.size(), 0);
            const int64_t spatial = v.kh * v.kw;
            for (int64_t o = 0; o < v.rows; ++o) {
                for (int64_t s = 0; s < spatial; ++s) {
                    for (int64_t start = 0; start < v.inPerGroup; start += m) {
                        const int64_t len = std::min(m, v.inPerGroup - start);
                        const int64_t keepN = (n * len + m - 1) / m;  // ceil(n * len / m)
                        std::vector<double> scores;
                        for (int64_t i = start; i < start + len; ++i) {
                            scores.push_back(
                                std::fabs(w[static_cast<size_t>(v.index(o, i * spatial + s))]));
                        }
                        std::vector<uint8_t> k = keepLargest(scores, keepN);
                        for (int64_t j = 0; j < len; ++j) {
                            keep[static_cast<size_t>(v.index(o, (start + j) * spatial + s))] =
                                k[static_cast<size_t>(j)];
                        }
                    }
                }
            }
            out.push_back(projectionFromMask(layer, keep));
        }
        return out;
    }
};

}  // namespace

const Scheme& schemeNM() {
    static const NMScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

// Helpers shared by the pruning schemes (see prune_util.h).
#include "engine/prune/prune_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace prunelab::engine::prune {

Error layerError(const LayerWeights& layer, ErrorCode code, const std::string& message) {
    return makeError(code, message, "layer '" + layer.name + "'");
}

Result<GemmView> gemmView(const LayerWeights& layer) {
    const Tensor& w = layer.weights;
    if (w.dtype() != DataType::Float32 || w.rank() != 4) {
        return layerError(layer, ErrorCode::InvalidArgument,
                          "weights must be float32 [out][in/groups][kh][kw], got " +
                              std::string(dataTypeName(w.dtype())) + " " +
                              shapeToString(w.shape()));
    }
    if (w.elements() == 0) {
        return layerError(layer, ErrorCode::InvalidArgument, "weights have no elements");
    }
    // Rankings compare magnitudes; a NaN would make the order (and the result) arbitrary.
    for (float x : w.span<float>()) {
        if (!std::isfinite(x)) {
            return layerError(layer, ErrorCode::InvalidArgument, "weights contain NaN or infinity");
        }
    }
    GemmView v;
    v.rows = w.dim(0);
    v.inPerGroup = w.dim(1);
    v.kh = w.dim(2);
    v.kw = w.dim(3);
    v.cols = v.inPerGroup * v.kh * v.kw;
    return v;
}

int64_t keptCount(double rate, int64_t n) {
    return std::llround((1.0 - rate) * static_cast<double>(n));
}

std::vector<int64_t> orderByScoreDescending(std::span<const double> scores) {
    std::vector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), int64_t{0});
    // A stable sort on "larger first" keeps equal scores in index order.
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
    });
    return order;
}

std::vector<uint8_t> keepLargest(std::span<const double> scores, int64_t k) {
    const int64_t n = static_cast<int64_t>(scores.size());
    k = std::clamp<int64_t>(k, 0, n);
    std::vector<uint8_t> keep(scores.size(), 0);
    if (k == n) {
        std::fill(keep.begin(), keep.end(), uint8_t{1});
        return keep;
    }
    // nth_element on (score desc, index asc) finds the k best in O(n) on average; the pair
    // order makes every score distinct, so the result does not depend on the algorithm.
    std::vector<int64_t> idx(scores.size());
    std::iota(idx.begin(), idx.end(), int64_t{0});
    auto better = [&](int64_t a, int64_t b) {
        double sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
        return sa > sb || (sa == sb && a < b);
    };
    if (k > 0) std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), better);
    for (int64_t i = 0; i < k; ++i) keep[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 1;
    return keep;
}

LayerProjection projectionFromMask(const LayerWeights& layer, const std::vector<uint8_t>& keep) {
    LayerProjection p;
    p.weights = layer.weights.clone();
    p.mask = Tensor(DataType::UInt8, layer.weights.shape());
    std::span<float> w = p.weights.span<float>();
    std::span<uint8_t> m = p.mask.span<uint8_t>();
    for (size_t i = 0; i < w.size(); ++i) {
        m[i] = keep[i] ? 1 : 0;
        if (!keep[i]) w[i] = 0.0f;  // +0 exactly, never -0 from a multiply
    }
    return p;
}

Result<std::vector<LayerProjection>> projectToFixedPoint(std::span<const LayerWeights> layers,
                                                         const ProjectionPass& pass) {
    PL_TRY_ASSIGN(std::vector<LayerProjection> current, pass(layers));
    for (;;) {
        std::vector<LayerWeights> again(layers.begin(), layers.end());
        for (size_t l = 0; l < again.size(); ++l) again[l].weights = current[l].weights;
        PL_TRY_ASSIGN(std::vector<LayerProjection> next, pass(again));
        bool same = true;
        for (size_t l = 0; l < again.size() && same; ++l) {
            same = next[l].weights.identical(current[l].weights);
        }
        // `current` projects to itself, so projecting it again returns the same weights.
        if (same) return current;
        current = std::move(next);
    }
}

std::string percentText(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%%", std::round(fraction * 1000.0) / 10.0);
    return buf;
}

ParamSpec rateParam(std::string help) {
    return ParamSpec{"rate", "Pruning rate", std::move(help), ParamSpec::Type::Real, 0, 0.999, 0.5};
}

}  // namespace prunelab::engine::prune

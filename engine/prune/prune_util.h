// Helpers shared by the pruning schemes: checking a layer's weights, the GEMM view of a layer,
// deterministic top-k selection and building a projection from a keep mask.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

// A layer's weights seen as its GEMM matrix [rows = out] x [cols = in/groups * kh * kw]. The
// layer view's order [out][in/g][kh][kw] is already row-major in that matrix, so element
// (r, c) is at flat index r * cols + c.
struct GemmView {
    int64_t rows = 0, cols = 0;
    int64_t inPerGroup = 0, kh = 0, kw = 0;
    int64_t index(int64_t r, int64_t c) const { return r * cols + c; }
};

// InvalidArgument naming the layer unless its weights are a float32 [out][in/g][kh][kw]
// tensor with at least one element, all finite.
Result<GemmView> gemmView(const LayerWeights& layer);

// An error about one layer: "layer 'conv1': <message>".
Error layerError(const LayerWeights& layer, ErrorCode code, const std::string& message);

// The number of elements kept when removing `rate` of `n`: round((1 - rate) * n), half away
// from zero. Every scheme with a rate uses this one rounding so the numbers agree.
int64_t keptCount(double rate, int64_t n);

// Marks the `k` entries with the largest scores: the result has keep[i] = 1 for them. Ties
// go to the lower index, so the choice is deterministic. k is clamped to [0, scores.size()].
std::vector<uint8_t> keepLargest(std::span<const double> scores, int64_t k);

// The indices 0..n-1 ordered by score, largest first, ties by lower index.
std::vector<int64_t> orderByScoreDescending(std::span<const double> scores);

// Projection of `layer` that keeps the weights where keep[i] != 0 and sets the rest to +0.
LayerProjection projectionFromMask(const LayerWeights& layer, const std::vector<uint8_t>& keep);

// One pass of a projection over a unit of layers.
using ProjectionPass =
    std::function<Result<std::vector<LayerProjection>>(std::span<const LayerWeights>)>;

// Applies `pass` again to its own output until the weights stop changing, and returns the last
// pass. Schemes whose choices are learnt from the weights (pattern sets, tiles over kept
// columns) need this to be exactly idempotent: on weights that already contain zeros, a tie
// can make the second pass choose differently. Each pass only keeps or zeros weights, so every
// repeat zeros at least one more weight and the loop ends; on ordinary weights the first
// pass is already a fixed point and it costs one extra pass. Where it repeats, the result is
// a valid point of the constraint set but not always the nearest one, and a kept (mask 1)
// position may hold a zero.
Result<std::vector<LayerProjection>> projectToFixedPoint(std::span<const LayerWeights> layers,
                                                         const ProjectionPass& pass);

// Percent text for explanations: 0.25 -> "25%", 0.125 -> "12.5%".
std::string percentText(double fraction);

// The "rate" parameter shared by the rate-driven schemes: fraction removed, in [0, 0.999]
// (1 would empty a layer), default 0.5. `help` says what the scheme counts.
ParamSpec rateParam(std::string help);

}  // namespace prunelab::engine::prune

// Tile-wise sparsity (Guo et al., SC'20): on the layer's GEMM matrix, prune whole columns
// globally, then cut the surviving columns into tiles and prune whole rows inside each tile,
// so every tile stays a smaller dense GEMM an ordinary kernel runs fast.
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/prune/prune_util.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class TileWiseScheme final : public Scheme {
  public:
    std::string_view id() const override { return "tile_wise"; }
    std::string_view displayName() const override { return "Tile-wise (SC'20)"; }

    std::vector<ParamSpec> params() const override {
        ParamSpec rate = rateParam("Fraction of the weights set to zero.");
        ParamSpec width{"tile_width",
                        "Tile width",
                        "Columns per tile; rows are pruned separately inside each tile.",
                        ParamSpec::Type::Integer,
                        16,
                        128,
                        64};
        width.allowed = {16, 32, 64, 128};
        ParamSpec share{"column_share",
                        "Column share",
                        "Fraction of the pruning done by removing whole columns.",
                        ParamSpec::Type::Real,
                        0,
                        1,
                        0.25};
        return {rate, width, share};
    }

    std::string explain(const ParamValues& values) const override {
        const double rate = values.number("rate", 0.5);
        const int64_t width = static_cast<int64_t>(values.number("tile_width", 64));
        const double share = values.number("column_share", 0.25);
        return "Sees the layer as a matrix with one row per output channel and removes " +
               percentText(rate) + " of its weights in blocks: about " + percentText(share) +
               " of that as whole columns (one input weight dropped from every filter), the "
               "rest as whole rows inside tiles of " +
               std::to_string(width) +
               " columns. Each tile stays a small dense matrix, so an ordinary GEMM kernel "
               "skips the pruned rows and columns without a sparse format.";
    }

    bool supports(const LayerWeights& layer) const override {
        return layer.weights.dtype() == DataType::Float32 && layer.weights.rank() == 4;
    }

    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                 const ParamValues& values) const override {
        PL_TRY(values.validate(params()));
        const double rate = values.number("rate", 0.5);
        const int64_t width = static_cast<int64_t>(values.number("tile_width", 64));
        const double share = values.number("column_share", 0.25);
        for (const LayerWeights& layer : layers) PL_TRY(gemmView(layer));
        // Repeated until it is a fixed point (see projectToFixedPoint()): on weights that
        // already hold zeros, an all-zero kept column can tie with a pruned one and move the
        // tiles on a second pass; on ordinary weights this is one pass.
        return projectToFixedPoint(layers, [&](std::span<const LayerWeights> unit) {
            std::vector<LayerProjection> out;
            for (const LayerWeights& layer : unit) {
                out.push_back(projectLayer(layer, gemmView(layer).value(), rate, width, share));
            }
            return Result<std::vector<LayerProjection>>(std::move(out));
        });
    }

  private:
    // With R rows, C columns and n = R * C weights, the target removes
    // T = n - round((1 - rate) * n) weights.
    //  1. Columns: remove the c columns with the smallest L2 norm (ties: higher index first),
    //     c = max(floor(share * T / R), T - (R - 1) * C). The second term is only needed when
    //     rows alone could not remove enough, since every tile keeps at least one row.
    //  2. Tiles: the kept columns, in order, are cut into tiles of `width` (the last may be
    //     narrower; a width above the column count gives one tile).
    //  3. Rows: every (tile, row) segment is ranked by its mean squared weight (the L2 norm
    //     per element, so a narrow last tile is compared fairly); the smallest are removed
    //     while they fit in the remaining T - c * R, each tile keeping at least one row (a
    //     tile with no rows would be pruned columns in disguise). It stops at the first
    //     segment that does not fit, so the total is short of T by less than one tile row.
    //  4. project() repeats 1-3 on the result until it no longer changes (exact idempotence).
    static LayerProjection projectLayer(const LayerWeights& layer, const GemmView& v, double rate,
                                        int64_t width, double share) {
        const std::span<const float> w = layer.weights.span<float>();
        const int64_t rows = v.rows, cols = v.cols, n = rows * cols;
        const int64_t target = n - keptCount(rate, n);

        // Step 1: whole columns.
        int64_t colsRemoved = static_cast<int64_t>(
            std::floor(share * static_cast<double>(target) / static_cast<double>(rows)));
        colsRemoved = std::max(colsRemoved, target - (rows - 1) * cols);
        std::vector<double> colNorm(static_cast<size_t>(cols), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const double x = w[static_cast<size_t>(v.index(r, c))];
                colNorm[static_cast<size_t>(c)] += x * x;
            }
        }
        const std::vector<uint8_t> colKept = keepLargest(colNorm, cols - colsRemoved);
        std::vector<int32_t> keptColumns;
        for (int64_t c = 0; c < cols; ++c) {
            if (colKept[static_cast<size_t>(c)]) keptColumns.push_back(static_cast<int32_t>(c));
        }

        // Step 2: tiles over the kept columns.
        const int64_t kept = static_cast<int64_t>(keptColumns.size());
        const int64_t tiles = (kept + width - 1) / width;
        auto tileWidth = [&](int64_t t) { return std::min(width, kept - t * width); };

        // Step 3: (tile, row) segments, index t * rows + r.
        std::vector<double> segScore(static_cast<size_t>(tiles * rows), 0.0);
        for (int64_t t = 0; t < tiles; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
                double sum = 0;
                for (int64_t j = t * width; j < t * width + tileWidth(t); ++j) {
                    const double x =
                        w[static_cast<size_t>(v.index(r, keptColumns[static_cast<size_t>(j)]))];
                    sum += x * x;
                }
                segScore[static_cast<size_t>(t * rows + r)] =
                    sum / static_cast<double>(tileWidth(t));
            }
        }
        const std::vector<int64_t> order = orderByScoreDescending(segScore);
        const int64_t rowBudget = target - colsRemoved * rows;
        std::vector<uint8_t> segKept(segScore.size(), 1);
        std::vector<int64_t> rowsRemoved(static_cast<size_t>(tiles), 0);
        int64_t removed = 0;
        for (auto it = order.rbegin(); it != order.rend(); ++it) {  // smallest score first
            const int64_t t = *it / rows;
            if (rowsRemoved[static_cast<size_t>(t)] == rows - 1) continue;  // keep one row
            if (removed + tileWidth(t) > rowBudget) break;
            removed += tileWidth(t);
            ++rowsRemoved[static_cast<size_t>(t)];
            segKept[static_cast<size_t>(*it)] = 0;
        }

        // The mask and the recorded structure.
        std::vector<uint8_t> keep(w.size(), 0);
        TileStructure structure;
        structure.tileWidth = width;
        structure.keptColumns = keptColumns;
        for (int64_t t = 0; t < tiles; ++t) {
            std::vector<int32_t> keptRows;
            for (int64_t r = 0; r < rows; ++r) {
                if (!segKept[static_cast<size_t>(t * rows + r)]) continue;
                keptRows.push_back(static_cast<int32_t>(r));
                for (int64_t j = t * width; j < t * width + tileWidth(t); ++j) {
                    keep[static_cast<size_t>(v.index(r, keptColumns[static_cast<size_t>(j)]))] = 1;
                }
            }
            structure.keptRows.push_back(std::move(keptRows));
        }
        LayerProjection p = projectionFromMask(layer, keep);
        p.tiles = std::move(structure);
        return p;
    }
};

}  // namespace

const Scheme& schemeTileWise() {
    static const TileWiseScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

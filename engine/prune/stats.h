// Statistics of a pruned model, per layer and whole model: density, MACs before/after, bytes of
// the weights in each storage format (dense, CSR with 32/16-bit indices, pattern FKW, tile),
// pattern histogram and kernels removed. Read from an applied plan, or from a graph alone (a
// pruned ONNX file: masks are its non-zeros). Pure functions, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/prune/plan.h"

namespace prunelab::engine::prune {

// Bytes of one layer's weights (bias excluded: it is the same in every format).
//  denseFp32  = weights * 4
//  csr32      = nnz * (4 value + 4 column) + (rows + 1) * 4 row pointers, over the GEMM view
//               [out] x [in/g * kh * kw]
//  csr16      = nnz * (4 + 2) + (rows + 1) * 4; only when cols <= 65536
//  patternFkw = PatDNN's filter-kernel-weight format, only for pattern-shaped 3x3 layers
//               (every kernel empty or exactly 4 weights with the centre):
//               patterns * 2 (the set, 9-bit masks as uint16)
//               + out * 2 (per filter: 16-bit kernel count)
//               + keptKernels * (2 input-channel index + 1 pattern id + 4 * 4 weights)
//  tile       = tile-wise layers only: 4 + keptColumns * 4 (kept column list)
//               + per tile (4 + keptRows * 4) (kept row list) + nnz * 4 values
struct StorageBytes {
    int64_t denseFp32 = 0;
    int64_t csr32 = 0;
    std::optional<int64_t> csr16, patternFkw, tile;
    // The smallest applicable format's bytes and name ("dense", "csr16", ...).
    int64_t best() const;
    std::string bestFormat() const;
};

struct LayerStats {
    std::string name;
    std::string scheme;  // "dense", or the scheme that projected it
    std::string reason;  // from the plan ("" when read from a graph)
    int64_t weights = 0, kept = 0;
    double density = 1;
    // Kept MACs count what a sparse / pattern / tile kernel executes: every weight of a Conv
    // or Gemm takes part in the same number of multiply-accumulates (one per output position,
    // padding included, as `macs` counts them), and the kernel skips exactly the pruned
    // weights, so keptMacs = macs * kept / weights (exact: macs is a multiple of weights).
    int64_t macs = 0, keptMacs = 0;
    int64_t kernels = 0;         // out * in/g input-output pairs
    int64_t kernelsRemoved = 0;  // kernels whose every weight is pruned
    StorageBytes bytes;
    std::map<Pattern, int64_t> patternHistogram;  // kept kernels per pattern (pattern layers)
};

struct ModelStats {
    std::vector<LayerStats> layers;
    int64_t weights = 0, kept = 0, macs = 0, keptMacs = 0, kernels = 0, kernelsRemoved = 0;
    // Model MACs include the non-prunable nodes (totalMacs); kept model MACs = that minus the
    // MACs the pruned layers skip.
    int64_t modelMacs = 0, keptModelMacs = 0;
    int64_t denseBytes = 0, csr32Bytes = 0, bestBytes = 0;  // sums over the layers
    double density() const {
        return weights ? static_cast<double>(kept) / static_cast<double>(weights) : 1.0;
    }
};

// Statistics of one layer from its projection (masks, patterns, tiles).
LayerStats layerStats(const Layer& layer, const LayerProjection& projection);
ModelStats modelStats(const PrunedModel& model);
// From a graph alone: masks are the non-zero weights; pattern structure is recognised in 3x3
// layers; tile structure is not (no tile bytes).
ModelStats modelStats(const Graph& graph);

// A fixed-width table for the CLI, one row per layer and a total line.
std::string formatStats(const ModelStats& stats);
// Compact JSON (for ONNX metadata_props and .plab files).
std::string statsToJson(const ModelStats& stats);

}  // namespace prunelab::engine::prune

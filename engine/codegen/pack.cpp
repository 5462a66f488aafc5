// Packing a layer's weights into FKW, CSR and tile storage, and unpacking them back to dense
// [O][I/g][kh][kw] so the verifier can compare against the model bit for bit.
#include "engine/codegen/pack.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <string>

namespace prunelab::engine::codegen {

namespace {

// Rows and columns of the GEMM view [O][I/g * kh * kw] of a rank-2 or rank-4 weight.
struct GemmShape {
    int64_t rows = 0, cols = 0;
};

Result<GemmShape> gemmShape(const Tensor& weights) {
    if (weights.dtype() != DataType::Float32 || (weights.rank() != 2 && weights.rank() != 4) ||
        weights.dim(0) <= 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "weights must be float32 [O][I/g][kh][kw] or [O][K], got " +
                             std::string(dataTypeName(weights.dtype())) + " " +
                             shapeToString(weights.shape()));
    }
    return GemmShape{weights.dim(0), weights.elements() / weights.dim(0)};
}

bool patternCovers(prune::Pattern pattern, const float* kernel) {
    for (int p = 0; p < 9; ++p) {
        if (kernel[p] != 0.0f && !(pattern & (1u << p))) return false;
    }
    return true;
}

bool allZero(const float* kernel) {
    for (int p = 0; p < 9; ++p) {
        if (kernel[p] != 0.0f) return false;
    }
    return true;
}

std::string kernelName(int64_t o, int64_t i) {
    return "kernel (filter " + std::to_string(o) + ", input channel " + std::to_string(i) + ")";
}

}  // namespace

Result<FkwWeights> packFkw(const Tensor& weights, std::span<const prune::Pattern> patterns,
                           std::span<const int32_t> kernelPattern) {
    if (weights.dtype() != DataType::Float32 || weights.rank() != 4 || weights.dim(2) != 3 ||
        weights.dim(3) != 3) {
        return makeError(ErrorCode::InvalidArgument,
                         "FKW packing needs float32 [O][I/g][3][3] weights, got " +
                             shapeToString(weights.shape()));
    }
    // Pattern ids are stored as uint8 and kernels always read exactly 4 weights.
    if (patterns.size() > 256) {
        return makeError(ErrorCode::InvalidArgument,
                         std::to_string(patterns.size()) + " patterns; FKW holds at most 256");
    }
    for (size_t p = 0; p < patterns.size(); ++p) {
        if (std::popcount(static_cast<unsigned>(patterns[p])) != 4 || patterns[p] >= (1u << 9)) {
            return makeError(ErrorCode::InvalidArgument,
                             "pattern " + std::to_string(p) + " (mask " +
                                 std::to_string(patterns[p]) + ") does not keep exactly 4 of 9");
        }
    }
    const int64_t outs = weights.dim(0), ins = weights.dim(1);
    if (!kernelPattern.empty() && static_cast<int64_t>(kernelPattern.size()) != outs * ins) {
        return makeError(ErrorCode::InvalidArgument,
                         "kernelPattern has " + std::to_string(kernelPattern.size()) +
                             " entries, expected " + std::to_string(outs * ins));
    }
    const float* w = weights.data<float>();
    FkwWeights fkw;
    fkw.patterns.assign(patterns.begin(), patterns.end());
    fkw.kernelStart.push_back(0);
    for (int64_t o = 0; o < outs; ++o) {
        fkw.filterOrder.push_back(static_cast<int32_t>(o));
        for (int64_t i = 0; i < ins; ++i) {
            const float* kernel = w + (o * ins + i) * 9;
            int32_t id = -1;
            if (!kernelPattern.empty()) {
                id = kernelPattern[static_cast<size_t>(o * ins + i)];
                if (id >= static_cast<int32_t>(patterns.size()) || id < -1) {
                    return makeError(ErrorCode::InvalidArgument,
                                     kernelName(o, i) + ": pattern index " + std::to_string(id) +
                                         " outside the set of " + std::to_string(patterns.size()));
                }
                if (id == -1 && !allZero(kernel)) {
                    return makeError(ErrorCode::InvalidArgument,
                                     kernelName(o, i) + " is marked removed but holds nonzeros");
                }
                if (id >= 0 && !patternCovers(patterns[static_cast<size_t>(id)], kernel)) {
                    return makeError(ErrorCode::InvalidArgument,
                                     kernelName(o, i) + " has nonzeros outside its pattern " +
                                         std::to_string(id));
                }
            } else if (!allZero(kernel)) {
                for (size_t p = 0; p < patterns.size() && id < 0; ++p) {
                    if (patternCovers(patterns[p], kernel)) id = static_cast<int32_t>(p);
                }
                if (id < 0) {
                    return makeError(ErrorCode::InvalidArgument,
                                     kernelName(o, i) + ": its nonzeros fit none of the " +
                                         std::to_string(patterns.size()) + " patterns");
                }
            }
            // All-zero kernels cost work and hold nothing, whatever the scheme labelled them.
            if (id < 0 || allZero(kernel)) continue;
            fkw.inputChannel.push_back(static_cast<int32_t>(i));
            fkw.patternId.push_back(static_cast<uint8_t>(id));
            const prune::Pattern pattern = patterns[static_cast<size_t>(id)];
            for (int p = 0; p < 9; ++p) {
                if (pattern & (1u << p)) fkw.weights.push_back(kernel[p]);
            }
        }
        fkw.kernelStart.push_back(static_cast<int32_t>(fkw.inputChannel.size()));
    }
    return fkw;
}

CsrWeights packCsr(const Tensor& weights) {
    CsrWeights csr;
    auto shape = gemmShape(weights);
    if (!shape.ok()) return csr;  // documented inputs only; an empty CSR fails verification
    const float* w = weights.data<float>();
    csr.rowStart.push_back(0);
    for (int64_t r = 0; r < shape->rows; ++r) {
        for (int64_t c = 0; c < shape->cols; ++c) {
            const float x = w[r * shape->cols + c];
            if (x == 0.0f) continue;
            csr.column.push_back(static_cast<int32_t>(c));
            csr.values.push_back(x);
        }
        csr.rowStart.push_back(static_cast<int32_t>(csr.values.size()));
    }
    return csr;
}

// The tile-wise scheme cuts the *kept* columns (keptColumns, in order) into tiles of
// tileWidth, so tile t holds keptColumns[t * tileWidth ...]; blocks are stored densely.
Result<TileWeights> packTiles(const Tensor& weights, const prune::TileStructure& tiles) {
    PL_TRY_ASSIGN(const GemmShape shape, gemmShape(weights));
    if (tiles.tileWidth <= 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "tile width " + std::to_string(tiles.tileWidth) + " is not positive");
    }
    const int64_t kept = static_cast<int64_t>(tiles.keptColumns.size());
    const int64_t count = (kept + tiles.tileWidth - 1) / tiles.tileWidth;
    if (static_cast<int64_t>(tiles.keptRows.size()) != count) {
        return makeError(ErrorCode::InvalidArgument,
                         std::to_string(tiles.keptRows.size()) + " tiles of rows for " +
                             std::to_string(kept) + " kept columns in tiles of " +
                             std::to_string(tiles.tileWidth) + " (expected " +
                             std::to_string(count) + ")");
    }
    for (int32_t c : tiles.keptColumns) {
        if (c < 0 || c >= shape.cols) {
            return makeError(ErrorCode::InvalidArgument, "kept column " + std::to_string(c) +
                                                             " outside [0, " +
                                                             std::to_string(shape.cols) + ")");
        }
    }
    const float* w = weights.data<float>();
    // Every nonzero must lie in a stored block, or unpacking would lose it.
    std::vector<uint8_t> covered(static_cast<size_t>(shape.rows * shape.cols), 0);
    TileWeights out;
    out.tileWidth = tiles.tileWidth;
    out.blockStart.push_back(0);
    for (int64_t t = 0; t < count; ++t) {
        std::vector<int32_t> columns(
            tiles.keptColumns.begin() + t * tiles.tileWidth,
            tiles.keptColumns.begin() + std::min(kept, (t + 1) * tiles.tileWidth));
        const std::vector<int32_t>& rows = tiles.keptRows[static_cast<size_t>(t)];
        for (int32_t r : rows) {
            if (r < 0 || r >= shape.rows) {
                return makeError(ErrorCode::InvalidArgument,
                                 "tile " + std::to_string(t) + ": row " + std::to_string(r) +
                                     " outside [0, " + std::to_string(shape.rows) + ")");
            }
            for (int32_t c : columns) {
                out.blocks.push_back(w[r * shape.cols + c]);
                covered[static_cast<size_t>(r * shape.cols + c)] = 1;
            }
        }
        out.rows.push_back(rows);
        out.columns.push_back(std::move(columns));
        out.blockStart.push_back(static_cast<int64_t>(out.blocks.size()));
    }
    for (int64_t e = 0; e < shape.rows * shape.cols; ++e) {
        if (w[e] != 0.0f && !covered[static_cast<size_t>(e)]) {
            return makeError(ErrorCode::InvalidArgument,
                             "weight (row " + std::to_string(e / shape.cols) + ", column " +
                                 std::to_string(e % shape.cols) +
                                 ") is nonzero but lies in no kept tile");
        }
    }
    return out;
}

// Written defensively (indices checked, bad entries skipped): the verifier unpacks storage it
// has not trusted yet, and a corrupted layer must show up as a mismatch, not a crash.
void scaleOutputChannels(LayerCode& layer, std::span<const float> scale,
                         std::span<const float> shift) {
    const auto outs = static_cast<size_t>(layer.conv.outChannels);
    assert(scale.size() == outs && shift.size() == outs);
    if (layer.bias.size() != outs) layer.bias.assign(outs, 0.0f);
    for (size_t o = 0; o < outs; ++o) layer.bias[o] = layer.bias[o] * scale[o] + shift[o];
    switch (layer.kind) {
        case KernelKind::Pattern: {
            FkwWeights& fkw = layer.fkw;
            for (size_t f = 0; f < fkw.filterOrder.size(); ++f) {
                const float s = scale[size_t(fkw.filterOrder[f])];
                for (size_t i = size_t(fkw.kernelStart[f]) * 4;
                     i < size_t(fkw.kernelStart[f + 1]) * 4; ++i) {
                    fkw.weights[i] *= s;
                }
            }
            break;
        }
        case KernelKind::TileWise: {
            TileWeights& tw = layer.tiles;
            for (size_t t = 0; t < tw.rows.size(); ++t) {
                const size_t cols = tw.columns[t].size();
                for (size_t r = 0; r < tw.rows[t].size(); ++r) {
                    float* row = tw.blocks.data() + tw.blockStart[t] + r * cols;
                    for (size_t j = 0; j < cols; ++j) row[j] *= scale[size_t(tw.rows[t][r])];
                }
            }
            break;
        }
        case KernelKind::Csr:
            for (size_t o = 0; o < outs; ++o) {
                for (int32_t e = layer.csr.rowStart[o]; e < layer.csr.rowStart[o + 1]; ++e) {
                    layer.csr.values[size_t(e)] *= scale[o];
                }
            }
            break;
        case KernelKind::Dense:
            break;
    }
}

Tensor unpackWeights(const LayerCode& layer) {
    if (layer.kind == KernelKind::Dense) return {};
    const ConvParams& c = layer.conv;
    const int64_t outs = c.outChannels, ins = c.group > 0 ? c.inChannelsPerGroup() : 0;
    const int64_t kh = c.kernelH, kw = c.kernelW, area = kh * kw, cols = ins * area;
    Tensor dense(DataType::Float32, {outs, ins, kh, kw});
    float* d = dense.data<float>();
    auto put = [&](int64_t r, int64_t col, float v) {
        if (r >= 0 && r < outs && col >= 0 && col < cols) d[r * cols + col] = v;
    };
    switch (layer.kind) {
        case KernelKind::Dense:
            break;
        case KernelKind::Pattern: {
            const FkwWeights& f = layer.fkw;
            if (area != 9) break;
            const int64_t kernels = static_cast<int64_t>(f.inputChannel.size());
            for (size_t s = 0; s + 1 < f.kernelStart.size() && s < f.filterOrder.size(); ++s) {
                const int64_t o = f.filterOrder[s];
                for (int64_t k = std::max<int64_t>(f.kernelStart[s], 0);
                     k < std::min<int64_t>(f.kernelStart[s + 1], kernels); ++k) {
                    const size_t kk = static_cast<size_t>(k);
                    if (kk >= f.patternId.size() || f.patternId[kk] >= f.patterns.size()) continue;
                    if (static_cast<size_t>(k * 4 + 4) > f.weights.size()) continue;
                    const prune::Pattern pattern = f.patterns[f.patternId[kk]];
                    int slot = 0;
                    for (int p = 0; p < 9 && slot < 4; ++p) {
                        if (!(pattern & (1u << p))) continue;
                        if (f.inputChannel[kk] >= 0 && f.inputChannel[kk] < ins) {
                            put(o, f.inputChannel[kk] * 9 + p, f.weights[kk * 4 + slot]);
                        }
                        ++slot;
                    }
                }
            }
            break;
        }
        case KernelKind::Csr: {
            const CsrWeights& s = layer.csr;
            for (int64_t r = 0; r < outs && r + 1 < static_cast<int64_t>(s.rowStart.size()); ++r) {
                for (int64_t k = std::max<int64_t>(s.rowStart[r], 0);
                     k < std::min<int64_t>(s.rowStart[r + 1],
                                           std::min(s.column.size(), s.values.size()));
                     ++k) {
                    put(r, s.column[static_cast<size_t>(k)], s.values[static_cast<size_t>(k)]);
                }
            }
            break;
        }
        case KernelKind::TileWise: {
            const TileWeights& t = layer.tiles;
            for (size_t i = 0;
                 i < t.rows.size() && i < t.columns.size() && i + 1 < t.blockStart.size(); ++i) {
                const size_t width = t.columns[i].size();
                int64_t at = t.blockStart[i];
                for (size_t r = 0; r < t.rows[i].size(); ++r) {
                    for (size_t j = 0; j < width; ++j, ++at) {
                        if (at < 0 || at >= static_cast<int64_t>(t.blocks.size())) continue;
                        put(t.rows[i][r], t.columns[i][j], t.blocks[static_cast<size_t>(at)]);
                    }
                }
            }
            break;
        }
    }
    return dense;
}

}  // namespace prunelab::engine::codegen

// Building the compressed storages of sparse_ir.h from a layer's weights, and the inverse
// (unpack), which the verifier and the differential tests compare against the model's weights.
#pragma once

#include <span>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine::codegen {

// weights: float32 [O][I/g][3][3]. Each kernel with a nonzero weight is stored with the first
// pattern of `patterns` that covers all its nonzeros (`kernelPattern`, when given, is the
// scheme's own choice per kernel o * I/g + i, -1 = removed, and wins); all-zero kernels are
// dropped. Filters stay in natural order (reorderFilters() changes it). InvalidArgument naming
// the kernel when its nonzeros fit no pattern of the set.
Result<FkwWeights> packFkw(const Tensor& weights, std::span<const prune::Pattern> patterns,
                           std::span<const int32_t> kernelPattern = {});

// weights: float32 [O][I/g][kh][kw] (any kernel size) or [O][K]; keeps the nonzeros.
CsrWeights packCsr(const Tensor& weights);

// weights: float32 [O][I/g][kh][kw] or [O][K]; `tiles` as the tile-wise scheme reported it.
Result<TileWeights> packTiles(const Tensor& weights, const prune::TileStructure& tiles);

// y = (conv + bias) * scale[o] + shift[o] folded into the layer: every stored weight of output
// channel o times scale[o], bias[o] * scale[o] + shift[o] (`scale` and `shift` have outChannels
// values). A per-channel affine after a conv (a BatchNormalization, PP-OCR's learnable scalar
// affine) then costs nothing at run time, as it does for the dense convs.
void scaleOutputChannels(LayerCode& layer, std::span<const float> scale,
                         std::span<const float> shift);

// The dense weights [O][I/g][kh][kw] (from layer.conv) the layer's storage holds; for a Dense
// layer, empty (its weights stay in the graph).
Tensor unpackWeights(const LayerCode& layer);

}  // namespace prunelab::engine::codegen

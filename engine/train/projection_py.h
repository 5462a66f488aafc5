// The exported PyTorch script's projections (engine/train/python/prunelab_projection.py: the
// engine's pruning schemes in torch, bit for bit) as text, for the exporter to write beside
// train.py. Built into the engine from the file at build time; no torch needed.
#pragma once

#include <string_view>

namespace prunelab::engine::train {

// The whole text of prunelab_projection.py (static storage; valid for the program's life).
std::string_view prunelabProjectionPy();

}  // namespace prunelab::engine::train

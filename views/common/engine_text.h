// Engine values as text a person reads in the workbench: errors (with the file or layer they
// name), shapes and large counts. Every view reports engine errors through here.
#pragma once

#include <QString>
#include <cstddef>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::views {

// "model.onnx: node 'conv1' (Conv): initializer has 12 bytes, expected 36".
QString errorText(const engine::Error& error);
// "1x3x128x128"; "scalar" for rank 0.
QString shapeText(const engine::Shape& shape);
// 1234567 -> "1.23 M", 1234 -> "1.23 k", 12 -> "12": table cells stay narrow.
QString countText(int64_t count);

// Frames both lanes must have run before a speed figure is shown: over fewer, a busy machine's
// medians make two equal lanes read "0.6x slower".
inline constexpr size_t kSpeedFrames = 5;
// The big speed figure's words, one wording for the Live tab and the classroom's meter:
// "Measuring…" before a figure exists (speedup <= 0), "Warming up…" while a stand-in runs and
// is not yet faster, "About the same speed" within the noise (at least 5%; pass
// LiveStats::speedupNoise(): the medians cannot tell the lanes apart), else "2.4x faster" or
// "1.3x slower".
QString speedupText(double speedup, bool warmingUp, double noise = 0.05);

}  // namespace prunelab::views

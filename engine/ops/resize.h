// ONNX Resize's coordinate transform and nearest-pixel rounding, shared by the reference kernel,
// the CPU runtime's fast loops and the trainer's torch module so that all three agree exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prunelab::engine {

class Attributes;

// Where output coordinate x of an axis lands in the input, in float as ONNX Runtime does:
//   half_pixel            (x + 0.5) / scale - 0.5
//   pytorch_half_pixel    the same, but 0 when the output has length 1
//   half_pixel_symmetric  half_pixel shifted so the resized image stays centred
//   align_corners         x * (in - 1) / (out - 1)   (0 when out == 1)
//   asymmetric            x / scale
//   tf_half_pixel_for_nn  (x + 0.5) / scale
// Any other mode reads as half_pixel (the op's importer rejects unknown modes).
float resizeInputCoordinate(const std::string& mode, float x, float scale, int64_t inLen,
                            int64_t outLen);

// nearest_mode: floor, ceil, round_prefer_floor, else round_prefer_ceil (halves round up).
int64_t resizeNearestIndex(const std::string& nearestMode, float coord);

// One axis of a Resize as gather-and-weigh taps: output o reads index[o * taps + k] with weight
// weight[o * taps + k] (1 tap nearest, 2 linear, 4 cubic), with the reference kernel's float
// coordinates and rounding. The trainer's torch module and the PyTorch export both use it.
struct ResizeTaps {
    int64_t taps = 1;
    std::vector<int64_t> index;
    std::vector<float> weight;
};
ResizeTaps resizeTaps(const Attributes& attrs, int64_t inLen, int64_t outLen, float scale);

}  // namespace prunelab::engine

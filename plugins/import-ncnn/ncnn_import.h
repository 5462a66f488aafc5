// ncnn importer: a .param (text) + .bin (weights) pair into the engine's canonical IR, so
// ncnn-only models (Real-ESRGAN animevideov3, ...) can be pruned and exported to ONNX.
// Thread-safe: no shared state. Never throws; every error names the file and the layer.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::ncnn {

// Binds the single Input blob to [1, C, height, width] (C from the Input layer, else 3) and
// returns a verified graph. Supported layers: Input, Split, Convolution, ConvolutionDepthWise
// (fused activations none/relu/leaky/clip/sigmoid), PReLU, ReLU, Sigmoid, Clip, Dropout,
// BinaryOp (add/sub/mul/div/pow), Eltwise (sum/prod), Concat, PixelShuffle, Interp
// (nearest/bilinear/bicubic), Pooling (max/avg, global, full/valid/SAME), InnerProduct.
// Weights may be fp32, fp16 or table-quantised (widened to fp32).
// Errors: Corrupt (bad magic, counts, params, short .bin), Unsupported (layer type or
// parameter), NotFound (unknown blob), Io (unreadable file), ShapeMismatch (inference).
engine::Result<engine::Graph> importNcnn(const std::string& paramPath, const std::string& binPath,
                                         int64_t height, int64_t width);

}  // namespace prunelab::ncnn

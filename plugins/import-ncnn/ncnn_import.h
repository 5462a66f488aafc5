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
// returns a verified graph. Supported layers: Input, Split, Convolution, ConvolutionDepthWise,
// Deconvolution, DeconvolutionDepthWise (pads, output_pad, SAME output sizes; fused
// activations none/relu/leaky/clip/sigmoid/hardswish), PReLU, ReLU, Sigmoid, Clip, Dropout,
// HardSigmoid, HardSwish, BinaryOp (add/sub/mul/div/pow/rsub/rdiv/rpow; max/min with a
// scalar only), Eltwise (sum/prod), Concat, PixelShuffle, Interp (nearest/bilinear/bicubic),
// Pooling (max/avg, global, full/valid/SAME), InnerProduct, Reshape (w/h/c with 0 and -1,
// the old permute flag), Permute (orders 0-5), Softmax, Crop (offsets, starts/ends/axes, or a
// reference blob), Padding (constant/replicate/reflect, channel front/behind), Flatten.
// Weights may be fp32, fp16 or table-quantised (widened to fp32).
// Errors: Corrupt (bad magic, counts, params, short .bin), Unsupported (layer type or
// parameter), NotFound (unknown blob), Io (unreadable file), ShapeMismatch (inference).
engine::Result<engine::Graph> importNcnn(const std::string& paramPath, const std::string& binPath,
                                         int64_t height, int64_t width);

// The same from the two files' contents (the fuzzer's entry point: no temporary files).
// `paramName` and `binName` name the files in errors and in graph.sourcePath.
engine::Result<engine::Graph> importNcnnData(const std::string& paramText, std::string binData,
                                             const std::string& paramName,
                                             const std::string& binName, int64_t height,
                                             int64_t width);

}  // namespace prunelab::ncnn

// TensorFlow Lite importer: a .tflite FlatBuffer (MediaPipe's face and selfie models, ...) into
// the engine's canonical IR, converting TFLite's NHWC/OHWI layout to NCHW/OIHW once at import.
// Thread-safe: no shared state. Never throws; every error names the file and the tensor or
// operator.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::tflite {

// Reads subgraph 0 of a .tflite file and returns a verified graph. The graph's inputs and
// outputs are exactly the file's (NHWC images stay NHWC; a Transpose inside moves them to the
// IR's NCHW, and back where a reshape or an output needs TFLite's order). A fixed input size
// is kept; height/width (> 0) bind only dynamic dims (shape_signature -1; a dynamic batch
// becomes 1).
// Weights: fp16 widened, int8/uint8 dequantised (scale, zero point, per channel; noted in
// graph.metadata["import.notes"]); a fully quantised model runs in float32, its input taking
// the real values its integer input stands for (QUANTIZE and DEQUANTIZE of activations pass
// values on; noted too), sparse tensors (TFLite's `sparsity`) decoded to dense
// weights with zeros, so they read as a pruned layer.
// Ops: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (and MediaPipe's custom
// Convolution2DTransposeBias), FULLY_CONNECTED, ADD, SUB, MUL, DIV, CONCATENATION, RESHAPE,
// SQUEEZE, TRANSPOSE, PAD, PADV2, MIRROR_PAD (reflect), MAX_POOL_2D, AVERAGE_POOL_2D, MEAN,
// SUM, REDUCE_MAX, REDUCE_MIN, MAXIMUM, MINIMUM, EXP, SQRT, ABS, NEG, FLOOR, CEIL, ROUND, LOG,
// RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR, DEPTH_TO_SPACE, LOGISTIC, TANH, RELU, RELU6,
// RELU_N1_TO_1, LEAKY_RELU, PRELU, HARD_SWISH, SOFTMAX, QUANTIZE, DEQUANTIZE, DENSIFY of constants;
// fused activations NONE/RELU/RELU_N1_TO_1/RELU6/TANH.
// Errors: Corrupt (failed FlatBuffers verification, bad index, size or sparsity metadata),
// Unsupported (op, type or option), Io (unreadable file), ShapeMismatch (inference).
engine::Result<engine::Graph> importTflite(const std::string& path, int64_t height, int64_t width);

// The same from bytes already in memory (the fuzzer's entry); `name` stands for the file in
// messages.
engine::Result<engine::Graph> importTfliteBuffer(const uint8_t* data, size_t size,
                                                 const std::string& name, int64_t height,
                                                 int64_t width);

}  // namespace prunelab::tflite

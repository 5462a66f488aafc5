// The clean-up passes the ONNX importer runs on the fresh IR, in this order: drop Identity
// nodes, fold BatchNormalization into the convolution before it, remove dead code, sort.
// The IR is verified after each step in debug builds and always at the end.
#pragma once

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/onnx/onnx_import.h"

namespace prunelab::engine::internal {

// Removes Identity nodes, rewiring their readers to the Identity's input. One is kept where
// removing it would turn a graph output into a graph input or constant (or merge two outputs).
// Returns how many were removed.
int removeIdentityNodes(Graph& graph);

// Folds BatchNormalization into the Conv (or group-1 ConvTranspose) that feeds it when the
// conv's output has no other reader and is not a graph output, and all parameters are float32
// constants:  s = scale / sqrt(var + eps),  W'[o] = W[o] * s[o],  b' = (b - mean) * s + B.
// The conv gets new weight and bias constants (the old ones may be shared). Returns the count.
int foldBatchNormalization(Graph& graph);

// The pipeline above; the final verify() failure is returned as an Internal error.
Status runOnnxImportPasses(Graph& graph, const OnnxImportOptions& options);

}  // namespace prunelab::engine::internal

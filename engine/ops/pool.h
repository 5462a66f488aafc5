// MaxPool / AveragePool parameter parsing and ONNX mapping, shared by both pool ops and the CPU
// runtime. Defined in max_pool.cpp (the ops have no .cpp of their own to share).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

// One 2-D pooling window sweep, NCHW, every size resolved from the canonical attributes
// (kernel_shape, strides, pads t,l,b,r, dilations, ceil_mode, count_include_pad).
struct PoolParams {
    int64_t batch = 0, channels = 0;
    int64_t inH = 0, inW = 0, outH = 0, outW = 0;
    int64_t kernelH = 1, kernelW = 1;
    int64_t strideH = 1, strideW = 1;
    int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
    int64_t dilationH = 1, dilationW = 1;
    bool ceilMode = false;
    bool countIncludePad = false;  // AveragePool only
};

// Checks the canonical attributes against X[N][C][H][W]; `op` names the op in messages.
// Errors: Unsupported for non-2-D input, InvalidArgument for malformed attributes,
// ShapeMismatch when the window does not fit the padded input.
Result<PoolParams> poolParams(const Node& node, const Shape& x, std::string_view op);

// Shape inference for both pools: one float32 input, one output [N, C, outH, outW].
Status inferPool(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out);

// ONNX MaxPool / AveragePool (opset 1..22) -> canonical attributes, auto_pad resolved.
// `average` adds count_include_pad. MaxPool's optional Indices output is Unsupported.
Result<OnnxImport> importPool(const OnnxNodeIn& node, bool average);
// Canonical -> one ONNX node of `opType` at opset 13 (AveragePool there has no dilations:
// Unsupported unless they are 1).
Result<std::vector<OnnxNodeOut>> exportPool(const Node& node, const Graph& graph,
                                            std::string_view opType, bool average);

}  // namespace prunelab::engine

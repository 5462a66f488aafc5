// Conv / ConvTranspose parameter parsing, shared by the ops, the pools and the CPU runtime:
// canonical attributes + input shapes -> one flat struct of resolved sizes, checked once.
// Also the ONNX helpers every 2-D sliding-window op uses (auto_pad, spatial INTS attributes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

// One 2-D convolution (or transposed convolution), NCHW, every size resolved. Conv weights
// are W[outChannels][inChannels/group][kernelH][kernelW]; ConvTranspose weights are
// W[inChannels][outChannels/group][kernelH][kernelW]. Pads are in input (Conv) or output
// (ConvTranspose) pixels and never negative.
struct ConvParams {
    int64_t batch = 0;
    int64_t inChannels = 0, inH = 0, inW = 0;
    int64_t outChannels = 0, outH = 0, outW = 0;
    int64_t kernelH = 0, kernelW = 0;
    int64_t group = 1;
    int64_t strideH = 1, strideW = 1;
    int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
    int64_t dilationH = 1, dilationW = 1;
    int64_t outputPaddingH = 0, outputPaddingW = 0;  // ConvTranspose only; 0 for Conv

    int64_t inChannelsPerGroup() const { return inChannels / group; }
    int64_t outChannelsPerGroup() const { return outChannels / group; }
};

// Checks Conv's canonical attributes (strides, pads, dilations, group) against X[N][C][H][W]
// and W[O][C/group][kh][kw]. Errors: Unsupported for non-2-D, ShapeMismatch when the shapes
// do not fit (channel counts, kernel larger than the padded input), InvalidArgument for
// malformed attributes (wrong length, stride 0, negative pads).
Result<ConvParams> convParams(const Node& node, const Shape& x, const Shape& w);

// The same for ConvTranspose (defined in conv_transpose.cpp): W[C][O/group][kh][kw], plus
// output_padding; outH = strideH*(H-1) + outputPaddingH + (kh-1)*dilationH + 1 - padTop -
// padBottom.
Result<ConvParams> convTransposeParams(const Node& node, const Shape& x, const Shape& w);

// Output length of a sliding window along one axis:
//   floor((in + padBegin + padEnd - ((kernel-1)*dilation + 1)) / stride) + 1
// with ceil instead of floor when ceilMode, dropping a last window that would start in the
// end padding (ONNX and ONNX Runtime since onnx/onnx#5741, PyTorch). May return <= 0 when the
// window does not fit; callers report that.
int64_t slidingOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                          int64_t padBegin, int64_t padEnd, bool ceilMode);

// A canonical INTS attribute of exactly `count` values, each >= minValue; `count` copies of
// `fallback` when absent. InvalidArgument naming `op` and the attribute otherwise.
Result<std::vector<int64_t>> convAttrInts(const Attributes& attrs, const std::string& name,
                                          size_t count, int64_t fallback, int64_t minValue,
                                          std::string_view op);

// ---- ONNX import helpers for the 2-D sliding-window ops (Conv, ConvTranspose, pools) ----

// An ONNX INTS attribute with exactly `count` values, or `count` copies of `fallback` when
// absent. InvalidArgument naming `op` and the attribute when the length is wrong.
Result<std::vector<int64_t>> onnxSpatialInts(const Attributes& onnxAttrs, const std::string& name,
                                             size_t count, int64_t fallback, std::string_view op);

// Resolves ONNX auto_pad (NOTSET, SAME_UPPER, SAME_LOWER, VALID) into explicit pads
// {top, left, bottom, right} for an input of inH x inW. SAME_* pads so that
// out = ceil(in / stride), the odd pixel at the end (UPPER) or the beginning (LOWER).
// NOTSET reads the `pads` attribute (default zeros).
Result<std::vector<int64_t>> onnxResolveAutoPad(const Attributes& onnxAttrs, int64_t inH,
                                                int64_t inW, const std::vector<int64_t>& kernel,
                                                const std::vector<int64_t>& strides,
                                                const std::vector<int64_t>& dilations,
                                                std::string_view op);

}  // namespace prunelab::engine

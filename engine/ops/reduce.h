// Shared pieces of ReduceMax, ReduceMin and ReduceSum: the canonical attributes (axes
// non-negative and sorted, keepdims, noop_with_empty_axes), their shape inference, one plain
// reference loop parameterised by the combining step, and the ONNX import/export of both the
// attribute (opset < 13/18) and the constant-input forms of `axes`.
#pragma once

#include <string_view>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine {

// Which dims of a rank-`rank` input `node` reduces (true = reduced): its `axes`, all of them
// when `axes` is empty, none when empty and noop_with_empty_axes is set. InvalidArgument
// "ReduceMax axis 4 is out of range for rank 3" otherwise.
Result<std::vector<bool>> reduceAxes(std::string_view op, const Node& node, size_t rank);

// One float32 or int64 input; the output keeps the reduced dims as 1s (keepdims) or drops
// them. `emptyAllowed`: whether a reduced dim of size 0 has an answer (ReduceSum's 0).
Status inferReduce(std::string_view op, const Node& node, std::span<const TensorInfo> in,
                   std::span<TensorInfo> out, bool emptyAllowed);

// y[j] = fold of x[i] over every input index i that maps to output index j (i with its
// reduced coordinates set to 0), starting from `init`: combine(acc, x) in row-major order.
template <class T, class Acc, class Combine>
void reduceLoop(const Tensor& x, const std::vector<bool>& reduced, Tensor& y, Acc init,
                Combine&& combine) {
    const Shape& shape = x.shape();
    // Output strides in the keepdims layout (reduced dims of size 1): dropping those dims does
    // not change the element order.
    std::vector<int64_t> outStride(shape.size(), 0);
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        if (!reduced[d]) {
            outStride[d] = stride;
            stride *= shape[d];
        }
    }
    std::vector<Acc> acc(static_cast<size_t>(y.elements()), init);
    const T* src = x.data<T>();
    std::vector<int64_t> index(shape.size(), 0);
    for (int64_t flat = 0; flat < x.elements(); ++flat) {
        int64_t target = 0;
        for (size_t d = 0; d < shape.size(); ++d) target += index[d] * outStride[d];
        acc[static_cast<size_t>(target)] = combine(acc[static_cast<size_t>(target)], src[flat]);
        for (size_t d = shape.size(); d-- > 0;) {  // next row-major index
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
    }
    T* dst = y.data<T>();
    for (size_t j = 0; j < acc.size(); ++j) dst[j] = static_cast<T>(acc[j]);
}

// ONNX -> canonical: `axes` from the attribute or the constant second input (ReduceSum-13,
// every reduce from opset 18), negative axes normalised, sorted, duplicates dropped.
Result<OnnxImport> importReduce(std::string_view op, const OnnxNodeIn& node);
// Canonical -> opset 13: ReduceSum takes axes as a constant input and knows
// noop_with_empty_axes; ReduceMax/Min take an attribute, and a no-op reduce is an Identity.
Result<std::vector<OnnxNodeOut>> exportReduce(std::string_view op, const Node& node);

}  // namespace prunelab::engine

// ReduceMin: the smallest element over a set of axes (all when `axes` is empty), keeping them as 1s
// or dropping them; float32 and int64. The reference kernel; shape inference and the ONNX mapping
// are shared with the other reductions (reduce.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferReduce("ReduceMin", node, in, out, /*emptyAllowed=*/false);
}

// y[j] = min over every x[i] that maps to j (NaN wins, as in ONNX Runtime).
// The output index j of input index i: i with its reduced coordinates set to 0 (reduceLoop).
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(std::vector<bool> reduced, reduceAxes("ReduceMin", node, in[0]->shape().size()));
    if (in[0]->dtype() == DataType::Int64) {
        reduceLoop<int64_t>(*in[0], reduced, *out[0], std::numeric_limits<int64_t>::max(),
                            [](int64_t acc, int64_t x) { return std::min(acc, x); });
    } else {
        reduceLoop<float>(
            *in[0], reduced, *out[0], std::numeric_limits<double>::infinity(),
            [](double acc, float x) { return std::isnan(x) || x < acc ? double(x) : acc; });
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importReduce("ReduceMin", node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportReduce("ReduceMin", node);
}

}  // namespace

const OpDef kOpDefReduceMin = {OpKind::ReduceMin, "ReduceMin", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

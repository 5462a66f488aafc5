// ReduceSum: the sum over a set of axes (all when `axes` is empty), keeping them as 1s or
// dropping them; float32 and int64. The reference kernel; shape inference and the ONNX
// mapping are shared with the other reductions (reduce.h).
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferReduce("ReduceSum", node, in, out, /*emptyAllowed=*/true);
}

// y[j] = sum of every x[i] that maps to j (float: accumulated in double; int64: wraps).
// The output index j of input index i: i with its reduced coordinates set to 0 (reduceLoop).
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(std::vector<bool> reduced, reduceAxes("ReduceSum", node, in[0]->shape().size()));
    if (in[0]->dtype() == DataType::Int64) {
        reduceLoop<int64_t>(*in[0], reduced, *out[0], int64_t(0),
                            [](int64_t acc, int64_t x) { return wrapAdd(acc, x); });
    } else {
        reduceLoop<float>(*in[0], reduced, *out[0], 0.0,
                          [](double acc, float x) { return acc + double(x); });
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importReduce("ReduceSum", node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportReduce("ReduceSum", node);
}

}  // namespace

const OpDef kOpDefReduceSum = {OpKind::ReduceSum, "ReduceSum", infer, reference,
                               importOnnx,        exportOnnx,  {}};

}  // namespace prunelab::engine

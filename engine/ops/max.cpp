// Max: the element-wise largest of 1..n inputs with numpy broadcasting across all of them; float32,
// int64 or int32. A NaN in any input makes that element NaN (numpy's np.maximum, and ONNX
// Runtime's), rather than C++'s std::max, whose answer depends on the argument order.
#include <cmath>
#include <type_traits>

#include "engine/ops/logic.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferVariadicBroadcast("Max", in, out);
}

// Y[i] = max_k X_k[x_k(i)]
// where x_k(i) is the output index i with input k's stretched dims set to 0; folded from input
// 0 on: Y = pick(pick(X_0, X_1), X_2) ..., with pick(a, b) = NaN when either is NaN.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    return foldReference("Max", in, *out[0], [](auto a, auto b) {
        if constexpr (std::is_floating_point_v<decltype(a)>) {
            if (std::isnan(a) || std::isnan(b)) return a + b;  // NaN either way
        }
        return b > a ? b : a;
    });
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importVariadic(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Max");
}

}  // namespace

const OpDef kOpDefMax = {OpKind::Max, "Max", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

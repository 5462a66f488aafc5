// ArgMax: the index of the largest element along one axis (the first of equal ones, or the last
// with select_last_index), as int64; the axis kept as a 1 (keepdims) or dropped. float32 and
// int64 inputs; NaN counts as the largest, as ONNX Runtime's comparisons leave it.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("ArgMax", in, 1, 1));
    if (in[0].dtype != DataType::Float32 && in[0].dtype != DataType::Int64) {
        return makeError(ErrorCode::Unsupported,
                         "ArgMax supports float32 and int64, got " + dtypeText(in[0].dtype));
    }
    const Shape& x = in[0].shape;
    const int64_t axis = node.attrs.getInt("axis", 0);
    if (axis < 0 || axis >= static_cast<int64_t>(x.size())) {
        return makeError(ErrorCode::InvalidArgument, "ArgMax axis " + std::to_string(axis) +
                                                         " is out of range for rank " +
                                                         std::to_string(x.size()));
    }
    if (x[static_cast<size_t>(axis)] == 0) {
        return makeError(ErrorCode::ShapeMismatch, "ArgMax along the empty axis " +
                                                       std::to_string(axis) + " of " +
                                                       shapeToString(x) + " has no answer");
    }
    out[0].dtype = DataType::Int64;
    out[0].shape.clear();
    for (size_t d = 0; d < x.size(); ++d) {
        if (d != static_cast<size_t>(axis)) {
            out[0].shape.push_back(x[d]);
        } else if (node.attrs.getInt("keepdims", 1) != 0) {
            out[0].shape.push_back(1);
        }
    }
    return {};
}

// View X as [outer][extent][inner] around the axis:
//   y[o][i] = the k in [0, extent) with x[o][k][i] largest; ties go to the smallest k, or to
//   the largest k when select_last_index (>= instead of > in the scan).
template <class T>
void argMax(const Tensor& x, size_t axis, bool last, Tensor& y) {
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
    const int64_t extent = x.shape()[axis];
    const T* src = x.data<T>();
    int64_t* dst = y.data<int64_t>();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
            const T* row = src + o * extent * inner + i;
            int64_t best = 0;
            for (int64_t k = 1; k < extent; ++k) {
                const T v = row[k * inner], b = row[best * inner];
                bool better = last ? v >= b : v > b;
                if constexpr (std::is_floating_point_v<T>) {
                    // A NaN wins over numbers; the first (last) NaN stays.
                    if (std::isnan(b))
                        better = last && std::isnan(v);
                    else if (std::isnan(v))
                        better = true;
                }
                if (better) best = k;
            }
            dst[o * inner + i] = best;
        }
    }
}

Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const auto axis = static_cast<size_t>(node.attrs.getInt("axis", 0));
    const bool last = node.attrs.getInt("select_last_index", 0) != 0;
    if (in[0]->dtype() == DataType::Int64) {
        argMax<int64_t>(*in[0], axis, last, *out[0]);
    } else {
        argMax<float>(*in[0], axis, last, *out[0]);
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) {
        return makeError(ErrorCode::InvalidArgument, "ArgMax needs an input");
    }
    const Attributes& a = onnxAttrs(node);
    const auto rank = static_cast<int64_t>(node.inputs[0].shape.size());
    PL_TRY_ASSIGN(int64_t axis, normalizeAxis(a.getInt("axis", 0), rank, "ArgMax axis"));
    OnnxImport result;
    result.attrs.set("axis", axis);
    result.attrs.set("keepdims", a.getInt("keepdims", 1) != 0 ? int64_t(1) : int64_t(0));
    result.attrs.set("select_last_index",
                     a.getInt("select_last_index", 0) != 0 ? int64_t(1) : int64_t(0));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "ArgMax";
    out.attrs.set("axis", node.attrs.getInt("axis", 0));
    out.attrs.set("keepdims", node.attrs.getInt("keepdims", 1));
    out.attrs.set("select_last_index", node.attrs.getInt("select_last_index", 0));
    out.inputs = {irOperand(0)};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefArgMax = {OpKind::ArgMax, "ArgMax", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine

// Softmax along one axis (opset 13), or with legacy = 1 the opset < 13 form that flattens X to
// 2-D at the axis and normalises over the whole tail. Shape inference, the reference kernel
// and the ONNX mapping (legacy exports as Flatten -> Softmax -> Reshape).
#include <cmath>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status inferSoftmax(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "Softmax takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "Softmax supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    const auto rank = static_cast<int64_t>(in[0].shape.size());
    const int64_t axis = node.attrs.getInt("axis", rank - 1);
    if (rank == 0 || axis < 0 || axis >= rank) {
        return makeError(ErrorCode::InvalidArgument, "Softmax axis " + std::to_string(axis) +
                                                         " is out of range for input " +
                                                         shapeToString(in[0].shape));
    }
    out[0] = in[0];
    out[0].constant = nullptr;
    return {};
}

// Along the reduced extent (axis only, or axis..end with legacy = 1), for every other index:
//   y[i] = exp(x[i] - max_j x[j]) / sum_j exp(x[j] - max_j x[j])
// Subtracting the max changes nothing mathematically and keeps exp() from overflowing.
Status referenceSoftmax(const Node& node, std::span<const Tensor* const> in,
                        std::span<Tensor* const> out) {
    const Shape& shape = in[0]->shape();
    const auto axis = static_cast<size_t>(node.attrs.getInt("axis", in[0]->rank() - 1));
    const bool legacy = node.attrs.getInt("legacy", 0) != 0;
    // View X as [outer][extent][inner] and normalise along extent.
    int64_t outer = 1, extent = 1, inner = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i < axis) {
            outer *= shape[i];
        } else if (i == axis || legacy) {
            extent *= shape[i];
        } else {
            inner *= shape[i];
        }
    }
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
            auto at = [&](int64_t e) { return (o * extent + e) * inner + i; };
            float maxValue = -INFINITY;
            for (int64_t e = 0; e < extent; ++e) maxValue = std::fmax(maxValue, x[at(e)]);
            double sum = 0.0;
            for (int64_t e = 0; e < extent; ++e)
                sum += std::exp(static_cast<double>(x[at(e)]) - maxValue);
            for (int64_t e = 0; e < extent; ++e) {
                y[at(e)] =
                    static_cast<float>(std::exp(static_cast<double>(x[at(e)]) - maxValue) / sum);
            }
        }
    }
    return {};
}

Result<OnnxImport> importSoftmax(const OnnxNodeIn& node) {
    if (node.inputs.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "Softmax takes one input");
    }
    const auto rank = static_cast<int64_t>(node.inputs[0].shape.size());
    const bool legacyOpset = node.opset < 13;
    // Opset < 13 defaults to axis 1 and flattens; opset 13 defaults to the last axis.
    int64_t axis = node.attrs->getInt("axis", legacyOpset ? 1 : -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) {
        return makeError(ErrorCode::InvalidArgument,
                         "Softmax axis " + std::to_string(node.attrs->getInt("axis")) +
                             " is out of range for rank " + std::to_string(rank));
    }
    OnnxImport result;
    result.attrs.set("axis", axis);
    // Flattening the tail from the last axis is the single-axis softmax: canonically legacy=0.
    result.attrs.set("legacy", int64_t(legacyOpset && axis != rank - 1 ? 1 : 0));
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportSoftmax(const Node& node, const Graph& graph) {
    const Shape& shape = graph.value(node.inputs[0]).shape;
    const int64_t axis = node.attrs.getInt("axis", static_cast<int64_t>(shape.size()) - 1);
    const bool legacy =
        node.attrs.getInt("legacy", 0) != 0 && axis != static_cast<int64_t>(shape.size()) - 1;
    if (!legacy) {
        OnnxNodeOut out;
        out.opType = "Softmax";
        out.attrs.set("axis", axis);
        out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
        return std::vector<OnnxNodeOut>{std::move(out)};
    }
    // Opset 13 Softmax is single-axis: flatten the tail into the last axis, normalise it, and
    // restore the shape.
    OnnxNodeOut flatten;
    flatten.opType = "Flatten";
    flatten.attrs.set("axis", axis);
    flatten.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
    OnnxNodeOut softmax;
    softmax.opType = "Softmax";
    softmax.attrs.set("axis", int64_t(1));
    softmax.inputs = {{OnnxOperand::Kind::Chained, 0, {}}};
    OnnxNodeOut reshape;
    reshape.opType = "Reshape";
    const auto rank = static_cast<int64_t>(shape.size());
    reshape.inputs = {{OnnxOperand::Kind::Chained, 1, {}},
                      {OnnxOperand::Kind::Constant, 0, Tensor::fromVector<int64_t>({rank}, shape)}};
    return std::vector<OnnxNodeOut>{std::move(flatten), std::move(softmax), std::move(reshape)};
}

}  // namespace

const OpDef kOpDefSoftmax = {
    OpKind::Softmax, "Softmax", inferSoftmax, referenceSoftmax, importSoftmax, exportSoftmax, {}};

}  // namespace prunelab::engine

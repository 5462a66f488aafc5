// ReduceMean: the mean over a set of axes (all when `axes` is empty), keeping them as 1s or
// dropping them. Shape inference, the reference kernel and the ONNX mapping (axes as an
// attribute up to opset 17, as a constant input from opset 18).
#include <algorithm>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

// Which axes are reduced (true = reduced); empty `axes` reduces everything.
Result<std::vector<bool>> reducedAxes(const Node& node, size_t rank) {
    std::vector<int64_t> axes = node.attrs.getInts("axes");
    std::vector<bool> reduced(rank, axes.empty());
    for (int64_t axis : axes) {
        if (axis < 0 || axis >= static_cast<int64_t>(rank)) {
            return makeError(ErrorCode::InvalidArgument, "ReduceMean axis " + std::to_string(axis) +
                                                             " is out of range for rank " +
                                                             std::to_string(rank));
        }
        reduced[static_cast<size_t>(axis)] = true;
    }
    return reduced;
}

Status inferReduceMean(const Node& node, std::span<const TensorInfo> in,
                       std::span<TensorInfo> out) {
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "ReduceMean takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "ReduceMean supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    const Shape& x = in[0].shape;
    PL_TRY_ASSIGN(std::vector<bool> reduced, reducedAxes(node, x.size()));
    const bool keepDims = node.attrs.getInt("keepdims", 1) != 0;
    out[0].dtype = DataType::Float32;
    out[0].shape.clear();
    for (size_t i = 0; i < x.size(); ++i) {
        if (reduced[i] && x[i] == 0) {
            return makeError(ErrorCode::ShapeMismatch, "ReduceMean over the empty axis " +
                                                           std::to_string(i) + " of " +
                                                           shapeToString(x) + " has no mean");
        }
        if (!reduced[i]) {
            out[0].shape.push_back(x[i]);
        } else if (keepDims) {
            out[0].shape.push_back(1);
        }
    }
    return {};
}

// y[j] = (1 / count) * sum of x[i] over every input index i that maps to output index j
// (i with its reduced coordinates set to 0), count = product of the reduced dims.
Status referenceReduceMean(const Node& node, std::span<const Tensor* const> in,
                           std::span<Tensor* const> out) {
    const Shape& x = in[0]->shape();
    PL_TRY_ASSIGN(std::vector<bool> reduced, reducedAxes(node, x.size()));
    // Output strides in the keepdims layout (reduced dims of size 1): dropping them does not
    // change the element order.
    std::vector<int64_t> outStride(x.size(), 0);
    int64_t stride = 1, count = 1;
    for (size_t i = x.size(); i-- > 0;) {
        if (reduced[i]) {
            count *= x[i];
        } else {
            outStride[i] = stride;
            stride *= x[i];
        }
    }
    std::vector<double> sum(static_cast<size_t>(out[0]->elements()), 0.0);
    const float* src = in[0]->data<float>();
    std::vector<int64_t> index(x.size(), 0);
    for (int64_t flat = 0; flat < in[0]->elements(); ++flat) {
        int64_t target = 0;
        for (size_t i = 0; i < x.size(); ++i) target += index[i] * outStride[i];
        sum[static_cast<size_t>(target)] += src[flat];
        for (size_t i = x.size(); i-- > 0;) {  // next row-major index
            if (++index[i] < x[i]) break;
            index[i] = 0;
        }
    }
    float* y = out[0]->data<float>();
    for (size_t j = 0; j < sum.size(); ++j) {
        y[j] = static_cast<float>(sum[j] / static_cast<double>(count));
    }
    return {};
}

Result<OnnxImport> importReduceMean(const OnnxNodeIn& node) {
    if (node.inputs.empty()) {
        return makeError(ErrorCode::InvalidArgument, "ReduceMean needs an input");
    }
    const Attributes& a = *node.attrs;
    const auto rank = static_cast<int64_t>(node.inputs[0].shape.size());
    std::vector<int64_t> axes = a.getInts("axes");
    if (node.inputs.size() > 1 && node.inputs[1].present()) {
        // Opset 18: axes is an input, which must be known to fold into the attribute.
        if (node.inputs[1].constant == nullptr) {
            return makeError(ErrorCode::Unsupported, "ReduceMean 'axes' must be a constant");
        }
        axes = node.inputs[1].constant->toInt64Vector();
    }
    if (axes.empty() && a.getInt("noop_with_empty_axes", 0) != 0) {
        return makeError(ErrorCode::Unsupported,
                         "ReduceMean with noop_with_empty_axes and no axes is not supported");
    }
    for (int64_t& axis : axes) {
        if (axis < -rank || axis >= rank) {
            return makeError(ErrorCode::InvalidArgument, "ReduceMean axis " + std::to_string(axis) +
                                                             " is out of range for rank " +
                                                             std::to_string(rank));
        }
        if (axis < 0) axis += rank;
    }
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    OnnxImport result;
    result.attrs.set("axes", axes);
    result.attrs.set("keepdims", a.getInt("keepdims", 1) != 0 ? int64_t(1) : int64_t(0));
    result.inputs = {0};
    return result;
}

// Opset 13 ReduceMean takes axes as an attribute; omitted means all axes.
Result<std::vector<OnnxNodeOut>> exportReduceMean(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "ReduceMean";
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    if (!axes.empty()) out.attrs.set("axes", axes);
    out.attrs.set("keepdims", node.attrs.getInt("keepdims", 1));
    out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefReduceMean = {OpKind::ReduceMean,
                                "ReduceMean",
                                inferReduceMean,
                                referenceReduceMean,
                                importReduceMean,
                                exportReduceMean,
                                {}};

}  // namespace prunelab::engine

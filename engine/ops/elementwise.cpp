// Broadcasting, the shared inference checks and the ONNX mapping helpers of elementwise.h.
#include "engine/ops/elementwise.h"

#include <algorithm>

namespace prunelab::engine {

Result<Shape> broadcastShapes(const Shape& a, const Shape& b) {
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
        // Align from the right: a missing leading dim acts as 1.
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da == db || db == 1) {
            out[i] = da;
        } else if (da == 1) {
            out[i] = db;
        } else {
            return makeError(ErrorCode::ShapeMismatch,
                             "cannot broadcast " + shapeToString(a) + " with " + shapeToString(b));
        }
    }
    return out;
}

bool broadcastsTo(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const size_t lead = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i) {
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    }
    return true;
}

std::vector<int64_t> contiguousStrides(const Shape& shape) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
    return strides;
}

std::vector<int64_t> broadcastStrides(const Shape& in, const Shape& out) {
    const std::vector<int64_t> own = contiguousStrides(in);
    std::vector<int64_t> strides(out.size(), 0);
    const size_t lead = out.size() - in.size();
    for (size_t i = 0; i < in.size(); ++i) {
        // A stretched dim re-reads the same elements: stride 0.
        strides[lead + i] = (in[i] == 1 && out[lead + i] != 1) ? 0 : own[i];
    }
    return strides;
}

std::string dtypeText(DataType type) {
    return std::string(dataTypeName(type));
}

Status expectInputs(std::string_view op, std::span<const TensorInfo> in, size_t minCount,
                    size_t maxCount) {
    if (in.size() < minCount || in.size() > maxCount) {
        std::string wanted = minCount == maxCount
                                 ? std::to_string(minCount)
                                 : std::to_string(minCount) + " to " + std::to_string(maxCount);
        return makeError(
            ErrorCode::InvalidArgument,
            std::string(op) + " takes " + wanted + " inputs, got " + std::to_string(in.size()));
    }
    for (size_t i = 0; i < minCount; ++i) {
        if (!in[i].present()) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " input " + std::to_string(i) + " is missing");
        }
    }
    return {};
}

Status inferBroadcastArithmetic(std::string_view op, std::span<const TensorInfo> in,
                                std::span<TensorInfo> out) {
    PL_TRY(expectInputs(op, in, 2, 2));
    const DataType type = in[0].dtype;
    if (in[1].dtype != type) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(op) + " needs inputs of one type, got " + dtypeText(type) +
                             " and " + dtypeText(in[1].dtype));
    }
    if (type != DataType::Float32 && type != DataType::Int64 && type != DataType::Int32) {
        return makeError(ErrorCode::Unsupported, std::string(op) + " supports float32, int64 and " +
                                                     "int32, not " + dtypeText(type));
    }
    PL_TRY_ASSIGN(Shape shape, broadcastShapes(in[0].shape, in[1].shape));
    out[0].dtype = type;
    out[0].shape = std::move(shape);
    return {};
}

Result<OnnxImport> importBroadcastBinary(const OnnxNodeIn& node) {
    const Attributes& attrs = onnxAttrs(node);
    if (attrs.getInt("broadcast", 0) != 0 || attrs.has("axis")) {
        return makeError(ErrorCode::Unsupported,
                         std::string(node.opType) +
                             " with opset<7 `broadcast`/`axis` attributes is not supported; "
                             "re-export the model with opset 7 or later");
    }
    if (node.inputs.size() != 2) {
        return makeError(ErrorCode::InvalidArgument, std::string(node.opType) +
                                                         " takes 2 inputs, got " +
                                                         std::to_string(node.inputs.size()));
    }
    return importInputsAsIs(node);
}

Status inferUnaryFloat(std::string_view op, std::span<const TensorInfo> in,
                       std::span<TensorInfo> out) {
    PL_TRY(expectInputs(op, in, 1, 1));
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported,
                         std::string(op) + " supports float32, not " + dtypeText(in[0].dtype));
    }
    out[0].dtype = in[0].dtype;
    out[0].shape = in[0].shape;
    return {};
}

Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, std::string_view what) {
    if (axis < -rank || axis >= rank) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(what) + " " + std::to_string(axis) +
                             " is out of range for rank " + std::to_string(rank));
    }
    return axis < 0 ? axis + rank : axis;
}

const Attributes& onnxAttrs(const OnnxNodeIn& node) {
    static const Attributes kNone;
    return node.attrs != nullptr ? *node.attrs : kNone;
}

bool hasOnnxInput(const OnnxNodeIn& node, size_t index) {
    return index < node.inputs.size() && node.inputs[index].present();
}

Result<std::vector<int64_t>> constantInts(const OnnxNodeIn& node, size_t index,
                                          std::string_view what) {
    if (!hasOnnxInput(node, index)) {
        return makeError(ErrorCode::InvalidArgument, std::string(what) + " input is missing");
    }
    const TensorInfo& info = node.inputs[index];
    if (info.constant == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         std::string(what) + " input must be a constant known at load time");
    }
    const DataType t = info.constant->dtype();
    if (t != DataType::Int64 && t != DataType::Int32) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(what) + " input must be int64, got " + dtypeText(t));
    }
    return info.constant->toInt64Vector();
}

Result<float> constantScalar(const OnnxNodeIn& node, size_t index, std::string_view what) {
    if (!hasOnnxInput(node, index)) {
        return makeError(ErrorCode::InvalidArgument, std::string(what) + " input is missing");
    }
    const TensorInfo& info = node.inputs[index];
    if (info.constant == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         std::string(what) + " input must be a constant known at load time");
    }
    if (info.constant->elements() != 1) {
        return makeError(ErrorCode::InvalidArgument, std::string(what) +
                                                         " must hold one value, got shape " +
                                                         shapeToString(info.constant->shape()));
    }
    return info.constant->toFloatVector()[0];
}

Result<OnnxImport> importFirstInput(const OnnxNodeIn& node) {
    if (!hasOnnxInput(node, 0)) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(node.opType) + " needs its data input");
    }
    OnnxImport result;
    result.inputs = {0};
    return result;
}

OnnxImport importInputsAsIs(const OnnxNodeIn& node) {
    OnnxImport result;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        result.inputs.push_back(node.inputs[i].present() ? static_cast<int>(i) : -1);
    }
    return result;
}

std::vector<OnnxNodeOut> exportAsIs(const Node& node, std::string_view opType) {
    OnnxNodeOut out;
    out.opType = std::string(opType);
    out.attrs = node.attrs;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] == kNoValue) {
            out.inputs.push_back(OnnxOperand{OnnxOperand::Kind::Absent, 0, {}});
        } else {
            out.inputs.push_back(irOperand(static_cast<int>(i)));
        }
    }
    return {out};
}

OnnxOperand irOperand(int index) {
    return OnnxOperand{OnnxOperand::Kind::IrInput, index, {}};
}

OnnxOperand constantOperand(Tensor value) {
    return OnnxOperand{OnnxOperand::Kind::Constant, 0, std::move(value)};
}

Tensor int64Vector(const std::vector<int64_t>& values) {
    return Tensor::fromVector<int64_t>({static_cast<int64_t>(values.size())}, values);
}

}  // namespace prunelab::engine

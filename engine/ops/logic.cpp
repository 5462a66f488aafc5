// Shape inference and ONNX import shared by the comparison, logic and Min/Max ops (logic.h).
#include "engine/ops/logic.h"

namespace prunelab::engine {

namespace {

bool numeric(DataType t) {
    return t == DataType::Float32 || t == DataType::Int64 || t == DataType::Int32;
}

}  // namespace

Status inferComparison(std::string_view op, std::span<const TensorInfo> in,
                       std::span<TensorInfo> out, bool allowBool) {
    PL_TRY(expectInputs(op, in, 2, 2));
    const DataType type = in[0].dtype;
    if (in[1].dtype != type) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(op) + " needs inputs of one type, got " + dtypeText(type) +
                             " and " + dtypeText(in[1].dtype));
    }
    if (!numeric(type) && !(allowBool && type == DataType::Bool)) {
        return makeError(ErrorCode::Unsupported,
                         std::string(op) + " supports float32, int64 and int32" +
                             (allowBool ? ", bool" : "") + ", not " + dtypeText(type));
    }
    PL_TRY_ASSIGN(Shape shape, broadcastShapes(in[0].shape, in[1].shape));
    out[0].dtype = DataType::Bool;
    out[0].shape = std::move(shape);
    return {};
}

Status inferLogicBinary(std::string_view op, std::span<const TensorInfo> in,
                        std::span<TensorInfo> out) {
    PL_TRY(expectInputs(op, in, 2, 2));
    for (size_t i = 0; i < 2; ++i) {
        if (in[i].dtype != DataType::Bool) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " input " + std::to_string(i) +
                                 " must be bool, got " + dtypeText(in[i].dtype));
        }
    }
    PL_TRY_ASSIGN(Shape shape, broadcastShapes(in[0].shape, in[1].shape));
    out[0].dtype = DataType::Bool;
    out[0].shape = std::move(shape);
    return {};
}

Status inferVariadicBroadcast(std::string_view op, std::span<const TensorInfo> in,
                              std::span<TensorInfo> out) {
    if (in.empty()) {
        return makeError(ErrorCode::InvalidArgument, std::string(op) + " needs at least 1 input");
    }
    PL_TRY(expectInputs(op, in, in.size(), in.size()));  // none may be absent
    const DataType type = in[0].dtype;
    if (!numeric(type)) {
        return makeError(
            ErrorCode::Unsupported,
            std::string(op) + " supports float32, int64 and int32, not " + dtypeText(type));
    }
    Shape shape = in[0].shape;
    for (size_t i = 1; i < in.size(); ++i) {
        if (in[i].dtype != type) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(op) + " needs inputs of one type: input 0 is " +
                                 dtypeText(type) + ", input " + std::to_string(i) + " is " +
                                 dtypeText(in[i].dtype));
        }
        auto next = broadcastShapes(shape, in[i].shape);
        if (!next.ok()) {
            return makeError(
                ErrorCode::ShapeMismatch,
                std::string(op) + " input " + std::to_string(i) + ": " + next.error().message);
        }
        shape = std::move(*next);
    }
    out[0].dtype = type;
    out[0].shape = std::move(shape);
    return {};
}

Result<OnnxImport> importComparison(const OnnxNodeIn& node) {
    return importBroadcastBinary(node);
}

Result<OnnxImport> importVariadic(const OnnxNodeIn& node) {
    if (node.inputs.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(node.opType) + " needs at least 1 input");
    }
    OnnxImport result;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (!node.inputs[i].present()) {
            return makeError(ErrorCode::InvalidArgument, std::string(node.opType) + " input " +
                                                             std::to_string(i) + " is empty");
        }
        result.inputs.push_back(static_cast<int>(i));
    }
    return result;
}

}  // namespace prunelab::engine

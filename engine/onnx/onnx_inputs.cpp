// Reads only the graph's input declarations with protobuf (the full import is onnx_import.cpp).
#include "engine/onnx/onnx_inputs.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <sstream>

namespace prunelab::engine {

namespace {
DataType fromOnnxType(int32_t t) {
    switch (t) {
        case onnx::TensorProto::FLOAT:
            return DataType::Float32;
        case onnx::TensorProto::FLOAT16:
            return DataType::Float32;  // widened on import
        case onnx::TensorProto::DOUBLE:
            return DataType::Float64;
        case onnx::TensorProto::INT64:
            return DataType::Int64;
        case onnx::TensorProto::INT32:
            return DataType::Int32;
        case onnx::TensorProto::INT8:
            return DataType::Int8;
        case onnx::TensorProto::UINT8:
            return DataType::UInt8;
        case onnx::TensorProto::BOOL:
            return DataType::Bool;
        default:
            return DataType::Undefined;
    }
}
}  // namespace

Result<std::vector<OnnxDeclaredInput>> readOnnxInputs(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, "cannot open the model file", path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string bytes = buffer.str();
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes)) {
        return makeError(ErrorCode::Corrupt, "not an ONNX model or truncated", path);
    }
    std::set<std::string> initializers;
    for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
    std::vector<OnnxDeclaredInput> result;
    for (const auto& input : model.graph().input()) {
        if (initializers.count(input.name())) continue;
        OnnxDeclaredInput d;
        d.name = input.name();
        const auto& tensorType = input.type().tensor_type();
        d.dtype = fromOnnxType(tensorType.elem_type());
        for (const auto& dim : tensorType.shape().dim()) {
            d.shape.push_back(dim.has_dim_value() && dim.dim_value() > 0 ? dim.dim_value() : -1);
        }
        result.push_back(std::move(d));
    }
    return result;
}

Shape bindImageSize(const Shape& declared, int64_t height, int64_t width) {
    Shape s = declared;
    if (!s.empty() && s[0] < 0) s[0] = 1;
    if (s.size() != 4) return s;
    const bool nchw = s[1] == 1 || s[1] == 3;
    const size_t hAxis = nchw ? 2 : 1, wAxis = nchw ? 3 : 2;
    if (height > 0) s[hAxis] = height;
    if (width > 0) s[wAxis] = width;
    return s;
}

}  // namespace prunelab::engine

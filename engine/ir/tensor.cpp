// Tensor storage, dtype tables and checked shape arithmetic.
#include "engine/ir/tensor.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace prunelab::engine {

namespace {
// 64-byte alignment lets SIMD kernels use aligned loads on any tensor's start.
constexpr size_t kAlignment = 64;

std::shared_ptr<std::byte[]> allocateZeroed(size_t bytes) {
    size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) rounded = kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, rounded);
    return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p),
                                        [](std::byte* q) { std::free(q); });
}
}  // namespace

size_t dataTypeSize(DataType type) {
    switch (type) {
        case DataType::Undefined:
            return 0;
        case DataType::Float32:
            return 4;
        case DataType::Float16:
            return 2;
        case DataType::Float64:
            return 8;
        case DataType::Int8:
            return 1;
        case DataType::UInt8:
            return 1;
        case DataType::Int32:
            return 4;
        case DataType::Int64:
            return 8;
        case DataType::Bool:
            return 1;
    }
    return 0;
}

std::string_view dataTypeName(DataType type) {
    switch (type) {
        case DataType::Undefined:
            return "undefined";
        case DataType::Float32:
            return "float32";
        case DataType::Float16:
            return "float16";
        case DataType::Float64:
            return "float64";
        case DataType::Int8:
            return "int8";
        case DataType::UInt8:
            return "uint8";
        case DataType::Int32:
            return "int32";
        case DataType::Int64:
            return "int64";
        case DataType::Bool:
            return "bool";
    }
    return "?";
}

Result<int64_t> checkedElementCount(const Shape& shape) {
    // The product of the non-zero dims is bounded too, so that kernels computing partial
    // products (outer/inner extents) of an empty tensor such as [2^40, 2^40, 0] cannot overflow.
    int64_t nonZero = 1;
    bool empty = false;
    for (int64_t d : shape) {
        if (d < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "shape " + shapeToString(shape) + " has a negative dimension");
        }
        if (d == 0) {
            empty = true;
            continue;
        }
        if (nonZero > kMaxTensorElements / d) {
            return makeError(ErrorCode::OutOfRange,
                             "shape " + shapeToString(shape) + " has more than 2^32 elements");
        }
        nonZero *= d;
    }
    return empty ? 0 : nonZero;
}

int64_t elementCount(const Shape& shape) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    return count;
}

std::string shapeToString(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

Tensor::Tensor(DataType type, Shape shape) : m_dtype(type), m_shape(std::move(shape)) {
    auto count = checkedElementCount(m_shape);
    assert(count.ok() && type != DataType::Undefined);
    m_elements = count.ok() ? *count : 0;
    m_storage = allocateZeroed(bytes());
}

Result<Tensor> Tensor::make(DataType type, Shape shape) {
    if (type == DataType::Undefined) {
        return makeError(ErrorCode::InvalidArgument, "tensor with undefined data type");
    }
    PL_TRY(checkedElementCount(shape));
    return Tensor(type, std::move(shape));
}

Tensor Tensor::clone() const {
    if (empty()) return {};
    Tensor t(m_dtype, m_shape);
    std::memcpy(t.raw(), raw(), bytes());
    return t;
}

Tensor Tensor::reshaped(Shape shape) const {
    assert(elementCount(shape) == m_elements);
    Tensor t = *this;
    t.m_shape = std::move(shape);
    return t;
}

std::vector<int64_t> Tensor::toInt64Vector() const {
    std::vector<int64_t> out(static_cast<size_t>(m_elements));
    for (size_t i = 0; i < out.size(); ++i) {
        switch (m_dtype) {
            case DataType::Int64:
                out[i] = data<int64_t>()[i];
                break;
            case DataType::Int32:
                out[i] = data<int32_t>()[i];
                break;
            case DataType::Int8:
                out[i] = data<int8_t>()[i];
                break;
            case DataType::UInt8:
                out[i] = data<uint8_t>()[i];
                break;
            case DataType::Bool:
                out[i] = static_cast<int64_t>(raw()[i] != std::byte{0});
                break;
            case DataType::Float32:
                out[i] = static_cast<int64_t>(data<float>()[i]);
                break;
            case DataType::Float64:
                out[i] = static_cast<int64_t>(data<double>()[i]);
                break;
            default:
                out[i] = 0;
                break;
        }
    }
    return out;
}

std::vector<float> Tensor::toFloatVector() const {
    std::vector<float> out(static_cast<size_t>(m_elements));
    for (size_t i = 0; i < out.size(); ++i) {
        switch (m_dtype) {
            case DataType::Float32:
                out[i] = data<float>()[i];
                break;
            case DataType::Float64:
                out[i] = static_cast<float>(data<double>()[i]);
                break;
            case DataType::Int64:
                out[i] = static_cast<float>(data<int64_t>()[i]);
                break;
            case DataType::Int32:
                out[i] = static_cast<float>(data<int32_t>()[i]);
                break;
            case DataType::Int8:
                out[i] = data<int8_t>()[i];
                break;
            case DataType::UInt8:
                out[i] = data<uint8_t>()[i];
                break;
            case DataType::Bool:
                out[i] = raw()[i] != std::byte{0} ? 1.0f : 0.0f;
                break;
            default:
                out[i] = 0;
                break;
        }
    }
    return out;
}

bool Tensor::identical(const Tensor& other) const {
    if (m_dtype != other.m_dtype || m_shape != other.m_shape) return false;
    if (bytes() == 0) return true;
    return std::memcmp(raw(), other.raw(), bytes()) == 0;
}

void Tensor::checkType(DataType wanted) const {
    // bool is stored as one byte; data<uint8_t>() on a Bool tensor is allowed.
    bool fine = m_dtype == wanted || (wanted == DataType::UInt8 && m_dtype == DataType::Bool) ||
                (wanted == DataType::Bool && m_dtype == DataType::UInt8);
    if (!fine && m_storage != nullptr) {
        std::fprintf(stderr, "prunelab: tensor of %s accessed as %s\n",
                     std::string(dataTypeName(m_dtype)).c_str(),
                     std::string(dataTypeName(wanted)).c_str());
        assert(false && "tensor accessed with the wrong element type");
    }
}

}  // namespace prunelab::engine

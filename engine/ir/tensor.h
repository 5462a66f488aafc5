// Tensor: a typed, shaped, 64-byte-aligned buffer. Copies share storage (a handle, like a
// shared_ptr); clone() makes a deep copy. Shapes are always static inside the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine {

enum class DataType : uint8_t {
    Undefined,
    Float32,
    Float16,  // only as stored in files: importers widen it to Float32
    Float64,
    Int8,
    UInt8,
    Int32,
    Int64,
    Bool,  // one byte per element, 0 or 1
};

size_t dataTypeSize(DataType type);            // bytes per element; 0 for Undefined
std::string_view dataTypeName(DataType type);  // "float32", "int64", ...

template <class T>
constexpr DataType dataTypeOf();
template <>
constexpr DataType dataTypeOf<float>() {
    return DataType::Float32;
}
template <>
constexpr DataType dataTypeOf<double>() {
    return DataType::Float64;
}
template <>
constexpr DataType dataTypeOf<int8_t>() {
    return DataType::Int8;
}
template <>
constexpr DataType dataTypeOf<uint8_t>() {
    return DataType::UInt8;
}
template <>
constexpr DataType dataTypeOf<int32_t>() {
    return DataType::Int32;
}
template <>
constexpr DataType dataTypeOf<int64_t>() {
    return DataType::Int64;
}
template <>
constexpr DataType dataTypeOf<bool>() {
    return DataType::Bool;
}

using Shape = std::vector<int64_t>;

// The engine refuses tensors above this many elements (4 Gi floats = 16 GiB): a hostile
// file that declares a 2^40-element shape gets OutOfRange instead of an allocation.
inline constexpr int64_t kMaxTensorElements = int64_t(1) << 32;

// Number of elements, or an OutOfRange/InvalidArgument error for negative dims or overflow.
Result<int64_t> checkedElementCount(const Shape& shape);
// Number of elements; the caller knows the shape is valid.
int64_t elementCount(const Shape& shape);
std::string shapeToString(const Shape& shape);  // "[1, 3, 224, 224]"

class Tensor {
  public:
    Tensor() = default;  // empty: dtype Undefined, no storage
    // Zero-filled tensor; asserts the shape is valid (use make() for untrusted shapes).
    Tensor(DataType type, Shape shape);
    static Result<Tensor> make(DataType type, Shape shape);
    template <class T>
    static Tensor fromVector(Shape shape, const std::vector<T>& values);
    static Tensor scalar(float value) { return fromVector<float>({}, {value}); }

    bool empty() const { return m_storage == nullptr && m_dtype == DataType::Undefined; }
    DataType dtype() const { return m_dtype; }
    const Shape& shape() const { return m_shape; }
    int64_t rank() const { return static_cast<int64_t>(m_shape.size()); }
    int64_t dim(int64_t axis) const { return m_shape[static_cast<size_t>(axis)]; }
    int64_t elements() const { return m_elements; }
    size_t bytes() const { return static_cast<size_t>(m_elements) * dataTypeSize(m_dtype); }

    template <class T>
    T* data() {
        checkType(dataTypeOf<T>());
        return reinterpret_cast<T*>(m_storage.get());
    }
    template <class T>
    const T* data() const {
        checkType(dataTypeOf<T>());
        return reinterpret_cast<const T*>(m_storage.get());
    }
    template <class T>
    std::span<T> span() {
        return {data<T>(), static_cast<size_t>(m_elements)};
    }
    template <class T>
    std::span<const T> span() const {
        return {data<T>(), static_cast<size_t>(m_elements)};
    }
    std::byte* raw() { return m_storage.get(); }
    const std::byte* raw() const { return m_storage.get(); }

    Tensor clone() const;
    // Same storage, new shape with the same element count (asserted).
    Tensor reshaped(Shape shape) const;
    // Elements as int64 whatever the integer/float dtype (for shape-like tensors).
    std::vector<int64_t> toInt64Vector() const;
    std::vector<float> toFloatVector() const;
    // Bitwise equality of dtype, shape and bytes.
    bool identical(const Tensor& other) const;

  private:
    void checkType(DataType wanted) const;

    DataType m_dtype = DataType::Undefined;
    Shape m_shape;
    int64_t m_elements = 0;
    std::shared_ptr<std::byte[]> m_storage;
};

template <class T>
Tensor Tensor::fromVector(Shape shape, const std::vector<T>& values) {
    Tensor t(dataTypeOf<T>(), std::move(shape));
    std::span<T> dst = t.span<T>();
    for (size_t i = 0; i < dst.size() && i < values.size(); ++i) dst[i] = values[i];
    return t;
}

}  // namespace prunelab::engine

// The phone protocol's byte-level reading and writing: little-endian scalars, strings and
// arrays, every length checked against the bytes left BEFORE anything is allocated. Shared by
// the messages (protocol.h) and the model format (model_codec.h).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine::remote {

// The wire is little-endian and arrays are copied as they lie in memory: every target we build
// for (x86-64, aarch64 Android and Linux) is little-endian.
static_assert(std::endian::native == std::endian::little, "the wire format assumes little-endian");

// Appends values to a byte vector.
class Writer {
  public:
    template <class T>
    void put(T v) {
        static_assert(std::is_arithmetic_v<T>);
        const size_t at = m_bytes.size();
        m_bytes.resize(at + sizeof(T));
        std::memcpy(m_bytes.data() + at, &v, sizeof(T));
    }
    void u8(uint8_t v) { put(v); }
    void u16(uint16_t v) { put(v); }
    void u32(uint32_t v) { put(v); }
    void i32(int32_t v) { put(v); }
    void i64(int64_t v) { put(v); }
    void f32(float v) { put(v); }
    void f64(double v) { put(v); }
    void bytes(std::span<const uint8_t> b) { m_bytes.insert(m_bytes.end(), b.begin(), b.end()); }
    void string(const std::string& s);  // u32 length + bytes
    template <class T>
    void array(const std::vector<T>& v) {  // u32 count + elements
        static_assert(std::is_arithmetic_v<T>);
        u32(static_cast<uint32_t>(v.size()));
        bytes({reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)});
    }
    // dtype u8, rank u32, dims i64..., then the raw bytes.
    void tensor(const Tensor& t);

    std::vector<uint8_t>& data() { return m_bytes; }
    std::vector<uint8_t> take() { return std::move(m_bytes); }

  private:
    std::vector<uint8_t> m_bytes;
};

// Limits the readers apply on top of "no more than the bytes left".
inline constexpr uint32_t kMaxRank = 8;
inline constexpr uint32_t kMaxNameBytes = 4096;  // value, node, attribute and output names
// Dimensions and integer attributes stay within +-(2^31 - 1): the ops' shape arithmetic (windows,
// pads, dilations: products of two such numbers) then cannot overflow int64, whatever a
// hostile sender writes. Real models are many orders of magnitude below.
inline constexpr int64_t kMaxDimension = (int64_t(1) << 31) - 1;

// Reads from a span. The first failure is kept (sticky): later reads return zeros and empty
// containers, so a caller may read a whole record and check ok() once, as long as it checks
// before it uses a value as an index or a size. Errors are Corrupt and name `what` (the
// message or section), the field and the byte offset.
class Reader {
  public:
    Reader(std::span<const uint8_t> bytes, std::string what)
        : m_bytes(bytes), m_what(std::move(what)) {}

    bool ok() const { return m_ok; }
    const Error& error() const { return m_error; }
    size_t offset() const { return m_at; }
    size_t remaining() const { return m_bytes.size() - m_at; }
    // Records a failure (the first one wins); returns false so callers can `return r.fail(..)`.
    bool fail(const std::string& field, const std::string& problem);

    template <class T>
    T get(const char* field) {
        static_assert(std::is_arithmetic_v<T>);
        T v{};
        if (!need(field, sizeof(T))) return v;
        std::memcpy(&v, m_bytes.data() + m_at, sizeof(T));
        m_at += sizeof(T);
        return v;
    }
    uint8_t u8(const char* field) { return get<uint8_t>(field); }
    uint16_t u16(const char* field) { return get<uint16_t>(field); }
    uint32_t u32(const char* field) { return get<uint32_t>(field); }
    int32_t i32(const char* field) { return get<int32_t>(field); }
    int64_t i64(const char* field) { return get<int64_t>(field); }
    float f32(const char* field) { return get<float>(field); }
    double f64(const char* field) { return get<double>(field); }
    bool boolean(const char* field);  // u8 that must be 0 or 1

    // A u32 count of elements of `elementBytes` each: refused when over maxCount or when the
    // elements could not fit in the bytes left. 0 after a failure.
    size_t count(const char* field, size_t elementBytes, size_t maxCount);
    std::span<const uint8_t> bytes(const char* field, size_t n);
    std::string string(const char* field, size_t maxBytes = kMaxNameBytes);
    template <class T>
    std::vector<T> array(const char* field, size_t maxCount) {
        static_assert(std::is_arithmetic_v<T>);
        const size_t n = count(field, sizeof(T), maxCount);
        std::vector<T> v;
        if (!m_ok || n == 0) return v;
        v.resize(n);
        std::memcpy(v.data(), m_bytes.data() + m_at, n * sizeof(T));
        m_at += n * sizeof(T);
        return v;
    }
    // A tensor as Writer::tensor writes it: a known dtype (not Undefined), rank <= kMaxRank,
    // dims >= 0 within kMaxTensorElements, and its bytes present before it is allocated.
    Tensor tensor(const char* field);
    // dtype u8 checked to be a known, defined DataType.
    DataType dtype(const char* field);
    Shape shape(const char* field);

    // Every byte consumed: trailing bytes are an error too (a sender that disagrees on layout).
    Status finish();

  private:
    bool need(const char* field, size_t n);

    std::span<const uint8_t> m_bytes;
    std::string m_what;
    size_t m_at = 0;
    bool m_ok = true;
    Error m_error;
};

}  // namespace prunelab::engine::remote

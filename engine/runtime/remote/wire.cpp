// The wire's reader and writer: bounds checks live here once, so no decoder indexes raw bytes.
#include "engine/runtime/remote/wire.h"

namespace prunelab::engine::remote {

void Writer::string(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void Writer::tensor(const Tensor& t) {
    u8(static_cast<uint8_t>(t.dtype()));
    u32(static_cast<uint32_t>(t.shape().size()));
    for (int64_t d : t.shape()) i64(d);
    bytes({reinterpret_cast<const uint8_t*>(t.raw()), t.bytes()});
}

bool Reader::fail(const std::string& field, const std::string& problem) {
    if (m_ok) {
        m_ok = false;
        m_error = makeError(ErrorCode::Corrupt,
                            field + " at byte " + std::to_string(m_at) + ": " + problem, m_what);
    }
    return false;
}

bool Reader::need(const char* field, size_t n) {
    if (!m_ok) return false;
    if (n > remaining()) {
        return fail(field, "needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
                               " left (truncated)");
    }
    return true;
}

bool Reader::boolean(const char* field) {
    const uint8_t v = u8(field);
    if (v > 1) fail(field, "is " + std::to_string(v) + ", not 0 or 1");
    return v == 1;
}

size_t Reader::count(const char* field, size_t elementBytes, size_t maxCount) {
    const uint32_t n = u32(field);
    if (!m_ok) return 0;
    if (n > maxCount) {
        fail(field,
             "count " + std::to_string(n) + " is over the limit of " + std::to_string(maxCount));
        return 0;
    }
    if (elementBytes && n > remaining() / elementBytes) {
        fail(field, "count " + std::to_string(n) + " of " + std::to_string(elementBytes) +
                        "-byte elements does not fit in the " + std::to_string(remaining()) +
                        " bytes left (truncated)");
        return 0;
    }
    return n;
}

std::span<const uint8_t> Reader::bytes(const char* field, size_t n) {
    if (!need(field, n)) return {};
    std::span<const uint8_t> s = m_bytes.subspan(m_at, n);
    m_at += n;
    return s;
}

std::string Reader::string(const char* field, size_t maxBytes) {
    const size_t n = count(field, 1, maxBytes);
    std::span<const uint8_t> s = bytes(field, n);
    return m_ok ? std::string(reinterpret_cast<const char*>(s.data()), s.size()) : std::string();
}

DataType Reader::dtype(const char* field) {
    const uint8_t v = u8(field);
    if (!m_ok) return DataType::Undefined;
    if (v == static_cast<uint8_t>(DataType::Undefined) ||
        v > static_cast<uint8_t>(DataType::Bool)) {
        fail(field, "data type " + std::to_string(v) + " is not one the engine knows");
        return DataType::Undefined;
    }
    return static_cast<DataType>(v);
}

Shape Reader::shape(const char* field) {
    const size_t rank = count(field, sizeof(int64_t), kMaxRank);
    Shape s;
    for (size_t i = 0; i < rank && m_ok; ++i) {
        const int64_t d = i64(field);
        if (m_ok && (d < 0 || d > kMaxDimension)) {
            fail(field, "dimension " + std::to_string(d) + " is negative or over 2^31 - 1");
        }
        s.push_back(d);
    }
    if (!m_ok) return {};
    auto n = checkedElementCount(s);
    if (!n.ok()) fail(field, "shape " + shapeToString(s) + ": " + n.error().message);
    return m_ok ? s : Shape{};
}

Tensor Reader::tensor(const char* field) {
    const DataType type = dtype(field);
    Shape s = shape(field);
    if (!m_ok) return {};
    const auto elements = static_cast<size_t>(elementCount(s));
    if (elements > remaining() / dataTypeSize(type)) {
        fail(field, std::string(dataTypeName(type)) + " tensor " + shapeToString(s) + " needs " +
                        std::to_string(elements * dataTypeSize(type)) + " bytes, " +
                        std::to_string(remaining()) + " left (truncated)");
        return {};
    }
    auto t = Tensor::make(type, s);
    if (!t.ok()) {
        fail(field, t.error().message);
        return {};
    }
    std::span<const uint8_t> b = bytes(field, t->bytes());
    if (!b.empty()) std::memcpy(t->raw(), b.data(), b.size());
    if (type == DataType::Bool) {
        for (uint8_t v : b) {
            if (v > 1) {
                fail(field, "a bool element is " + std::to_string(v) + ", not 0 or 1");
                return {};
            }
        }
    }
    return std::move(*t);
}

Status Reader::finish() {
    if (m_ok && remaining() != 0) {
        fail("end", std::to_string(remaining()) + " bytes left over after the last field");
    }
    if (!m_ok) return m_error;
    return {};
}

}  // namespace prunelab::engine::remote

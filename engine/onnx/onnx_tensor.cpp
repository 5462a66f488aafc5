// TensorProto <-> Tensor. Every size is checked against the declared shape before anything is
// allocated, so a hostile file cannot make the importer allocate more than it really holds.
#include "engine/onnx/onnx_tensor.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/ir/half.h"

namespace prunelab::engine::internal {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; the importer copies it as is");

namespace {

using onnx::TensorProto;

// bfloat16 is the top half of a float32.
float bfloat16ToFloat(uint16_t b) {
    return std::bit_cast<float>(uint32_t(b) << 16);
}

bool isHalfType(int32_t t) {
    return t == TensorProto::FLOAT16 || t == TensorProto::BFLOAT16;
}

float widen(int32_t t, uint16_t bits) {
    return t == TensorProto::FLOAT16 ? halfToFloat(bits) : bfloat16ToFloat(bits);
}

// Parses a non-negative decimal (external-data offset / length); nullopt-like false on junk.
bool parseSize(const std::string& text, uint64_t& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

struct ExternalRef {
    std::string location;
    std::string offset;
    std::string length;
};

ExternalRef externalRef(const TensorProto& proto) {
    ExternalRef ref;
    for (const auto& entry : proto.external_data()) {
        if (entry.key() == "location") ref.location = entry.value();
        if (entry.key() == "offset") ref.offset = entry.value();
        if (entry.key() == "length") ref.length = entry.value();
    }
    return ref;
}

// Reads the `expectedBytes` an external tensor needs, after checking its path and sizes.
Result<std::string> readExternal(const TensorProto& proto, const std::string& what,
                                 uint64_t expectedBytes, const ExternalDataPolicy& policy) {
    ExternalRef ref = externalRef(proto);
    if (ref.location.empty()) {
        return makeError(ErrorCode::Corrupt,
                         what + " is stored as external data but names no file");
    }
    if (policy.baseDir.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         what + " keeps its data in the external file '" + ref.location +
                             "', which is only read when the model is imported from a file");
    }
    PL_TRY_ASSIGN(std::string path, resolveExternalPath(policy.baseDir, ref.location, what));

    uint64_t offset = 0;
    if (!ref.offset.empty() && !parseSize(ref.offset, offset)) {
        return makeError(ErrorCode::Corrupt,
                         what + " has an invalid external-data offset '" + ref.offset + "'");
    }
    if (!ref.length.empty()) {
        uint64_t length = 0;
        if (!parseSize(ref.length, length)) {
            return makeError(ErrorCode::Corrupt,
                             what + " has an invalid external-data length '" + ref.length + "'");
        }
        if (length != expectedBytes) {
            return makeError(ErrorCode::Corrupt, what + " has " + std::to_string(length) +
                                                     " bytes, expected " +
                                                     std::to_string(expectedBytes));
        }
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return makeError(ErrorCode::NotFound, what + ": external data file '" + ref.location +
                                                  "' does not exist in the model's folder");
    }
    const uint64_t fileSize = std::filesystem::file_size(path, ec);
    if (ec) {
        return makeError(ErrorCode::Io, what + ": cannot read the size of external data file '" +
                                            ref.location + "': " + ec.message());
    }
    if (offset > fileSize || fileSize - offset < expectedBytes) {
        return makeError(ErrorCode::Corrupt, what + ": external data file '" + ref.location +
                                                 "' has " + std::to_string(fileSize) +
                                                 " bytes, too short for " +
                                                 std::to_string(expectedBytes) +
                                                 " bytes at offset " + std::to_string(offset));
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes(expectedBytes, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(bytes.data(), static_cast<std::streamsize>(expectedBytes));
    if (!in || static_cast<uint64_t>(in.gcount()) != expectedBytes) {
        return makeError(ErrorCode::Io,
                         what + ": reading external data file '" + ref.location + "' failed");
    }
    return bytes;
}

// How many values the typed field that holds `proto`'s data type carries.
int64_t typedValueCount(const TensorProto& proto) {
    switch (proto.data_type()) {
        case TensorProto::FLOAT:
            return proto.float_data_size();
        case TensorProto::DOUBLE:
            return proto.double_data_size();
        case TensorProto::INT64:
            return proto.int64_data_size();
        default:
            return proto.int32_data_size();  // int32, the narrow ints and the half types
    }
}

// Copies the typed-field values into `out` (sizes already checked), converting each.
template <class Field, class Convert>
Status copyTyped(const Field& field, int64_t count, const std::string&, Convert convert) {
    for (int64_t i = 0; i < count; ++i) convert(i, field.Get(static_cast<int>(i)));
    return {};
}

Status fillFromTyped(const TensorProto& proto, Tensor& out, const std::string& what) {
    const int32_t t = proto.data_type();
    const int64_t n = out.elements();
    switch (t) {
        case TensorProto::FLOAT:
            return copyTyped(proto.float_data(), n, what,
                             [&](int64_t i, float v) { out.data<float>()[i] = v; });
        case TensorProto::DOUBLE:
            return copyTyped(proto.double_data(), n, what,
                             [&](int64_t i, double v) { out.data<double>()[i] = v; });
        case TensorProto::INT64:
            return copyTyped(proto.int64_data(), n, what,
                             [&](int64_t i, int64_t v) { out.data<int64_t>()[i] = v; });
        case TensorProto::INT32:
            return copyTyped(proto.int32_data(), n, what,
                             [&](int64_t i, int32_t v) { out.data<int32_t>()[i] = v; });
        // The narrow integer types and the half types live in int32_data, one per value.
        case TensorProto::INT8:
            return copyTyped(proto.int32_data(), n, what, [&](int64_t i, int32_t v) {
                out.data<int8_t>()[i] = static_cast<int8_t>(v);
            });
        case TensorProto::UINT8:
            return copyTyped(proto.int32_data(), n, what, [&](int64_t i, int32_t v) {
                out.data<uint8_t>()[i] = static_cast<uint8_t>(v);
            });
        case TensorProto::BOOL:
            return copyTyped(proto.int32_data(), n, what, [&](int64_t i, int32_t v) {
                out.data<uint8_t>()[i] = v != 0 ? 1 : 0;
            });
        case TensorProto::FLOAT16:
        case TensorProto::BFLOAT16:
            return copyTyped(proto.int32_data(), n, what, [&](int64_t i, int32_t v) {
                out.data<float>()[i] = widen(t, static_cast<uint16_t>(v));
            });
        default:
            return makeError(ErrorCode::Unsupported, what + " has data type " + onnxTypeName(t) +
                                                         ", which PruneLab does not read");
    }
}

}  // namespace

DataType dataTypeFromOnnx(int32_t onnxType) {
    switch (onnxType) {
        case TensorProto::FLOAT:
            return DataType::Float32;
        case TensorProto::FLOAT16:
            return DataType::Float32;  // widened on import
        case TensorProto::BFLOAT16:
            return DataType::Float32;  // widened on import
        case TensorProto::DOUBLE:
            return DataType::Float64;
        case TensorProto::INT8:
            return DataType::Int8;
        case TensorProto::UINT8:
            return DataType::UInt8;
        case TensorProto::INT32:
            return DataType::Int32;
        case TensorProto::INT64:
            return DataType::Int64;
        case TensorProto::BOOL:
            return DataType::Bool;
        default:
            return DataType::Undefined;
    }
}

int32_t dataTypeToOnnx(DataType type) {
    switch (type) {
        case DataType::Undefined:
            return TensorProto::UNDEFINED;
        case DataType::Float32:
            return TensorProto::FLOAT;
        case DataType::Float16:
            return TensorProto::FLOAT16;
        case DataType::Float64:
            return TensorProto::DOUBLE;
        case DataType::Int8:
            return TensorProto::INT8;
        case DataType::UInt8:
            return TensorProto::UINT8;
        case DataType::Int32:
            return TensorProto::INT32;
        case DataType::Int64:
            return TensorProto::INT64;
        case DataType::Bool:
            return TensorProto::BOOL;
    }
    return TensorProto::UNDEFINED;
}

std::string onnxTypeName(int32_t onnxType) {
    if (onnx::TensorProto_DataType_IsValid(onnxType)) {
        return onnx::TensorProto_DataType_Name(static_cast<TensorProto::DataType>(onnxType));
    }
    return "type " + std::to_string(onnxType);
}

std::string externalLocation(const TensorProto& proto) {
    if (proto.data_location() != TensorProto::EXTERNAL) return {};
    return externalRef(proto).location;
}

Result<std::string> resolveExternalPath(const std::string& baseDir, const std::string& location,
                                        const std::string& what) {
    namespace fs = std::filesystem;
    auto refuse = [&](const std::string& why) {
        return makeError(ErrorCode::InvalidArgument,
                         what + ": external data path '" + location + "' " + why);
    };
    // An embedded NUL would make the OS see a different path than the one checked here.
    if (location.find('\0') != std::string::npos) return refuse("contains a NUL byte");
    const fs::path rel(location);
    if (location.front() == '/' || rel.is_absolute() || rel.has_root_name()) {
        return refuse("is absolute; it must be relative to the model's folder");
    }
    std::error_code ec;
    const fs::path base = fs::canonical(baseDir, ec);
    if (ec) {
        return makeError(ErrorCode::NotFound, "the model's folder '" + baseDir +
                                                  "' cannot be resolved: " + ec.message());
    }
    // weakly_canonical resolves '..' and symlinks, so a link pointing outside is caught too.
    const fs::path full = fs::weakly_canonical(base / rel, ec);
    if (ec) return refuse("cannot be resolved: " + ec.message());
    const fs::path inside = full.lexically_relative(base);
    if (inside.empty() || *inside.begin() == ".." || inside == ".") {
        return refuse("leaves the model's folder");
    }
    return full.string();
}

Result<Tensor> tensorFromOnnx(const TensorProto& proto, const std::string& what,
                              const ExternalDataPolicy& external) {
    const int32_t t = proto.data_type();
    const DataType dtype = dataTypeFromOnnx(t);
    if (dtype == DataType::Undefined) {
        return makeError(ErrorCode::Unsupported, what + " has data type " + onnxTypeName(t) +
                                                     ", which PruneLab does not read");
    }
    if (proto.has_segment()) {
        return makeError(ErrorCode::Unsupported, what + " is a segmented tensor");
    }
    Shape shape(proto.dims().begin(), proto.dims().end());
    for (int64_t d : shape) {
        if (d < 0) {
            return makeError(ErrorCode::Corrupt,
                             what + " has a negative dimension: " + shapeToString(shape));
        }
    }
    auto count = checkedElementCount(shape);
    if (!count.ok()) return makeError(count.error().code, what + ": " + count.error().message);

    const uint64_t sourceElementBytes = isHalfType(t) ? 2 : dataTypeSize(dtype);
    const uint64_t expectedBytes = static_cast<uint64_t>(*count) * sourceElementBytes;

    std::string externalBytes;
    const std::string* raw = nullptr;
    if (proto.data_location() == TensorProto::EXTERNAL) {
        PL_TRY_ASSIGN(externalBytes, readExternal(proto, what, expectedBytes, external));
        raw = &externalBytes;
    } else if (proto.has_raw_data()) {
        raw = &proto.raw_data();
    }

    if (raw == nullptr) {
        // Typed fields: the value count is checked before the tensor is allocated.
        const int64_t values = typedValueCount(proto);
        if (values != *count) {
            return makeError(ErrorCode::Corrupt, what + " has " + std::to_string(values) +
                                                     " values, expected " + std::to_string(*count));
        }
        PL_TRY_ASSIGN(Tensor out, Tensor::make(dtype, shape));
        PL_TRY(fillFromTyped(proto, out, what));
        return out;
    }
    if (raw->size() != expectedBytes) {
        return makeError(ErrorCode::Corrupt, what + " has " + std::to_string(raw->size()) +
                                                 " bytes, expected " +
                                                 std::to_string(expectedBytes));
    }
    PL_TRY_ASSIGN(Tensor out, Tensor::make(dtype, std::move(shape)));
    if (isHalfType(t)) {
        float* dst = out.data<float>();
        for (int64_t i = 0; i < out.elements(); ++i) {
            uint16_t bits = 0;
            std::memcpy(&bits, raw->data() + 2 * i, 2);
            dst[i] = widen(t, bits);
        }
    } else if (dtype == DataType::Bool) {
        // The engine's bools are exactly 0 or 1; a file may hold any non-zero byte.
        uint8_t* dst = out.data<uint8_t>();
        for (int64_t i = 0; i < out.elements(); ++i) dst[i] = (*raw)[size_t(i)] != 0 ? 1 : 0;
    } else if (!raw->empty()) {
        std::memcpy(out.raw(), raw->data(), raw->size());
    }
    return out;
}

void tensorToOnnx(const Tensor& tensor, TensorProto& proto) {
    proto.clear_dims();
    for (int64_t d : tensor.shape()) proto.add_dims(d);
    proto.set_data_type(dataTypeToOnnx(tensor.dtype()));
    proto.set_raw_data(reinterpret_cast<const char*>(tensor.raw()), tensor.bytes());
}

}  // namespace prunelab::engine::internal

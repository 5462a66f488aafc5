// .npy reader and writer. The header is a Python dict literal; we parse just its three keys.
#include "engine/io/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace prunelab::engine {

namespace {

struct NpyType {
    const char* descr;
    DataType type;
};
constexpr NpyType kTypes[] = {
    {"<f4", DataType::Float32}, {"<f8", DataType::Float64}, {"<i8", DataType::Int64},
    {"<i4", DataType::Int32},   {"|i1", DataType::Int8},    {"|u1", DataType::UInt8},
    {"|b1", DataType::Bool},
};

// Value of `key` in the header dict, e.g. "'descr': '<f4'" -> "'<f4'".
std::string dictValue(const std::string& header, const std::string& key) {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) return {};
    size_t colon = header.find(':', k);
    if (colon == std::string::npos) return {};
    size_t start = header.find_first_not_of(' ', colon + 1);
    if (start == std::string::npos) return {};
    size_t end = header[start] == '(' ? header.find(')', start) + 1 : header.find(',', start);
    return header.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

Result<Tensor> readNpy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, "cannot open the file", path);
    char magic[8] = {};
    in.read(magic, 8);
    if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
        return makeError(ErrorCode::Corrupt, "not a .npy file (bad magic)", path);
    }
    uint32_t headerLen = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        in.read(reinterpret_cast<char*>(b), 2);
        headerLen = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        in.read(reinterpret_cast<char*>(b), 4);
        headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
    }
    if (!in || headerLen > 65536) return makeError(ErrorCode::Corrupt, "bad .npy header", path);
    std::string header(headerLen, '\0');
    in.read(header.data(), headerLen);
    if (!in) return makeError(ErrorCode::Corrupt, "truncated .npy header", path);

    std::string descr = dictValue(header, "descr");
    std::string order = dictValue(header, "fortran_order");
    std::string shapeText = dictValue(header, "shape");
    if (order.rfind("True", 0) == 0) {
        return makeError(ErrorCode::Unsupported, "Fortran-order arrays are not supported", path);
    }
    DataType type = DataType::Undefined;
    for (const NpyType& t : kTypes) {
        if (descr == std::string("'") + t.descr + "'") type = t.type;
    }
    if (type == DataType::Undefined) {
        return makeError(ErrorCode::Unsupported, "unsupported .npy dtype " + descr, path);
    }
    Shape shape;
    std::string dims = shapeText.size() >= 2 ? shapeText.substr(1, shapeText.size() - 2) : "";
    std::stringstream ss(dims);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        try {
            shape.push_back(std::stoll(item));
        } catch (...) {
            return makeError(ErrorCode::Corrupt, "bad shape " + shapeText, path);
        }
    }
    auto tensor = Tensor::make(type, shape);
    if (!tensor.ok()) return tensor.error().within(path);
    in.read(reinterpret_cast<char*>(tensor->raw()), static_cast<std::streamsize>(tensor->bytes()));
    if (static_cast<size_t>(in.gcount()) != tensor->bytes()) {
        return makeError(ErrorCode::Corrupt,
                         "truncated: expected " + std::to_string(tensor->bytes()) + " data bytes",
                         path);
    }
    return tensor;
}

Status writeNpy(const std::string& path, const Tensor& tensor) {
    const char* descr = nullptr;
    for (const NpyType& t : kTypes) {
        if (t.type == tensor.dtype()) descr = t.descr;
    }
    if (descr == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "cannot write " + std::string(dataTypeName(tensor.dtype())) + " as .npy",
                         path);
    }
    std::string shape = "(";
    for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
    if (tensor.rank() > 1) shape.resize(shape.size() - 2);
    if (tensor.rank() == 1) shape.resize(shape.size() - 1);
    shape += ")";
    std::string header =
        std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad so that magic + length + header is a multiple of 64, ending in a newline.
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    if (!out) return makeError(ErrorCode::Io, "cannot create the file", path);
    out.write("\x93NUMPY\x01\x00", 8);
    unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                            static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(len), 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(tensor.raw()),
              static_cast<std::streamsize>(tensor.bytes()));
    if (!out) return makeError(ErrorCode::Io, "write failed", path);
    return {};
}

}  // namespace prunelab::engine

// ncnn .param/.bin -> IR. Sections: 1. reading the files (params, weight blobs with ncnn's
// storage tags), 2. the driver (layers in order, blobs, outputs, verify). The mapping of each
// ncnn layer type is in ncnn_layers.cpp and ncnn_shape_layers.cpp.
#include "plugins/import-ncnn/ncnn_import.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/ir/half.h"
#include "engine/ops/op.h"
#include "plugins/import-ncnn/ncnn_internal.h"

namespace prunelab::ncnn {

using engine::DataType;
using engine::ErrorCode;
using engine::Graph;
using engine::halfToFloat;
using engine::makeError;
using engine::Result;
using engine::Status;
using engine::ValueId;
using internal::BinReader;
using internal::Importer;
using internal::Layer;
using internal::ParamDict;

namespace {

// ---- 1. Reading -------------------------------------------------------------------------

constexpr int kParamMagic = 7767517;
// ncnn's ModelBin storage tags (the 4 bytes before a Convolution/InnerProduct weight blob).
constexpr uint32_t kTagFp16 = 0x01306B47;
constexpr uint32_t kTagInt8 = 0x000D4B38;
constexpr uint32_t kTagFp32Raw = 0x0002C056;

Result<std::string> readFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return makeError(ErrorCode::Io, "cannot open file", path);
    std::ostringstream data;
    data << file.rdbuf();
    if (file.bad()) return makeError(ErrorCode::Io, "read failed", path);
    return data.str();
}

bool parseInt(const std::string& text, int64_t& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    out = v;
    return true;
}

// A layer parameter: ncnn keeps them as 32-bit ints, and the bound keeps the importer's sums and
// products of a parameter and a tensor dim (<= 2^32) inside int64.
bool parseParamInt(const std::string& text, int64_t& out) {
    return parseInt(text, out) && out >= INT32_MIN && out <= INT32_MAX;
}

bool parseFloat(const std::string& text, float& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    const float v = std::strtof(text.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v)) return false;
    out = v;
    return true;
}

engine::Error badParam(int id, const std::string& text, const char* what) {
    return makeError(ErrorCode::Corrupt,
                     "parameter " + std::to_string(id) + "='" + text + "' is not " + what);
}

}  // namespace

// ---- ParamDict and BinReader (declared in ncnn_internal.h) -------------------------------

Status internal::ParamDict::parse(const std::string& token) {
    const size_t eq = token.find('=');
    int64_t id = 0;
    if (eq == std::string::npos || !parseInt(token.substr(0, eq), id)) {
        return makeError(ErrorCode::Corrupt, "malformed parameter '" + token + "'");
    }
    std::vector<std::string> items;
    std::stringstream rest(token.substr(eq + 1));
    for (std::string item; std::getline(rest, item, ',');) items.push_back(item);
    // ncnn reads ids 0..31 (NCNN_MAX_PARAM_COUNT), arrays as -23300 - id, and refuses others;
    // checked before the negation below, which overflows for the most negative int64.
    constexpr int64_t kMaxParamId = 31;
    if (id < -23300 - kMaxParamId || (id > -23300 && id < 0) || id > kMaxParamId) {
        return makeError(ErrorCode::Corrupt,
                         "parameter '" + token + "': id " + std::to_string(id) +
                             " is outside ncnn's 0..31 (arrays -23300..-23331)");
    }
    if (id <= -23300) {
        int64_t count = 0;
        if (items.empty() || !parseInt(items[0], count) ||
            count != static_cast<int64_t>(items.size()) - 1) {
            return makeError(ErrorCode::Corrupt,
                             "array parameter '" + token + "' does not start with its length");
        }
        items.erase(items.begin());
        id = -id - 23300;
    } else if (items.size() != 1) {
        return makeError(ErrorCode::Corrupt, "malformed parameter '" + token + "'");
    }
    m_values[static_cast<int>(id)] = std::move(items);
    return {};
}

Result<int64_t> internal::ParamDict::getInt(int id, int64_t fallback) const {
    auto it = m_values.find(id);
    if (it == m_values.end()) return fallback;
    int64_t v = 0;
    if (it->second.size() != 1 || !parseParamInt(it->second[0], v)) {
        return badParam(id, it->second.empty() ? "" : it->second[0], "a 32-bit integer");
    }
    return v;
}

Result<float> internal::ParamDict::getFloat(int id, float fallback) const {
    auto it = m_values.find(id);
    if (it == m_values.end()) return fallback;
    float v = 0;
    if (it->second.size() != 1 || !parseFloat(it->second[0], v)) {
        return badParam(id, it->second.empty() ? "" : it->second[0], "a number");
    }
    return v;
}

Result<std::vector<float>> internal::ParamDict::getFloats(int id) const {
    std::vector<float> out;
    auto it = m_values.find(id);
    if (it == m_values.end()) return out;
    for (const std::string& item : it->second) {
        float v = 0;
        if (!parseFloat(item, v)) return badParam(id, item, "a number");
        out.push_back(v);
    }
    return out;
}

Result<std::vector<int64_t>> internal::ParamDict::getInts(int id) const {
    std::vector<int64_t> out;
    auto it = m_values.find(id);
    if (it == m_values.end()) return out;
    for (const std::string& item : it->second) {
        int64_t v = 0;
        if (!parseParamInt(item, v)) return badParam(id, item, "a 32-bit integer");
        out.push_back(v);
    }
    return out;
}

Result<std::vector<float>> internal::BinReader::load(int64_t count, bool tagged,
                                                     const std::string& what) {
    // Sizes are checked against the bytes left before anything is allocated, so a corrupt
    // count is an error, never a huge allocation; 2^40 keeps count * 4 from overflowing.
    if (count < 0 || count > (int64_t(1) << 40)) {
        return makeError(ErrorCode::Corrupt,
                         what + " count " + std::to_string(count) + " is out of range");
    }
    const size_t n = static_cast<size_t>(count);
    std::vector<float> out;
    if (!tagged) {
        PL_TRY(need(n * 4, what));
        out.resize(n);
        std::memcpy(out.data(), m_data.data() + m_pos, n * 4);
        m_pos += n * 4;
        return out;
    }
    PL_TRY(need(4, what + " storage tag"));
    uint32_t tag = 0;
    std::memcpy(&tag, m_data.data() + m_pos, 4);
    m_pos += 4;
    if (tag == kTagFp16) {
        const size_t bytes = (n * 2 + 3) & ~size_t(3);  // padded to 4
        PL_TRY(need(bytes, what + " (fp16)"));
        out.resize(n);
        for (size_t i = 0; i < n; ++i) {
            uint16_t h = 0;
            std::memcpy(&h, m_data.data() + m_pos + 2 * i, 2);
            out[i] = halfToFloat(h);
        }
        m_pos += bytes;
        return out;
    }
    if (tag == kTagInt8) {
        return makeError(ErrorCode::Unsupported,
                         what + " is int8-quantised, which this importer does not read");
    }
    if (tag == 0 || tag == kTagFp32Raw) {
        PL_TRY(need(n * 4, what));
        out.resize(n);
        std::memcpy(out.data(), m_data.data() + m_pos, n * 4);
        m_pos += n * 4;
        return out;
    }
    // Any other non-zero tag: a 256-entry float table, then one uint8 index per weight.
    PL_TRY(need(256 * 4, what + " quantisation table"));
    float table[256];
    std::memcpy(table, m_data.data() + m_pos, sizeof table);
    m_pos += sizeof table;
    const size_t bytes = (n + 3) & ~size_t(3);
    PL_TRY(need(bytes, what + " (table-quantised)"));
    out.resize(n);
    for (size_t i = 0; i < n; ++i) out[i] = table[static_cast<uint8_t>(m_data[m_pos + i])];
    m_pos += bytes;
    return out;
}

Status internal::BinReader::need(size_t bytes, const std::string& what) const {
    if (m_data.size() - m_pos >= bytes) return {};
    return makeError(ErrorCode::Corrupt, "file too short: " + what + " needs " +
                                             std::to_string(bytes) + " bytes at offset " +
                                             std::to_string(m_pos) + ", only " +
                                             std::to_string(m_data.size() - m_pos) + " left");
}

namespace {

// ---- 2. Driver --------------------------------------------------------------------------

Result<std::vector<Layer>> parseParam(const std::string& text, size_t& blobCount) {
    std::istringstream lines(text);
    std::string line;
    int64_t magic = 0;
    if (!std::getline(lines, line) ||
        !parseInt(line.substr(0, line.find_last_not_of(" \r\t") + 1), magic) ||
        magic != kParamMagic) {
        return makeError(ErrorCode::Corrupt,
                         "not an ncnn .param file: the first line must be "
                         "the magic number 7767517");
    }
    int64_t layerCount = 0, blobs = 0;
    if (!std::getline(lines, line) || !(std::istringstream(line) >> layerCount >> blobs) ||
        layerCount < 1 || blobs < 1 || layerCount > 1000000 || blobs > 1000000) {
        return makeError(ErrorCode::Corrupt, "second line must hold the layer and blob counts");
    }
    blobCount = static_cast<size_t>(blobs);
    std::vector<Layer> layers;
    int lineNo = 2;
    while (std::getline(lines, line)) {
        ++lineNo;
        std::istringstream in(line);
        Layer layer;
        int64_t nb = 0, nt = 0;
        if (!(in >> layer.type)) continue;  // blank line
        const std::string where = "line " + std::to_string(lineNo);
        if (!(in >> layer.name >> nb >> nt) || nb < 0 || nt < 0 || nb > 65536 || nt > 65536) {
            return makeError(ErrorCode::Corrupt, "malformed layer header", where);
        }
        layer.bottoms.resize(static_cast<size_t>(nb));
        layer.tops.resize(static_cast<size_t>(nt));
        for (auto& b : layer.bottoms) {
            if (!(in >> b)) return makeError(ErrorCode::Corrupt, "missing input blob names", where);
        }
        for (auto& b : layer.tops) {
            if (!(in >> b))
                return makeError(ErrorCode::Corrupt, "missing output blob names", where);
        }
        for (std::string token; in >> token;) {
            Status st = layer.params.parse(token);
            if (!st.ok()) {
                return st.error().within("layer '" + layer.name + "' (" + layer.type + ")");
            }
        }
        layers.push_back(std::move(layer));
    }
    if (static_cast<int64_t>(layers.size()) != layerCount) {
        return makeError(ErrorCode::Corrupt, "header declares " + std::to_string(layerCount) +
                                                 " layers, the file has " +
                                                 std::to_string(layers.size()));
    }
    return layers;
}

std::string baseName(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<Graph> importNcnn(const std::string& paramPath, const std::string& binPath, int64_t height,
                         int64_t width) {
    PL_TRY_ASSIGN(std::string paramText, readFile(paramPath));
    PL_TRY_ASSIGN(std::string binData, readFile(binPath));
    return importNcnnData(paramText, std::move(binData), paramPath, binPath, height, width);
}

Result<Graph> importNcnnData(const std::string& paramText, std::string binData,
                             const std::string& paramPath, const std::string& binPath,
                             int64_t height, int64_t width) {
    if (height < 1 || width < 1 || height > 65536 || width > 65536) {
        return makeError(ErrorCode::InvalidArgument, "input size " + std::to_string(height) + "x" +
                                                         std::to_string(width) +
                                                         " must be between 1 and 65536");
    }
    size_t blobCount = 0;
    auto parsed = parseParam(paramText, blobCount);
    if (!parsed.ok()) return parsed.error().within(paramPath);
    const std::vector<Layer>& layers = parsed.value();

    Graph graph;
    graph.name = baseName(paramPath);
    graph.sourcePath = paramPath;
    BinReader bin(std::move(binData));
    Importer importer(graph, bin);
    size_t declaredBlobs = 0;
    for (const Layer& layer : layers) {
        const std::string where = paramPath + ": layer '" + layer.name + "' (" + layer.type + ")";
        for (const std::string& top : layer.tops) {
            if (importer.blobs.count(top) != 0) {
                return makeError(ErrorCode::Corrupt, "blob '" + top + "' is produced twice", where);
            }
        }
        declaredBlobs += layer.tops.size();
        for (const std::string& bottom : layer.bottoms) ++importer.consumers[bottom];
        Status st = importer.importLayer(layer, height, width);
        if (!st.ok()) {
            // .bin problems name the weights file too: that is the file to re-download.
            const bool binError = st.error().message.find("file too short") != std::string::npos;
            return st.error().within(binError ? where + " in " + binPath : where);
        }
        // Every blob is a tensor the engine can hold: the next layer multiplies its dims (an
        // Input's channel count is the file's, unchecked until here).
        for (const std::string& top : layer.tops) {
            auto it = importer.blobs.find(top);
            if (it == importer.blobs.end()) continue;
            auto count = engine::checkedElementCount(graph.value(it->second).shape);
            if (!count.ok()) return count.error().within(where + ": blob '" + top + "'");
        }
    }
    if (declaredBlobs != blobCount) {
        return makeError(ErrorCode::Corrupt,
                         "header declares " + std::to_string(blobCount) +
                             " blobs, the layers produce " + std::to_string(declaredBlobs),
                         paramPath);
    }
    if (graph.inputs.size() != 1) {
        return makeError(
            ErrorCode::Unsupported,
            "expected exactly one Input layer, found " + std::to_string(graph.inputs.size()),
            paramPath);
    }
    if (bin.remaining() != 0) {
        return makeError(ErrorCode::Corrupt,
                         std::to_string(bin.remaining()) +
                             " bytes left over after the last weight: the .bin does not belong "
                             "to this .param",
                         binPath);
    }
    // ncnn has no output list: blobs nobody reads are the outputs, in production order.
    for (const Layer& layer : layers) {
        for (const std::string& top : layer.tops) {
            if (importer.consumers[top] == 0 && layer.type != "Split") {
                graph.outputs.push_back(importer.blobs[top]);
            }
        }
    }
    if (graph.outputs.empty()) {
        return makeError(ErrorCode::Corrupt, "no output blob (every blob is read)", paramPath);
    }
    Status st = verifyGraph(graph);
    if (!st.ok()) return st.error().within(paramPath);
    return graph;
}

}  // namespace prunelab::ncnn

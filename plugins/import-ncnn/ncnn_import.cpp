// ncnn .param/.bin -> IR. Sections: 1. reading the files (params, weight blobs with ncnn's
// storage tags), 2. one mapping per ncnn layer type, 3. the driver (blobs, outputs, verify).
#include "plugins/import-ncnn/ncnn_import.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::ncnn {

using engine::Attributes;
using engine::DataType;
using engine::ErrorCode;
using engine::Graph;
using engine::makeError;
using engine::Node;
using engine::OpKind;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::Tensor;
using engine::ValueId;

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

bool parseFloat(const std::string& text, float& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    const float v = std::strtof(text.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v)) return false;
    out = v;
    return true;
}

// One layer's "id=value" pairs. Array params use id -23300-k and "n,v1,...,vn".
class ParamDict {
  public:
    Status parse(const std::string& token) {
        const size_t eq = token.find('=');
        int64_t id = 0;
        if (eq == std::string::npos || !parseInt(token.substr(0, eq), id)) {
            return makeError(ErrorCode::Corrupt, "malformed parameter '" + token + "'");
        }
        std::vector<std::string> items;
        std::stringstream rest(token.substr(eq + 1));
        for (std::string item; std::getline(rest, item, ',');) items.push_back(item);
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
    bool has(int id) const { return m_values.count(id) != 0; }
    Result<int64_t> getInt(int id, int64_t fallback) const {
        auto it = m_values.find(id);
        if (it == m_values.end()) return fallback;
        int64_t v = 0;
        if (!parseInt(it->second[0], v)) return bad(id, it->second[0], "an integer");
        return v;
    }
    Result<float> getFloat(int id, float fallback) const {
        auto it = m_values.find(id);
        if (it == m_values.end()) return fallback;
        float v = 0;
        if (!parseFloat(it->second[0], v)) return bad(id, it->second[0], "a number");
        return v;
    }
    Result<std::vector<float>> getFloats(int id) const {
        std::vector<float> out;
        auto it = m_values.find(id);
        if (it == m_values.end()) return out;
        for (const std::string& item : it->second) {
            float v = 0;
            if (!parseFloat(item, v)) return bad(id, item, "a number");
            out.push_back(v);
        }
        return out;
    }

  private:
    static engine::Error bad(int id, const std::string& text, const char* what) {
        return makeError(ErrorCode::Corrupt,
                         "parameter " + std::to_string(id) + "='" + text + "' is not " + what);
    }
    std::map<int, std::vector<std::string>> m_values;
};

struct Layer {
    std::string type;
    std::string name;
    std::vector<std::string> bottoms;
    std::vector<std::string> tops;
    ParamDict params;
};

float halfToFloat(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa != 0) {  // subnormal: normalise
        exponent = 113;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    float f = 0;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// The .bin as ncnn's ModelBinFromDataReader reads it: sequential blobs, no index.
class BinReader {
  public:
    explicit BinReader(std::string data) : m_data(std::move(data)) {}

    // `tagged`: the blob starts with ncnn's 4-byte storage tag (conv / fc weights).
    Result<std::vector<float>> load(int64_t count, bool tagged, const std::string& what) {
        std::vector<float> out(static_cast<size_t>(count));
        if (!tagged) {
            PL_TRY(need(size_t(count) * 4, what));
            std::memcpy(out.data(), m_data.data() + m_pos, size_t(count) * 4);
            m_pos += size_t(count) * 4;
            return out;
        }
        PL_TRY(need(4, what + " storage tag"));
        uint32_t tag = 0;
        std::memcpy(&tag, m_data.data() + m_pos, 4);
        m_pos += 4;
        if (tag == kTagFp16) {
            const size_t bytes = (size_t(count) * 2 + 3) & ~size_t(3);  // padded to 4
            PL_TRY(need(bytes, what + " (fp16)"));
            for (size_t i = 0; i < out.size(); ++i) {
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
            PL_TRY(need(size_t(count) * 4, what));
            std::memcpy(out.data(), m_data.data() + m_pos, size_t(count) * 4);
            m_pos += size_t(count) * 4;
            return out;
        }
        // Any other non-zero tag: a 256-entry float table, then one uint8 index per weight.
        PL_TRY(need(256 * 4, what + " quantisation table"));
        float table[256];
        std::memcpy(table, m_data.data() + m_pos, sizeof table);
        m_pos += sizeof table;
        const size_t bytes = (size_t(count) + 3) & ~size_t(3);
        PL_TRY(need(bytes, what + " (table-quantised)"));
        for (size_t i = 0; i < out.size(); ++i) {
            out[i] = table[static_cast<uint8_t>(m_data[m_pos + i])];
        }
        m_pos += bytes;
        return out;
    }
    size_t remaining() const { return m_data.size() - m_pos; }

  private:
    Status need(size_t bytes, const std::string& what) const {
        if (m_data.size() - m_pos >= bytes) return {};
        return makeError(ErrorCode::Corrupt, "file too short: " + what + " needs " +
                                                 std::to_string(bytes) + " bytes at offset " +
                                                 std::to_string(m_pos) + ", only " +
                                                 std::to_string(m_data.size() - m_pos) + " left");
    }
    std::string m_data;
    size_t m_pos = 0;
};

// ---- 2. Layer mappings ------------------------------------------------------------------

class Importer {
  public:
    Importer(Graph& graph, BinReader& bin) : m_graph(graph), m_bin(bin) {}

    Status importLayer(const Layer& layer, int64_t height, int64_t width);
    std::map<std::string, ValueId> blobs;  // ncnn blob name -> IR value (Split aliases)
    std::map<std::string, int> consumers;  // reads per blob, to find the outputs

  private:
    Result<ValueId> input(const Layer& layer, size_t i) const {
        auto it = blobs.find(layer.bottoms[i]);
        if (it == blobs.end()) {
            return makeError(ErrorCode::NotFound, "reads blob '" + layer.bottoms[i] +
                                                      "', which no earlier layer produces");
        }
        return it->second;
    }
    const Shape& shapeOf(ValueId id) const { return m_graph.value(id).shape; }
    // Adds a node, infers its output shape and records it as blob `top` (empty: unnamed).
    Result<ValueId> emit(OpKind op, const std::string& nodeName, std::vector<ValueId> inputs,
                         const std::string& top, Attributes attrs = {});
    Result<ValueId> emitActivation(const Layer& layer, ValueId x, int64_t type,
                                   const std::vector<float>& params, const std::string& top);
    Status expectCounts(const Layer& layer, size_t bottoms, size_t tops) const {
        if (layer.bottoms.size() == bottoms && layer.tops.size() == tops) return {};
        return makeError(ErrorCode::Corrupt, "expects " + std::to_string(bottoms) +
                                                 " input(s) and " + std::to_string(tops) +
                                                 " output(s)");
    }
    Status convolution(const Layer& layer, bool depthwise);
    Status interp(const Layer& layer);
    Status binaryOp(const Layer& layer);
    Status eltwise(const Layer& layer);
    Status pooling(const Layer& layer);
    Status innerProduct(const Layer& layer);

    Graph& m_graph;
    BinReader& m_bin;
};

Result<ValueId> Importer::emit(OpKind op, const std::string& nodeName, std::vector<ValueId> inputs,
                               const std::string& top, Attributes attrs) {
    const std::string valueName = m_graph.uniqueName(top.empty() ? nodeName + "_out" : top);
    const ValueId out = m_graph.addValue(valueName, DataType::Float32, {});
    Node& node = m_graph.addNode(op, nodeName, std::move(inputs), {out}, std::move(attrs));
    std::vector<engine::TensorInfo> info;
    PL_TRY(engine::inferNode(m_graph, node, info));
    m_graph.value(out).dtype = info[0].dtype;
    m_graph.value(out).shape = info[0].shape;
    if (!top.empty()) blobs[top] = out;
    return out;
}

// ncnn's fused activations: 0 none, 1 relu, 2 leaky relu(slope), 3 clip(min, max), 4 sigmoid.
Result<ValueId> Importer::emitActivation(const Layer& layer, ValueId x, int64_t type,
                                         const std::vector<float>& params, const std::string& top) {
    const std::string name = layer.name + "_act";
    Attributes attrs;
    switch (type) {
        case 1:
            return emit(OpKind::Relu, name, {x}, top);
        case 2:
            attrs.set("alpha", params.empty() ? 0.0f : params[0]);
            return emit(OpKind::LeakyRelu, name, {x}, top, attrs);
        case 3:
            if (params.size() < 2) {
                return makeError(ErrorCode::Corrupt, "clip activation needs min and max");
            }
            attrs.set("min", params[0]);
            attrs.set("max", params[1]);
            return emit(OpKind::Clip, name, {x}, top, attrs);
        case 4:
            return emit(OpKind::Sigmoid, name, {x}, top);
        default:
            return makeError(ErrorCode::Unsupported,
                             "fused activation_type " + std::to_string(type) +
                                 " is not supported (0 none, 1 relu, 2 leaky, 3 clip, 4 sigmoid)");
    }
}

Status Importer::convolution(const Layer& layer, bool depthwise) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t outC, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t kw, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t kh, p.getInt(11, kw));
    PL_TRY_ASSIGN(int64_t dw, p.getInt(2, 1));
    PL_TRY_ASSIGN(int64_t dh, p.getInt(12, dw));
    PL_TRY_ASSIGN(int64_t sw, p.getInt(3, 1));
    PL_TRY_ASSIGN(int64_t sh, p.getInt(13, sw));
    PL_TRY_ASSIGN(int64_t padL, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t padT, p.getInt(14, padL));
    PL_TRY_ASSIGN(int64_t padR, p.getInt(15, padL));
    PL_TRY_ASSIGN(int64_t padB, p.getInt(16, padT));
    PL_TRY_ASSIGN(float padValue, p.getFloat(18, 0.0f));
    PL_TRY_ASSIGN(int64_t biasTerm, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t weightSize, p.getInt(6, 0));
    PL_TRY_ASSIGN(int64_t group, p.getInt(7, 1));
    PL_TRY_ASSIGN(int64_t int8Scale, p.getInt(8, 0));
    PL_TRY_ASSIGN(int64_t actType, p.getInt(9, 0));
    PL_TRY_ASSIGN(std::vector<float> actParams, p.getFloats(10));
    if (!depthwise) group = 1;  // plain Convolution has no group parameter
    if (padL < 0 || padT < 0 || padR < 0 || padB < 0 || padValue != 0.0f) {
        // -233/-234 are ncnn's SAME_UPPER/SAME_LOWER; non-zero pad_value has no Conv equivalent.
        return makeError(ErrorCode::Unsupported, "automatic (SAME) or non-zero-value padding");
    }
    if (int8Scale != 0) return makeError(ErrorCode::Unsupported, "int8 convolution");
    const Shape& xs = shapeOf(x);
    if (outC < 1 || kw < 1 || kh < 1 || dw < 1 || dh < 1 || sw < 1 || sh < 1 || group < 1 ||
        xs.size() != 4 || xs[1] % group != 0 || outC % group != 0) {
        return makeError(ErrorCode::Corrupt,
                         "invalid parameters: num_output " + std::to_string(outC) + ", kernel " +
                             std::to_string(kh) + "x" + std::to_string(kw) + ", group " +
                             std::to_string(group) + " on input " + engine::shapeToString(xs));
    }
    const int64_t inPerGroup = xs[1] / group;
    const int64_t expected = outC * inPerGroup * kh * kw;
    if (weightSize != expected) {
        return makeError(ErrorCode::Corrupt,
                         "weight_data_size " + std::to_string(weightSize) + " does not match " +
                             "num_output*in*kh*kw/group = " + std::to_string(expected));
    }
    PL_TRY_ASSIGN(std::vector<float> weights, m_bin.load(weightSize, true, "weights"));
    std::vector<ValueId> inputs = {
        x, m_graph.addConstant(m_graph.uniqueName(layer.name + "_weight"),
                               Tensor::fromVector<float>({outC, inPerGroup, kh, kw}, weights))};
    if (biasTerm != 0) {
        PL_TRY_ASSIGN(std::vector<float> bias, m_bin.load(outC, false, "bias"));
        inputs.push_back(m_graph.addConstant(m_graph.uniqueName(layer.name + "_bias"),
                                             Tensor::fromVector<float>({outC}, bias)));
    }
    Attributes attrs;
    attrs.set("strides", std::vector<int64_t>{sh, sw});
    attrs.set("pads", std::vector<int64_t>{padT, padL, padB, padR});
    attrs.set("dilations", std::vector<int64_t>{dh, dw});
    attrs.set("group", group);
    const std::string& top = layer.tops[0];
    PL_TRY_ASSIGN(ValueId conv,
                  emit(OpKind::Conv, layer.name, inputs, actType == 0 ? top : "", attrs));
    if (actType != 0) PL_TRY(emitActivation(layer, conv, actType, actParams, top));
    return {};
}

// ncnn Interp: 0 resize_type (1 nearest, 2 bilinear, 3 bicubic), 1/2 height/width scale,
// 3/4 output height/width, 6 align_corner.
Status Importer::interp(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t type, p.getInt(0, 0));
    PL_TRY_ASSIGN(float hScale, p.getFloat(1, 1.0f));
    PL_TRY_ASSIGN(float wScale, p.getFloat(2, 1.0f));
    PL_TRY_ASSIGN(int64_t outH, p.getInt(3, 0));
    PL_TRY_ASSIGN(int64_t outW, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t dynamic, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t alignCorner, p.getInt(6, 0));
    const Shape& xs = shapeOf(x);
    if (dynamic != 0 || xs.size() != 4) {
        return makeError(ErrorCode::Unsupported, "Interp needs a 4-D input and a static size");
    }
    // ncnn: explicit output size wins; otherwise size = (int)(in * scale).
    const bool bySize = outH != 0 && outW != 0;
    if (!bySize) {
        outH = static_cast<int64_t>(static_cast<float>(xs[2]) * hScale);
        outW = static_cast<int64_t>(static_cast<float>(xs[3]) * wScale);
    }
    if (outH < 1 || outW < 1) {
        return makeError(ErrorCode::Corrupt, "Interp output size " + std::to_string(outH) + "x" +
                                                 std::to_string(outW) + " is empty");
    }
    Attributes attrs;
    float sh = static_cast<float>(outH) / static_cast<float>(xs[2]);
    float sw = static_cast<float>(outW) / static_cast<float>(xs[3]);
    if (type == 1) {
        // ncnn nearest: src = min(floor(dst * (1/scale)), in-1), i.e. asymmetric + floor, with
        // the file's scale when given (that is what ncnn divides by).
        if (!bySize) {
            sh = hScale;
            sw = wScale;
        }
        attrs.set("mode", std::string("nearest"));
        attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
        attrs.set("nearest_mode", std::string("floor"));
    } else if (type == 2 || type == 3) {
        // ncnn bilinear/bicubic: half-pixel centres (or align_corners), borders clamped,
        // bicubic with A = -0.75: ONNX Resize's defaults with exclude_outside = 0.
        attrs.set("mode", std::string(type == 2 ? "linear" : "cubic"));
        attrs.set("coordinate_transformation_mode",
                  std::string(alignCorner != 0 ? "align_corners" : "half_pixel"));
        attrs.set("nearest_mode", std::string("round_prefer_floor"));
    } else {
        return makeError(ErrorCode::Unsupported, "Interp resize_type " + std::to_string(type) +
                                                     " (1 nearest, 2 bilinear, 3 bicubic)");
    }
    attrs.set("cubic_coeff_a", -0.75f);
    attrs.set("exclude_outside", int64_t(0));
    attrs.set("scales", std::vector<float>{1.0f, 1.0f, sh, sw});
    attrs.set("sizes", std::vector<int64_t>{xs[0], xs[1], outH, outW});
    PL_TRY(emit(OpKind::Resize, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn BinaryOp: 0 op_type, 1 with_scalar, 2 b (the scalar).
Status Importer::binaryOp(const Layer& layer) {
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(int64_t opType, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t withScalar, p.getInt(1, 0));
    PL_TRY_ASSIGN(float scalar, p.getFloat(2, 0.0f));
    PL_TRY(expectCounts(layer, withScalar != 0 ? 1 : 2, 1));
    static const OpKind kOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div};
    OpKind op{};
    if (opType >= 0 && opType <= 3) {
        op = kOps[opType];
    } else if (opType == 6) {
        op = OpKind::Pow;
    } else {
        return makeError(ErrorCode::Unsupported,
                         "BinaryOp op_type " + std::to_string(opType) +
                             " (supported: 0 add, 1 sub, 2 mul, 3 div, 6 pow)");
    }
    PL_TRY_ASSIGN(ValueId a, input(layer, 0));
    ValueId b = engine::kNoValue;
    if (withScalar != 0) {
        b = m_graph.addConstant(m_graph.uniqueName(layer.name + "_b"), Tensor::scalar(scalar));
    } else {
        PL_TRY_ASSIGN(b, input(layer, 1));
    }
    PL_TRY(emit(op, layer.name, {a, b}, layer.tops[0]));
    return {};
}

// ncnn Eltwise: 0 op_type (0 prod, 1 sum, 2 max), 1 coeffs (sum only).
Status Importer::eltwise(const Layer& layer) {
    if (layer.bottoms.size() < 2 || layer.tops.size() != 1) {
        return makeError(ErrorCode::Corrupt, "Eltwise needs at least two inputs and one output");
    }
    PL_TRY_ASSIGN(int64_t opType, layer.params.getInt(0, 0));
    PL_TRY_ASSIGN(std::vector<float> coeffs, layer.params.getFloats(1));
    for (float c : coeffs) {
        if (c != 1.0f) return makeError(ErrorCode::Unsupported, "Eltwise with coefficients != 1");
    }
    if (opType != 0 && opType != 1) {
        return makeError(ErrorCode::Unsupported, "Eltwise max has no IR op");
    }
    PL_TRY_ASSIGN(ValueId acc, input(layer, 0));
    for (size_t i = 1; i < layer.bottoms.size(); ++i) {
        PL_TRY_ASSIGN(ValueId next, input(layer, i));
        const bool last = i + 1 == layer.bottoms.size();
        PL_TRY_ASSIGN(acc, emit(opType == 0 ? OpKind::Mul : OpKind::Add,
                                last ? layer.name : layer.name + "_" + std::to_string(i),
                                {acc, next}, last ? layer.tops[0] : ""));
    }
    return {};
}

// ncnn Pooling: 0 type (0 max, 1 avg), 1/11 kernel, 2/12 stride, 3/13/14/15 pads (l t r b),
// 4 global, 5 pad_mode (0 full, 1 valid, 2 SAME_UPPER, 3 SAME_LOWER), 6 avg count_include_pad.
Status Importer::pooling(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t type, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t kw, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t kh, p.getInt(11, kw));
    PL_TRY_ASSIGN(int64_t sw, p.getInt(2, 1));
    PL_TRY_ASSIGN(int64_t sh, p.getInt(12, sw));
    PL_TRY_ASSIGN(int64_t padL, p.getInt(3, 0));
    PL_TRY_ASSIGN(int64_t padT, p.getInt(13, padL));
    PL_TRY_ASSIGN(int64_t padR, p.getInt(14, padL));
    PL_TRY_ASSIGN(int64_t padB, p.getInt(15, padT));
    PL_TRY_ASSIGN(int64_t global, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t padMode, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t includePad, p.getInt(6, 0));
    PL_TRY_ASSIGN(int64_t adaptive, p.getInt(7, 0));
    const Shape xs = shapeOf(x);
    if (type != 0 && type != 1) {
        return makeError(ErrorCode::Unsupported, "pooling_type " + std::to_string(type));
    }
    if (adaptive != 0 || xs.size() != 4) {
        return makeError(ErrorCode::Unsupported, "adaptive pooling or a non-4-D input");
    }
    const std::string& top = layer.tops[0];
    if (global != 0) {
        if (type == 1) {
            PL_TRY(emit(OpKind::GlobalAveragePool, layer.name, {x}, top));
            return {};
        }
        kh = xs[2];  // global max = one window over the whole plane
        kw = xs[3];
        sh = sw = 1;
        padL = padT = padR = padB = 0;
        padMode = 1;
    }
    if (kw < 1 || kh < 1 || sw < 1 || sh < 1 || padL < 0 || padT < 0 || padR < 0 || padB < 0) {
        return makeError(ErrorCode::Corrupt, "invalid kernel, stride or padding");
    }
    if (padMode == 0) {
        // ncnn "full" padding: extra bottom/right padding so the last window fits (ceil
        // rounding), added explicitly here so no ceil_mode subtleties remain.
        const int64_t wTail = (xs[3] + padL + padR - kw) % sw;
        const int64_t hTail = (xs[2] + padT + padB - kh) % sh;
        if (wTail > 0) padR += sw - wTail;
        if (hTail > 0) padB += sh - hTail;
    } else if (padMode == 2 || padMode == 3) {
        const int64_t wPad = std::max<int64_t>(0, kw + (xs[3] - 1) / sw * sw - xs[3]);
        const int64_t hPad = std::max<int64_t>(0, kh + (xs[2] - 1) / sh * sh - xs[2]);
        const bool upper = padMode == 2;  // SAME_UPPER puts the odd pixel at the end
        padL = upper ? wPad / 2 : wPad - wPad / 2;
        padR = wPad - padL;
        padT = upper ? hPad / 2 : hPad - hPad / 2;
        padB = hPad - padT;
    } else if (padMode != 1) {
        return makeError(ErrorCode::Unsupported, "pad_mode " + std::to_string(padMode));
    }
    Attributes attrs;
    attrs.set("kernel_shape", std::vector<int64_t>{kh, kw});
    attrs.set("strides", std::vector<int64_t>{sh, sw});
    attrs.set("pads", std::vector<int64_t>{padT, padL, padB, padR});
    attrs.set("dilations", std::vector<int64_t>{1, 1});
    attrs.set("ceil_mode", int64_t(0));
    if (type == 1) attrs.set("count_include_pad", int64_t(includePad != 0 ? 1 : 0));
    PL_TRY(emit(type == 0 ? OpKind::MaxPool : OpKind::AveragePool, layer.name, {x}, top, attrs));
    return {};
}

// ncnn InnerProduct: 0 num_output, 1 bias_term, 2 weight_data_size, 8 int8, 9/10 activation.
// Flattens everything after the batch dim, then Gemm with W[out][in] (transB).
Status Importer::innerProduct(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t outN, p.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t biasTerm, p.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t weightSize, p.getInt(2, 0));
    PL_TRY_ASSIGN(int64_t int8Scale, p.getInt(8, 0));
    PL_TRY_ASSIGN(int64_t actType, p.getInt(9, 0));
    PL_TRY_ASSIGN(std::vector<float> actParams, p.getFloats(10));
    if (int8Scale != 0) return makeError(ErrorCode::Unsupported, "int8 InnerProduct");
    const Shape xs = shapeOf(x);
    int64_t inN = 1;
    for (size_t i = 1; i < xs.size(); ++i) inN *= xs[i];
    if (outN < 1 || weightSize != outN * inN) {
        return makeError(ErrorCode::Corrupt, "weight_data_size " + std::to_string(weightSize) +
                                                 " does not match num_output*in = " +
                                                 std::to_string(outN) + "*" + std::to_string(inN));
    }
    PL_TRY_ASSIGN(std::vector<float> weights, m_bin.load(weightSize, true, "weights"));
    if (xs.size() != 2) {
        Attributes flat;
        flat.set("axis", int64_t(1));
        PL_TRY_ASSIGN(x, emit(OpKind::Flatten, layer.name + "_flatten", {x}, "", flat));
    }
    std::vector<ValueId> inputs = {
        x, m_graph.addConstant(m_graph.uniqueName(layer.name + "_weight"),
                               Tensor::fromVector<float>({outN, inN}, weights))};
    if (biasTerm != 0) {
        PL_TRY_ASSIGN(std::vector<float> bias, m_bin.load(outN, false, "bias"));
        inputs.push_back(m_graph.addConstant(m_graph.uniqueName(layer.name + "_bias"),
                                             Tensor::fromVector<float>({outN}, bias)));
    }
    Attributes attrs;
    attrs.set("alpha", 1.0f);
    attrs.set("beta", 1.0f);
    attrs.set("transA", int64_t(0));
    attrs.set("transB", int64_t(1));
    const std::string& top = layer.tops[0];
    PL_TRY_ASSIGN(ValueId fc,
                  emit(OpKind::Gemm, layer.name, inputs, actType == 0 ? top : "", attrs));
    if (actType != 0) PL_TRY(emitActivation(layer, fc, actType, actParams, top));
    return {};
}

Status Importer::importLayer(const Layer& layer, int64_t height, int64_t width) {
    const ParamDict& p = layer.params;
    const std::string& t = layer.type;
    if (t == "Input") {
        PL_TRY(expectCounts(layer, 0, 1));
        PL_TRY_ASSIGN(int64_t c, p.getInt(2, 0));
        if (c <= 0) c = 3;
        const ValueId v = m_graph.addValue(layer.tops[0], DataType::Float32, {1, c, height, width});
        m_graph.inputs.push_back(v);
        blobs[layer.tops[0]] = v;
        return {};
    }
    if (t == "Split") {  // ncnn's fan-out: every top is the same tensor, so alias it
        if (layer.bottoms.size() != 1) return expectCounts(layer, 1, layer.tops.size());
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        for (const std::string& top : layer.tops) blobs[top] = x;
        return {};
    }
    if (t == "Convolution") return convolution(layer, false);
    if (t == "ConvolutionDepthWise") return convolution(layer, true);
    if (t == "Interp") return interp(layer);
    if (t == "BinaryOp") return binaryOp(layer);
    if (t == "Eltwise") return eltwise(layer);
    if (t == "Pooling") return pooling(layer);
    if (t == "InnerProduct") return innerProduct(layer);
    if (t == "PReLU") {
        PL_TRY(expectCounts(layer, 1, 1));
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        PL_TRY_ASSIGN(int64_t n, p.getInt(0, 0));
        if (n < 1) return makeError(ErrorCode::Corrupt, "num_slope must be positive");
        PL_TRY_ASSIGN(std::vector<float> slope, m_bin.load(n, false, "slopes"));
        // [C, 1, 1] broadcasts per channel over NCHW; a single slope as [1] over everything.
        const Shape shape = n == 1 ? Shape{1} : Shape{n, 1, 1};
        const ValueId s = m_graph.addConstant(m_graph.uniqueName(layer.name + "_slope"),
                                              Tensor::fromVector<float>(shape, slope));
        PL_TRY(emit(OpKind::PRelu, layer.name, {x, s}, layer.tops[0]));
        return {};
    }
    if (t == "ReLU") {
        PL_TRY(expectCounts(layer, 1, 1));
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        PL_TRY_ASSIGN(float slope, p.getFloat(0, 0.0f));
        Attributes attrs;
        if (slope != 0.0f) attrs.set("alpha", slope);
        PL_TRY(emit(slope != 0.0f ? OpKind::LeakyRelu : OpKind::Relu, layer.name, {x},
                    layer.tops[0], attrs));
        return {};
    }
    if (t == "Sigmoid" || t == "Dropout") {
        PL_TRY(expectCounts(layer, 1, 1));
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        if (t == "Dropout") {
            PL_TRY_ASSIGN(float scale, p.getFloat(0, 1.0f));
            if (scale != 1.0f) return makeError(ErrorCode::Unsupported, "Dropout scale != 1");
        }
        PL_TRY(emit(t == "Sigmoid" ? OpKind::Sigmoid : OpKind::Identity, layer.name, {x},
                    layer.tops[0]));
        return {};
    }
    if (t == "Clip") {
        PL_TRY(expectCounts(layer, 1, 1));
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        PL_TRY_ASSIGN(float lo, p.getFloat(0, -INFINITY));
        PL_TRY_ASSIGN(float hi, p.getFloat(1, INFINITY));
        Attributes attrs;
        attrs.set("min", lo);
        attrs.set("max", hi);
        PL_TRY(emit(OpKind::Clip, layer.name, {x}, layer.tops[0], attrs));
        return {};
    }
    if (t == "Concat") {
        if (layer.bottoms.empty() || layer.tops.size() != 1) return expectCounts(layer, 2, 1);
        std::vector<ValueId> inputs;
        for (size_t i = 0; i < layer.bottoms.size(); ++i) {
            PL_TRY_ASSIGN(ValueId v, input(layer, i));
            inputs.push_back(v);
        }
        PL_TRY_ASSIGN(int64_t axis, p.getInt(0, 0));
        const int64_t rank = static_cast<int64_t>(shapeOf(inputs[0]).size()) - 1;  // no batch
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank)
            return makeError(ErrorCode::Corrupt, "Concat axis out of range");
        Attributes attrs;
        attrs.set("axis", axis + 1);  // ncnn axes skip the batch dim
        PL_TRY(emit(OpKind::Concat, layer.name, inputs, layer.tops[0], attrs));
        return {};
    }
    if (t == "PixelShuffle") {
        PL_TRY(expectCounts(layer, 1, 1));
        PL_TRY_ASSIGN(ValueId x, input(layer, 0));
        PL_TRY_ASSIGN(int64_t factor, p.getInt(0, 1));
        PL_TRY_ASSIGN(int64_t mode, p.getInt(1, 0));
        if (factor < 1 || mode != 0) {
            return makeError(ErrorCode::Unsupported,
                             "PixelShuffle needs upscale_factor >= 1 and "
                             "mode 0 (PyTorch order)");
        }
        Attributes attrs;
        attrs.set("blocksize", factor);
        attrs.set("mode", std::string("CRD"));  // PyTorch pixel_shuffle order = ONNX CRD
        PL_TRY(emit(OpKind::DepthToSpace, layer.name, {x}, layer.tops[0], attrs));
        return {};
    }
    return makeError(ErrorCode::Unsupported, "layer type '" + t + "' is not supported");
}

// ---- 3. Driver --------------------------------------------------------------------------

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
    if (height < 1 || width < 1 || height > 65536 || width > 65536) {
        return makeError(ErrorCode::InvalidArgument, "input size " + std::to_string(height) + "x" +
                                                         std::to_string(width) +
                                                         " must be between 1 and 65536");
    }
    PL_TRY_ASSIGN(std::string paramText, readFile(paramPath));
    PL_TRY_ASSIGN(std::string binData, readFile(binPath));
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
    Status st = graph.verify();
    if (!st.ok()) return st.error().within(paramPath);
    return graph;
}

}  // namespace prunelab::ncnn

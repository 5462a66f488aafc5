// waifu2x JSON importer: parse with nlohmann-json, check each layer's numbers against its
// declared sizes and its neighbours, then emit Conv (+ LeakyRelu) nodes.
#include "plugins/import-waifu2x/waifu2x_import.h"
#include "engine/ops/op.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

namespace prunelab::plugins {

using engine::ErrorCode;
using engine::makeError;
using engine::Result;
using nlohmann::json;

namespace {

// Larger values than any real waifu2x model; they keep a hostile file from asking for huge
// tensors before the nested arrays are even looked at.
constexpr int64_t kMaxPlanes = 1 << 16;
constexpr int64_t kMaxKernel = 64;
constexpr float kLeakyAlpha = 0.1f;  // waifu2x's nn.LeakyReLU(0.1) after every hidden conv

struct Layer {
    int64_t in = 0, out = 0, kW = 0, kH = 0, dW = 1, dH = 1, padW = 0, padH = 0;
    std::vector<float> weight;  // [out][in][kH][kW], flattened
    std::vector<float> bias;    // [out]
};

std::string layerContext(const std::string& path, size_t index) {
    std::string s = path;
    s += ": layer ";
    s += std::to_string(index);
    return s;
}

// Reads a required (or optional, with a fallback) integer key within [lo, hi].
Result<int64_t> readInt(const json& obj, const char* key, int64_t lo, int64_t hi,
                        const std::string& ctx, const int64_t* fallback = nullptr) {
    auto it = obj.find(key);
    if (it == obj.end()) {
        if (fallback) return *fallback;
        return makeError(ErrorCode::Corrupt, std::string("missing key '") + key + "'", ctx);
    }
    if (!it->is_number_integer())
        return makeError(ErrorCode::Corrupt, std::string("'") + key + "' is not an integer", ctx);
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi)
        return makeError(ErrorCode::Corrupt,
                         std::string("'") + key + "' is " + std::to_string(v) + ", expected " +
                             std::to_string(lo) + ".." + std::to_string(hi),
                         ctx);
    return v;
}

// Appends a finite float32. nlohmann refuses numbers beyond double at parse time, but a double
// beyond float's range (1e300) would silently become infinity in the IR's float32 weights.
// `where` + "[index]" names the number; built only on failure (a model has ~300k of them).
engine::Status pushNumber(const json& v, std::vector<float>& dst, const std::string& ctx,
                          const std::string& where, size_t index) {
    const bool isNumber = v.is_number();
    const double d = isNumber ? v.get<double>() : 0.0;
    if (!isNumber || !std::isfinite(d) || std::fabs(d) > double(std::numeric_limits<float>::max()))
        return makeError(ErrorCode::Corrupt,
                         where + "[" + std::to_string(index) + "]" +
                             (isNumber ? " is not a finite float" : " is not a number"),
                         ctx);
    dst.push_back(static_cast<float>(d));
    return {};
}

engine::Status checkArray(const json& v, int64_t size, const std::string& ctx,
                          const std::string& where) {
    if (!v.is_array()) return makeError(ErrorCode::Corrupt, where + " is not an array", ctx);
    if (static_cast<int64_t>(v.size()) != size)
        return makeError(ErrorCode::Corrupt,
                         where + " has " + std::to_string(v.size()) + " entries, expected " +
                             std::to_string(size),
                         ctx);
    return {};
}

Result<Layer> readLayer(const json& obj, const std::string& ctx) {
    if (!obj.is_object()) return makeError(ErrorCode::Corrupt, "layer is not an object", ctx);
    auto cls = obj.find("class_name");
    if (cls != obj.end()) {
        const std::string name = cls->is_string() ? cls->get<std::string>() : std::string("?");
        if (name != "nn.SpatialConvolutionMM" && name != "nn.SpatialConvolution")
            return makeError(ErrorCode::Unsupported,
                             "layer class '" + name + "' (only nn.SpatialConvolution(MM))", ctx);
    }
    Layer l;
    const int64_t zero = 0, one = 1;
    PL_TRY_ASSIGN(l.in, readInt(obj, "nInputPlane", 1, kMaxPlanes, ctx));
    PL_TRY_ASSIGN(l.out, readInt(obj, "nOutputPlane", 1, kMaxPlanes, ctx));
    PL_TRY_ASSIGN(l.kW, readInt(obj, "kW", 1, kMaxKernel, ctx));
    PL_TRY_ASSIGN(l.kH, readInt(obj, "kH", 1, kMaxKernel, ctx));
    PL_TRY_ASSIGN(l.dW, readInt(obj, "dW", 1, kMaxKernel, ctx, &one));
    PL_TRY_ASSIGN(l.dH, readInt(obj, "dH", 1, kMaxKernel, ctx, &one));
    PL_TRY_ASSIGN(l.padW, readInt(obj, "padW", 0, kMaxKernel, ctx, &zero));
    PL_TRY_ASSIGN(l.padH, readInt(obj, "padH", 0, kMaxKernel, ctx, &zero));

    auto w = obj.find("weight");
    if (w == obj.end()) return makeError(ErrorCode::Corrupt, "missing key 'weight'", ctx);
    auto b = obj.find("bias");
    if (b == obj.end()) return makeError(ErrorCode::Corrupt, "missing key 'bias'", ctx);

    // Sizes are checked level by level, so the message says which index is off. No reserve():
    // the declared sizes are not trusted yet, and the parsed numbers bound the growth.
    PL_TRY(checkArray(*w, l.out, ctx, "weight (nOutputPlane)"));
    for (size_t o = 0; o < w->size(); ++o) {
        const json& wo = (*w)[o];
        const std::string wos = "weight[" + std::to_string(o) + "]";
        PL_TRY(checkArray(wo, l.in, ctx, wos + " (nInputPlane)"));
        for (size_t i = 0; i < wo.size(); ++i) {
            const json& wi = wo[i];
            const std::string wis = wos + "[" + std::to_string(i) + "]";
            PL_TRY(checkArray(wi, l.kH, ctx, wis + " (kH)"));
            for (size_t y = 0; y < wi.size(); ++y) {
                const json& wy = wi[y];
                const std::string wys = wis + "[" + std::to_string(y) + "]";
                PL_TRY(checkArray(wy, l.kW, ctx, wys + " (kW)"));
                for (size_t x = 0; x < wy.size(); ++x)
                    PL_TRY(pushNumber(wy[x], l.weight, ctx, wys, x));
            }
        }
    }
    PL_TRY(checkArray(*b, l.out, ctx, "bias (nOutputPlane)"));
    for (size_t o = 0; o < b->size(); ++o) PL_TRY(pushNumber((*b)[o], l.bias, ctx, "bias", o));
    return l;
}

Result<engine::Graph> importParsed(const json& doc, const std::string& path, int64_t height,
                                   int64_t width) {
    if (!doc.is_array())
        return makeError(ErrorCode::Corrupt,
                         std::string("expected a JSON array of layers, found ") + doc.type_name(),
                         path);
    if (doc.empty()) return makeError(ErrorCode::Corrupt, "the layer array is empty", path);
    if (height < 1 || width < 1)
        return makeError(ErrorCode::InvalidArgument,
                         "input size " + std::to_string(height) + "x" + std::to_string(width) +
                             " must be positive",
                         path);

    engine::Graph g;
    g.sourcePath = path;
    g.name = "waifu2x";
    int64_t channels = 0;
    if (doc[0].is_object()) {
        auto cfg = doc[0].find("model_config");
        if (cfg != doc[0].end() && cfg->is_object()) {
            const std::string ctx = layerContext(path, 0) + ": model_config";
            auto arch = cfg->find("arch_name");
            if (arch != cfg->end() && arch->is_string()) {
                g.name += "_" + arch->get<std::string>();
                g.metadata["waifu2x.arch_name"] = arch->get<std::string>();
            }
            for (const char* key : {"scale_factor", "offset"}) {
                auto it = cfg->find(key);
                if (it != cfg->end() && it->is_number())
                    g.metadata[std::string("waifu2x.") + key] = it->dump();
            }
            const int64_t none = 0;
            PL_TRY_ASSIGN(channels, readInt(*cfg, "channels", 0, kMaxPlanes, ctx, &none));
        }
    }

    engine::ValueId x = engine::kNoValue;
    int64_t h = height, w = width, planes = 0;
    for (size_t i = 0; i < doc.size(); ++i) {
        const std::string ctx = layerContext(path, i);
        PL_TRY_ASSIGN(Layer l, readLayer(doc[i], ctx));
        if (i == 0) {
            if (channels != 0 && channels != l.in)
                return makeError(ErrorCode::Corrupt,
                                 "model_config.channels is " + std::to_string(channels) +
                                     " but nInputPlane is " + std::to_string(l.in),
                                 ctx);
            // A huge height x width from the caller is an error here, not an allocation later.
            auto count = engine::checkedElementCount({1, l.in, h, w});
            if (!count.ok()) return count.error().within(ctx + ": input");
            x = g.addValue("input", engine::DataType::Float32, {1, l.in, h, w});
            g.inputs.push_back(x);
        } else if (l.in != planes) {
            return makeError(ErrorCode::Corrupt,
                             "nInputPlane is " + std::to_string(l.in) + " but layer " +
                                 std::to_string(i - 1) + " outputs " + std::to_string(planes) +
                                 " planes",
                             ctx);
        }
        const int64_t oh = (h + 2 * l.padH - l.kH) / l.dH + 1;
        const int64_t ow = (w + 2 * l.padW - l.kW) / l.dW + 1;
        if (h + 2 * l.padH < l.kH || w + 2 * l.padW < l.kW)
            return makeError(ErrorCode::InvalidArgument,
                             "input " + std::to_string(height) + "x" + std::to_string(width) +
                                 " is too small for the model: this layer gets " +
                                 std::to_string(h) + "x" + std::to_string(w) + " for a " +
                                 std::to_string(l.kH) + "x" + std::to_string(l.kW) + " kernel",
                             ctx);

        const std::string base = "conv" + std::to_string(i);
        engine::Tensor wt(engine::DataType::Float32, {l.out, l.in, l.kH, l.kW});
        std::copy(l.weight.begin(), l.weight.end(), wt.data<float>());
        engine::Tensor bt(engine::DataType::Float32, {l.out});
        std::copy(l.bias.begin(), l.bias.end(), bt.data<float>());
        const engine::ValueId wv = g.addConstant(base + ".weight", std::move(wt));
        const engine::ValueId bv = g.addConstant(base + ".bias", std::move(bt));

        const bool last = i + 1 == doc.size();
        engine::ValueId y = g.addValue(last ? std::string("output") : base,
                                       engine::DataType::Float32, {1, l.out, oh, ow});
        engine::Attributes a;
        a.set("strides", std::vector<int64_t>{l.dH, l.dW});
        a.set("pads", std::vector<int64_t>{l.padH, l.padW, l.padH, l.padW});
        a.set("dilations", std::vector<int64_t>{1, 1});
        a.set("group", int64_t{1});
        g.addNode(engine::OpKind::Conv, base, {x, wv, bv}, {y}, std::move(a));
        if (!last) {
            const std::string act = "leaky" + std::to_string(i);
            engine::ValueId z = g.addValue(act, engine::DataType::Float32, {1, l.out, oh, ow});
            engine::Attributes aa;
            aa.set("alpha", kLeakyAlpha);
            g.addNode(engine::OpKind::LeakyRelu, act, {y}, {z}, std::move(aa));
            y = z;
        }
        x = y;
        h = oh;
        w = ow;
        planes = l.out;
    }
    g.outputs.push_back(x);
    engine::Status st = verifyGraph(g);
    if (!st.ok()) return st.error().within(path);
    return g;
}

}  // namespace

Result<engine::Graph> importWaifu2xJson(const std::string& path, int64_t height, int64_t width) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, "cannot open the file", path);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return makeError(ErrorCode::Io, "cannot read the file", path);
    return importWaifu2xJsonText(text.str(), path, height, width);
}

Result<engine::Graph> importWaifu2xJsonText(std::string_view text, const std::string& path,
                                            int64_t height, int64_t width) {
    json doc;
    try {
        // parse_error for bad or truncated text; out_of_range for a number like 1e999.
        doc = json::parse(text);
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("not valid JSON: ") + e.what(), path);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("cannot parse the JSON: ") + e.what(),
                         path);
    }
    try {
        return importParsed(doc, path, height, width);
    } catch (const std::exception& e) {
        // Accessors are guarded by type checks; this is a safety net (bad_alloc, a missed case).
        return makeError(ErrorCode::Corrupt, std::string("cannot read the model: ") + e.what(),
                         path);
    }
}

}  // namespace prunelab::plugins

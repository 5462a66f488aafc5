// Pruning statistics: counts from masks, storage bytes by the rules written in stats.h, and the
// CLI table / JSON forms.
#include "engine/prune/stats.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace prunelab::engine::prune {

namespace {

constexpr Pattern kCentre = 1u << 4;  // bit (1 * 3 + 1)

// The layer's 3x3 kernel masks, or nothing unless every kernel is empty or a 4-entry pattern
// with the centre (what the pattern scheme produces).
std::optional<std::vector<int32_t>> kernelMasks3x3(const Layer& layer, const Tensor& mask) {
    if (layer.kh != 3 || layer.kw != 3) return std::nullopt;
    const uint8_t* m = mask.data<uint8_t>();
    std::vector<int32_t> masks(static_cast<size_t>(layer.outChannels * layer.inPerGroup));
    for (size_t k = 0; k < masks.size(); ++k) {
        int32_t bits = 0;
        int count = 0;
        for (int p = 0; p < 9; ++p) {
            if (m[k * 9 + static_cast<size_t>(p)]) {
                bits |= 1 << p;
                ++count;
            }
        }
        if (count != 0 && (count != 4 || !(bits & kCentre))) return std::nullopt;
        masks[k] = count ? bits : -1;
    }
    return masks;
}

}  // namespace

int64_t StorageBytes::best() const {
    int64_t b = denseFp32;
    for (const std::optional<int64_t>& o : {std::optional<int64_t>(csr32), csr16, patternFkw, tile})
        if (o && *o < b) b = *o;
    return b;
}

std::string StorageBytes::bestFormat() const {
    std::string name = "dense";
    int64_t b = denseFp32;
    const std::pair<const char*, std::optional<int64_t>> formats[] = {
        {"csr32", csr32}, {"csr16", csr16}, {"pattern", patternFkw}, {"tile", tile}};
    for (const auto& [n, o] : formats) {
        if (o && *o < b) {
            b = *o;
            name = n;
        }
    }
    return name;
}

LayerStats layerStats(const Layer& layer, const LayerProjection& projection) {
    LayerStats s;
    s.name = layer.name;
    const int64_t rows = layer.outChannels;
    const int64_t perKernel = layer.kh * layer.kw;
    const int64_t cols = layer.inPerGroup * perKernel;
    s.weights = rows * cols;
    s.kernels = rows * layer.inPerGroup;
    const uint8_t* m = projection.mask.data<uint8_t>();
    for (int64_t k = 0; k < s.kernels; ++k) {
        int64_t keptHere = 0;
        for (int64_t p = 0; p < perKernel; ++p) keptHere += m[k * perKernel + p] != 0;
        s.kept += keptHere;
        s.kernelsRemoved += keptHere == 0;
    }
    s.density = s.weights ? static_cast<double>(s.kept) / static_cast<double>(s.weights) : 1.0;
    s.macs = layer.macs;
    s.keptMacs = s.weights == 0 ? 0
                 : s.macs % s.weights == 0
                     ? s.macs / s.weights * s.kept
                     : static_cast<int64_t>(static_cast<double>(s.macs) * s.density + 0.5);

    const int64_t nnz = s.kept;
    s.bytes.denseFp32 = s.weights * 4;
    s.bytes.csr32 = nnz * 8 + (rows + 1) * 4;
    if (cols <= 65536) s.bytes.csr16 = nnz * 6 + (rows + 1) * 4;

    // Pattern structure: the scheme's own when it reports one, else recognised from the mask.
    std::optional<std::vector<int32_t>> masks = kernelMasks3x3(layer, projection.mask);
    if (masks) {
        std::map<Pattern, int64_t> histogram;
        int64_t keptKernels = 0;
        for (int32_t bits : *masks) {
            if (bits < 0) continue;
            ++histogram[static_cast<Pattern>(bits)];
            ++keptKernels;
        }
        int64_t setSize = projection.patternSet.empty()
                              ? static_cast<int64_t>(histogram.size())
                              : static_cast<int64_t>(projection.patternSet.size());
        s.patternHistogram = std::move(histogram);
        s.bytes.patternFkw = setSize * 2 + rows * 2 + keptKernels * (2 + 1 + 4 * 4);
    }
    const TileStructure& t = projection.tiles;
    if (t.tileWidth > 0) {
        int64_t bytes = 4 + static_cast<int64_t>(t.keptColumns.size()) * 4 + nnz * 4;
        for (const std::vector<int32_t>& rowsKept : t.keptRows)
            bytes += 4 + static_cast<int64_t>(rowsKept.size()) * 4;
        s.bytes.tile = bytes;
    }
    return s;
}

namespace {

void addTotals(ModelStats& m, const LayerStats& s) {
    m.weights += s.weights;
    m.kept += s.kept;
    m.macs += s.macs;
    m.keptMacs += s.keptMacs;
    m.kernels += s.kernels;
    m.kernelsRemoved += s.kernelsRemoved;
    m.denseBytes += s.bytes.denseFp32;
    m.csr32Bytes += s.bytes.csr32;
    m.bestBytes += s.bytes.best();
}

}  // namespace

ModelStats modelStats(const PrunedModel& model) {
    ModelStats m;
    for (const LayerPruning& lp : model.layers) {
        LayerStats s = layerStats(lp.layer, lp.projection);
        s.scheme = lp.how == LayerPruning::How::Dense ? "dense" : lp.scheme;
        s.reason = lp.reason;
        addTotals(m, s);
        m.layers.push_back(std::move(s));
    }
    m.modelMacs = totalMacs(model.graph);
    m.keptModelMacs = m.modelMacs - (m.macs - m.keptMacs);
    return m;
}

ModelStats modelStats(const Graph& graph) {
    ModelStats m;
    for (const Layer& layer : prunableLayers(graph)) {
        auto w = layerWeights(graph, layer);
        if (!w.ok()) continue;  // non-float weights: nothing a scheme could have pruned
        LayerProjection p;
        p.mask = Tensor(DataType::UInt8, w->weights.shape());
        const float* src = w->weights.data<float>();
        uint8_t* dst = p.mask.data<uint8_t>();
        for (int64_t i = 0; i < p.mask.elements(); ++i) dst[i] = src[i] != 0.0f;
        LayerStats s = layerStats(layer, p);
        // A trained model has a few weights at exactly zero (fp16 conversions: Real-ESRGAN's
        // layers 0.1-1%): called "pruned", an untouched model read as pruned at 99.9%. More
        // than 1% zeros is a model pruned elsewhere.
        s.scheme = s.weights - s.kept <= s.weights / 100 ? "dense" : "pruned";
        addTotals(m, s);
        m.layers.push_back(std::move(s));
    }
    m.modelMacs = totalMacs(graph);
    m.keptModelMacs = m.modelMacs - (m.macs - m.keptMacs);
    return m;
}

namespace {

std::string human(int64_t n) {
    char buf[32];
    if (n >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.2fG", static_cast<double>(n) / 1e9);
    else if (n >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.2fM", static_cast<double>(n) / 1e6);
    else if (n >= 1'000)
        std::snprintf(buf, sizeof buf, "%.1fK", static_cast<double>(n) / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

}  // namespace

std::string formatStats(const ModelStats& stats) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%4s  %-32s %-15s %8s %9s %9s %9s %9s %9s %8s %8s\n", "#",
                  "layer", "scheme", "density", "MACs", "kept MACs", "dense B", "csr32 B", "best B",
                  "best", "kernels-");
    out += line;
    for (size_t i = 0; i < stats.layers.size(); ++i) {
        const LayerStats& s = stats.layers[i];
        std::string name = s.name.size() > 32 ? "..." + s.name.substr(s.name.size() - 29) : s.name;
        std::snprintf(line, sizeof line,
                      "%4zu  %-32s %-15s %7.2f%% %9s %9s %9s %9s %9s %8s %8lld\n", i, name.c_str(),
                      s.scheme.c_str(), s.density * 100, human(s.macs).c_str(),
                      human(s.keptMacs).c_str(), human(s.bytes.denseFp32).c_str(),
                      human(s.bytes.csr32).c_str(), human(s.bytes.best()).c_str(),
                      s.bytes.bestFormat().c_str(), static_cast<long long>(s.kernelsRemoved));
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "\nweights %lld kept %lld (density %.2f%%), layer MACs %s -> %s, model MACs %s "
                  "-> %s, weight bytes dense %s, csr32 %s, best per layer %s, kernels removed "
                  "%lld of %lld\n",
                  static_cast<long long>(stats.weights), static_cast<long long>(stats.kept),
                  stats.density() * 100, human(stats.macs).c_str(), human(stats.keptMacs).c_str(),
                  human(stats.modelMacs).c_str(), human(stats.keptModelMacs).c_str(),
                  human(stats.denseBytes).c_str(), human(stats.csr32Bytes).c_str(),
                  human(stats.bestBytes).c_str(), static_cast<long long>(stats.kernelsRemoved),
                  static_cast<long long>(stats.kernels));
    out += line;
    return out;
}

std::string statsToJson(const ModelStats& stats) {
    using json = nlohmann::json;
    json layers = json::array();
    for (const LayerStats& s : stats.layers) {
        json l{{"name", s.name},
               {"scheme", s.scheme},
               {"weights", s.weights},
               {"kept", s.kept},
               {"macs", s.macs},
               {"keptMacs", s.keptMacs},
               {"kernels", s.kernels},
               {"kernelsRemoved", s.kernelsRemoved},
               {"denseBytes", s.bytes.denseFp32},
               {"csr32Bytes", s.bytes.csr32}};
        if (!s.reason.empty()) l["reason"] = s.reason;
        if (s.bytes.csr16) l["csr16Bytes"] = *s.bytes.csr16;
        if (s.bytes.patternFkw) l["patternFkwBytes"] = *s.bytes.patternFkw;
        if (s.bytes.tile) l["tileBytes"] = *s.bytes.tile;
        if (!s.patternHistogram.empty()) {
            json h = json::object();
            for (const auto& [p, n] : s.patternHistogram) h[std::to_string(p)] = n;
            l["patterns"] = std::move(h);
        }
        layers.push_back(std::move(l));
    }
    json j{{"weights", stats.weights},
           {"kept", stats.kept},
           {"macs", stats.macs},
           {"keptMacs", stats.keptMacs},
           {"modelMacs", stats.modelMacs},
           {"keptModelMacs", stats.keptModelMacs},
           {"kernels", stats.kernels},
           {"kernelsRemoved", stats.kernelsRemoved},
           {"denseBytes", stats.denseBytes},
           {"csr32Bytes", stats.csr32Bytes},
           {"bestBytes", stats.bestBytes},
           {"layers", std::move(layers)}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace prunelab::engine::prune

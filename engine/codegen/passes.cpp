// The sparse compiler's passes: analyse, choose, pack, reorder, the verifier run between them,
// the pipeline that records each step, and the dumps the compiler view shows.
//
// Sections: helpers | analyse | choose | pack | reorder | verify | pipeline | dumps
#include "engine/codegen/passes.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <sstream>

#include "engine/codegen/pack.h"
#include "engine/ir/layer_view.h"
#include "engine/ops/conv.h"

namespace prunelab::engine::codegen {

// ---------------------------------------------------------------- helpers

namespace {

std::string layerWhere(const LayerCode& layer) {
    return "layer " + std::to_string(layer.index) + " '" + layer.name + "'";
}

std::string fixed(double value, int digits = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, value);
    return buf;
}

std::string macsText(int64_t macs) {
    const double m = static_cast<double>(macs);
    if (m >= 1e9) return fixed(m / 1e9, 2) + " G";
    if (m >= 1e6) return fixed(m / 1e6, 2) + " M";
    if (m >= 1e3) return fixed(m / 1e3, 2) + " k";
    return std::to_string(macs);
}

// The layer's weights as [O][I/g][kh][kw] float32, whatever view layerWeights() returned.
Result<Tensor> layerTensor(const Graph& graph, const Layer& layer) {
    PL_TRY_ASSIGN(prune::LayerWeights lw, prune::layerWeights(graph, layer));
    if (lw.weights.rank() == 4) return lw.weights;
    return lw.weights.reshaped({layer.outChannels, layer.inPerGroup, layer.kh, layer.kw});
}

int64_t countNonzeros(const Tensor& weights) {
    int64_t n = 0;
    for (float w : weights.span<float>()) n += w != 0.0f;
    return n;
}

// ---------------------------------------------------------------- analyse

// The conv view, bias and MAC counts shared by both entry points. Fills `input.keepDense` for
// layers the sparse kernels cannot run (the reason goes into the decision).
Status describeLayer(const Graph& graph, const Layer& layer, LayerCode& code, LayerInput& input) {
    const Node& node = graph.nodes[static_cast<size_t>(layer.node)];
    code.node = layer.node;
    code.name = layer.name;
    code.denseMacs = layer.macs;
    if (layer.op == OpKind::Conv) {
        const Shape& x = graph.value(node.inputs[0]).shape;
        const Shape& w = graph.value(node.inputs[1]).shape;
        auto params = convParams(node, x, w);
        if (!params.ok()) return params.error().within(layerWhere(code));
        code.conv = *params;
    } else {
        // Gemm / MatMul: Y[M][N] = X[M][K] W[K][N] is a 1x1 conv of N filters over M pixels.
        code.gemm = true;
        const int64_t outs = layer.outChannels;
        code.conv.batch = outs > 0 ? elementCount(layer.outputShape) / outs : 0;
        code.conv.inChannels = layer.inPerGroup;
        code.conv.outChannels = outs;
        code.conv.inH = code.conv.inW = code.conv.outH = code.conv.outW = 1;
        code.conv.kernelH = code.conv.kernelW = 1;
        if (layer.op == OpKind::Gemm) {
            if (node.attrs.getInt("transA", 0) != 0) input.keepDense = "Gemm with transA";
            if (node.attrs.getFloat("alpha", 1.0f) != 1.0f)
                input.keepDense = "Gemm with alpha != 1";
        }
    }
    PL_TRY_ASSIGN(input.weights, layerTensor(graph, layer));
    code.bias.assign(static_cast<size_t>(code.conv.outChannels), 0.0f);
    if (layer.bias != kNoValue) {
        const Value& b = graph.value(layer.bias);
        const float beta = layer.op == OpKind::Gemm ? node.attrs.getFloat("beta", 1.0f) : 1.0f;
        const int64_t n = b.isConstant() ? b.constant.elements() : -1;
        if (!b.isConstant() || b.constant.dtype() != DataType::Float32) {
            input.keepDense = "its bias is not a float32 constant";
        } else if (n == code.conv.outChannels || n == 1) {
            const float* v = b.constant.data<float>();
            for (int64_t o = 0; o < code.conv.outChannels; ++o) {
                code.bias[static_cast<size_t>(o)] = beta * v[n == 1 ? 0 : o];
            }
        } else {
            input.keepDense = "its bias has " + std::to_string(n) + " values, not one per output";
        }
    }
    return {};
}

// From a plain graph: masks of the nonzero kernels. A mask with fewer than 4 positions takes a
// 4-position pattern already in the set that covers it, else grows to 4 (centre first, then
// the cross, then the corners: PatDNN's patterns all keep the centre).
std::vector<prune::Pattern> derivePatterns(const Tensor& weights) {
    std::vector<prune::Pattern> full, partial;
    const float* w = weights.data<float>();
    const int64_t kernels = weights.elements() / 9;
    for (int64_t k = 0; k < kernels; ++k) {
        prune::Pattern mask = 0;
        for (int p = 0; p < 9; ++p) {
            if (w[k * 9 + p] != 0.0f) mask = static_cast<prune::Pattern>(mask | (1u << p));
        }
        if (mask == 0) continue;
        if (std::popcount(static_cast<unsigned>(mask)) > 4) return {};  // not a pattern layer
        auto& list = std::popcount(static_cast<unsigned>(mask)) == 4 ? full : partial;
        if (std::find(list.begin(), list.end(), mask) == list.end()) list.push_back(mask);
    }
    static constexpr int kGrowOrder[9] = {4, 1, 3, 5, 7, 0, 2, 6, 8};
    for (prune::Pattern mask : partial) {
        const bool covered = std::any_of(full.begin(), full.end(),
                                         [&](prune::Pattern p) { return (p & mask) == mask; });
        if (covered) continue;
        for (int p : kGrowOrder) {
            if (std::popcount(static_cast<unsigned>(mask)) == 4) break;
            mask = static_cast<prune::Pattern>(mask | (1u << p));
        }
        if (std::find(full.begin(), full.end(), mask) == full.end()) full.push_back(mask);
    }
    return full;
}

bool compiledOp(const Layer& layer) {
    return layer.op == OpKind::Conv || layer.op == OpKind::Gemm || layer.op == OpKind::MatMul;
}

}  // namespace

Result<Compilation> analyse(const prune::PrunedModel& pruned) {
    Compilation c;
    c.graph = pruned.graph;
    for (const prune::LayerPruning& lp : pruned.layers) {
        if (!compiledOp(lp.layer)) continue;
        LayerCode code;
        LayerInput input;
        code.index = static_cast<int>(c.model.layers.size());
        PL_TRY(describeLayer(c.graph, lp.layer, code, input));
        const int64_t total = input.weights.elements();
        int64_t kept = countNonzeros(input.weights);
        if (lp.how != prune::LayerPruning::How::Dense) {
            code.scheme = lp.scheme;
            // The scheme's mask counts a kept weight that happens to be 0 as kept.
            if (!lp.projection.mask.empty()) kept = prune::summarize(lp.projection).kept;
            input.structured = lp.scheme == "structured";
            input.patternSet = lp.projection.patternSet;
            input.kernelPattern = lp.projection.kernelPattern;
            input.tiles = lp.projection.tiles;
        } else if (input.keepDense.empty()) {
            input.keepDense = "the plan keeps it dense (" + lp.reason + ")";
        }
        code.density = total ? static_cast<double>(kept) / static_cast<double>(total) : 1.0;
        code.keptMacs = total ? code.denseMacs / total * kept : 0;
        c.model.layers.push_back(std::move(code));
        c.inputs.push_back(std::move(input));
    }
    return c;
}

Result<Compilation> analyse(const Graph& graph) {
    Compilation c;
    c.graph = graph;
    for (const Layer& layer : prunableLayers(graph)) {
        if (!compiledOp(layer)) continue;
        LayerCode code;
        LayerInput input;
        code.index = static_cast<int>(c.model.layers.size());
        PL_TRY(describeLayer(c.graph, layer, code, input));
        const int64_t total = input.weights.elements();
        const int64_t kept = countNonzeros(input.weights);
        code.density = total ? static_cast<double>(kept) / static_cast<double>(total) : 1.0;
        code.keptMacs = total ? code.denseMacs / total * kept : 0;
        if (kept < total) {
            const bool is3x3 = code.conv.kernelH == 3 && code.conv.kernelW == 3 && !code.gemm;
            if (is3x3) input.patternSet = derivePatterns(input.weights);
            code.scheme = !input.patternSet.empty() ? "pattern" : "non_structured";
        }
        c.model.layers.push_back(std::move(code));
        c.inputs.push_back(std::move(input));
    }
    return c;
}

// ---------------------------------------------------------------- choose

void choose(Compilation& compilation, const ChooseOptions& options) {
    for (size_t l = 0; l < compilation.model.layers.size(); ++l) {
        LayerCode& code = compilation.model.layers[l];
        const LayerInput& input = compilation.inputs[l];
        const std::string density = "density " + fixed(code.density);
        auto decide = [&](KernelKind kind, std::string why) {
            code.kind = kind;
            code.decision = std::move(why);
        };
        auto byThreshold = [&](KernelKind kind, double threshold, const std::string& what) {
            if (code.density <= threshold) {
                decide(kind, what + ", " + density + " <= threshold " + fixed(threshold, 2) + ": " +
                                 kernelKindName(kind) + " kernel");
            } else {
                decide(KernelKind::Dense, what + ", " + density + " > threshold " +
                                              fixed(threshold, 2) +
                                              ": dense, so pruning never makes a layer slower");
            }
        };
        if (!input.keepDense.empty()) {
            decide(KernelKind::Dense, "dense: " + input.keepDense);
        } else if (input.structured) {
            decide(KernelKind::Dense, "structured pruning: the shrunk model runs dense");
        } else if (code.scheme.empty()) {
            decide(KernelKind::Dense, "no weight is zero: dense");
        } else if (!input.patternSet.empty() && code.conv.kernelH == 3 && code.conv.kernelW == 3 &&
                   !code.gemm) {
            byThreshold(KernelKind::Pattern, options.patternMaxDensity,
                        std::to_string(input.patternSet.size()) + " patterns");
        } else if (input.tiles.tileWidth > 0) {
            byThreshold(KernelKind::TileWise, options.tileMaxDensity,
                        "tiles of width " + std::to_string(input.tiles.tileWidth));
        } else {
            byThreshold(KernelKind::Csr, options.csrMaxDensity,
                        "irregular zeros (" + code.scheme + ")");
        }
    }
}

// ---------------------------------------------------------------- pack

Status pack(Compilation& compilation) {
    for (size_t l = 0; l < compilation.model.layers.size(); ++l) {
        LayerCode& code = compilation.model.layers[l];
        const LayerInput& input = compilation.inputs[l];
        code.fkw = {};
        code.tiles = {};
        code.csr = {};
        switch (code.kind) {
            case KernelKind::Dense:
                break;
            case KernelKind::Pattern: {
                auto fkw = packFkw(input.weights, input.patternSet, input.kernelPattern);
                if (!fkw.ok()) return fkw.error().within(layerWhere(code));
                code.fkw = std::move(fkw).value();
                break;
            }
            case KernelKind::TileWise: {
                auto tiles = packTiles(input.weights, input.tiles);
                if (!tiles.ok()) return tiles.error().within(layerWhere(code));
                code.tiles = std::move(tiles).value();
                break;
            }
            case KernelKind::Csr:
                code.csr = packCsr(input.weights);
                break;
        }
    }
    return {};
}

// ---------------------------------------------------------------- reorder

// PatDNN's filter-kernel reordering. The kernels run filterBlock filters together and split
// filters among threads, so:
//  * filters are sorted by kernel count (most first): neighbours then do nearly the same
//    amount of work, so a register block's filters stay in step and threads that share out
//    the blocks of one such group get equal work (connectivity pruning leaves filters with
//    anywhere from 1 to 50 of 64 kernels: without this one thread can get several times more);
//  * among equal counts, by their sequence of pattern ids: neighbours then walk the same
//    patterns in the same order, so a block's inner loops are uniform (one code path);
//  * within a filter, kernels by (pattern id, input channel): each pattern is one contiguous
//    run, so generated code loops over a run instead of switching per kernel, and the input
//    channels of a run still go up, which keeps input reads sequential.
// Ties keep the output-channel order, so the result is deterministic.
void reorderFilters(FkwWeights& fkw) {
    const size_t filters = fkw.filterOrder.size();
    if (fkw.kernelStart.size() != filters + 1) return;  // malformed: verify() reports it
    struct Filter {
        int32_t output;
        std::vector<int32_t> kernels;  // indices into the old arrays, in the new order
        std::vector<uint8_t> sequence;
    };
    std::vector<Filter> list(filters);
    for (size_t f = 0; f < filters; ++f) {
        Filter& filter = list[f];
        filter.output = fkw.filterOrder[f];
        filter.kernels.resize(static_cast<size_t>(fkw.kernelStart[f + 1] - fkw.kernelStart[f]));
        std::iota(filter.kernels.begin(), filter.kernels.end(), fkw.kernelStart[f]);
        std::sort(filter.kernels.begin(), filter.kernels.end(), [&](int32_t a, int32_t b) {
            const auto ka = std::make_pair(fkw.patternId[static_cast<size_t>(a)],
                                           fkw.inputChannel[static_cast<size_t>(a)]);
            const auto kb = std::make_pair(fkw.patternId[static_cast<size_t>(b)],
                                           fkw.inputChannel[static_cast<size_t>(b)]);
            return ka < kb;
        });
        for (int32_t k : filter.kernels) {
            filter.sequence.push_back(fkw.patternId[static_cast<size_t>(k)]);
        }
    }
    std::stable_sort(list.begin(), list.end(), [](const Filter& a, const Filter& b) {
        if (a.kernels.size() != b.kernels.size()) return a.kernels.size() > b.kernels.size();
        if (a.sequence != b.sequence) return a.sequence < b.sequence;
        return a.output < b.output;
    });
    FkwWeights out;
    out.patterns = fkw.patterns;
    out.kernelStart.push_back(0);
    for (const Filter& filter : list) {
        out.filterOrder.push_back(filter.output);
        for (int32_t k : filter.kernels) {
            const size_t kk = static_cast<size_t>(k);
            out.inputChannel.push_back(fkw.inputChannel[kk]);
            out.patternId.push_back(fkw.patternId[kk]);
            out.weights.insert(out.weights.end(), fkw.weights.begin() + k * 4,
                               fkw.weights.begin() + k * 4 + 4);
        }
        out.kernelStart.push_back(static_cast<int32_t>(out.inputChannel.size()));
    }
    fkw = std::move(out);
}

void reorder(Compilation& compilation) {
    for (LayerCode& code : compilation.model.layers) {
        if (code.kind == KernelKind::Pattern) reorderFilters(code.fkw);
    }
}

// ---------------------------------------------------------------- verify

namespace {

Error corrupt(const LayerCode& layer, const std::string& problem) {
    return makeError(ErrorCode::Internal, problem, layerWhere(layer));
}

bool monotonic(const std::vector<int32_t>& starts, size_t count, int64_t last) {
    if (starts.size() != count + 1 || starts.front() != 0 || starts.back() != last) return false;
    for (size_t i = 0; i + 1 < starts.size(); ++i) {
        if (starts[i] > starts[i + 1]) return false;
    }
    return true;
}

Status verifyFkw(const LayerCode& layer, const Tensor& weights) {
    const FkwWeights& f = layer.fkw;
    const int64_t outs = layer.conv.outChannels, ins = layer.conv.inChannelsPerGroup();
    if (layer.conv.kernelH != 3 || layer.conv.kernelW != 3) {
        return corrupt(layer, "pattern kind on a " + std::to_string(layer.conv.kernelH) + "x" +
                                  std::to_string(layer.conv.kernelW) + " kernel");
    }
    for (size_t p = 0; p < f.patterns.size(); ++p) {
        if (std::popcount(static_cast<unsigned>(f.patterns[p])) != 4 || f.patterns[p] >= 512) {
            return corrupt(layer, "pattern " + std::to_string(p) + " does not keep 4 of 9");
        }
    }
    if (static_cast<int64_t>(f.filterOrder.size()) != outs) {
        return corrupt(layer, "filterOrder has " + std::to_string(f.filterOrder.size()) +
                                  " filters, the layer " + std::to_string(outs));
    }
    std::vector<uint8_t> seen(static_cast<size_t>(outs), 0);
    for (int32_t o : f.filterOrder) {
        if (o < 0 || o >= outs || seen[static_cast<size_t>(o)]) {
            return corrupt(layer,
                           "filterOrder is not a permutation (output " + std::to_string(o) + ")");
        }
        seen[static_cast<size_t>(o)] = 1;
    }
    const size_t kernels = f.inputChannel.size();
    if (f.patternId.size() != kernels || f.weights.size() != kernels * 4) {
        return corrupt(layer, "kernel arrays disagree: " + std::to_string(kernels) +
                                  " input channels, " + std::to_string(f.patternId.size()) +
                                  " pattern ids, " + std::to_string(f.weights.size()) + " weights");
    }
    if (!monotonic(f.kernelStart, f.filterOrder.size(), static_cast<int64_t>(kernels))) {
        return corrupt(layer, "kernelStart is not a monotonic 0.." + std::to_string(kernels) +
                                  " with one entry per filter + 1");
    }
    const float* w = weights.data<float>();
    for (size_t s = 0; s < f.filterOrder.size(); ++s) {
        const int64_t o = f.filterOrder[s];
        std::vector<uint8_t> used(static_cast<size_t>(ins), 0);
        for (int32_t k = f.kernelStart[s]; k < f.kernelStart[s + 1]; ++k) {
            const size_t kk = static_cast<size_t>(k);
            const int32_t i = f.inputChannel[kk];
            const std::string where = "stored kernel " + std::to_string(k) + " (filter " +
                                      std::to_string(o) + ", input " + std::to_string(i) + ")";
            if (i < 0 || i >= ins || used[static_cast<size_t>(i)]) {
                return corrupt(layer, where + ": input channel out of range or repeated");
            }
            used[static_cast<size_t>(i)] = 1;
            if (f.patternId[kk] >= f.patterns.size()) {
                return corrupt(layer, where + ": pattern id " + std::to_string(f.patternId[kk]) +
                                          " outside the set of " +
                                          std::to_string(f.patterns.size()));
            }
            const prune::Pattern pattern = f.patterns[f.patternId[kk]];
            for (int p = 0; p < 9; ++p) {
                if (w[(o * ins + i) * 9 + p] != 0.0f && !(pattern & (1u << p))) {
                    return corrupt(layer, where + ": the model's nonzero at position " +
                                              std::to_string(p) + " lies outside pattern " +
                                              patternPicture(pattern));
                }
            }
        }
    }
    return {};
}

Status verifyCsr(const LayerCode& layer) {
    const CsrWeights& s = layer.csr;
    const int64_t rows = layer.conv.outChannels;
    const int64_t cols = layer.conv.inChannelsPerGroup() * layer.conv.kernelH * layer.conv.kernelW;
    if (s.column.size() != s.values.size()) {
        return corrupt(layer, "CSR has " + std::to_string(s.column.size()) + " columns but " +
                                  std::to_string(s.values.size()) + " values");
    }
    if (!monotonic(s.rowStart, static_cast<size_t>(rows), static_cast<int64_t>(s.values.size()))) {
        return corrupt(layer, "CSR rowStart is not a monotonic 0..nnz with rows + 1 entries");
    }
    for (int64_t r = 0; r < rows; ++r) {
        for (int32_t k = s.rowStart[static_cast<size_t>(r)];
             k < s.rowStart[static_cast<size_t>(r) + 1]; ++k) {
            const int32_t c = s.column[static_cast<size_t>(k)];
            const bool increasing =
                k == s.rowStart[static_cast<size_t>(r)] || s.column[static_cast<size_t>(k) - 1] < c;
            if (c < 0 || c >= cols || !increasing) {
                return corrupt(layer, "CSR row " + std::to_string(r) + ": column " +
                                          std::to_string(c) + " out of range or not increasing");
            }
        }
    }
    return {};
}

Status verifyTiles(const LayerCode& layer) {
    const TileWeights& t = layer.tiles;
    const int64_t rows = layer.conv.outChannels;
    const int64_t cols = layer.conv.inChannelsPerGroup() * layer.conv.kernelH * layer.conv.kernelW;
    if (t.tileWidth <= 0) return corrupt(layer, "tile width is not positive");
    if (t.rows.size() != t.columns.size() || t.blockStart.size() != t.rows.size() + 1 ||
        t.blockStart.front() != 0 || t.blockStart.back() != static_cast<int64_t>(t.blocks.size())) {
        return corrupt(layer, "tile arrays disagree (rows, columns, blockStart, blocks)");
    }
    for (size_t i = 0; i < t.rows.size(); ++i) {
        const std::string where = "tile " + std::to_string(i);
        if (static_cast<int64_t>(t.columns[i].size()) > t.tileWidth) {
            return corrupt(layer, where + " is wider than the tile width");
        }
        const int64_t size = static_cast<int64_t>(t.rows[i].size() * t.columns[i].size());
        if (t.blockStart[i + 1] - t.blockStart[i] != size) {
            return corrupt(layer, where + ": block of " +
                                      std::to_string(t.blockStart[i + 1] - t.blockStart[i]) +
                                      " values for " + std::to_string(size) + " kept entries");
        }
        for (int32_t r : t.rows[i]) {
            if (r < 0 || r >= rows) return corrupt(layer, where + ": row out of range");
        }
        for (int32_t c : t.columns[i]) {
            if (c < 0 || c >= cols) return corrupt(layer, where + ": column out of range");
        }
    }
    return {};
}

// `packed` false: after choose, a layer has its kind but no storage yet; everything else holds.
Status verifyIr(const SparseModel& model, const Graph& graph, bool packed) {
    std::map<int, Layer> byNode;
    for (Layer& layer : prunableLayers(graph)) byNode.emplace(layer.node, std::move(layer));
    for (size_t l = 0; l < model.layers.size(); ++l) {
        const LayerCode& code = model.layers[l];
        if (code.index != static_cast<int>(l)) {
            return corrupt(
                code, "index " + std::to_string(code.index) + " at position " + std::to_string(l));
        }
        auto found = byNode.find(code.node);
        if (found == byNode.end()) {
            return corrupt(code, "node " + std::to_string(code.node) + " is no prunable layer");
        }
        const Layer& layer = found->second;
        const ConvParams& c = code.conv;
        if (c.outChannels != layer.outChannels || c.group <= 0 ||
            c.inChannelsPerGroup() != layer.inPerGroup || c.kernelH != layer.kh ||
            c.kernelW != layer.kw) {
            return corrupt(code, "conv view disagrees with the graph's weight shape");
        }
        if (static_cast<int64_t>(code.bias.size()) != c.outChannels) {
            return corrupt(code, "bias has " + std::to_string(code.bias.size()) + " values for " +
                                     std::to_string(c.outChannels) + " outputs");
        }
        if (code.density < 0 || code.density > 1 || code.keptMacs > code.denseMacs) {
            return corrupt(code, "density or kept MACs out of range");
        }
        if (code.kind == KernelKind::Dense) {
            if (!code.fkw.weights.empty() || !code.csr.values.empty() || !code.tiles.rows.empty()) {
                return corrupt(code, "a dense layer holds packed storage");
            }
            continue;
        }
        if (code.decision.empty()) return corrupt(code, "no decision recorded");
        if (!packed) continue;
        auto weights = layerTensor(graph, layer);
        if (!weights.ok()) return weights.error().within(layerWhere(code));
        switch (code.kind) {
            case KernelKind::Dense:
                break;
            case KernelKind::Pattern:
                PL_TRY(verifyFkw(code, *weights));
                break;
            case KernelKind::Csr:
                PL_TRY(verifyCsr(code));
                break;
            case KernelKind::TileWise:
                PL_TRY(verifyTiles(code));
                break;
        }
        const Tensor unpacked = unpackWeights(code);
        if (unpacked.shape() != weights->shape()) {
            return corrupt(code, "unpacks to " + shapeToString(unpacked.shape()) +
                                     ", the model holds " + shapeToString(weights->shape()));
        }
        const float* u = unpacked.data<float>();
        const float* w = weights->data<float>();
        for (int64_t e = 0; e < unpacked.elements(); ++e) {
            if (u[e] != w[e]) {
                return corrupt(code, std::string(kernelKindName(code.kind)) +
                                         " storage unpacks to " + std::to_string(u[e]) +
                                         " at weight " + std::to_string(e) + ", the model holds " +
                                         std::to_string(w[e]));
            }
        }
    }
    return {};
}

}  // namespace

Status verify(const SparseModel& model, const Graph& graph) {
    return verifyIr(model, graph, /*packed=*/true);
}

// ---------------------------------------------------------------- pipeline

namespace {

using Clock = std::chrono::steady_clock;

double millisecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Status record(Compilation& c, const std::string& pass, Clock::time_point start,
              const CompileOptions& options) {
    const double ms = millisecondsSince(start);
    if (options.verifyEachPass) {
        Status ok = verifyIr(c.model, c.graph, /*packed=*/pass != "choose");
        if (!ok.ok()) return ok.error().within("after pass '" + pass + "'");
    }
    c.model.passes.push_back(PassRecord{pass, dumpModel(c.model), ms});
    return {};
}

Result<SparseModel> runPipeline(Result<Compilation> analysed, Clock::time_point start,
                                const CompileOptions& options) {
    if (!analysed.ok()) return analysed.error();
    Compilation& c = analysed.value();
    PL_TRY(record(c, "analyse", start, options));

    start = Clock::now();
    choose(c, options.choose);
    PL_TRY(record(c, "choose", start, options));

    start = Clock::now();
    PL_TRY(pack(c));
    PL_TRY(record(c, "pack", start, options));

    start = Clock::now();
    reorder(c);
    PL_TRY(record(c, "reorder", start, options));
    return std::move(c.model);
}

}  // namespace

Result<SparseModel> compileLayers(const prune::PrunedModel& pruned, const CompileOptions& options) {
    const auto start = Clock::now();
    return runPipeline(analyse(pruned), start, options);
}

Result<SparseModel> compileLayers(const Graph& graph, const CompileOptions& options) {
    const auto start = Clock::now();
    return runPipeline(analyse(graph), start, options);
}

// ---------------------------------------------------------------- dumps

std::string patternPicture(prune::Pattern pattern) {
    std::string s;
    for (int y = 0; y < 3; ++y) {
        if (y) s += '/';
        for (int x = 0; x < 3; ++x) s += (pattern & (1u << (y * 3 + x))) ? 'x' : '.';
    }
    return s;
}

std::string dumpLayer(const LayerCode& layer) {
    const ConvParams& c = layer.conv;
    std::ostringstream s;
    s << layerWhere(layer) << " (node " << layer.node << "): ";
    if (layer.gemm) {
        s << "gemm " << c.batch << "x" << c.inChannels << " -> " << c.outChannels;
    } else {
        s << "conv " << c.inChannels << "->" << c.outChannels << " " << c.kernelH << "x"
          << c.kernelW << " stride " << c.strideH << " group " << c.group << ", out " << c.outH
          << "x" << c.outW;
    }
    s << ", scheme " << (layer.scheme.empty() ? "none" : layer.scheme) << "\n";
    s << "  kind " << kernelKindName(layer.kind) << ": "
      << (layer.decision.empty() ? "(not chosen yet)" : layer.decision) << "\n";
    s << "  density " << fixed(layer.density) << ", MACs " << macsText(layer.denseMacs)
      << " dense -> " << macsText(layer.keptMacs) << " kept\n";
    const FkwWeights& f = layer.fkw;
    if (!f.patterns.empty() || !f.kernelStart.empty()) {
        s << "  patterns (" << f.patterns.size() << "):";
        for (prune::Pattern p : f.patterns) s << " " << patternPicture(p);
        s << "\n";
        int64_t lo = INT64_MAX, hi = 0;
        for (size_t i = 0; i + 1 < f.kernelStart.size(); ++i) {
            const int64_t n = f.kernelStart[i + 1] - f.kernelStart[i];
            lo = std::min(lo, n);
            hi = std::max(hi, n);
        }
        const size_t filters = f.filterOrder.size();
        const bool natural = std::is_sorted(f.filterOrder.begin(), f.filterOrder.end());
        s << "  " << f.inputChannel.size() << " kernels (" << f.weights.size() << " weights) in "
          << filters << " filters, per filter min " << (filters ? lo : 0) << " mean "
          << fixed(filters
                       ? static_cast<double>(f.inputChannel.size()) / static_cast<double>(filters)
                       : 0,
                   1)
          << " max " << hi << "; filter order " << (natural ? "natural" : "reordered") << "\n";
    }
    if (!layer.tiles.rows.empty()) {
        int64_t rows = 0;
        for (const auto& r : layer.tiles.rows) rows += static_cast<int64_t>(r.size());
        s << "  " << layer.tiles.rows.size() << " tiles of width " << layer.tiles.tileWidth << ", "
          << rows << " kept row segments, " << layer.tiles.blocks.size() << " stored weights\n";
    }
    if (layer.kind == KernelKind::Csr) {
        s << "  csr: " << layer.csr.values.size() << " nonzeros in "
          << (layer.csr.rowStart.empty() ? 0 : layer.csr.rowStart.size() - 1) << " rows\n";
    }
    return s.str();
}

std::string dumpModel(const SparseModel& model) {
    std::string out;
    for (const LayerCode& layer : model.layers) out += dumpLayer(layer);
    return out;
}

}  // namespace prunelab::engine::codegen

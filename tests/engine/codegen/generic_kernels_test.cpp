// Differential tests of the generic sparse kernels (engine/runtime/cpu/sparse/generic_kernels.h):
// every storage (FKW, tiles, CSR) against the op registry's reference Conv / Gemm on random layers
// and on real pruned layers (Real-ESRGAN x2 with patdnn-8, BlazeFace 90% non-structured).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/codegen/pack.h"
#include "engine/ir/layer_view.h"
#include "engine/ops/op.h"
#include "engine/prune/plan.h"
#include "engine/runtime/cpu/sparse/generic_kernels.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/codegen/codegen_test_util.h"

namespace prunelab::engine::codegen {
namespace {

// ---- Layers ------------------------------------------------------------------------------

// A Gemm [M][K] x [K][N] as the IR holds it: a 1x1 conv on a 1x1 image of batch M.
ConvParams gemmParams(int64_t m, int64_t k, int64_t n) {
    ConvParams p;
    p.batch = m, p.inChannels = k, p.outChannels = n;
    p.inH = p.inW = p.outH = p.outW = p.kernelH = p.kernelW = 1;
    return p;
}

Tensor referenceGemm(const Tensor& x, const Tensor& w, const Tensor& b) {
    Node node;
    node.op = OpKind::Gemm;
    node.inputs = {0, 1, 2};
    node.outputs = {3};
    node.attrs.set("transB", int64_t(1));  // w is [N][K], the GEMM view's [out][in]
    const std::vector<const Tensor*> in = {&x, &w, &b};
    auto out = runReference(node, in);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? (*out)[0] : Tensor();
}

Tensor sparseWeights(const Shape& shape, double density, Rng& rng) {
    Tensor w(DataType::Float32, shape);
    for (float& v : w.span<float>()) v = rng.chance(density) ? rng.symmetric() : 0.0f;
    return w;
}

// Tile-wise weights of the GEMM view [rows][cols]: each column kept with probability
// `density`, the kept ones cut into tiles of `width`, each tile keeping each row with
// probability `density` (so the layer keeps about density^2).
Tensor tileWeights(const Shape& shape, int64_t rows, int64_t cols, int64_t width, double density,
                   Rng& rng, prune::TileStructure& tiles) {
    tiles = {};
    tiles.tileWidth = width;
    for (int64_t j = 0; j < cols; ++j) {
        if (rng.chance(density)) tiles.keptColumns.push_back(static_cast<int32_t>(j));
    }
    Tensor w(DataType::Float32, shape);
    float* d = w.data<float>();
    const auto kept = static_cast<int64_t>(tiles.keptColumns.size());
    for (int64_t first = 0; first < kept; first += width) {
        std::vector<int32_t> keptRows;
        for (int64_t r = 0; r < rows; ++r) {
            if (!rng.chance(density)) continue;
            keptRows.push_back(static_cast<int32_t>(r));
            for (int64_t j = first; j < std::min(kept, first + width); ++j) {
                d[r * cols + tiles.keptColumns[size_t(j)]] = rng.symmetric();
            }
        }
        tiles.keptRows.push_back(std::move(keptRows));
    }
    return w;
}

LayerCode layerOf(KernelKind kind, const ConvParams& c, bool gemm, const Tensor& bias) {
    LayerCode layer;
    layer.kind = kind;
    layer.conv = c;
    layer.gemm = gemm;
    layer.bias = bias.toFloatVector();
    return layer;
}

// ---- Checking ----------------------------------------------------------------------------

// Runs the layer whole, in random row pieces (on an output full of NaN, so a row no piece
// wrote shows), and through referenceSparseLayer, each against `expected`.
void checkLayer(const LayerCode& layer, const Tensor& x, const Tensor& expected,
                const Epilogue& epi, Rng& rng, const std::string& what) {
    const int64_t rows = layer.gemm ? layer.conv.batch : layer.conv.outH;
    Tensor whole(DataType::Float32, expected.shape());
    runSparseLayer(layer, x.data<float>(), whole.data<float>(), epi, 0, rows);
    expectClose(expected, whole, what + ", whole");

    Tensor pieces(DataType::Float32, expected.shape());
    std::fill(pieces.data<float>(), pieces.data<float>() + pieces.elements(),
              std::numeric_limits<float>::quiet_NaN());
    for (int64_t begin = 0; begin < rows;) {
        const int64_t end = std::min(rows, begin + 1 + rng.below(3));
        runSparseLayer(layer, x.data<float>(), pieces.data<float>(), epi, begin, end);
        begin = end;
    }
    expectClose(expected, pieces, what + ", in row pieces");

    Tensor plain(DataType::Float32, expected.shape());
    referenceSparseLayer(layer, x.data<float>(), plain.data<float>(), epi);
    expectClose(expected, plain, what + ", referenceSparseLayer");
}

// The layer checked with every epilogue, against `plainOut` (the reference output without one)
// with that epilogue applied.
void checkEveryEpilogue(const LayerCode& layer, const Tensor& x, const Tensor& plainOut,
                        int64_t plane, Rng& rng, const std::string& what) {
    ASSERT_FALSE(plainOut.empty()) << what;
    forEachEpilogue(plainOut, layer.conv.outChannels, plane, rng,
                    [&](const Epilogue& epi, const Tensor& expected, const std::string& name) {
                        checkLayer(layer, x, expected, epi, rng, what + ", epilogue " + name);
                    });
}

// A conv layer of `kind` stored from `w`, checked with every epilogue.
void checkConv(const LayerCode& layer, const Tensor& w, const Tensor& b, Rng& rng,
               const std::string& what) {
    const ConvParams& c = layer.conv;
    const Tensor x = randomTensor({c.batch, c.inChannels, c.inH, c.inW}, rng);
    checkEveryEpilogue(layer, x, referenceConv(c, x, w, b), c.outH * c.outW, rng, what);
}

void checkGemm(const LayerCode& layer, const Tensor& w, const Tensor& b, Rng& rng,
               const std::string& what) {
    const Tensor x = randomTensor({layer.conv.batch, layer.conv.inChannels}, rng);
    checkEveryEpilogue(layer, x, referenceGemm(x, w, b), 1, rng, what);
}

// 3x3 shapes (the pattern kernels' domain; CSR and tiles run them too).
const ConvShape k3x3Shapes[] = {
    // name, n, c, h, w, o, kh, kw, stride hw, pads tlbr, dilation hw, group
    {"1 channel, odd", 1, 1, 7, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"many channels", 1, 16, 9, 13, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"wide rows, batch 2", 2, 5, 4, 53, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"stride 2, odd", 2, 6, 11, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"stride 2, wide", 1, 3, 9, 67, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"no padding", 1, 4, 6, 8, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"asymmetric padding 2", 1, 3, 8, 7, 4, 3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 1},
    {"stride 1x2", 1, 3, 6, 9, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1},
    {"stride 3", 1, 2, 10, 11, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"dilation 2", 1, 3, 9, 10, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"groups", 1, 8, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"depthwise, stride 2", 1, 6, 10, 12, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6},
    {"1x1 image", 1, 4, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"image narrower than the kernel", 1, 2, 5, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    // 128 outputs x 530 columns: the pattern kernel cuts the rows into column chunks.
    {"rows wider than a chunk", 1, 2, 3, 530, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};

// Other kernel sizes, for CSR and tiles.
const ConvShape kOtherShapes[] = {
    {"1x1", 2, 7, 5, 9, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"1x1 wide, many channels", 1, 24, 3, 41, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"1x1 stride 2", 1, 5, 7, 9, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
    {"1x1 padded", 1, 3, 4, 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"1x1 groups", 1, 8, 4, 6, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 4},
    {"5x3", 1, 3, 9, 8, 4, 5, 3, 1, 1, 2, 1, 2, 1, 1, 1, 1},
    {"2x3 stride 2x1", 2, 2, 6, 5, 3, 2, 3, 2, 1, 0, 1, 1, 1, 1, 1, 1},
    {"dilation 2x3 stride 3x2", 1, 3, 9, 11, 2, 2, 3, 3, 2, 1, 0, 0, 2, 2, 3, 1},
    {"7x7 stride 2", 1, 3, 15, 13, 4, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
    // The tile kernel's blocking: 1x1 stride-1 unpadded layers run whole planes as one pixel
    // run, cut into chunks (many outputs make short chunks) with vector remainders; many kept
    // rows per tile make full row blocks plus remainders; im2col panels across output rows.
    {"1x1 many outputs, chunked plane", 2, 40, 9, 31, 300, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"1x1 groups, many rows", 1, 24, 5, 23, 60, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3},
    {"3x3 many outputs, chunked", 1, 6, 11, 37, 150, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 stride 2, many outputs", 1, 7, 13, 29, 70, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
};

const double kDensities[] = {0.0, 0.1, 0.5, 1.0};

std::string caseName(const char* shape, double density) {
    return std::string(shape) + ", density " + std::to_string(density);
}

TEST(GenericKernels, PatternMatchesReferenceConv) {
    Rng rng(11);
    for (const ConvShape& s : k3x3Shapes) {
        for (double density : kDensities) {
            const ConvParams c = paramsOf(s);
            const std::vector<prune::Pattern> patterns = randomPatterns(8, rng);
            std::vector<int32_t> kernelPattern;
            const Tensor w = patternWeights(c, patterns, density, rng, kernelPattern);
            const Tensor b = randomTensor({c.outChannels}, rng);
            LayerCode layer = layerOf(KernelKind::Pattern, c, false, b);
            auto fkw = packFkw(w, patterns, kernelPattern);
            ASSERT_TRUE(fkw.ok()) << fkw.error().toString();
            layer.fkw = std::move(*fkw);
            checkConv(layer, w, b, rng, caseName(s.name, density));
        }
    }
}

// Filters stored in another order, some channels with no stored filter at all, and every
// filter-block size: the kernels must follow filterOrder and still write every channel.
TEST(GenericKernels, PatternFollowsFilterOrderAndBlockSizes) {
    Rng rng(12);
    const ConvShape s = {"", 1, 6, 8, 19, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const ConvParams c = paramsOf(s);
    const std::vector<prune::Pattern> patterns = randomPatterns(4, rng);
    std::vector<int32_t> kernelPattern;
    const Tensor w = patternWeights(c, patterns, 0.6, rng, kernelPattern);
    const Tensor b = randomTensor({c.outChannels}, rng);
    auto packed = packFkw(w, patterns, kernelPattern);
    ASSERT_TRUE(packed.ok()) << packed.error().toString();
    // Reverse the filters, and drop filters 2 and 5 whose weights are then zeroed in `wCut`.
    FkwWeights fkw;
    fkw.patterns = packed->patterns;
    fkw.kernelStart = {0};
    Tensor wCut = w.clone();
    for (int32_t f = static_cast<int32_t>(packed->filterOrder.size()) - 1; f >= 0; --f) {
        const int32_t o = packed->filterOrder[size_t(f)];
        if (o == 2 || o == 5) {
            std::fill(wCut.data<float>() + o * 6 * 9, wCut.data<float>() + (o + 1) * 6 * 9, 0.0f);
            continue;
        }
        fkw.filterOrder.push_back(o);
        for (int32_t k = packed->kernelStart[size_t(f)]; k < packed->kernelStart[size_t(f) + 1];
             ++k) {
            fkw.inputChannel.push_back(packed->inputChannel[size_t(k)]);
            fkw.patternId.push_back(packed->patternId[size_t(k)]);
            for (int t = 0; t < 4; ++t) fkw.weights.push_back(packed->weights[size_t(k) * 4 + t]);
        }
        fkw.kernelStart.push_back(static_cast<int32_t>(fkw.inputChannel.size()));
    }
    for (int block = 1; block <= 5; ++block) {
        LayerCode layer = layerOf(KernelKind::Pattern, c, false, b);
        layer.fkw = fkw;
        layer.tuning.filterBlock = block;
        checkConv(layer, wCut, b, rng, "filter block " + std::to_string(block));
    }
}

// Group-structured connectivity (4 consecutive filters share input channels and patterns, the
// co-design PATTERN-KERNELS.md measured): the shared-load loops for 2, 3 and 4 filters run.
TEST(GenericKernels, PatternSharesInputsAcrossFilters) {
    Rng rng(13);
    const ConvShape s = {"", 2, 8, 7, 37, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const ConvParams c = paramsOf(s);
    const std::vector<prune::Pattern> patterns = randomPatterns(8, rng);
    std::vector<int32_t> kernelPattern(size_t(c.outChannels * c.inChannels), -1);
    for (int64_t o0 = 0; o0 < c.outChannels; o0 += 4) {
        for (int64_t i = 0; i < c.inChannels; ++i) {
            if (!rng.chance(0.5)) continue;
            const auto id = static_cast<int32_t>(rng.below(8));
            for (int64_t o = o0; o < std::min(o0 + 4, c.outChannels); ++o) {
                kernelPattern[size_t(o * c.inChannels + i)] = id;
            }
        }
    }
    Tensor w(DataType::Float32, {c.outChannels, c.inChannels, 3, 3});
    for (size_t k = 0; k < kernelPattern.size(); ++k) {
        if (kernelPattern[k] < 0) continue;
        for (int p = 0; p < 9; ++p) {
            if (patterns[size_t(kernelPattern[k])] >> p & 1) {
                w.data<float>()[k * 9 + size_t(p)] = rng.symmetric();
            }
        }
    }
    const Tensor b = randomTensor({c.outChannels}, rng);
    auto fkw = packFkw(w, patterns, kernelPattern);
    ASSERT_TRUE(fkw.ok()) << fkw.error().toString();
    for (int block : {2, 3, 4}) {
        LayerCode layer = layerOf(KernelKind::Pattern, c, false, b);
        layer.fkw = *fkw;
        layer.tuning.filterBlock = block;
        checkConv(layer, w, b, rng, "filter block " + std::to_string(block));
    }
}

TEST(GenericKernels, CsrMatchesReferenceConv) {
    Rng rng(21);
    std::vector<ConvShape> shapes(std::begin(k3x3Shapes), std::end(k3x3Shapes));
    shapes.insert(shapes.end(), std::begin(kOtherShapes), std::end(kOtherShapes));
    for (const ConvShape& s : shapes) {
        for (double density : kDensities) {
            const ConvParams c = paramsOf(s);
            const Tensor w = sparseWeights(
                {c.outChannels, c.inChannelsPerGroup(), c.kernelH, c.kernelW}, density, rng);
            const Tensor b = randomTensor({c.outChannels}, rng);
            LayerCode layer = layerOf(KernelKind::Csr, c, false, b);
            layer.csr = packCsr(w);
            checkConv(layer, w, b, rng, caseName(s.name, density));
        }
    }
}

TEST(GenericKernels, TilesMatchReferenceConv) {
    Rng rng(31);
    std::vector<ConvShape> shapes(std::begin(k3x3Shapes), std::end(k3x3Shapes));
    shapes.insert(shapes.end(), std::begin(kOtherShapes), std::end(kOtherShapes));
    for (const ConvShape& s : shapes) {
        for (double density : kDensities) {
            for (int64_t width : {4, 8}) {
                const ConvParams c = paramsOf(s);
                const int64_t cols = c.inChannelsPerGroup() * c.kernelH * c.kernelW;
                prune::TileStructure tiles;
                const Tensor w =
                    tileWeights({c.outChannels, c.inChannelsPerGroup(), c.kernelH, c.kernelW},
                                c.outChannels, cols, width, density, rng, tiles);
                const Tensor b = randomTensor({c.outChannels}, rng);
                LayerCode layer = layerOf(KernelKind::TileWise, c, false, b);
                auto packed = packTiles(w, tiles);
                ASSERT_TRUE(packed.ok()) << packed.error().toString();
                layer.tiles = std::move(*packed);
                checkConv(layer, w, b, rng,
                          caseName(s.name, density) + ", tile width " + std::to_string(width));
            }
        }
    }
}

struct GemmShape {
    int64_t m, k, n;
};
// M = 1 (one dot per kept row), M > 1 in one chunk of m (with vector remainders) and in several
// (300 x 200: chunks of m of the tile kernel's pixel-block multiple).
const GemmShape kGemmShapes[] = {{1, 1, 1},   {5, 37, 11},  {3, 64, 40},   {8, 9, 130},
                                 {1, 70, 45}, {37, 50, 70}, {300, 20, 200}};

TEST(GenericKernels, CsrAndTilesMatchReferenceGemm) {
    Rng rng(41);
    for (const GemmShape& s : kGemmShapes) {
        for (double density : kDensities) {
            const ConvParams c = gemmParams(s.m, s.k, s.n);
            const std::string what = "gemm " + std::to_string(s.m) + "x" + std::to_string(s.k) +
                                     "x" + std::to_string(s.n) + ", density " +
                                     std::to_string(density);
            const Tensor b = randomTensor({s.n}, rng);
            const Tensor w = sparseWeights({s.n, s.k}, density, rng);
            LayerCode csr = layerOf(KernelKind::Csr, c, true, b);
            csr.csr = packCsr(w);
            checkGemm(csr, w, b, rng, what + ", csr");

            prune::TileStructure tiles;
            const Tensor wt = tileWeights({s.n, s.k}, s.n, s.k, 8, density, rng, tiles);
            LayerCode tiled = layerOf(KernelKind::TileWise, c, true, b);
            auto packed = packTiles(wt, tiles);
            ASSERT_TRUE(packed.ok()) << packed.error().toString();
            tiled.tiles = std::move(*packed);
            checkGemm(tiled, wt, b, rng, what + ", tiles");
        }
    }
}

// ---- Real pruned layers ------------------------------------------------------------------

// The catalog model, or an empty optional with `skip` saying why (a missing asset only).
std::optional<Graph> loadModel(const std::string& id, int64_t height, int64_t width,
                               std::string& skip) {
    auto catalog = loadCatalog(plugins::defaultCatalogPath());
    EXPECT_TRUE(catalog.ok()) << catalog.error().toString();
    if (!catalog.ok()) return std::nullopt;
    const CatalogEntry* entry = catalog->find(id);
    EXPECT_NE(entry, nullptr) << id << " is not in the catalog";
    if (!entry) return std::nullopt;
    auto graph = plugins::loadCatalogModel(*entry, plugins::assetCacheDir(), height, width);
    if (!graph.ok()) {
        if (graph.error().code == ErrorCode::NotFound) {
            skip = graph.error().toString();
        } else {
            ADD_FAILURE() << graph.error().toString();
        }
        return std::nullopt;
    }
    return std::move(*graph);
}

// Every pruned Conv of `model` compiled as its scheme suggests (pattern: FKW, else CSR) and
// run on a random input of the layer's shape against the reference Conv on the pruned
// weights. Returns how many layers of each kind were checked.
std::pair<int, int> checkPrunedConvs(const prune::PrunedModel& model, Rng& rng) {
    int patternLayers = 0, csrLayers = 0;
    for (const prune::LayerPruning& lp : model.layers) {
        const Node& node = model.graph.nodes[size_t(lp.layer.node)];
        if (lp.how == prune::LayerPruning::How::Dense || node.op != OpKind::Conv) continue;
        const Tensor& w = model.graph.value(node.inputs[1]).constant;
        auto params = convParams(node, lp.layer.inputShape, w.shape());
        EXPECT_TRUE(params.ok()) << params.error().toString();
        if (!params.ok()) continue;
        const bool hasBias = node.inputs.size() > 2 && node.inputs[2] != kNoValue;
        const Tensor b = hasBias ? model.graph.value(node.inputs[2]).constant
                                 : Tensor(DataType::Float32, {params->outChannels});
        const bool pattern = lp.scheme == "pattern";
        LayerCode layer =
            layerOf(pattern ? KernelKind::Pattern : KernelKind::Csr, *params, false, b);
        if (pattern) {
            auto fkw = packFkw(lp.projection.weights, lp.projection.patternSet,
                               lp.projection.kernelPattern);
            EXPECT_TRUE(fkw.ok()) << fkw.error().toString();
            if (!fkw.ok()) continue;
            layer.fkw = std::move(*fkw);
        } else {
            layer.csr = packCsr(lp.projection.weights);
        }
        const Tensor x = randomTensor(lp.layer.inputShape, rng);
        Tensor expected = referenceConv(*params, x, w, b);
        if (expected.empty()) continue;
        // Alternate the epilogues the models use (ReLU-like after most convs, a fused Sum).
        Tensor residual;
        std::vector<float> slopes;
        const EpiCase e = (patternLayers + csrLayers) % 3 == 0   ? EpiCase::PRelu
                          : (patternLayers + csrLayers) % 3 == 1 ? EpiCase::Residual
                                                                 : EpiCase::Relu;
        const Epilogue epi =
            makeEpilogue(e, expected.shape(), params->outChannels, rng, residual, slopes);
        applyEpilogue(expected, epi, params->outChannels, params->outH * params->outW);
        checkLayer(layer, x, expected, epi, rng, lp.layer.name + " (" + lp.scheme + ")");
        ++(pattern ? patternLayers : csrLayers);
    }
    return {patternLayers, csrLayers};
}

TEST(GenericKernels, RealEsrganPatDnn8Layers) {
    std::string skip;
    const std::optional<Graph> graph = loadModel("zoom-x2", 40, 48, skip);
    if (!skip.empty()) GTEST_SKIP() << "Real-ESRGAN asset missing: " << skip;
    ASSERT_TRUE(graph.has_value());
    auto plan = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(plan.ok()) << plan.error().toString();
    auto pruned = prune::applyPlan(*graph, *plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    Rng rng(51);
    const auto [patternLayers, csrLayers] = checkPrunedConvs(*pruned, rng);
    // The 16 middle 3x3 convs take patterns; first and last stay dense.
    EXPECT_GE(patternLayers, 14);
    EXPECT_EQ(csrLayers, 0);
}

TEST(GenericKernels, BlazeFaceNonStructured90Layers) {
    std::string skip;
    const std::optional<Graph> graph = loadModel("face-front", 0, 0, skip);
    if (!skip.empty()) GTEST_SKIP() << "BlazeFace asset missing: " << skip;
    ASSERT_TRUE(graph.has_value());
    prune::PruningPlan plan;
    prune::ParamValues rate;
    rate.set("rate", 0.9);
    plan.defaultEntry = prune::PlanEntry::make("non_structured", rate);
    auto pruned = prune::applyPlan(*graph, plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    Rng rng(52);
    const auto [patternLayers, csrLayers] = checkPrunedConvs(*pruned, rng);
    EXPECT_EQ(patternLayers, 0);
    EXPECT_GE(csrLayers, 20);  // depthwise 3x3 / 5x5, 1x1 and strided convs
}

}  // namespace
}  // namespace prunelab::engine::codegen

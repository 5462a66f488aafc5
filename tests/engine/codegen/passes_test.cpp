// The sparse compiler's packing and passes: storages unpack to the exact weights, the real
// pattern and tile-wise schemes' layers pack, reordering balances filters, the verifier catches
// corrupted storage, choose explains itself, and Real-ESRGAN x2 compiles with patdnn-8.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <random>

#include "engine/codegen/pack.h"
#include "engine/codegen/passes.h"
#include "engine/ops/builder.h"
#include "engine/prune/plan.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::engine::codegen {
namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Normal(0, 1) weights with each weight kept with probability `density` (fixed seed).
Tensor randomWeights(Shape shape, double density, uint32_t seed) {
    Tensor t(DataType::Float32, std::move(shape));
    std::mt19937 rng(seed);
    std::normal_distribution<float> value(0.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    for (float& w : t.span<float>()) {
        const float v = value(rng);
        w = keep(rng) < density ? (v == 0.0f ? 1.0f : v) : 0.0f;
    }
    return t;
}

LayerCode layerFor(const Tensor& w, KernelKind kind) {
    LayerCode layer;
    layer.name = "test";
    layer.kind = kind;
    layer.conv.outChannels = w.dim(0);
    layer.conv.inChannels = w.dim(1);
    layer.conv.kernelH = w.dim(2);
    layer.conv.kernelW = w.dim(3);
    return layer;
}

void expectSameWeights(const Tensor& a, const Tensor& b) {
    ASSERT_EQ(a.shape(), b.shape());
    const float* x = a.data<float>();
    const float* y = b.data<float>();
    int64_t differ = 0;
    for (int64_t e = 0; e < a.elements(); ++e) differ += x[e] != y[e];
    EXPECT_EQ(differ, 0) << "of " << a.elements() << " weights";
}

const std::vector<Shape> kShapes = {{1, 1, 3, 3},   {7, 5, 3, 3}, {33, 17, 1, 1},
                                    {64, 64, 3, 3}, {5, 3, 5, 5}, {3, 1, 3, 3}};

TEST(PackCsr, RoundTripsRandomLayers) {
    uint32_t seed = 1;
    for (const Shape& shape : kShapes) {
        for (double density : {0.0, 0.1, 0.5, 1.0}) {
            SCOPED_TRACE(shapeToString(shape) + " density " + std::to_string(density));
            const Tensor w = randomWeights(shape, density, seed++);
            LayerCode layer = layerFor(w, KernelKind::Csr);
            layer.csr = packCsr(w);
            int64_t nnz = 0;
            for (float v : w.span<float>()) nnz += v != 0.0f;
            EXPECT_EQ(static_cast<int64_t>(layer.csr.values.size()), nnz);
            EXPECT_EQ(static_cast<int64_t>(layer.csr.rowStart.size()), shape[0] + 1);
            expectSameWeights(unpackWeights(layer), w);
        }
    }
}

// The 8 patterns (4 positions, centre kept) a random pattern layer draws from.
const std::vector<prune::Pattern> kPatterns = {0b000111010, 0b010110010, 0b010011010, 0b010111000,
                                               0b000110011, 0b000011110, 0b011110000, 0b110011000};

// A random pattern layer: each kernel kept with probability `density`, on a random pattern
// of kPatterns, with one weight of the pattern sometimes 0 (a kept weight that is zero).
Tensor randomPatternWeights(const Shape& shape, double density, uint32_t seed) {
    Tensor t(DataType::Float32, shape);
    std::mt19937 rng(seed);
    std::normal_distribution<float> value(0.0f, 1.0f);
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    std::uniform_int_distribution<size_t> pick(0, kPatterns.size() - 1);
    float* w = t.data<float>();
    for (int64_t k = 0; k < t.elements() / 9; ++k) {
        if (keep(rng) >= density) continue;
        const prune::Pattern p = kPatterns[pick(rng)];
        for (int i = 0; i < 9; ++i) {
            if (p & (1u << i)) w[k * 9 + i] = keep(rng) < 0.1 ? 0.0f : value(rng) + 3.0f;
        }
    }
    return t;
}

TEST(PackFkw, RoundTripsRandomPatternLayers) {
    uint32_t seed = 100;
    for (const Shape& shape : kShapes) {
        if (shape[2] != 3) continue;
        for (double density : {0.0, 0.1, 0.5, 1.0}) {
            SCOPED_TRACE(shapeToString(shape) + " density " + std::to_string(density));
            const Tensor w = randomPatternWeights(shape, density, seed++);
            auto fkw = packFkw(w, kPatterns);
            ASSERT_TRUE(fkw.ok()) << fkw.error().toString();
            LayerCode layer = layerFor(w, KernelKind::Pattern);
            layer.fkw = *fkw;
            EXPECT_EQ(fkw->kernelStart.size(), static_cast<size_t>(shape[0] + 1));
            EXPECT_EQ(fkw->weights.size(), fkw->inputChannel.size() * 4);
            expectSameWeights(unpackWeights(layer), w);
            if (density == 0.0) {
                EXPECT_TRUE(fkw->inputChannel.empty());
            }
        }
    }
}

TEST(PackFkw, RejectsKernelOutsideEveryPattern) {
    Tensor w(DataType::Float32, {2, 3, 3, 3});
    w.data<float>()[(1 * 3 + 2) * 9 + 0] = 1;  // corner + ...
    w.data<float>()[(1 * 3 + 2) * 9 + 8] = 1;  // ... opposite corner: in no pattern
    auto fkw = packFkw(w, kPatterns);
    ASSERT_FALSE(fkw.ok());
    EXPECT_TRUE(contains(fkw.error().message, "filter 1, input channel 2"))
        << fkw.error().toString();
    const prune::Pattern three = 0b000011010;  // 3 positions: kernels read exactly 4
    EXPECT_FALSE(packFkw(w, std::vector<prune::Pattern>{three}).ok());
}

TEST(PackTiles, RejectsNonzeroOutsideTiles) {
    const Tensor w = randomWeights({4, 2, 1, 1}, 1.0, 3);
    prune::TileStructure tiles;
    tiles.tileWidth = 16;
    tiles.keptColumns = {0, 1};
    tiles.keptRows = {{0, 2}};
    auto packed = packTiles(w, tiles);
    ASSERT_FALSE(packed.ok());
    EXPECT_TRUE(contains(packed.error().message, "row 1")) << packed.error().toString();
    tiles.keptRows = {{0, 1, 2, 3}};
    auto all = packTiles(w, tiles);
    ASSERT_TRUE(all.ok()) << all.error().toString();
    LayerCode layer = layerFor(w, KernelKind::TileWise);
    layer.tiles = *all;
    expectSameWeights(unpackWeights(layer), w);
}

// A per-channel affine folded into each storage: every weight of output channel o (and its
// bias) scaled by scale[o], then the shift added to the bias; nothing else moves.
TEST(ScaleOutputChannels, FoldsIntoEveryStorage) {
    const Tensor w = randomPatternWeights({6, 4, 3, 3}, 0.6, 77);
    std::vector<float> scale = {0.5f, -2, 1, 3, 0.25f, -1}, shift = {1, 2, 3, 4, 5, 6};
    Tensor expected = w.clone();
    for (int64_t e = 0; e < expected.elements(); ++e) {
        expected.data<float>()[e] *= scale[size_t(e / (4 * 9))];
    }
    prune::TileStructure tiles;
    tiles.tileWidth = 16;
    for (int32_t c = 0; c < 36; ++c) tiles.keptColumns.push_back(c);
    tiles.keptRows = {{0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}};
    for (KernelKind kind : {KernelKind::Pattern, KernelKind::TileWise, KernelKind::Csr}) {
        SCOPED_TRACE(kernelKindName(kind));
        LayerCode layer = layerFor(w, kind);
        if (kind == KernelKind::Pattern) {
            auto fkw = packFkw(w, kPatterns);
            ASSERT_TRUE(fkw.ok()) << fkw.error().toString();
            layer.fkw = *fkw;
            reorderFilters(layer.fkw);  // the fold must follow filterOrder, not storage order
        } else if (kind == KernelKind::TileWise) {
            auto packed = packTiles(w, tiles);
            ASSERT_TRUE(packed.ok()) << packed.error().toString();
            layer.tiles = *packed;
        } else {
            layer.csr = packCsr(w);
        }
        layer.bias = {1, 1, 1, 1, 1, 0};
        scaleOutputChannels(layer, scale, shift);
        expectSameWeights(unpackWeights(layer), expected);
        for (size_t o = 0; o < 6; ++o) {
            EXPECT_EQ(layer.bias[o], (o < 5 ? 1.0f : 0.0f) * scale[o] + shift[o]) << o;
        }
    }
}

// ---- real schemes through applyPlan ----

Graph smallNet(uint32_t seed = 7) {
    GraphBuilder b("codegen", seed);
    ValueId x = b.input("x", {1, 3, 12, 12});
    x = b.relu(b.conv(x, 16, 3));  // first
    x = b.relu(b.conv(x, 33, 3));  // odd channel count
    x = b.relu(b.conv(x, 32, 3, 1, 1));
    x = b.relu(b.conv(x, 32, 3, 1, 4));  // grouped
    x = b.relu(b.conv(x, 24, 1));        // 1x1: pattern falls back
    x = b.flatten(b.globalAveragePool(x));
    b.output(b.gemm(x, 10));  // last
    auto g = b.finish();
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return std::move(g).value();
}

prune::PruningPlan patternPlan(bool keepFirstLast) {
    prune::PruningPlan plan;
    prune::ParamValues p;
    p.set("patterns", int64_t{8});
    p.set("connectivity_rate", 0.5);
    plan.defaultEntry = prune::PlanEntry::make("pattern", p);
    plan.fallbackParams.set("rate", 0.85);
    plan.keepFirstLast = keepFirstLast;
    return plan;
}

prune::PrunedModel applied(const Graph& g, const prune::PruningPlan& plan) {
    auto pruned = prune::applyPlan(g, plan);
    EXPECT_TRUE(pruned.ok()) << pruned.error().toString();
    return std::move(pruned).value();
}

TEST(Compile, PatternPlanGivesPatternLayersThatUnpackExactly) {
    const prune::PrunedModel pruned = applied(smallNet(), patternPlan(true));
    auto model = compileLayers(pruned);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    ASSERT_EQ(model->layers.size(), 6u);
    EXPECT_EQ(model->layers[0].kind, KernelKind::Dense);
    EXPECT_TRUE(contains(model->layers[0].decision, "plan keeps it dense"))
        << model->layers[0].decision;
    for (int l = 1; l <= 3; ++l) {
        const LayerCode& layer = model->layers[static_cast<size_t>(l)];
        SCOPED_TRACE(dumpLayer(layer));
        EXPECT_EQ(layer.kind, KernelKind::Pattern);
        EXPECT_EQ(layer.scheme, "pattern");
        EXPECT_TRUE(contains(layer.decision, "<= threshold 0.50"));
        EXPECT_LT(layer.keptMacs, layer.denseMacs);
        const auto lw =
            prune::layerWeights(pruned.graph, pruned.layers[static_cast<size_t>(l)].layer);
        ASSERT_TRUE(lw.ok());
        expectSameWeights(unpackWeights(layer), lw->weights);
    }
    EXPECT_EQ(model->layers[3].conv.group, 4);
    // The 1x1 layer fell back to non_structured at 15% density: CSR.
    EXPECT_EQ(model->layers[4].kind, KernelKind::Csr) << model->layers[4].decision;
    EXPECT_TRUE(model->layers[5].gemm);
    // Every pass recorded, in order, with a dump of every layer.
    ASSERT_EQ(model->passes.size(), 4u);
    const char* names[] = {"analyse", "choose", "pack", "reorder"};
    for (size_t p = 0; p < 4; ++p) {
        EXPECT_EQ(model->passes[p].pass, names[p]);
        EXPECT_TRUE(contains(model->passes[p].dump, "layer 5"));
        EXPECT_GE(model->passes[p].milliseconds, 0.0);
    }
    EXPECT_TRUE(contains(model->passes[0].dump, "not chosen yet"));
    EXPECT_TRUE(contains(model->passes[3].dump, "reordered"));
    EXPECT_TRUE(verify(*model, pruned.graph).ok());
}

TEST(Compile, TileWisePlanGivesTileLayers) {
    prune::PruningPlan plan;
    prune::ParamValues p;
    p.set("rate", 0.75);
    p.set("tile_width", int64_t{16});
    plan.defaultEntry = prune::PlanEntry::make("tile_wise", p);
    plan.keepFirstLast = false;
    const prune::PrunedModel pruned = applied(smallNet(), plan);
    auto model = compileLayers(pruned);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    for (size_t l = 0; l < model->layers.size(); ++l) {
        const LayerCode& layer = model->layers[l];
        SCOPED_TRACE(dumpLayer(layer));
        EXPECT_EQ(layer.kind, KernelKind::TileWise);
        EXPECT_NEAR(layer.density, 0.25, 0.05);
        EXPECT_FALSE(layer.tiles.rows.empty());
        const auto lw = prune::layerWeights(pruned.graph, pruned.layers[l].layer);
        ASSERT_TRUE(lw.ok());
        expectSameWeights(unpackWeights(layer), lw->weights);
    }
}

// The same weights seen as a plain graph: 3x3 layers derive their pattern sets.
TEST(Compile, PlainGraphDerivesPatternsAndCsr) {
    const prune::PrunedModel pruned = applied(smallNet(), patternPlan(true));
    auto model = compileLayers(pruned.graph);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    EXPECT_EQ(model->layers[0].kind, KernelKind::Dense);
    EXPECT_TRUE(contains(model->layers[0].decision, "no weight is zero"));
    for (int l = 1; l <= 3; ++l) {
        const LayerCode& layer = model->layers[static_cast<size_t>(l)];
        EXPECT_EQ(layer.kind, KernelKind::Pattern) << dumpLayer(layer);
        for (prune::Pattern p : layer.fkw.patterns) {
            EXPECT_EQ(std::popcount(static_cast<unsigned>(p)), 4);
        }
    }
    EXPECT_EQ(model->layers[4].kind, KernelKind::Csr);

    // A kernel with 2 nonzeros grows to 4 positions, keeping the centre.
    GraphBuilder b("tiny", 1);
    ValueId x = b.input("x", {1, 2, 6, 6});
    b.output(b.conv(x, 3, 3));
    auto g = b.finish();
    ASSERT_TRUE(g.ok());
    for (Value& v : g->values) {
        if (!v.isConstant() || v.constant.rank() != 4) continue;
        v.constant = Tensor(DataType::Float32, v.constant.shape());
        v.constant.data<float>()[0] = 1.5f;   // (0, 0): position 0
        v.constant.data<float>()[2] = -2.0f;  // position 2
    }
    auto tiny = compileLayers(*g);
    ASSERT_TRUE(tiny.ok()) << tiny.error().toString();
    ASSERT_EQ(tiny->layers[0].kind, KernelKind::Pattern) << dumpLayer(tiny->layers[0]);
    ASSERT_EQ(tiny->layers[0].fkw.patterns.size(), 1u);
    EXPECT_EQ(patternPicture(tiny->layers[0].fkw.patterns[0]), "xxx/.x./...");
    EXPECT_TRUE(contains(dumpLayer(tiny->layers[0]), "xxx/.x./..."));
}

TEST(Choose, ThresholdsAndReasons) {
    const prune::PrunedModel pruned = applied(smallNet(), patternPlan(false));
    CompileOptions strict;
    strict.choose.patternMaxDensity = 0.05;
    strict.choose.csrMaxDensity = 0.9;
    auto model = compileLayers(pruned, strict);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    const LayerCode& pat = model->layers[1];
    EXPECT_EQ(pat.kind, KernelKind::Dense);
    EXPECT_TRUE(contains(pat.decision, "> threshold 0.05")) << pat.decision;
    EXPECT_TRUE(contains(pat.decision, "never makes a layer slower")) << pat.decision;
    EXPECT_TRUE(contains(pat.decision, "density " + std::to_string(pat.density).substr(0, 5)))
        << pat.decision;
    EXPECT_TRUE(pat.fkw.weights.empty());
    EXPECT_EQ(model->layers[4].kind, KernelKind::Csr);
    EXPECT_TRUE(contains(model->layers[4].decision, "<= threshold 0.90"))
        << model->layers[4].decision;

    // Non-structured at 50% is above the default CSR threshold 0.3: dense.
    prune::PruningPlan half;
    prune::ParamValues r;
    r.set("rate", 0.5);
    half.defaultEntry = prune::PlanEntry::make("non_structured", r);
    half.keepFirstLast = false;
    auto dense = compileLayers(applied(smallNet(), half));
    ASSERT_TRUE(dense.ok()) << dense.error().toString();
    for (const LayerCode& layer : dense->layers) {
        EXPECT_EQ(layer.kind, KernelKind::Dense) << layer.decision;
        EXPECT_TRUE(contains(layer.decision, "> threshold 0.30")) << layer.decision;
    }
}

TEST(Choose, StructuredLayersStayDense) {
    prune::PruningPlan plan;
    prune::ParamValues r;
    r.set("rate", 0.5);
    plan.defaultEntry = prune::PlanEntry::make("structured", r);
    auto pruned = prune::applyPlan(smallNet(), plan);
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto model = compileLayers(*pruned);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    int structured = 0;
    for (const LayerCode& layer : model->layers) {
        EXPECT_EQ(layer.kind, KernelKind::Dense);
        structured += contains(layer.decision, "shrunk model runs dense");
    }
    EXPECT_GT(structured, 0);
}

// ---- reordering ----

int64_t blockSpread(const FkwWeights& f, size_t block) {
    int64_t spread = 0;
    for (size_t s = 0; s < f.filterOrder.size(); s += block) {
        int64_t lo = INT64_MAX, hi = 0;
        for (size_t i = s; i < std::min(s + block, f.filterOrder.size()); ++i) {
            const int64_t n = f.kernelStart[i + 1] - f.kernelStart[i];
            lo = std::min(lo, n);
            hi = std::max(hi, n);
        }
        spread += hi - lo;
    }
    return spread;
}

TEST(Reorder, KeepsWeightsAndBalancesKernelCounts) {
    const Tensor w = randomPatternWeights({48, 20, 3, 3}, 0.4, 77);
    auto fkw = packFkw(w, kPatterns);
    ASSERT_TRUE(fkw.ok());
    LayerCode layer = layerFor(w, KernelKind::Pattern);
    layer.fkw = *fkw;
    const int64_t before = blockSpread(layer.fkw, 4);
    reorderFilters(layer.fkw);
    expectSameWeights(unpackWeights(layer), w);
    const FkwWeights& f = layer.fkw;
    EXPECT_LT(blockSpread(f, 4), before);
    EXPECT_FALSE(std::is_sorted(f.filterOrder.begin(), f.filterOrder.end()));
    for (size_t s = 0; s + 1 < f.filterOrder.size(); ++s) {
        EXPECT_GE(f.kernelStart[s + 1] - f.kernelStart[s],
                  f.kernelStart[s + 2] - f.kernelStart[s + 1])
            << "filters are not sorted by kernel count at " << s;
    }
    for (size_t s = 0; s < f.filterOrder.size(); ++s) {
        for (int32_t k = f.kernelStart[s] + 1; k < f.kernelStart[s + 1]; ++k) {
            const size_t a = static_cast<size_t>(k) - 1, b = static_cast<size_t>(k);
            EXPECT_LT(std::make_pair(f.patternId[a], f.inputChannel[a]),
                      std::make_pair(f.patternId[b], f.inputChannel[b]))
                << "kernels of filter " << s << " not sorted by (pattern, input)";
        }
    }
    // Reordering is deterministic and idempotent.
    FkwWeights again = f;
    reorderFilters(again);
    EXPECT_EQ(again.filterOrder, f.filterOrder);
    EXPECT_EQ(again.weights, f.weights);
}

// ---- the verifier ----

TEST(Verify, CatchesCorruptedStorage) {
    const prune::PrunedModel pruned = applied(smallNet(), patternPlan(false));
    auto compiled = compileLayers(pruned);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    const SparseModel good = *compiled;
    ASSERT_TRUE(verify(good, pruned.graph).ok());
    const size_t pat = 1, csr = 4;
    ASSERT_EQ(good.layers[pat].kind, KernelKind::Pattern);
    ASSERT_EQ(good.layers[csr].kind, KernelKind::Csr);
    const std::string name = "'" + good.layers[pat].name + "'";

    auto expectError = [&](const SparseModel& bad, const std::string& what,
                           const std::string& layerName) {
        Status s = verify(bad, pruned.graph);
        ASSERT_FALSE(s.ok()) << what;
        EXPECT_TRUE(contains(s.error().toString(), layerName)) << s.error().toString();
        EXPECT_TRUE(contains(s.error().toString(), what)) << s.error().toString();
    };
    {
        SparseModel bad = good;  // another pattern of the set: nonzeros fall outside it
        uint8_t& id = bad.layers[pat].fkw.patternId[0];
        id = static_cast<uint8_t>((id + 1) % bad.layers[pat].fkw.patterns.size());
        expectError(bad, "outside pattern", name);
    }
    {
        SparseModel bad = good;
        bad.layers[pat].fkw.patternId[3] =
            static_cast<uint8_t>(bad.layers[pat].fkw.patterns.size());
        expectError(bad, "pattern id", name);
    }
    {
        SparseModel bad = good;
        std::vector<int32_t>& starts = bad.layers[pat].fkw.kernelStart;
        std::swap(starts[1], starts[2]);
        if (starts[1] == starts[2]) starts[1] += 1;
        expectError(bad, "kernelStart", name);
    }
    {
        SparseModel bad = good;
        std::swap(bad.layers[pat].fkw.filterOrder[0], bad.layers[pat].fkw.filterOrder[1]);
        bad.layers[pat].fkw.filterOrder[0] = bad.layers[pat].fkw.filterOrder[1];
        expectError(bad, "permutation", name);
    }
    {
        SparseModel bad = good;  // well formed, wrong value
        bad.layers[pat].fkw.weights[5] += 1.0f;
        expectError(bad, "unpacks to", name);
    }
    {
        SparseModel bad = good;
        bad.layers[csr].csr.column.back() = 1 << 20;
        expectError(bad, "column", "'" + good.layers[csr].name + "'");
    }
    {
        SparseModel bad = good;
        bad.layers[csr].csr.values.pop_back();
        expectError(bad, "CSR has", "'" + good.layers[csr].name + "'");
    }
}

// ---- a real model ----

TEST(Compile, RealEsrganX2WithPatdnn8) {
    const std::string dir = std::string(PRUNELAB_CACHE_DIR) + "/models/realesrgan/";
    if (!std::filesystem::exists(dir + "realesr-animevideov3-x2.param")) {
        GTEST_SKIP() << "asset missing: " << dir
                     << "realesr-animevideov3-x2.param (run ./prunelab setup)";
    }
    auto catalog = loadCatalog(plugins::defaultCatalogPath());
    ASSERT_TRUE(catalog.ok()) << catalog.error().toString();
    const CatalogEntry* entry = catalog->find("zoom-x2");
    ASSERT_NE(entry, nullptr);
    auto graph = plugins::loadCatalogModel(*entry, PRUNELAB_CACHE_DIR, 32, 32);
    ASSERT_TRUE(graph.ok()) << graph.error().toString();
    auto plan = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(plan.ok()) << plan.error().toString();
    const prune::PrunedModel pruned = applied(*graph, *plan);
    auto model = compileLayers(pruned);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    ASSERT_GE(model->layers.size(), 10u);
    for (size_t l = 0; l < model->layers.size(); ++l) {
        const LayerCode& layer = model->layers[l];
        SCOPED_TRACE(dumpLayer(layer));
        const auto lw = prune::layerWeights(pruned.graph, pruned.layers[l].layer);
        ASSERT_TRUE(lw.ok());
        if (l == 0 || l + 1 == model->layers.size()) {
            EXPECT_EQ(layer.kind, KernelKind::Dense);
            continue;
        }
        EXPECT_EQ(layer.conv.kernelH, 3);
        EXPECT_EQ(layer.kind, KernelKind::Pattern);
        EXPECT_TRUE(contains(layer.decision, "8 patterns, density")) << layer.decision;
        EXPECT_LE(layer.fkw.patterns.size(), 8u);
        EXPECT_LT(layer.density, 0.2);
        expectSameWeights(unpackWeights(layer), lw->weights);
    }
    EXPECT_TRUE(verify(*model, pruned.graph).ok());
}

}  // namespace
}  // namespace prunelab::engine::codegen

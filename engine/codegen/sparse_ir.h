// The compiler's layer-wise IR: for each conv / GEMM layer of a pruned model, the sparsity the
// scheme left (patterns, kept kernels, tiles, CSR), the storage the kernels read (FKW, packed
// tiles, CSR), the order filters run in, the tuning parameters, and the decision and its reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/ops/conv.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::codegen {

// How a layer is executed. Dense: the runtime's dense kernel (also a structured plan's shrunk
// layers, and any layer where sparsity would not pay: see LayerCode::decision).
enum class KernelKind : uint8_t { Dense, Pattern, TileWise, Csr };
const char* kernelKindName(KernelKind kind);  // "dense", "pattern", "tile-wise", "csr"

// PatDNN's filter-kernel-weight (FKW) storage of a 3x3 pattern layer. Filters appear in run
// order (`filterOrder`, after filter-kernel reordering); each filter's kernels are a slice of
// the per-kernel arrays; each kernel is an input channel, a pattern id and exactly 4 weights in
// increasing position order (position p = y * 3 + x; a kept weight that is 0 is stored as 0).
// Kernels removed by connectivity pruning are simply absent.
struct FkwWeights {
    std::vector<prune::Pattern> patterns;  // the pattern set (4 bits of 9 each)
    std::vector<int32_t> filterOrder;      // stored filter f computes output channel filterOrder[f]
    std::vector<int32_t> kernelStart;      // filters + 1 entries: filter f's kernels are
                                           // [kernelStart[f], kernelStart[f + 1])
    std::vector<int32_t> inputChannel;     // per kernel, within the group
    std::vector<uint8_t> patternId;        // per kernel, index into `patterns`
    std::vector<float> weights;            // 4 per kernel
};

// Compressed sparse rows of the GEMM view [out][in/g * kh * kw]: row o's kept weights are
// values[rowStart[o] .. rowStart[o + 1]) at columns column[...] (column = (i * kh + y) * kw + x).
struct CsrWeights {
    std::vector<int32_t> rowStart;
    std::vector<int32_t> column;
    std::vector<float> values;
};

// Tile-wise storage of the GEMM view: columns cut into tiles of `tileWidth`; tile t keeps the
// rows rows[t] and the columns columns[t] (the globally kept columns that fall in the tile), and
// stores that dense block row-major in `blocks` from blockStart[t].
struct TileWeights {
    int64_t tileWidth = 0;
    std::vector<std::vector<int32_t>> rows;
    std::vector<std::vector<int32_t>> columns;
    std::vector<int64_t> blockStart;  // tiles + 1 entries
    std::vector<float> blocks;
};

// Block sizes and unrolling a kernel is generated or run with, and where they came from.
struct Tuning {
    int filterBlock = 4;  // output channels computed together (register blocking)
    int pixelBlock = 16;  // output pixels per inner iteration (one AVX-512 vector of floats)
    int unroll = 1;       // inner-loop unroll factor
    int rows = 0;         // output rows per inner iteration (0: derived from filterBlock)
    std::string source = "default";  // "default", "tuned", "cache"
    double measuredMs = 0;           // the tuned kernel's time, when measured
};

struct LayerCode {
    int node = -1;       // index in the graph's nodes
    std::string name;    // the node's name, for reports only: never put into code
    int index = 0;       // position among the compiled layers: generated code's names
    std::string scheme;  // the scheme that pruned it ("pattern", ...; "" when dense)
    ConvParams conv;     // a Gemm/MatMul layer is a 1x1 conv on a 1x1 image of batch M
    bool gemm = false;   // the layer is a Gemm / MatMul (conv holds its view)
    int64_t denseMacs = 0, keptMacs = 0;
    double density = 1;  // kept weights / all weights
    KernelKind kind = KernelKind::Dense;
    std::string decision;     // why this kind ("density 0.62 >= threshold 0.45: dense")
    FkwWeights fkw;           // kind Pattern
    TileWeights tiles;        // kind TileWise
    CsrWeights csr;           // kind Csr
    std::vector<float> bias;  // outChannels values (zeros when the layer has none)
    Tuning tuning;
};

// What each named pass of the pipeline left, for the GUI's compiler view and for tests.
struct PassRecord {
    std::string pass;  // "analyse", "choose", "pack", "reorder", "tune", "emit"
    std::string dump;  // human-readable state of every layer after it
    double milliseconds = 0;
};

// What the measured decision timed on a backend (runtime/cpu/sparse/measure.h): medians of
// profiled runs, typed, so views and lessons read numbers and never parse a pass's text.
struct MeasuredLayer {
    int index = -1;  // LayerCode::index
    double sparseMs = 0, denseMs = 0;
    bool kept = false;  // stayed sparse after the per-layer step
};
struct Measurement {
    std::string backend;  // "cpu"
    int threads = 0, runs = 0;
    std::vector<MeasuredLayer> layers;  // the layers that were sparse before the measure
    // The whole model with the layers kept sparse against all dense; timed only when some
    // layer stayed sparse after the per-layer step (else both 0).
    double wholeSparseMs = 0, wholeDenseMs = 0;
    bool wholeKept = false;
};

struct SparseModel {
    std::vector<LayerCode> layers;  // the graph's conv / GEMM layers in node order
    std::vector<PassRecord> passes;
    std::optional<Measurement> measured;  // set by the measured decision
};

}  // namespace prunelab::engine::codegen

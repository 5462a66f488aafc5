// The sparse compiler's pipeline as named steps (analyse -> choose -> pack -> reorder), each
// one readable on its own, the IR verified after each and its result recorded as a PassRecord
// so the GUI's compiler view and the tests can see every step. Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"

namespace prunelab::engine::codegen {

// Density thresholds (kept weights / all weights) at or below which a sparse kernel is chosen;
// above them the layer runs dense, so pruning never makes a layer slower. The defaults are
// estimates; the runtime replaces them by thresholds it measured on the machine.
struct ChooseOptions {
    double patternMaxDensity = 0.5;
    double tileMaxDensity = 0.6;
    double csrMaxDensity = 0.3;
};

struct CompileOptions {
    ChooseOptions choose;
    bool verifyEachPass = true;  // verify() after every pass (cheap next to packing)
};

// What a pass needs besides the IR: the scheme's own record of each layer (its pattern choice
// and tiles), which the IR does not keep once packed. `inputs` runs parallel to model.layers.
struct LayerInput {
    Tensor weights;  // float32 [O][I/g][kh][kw] (Gemm/MatMul: [O][K][1][1]), zeros in place
    std::vector<prune::Pattern> patternSet;  // pattern (or derived pattern) candidates
    std::vector<int32_t> kernelPattern;      // the scheme's choice per kernel; empty = derive
    prune::TileStructure tiles;              // tile-wise layers only
    bool structured = false;                 // a structured plan's layer: runs dense, shrunk
    std::string keepDense;                   // when set, why no sparse kernel can run it
};

struct Compilation {
    Graph graph;  // the weights the storage must reproduce (copies share tensor storage)
    SparseModel model;
    std::vector<LayerInput> inputs;
};

// ---- the passes, in pipeline order ----

// Fills LayerCode (node, name, index, conv view, MACs, density, bias, scheme) for every Conv
// (grouped or not; ConvTranspose is left to the dense runtime) and Gemm/MatMul with a constant
// weight. From a pruned model: its schemes, pattern sets and tiles. From a plain graph with
// zeros in its weights: a 3x3 layer whose nonzero kernels each have <= 4 nonzeros becomes a
// pattern candidate, any other layer a CSR candidate.
Result<Compilation> analyse(const prune::PrunedModel& pruned);
Result<Compilation> analyse(const Graph& graph);

// Picks each layer's KernelKind and writes the decision with its reason in words and numbers.
void choose(Compilation& compilation, const ChooseOptions& options = {});

// Fills fkw / tiles / csr for the chosen kind. Errors name the layer.
Status pack(Compilation& compilation);

// PatDNN's filter-kernel reordering of every Pattern layer (see reorderFilters()).
void reorder(Compilation& compilation);
// One layer's reordering: filters sorted by kernel count, then by pattern sequence; kernels
// within a filter by (pattern id, input channel). Unpacking gives the same weights.
void reorderFilters(FkwWeights& fkw);

// Every non-dense layer's storage is well formed and unpacks to the graph's weights exactly.
// Errors name the layer and the problem.
Status verify(const SparseModel& model, const Graph& graph);

// analyse -> choose -> pack -> reorder, verified after each, each recorded in model.passes.
// Tuning is left at its defaults (tuning and emission are later passes).
Result<SparseModel> compileLayers(const prune::PrunedModel& pruned,
                                  const CompileOptions& options = {});
Result<SparseModel> compileLayers(const Graph& graph, const CompileOptions& options = {});

// One readable paragraph per layer: kind, decision, density, MACs, patterns as 3x3 pictures,
// kernels per filter, tiles, nonzeros.
std::string dumpLayer(const LayerCode& layer);
std::string dumpModel(const SparseModel& model);  // every layer's paragraph

// "x.x/.x./..." : a pattern's kept positions, row by row.
std::string patternPicture(prune::Pattern pattern);

}  // namespace prunelab::engine::codegen

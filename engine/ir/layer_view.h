// The layer view: the prunable layers of a Graph (Conv, ConvTranspose, Gemm, MatMul with a
// constant weight), each with its weight seen as [out][in/groups][kh][kw] (or [out][in]),
// its MACs and the nodes around it. Pruning schemes, the GUI and the compiler all read it.
#pragma once

#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace prunelab::engine {

struct Layer {
    int node = -1;  // index into graph.nodes
    std::string name;
    OpKind op{};
    ValueId weight = kNoValue;
    ValueId bias = kNoValue;
    // The weight as [outChannels][inPerGroup][kh][kw]; Gemm/MatMul have kh = kw = 1.
    int64_t outChannels = 0, inPerGroup = 0, kh = 1, kw = 1, groups = 1;
    Shape inputShape, outputShape;
    int64_t params = 0;              // weight + bias elements
    int64_t macs = 0;                // multiply-accumulates of one run at the bound input size
    std::vector<int> before, after;  // producer / consumer node indices

    // Flat index into the weight tensor of element (o, i, y, x) in the [out][in/g][kh][kw]
    // view, whatever the stored order (ConvTranspose stores [in][out/g], MatMul [in][out],
    // Gemm [in][out] unless transB).
    int64_t weightIndex(int64_t o, int64_t i, int64_t y = 0, int64_t x = 0) const;

    // How the weight is stored; set by prunableLayers().
    enum class Storage { OIHW, IOHW, InOut, OutIn } storage = Storage::OIHW;
};

std::vector<Layer> prunableLayers(const Graph& graph);

// MACs of every node (0 for nodes that do no multiply-accumulate work worth counting),
// including MatMuls of two activations, which prunableLayers() leaves out.
int64_t totalMacs(const Graph& graph);

}  // namespace prunelab::engine

// Internal to the CPU runtime: the executable plan (slots, steps, buffer blocks) and the
// planning passes that build it from a Graph: fusion chains (fusion.cpp), layout choice,
// kernel choice and liveness-based buffer assignment (cpu_plan.cpp).
#pragma once

#include <string>
#include <vector>

#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

// One buffer the plan refers to: a value (or a converted copy of it) in one layout.
struct Slot {
    enum class Kind {
        Arena,     // a block of the executor's reusable memory (index = block)
        Input,     // the caller's input tensor (index = graph input), read-only
        Output,    // a fresh output tensor made per run (index = graph output)
        Constant,  // `constant`, owned by the plan
        Alias,     // the same bytes as slot `index` (a reshape, a free layout change)
    };
    Kind kind = Kind::Arena;
    int index = -1;
    DataType dtype = DataType::Undefined;
    Shape shape;
    Layout layout = Layout::Plain;
    size_t bytes = 0;
    Tensor constant;
    int lastUse = -1;  // last step reading it (or an alias of it); -1 = never read
};

struct Step {
    KernelPtr kernel;
    std::vector<int> in;        // slot ids; -1 for an absent optional input
    std::vector<int> out;       // slot ids
    std::string where;          // describeNode() of the node it runs, for error contexts
    bool layoutChange = false;  // a reorder the planner inserted between layouts
};

struct Plan {
    std::vector<Slot> slots;
    std::vector<Step> steps;
    std::vector<size_t> blockBytes;  // one reusable buffer per block
    std::vector<int> outputSlots;    // per graph output, its Output slot
    std::vector<KernelChoice> report;
    MemoryReport memory;
};

// `threads`: the pool size kernels are split for.
Result<Plan> buildPlan(const Graph& graph, const CpuOptions& options, const DenseEngine& engine,
                       int threads);

// ---- Fusion (fusion.cpp) ----

// One step of a chain after a conv / matmul: some nodes absorbed, and either a per-channel
// affine folded into the weights (only before any post-op) or post-ops appended.
struct ChainLink {
    std::vector<int> nodes;  // absorbed node indices
    ValueId out = kNoValue;  // the value this link produces
    bool fold = false;
    std::vector<float> scale, shift;  // fold: y = x * scale[c] + shift[c]
    std::vector<PostOp> postOps;      // !fold
    ValueId residual = kNoValue;      // a Sum post-op's operand
    std::string what;                 // "BatchNormalization folded", "relu", ...
};

// Follows the anchor's (Conv, ConvTranspose, Gemm, MatMul node `anchor`) output through
// single-consumer nodes it can absorb; `channels` output channels along `channelAxis`.
// Never crosses a graph output or a node already in `absorbed`.
std::vector<ChainLink> findChain(const Graph& graph, int anchor, int64_t channels,
                                 size_t channelAxis, bool allowSum,
                                 const std::vector<std::vector<int>>& consumers,
                                 const std::vector<bool>& absorbed);

}  // namespace prunelab::engine::cpu

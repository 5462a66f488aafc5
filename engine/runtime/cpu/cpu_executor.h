// The dense CPU runtime: plans a Graph once (kernel per node, buffers reused by liveness,
// conv+bias+activation fused where cheap) and runs it many times on a thread pool.
// An executor is not reentrant: one run() at a time; use one executor per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine::codegen {
struct SparseModel;
class CompiledModule;
}  // namespace prunelab::engine::codegen

namespace prunelab::engine::cpu {

struct CpuOptions {
    int threads = 0;             // 0 = std::thread::hardware_concurrency()
    bool referenceOnly = false;  // run every node with its plain reference kernel (for tests)
    // The compiler's layers (engine/codegen/passes.h, compiled from this same graph): each
    // non-dense one runs with its sparse kernel instead of the dense conv. Shared, read-only.
    std::shared_ptr<const codegen::SparseModel> sparse;
    // Generated kernels for some of those layers (codegen/jit.h, compiled from `sparse`): the
    // layers it holds run its code, the others the generic sparse kernels. Optional.
    std::shared_ptr<const codegen::CompiledModule> generated;
};

// How one node is executed, for "why isn't it faster?" reports.
struct KernelChoice {
    std::string node;    // describeNode() of the (first) node
    std::string kernel;  // e.g. "dnnl conv 3x3 +bias+relu", "reference", "fused into conv_3"
    std::string reason;  // why this kernel, especially when it is the reference fallback
};

// What the buffer plan costs, for tests and the "memory" view.
struct MemoryReport {
    size_t arenaBytes = 0;  // the reusable intermediate buffers, allocated once at create()
    size_t naiveBytes = 0;  // what one buffer per intermediate value would take
    int buffers = 0;        // reusable buffers in the arena
    int inPlaceSteps = 0;   // steps that write over an input that dies there
};

class CpuExecutor {
  public:
    // Copies what it needs from `graph`; the graph may be destroyed afterwards.
    static Result<std::unique_ptr<CpuExecutor>> create(const Graph& graph,
                                                       const CpuOptions& options = {});
    virtual ~CpuExecutor() = default;

    // Inputs in graph.inputs order with the declared dtype and shape (checked: a mismatch is
    // an InvalidArgument naming the input). Returns outputs in graph.outputs order; they are
    // fresh tensors the caller owns.
    virtual Result<std::vector<Tensor>> run(std::span<const Tensor> inputs) = 0;

    // Per-step wall times of the runs made while profiling is on (off by default: two clock
    // reads per step), for the "why isn't it faster?" view. Steps run in plan order; `where`
    // names the node (or the value a layout change converts), as in kernelReport().
    struct StepTime {
        std::string where;
        bool layoutChange = false;  // a reorder between Plain and Nhwc the planner inserted
        double ms = 0;
    };
    virtual void setProfiling(bool on) = 0;
    virtual std::vector<StepTime> lastStepTimes() const = 0;

    virtual int threads() const = 0;
    // One entry per graph node (nodes fused into a conv say so) plus one per inserted layout
    // reorder, in execution order.
    virtual std::vector<KernelChoice> kernelReport() const = 0;
    virtual MemoryReport memoryReport() const = 0;
};

}  // namespace prunelab::engine::cpu

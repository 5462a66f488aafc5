// The seam every runtime plugs into: a Backend (the CPU now; the Vulkan GPU and a tethered phone
// next) says what it is and what it can run, and prepares a graph, with the compiler's sparse
// layers, into an Executor. Backends are listed once, in backend_list.inc (backend_list.h).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine {

namespace codegen {
struct SparseModel;
}  // namespace codegen

struct CompileForOptions;   // compile.h
struct CompiledForBackend;  // compile.h

// Code a backend generated for some layers of one compiled model (the CPU's host-compiled C++;
// a GPU's shaders next): opaque to all but the backend that made it and runs it.
class GeneratedKernels {
  public:
    virtual ~GeneratedKernels() = default;
    virtual std::string_view backend() const = 0;  // the name of the backend that runs it
};

// How one node is executed, for "why isn't it faster?" reports.
struct KernelChoice {
    std::string node;    // describeNode() of the (first) node
    std::string kernel;  // e.g. "dnnl conv 3x3 +bias+relu", "reference", "fused into conv_3"
    std::string reason;  // why this kernel, especially when it is the reference fallback
};

// What the buffer plan costs, for tests and the "memory" view.
struct MemoryReport {
    size_t arenaBytes = 0;  // the reusable intermediate buffers, allocated once at prepare()
    size_t naiveBytes = 0;  // what one buffer per intermediate value would take
    int buffers = 0;        // reusable buffers in the arena
    int inPlaceSteps = 0;   // steps that write over an input that dies there
};

struct PrepareOptions {
    int threads = 0;             // 0 = one per core (a backend without threads ignores it)
    bool referenceOnly = false;  // run every node with its plain reference kernel (for tests)
    // The compiler's layers (engine/codegen/passes.h, compiled from this same graph): each
    // non-dense one runs with its sparse kernel instead of the dense conv. Shared, read-only.
    std::shared_ptr<const codegen::SparseModel> sparse;
    // Kernels this backend generated for some of those layers (compileFor, from `sparse`): the
    // layers it holds run its code, the others the backend's generic sparse kernels. Optional;
    // another backend's code is refused.
    std::shared_ptr<const GeneratedKernels> generated;
    // Store the values a run computes in 16-bit floats, arithmetic staying float32: half the
    // memory traffic, at an error the caller should measure (the GPU; prepare fails saying why
    // on a device without 16-bit storage, and backends without the option ignore it).
    bool halfStorage = false;
};

// A prepared graph. Not reentrant: one run() at a time; prepare one executor per thread.
class Executor {
  public:
    virtual ~Executor() = default;

    // Inputs in graph.inputs order with the declared dtype and shape (checked: a mismatch is
    // an InvalidArgument naming the input). Returns outputs in graph.outputs order; they are
    // fresh tensors the caller owns.
    virtual Result<std::vector<Tensor>> run(std::span<const Tensor> inputs) = 0;

    // Per-step wall times of the runs made while profiling is on (off by default: two clock
    // reads per step), for the "why isn't it faster?" view. Steps run in plan order; `where`
    // names the node (or the value a layout change converts), as in kernelReport().
    struct StepTime {
        std::string where;
        bool layoutChange = false;  // a layout change the planner inserted (e.g. NCHW <-> NHWC)
        double ms = 0;
    };
    virtual void setProfiling(bool on) = 0;
    virtual std::vector<StepTime> lastStepTimes() const = 0;

    // A backend that runs elsewhere (a phone): the last run's time on the device, by its own
    // clock, and the rest of the wall time (the link: sending, receiving, encoding). nullopt for
    // a backend on this computer, and before the first run.
    struct RunSplit {
        double deviceMs = 0;
        double linkMs = 0;
    };
    virtual std::optional<RunSplit> lastRunSplit() const { return std::nullopt; }

    virtual int threads() const = 0;
    // One entry per graph node (nodes fused into another say so) plus one per inserted layout
    // change, in execution order.
    virtual std::vector<KernelChoice> kernelReport() const = 0;
    virtual MemoryReport memoryReport() const = 0;
    // The code this backend generated per node, as text a person reads (a GPU's shaders):
    // (describeNode(), source) in execution order; empty when it generates none (the CPU's
    // generated C++ is per compiled layer: cpu/sparse/emit.h).
    virtual std::vector<std::pair<std::string, std::string>> kernelSources() const { return {}; }
};

// What a backend runs on, for `--backend`'s listing, the Live tab and bench headers.
struct BackendDescription {
    std::string device;                 // "AMD EPYC 7B13 (x86-64)"
    int threads = 0;                    // what prepare() would use for the threads asked
    std::vector<std::string> features;  // "avx2", "fma", "oneDNN 3.0", ...
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;  // what --backend takes: "cpu"
    // `--backend NAME:ARGUMENT` (phone:SERIAL, agent:HOST:PORT): this backend for that device,
    // kept for the life of the process. The default: this backend takes no argument.
    virtual Result<const Backend*> withArgument(std::string_view argument) const;
    virtual std::string_view title() const = 0;  // what a person sees: "CPU (this computer)"
    // Ok, or why this backend cannot run here (not built in, no device, no phone connected).
    virtual Status available() const = 0;
    virtual BackendDescription describe(int threads = 0) const = 0;
    // Why `node` of `graph` cannot run on this backend; nullopt when it can.
    virtual std::optional<std::string> unsupported(const Graph& graph, const Node& node) const = 0;
    // Copies what it needs from `graph`; the graph may be destroyed afterwards.
    virtual Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                                      const PrepareOptions& options = {}) const = 0;
    // compileFor's steps that are the backend's own (compile.h): tune, emit and build the
    // layers' code into out.generated, and the measured decision on this device, which may turn
    // layers of `model` dense. The default generates nothing and keeps the compiler's choices.
    virtual Status generateAndMeasure(const Graph& graph, codegen::SparseModel& model,
                                      const CompileForOptions& options,
                                      CompiledForBackend& out) const;
};

// Why no runtime can plan `v` yet: a dimension not bound (bind the model's sizes first); nullopt
// when every dimension is known. Every backend refuses these alike.
std::optional<std::string> unboundDimension(const Value& v);
// The same for the outputs of `node`: what Backend::unsupported says for it.
std::optional<std::string> unboundOutput(const Graph& graph, const Node& node);

// Runs `graph` on every sample of `batch` (each the inputs in graph.inputs order) with one
// executor of `backend` on `threads` threads; each sample's outputs. Sensitivity's runner.
Result<std::vector<std::vector<Tensor>>> runBatch(const Backend& backend, const Graph& graph,
                                                  std::span<const std::vector<Tensor>> batch,
                                                  int threads);

}  // namespace prunelab::engine

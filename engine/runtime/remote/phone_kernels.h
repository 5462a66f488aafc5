// The phone's generated kernels: a model's per-layer code cross-compiled on this computer and
// linked INTO a copy of the static agent (Android cannot dlopen from a static binary), cached by
// the hash of the model's kernels and the base agent. The agent runs a linked layer only when it
// regenerates the same source from the layer it is sent (app/agent/main.cpp).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/result.h"
#include "engine/runtime/backend.h"
#include "engine/runtime/cpu/sparse/emit.h"

namespace prunelab::engine::remote {

// The source a layer is linked into the agent from, and that the agent regenerates at LOAD to
// check it: emitLayerSource with the decision left out. The decision is a comment that the
// measured decision appends to after the code was built; the code itself does not change.
inline Result<std::string> linkedLayerSource(codegen::LayerCode layer) {
    layer.decision.clear();
    return cpu::emitLayerSource(layer);
}

struct PhoneKernelOptions {
    // The plain agent; its link kit is `<baseAgent>.link` beside it (the agent-only build records
    // it: app/agent/record-link.sh): the folder the link ran in, then its arguments, one a line.
    // The first argument is the target's compiler driver, which also compiles the layers.
    std::string baseAgent;
    std::string cacheDir;  // empty: <userCacheRoot()>/phone-agents
    int jobs = 0;          // compilers at once; 0 = hardware_concurrency()
    int timeoutSeconds = 600;
    // Checked between layers: a compile already running finishes first (~20 s at most here).
    const std::atomic<bool>* cancel = nullptr;
    // Told (done, total, built) once with done 0, then as each layer's object is ready (cached or
    // built), from the compiling threads one call at a time: Real-ESRGAN's first compile takes
    // about two minutes on 2 cores, and a demo should show "7 of 16 layers", not a silent wait.
    std::function<void(int done, int total, int built)> onProgress;
};

struct PhoneAgentBuild {
    std::string path;         // the custom agent, in the cache
    std::vector<int> layers;  // the layers linked in, ascending
    bool fromCache = false;   // the whole agent was there: no compiler or linker ran
    int compiled = 0;         // layers the compiler built now (the rest: cached objects)
    double seconds = 0;       // wall time of this call
};

// Emits each emittable non-dense layer (cpu::canEmitLayer), compiles each with the kit's
// compiler (-c -O2 -std=c++20, why in phone_kernels.cpp; up to `jobs` at once, each object cached
// by its source and the compiler), writes the table the agent looks up (pl_static_kernels: index,
// SHA-256 of the source, function) and relinks the agent with them as <cacheDir>/<base agent's file
// name>-<key>, key = SHA-256 over the base agent, its kit and every layer's index and source. A
// cache hit runs nothing. Errors: Unsupported when no layer can be generated, NotFound without the
// kit or its compiler, Internal with the tool's output when a compile or the link fails, Io for the
// cache, Cancelled.
Result<PhoneAgentBuild> buildPhoneAgent(const codegen::SparseModel& model,
                                        const PhoneKernelOptions& options);

// What a phone backend's compile hands its prepare(): the agent to push for this model.
class PhoneAgentKernels final : public GeneratedKernels {
  public:
    PhoneAgentKernels(std::string backend, PhoneAgentBuild build)
        : m_backend(std::move(backend)), m_build(std::move(build)) {}
    std::string_view backend() const override { return m_backend; }
    const std::string& agentPath() const { return m_build.path; }
    const std::vector<int>& layers() const { return m_build.layers; }
    const PhoneAgentBuild& build() const { return m_build; }

  private:
    std::string m_backend;
    PhoneAgentBuild m_build;
};

}  // namespace prunelab::engine::remote

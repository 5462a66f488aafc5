// The CPU's measured decision: engine::keepFasterKernels with the CPU backend by default.
#include "engine/runtime/cpu/sparse/measure.h"

#include "engine/runtime/cpu/cpu_backend.h"

namespace prunelab::engine::cpu {

Result<codegen::SparseModel> keepFasterKernels(const Graph& graph, codegen::SparseModel model,
                                               const MeasureOptions& options) {
    engine::MeasureOptions on = options;
    if (!on.backend) on.backend = &cpuBackend();
    return engine::keepFasterKernels(graph, std::move(model), on);
}

}  // namespace prunelab::engine::cpu

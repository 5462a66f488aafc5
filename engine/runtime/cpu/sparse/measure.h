// The measured decision on the CPU (the backend-neutral one is engine/runtime/measure.h): the
// names the CPU's callers use, with the CPU backend as the default place to measure.
#pragma once

#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/measure.h"

namespace prunelab::engine::cpu {

using engine::profileAlternating;
using engine::StepMedians;

// engine::MeasureOptions; its own type so that a call with it picks the overload below.
struct MeasureOptions : engine::MeasureOptions {};

// engine::keepFasterKernels on options.backend, or on the CPU backend when it is null.
Result<codegen::SparseModel> keepFasterKernels(const Graph& graph, codegen::SparseModel model,
                                               const MeasureOptions& options = {});

}  // namespace prunelab::engine::cpu

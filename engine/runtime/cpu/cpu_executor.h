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
#include "engine/runtime/backend.h"

namespace prunelab::engine::cpu {

// The CPU backend's options and reports are the backend seam's (engine/runtime/backend.h).
using CpuOptions = PrepareOptions;
using engine::KernelChoice;
using engine::MemoryReport;

// The CPU backend's executor (cpu_backend.h is how callers reach it).
class CpuExecutor : public Executor {
  public:
    // Copies what it needs from `graph`; the graph may be destroyed afterwards.
    static Result<std::unique_ptr<CpuExecutor>> create(const Graph& graph,
                                                       const CpuOptions& options = {});
};

}  // namespace prunelab::engine::cpu

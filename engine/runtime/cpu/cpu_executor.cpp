// CPU executor: placeholder until the runtime lands.
#include "engine/runtime/cpu/cpu_executor.h"

namespace prunelab::engine::cpu {

Result<std::unique_ptr<CpuExecutor>> CpuExecutor::create(const Graph&, const CpuOptions&) {
    return makeError(ErrorCode::Unsupported, "the CPU runtime is not implemented yet");
}

}  // namespace prunelab::engine::cpu

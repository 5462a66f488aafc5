// The CPU backend: this computer's cores, oneDNN for the dense layers and the compiler's sparse
// kernels (generic or generated) for the pruned ones. The first entry of backend_list.inc.
#pragma once

#include "engine/runtime/backend.h"

namespace prunelab::engine::cpu {

const Backend& cpuBackend();

}  // namespace prunelab::engine::cpu

// The GPU's kernels as GLSL text, generated per node with its sizes baked in as constants (what
// the Kernels view shows beside the CPU's C++). A node the GPU does not run yet gets the reason,
// and the executor runs it on the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace prunelab::engine::vulkan {

inline constexpr uint32_t kLocalSize = 64;  // invocations per workgroup, every shader

struct ShaderPlan {
    std::string glsl;
    std::string kernel;             // for the kernel report: "gpu conv 3x3 direct"
    std::vector<ValueId> bindings;  // storage buffers in binding order; the last is written
    std::vector<float> push;        // push constants (op parameters), in declaration order
    uint64_t invocations = 0;       // one per output element
};

// The shader for `node`, or nullopt with `why` saying why the GPU does not run it.
std::optional<ShaderPlan> planShader(const Graph& graph, const Node& node, std::string& why);

}  // namespace prunelab::engine::vulkan

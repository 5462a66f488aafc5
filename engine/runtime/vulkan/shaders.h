// The GPU's kernels as GLSL text, generated per node (or per fused chain of nodes) with its sizes
// baked in as constants: what the Kernels view shows beside the CPU's C++. A node the GPU does
// not run yet gets the reason, and the executor runs it on the CPU.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"

namespace prunelab::engine::vulkan {

inline constexpr uint32_t kLocalSize = 64;  // invocations per workgroup of the 1-D shaders
// Workgroups one dispatch dimension may count on every Vulkan device (the spec's minimum).
inline constexpr uint32_t kMaxGroups = 65535;

// One storage buffer of a shader: a graph value's buffer, or data the plan made for this node
// (a sparse layer's packed weights and indices), uploaded once at prepare.
struct ShaderBinding {
    ValueId value = kNoValue;
    std::shared_ptr<const std::vector<uint32_t>> data;  // when value is kNoValue: 32-bit words
};

struct ShaderPlan {
    std::string glsl;
    std::string kernel;                   // for the kernel report: "gpu conv 3x3 direct"
    std::vector<ShaderBinding> bindings;  // in binding order; the last is written, a graph value
    std::vector<float> push;              // push constants (op parameters), in declaration order
    std::array<uint32_t, 3> groups{1, 1, 1};  // workgroups dispatched
    // Later nodes this shader computes too (an activation, a residual add): they run no step of
    // their own, and only the last one's output (the written binding) is materialised.
    std::vector<size_t> fused;
};

// What a shader is planned from: the graph and, when the model was compiled, its layers (a
// non-dense one runs its sparse shader).
struct ShaderContext {
    const Graph& graph;
    const codegen::SparseModel* sparse = nullptr;
    // The compiled layer of node `node`, or null (not a layer, or no compiled model).
    const codegen::LayerCode* layer(size_t node) const;
};

// `glsl` (a plan's text) with the storage buffers of the bindings marked in `half` declared as
// float16_t instead of float: values stored in 16 bits (GL_EXT_shader_16bit_storage), read into
// float32 arithmetic and written through STORE. The device must have 16-bit storage buffers.
std::string withHalfStorage(const std::string& glsl, const std::vector<bool>& half);

// The shader for node `node`, or nullopt with `why` saying why the GPU does not run it.
std::optional<ShaderPlan> planShader(const ShaderContext& ctx, size_t node, std::string& why);

}  // namespace prunelab::engine::vulkan

// The compiled sparse layers' shaders: pattern (FKW), tile-wise and CSR, one generated per layer
// with its structure baked in, the GPU's counterpart of the CPU's generated C++.
#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

std::optional<ShaderPlan> planSparseShader(const ShaderContext&, size_t,
                                           const codegen::LayerCode& layer, std::string& why) {
    why = std::string("no GPU shader for ") + codegen::kernelKindName(layer.kind) + " layers yet";
    return std::nullopt;
}

}  // namespace prunelab::engine::vulkan

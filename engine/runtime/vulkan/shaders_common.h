// What the shader families share (shaders_conv.cpp, shaders_tensor.cpp, shaders_sparse.cpp):
// the GLSL head and buffer declarations, the dispatch of a 1-D shader, and the rules for fusing a
// node's consumer into its shader. Internal to the Vulkan backend.
#pragma once

#include <string>

#include "engine/runtime/vulkan/shaders.h"

namespace prunelab::engine::vulkan {

// The first lines of every shader: the GLSL version, and STORE(v), which every write to the
// written buffer `y` goes through: v as y's element type (float; float16_t once
// withHalfStorage has rewritten the shader).
extern const char* const kGlslPreamble;

// "#version 450", the workgroup size, `const uint TOTAL = invocations` and flatIndex(): the
// dispatch's 2-D workgroup grid flattened into one index (a large tensor needs more workgroups
// than one dimension allows). For shaders with one invocation per output element.
std::string head1d(uint64_t invocations);
// The workgroups that cover `invocations` with head1d's shader.
std::array<uint32_t, 3> groups1d(uint64_t invocations);

// `layout(std430, binding = N) readonly buffer BN { float name[]; };` (writeonly when !readOnly;
// `type` may be "uint", "int", "vec4"...).
std::string bufferDecl(int binding, const char* name, bool readOnly, const char* type = "float");

// A plan's graph-value binding.
inline ShaderBinding bindValue(ValueId id) {
    return {id, nullptr};
}

// Every input and output of `node` is float32 (what the shaders compute in); else `why`.
bool allFloat(const Graph& graph, const Node& node, std::string& why);

// The node that reads `value` when it is the only reader and `value` is not a graph output:
// a consumer a shader may fuse (its own output then replaces `value`). -1 otherwise.
int soleConsumer(const Graph& graph, ValueId value);
// True when `value` exists before node `node` runs (an input, a constant, or an earlier node's
// output): a fused residual add may read it in node's shader.
bool availableBefore(const Graph& graph, ValueId value, size_t node);

// The element-wise activation `op` as a GLSL expression of `v` (and push constants p.a, p.b in
// `push`), or nullopt when it is not one: what a conv or GEMM shader fuses as its epilogue.
std::optional<std::string> activationExpr(const Node& op, std::vector<float>& push);

// ---- The fused epilogue (shaders_epilogue.cpp) ----------------------------------------------
// A graph value a shader reads, under its GLSL name.
struct Bound {
    std::string name;
    ValueId value = kNoValue;
};

// What happens to an output element between its sum and its store, shared by the dense conv and
// GEMM shaders and the sparse layers' shaders: bias, then the chain of sole consumers that is an
// activation or PRelu, a residual Add, one more activation or PRelu.
struct Epilogue {
    std::vector<std::string> lines;  // GLSL statements on `v` (channel `c`, output index `i`)
    std::vector<Bound> reads;        // slopes and residuals the lines read
    std::vector<size_t> fused;       // the later nodes the lines compute
    std::string suffix;              // for the kernel name: "+bias+relu"
    ValueId out = kNoValue;          // the value the shader writes: the last fused node's output
};

// Follows `node`'s output through its sole consumers (see fuseEpilogue in the .cpp); `start`
// may already hold the bias. `channelAxis` is the output axis a per-channel PRelu slope runs
// along (-1: none).
Epilogue fuseEpilogue(const Graph& graph, size_t node, int channelAxis, Epilogue start = {});
// The epilogue as a GLSL function `float epilogue(float v, uint c, uint i)` of the sum `v`, its
// channel `c` and its output index `i`.
std::string epilogueFunction(const Epilogue& e);
// A float as GLSL text that reads back to the same float (infinities as their bits).
std::string floatLiteral(float f);
std::string replaceAll(std::string text, const std::string& from, const std::string& to);

// Families: each plans the nodes it knows and says why for the others.
std::optional<ShaderPlan> planConvShader(const ShaderContext& ctx, size_t node, std::string& why);
std::optional<ShaderPlan> planTensorShader(const ShaderContext& ctx, size_t node, std::string& why);
std::optional<ShaderPlan> planConvTransposeShader(const ShaderContext& ctx, size_t node,
                                                  std::string& why);
// A compiled non-dense layer (pattern, tile-wise, CSR) of `node`.
std::optional<ShaderPlan> planSparseShader(const ShaderContext& ctx, size_t node,
                                           const codegen::LayerCode& layer, std::string& why);

}  // namespace prunelab::engine::vulkan

// GLSL generation (see shaders.h): the helpers every family shares and the dispatch of a node to
// its family: conv and GEMM (shaders_conv.cpp), the compiled sparse layers (shaders_sparse.cpp),
// and every other op (shaders_tensor.cpp).
#include "engine/runtime/vulkan/shaders.h"

#include <algorithm>
#include <sstream>

#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

const char* const kGlslPreamble =
    "#version 450\n"
    "#define STORE(v) (v)  // v as an element of y (see withHalfStorage in shaders.h)\n";

std::string withHalfStorage(const std::string& glsl, const std::vector<bool>& half) {
    if (std::find(half.begin(), half.end(), true) == half.end()) return glsl;
    const std::string key = "layout(std430, binding = ";  // bufferDecl's lines
    std::string out;
    std::istringstream lines(glsl);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(key, 0) == 0) {
            const size_t binding = std::stoul(line.substr(key.size()));
            const size_t at = line.find("{ float ");
            if (binding < half.size() && half[binding] && at != std::string::npos) {
                line.replace(at, 8, "{ float16_t ");
            }
        } else if (line.rfind("#define STORE(v)", 0) == 0 && half.back()) {
            line = "#define STORE(v) float16_t(v)  // y holds 16-bit floats";
        }
        out += line;
        out += '\n';
        if (line == "#version 450") {
            out += "#extension GL_EXT_shader_16bit_storage : require\n";
            out += "#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require\n";
        }
    }
    return out;
}

std::string head1d(uint64_t invocations) {
    std::ostringstream s;
    s << kGlslPreamble << "layout(local_size_x = " << kLocalSize << ") in;\n"
      << "const uint TOTAL = " << invocations << "u;\n"
      << "uint flatIndex() {\n"
      << "    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * " << kLocalSize
      << "u + gl_LocalInvocationID.x;\n"
      << "}\n";
    return s.str();
}

std::array<uint32_t, 3> groups1d(uint64_t invocations) {
    const uint64_t groups = (invocations + kLocalSize - 1) / kLocalSize;
    const auto x = static_cast<uint32_t>(std::min<uint64_t>(groups, kMaxGroups));
    const auto y = static_cast<uint32_t>(x ? (groups + x - 1) / x : 0);
    return {x, y, 1};
}

std::string bufferDecl(int binding, const char* name, bool readOnly, const char* type) {
    return "layout(std430, binding = " + std::to_string(binding) + ") " +
           (readOnly ? "readonly" : "writeonly") + " buffer B" + std::to_string(binding) + " { " +
           type + " " + name + "[]; };\n";
}

bool allFloat(const Graph& graph, const Node& node, std::string& why) {
    for (ValueId id : node.inputs) {
        if (id != kNoValue && graph.value(id).dtype != DataType::Float32) {
            why = "input '" + graph.value(id).name + "' is not float32 (the GPU runs float32)";
            return false;
        }
    }
    for (ValueId id : node.outputs) {
        if (graph.value(id).dtype != DataType::Float32) {
            why = "output '" + graph.value(id).name + "' is not float32 (the GPU runs float32)";
            return false;
        }
    }
    return true;
}

int soleConsumer(const Graph& graph, ValueId value) {
    if (graph.isGraphOutput(value)) return -1;
    const std::vector<int> readers = graph.consumers(value);
    return readers.size() == 1 ? readers[0] : -1;
}

bool availableBefore(const Graph& graph, ValueId value, size_t node) {
    const int p = graph.producer(value);
    return p < 0 || static_cast<size_t>(p) < node;
}

const codegen::LayerCode* ShaderContext::layer(size_t node) const {
    if (!sparse) return nullptr;
    for (const codegen::LayerCode& l : sparse->layers) {
        if (l.node == static_cast<int>(node)) return &l;
    }
    return nullptr;
}

std::optional<ShaderPlan> planShader(const ShaderContext& ctx, size_t node, std::string& why) {
    const Node& n = ctx.graph.nodes[node];
    if (!allFloat(ctx.graph, n, why)) return std::nullopt;
    if (const codegen::LayerCode* layer = ctx.layer(node);
        layer && layer->kind != codegen::KernelKind::Dense) {
        // A sparse layer without its shader runs dense on the GPU, its zeros included: the
        // results are the same, and the report says why it is not faster.
        std::string sparseWhy;
        if (auto plan = planSparseShader(ctx, node, *layer, sparseWhy)) return plan;
        auto plan = planConvShader(ctx, node, why);
        if (plan) plan->kernel += " (dense: " + sparseWhy + ")";
        return plan;
    }
    switch (n.op) {
        case OpKind::Conv:
        case OpKind::Gemm:
        case OpKind::MatMul:
            return planConvShader(ctx, node, why);
        case OpKind::ConvTranspose:
            return planConvTransposeShader(ctx, node, why);
        default:
            return planTensorShader(ctx, node, why);
    }
}

}  // namespace prunelab::engine::vulkan

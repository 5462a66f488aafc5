// GLSL generation per node (see shaders.h). Plain loops, one invocation per output element:
// the first, readable GPU kernels; tiled and pattern-sparse ones build on the same frame.
#include "engine/runtime/vulkan/shaders.h"

#include <limits>
#include <sstream>

#include "engine/ops/conv.h"

namespace prunelab::engine::vulkan {

namespace {

// The common head: version, workgroup size, the 2-D dispatch flattened into one index (a large
// tensor needs more workgroups than one dimension allows), and the element count.
std::string head(uint64_t invocations) {
    std::ostringstream s;
    s << "#version 450\n"
      << "layout(local_size_x = " << kLocalSize << ") in;\n"
      << "const uint TOTAL = " << invocations << "u;\n"
      << "uint flatIndex() {\n"
      << "    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * " << kLocalSize
      << "u + gl_LocalInvocationID.x;\n"
      << "}\n";
    return s.str();
}

std::string buffer(int binding, const char* name, bool readOnly) {
    return "layout(std430, binding = " + std::to_string(binding) + ") " +
           (readOnly ? "readonly" : "writeonly") + " buffer B" + std::to_string(binding) +
           " { float " + name + "[]; };\n";
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

// y = f(x, p.a, p.b) per element.
std::optional<ShaderPlan> unary(const Graph& graph, const Node& node, const std::string& name,
                                const std::string& expr, float a = 0, float b = 0) {
    ShaderPlan plan;
    plan.invocations = static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    plan.bindings = {node.inputs[0], node.outputs[0]};
    plan.push = {a, b};
    plan.kernel = "gpu " + name;
    plan.glsl = head(plan.invocations) + buffer(0, "x", true) + buffer(1, "y", false) +
                "layout(push_constant) uniform Params { float a; float b; } p;\n"
                "void main() {\n"
                "    uint i = flatIndex();\n"
                "    if (i >= TOTAL) return;\n"
                "    float v = x[i];\n"
                "    y[i] = " +
                expr +
                ";\n"
                "}\n";
    return plan;
}

std::optional<ShaderPlan> binary(const Graph& graph, const Node& node, const std::string& name,
                                 const std::string& op, std::string& why) {
    const Shape& a = graph.value(node.inputs[0]).shape;
    const Shape& b = graph.value(node.inputs[1]).shape;
    if (a != b) {
        why = "broadcasting " + shapeToString(a) + " with " + shapeToString(b) +
              " runs on the CPU for now";
        return std::nullopt;
    }
    ShaderPlan plan;
    plan.invocations = static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    plan.bindings = {node.inputs[0], node.inputs[1], node.outputs[0]};
    plan.kernel = "gpu " + name;
    plan.glsl = head(plan.invocations) + buffer(0, "a", true) + buffer(1, "b", true) +
                buffer(2, "y", false) +
                "void main() {\n"
                "    uint i = flatIndex();\n"
                "    if (i >= TOTAL) return;\n"
                "    y[i] = a[i] " +
                op +
                " b[i];\n"
                "}\n";
    return plan;
}

// Direct convolution, one output element per invocation, every size a constant of the text.
std::optional<ShaderPlan> conv(const Graph& graph, const Node& node, std::string& why) {
    auto params =
        convParams(node, graph.value(node.inputs[0]).shape, graph.value(node.inputs[1]).shape);
    if (!params.ok()) {
        why = params.error().message;
        return std::nullopt;
    }
    const ConvParams& c = *params;
    const bool bias = node.inputs.size() > 2 && node.inputs[2] != kNoValue;
    ShaderPlan plan;
    plan.invocations = static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    plan.bindings = {node.inputs[0], node.inputs[1]};
    if (bias) plan.bindings.push_back(node.inputs[2]);
    plan.bindings.push_back(node.outputs[0]);
    plan.kernel = "gpu conv " + std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW) +
                  " direct" + (bias ? " +bias" : "");
    std::ostringstream s;
    s << head(plan.invocations) << buffer(0, "x", true) << buffer(1, "w", true);
    if (bias) s << buffer(2, "bias", true);
    s << buffer(bias ? 3 : 2, "y", false);
    s << "const uint IC = " << c.inChannels << "u, IH = " << c.inH << "u, IW = " << c.inW << "u;\n"
      << "const uint OC = " << c.outChannels << "u, OH = " << c.outH << "u, OW = " << c.outW
      << "u;\n"
      << "const uint KH = " << c.kernelH << "u, KW = " << c.kernelW << "u;\n"
      << "const uint SH = " << c.strideH << "u, SW = " << c.strideW << "u;\n"
      << "const int PT = " << c.padTop << ", PL = " << c.padLeft << ";\n"
      << "const uint DH = " << c.dilationH << "u, DW = " << c.dilationW << "u;\n"
      << "const uint ICG = " << c.inChannelsPerGroup() << "u, OCG = " << c.outChannelsPerGroup()
      << "u;\n"
      << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n"
      << "    uint ox = i % OW, t = i / OW;\n"
      << "    uint oy = t % OH; t /= OH;\n"
      << "    uint oc = t % OC, n = t / OC;\n"
      << "    uint g = oc / OCG;\n"
      << "    float acc = " << (bias ? "bias[oc]" : "0.0") << ";\n"
      << "    for (uint ci = 0u; ci < ICG; ++ci) {\n"
      << "        uint xc = ((n * IC + g * ICG + ci) * IH) * IW;\n"
      << "        uint wc = ((oc * ICG + ci) * KH) * KW;\n"
      << "        for (uint ky = 0u; ky < KH; ++ky) {\n"
      << "            int iy = int(oy * SH + ky * DH) - PT;\n"
      << "            if (iy < 0 || iy >= int(IH)) continue;\n"
      << "            for (uint kx = 0u; kx < KW; ++kx) {\n"
      << "                int ix = int(ox * SW + kx * DW) - PL;\n"
      << "                if (ix < 0 || ix >= int(IW)) continue;\n"
      << "                acc += x[xc + uint(iy) * IW + uint(ix)] * w[wc + ky * KW + kx];\n"
      << "            }\n"
      << "        }\n"
      << "    }\n"
      << "    y[i] = acc;\n"
      << "}\n";
    plan.glsl = s.str();
    return plan;
}

}  // namespace

std::optional<ShaderPlan> planShader(const Graph& graph, const Node& node, std::string& why) {
    if (!allFloat(graph, node, why)) return std::nullopt;
    const Attributes& at = node.attrs;
    switch (node.op) {
        case OpKind::Relu:
            return unary(graph, node, "relu", "max(v, 0.0)");
        case OpKind::Sigmoid:
            return unary(graph, node, "sigmoid", "1.0 / (1.0 + exp(-v))");
        case OpKind::Tanh:
            return unary(graph, node, "tanh", "tanh(v)");
        case OpKind::Exp:
            return unary(graph, node, "exp", "exp(v)");
        case OpKind::Sqrt:
            return unary(graph, node, "sqrt", "sqrt(v)");
        case OpKind::Identity:
            return unary(graph, node, "copy", "v");
        case OpKind::LeakyRelu:
            return unary(graph, node, "leaky relu", "v >= 0.0 ? v : p.a * v",
                         at.getFloat("alpha", 0.01f));
        case OpKind::Clip:
            // min(max(v, lo), hi): when lo > hi every element is hi, as on the CPU.
            return unary(graph, node, "clip", "min(max(v, p.a), p.b)",
                         at.getFloat("min", -std::numeric_limits<float>::infinity()),
                         at.getFloat("max", std::numeric_limits<float>::infinity()));
        case OpKind::HardSigmoid:
            return unary(graph, node, "hard sigmoid", "max(0.0, min(1.0, p.a * v + p.b))",
                         at.getFloat("alpha", 0.2f), at.getFloat("beta", 0.5f));
        case OpKind::HardSwish:
            return unary(graph, node, "hard swish", "v * max(0.0, min(1.0, v / 6.0 + 0.5))");
        case OpKind::Add:
            return binary(graph, node, "add", "+", why);
        case OpKind::Sub:
            return binary(graph, node, "sub", "-", why);
        case OpKind::Mul:
            return binary(graph, node, "mul", "*", why);
        case OpKind::Div:
            return binary(graph, node, "div", "/", why);
        case OpKind::Conv:
            return conv(graph, node, why);
        default:
            why = std::string(opName(node.op)) + " has no GPU shader yet";
            return std::nullopt;
    }
}

}  // namespace prunelab::engine::vulkan

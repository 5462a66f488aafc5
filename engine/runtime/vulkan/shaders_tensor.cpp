// Shaders of the ops around the convolutions: activations, element-wise arithmetic, and (next)
// pools, Resize, Concat, DepthToSpace and Softmax. One invocation per output element.
#include <limits>

#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

std::optional<std::string> activationExpr(const Node& op, std::vector<float>& push) {
    const Attributes& at = op.attrs;
    switch (op.op) {
        case OpKind::Relu:
            return "max(v, 0.0)";
        case OpKind::Sigmoid:
            return "1.0 / (1.0 + exp(-v))";
        case OpKind::Tanh:
            return "tanh(v)";
        case OpKind::LeakyRelu:
            push = {at.getFloat("alpha", 0.01f), 0};
            return "(v >= 0.0 ? v : p.a * v)";
        case OpKind::Clip:
            // min(max(v, lo), hi): when lo > hi every element is hi, as on the CPU.
            push = {at.getFloat("min", -std::numeric_limits<float>::infinity()),
                    at.getFloat("max", std::numeric_limits<float>::infinity())};
            return "min(max(v, p.a), p.b)";
        case OpKind::HardSigmoid:
            push = {at.getFloat("alpha", 0.2f), at.getFloat("beta", 0.5f)};
            return "max(0.0, min(1.0, p.a * v + p.b))";
        case OpKind::HardSwish:
            return "(v * max(0.0, min(1.0, v / 6.0 + 0.5)))";
        default:
            return std::nullopt;
    }
}

namespace {

// y = f(x, p.a, p.b) per element.
ShaderPlan unary(const Graph& graph, const Node& node, const std::string& name,
                 const std::string& expr, std::vector<float> push) {
    const auto invocations =
        static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    ShaderPlan plan;
    plan.groups = groups1d(invocations);
    plan.bindings = {bindValue(node.inputs[0]), bindValue(node.outputs[0])};
    push.resize(2, 0.0f);
    plan.push = std::move(push);
    plan.kernel = "gpu " + name;
    plan.glsl = head1d(invocations) + bufferDecl(0, "x", true) + bufferDecl(1, "y", false) +
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
    const auto invocations =
        static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    ShaderPlan plan;
    plan.groups = groups1d(invocations);
    plan.bindings = {bindValue(node.inputs[0]), bindValue(node.inputs[1]),
                     bindValue(node.outputs[0])};
    plan.kernel = "gpu " + name;
    plan.glsl = head1d(invocations) + bufferDecl(0, "a", true) + bufferDecl(1, "b", true) +
                bufferDecl(2, "y", false) +
                "void main() {\n"
                "    uint i = flatIndex();\n"
                "    if (i >= TOTAL) return;\n"
                "    y[i] = a[i] " +
                op +
                " b[i];\n"
                "}\n";
    return plan;
}

const char* unaryName(OpKind op) {
    switch (op) {
        case OpKind::Relu:
            return "relu";
        case OpKind::Sigmoid:
            return "sigmoid";
        case OpKind::Tanh:
            return "tanh";
        case OpKind::LeakyRelu:
            return "leaky relu";
        case OpKind::Clip:
            return "clip";
        case OpKind::HardSigmoid:
            return "hard sigmoid";
        case OpKind::HardSwish:
            return "hard swish";
        default:
            return "";
    }
}

}  // namespace

std::optional<ShaderPlan> planTensorShader(const ShaderContext& ctx, size_t index,
                                           std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    std::vector<float> push;
    if (auto expr = activationExpr(node, push)) {
        return unary(graph, node, unaryName(node.op), *expr, std::move(push));
    }
    switch (node.op) {
        case OpKind::Exp:
            return unary(graph, node, "exp", "exp(v)", {});
        case OpKind::Sqrt:
            return unary(graph, node, "sqrt", "sqrt(v)", {});
        case OpKind::Identity:
            return unary(graph, node, "copy", "v", {});
        case OpKind::Add:
            return binary(graph, node, "add", "+", why);
        case OpKind::Sub:
            return binary(graph, node, "sub", "-", why);
        case OpKind::Mul:
            return binary(graph, node, "mul", "*", why);
        case OpKind::Div:
            return binary(graph, node, "div", "/", why);
        default:
            why = std::string(opName(node.op)) + " has no GPU shader yet";
            return std::nullopt;
    }
}

}  // namespace prunelab::engine::vulkan

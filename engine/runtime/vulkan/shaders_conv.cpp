// Convolution and GEMM shaders: direct convolution, one output element per invocation, every
// size a constant of the text.
#include <sstream>

#include "engine/ops/conv.h"
#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

namespace {

std::optional<ShaderPlan> directConv(const ShaderContext& ctx, size_t index, std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    auto params =
        convParams(node, graph.value(node.inputs[0]).shape, graph.value(node.inputs[1]).shape);
    if (!params.ok()) {
        why = params.error().message;
        return std::nullopt;
    }
    const ConvParams& c = *params;
    const bool bias = node.inputs.size() > 2 && node.inputs[2] != kNoValue;
    const auto invocations =
        static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    ShaderPlan plan;
    plan.groups = groups1d(invocations);
    plan.bindings = {bindValue(node.inputs[0]), bindValue(node.inputs[1])};
    if (bias) plan.bindings.push_back(bindValue(node.inputs[2]));
    plan.bindings.push_back(bindValue(node.outputs[0]));
    plan.kernel = "gpu conv " + std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW) +
                  " direct" + (bias ? " +bias" : "");
    std::ostringstream s;
    s << head1d(invocations) << bufferDecl(0, "x", true) << bufferDecl(1, "w", true);
    if (bias) s << bufferDecl(2, "bias", true);
    s << bufferDecl(bias ? 3 : 2, "y", false);
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

std::optional<ShaderPlan> planConvShader(const ShaderContext& ctx, size_t node, std::string& why) {
    const Node& n = ctx.graph.nodes[node];
    if (n.op == OpKind::Conv) return directConv(ctx, node, why);
    why = std::string(opName(n.op)) + " has no GPU shader yet";
    return std::nullopt;
}

}  // namespace prunelab::engine::vulkan

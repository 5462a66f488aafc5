// The transposed convolution's shader (a text detector's upsampling): each invocation gathers
// one output element from the input pixels whose scattered kernel window covers it, the same
// sums the reference scatters, so no two invocations write one element.
#include <sstream>

#include "engine/ops/conv.h"
#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

std::optional<ShaderPlan> planConvTransposeShader(const ShaderContext& ctx, size_t index,
                                                  std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    auto params = convTransposeParams(node, graph.value(node.inputs[0]).shape,
                                      graph.value(node.inputs[1]).shape);
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
    plan.kernel = "gpu conv transpose " + std::to_string(c.kernelH) + "x" +
                  std::to_string(c.kernelW) + " gather" + (bias ? " +bias" : "");
    std::ostringstream s;
    s << head1d(invocations) << bufferDecl(0, "x", true) << bufferDecl(1, "w", true);
    if (bias) s << bufferDecl(2, "bias", true);
    s << bufferDecl(bias ? 3 : 2, "y", false);
    s << "const uint IC = " << c.inChannels << "u, IH = " << c.inH << "u, IW = " << c.inW << "u;\n"
      << "const uint OC = " << c.outChannels << "u, OH = " << c.outH << "u, OW = " << c.outW
      << "u;\n"
      << "const int KH = " << c.kernelH << ", KW = " << c.kernelW << ";\n"
      << "const int SH = " << c.strideH << ", SW = " << c.strideW << ";\n"
      << "const int PT = " << c.padTop << ", PL = " << c.padLeft << ";\n"
      << "const int DH = " << c.dilationH << ", DW = " << c.dilationW << ";\n"
      << "const uint CPG = " << c.inChannelsPerGroup() << "u, OPG = " << c.outChannelsPerGroup()
      << "u;\n"
      << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n"
      << "    uint ox = i % OW, t = i / OW;\n"
      << "    uint oy = t % OH; t /= OH;\n"
      << "    uint oc = t % OC, n = t / OC;\n"
      << "    uint g = oc / OPG, o = oc % OPG;\n"
      << "    float acc = 0.0;\n"
      << "    for (uint c = 0u; c < CPG; ++c) {\n"
      << "        uint ic = g * CPG + c;\n"
      << "        for (int ky = 0; ky < KH; ++ky) {\n"
      << "            // Input row iy reaches output row oy through tap ky when\n"
      << "            // iy * SH - PT + ky * DH == oy.\n"
      << "            int ty = int(oy) + PT - ky * DH;\n"
      << "            if (ty < 0 || ty % SH != 0 || ty / SH >= int(IH)) continue;\n"
      << "            for (int kx = 0; kx < KW; ++kx) {\n"
      << "                int tx = int(ox) + PL - kx * DW;\n"
      << "                if (tx < 0 || tx % SW != 0 || tx / SW >= int(IW)) continue;\n"
      << "                acc += x[((n * IC + ic) * IH + uint(ty / SH)) * IW + uint(tx / SW)] *\n"
      << "                       w[((ic * OPG + o) * uint(KH) + uint(ky)) * uint(KW) + uint(kx)];\n"
      << "            }\n"
      << "        }\n"
      << "    }\n"
      << "    y[i] = STORE(acc" << (bias ? " + bias[oc]" : "") << ");\n"
      << "}\n";
    plan.glsl = s.str();
    return plan;
}

}  // namespace prunelab::engine::vulkan

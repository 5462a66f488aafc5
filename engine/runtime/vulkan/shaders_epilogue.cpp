// The fused epilogue of the conv, GEMM and sparse-layer shaders (shaders_common.h): which later
// nodes a shader computes in its store, as GLSL lines, so the intermediate values are never
// written. The CPU's fused kernels take the same chain.
#include <cctype>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

namespace {

// True when `expr` still reads a push constant `p.<name>`: an activation whose parameters are
// not all known here, which then runs as its own shader rather than fail to compile.
bool readsPushConstant(const std::string& expr) {
    for (size_t at = expr.find("p."); at != std::string::npos; at = expr.find("p.", at + 1)) {
        if (at == 0 ||
            !(std::isalnum(static_cast<unsigned char>(expr[at - 1])) || expr[at - 1] == '_'))
            return true;
    }
    return false;
}

// A node name as safe text for a GLSL comment.
std::string commentText(const std::string& name) {
    std::string out = name;
    for (char& ch : out) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && !std::strchr("_.:-", ch)) ch = '_';
    }
    return out;
}

std::string lowerOpName(OpKind op) {
    std::string name(opName(op));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return name;
}

// How a PRelu slope indexes the output: "0u" for a single slope, "c" for one per channel (axis
// `axis` of `out`, right-aligned as the reference broadcasts). Other shapes are not fused.
std::optional<std::string> slopeIndex(const Shape& slope, const Shape& out, int axis) {
    if (elementCount(slope) == 1) return "0u";
    if (axis < 0 || slope.size() > out.size()) return std::nullopt;
    const size_t offset = out.size() - slope.size();
    for (size_t d = 0; d < slope.size(); ++d) {
        const bool channel = offset + d == static_cast<size_t>(axis);
        if (slope[d] != (channel ? out[offset + d] : 1)) return std::nullopt;
    }
    return "c";
}

}  // namespace

// A float as GLSL text that reads back to the same float: 9 significant digits are enough for
// any float32; infinities and NaN have no literal, so they are spelt as their bits.
std::string floatLiteral(float f) {
    if (!std::isfinite(f)) {
        uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof bits);
        std::ostringstream s;
        s << "uintBitsToFloat(0x" << std::hex << bits << "u)";
        return s.str();
    }
    std::ostringstream s;
    s << std::setprecision(9) << f;
    std::string text = s.str();
    if (text.find_first_of(".eE") == std::string::npos) text += ".0";  // "2" is an int in GLSL
    return std::signbit(f) ? "(" + text + ")" : text;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// Follows `node`'s output through its sole consumers while they are an element-wise activation
// or PRelu, then a residual Add, then one more activation or PRelu: the chain a conv or GEMM
// shader computes in its store. A value read anywhere else, or a graph output, ends the chain,
// so nothing another node needs is skipped. `channelAxis` is the output axis a per-channel PRelu
// slope runs along (-1: none); `lines` may already hold the bias.
Epilogue fuseEpilogue(const Graph& graph, size_t node, int channelAxis, Epilogue e) {
    e.out = graph.nodes[node].outputs[0];
    const Shape shape = graph.value(e.out).shape;
    bool added = false;      // a residual add is fused
    bool unaryDone = false;  // an activation or PRelu is fused since the start or the add
    for (;;) {
        const int c = soleConsumer(graph, e.out);
        if (c < 0) break;
        const Node& next = graph.nodes[static_cast<size_t>(c)];
        std::string whyNot;
        if (!allFloat(graph, next, whyNot) || next.outputs.size() != 1 ||
            graph.value(next.outputs[0]).shape != shape) {
            break;
        }
        std::vector<float> params;
        std::string line;
        if (next.op == OpKind::Add && !added) {
            if (next.inputs.size() != 2) break;
            const ValueId other = next.inputs[0] == e.out ? next.inputs[1] : next.inputs[0];
            if (other == e.out || graph.value(other).shape != shape ||
                !availableBefore(graph, other, node)) {
                break;
            }
            const std::string name = "res" + std::to_string(e.reads.size());
            e.reads.push_back({name, other});
            line = "v += " + name + "[i];";
            added = true;
            unaryDone = false;
        } else if (unaryDone || next.inputs.empty() || next.inputs[0] != e.out) {
            break;
        } else if (next.op == OpKind::PRelu) {
            if (next.inputs.size() != 2 || next.inputs[1] == e.out) break;
            const ValueId slope = next.inputs[1];
            auto index = slopeIndex(graph.value(slope).shape, shape, channelAxis);
            if (!index || !availableBefore(graph, slope, node)) break;
            const std::string name = "slope" + std::to_string(e.reads.size());
            e.reads.push_back({name, slope});
            line = "v = v >= 0.0 ? v : " + name + "[" + *index + "] * v;";
            unaryDone = true;
        } else if (auto expr = activationExpr(next, params)) {
            // Parameters baked in: several fused activations cannot share push constants p.a/p.b.
            params.resize(2, 0.0f);
            const std::string baked = replaceAll(replaceAll(*expr, "p.a", floatLiteral(params[0])),
                                                 "p.b", floatLiteral(params[1]));
            if (readsPushConstant(baked)) break;  // a parameter this file does not know of
            line = "v = " + baked + ";";
            unaryDone = true;
        } else {
            break;
        }
        e.lines.push_back(line + "  // " + commentText(next.name));
        e.fused.push_back(static_cast<size_t>(c));
        e.suffix += '+';  // appended apart: GCC 12 warns falsely (-Wrestrict) on "+" + string
        e.suffix += lowerOpName(next.op);
        e.out = next.outputs[0];
    }
    return e;
}

// The epilogue as a GLSL function of the sum `v`, its channel `c` and its output index `i`.
std::string epilogueFunction(const Epilogue& e) {
    std::string s = "float epilogue(float v, uint c, uint i) {\n";
    for (const std::string& line : e.lines) s += "    " + line + "\n";
    return s + "    return v;\n}\n";
}

}  // namespace prunelab::engine::vulkan

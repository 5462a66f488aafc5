// The compiled sparse layers' shaders: pattern (FKW), tile-wise and CSR, one generated per layer
// with its structure baked in, the GPU's counterpart of the CPU's generated C++. Same maths as
// cpu::referenceSparseLayer: y[n][o][oy][ox] = bias[o] + sum of the stored weights (o, i, ky, kx)
// times x[n][group(o) * C/g + i][oy * sh - padTop + ky * dh][ox * sw - padLeft + kx * dw].
#include <bit>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

namespace {

using codegen::KernelKind;
using codegen::LayerCode;

// A pattern layer's kernel lists are baked into the GLSL as constant arrays up to this many
// kernels; larger layers read them from a data buffer. Constant arrays are what a student
// reads, but a GPU indexes a large one through local memory and the text grows with it.
constexpr size_t kBakedKernels = 256;
// Output pixels per invocation of a pattern shader (a vec4): each kernel's code and 4 weights
// are read once for 4 pixels. On lavapipe, Real-ESRGAN's 64->64 pattern layers at 20x24 took
// ~50 ms with one pixel per invocation, against ~40 ms for the dense tiled GEMM.
constexpr int64_t kPixelBlock = 4;

// A plan-owned buffer of 32-bit words.
using Words = std::vector<uint32_t>;

void pushFloat(Words& w, float v) {
    w.push_back(std::bit_cast<uint32_t>(v));
}

ShaderBinding bindData(Words words) {
    return {kNoValue, std::make_shared<const Words>(std::move(words))};
}

// "3x3 conv 8->8, stride 2, pads 1,1" or "gemm 4x32 -> 16": the geometry for comments.
std::string geometry(const LayerCode& l) {
    const ConvParams& c = l.conv;
    std::ostringstream s;
    if (l.gemm) {
        s << "gemm " << c.batch << "x" << c.inChannels << " -> " << c.outChannels;
    } else {
        s << c.kernelH << "x" << c.kernelW << " conv " << c.inChannels << "->" << c.outChannels
          << ", " << c.inH << "x" << c.inW << " -> " << c.outH << "x" << c.outW << ", stride "
          << c.strideH << "," << c.strideW << ", pads " << c.padTop << "," << c.padLeft;
        if (c.dilationH != 1 || c.dilationW != 1) {
            s << ", dilation " << c.dilationH << "," << c.dilationW;
        }
        if (c.group != 1) s << ", " << c.group << " groups";
    }
    return s.str();
}

// The layer's fused epilogue (shaders_common.h): the output channel's axis is 1 in NCHW, the
// last for a Gemm / MatMul's [..., N].
Epilogue fuseChain(const Graph& graph, size_t node, const LayerCode& layer) {
    const Shape& shape = graph.value(graph.nodes[node].outputs[0]).shape;
    const int channelAxis = layer.gemm && !shape.empty() ? static_cast<int>(shape.size()) - 1 : 1;
    return fuseEpilogue(graph, node, channelAxis);
}

// The epilogue's buffers from binding `first` on, then the written `y`; the plan's bindings and
// fused nodes to match.
std::string epilogueBindings(ShaderPlan& plan, int first, const Epilogue& e) {
    std::string s;
    for (const auto& [name, value] : e.reads) {
        s += bufferDecl(first++, name.c_str(), true);
        plan.bindings.push_back(bindValue(value));
    }
    plan.bindings.push_back(bindValue(e.out));
    plan.fused = e.fused;
    if (!e.suffix.empty()) plan.kernel += " " + e.suffix;
    return s + bufferDecl(first, "y", false);
}

// The conv's sizes as constants, at(): one input value or 0 in the padding (the uint casts make
// a negative coordinate huge, so one comparison per axis checks both ends), and the start of
// main(): invocation i computes output [n][slot][oy][ox]; `xg` is the first input plane of the
// group output channel `oc` reads. A Gemm layer is the same with 1x1 images and batch M.
std::string convHead(const LayerCode& l, const std::string& slotToChannel, const Epilogue& e,
                     int64_t pixels = 1) {
    const ConvParams& c = l.conv;
    std::ostringstream s;
    s << epilogueFunction(e) << "const uint IC = " << c.inChannels << "u, IH = " << c.inH
      << "u, IW = " << c.inW << "u;\n"
      << "const uint OC = " << c.outChannels << "u, OH = " << c.outH << "u, OW = " << c.outW
      << "u;\n"
      << "const uint SH = " << c.strideH << "u, SW = " << c.strideW << "u;\n"
      << "const int PT = " << c.padTop << ", PL = " << c.padLeft << ";\n"
      << "const uint ICG = " << c.inChannelsPerGroup() << "u, OCG = " << c.outChannelsPerGroup()
      << "u;\n"
      << "float at(uint plane, int iy, int ix) {\n"
      << "    return uint(iy) < IH && uint(ix) < IW ? x[plane + uint(iy) * IW + uint(ix)] : 0.0;\n"
      << "}\n";
    if (pixels > 1) {
        s << "// Each invocation computes PB neighbouring pixels of an output row, from ox on:\n"
          << "// each weight and its index are read once for all of them.\n"
          << "const uint PB = " << pixels << "u, OWB = " << (c.outW + pixels - 1) / pixels
          << "u;  // blocks per output row\n"
          << "vec4 at4(uint plane, int iy, int ix) {\n"
          << "    return vec4(at(plane, iy, ix), at(plane, iy, ix + int(SW)),\n"
          << "                at(plane, iy, ix + int(2u * SW)), at(plane, iy, ix + int(3u * "
             "SW)));\n"
          << "}\n";
    }
    s << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n"
      << (pixels > 1 ? "    uint ox = i % OWB * PB, t = i / OWB;\n"
                     : "    uint ox = i % OW, t = i / OW;\n")
      << "    uint oy = t % OH; t /= OH;\n"
      << "    uint slot = t % OC, n = t / OC;\n"
      << "    uint oc = " << slotToChannel << ";\n"
      << "    uint xg = (n * IC + oc / OCG * ICG) * IH * IW;\n"
      << "    int iy0 = int(oy * SH) - PT, ix0 = int(ox * SW) - PL;\n";
    return s.str();
}

std::string convTail(int64_t pixels = 1) {
    if (pixels > 1) {
        return "    uint o = ((n * OC + oc) * OH + oy) * OW + ox;\n"
               "    for (uint j = 0u; j < PB && ox + j < OW; ++j) {\n"
               "        y[o + j] = STORE(epilogue(acc[j], oc, o + j));\n"
               "    }\n"
               "}\n";
    }
    return "    uint o = ((n * OC + oc) * OH + oy) * OW + ox;\n"
           "    y[o] = STORE(epilogue(acc, oc, o));\n"
           "}\n";
}

// A GEMM-view column (i * kh + y) * kw + x read at the current output pixel.
std::string columnRead(const ConvParams& c, int64_t pixels) {
    std::ostringstream s;
    s << (pixels > 1 ? "vec4 column(uint col, uint xg, int iy0, int ix0) {\n"
                     : "float column(uint col, uint xg, int iy0, int ix0) {\n")
      << "    uint ci = col / " << c.kernelH * c.kernelW << "u, ky = col / " << c.kernelW << "u % "
      << c.kernelH << "u, kx = col % " << c.kernelW << "u;\n"
      << "    return " << (pixels > 1 ? "at4" : "at") << "(xg + ci * IH * IW, iy0 + int(ky * "
      << c.dilationH << "u), ix0 + int(kx * " << c.dilationW << "u));\n"
      << "}\n";
    return s.str();
}

// ---- Pattern (FKW) -------------------------------------------------------------------------
// One function per pattern, its 4 taps' offsets written out; per stored filter its output
// channel and its kernels (input channel, pattern id), 4 weights each.
std::optional<ShaderPlan> patternShader(const ShaderContext& ctx, size_t node, const LayerCode& l,
                                        const Epilogue& e, std::string& why) {
    const ConvParams& c = l.conv;
    const codegen::FkwWeights& f = l.fkw;
    if (c.kernelH != 3 || c.kernelW != 3 || l.gemm) {
        why = "pattern layers need a 3x3 conv";
        return std::nullopt;
    }
    if (f.patterns.size() > 256) {
        why = "more than 256 patterns";
        return std::nullopt;
    }
    const Node& n = ctx.graph.nodes[node];
    const size_t kernels = f.inputChannel.size();
    const bool baked = kernels <= kBakedKernels;
    const auto total = static_cast<uint64_t>(c.batch * c.outChannels * c.outH *
                                             ((c.outW + kPixelBlock - 1) / kPixelBlock));

    ShaderPlan plan;
    plan.kernel = "gpu pattern 3x3 (" + std::to_string(f.patterns.size()) + " patterns, " +
                  std::to_string(kernels) + " kernels)";
    plan.groups = groups1d(total);
    // Weights: 4 per kernel in increasing position order, then the bias (one per output).
    Words weights;
    for (float w : f.weights) pushFloat(weights, w);
    for (float b : l.bias) pushFloat(weights, b);
    // A kernel's code: input channel within its group * 256 + pattern id.
    std::vector<uint32_t> code(kernels);
    for (size_t k = 0; k < kernels; ++k) {
        code[k] = static_cast<uint32_t>(f.inputChannel[k]) * 256u + f.patternId[k];
    }
    plan.bindings = {bindValue(n.inputs[0]), bindData(std::move(weights))};

    std::ostringstream s;
    s << "// Pattern layer: " << geometry(l) << ";\n// " << f.patterns.size() << " patterns, "
      << kernels << " kernels kept of " << c.outChannels * c.inChannelsPerGroup() << " (density "
      << l.density << ").\n";
    s << head1d(total) << bufferDecl(0, "x", true) << bufferDecl(1, "w", true);
    if (!baked) s << bufferDecl(2, "idx", true, "uint");
    const int tail = baked ? 2 : 3;
    s << "const uint BIAS = " << kernels * 4 << "u;  // w[BIAS + oc]: the bias\n";
    std::vector<uint32_t> order(f.filterOrder.begin(), f.filterOrder.end());
    std::vector<uint32_t> starts(f.kernelStart.begin(), f.kernelStart.end());
    if (baked) {
        // A GLSL array may not be empty: an empty list gets one unused 0.
        auto bakedList = [&s](const char* name, const char* what, const std::vector<uint32_t>& v) {
            s << "// " << what << "\n";
            s << "const uint " << name << "[" << std::max<size_t>(v.size(), 1) << "] = uint[](";
            for (size_t i = 0; i < v.size(); ++i) {
                s << (i ? (i % 12 ? ", " : ",\n    ") : "") << v[i] << "u";
            }
            if (v.empty()) s << "0u";
            s << ");\n";
        };
        bakedList("OUT_CHANNEL",
                  "stored filter f (run order) computes output channel OUT_CHANNEL[f]", order);
        bakedList("KSTART", "its kernels are KSTART[f] .. KSTART[f + 1]", starts);
        bakedList("KCODE", "a kernel: input channel within the group * 256 + pattern id", code);
        s << "uint outChannel(uint f) { return OUT_CHANNEL[f]; }\n"
          << "uint kernelStart(uint f) { return KSTART[f]; }\n"
          << "uint kernelCode(uint k) { return KCODE[k]; }\n";
    } else {
        // Too many kernels to bake (> kBakedKernels): the same three lists, from a buffer.
        Words idx;
        idx.insert(idx.end(), order.begin(), order.end());
        idx.insert(idx.end(), starts.begin(), starts.end());
        idx.insert(idx.end(), code.begin(), code.end());
        plan.bindings.push_back(bindData(std::move(idx)));
        const size_t filters = order.size();
        s << "// " << kernels << " kernels: more than " << kBakedKernels
          << " to bake, so the lists are in idx:\n"
          << "// [output channel per stored filter] [kernel starts] [kernel codes: input channel "
             "* 256 + pattern id]\n"
          << "uint outChannel(uint f) { return idx[f]; }\n"
          << "uint kernelStart(uint f) { return idx[" << filters << "u + f]; }\n"
          << "uint kernelCode(uint k) { return idx[" << 2 * filters + 1 << "u + k]; }\n";
    }
    s << epilogueBindings(plan, tail, e) << convHead(l, "outChannel(slot)", e, kPixelBlock);
    // The pattern functions are placed before main(): written separately below.
    std::ostringstream fns;
    for (size_t p = 0; p < f.patterns.size(); ++p) {
        fns << "// pattern " << p << ": ";
        for (int y = 0; y < 3; ++y) {
            if (y) fns << '/';
            for (int xx = 0; xx < 3; ++xx) fns << ((f.patterns[p] >> (y * 3 + xx) & 1) ? 'x' : '.');
        }
        fns << "\nvec4 pattern" << p << "(uint k, uint plane, int iy, int ix) {\n"
            << "    return ";
        int tap = 0;
        for (int pos = 0; pos < 9; ++pos) {
            if (!(f.patterns[p] >> pos & 1)) continue;
            fns << (tap ? " +\n           " : "") << "w[k + " << tap << "u] * at4(plane, iy + "
                << (pos / 3) * c.dilationH << ", ix + " << (pos % 3) * c.dilationW << ")";
            ++tap;
        }
        fns << ";\n}\n";
    }
    std::string text = s.str();
    text.insert(text.find("void main() {"), fns.str());
    std::ostringstream m;
    m << "    vec4 acc = vec4(w[BIAS + oc]);\n"
      << "    for (uint k = kernelStart(slot); k < kernelStart(slot + 1u); ++k) {\n"
      << "        uint code = kernelCode(k);\n"
      << "        uint plane = xg + (code >> 8) * IH * IW;\n"
      << "        switch (code & 255u) {\n";
    for (size_t p = 0; p < f.patterns.size(); ++p) {
        m << "            case " << p << "u: acc += pattern" << p
          << "(k * 4u, plane, iy0, ix0); break;\n";
    }
    m << "        }\n"
      << "    }\n";
    plan.glsl = text + m.str() + convTail(kPixelBlock);
    return plan;
}

// ---- Tile-wise -----------------------------------------------------------------------------
// The packed blocks as they are; per output channel the list of its row segments: (offset of
// the tile's columns, how many, where this row of the tile's block starts).
ShaderPlan tileShader(const ShaderContext& ctx, size_t node, const LayerCode& l,
                      const Epilogue& e) {
    const ConvParams& c = l.conv;
    const codegen::TileWeights& tw = l.tiles;
    const Node& n = ctx.graph.nodes[node];
    // Conv layers compute a block of pixels per invocation, as the pattern shader; a Gemm
    // layer's "image" is one pixel.
    const int64_t pixels = l.gemm ? 1 : kPixelBlock;
    const auto total =
        static_cast<uint64_t>(c.batch * c.outChannels * c.outH * ((c.outW + pixels - 1) / pixels));
    std::vector<std::vector<uint32_t>> segments(static_cast<size_t>(c.outChannels));
    Words columns;
    for (size_t t = 0; t < tw.rows.size(); ++t) {
        const auto first = static_cast<uint32_t>(columns.size());
        const auto count = static_cast<uint32_t>(tw.columns[t].size());
        for (int32_t col : tw.columns[t]) columns.push_back(static_cast<uint32_t>(col));
        for (size_t r = 0; r < tw.rows[t].size(); ++r) {
            auto& seg = segments[static_cast<size_t>(tw.rows[t][r])];
            seg.push_back(first);
            seg.push_back(count);
            seg.push_back(static_cast<uint32_t>(tw.blockStart[t] + int64_t(r) * count));
        }
    }
    Words idx;  // [segment start per output channel, OC + 1] [segments] [columns]
    uint32_t at = 0;
    for (const auto& seg : segments) {
        idx.push_back(at);
        at += static_cast<uint32_t>(seg.size() / 3);
    }
    idx.push_back(at);
    const size_t segmentsAt = idx.size();
    for (const auto& seg : segments) idx.insert(idx.end(), seg.begin(), seg.end());
    const size_t columnsAt = idx.size();
    idx.insert(idx.end(), columns.begin(), columns.end());
    Words weights;
    for (float w : tw.blocks) pushFloat(weights, w);
    for (float b : l.bias) pushFloat(weights, b);

    ShaderPlan plan;
    plan.kernel = std::string("gpu tile-wise ") +
                  (l.gemm ? std::string("gemm")
                          : std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW)) +
                  " (" + std::to_string(tw.rows.size()) + " tiles of width " +
                  std::to_string(tw.tileWidth) + ", " + std::to_string(tw.blocks.size()) +
                  " weights)";
    plan.groups = groups1d(total);
    plan.bindings = {bindValue(n.inputs[0]), bindData(std::move(weights)),
                     bindData(std::move(idx))};
    std::ostringstream s;
    s << "// Tile-wise layer: " << geometry(l) << ";\n// " << tw.rows.size() << " tiles of width "
      << tw.tileWidth << " over the GEMM view's columns (column = (i * kh + "
      << "ky) * kw + kx); tile t keeps some rows and columns as a dense block, row-major in w.\n"
      << head1d(total) << bufferDecl(0, "x", true) << bufferDecl(1, "w", true)
      << bufferDecl(2, "idx", true, "uint") << epilogueBindings(plan, 3, e)
      << "const uint BIAS = " << tw.blocks.size() << "u;      // w[BIAS + oc]: the bias\n"
      << "const uint SEGMENTS = " << segmentsAt << "u;  // idx[oc] .. idx[oc + 1]: oc's segments\n"
      << "const uint COLUMNS = " << columnsAt << "u;   // each tile's kept columns\n";
    std::string head = convHead(l, "slot", e, pixels);
    head.insert(head.find("void main() {"), columnRead(c, pixels));
    s << head << "    " << (pixels > 1 ? "vec4 acc = vec4(" : "float acc = (") << "w[BIAS + oc]);\n"
      << "    for (uint g = idx[oc]; g < idx[oc + 1u]; ++g) {\n"
      << "        // One row of one tile's block: its columns, how many, where its weights are.\n"
      << "        uint cols = COLUMNS + idx[SEGMENTS + 3u * g], count = idx[SEGMENTS + 3u * g + "
         "1u];\n"
      << "        uint row = idx[SEGMENTS + 3u * g + 2u];\n"
      << "        for (uint j = 0u; j < count; ++j) {\n"
      << "            acc += w[row + j] * column(idx[cols + j], xg, iy0, ix0);\n"
      << "        }\n"
      << "    }\n"
      << convTail(pixels);
    plan.glsl = s.str();
    return plan;
}

// ---- CSR -----------------------------------------------------------------------------------
ShaderPlan csrShader(const ShaderContext& ctx, size_t node, const LayerCode& l, const Epilogue& e) {
    const ConvParams& c = l.conv;
    const codegen::CsrWeights& csr = l.csr;
    const Node& n = ctx.graph.nodes[node];
    // Conv layers compute a block of pixels per invocation, as the pattern shader; a Gemm
    // layer's "image" is one pixel.
    const int64_t pixels = l.gemm ? 1 : kPixelBlock;
    const auto total =
        static_cast<uint64_t>(c.batch * c.outChannels * c.outH * ((c.outW + pixels - 1) / pixels));
    Words idx(csr.rowStart.begin(), csr.rowStart.end());  // [row starts, OC + 1] [columns]
    idx.insert(idx.end(), csr.column.begin(), csr.column.end());
    Words weights;
    for (float w : csr.values) pushFloat(weights, w);
    for (float b : l.bias) pushFloat(weights, b);

    ShaderPlan plan;
    plan.kernel = std::string("gpu csr ") +
                  (l.gemm ? std::string("gemm")
                          : std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW)) +
                  " (" + std::to_string(csr.values.size()) + " nonzeros)";
    plan.groups = groups1d(total);
    plan.bindings = {bindValue(n.inputs[0]), bindData(std::move(weights)),
                     bindData(std::move(idx))};
    std::ostringstream s;
    s << "// CSR layer: " << geometry(l) << ";\n// " << csr.values.size()
      << " nonzeros: row oc's are w[idx[oc] .. idx[oc + 1]] at the GEMM view's columns "
         "(i * kh + ky) * kw + kx.\n"
      << head1d(total) << bufferDecl(0, "x", true) << bufferDecl(1, "w", true)
      << bufferDecl(2, "idx", true, "uint") << epilogueBindings(plan, 3, e)
      << "const uint BIAS = " << csr.values.size() << "u;  // w[BIAS + oc]: the bias\n"
      << "const uint COLUMNS = " << csr.rowStart.size() << "u;  // idx[COLUMNS + e]: e's column\n";
    std::string head = convHead(l, "slot", e, pixels);
    head.insert(head.find("void main() {"), columnRead(c, pixels));
    s << head << "    " << (pixels > 1 ? "vec4 acc = vec4(" : "float acc = (") << "w[BIAS + oc]);\n"
      << "    for (uint e = idx[oc]; e < idx[oc + 1u]; ++e) {\n"
      << "        acc += w[e] * column(idx[COLUMNS + e], xg, iy0, ix0);\n"
      << "    }\n"
      << convTail(pixels);
    plan.glsl = s.str();
    return plan;
}

}  // namespace

std::optional<ShaderPlan> planSparseShader(const ShaderContext& ctx, size_t node,
                                           const codegen::LayerCode& layer, std::string& why) {
    const Node& n = ctx.graph.nodes[node];
    if (n.inputs.empty() || n.outputs.size() != 1) {
        why = "a layer with " + std::to_string(n.inputs.size()) + " inputs and " +
              std::to_string(n.outputs.size()) + " outputs";
        return std::nullopt;
    }
    for (ValueId id : {n.inputs[0], n.outputs[0]}) {
        // Index arithmetic runs in 32-bit uint.
        if (elementCount(ctx.graph.value(id).shape) >= (int64_t{1} << 32)) {
            why = "'" + ctx.graph.value(id).name + "' has 2^32 elements or more";
            return std::nullopt;
        }
    }
    if (layer.bias.size() != static_cast<size_t>(layer.conv.outChannels)) {
        why = "its bias has " + std::to_string(layer.bias.size()) + " values, not one per output";
        return std::nullopt;
    }
    const Epilogue e = fuseChain(ctx.graph, node, layer);
    switch (layer.kind) {
        case KernelKind::Pattern:
            return patternShader(ctx, node, layer, e, why);
        case KernelKind::TileWise:
            return tileShader(ctx, node, layer, e);
        case KernelKind::Csr:
            return csrShader(ctx, node, layer, e);
        case KernelKind::Dense:
            break;
    }
    why = "a dense layer has no sparse shader";
    return std::nullopt;
}

}  // namespace prunelab::engine::vulkan

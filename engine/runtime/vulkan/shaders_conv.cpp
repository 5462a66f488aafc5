// Convolution and GEMM shaders: a tiled GEMM with shared memory (convs as implicit GEMM, 1x1 convs,
// Gemm, MatMul), depthwise convs, and the direct conv for what a tile would waste; each with the
// node's fused epilogue (bias, activations, PRelu, a residual add), every size a constant.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "engine/ops/conv.h"
#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

namespace {

// The storage buffers of `reads`, then the epilogue's, then the written `y`; sets the plan's
// bindings and fused nodes to match.
std::string bindAll(ShaderPlan& plan, const std::vector<Bound>& reads, const Epilogue& e) {
    std::string s;
    int binding = 0;
    for (const std::vector<Bound>* list : {&reads, &e.reads}) {
        for (const Bound& r : *list) {
            s += bufferDecl(binding++, r.name.c_str(), true);
            plan.bindings.push_back(bindValue(r.value));
        }
    }
    s += bufferDecl(binding, "y", false);
    plan.bindings.push_back(bindValue(e.out));
    plan.fused = e.fused;
    return s;
}

std::string withSuffix(std::string kernel, const Epilogue& e) {
    return e.suffix.empty() ? kernel : kernel + " " + e.suffix;
}

// Index arithmetic runs in 32-bit uint: larger tensors stay on the CPU.
bool fitsUint(const Graph& graph, const Node& node, std::string& why) {
    for (const std::vector<ValueId>* list : {&node.inputs, &node.outputs}) {
        for (ValueId id : *list) {
            if (id != kNoValue && elementCount(graph.value(id).shape) >= (int64_t{1} << 32)) {
                why = "'" + graph.value(id).name + "' has 2^32 elements or more";
                return false;
            }
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The tiled GEMM: C[M x N] = A[M x K] * B[K x N] for each z of a batch, where the loads of A and
// B and the store are small GLSL functions of the op (a conv gathers its input's im2col column
// in loadB; a MatMul offsets into its batch).
// ---------------------------------------------------------------------------------------------

// The K slice staged in shared memory per step, halved for the largest tiles so both slices
// stay within the 16 KiB of shared memory every device has.
constexpr uint32_t kTileK = 16;
constexpr uint32_t kSharedBytes = 16384;

struct GemmSpec {
    uint64_t m = 0, n = 0, k = 0, batches = 1;
    std::string constants;  // GLSL constants the functions below use
    std::string loadA;      // float loadA(uint z, uint m, uint k): body
    std::string loadB;      // float loadB(uint z, uint k, uint n): body
    std::string store;      // void store(uint z, uint m, uint n, float v): body, calls epilogue
    std::vector<Bound> reads;
};

// A tile's extent along M or N, the invocations across it and the outputs each one sums in
// registers. Large layers take 128 with 8 per invocation (more FMAs per shared word read); a
// tile shrinks where it would be mostly padding (a layer with 8 output channels, a Gemm with 5
// columns). Shared memory holds (TM + 1 + TN) * TK floats (see kTileK).
struct TileAxis {
    uint32_t tile, threads, perThread;
};
TileAxis tileFor(uint64_t extent) {
    if (extent >= 128) return {128, 16, 8};
    if (extent >= 64) return {64, 16, 4};
    if (extent >= 32) return {32, 8, 4};
    return {16, 4, 4};
}

std::optional<ShaderPlan> tiledGemm(const GemmSpec& g, const Epilogue& e, std::string& why) {
    const TileAxis rows = tileFor(g.m), cols = tileFor(g.n);
    const uint32_t tm = rows.tile, tn = cols.tile, tx = cols.threads, ty = rows.threads;
    const uint32_t tk =
        (tm + 1 + tn) * kTileK * sizeof(float) <= kSharedBytes ? kTileK : kTileK / 2;
    ShaderPlan plan;
    plan.groups = {static_cast<uint32_t>((g.n + tn - 1) / tn),
                   static_cast<uint32_t>((g.m + tm - 1) / tm), static_cast<uint32_t>(g.batches)};
    if ((g.n + tn - 1) / tn > kMaxGroups || (g.m + tm - 1) / tm > kMaxGroups ||
        g.batches > kMaxGroups) {
        why = std::to_string((g.n + tn - 1) / tn) + " x " + std::to_string((g.m + tm - 1) / tm) +
              " x " + std::to_string(g.batches) + " tiles: more than one dispatch may count (" +
              std::to_string(kMaxGroups) + " a dimension)";
        return std::nullopt;
    }
    std::ostringstream s;
    s << kGlslPreamble << "// Tiled GEMM: each workgroup computes a " << tm << " x " << tn
      << " tile of the output, summing K in slices of " << tk << "\n"
      << "// staged in shared memory; each invocation keeps a " << rows.perThread << " x "
      << cols.perThread << " block of sums in registers.\n"
      << "layout(local_size_x = " << tx << ", local_size_y = " << ty << ") in;\n"
      << bindAll(plan, g.reads, e) << "const uint M = " << g.m << "u, N = " << g.n
      << "u, K = " << g.k << "u;\n"
      << "const uint TM = " << tm << "u, TN = " << tn << "u, TK = " << tk << "u;\n"
      << "const uint TX = " << tx << "u, TY = " << ty << "u, RM = " << rows.perThread
      << "u, RN = " << cols.perThread << "u;\n"
      << g.constants
      << "// As[k * AS + m]: A's K slice of the tile's rows. Its row stride has one word of\n"
      << "// padding: the loads below store down its columns, and without it those stores\n"
      << "// would all hit one shared-memory bank.\n"
      << "const uint AS = TM + 1u;\n"
      << "shared float As[TK * AS];\n"
      << "shared float Bs[TK * TN];  // Bs[k * TN + n]: B's K slice of the tile's columns\n"
      << "float loadA(uint z, uint m, uint k) {\n"
      << g.loadA << "}\n"
      << "float loadB(uint z, uint k, uint n) {\n"
      << g.loadB << "}\n"
      << epilogueFunction(e) << "void store(uint z, uint m, uint n, float v) {\n"
      << g.store << "}\n"
      << "void main() {\n"
      << "    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;\n"
      << "    uint tid = ty * TX + tx;\n"
      << "    uint m0 = gl_WorkGroupID.y * TM, n0 = gl_WorkGroupID.x * TN, z = "
         "gl_WorkGroupID.z;\n"
      << "    float acc[RM * RN];\n"
      << "    for (uint r = 0u; r < RM * RN; ++r) acc[r] = 0.0;\n"
      << "    for (uint k0 = 0u; k0 < K; k0 += TK) {\n"
      << "        // Every invocation loads a share of both slices; outside the matrices, zeros.\n"
      << "        for (uint e = tid; e < TK * TM; e += TX * TY) {\n"
      << "            uint k = e % TK, m = e / TK;\n"
      << "            float av = 0.0;\n"
      << "            if (m0 + m < M && k0 + k < K) av = loadA(z, m0 + m, k0 + k);\n"
      << "            As[k * AS + m] = av;\n"
      << "        }\n"
      << "        for (uint e = tid; e < TK * TN; e += TX * TY) {\n"
      << "            uint n = e % TN, k = e / TN;\n"
      << "            float bv = 0.0;\n"
      << "            if (n0 + n < N && k0 + k < K) bv = loadB(z, k0 + k, n0 + n);\n"
      << "            Bs[k * TN + n] = bv;\n"
      << "        }\n"
      << "        barrier();\n"
      << "        for (uint k = 0u; k < TK; ++k) {\n"
      << "            // Rows ty, ty + TY, ... and columns tx, tx + TX, ...: neighbouring\n"
      << "            // invocations read neighbouring shared words.\n"
      << "            float av[RM], bv[RN];\n"
      << "            for (uint r = 0u; r < RM; ++r) av[r] = As[k * AS + ty + r * TY];\n"
      << "            for (uint q = 0u; q < RN; ++q) bv[q] = Bs[k * TN + tx + q * TX];\n"
      << "            for (uint r = 0u; r < RM; ++r)\n"
      << "                for (uint q = 0u; q < RN; ++q) acc[r * RN + q] += av[r] * bv[q];\n"
      << "        }\n"
      << "        barrier();  // the slices are overwritten next\n"
      << "    }\n"
      << "    for (uint r = 0u; r < RM; ++r) {\n"
      << "        for (uint q = 0u; q < RN; ++q) {\n"
      << "            uint m = m0 + ty + r * TY, n = n0 + tx + q * TX;\n"
      << "            if (m < M && n < N) store(z, m, n, acc[r * RN + q]);\n"
      << "        }\n"
      << "    }\n"
      << "}\n";
    plan.glsl = s.str();
    return plan;
}

// ---------------------------------------------------------------------------------------------
// Convolutions
// ---------------------------------------------------------------------------------------------

std::string convConstants(const ConvParams& c) {
    std::ostringstream s;
    s << "const uint IC = " << c.inChannels << "u, IH = " << c.inH << "u, IW = " << c.inW << "u;\n"
      << "const uint OC = " << c.outChannels << "u, OH = " << c.outH << "u, OW = " << c.outW
      << "u;\n"
      << "const uint KH = " << c.kernelH << "u, KW = " << c.kernelW << "u;\n"
      << "const uint SH = " << c.strideH << "u, SW = " << c.strideW << "u;\n"
      << "const int PT = " << c.padTop << ", PL = " << c.padLeft << ";\n"
      << "const uint DH = " << c.dilationH << "u, DW = " << c.dilationW << "u;\n"
      << "const uint G = " << c.group << "u, ICG = " << c.inChannelsPerGroup()
      << "u, OCG = " << c.outChannelsPerGroup() << "u;\n";
    return s.str();
}

std::string kernelSize(const ConvParams& c) {
    return std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW);
}

// One invocation per output element: any conv, and the fastest for layers too small to tile.
ShaderPlan directConv(const ConvParams& c, uint64_t outputs, const std::vector<Bound>& reads,
                      const Epilogue& e) {
    ShaderPlan plan;
    plan.groups = groups1d(outputs);
    plan.kernel = withSuffix("gpu conv " + kernelSize(c) + " direct", e);
    std::ostringstream s;
    s << head1d(outputs) << bindAll(plan, reads, e) << convConstants(c) << epilogueFunction(e)
      << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n"
      << "    uint ox = i % OW, t = i / OW;\n"
      << "    uint oy = t % OH; t /= OH;\n"
      << "    uint oc = t % OC, n = t / OC;\n"
      << "    uint g = oc / OCG;\n"
      << "    float acc = 0.0;\n"
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
      << "    y[i] = STORE(epilogue(acc, oc, i));\n"
      << "}\n";
    plan.glsl = s.str();
    return plan;
}

// One channel per group (MobileNet, BlazeFace): a window of one input channel per output, so
// there is nothing to share between outputs of a tile; one invocation each.
ShaderPlan depthwiseConv(const ConvParams& c, uint64_t outputs, const std::vector<Bound>& reads,
                         const Epilogue& e) {
    ShaderPlan plan;
    plan.groups = groups1d(outputs);
    plan.kernel = withSuffix("gpu conv depthwise " + kernelSize(c), e);
    std::ostringstream s;
    s << head1d(outputs) << bindAll(plan, reads, e) << convConstants(c) << epilogueFunction(e)
      << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n"
      << "    uint ox = i % OW, t = i / OW;\n"
      << "    uint oy = t % OH; t /= OH;\n"
      << "    uint ch = t % OC, n = t / OC;\n"
      << "    uint xc = (n * IC + ch) * IH * IW, wc = ch * KH * KW;\n"
      << "    float acc = 0.0;\n"
      << "    for (uint ky = 0u; ky < KH; ++ky) {\n"
      << "        int iy = int(oy * SH + ky * DH) - PT;\n"
      << "        if (iy < 0 || iy >= int(IH)) continue;\n"
      << "        for (uint kx = 0u; kx < KW; ++kx) {\n"
      << "            int ix = int(ox * SW + kx * DW) - PL;\n"
      << "            if (ix < 0 || ix >= int(IW)) continue;\n"
      << "            acc += x[xc + uint(iy) * IW + uint(ix)] * w[wc + ky * KW + kx];\n"
      << "        }\n"
      << "    }\n"
      << "    y[i] = STORE(epilogue(acc, ch, i));\n"
      << "}\n";
    plan.glsl = s.str();
    return plan;
}

// A conv as GEMM per (image, group): W[OCG x ICG*KH*KW] * im2col(X)[ICG*KH*KW x OH*OW]. The
// im2col matrix is never stored: loadB gathers each element from X (zero in the padding). A 1x1
// conv with stride 1 and no padding is a plain GEMM on X itself.
std::optional<ShaderPlan> tiledConv(const ConvParams& c, const std::vector<Bound>& reads,
                                    const Epilogue& e, std::string& why) {
    const bool pointwise = c.kernelH == 1 && c.kernelW == 1 && c.strideH == 1 && c.strideW == 1 &&
                           c.padTop == 0 && c.padLeft == 0 && c.padBottom == 0 && c.padRight == 0;
    GemmSpec g;
    g.m = static_cast<uint64_t>(c.outChannelsPerGroup());
    g.n = static_cast<uint64_t>(c.outH * c.outW);
    g.k = static_cast<uint64_t>(c.inChannelsPerGroup() * c.kernelH * c.kernelW);
    g.batches = static_cast<uint64_t>(c.batch * c.group);
    g.reads = reads;
    g.constants =
        convConstants(c) + "// z = image * G + group; m: channel in the group; n: pixel\n";
    g.loadA = "    return w[((z % G) * OCG + m) * K + k];\n";
    if (pointwise) {
        g.loadB = "    return x[((z / G) * IC + (z % G) * ICG + k) * (IH * IW) + n];\n";
    } else {
        g.loadB =
            "    // k: (input channel, ky, kx) of the window; n: the output pixel.\n"
            "    uint ci = k / (KH * KW), r = k % (KH * KW);\n"
            "    int iy = int((n / OW) * SH + (r / KW) * DH) - PT;\n"
            "    int ix = int((n % OW) * SW + (r % KW) * DW) - PL;\n"
            "    if (iy < 0 || iy >= int(IH) || ix < 0 || ix >= int(IW)) return 0.0;\n"
            "    return x[(((z / G) * IC + (z % G) * ICG + ci) * IH + uint(iy)) * IW + "
            "uint(ix)];\n";
    }
    g.store =
        "    uint oc = (z % G) * OCG + m;\n"
        "    uint i = ((z / G) * OC + oc) * (OH * OW) + n;\n"
        "    y[i] = STORE(epilogue(v, oc, i));\n";
    auto plan = tiledGemm(g, e, why);
    if (plan) {
        plan->kernel = withSuffix(
            pointwise ? "gpu conv 1x1 gemm" : "gpu conv " + kernelSize(c) + " tiled gemm", e);
    }
    return plan;
}

std::optional<ShaderPlan> planConv(const ShaderContext& ctx, size_t index, std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    auto params =
        convParams(node, graph.value(node.inputs[0]).shape, graph.value(node.inputs[1]).shape);
    if (!params.ok()) {
        why = params.error().message;
        return std::nullopt;
    }
    if (!fitsUint(graph, node, why)) return std::nullopt;
    const ConvParams& c = *params;
    std::vector<Bound> reads = {{"x", node.inputs[0]}, {"w", node.inputs[1]}};
    Epilogue bias;
    if (node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
        reads.push_back({"bias", node.inputs[2]});
        bias.lines.emplace_back("v += bias[c];");
        bias.suffix = "+bias";
    }
    const Epilogue e = fuseEpilogue(graph, index, 1, std::move(bias));
    const auto outputs = static_cast<uint64_t>(elementCount(graph.value(node.outputs[0]).shape));
    if (c.group == c.inChannels && c.group == c.outChannels) {
        return depthwiseConv(c, outputs, reads, e);
    }
    // The rule: tile when a tile has rows to share its loads (4 output channels per group or
    // more) and a sum long enough to fill a K slice (8 or more); a layer with fewer wastes most
    // of each tile on padding, and the direct shader does less work.
    if (c.outChannelsPerGroup() >= 4 && c.inChannelsPerGroup() * c.kernelH * c.kernelW >= 8) {
        std::string tooLarge;
        if (auto plan = tiledConv(c, reads, e, tooLarge)) return plan;
    }
    return directConv(c, outputs, reads, e);
}

// ---------------------------------------------------------------------------------------------
// Gemm and MatMul
// ---------------------------------------------------------------------------------------------

// Y = alpha * A' * B' + beta * C, C broadcast from the right as the reference does.
std::optional<ShaderPlan> planGemm(const ShaderContext& ctx, size_t index, std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    if (!fitsUint(graph, node, why)) return std::nullopt;
    const Shape& a = graph.value(node.inputs[0]).shape;
    const Shape& out = graph.value(node.outputs[0]).shape;
    if (a.size() != 2 || out.size() != 2) {
        why = "Gemm needs 2-D operands";
        return std::nullopt;
    }
    const bool transA = node.attrs.getInt("transA", 0) != 0;
    const bool transB = node.attrs.getInt("transB", 0) != 0;
    const float alpha = node.attrs.getFloat("alpha", 1.0f);
    const float beta = node.attrs.getFloat("beta", 1.0f);
    GemmSpec g;
    g.m = static_cast<uint64_t>(out[0]);
    g.n = static_cast<uint64_t>(out[1]);
    g.k = static_cast<uint64_t>(transA ? a[0] : a[1]);
    g.reads = {{"a", node.inputs[0]}, {"b", node.inputs[1]}};
    g.loadA = transA ? "    return a[k * M + m];  // A is stored transposed\n"
                     : "    return a[m * K + k];\n";
    g.loadB = transB ? "    return b[n * K + k];  // B is stored transposed\n"
                     : "    return b[k * N + n];\n";
    g.store = "    uint i = m * N + n;\n";
    if (alpha != 1.0f) g.store += "    v *= " + floatLiteral(alpha) + ";  // alpha\n";
    const bool hasC = node.inputs.size() > 2 && node.inputs[2] != kNoValue;
    if (hasC) {
        // A size-1 or missing dim of C repeats.
        const Shape& cs = graph.value(node.inputs[2]).shape;
        const std::string col = cs.empty() || cs.back() == 1 ? "0u" : "n";
        const std::string row =
            cs.size() < 2 || cs[0] == 1 ? "0u" : "m * " + std::to_string(cs.back()) + "u";
        g.reads.push_back({"cb", node.inputs[2]});
        g.store += "    v += " + (beta != 1.0f ? floatLiteral(beta) + " * " : std::string()) +
                   "cb[" + row + " + " + col + "];  // beta * C\n";
    }
    g.store += "    y[i] = STORE(epilogue(v, n, i));\n";
    Epilogue start;
    if (hasC) start.suffix = "+bias";  // added in store(), before the epilogue
    const Epilogue e = fuseEpilogue(graph, index, 1, std::move(start));
    auto plan = tiledGemm(g, e, why);
    if (plan) {
        std::string kernel = "gpu gemm";
        if (transA) kernel += " transA";
        if (transB) kernel += " transB";
        plan->kernel = withSuffix(kernel, e);
    }
    return plan;
}

// The offset of batch `z` (of the broadcast `batch` dims) in an operand whose own batch dims
// are `operand`, right-aligned, size 1 repeating: as GLSL statements ending in a return.
std::string batchOffsetBody(const Shape& batch, const Shape& operand, uint64_t matrix) {
    if (operand.empty()) return "    return 0u;  // one matrix for every batch\n";
    if (operand == batch) return "    return z * " + std::to_string(matrix) + "u;\n";
    std::string s = "    uint offset = 0u;  // broadcast: a size-1 batch dim repeats\n";
    int64_t stride = 1;
    for (size_t d = 0; d < batch.size(); ++d) {
        const size_t axis = batch.size() - 1 - d;
        const std::string dim = std::to_string(batch[axis]);
        if (d < operand.size() && operand[operand.size() - 1 - d] != 1) {
            s += "    offset += (z % " + dim + "u) * " + std::to_string(stride) + "u;\n";
        }
        if (d < operand.size()) stride *= operand[operand.size() - 1 - d];
        if (d + 1 < batch.size()) s += "    z /= " + dim + "u;\n";
    }
    return s + "    return offset * " + std::to_string(matrix) + "u;\n";
}

// Numpy's matmul: each batch of the broadcast batch dims one GEMM; a 1-D A is one row and a 1-D
// B one column, which leaves the output's layout the same as [batch..., M, N].
std::optional<ShaderPlan> planMatMul(const ShaderContext& ctx, size_t index, std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    if (!fitsUint(graph, node, why)) return std::nullopt;
    Shape a = graph.value(node.inputs[0]).shape;
    Shape b = graph.value(node.inputs[1]).shape;
    if (a.empty() || b.empty()) {
        why = "MatMul needs operands of rank 1 or more";
        return std::nullopt;
    }
    const bool columnB = b.size() == 1;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (columnB) b.push_back(1);
    GemmSpec g;
    g.m = static_cast<uint64_t>(a[a.size() - 2]);
    g.k = static_cast<uint64_t>(a.back());
    g.n = static_cast<uint64_t>(b.back());
    const Shape aBatch(a.begin(), a.end() - 2), bBatch(b.begin(), b.end() - 2);
    Shape batch(std::max(aBatch.size(), bBatch.size()), 1);
    for (size_t d = 0; d < batch.size(); ++d) {
        const int64_t da = d < aBatch.size() ? aBatch[aBatch.size() - 1 - d] : 1;
        const int64_t db = d < bBatch.size() ? bBatch[bBatch.size() - 1 - d] : 1;
        batch[batch.size() - 1 - d] = da == 1 ? db : da;
    }
    g.batches = static_cast<uint64_t>(elementCount(batch));
    g.reads = {{"a", node.inputs[0]}, {"b", node.inputs[1]}};
    g.constants = "uint batchA(uint z) {\n" + batchOffsetBody(batch, aBatch, g.m * g.k) +
                  "}\nuint batchB(uint z) {\n" + batchOffsetBody(batch, bBatch, g.k * g.n) + "}\n";
    g.loadA = "    return a[batchA(z) + m * K + k];\n";
    g.loadB = "    return b[batchB(z) + k * N + n];\n";
    g.store =
        "    uint i = (z * M + m) * N + n;\n"
        "    y[i] = STORE(epilogue(v, n, i));\n";
    // A per-channel PRelu runs along the output's last axis only when that axis is N.
    const int channelAxis =
        columnB ? -1 : static_cast<int>(graph.value(node.outputs[0]).shape.size()) - 1;
    const Epilogue e = fuseEpilogue(graph, index, channelAxis, {});
    auto plan = tiledGemm(g, e, why);
    if (plan) {
        plan->kernel =
            withSuffix(g.batches > 1 ? "gpu matmul gemm " + std::to_string(g.batches) + " batches"
                                     : "gpu matmul gemm",
                       e);
    }
    return plan;
}

}  // namespace

std::optional<ShaderPlan> planConvShader(const ShaderContext& ctx, size_t node, std::string& why) {
    switch (ctx.graph.nodes[node].op) {
        case OpKind::Conv:
            return planConv(ctx, node, why);
        case OpKind::Gemm:
            return planGemm(ctx, node, why);
        case OpKind::MatMul:
            return planMatMul(ctx, node, why);
        default:
            why = std::string(opName(ctx.graph.nodes[node].op)) + " has no GPU shader yet";
            return std::nullopt;
    }
}

}  // namespace prunelab::engine::vulkan

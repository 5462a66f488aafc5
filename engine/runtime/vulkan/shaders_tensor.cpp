// Shaders of the ops around the convolutions: activations, broadcasting arithmetic, PRelu, the
// float maths (Neg Abs Floor Ceil Round Log Reciprocal Erf Softplus Mish, two-input Min/Max),
// Softmax, pools, Resize, the data movers (Concat, DepthToSpace, Transpose, Slice, Pad, the
// reshapes), BatchNormalization and ReduceMean, and issue 22's reductions (ReduceMax/Min/Sum,
// GlobalMaxPool), Expand, Tile and normalisations (Instance-, LayerNormalization, LRN). Each
// matches its reference kernel in engine/ops/.
//
// Sections: activations | the per-element shader and its helpers | element-wise | Softmax |
// pools | Resize | data movement | BatchNormalization and ReduceMean | issue 22's reductions and
// normalisations | planTensorShader. ArgMax (int64 output) runs on the CPU.
// Every shader runs one invocation per output element (per row for the reductions), with every
// size and stride written into the text as a constant, so a student reads the index arithmetic
// as plain numbers.
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>

#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/ops/resize.h"
#include "engine/runtime/vulkan/shaders_common.h"

namespace prunelab::engine::vulkan {

// ---- Activations (also what the conv and GEMM shaders fuse as their epilogue) ----

std::optional<std::string> activationExpr(const Node& op, std::vector<float>& push) {
    const Attributes& at = op.attrs;
    switch (op.op) {
        case OpKind::Relu:
            return "max(v, 0.0)";
        case OpKind::Sigmoid:
            return "1.0 / (1.0 + exp(-v))";
        case OpKind::Tanh:
            // A driver's tanh may be exp-based and give NaN (inf / inf) for large |v|; clamped
            // at 10 it cannot overflow, and tanh(10) is already 1.0 in float32.
            return "tanh(clamp(v, -10.0, 10.0))";
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

// ---- The per-element shader and its helpers ----

// -inf as a GLSL expression: GLSL has no literal for it (what an empty max starts from).
constexpr const char* kMinusInf = "uintBitsToFloat(0xff800000u)";

std::string u(int64_t v) {
    return std::to_string(v) + "u";
}

// Declares `prefix`0 .. `prefix`{r-1}: the coordinates of the flat row-major index `flat` in
// `shape` (a dim of 1 is coordinate 0).
std::string coordinates(const Shape& shape, const std::string& flat = "i",
                        const std::string& prefix = "o") {
    if (shape.empty()) return "";
    std::ostringstream s;
    const std::string t = "t" + prefix;
    s << "    uint " << t << " = " << flat << ";\n";
    for (size_t d = shape.size(); d-- > 1;) {
        s << "    uint " << prefix << d << " = ";
        if (shape[d] == 1) {
            s << "0u;\n";
        } else {
            s << t << " % " << u(shape[d]) << "; " << t << " /= " << u(shape[d]) << ";\n";
        }
    }
    s << "    uint " << prefix << "0 = " << t << ";\n";
    return s.str();
}

// sum_d `prefix`d * strides[d] as GLSL, without the zero strides ("0u" when none is left).
std::string offset(const std::vector<int64_t>& strides, const std::string& prefix = "o") {
    std::string e;
    for (size_t d = 0; d < strides.size(); ++d) {
        if (strides[d] == 0) continue;
        if (!e.empty()) e += " + ";
        e += prefix + std::to_string(d);
        if (strides[d] != 1) e += " * " + u(strides[d]);
    }
    return e.empty() ? "0u" : e;
}

// A buffer the shader reads: a graph value or the plan's own data, and its GLSL name and type.
struct Input {
    ShaderBinding binding;
    std::string name;
    const char* type = "float";
};

// The common frame of these shaders: one invocation per element of `grid` (its coordinates
// o0.. declared when `coords`), the inputs in binding order, then the output y written by
// `body`; `before` holds constants and functions; push constants p.a, p.b when `push` is given.
ShaderPlan elementPlan(const Node& node, std::string kernel, const Shape& grid,
                       const std::vector<Input>& inputs, const std::string& before,
                       const std::string& body, bool coords, std::vector<float> push = {}) {
    const auto invocations = static_cast<uint64_t>(elementCount(grid));
    ShaderPlan plan;
    plan.kernel = std::move(kernel);
    plan.groups = groups1d(invocations);
    std::ostringstream s;
    s << head1d(invocations);
    int binding = 0;
    for (const Input& in : inputs) {
        plan.bindings.push_back(in.binding);
        s << bufferDecl(binding++, in.name.c_str(), true, in.type);
    }
    plan.bindings.push_back(bindValue(node.outputs[0]));
    s << bufferDecl(binding, "y", false);
    if (!push.empty()) {
        push.resize(2, 0.0f);
        plan.push = std::move(push);
        s << "layout(push_constant) uniform Params { float a; float b; } p;\n";
    }
    s << before << "void main() {\n"
      << "    uint i = flatIndex();\n"
      << "    if (i >= TOTAL) return;\n";
    if (coords) s << coordinates(grid);
    s << body << "}\n";
    plan.glsl = s.str();
    return plan;
}

const Shape& shapeOf(const Graph& graph, ValueId id) {
    return graph.value(id).shape;
}

// y = f(x, p.a, p.b) per element.
ShaderPlan unary(const Graph& graph, const Node& node, const std::string& name,
                 const std::string& expr, std::vector<float> push, const std::string& before = "") {
    push.resize(2, 0.0f);
    return elementPlan(
        node, "gpu " + name, shapeOf(graph, node.outputs[0]), {{bindValue(node.inputs[0]), "x"}},
        before, "    float v = x[i];\n    y[i] = STORE(" + expr + ");\n", false, std::move(push));
}

// ---- Element-wise: Add Sub Mul Div Pow PRelu, numpy broadcasting ----

// std::pow's answers where GLSL's pow(b, e) = exp2(e * log2(b)) is undefined (b <= 0): an
// integer exponent keeps the sign, (-8)^(1/3) is NaN, 0^-1 is inf.
const char* kPowFunction =
    "float powExact(float b, float e) {\n"
    "    if (e == 0.0) return 1.0;\n"
    "    bool odd = e == floor(e) && mod(e, 2.0) == 1.0;\n"
    "    if (b == 0.0) {\n"
    "        if (e > 0.0) return odd ? b : 0.0;\n"
    "        float inf = uintBitsToFloat(0x7f800000u);\n"
    "        return odd && floatBitsToUint(b) != 0u ? -inf : inf;\n"
    "    }\n"
    "    if (b < 0.0) {\n"
    "        if (e != floor(e)) return uintBitsToFloat(0x7fc00000u);\n"
    "        return odd ? -pow(-b, e) : pow(-b, e);\n"
    "    }\n"
    "    return pow(b, e);\n"
    "}\n";

// erf(v) by Abramowitz and Stegun 7.1.26 (GLSL has no erf): for x = |v|, t = 1 / (1 + p x),
// erf(x) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) e^(-x^2), odd in v. Its error is at
// most 1.5e-7 in exact arithmetic; evaluated in float32 (with glibc's expf) the measured worst
// over [-6, 6] in steps of 1e-6 is 6.3e-7, near |x| = 0.04 where 1 - poly e^(-x^2) cancels:
// under 1e-6, and far inside the 1e-4-of-range the conformance test allows.
const char* kErfFunction =
    "float erfApprox(float v) {\n"
    "    float x = abs(v);\n"
    "    float t = 1.0 / (1.0 + 0.3275911 * x);\n"
    "    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741\n"
    "                 + t * (-1.453152027 + t * 1.061405429))));\n"
    "    float r = 1.0 - poly * exp(-x * x);\n"
    "    return v < 0.0 ? -r : r;\n"
    "}\n";

// softplus(v) = ln(1 + e^v) as max(v, 0) + ln(1 + e^-|v|): e^-|v| <= 1 cannot overflow. GLSL has
// no log1p: below 1e-4, ln(1 + u) = u - u^2/2 to float32 precision, where log(1.0 + u) would
// round 1 + u to 1 and lose u. Mish clamps softplus at 10 before tanh (tanh(10) is 1.0 in
// float32) for the reason Tanh clamps: an exp-based driver tanh gives NaN for large inputs; and
// at v = -inf it returns the limit 0 where -inf * tanh(0) would be NaN.
const char* kSoftplusFunction =
    "float softplus(float v) {\n"
    "    float u = exp(-abs(v));\n"
    "    return max(v, 0.0) + (u < 1e-4 ? u * (1.0 - 0.5 * u) : log(1.0 + u));\n"
    "}\n"
    "float mish(float v) {\n"
    "    if (isinf(v)) return v > 0.0 ? v : 0.0;\n"
    "    return v * tanh(min(softplus(v), 10.0));\n"
    "}\n";

// Min/Max of two: NaN when either is NaN, like the reference (GLSL's min/max leave it undefined).
const char* kPickNaN = "(isnan(va) || isnan(vb)) ? va + vb : ";

// y[i] = expr(va, vb) with va, vb the elements of a and b that broadcast onto output i: each
// input's offset is the output coordinates times its strides, 0 along its stretched dims.
ShaderPlan binary(const Graph& graph, const Node& node, const std::string& name,
                  const std::string& expr, const std::string& before = "") {
    const Shape& out = shapeOf(graph, node.outputs[0]);
    const Shape& a = shapeOf(graph, node.inputs[0]);
    const Shape& b = shapeOf(graph, node.inputs[1]);
    const bool same = a == out && b == out;
    const std::string ia = a == out ? "i" : offset(broadcastStrides(a, out));
    const std::string ib = b == out ? "i" : offset(broadcastStrides(b, out));
    return elementPlan(node, "gpu " + name + (same ? "" : " broadcast"), out,
                       {{bindValue(node.inputs[0]), "a"}, {bindValue(node.inputs[1]), "b"}}, before,
                       "    float va = a[" + ia + "];\n    float vb = b[" + ib + "];\n" +
                           "    y[i] = STORE(" + expr + ");\n",
                       !same);
}

// ---- Softmax ----

// The reference's view [outer][extent][inner] (extent = the axis, or axis..end when legacy):
// one invocation per (outer, inner) row, max subtracted before exp.
ShaderPlan softmax(const Graph& graph, const Node& node) {
    const Shape& shape = shapeOf(graph, node.inputs[0]);
    const auto axis =
        static_cast<size_t>(node.attrs.getInt("axis", static_cast<int64_t>(shape.size()) - 1));
    const bool legacy = node.attrs.getInt("legacy", 0) != 0;
    int64_t outer = 1, extent = 1, inner = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i < axis) {
            outer *= shape[i];
        } else if (i == axis || legacy) {
            extent *= shape[i];
        } else {
            inner *= shape[i];
        }
    }
    std::ostringstream before, body;
    before << "const uint EXTENT = " << u(extent) << ", INNER = " << u(inner) << ";\n";
    body << "    uint base = o0 * (EXTENT * INNER) + o1;\n"
         << "    float m = " << kMinusInf << ";\n"
         << "    for (uint e = 0u; e < EXTENT; ++e) m = max(m, float(x[base + e * INNER]));\n"
         << "    float sum = 0.0;\n"
         << "    for (uint e = 0u; e < EXTENT; ++e) sum += exp(x[base + e * INNER] - m);\n"
         << "    for (uint e = 0u; e < EXTENT; ++e) {\n"
         << "        y[base + e * INNER] = STORE(exp(x[base + e * INNER] - m) / sum);\n"
         << "    }\n";
    return elementPlan(node, "gpu softmax (rows of " + std::to_string(extent) + ")", {outer, inner},
                       {{bindValue(node.inputs[0]), "x"}}, before.str(), body.str(), true);
}

// ---- Pools ----

std::string poolConstants(const PoolParams& p) {
    std::ostringstream s;
    s << "const uint C = " << u(p.channels) << ", IH = " << u(p.inH) << ", IW = " << u(p.inW)
      << ";\n"
      << "const uint KH = " << u(p.kernelH) << ", KW = " << u(p.kernelW) << ";\n"
      << "const uint SH = " << u(p.strideH) << ", SW = " << u(p.strideW) << ";\n"
      << "const uint DH = " << u(p.dilationH) << ", DW = " << u(p.dilationW) << ";\n"
      << "const int PT = " << p.padTop << ", PL = " << p.padLeft << ", PB = " << p.padBottom
      << ", PR = " << p.padRight << ";\n";
    return s.str();
}

std::string poolName(const char* op, const PoolParams& p) {
    std::string name = std::string("gpu ") + op + " " + std::to_string(p.kernelH) + "x" +
                       std::to_string(p.kernelW);
    if (p.strideH != 1 || p.strideW != 1) {
        name += " /" + std::to_string(p.strideH) +
                (p.strideW != p.strideH ? "x" + std::to_string(p.strideW) : "");
    }
    if (p.ceilMode) name += " ceil";
    return name;
}

// Taps outside the input are skipped (they count as -inf), as in the reference.
ShaderPlan maxPool(const Node& node, const PoolParams& p) {
    std::ostringstream body;
    body << "    uint plane = (o0 * C + o1) * (IH * IW);\n"
         << "    float best = " << kMinusInf << ";\n"
         << "    for (uint ky = 0u; ky < KH; ++ky) {\n"
         << "        int iy = int(o2 * SH + ky * DH) - PT;\n"
         << "        if (iy < 0 || iy >= int(IH)) continue;\n"
         << "        for (uint kx = 0u; kx < KW; ++kx) {\n"
         << "            int ix = int(o3 * SW + kx * DW) - PL;\n"
         << "            if (ix < 0 || ix >= int(IW)) continue;\n"
         << "            best = max(best, float(x[plane + uint(iy) * IW + uint(ix)]));\n"
         << "        }\n"
         << "    }\n"
         << "    y[i] = STORE(best);\n";
    return elementPlan(node, poolName("max pool", p), {p.batch, p.channels, p.outH, p.outW},
                       {{bindValue(node.inputs[0]), "x"}}, poolConstants(p), body.str(), true);
}

// The divisor is the taps inside the input, or with count_include_pad those inside the padded
// input (never the part of a ceil_mode window hanging past the end padding), as in the
// reference; a window seeing only padding gives 0.
ShaderPlan averagePool(const Node& node, const PoolParams& p) {
    std::ostringstream body;
    body << "    uint plane = (o0 * C + o1) * (IH * IW);\n"
         << "    float sum = 0.0;\n"
         << "    uint count = 0u;\n"
         << "    for (uint ky = 0u; ky < KH; ++ky) {\n"
         << "        int iy = int(o2 * SH + ky * DH) - PT;\n";
    if (p.countIncludePad) {
        body << "        bool rowPadded = iy >= -PT && iy < int(IH) + PB;\n";
    }
    body << "        bool rowInside = iy >= 0 && iy < int(IH);\n"
         << "        for (uint kx = 0u; kx < KW; ++kx) {\n"
         << "            int ix = int(o3 * SW + kx * DW) - PL;\n";
    if (p.countIncludePad) {
        body << "            if (rowPadded && ix >= -PL && ix < int(IW) + PR) ++count;\n"
             << "            if (rowInside && ix >= 0 && ix < int(IW)) {\n"
             << "                sum += x[plane + uint(iy) * IW + uint(ix)];\n"
             << "            }\n";
    } else {
        body << "            if (rowInside && ix >= 0 && ix < int(IW)) {\n"
             << "                sum += x[plane + uint(iy) * IW + uint(ix)];\n"
             << "                ++count;\n"
             << "            }\n";
    }
    body << "        }\n"
         << "    }\n"
         << "    y[i] = STORE(count > 0u ? sum / float(count) : 0.0);\n";
    return elementPlan(node, poolName("average pool", p) + (p.countIncludePad ? " incl. pad" : ""),
                       {p.batch, p.channels, p.outH, p.outW}, {{bindValue(node.inputs[0]), "x"}},
                       poolConstants(p), body.str(), true);
}

// A long sum in float, in blocks of 256 added together: its error grows with the number of
// blocks, not of elements (the reference sums in double). `term(k)` reads element k.
std::string blockedSum(const std::string& count, const std::string& term) {
    return "    float sum = 0.0;\n"
           "    for (uint k0 = 0u; k0 < " +
           count +
           "; k0 += 256u) {\n"
           "        float part = 0.0;\n"
           "        for (uint k = k0; k < min(k0 + 256u, " +
           count + "); ++k) {\n" + term +
           "        }\n"
           "        sum += part;\n"
           "    }\n";
}

ShaderPlan globalAveragePool(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    int64_t pixels = 1;
    for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
    const std::string body = blockedSum("PIXELS", "            part += x[i * PIXELS + k];\n") +
                             "    y[i] = STORE(sum / float(PIXELS));\n";
    return elementPlan(node, "gpu global average pool", {x[0] * x[1]},
                       {{bindValue(node.inputs[0]), "x"}},
                       "const uint PIXELS = " + u(pixels) + ";\n", body, false);
}

// ---- Resize ----

// True when output o of the axis reads exactly input o (weight 1, every other tap weight 0):
// the reference skips such an axis, and so does the shader.
bool identityTaps(const ResizeTaps& t, int64_t inLen, int64_t outLen) {
    if (inLen != outLen) return false;
    for (int64_t o = 0; o < outLen; ++o) {
        float self = 0.0f;
        for (int64_t k = 0; k < t.taps; ++k) {
            const auto tap = static_cast<size_t>(o * t.taps + k);
            if (t.index[tap] == o) {
                self += t.weight[tap];
            } else if (t.weight[tap] != 0.0f) {
                return false;
            }
        }
        if (self != 1.0f) return false;
    }
    return true;
}

// Each resized axis reads its taps from a table made here with the reference's own arithmetic
// (resizeTaps: the coordinate transform and the rounding in float, as the CPU does them): for
// output position o, input indices taps[start + o*T + k] and, for linear and cubic, weights
// uintBitsToFloat(taps[start + o*T + k + N]). The separable sum becomes one sum over every
// combination of taps.
std::optional<ShaderPlan> resize(const Graph& graph, const Node& node, std::string& why) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const std::vector<int64_t> sizes = node.attrs.getInts("sizes");
    const std::vector<float> scales = node.attrs.getFloats("scales");
    const std::string mode = node.attrs.getString("mode", "nearest");
    if (mode != "nearest" && mode != "linear" && mode != "cubic") {
        why = "Resize mode '" + mode + "' has no GPU shader yet";
        return std::nullopt;
    }
    if (sizes.size() != x.size() || scales.size() != x.size()) {
        why = "Resize needs one size and one scale per input dim";
        return std::nullopt;
    }
    auto table = std::make_shared<std::vector<uint32_t>>();
    const std::vector<int64_t> strides = contiguousStrides(x);
    std::ostringstream body;
    std::string loops, closes, weight, indent = "    ";
    std::vector<std::string> index(x.size());
    for (size_t d = 0; d < x.size(); ++d) {
        const std::string o = "o" + std::to_string(d), id = "i" + std::to_string(d);
        const ResizeTaps t = resizeTaps(node.attrs, x[d], sizes[d], scales[d]);
        if (identityTaps(t, x[d], sizes[d])) {
            index[d] = o;
            continue;
        }
        const auto start = static_cast<int64_t>(table->size());
        const auto n = static_cast<int64_t>(t.index.size());
        for (int64_t i : t.index) table->push_back(static_cast<uint32_t>(i));
        index[d] = id;
        if (t.taps == 1) {  // nearest: weight 1
            body << "    uint " << id << " = taps[" << u(start) << " + " << o << "];\n";
            continue;
        }
        for (float w : t.weight) {
            uint32_t bits;
            std::memcpy(&bits, &w, sizeof bits);
            table->push_back(bits);
        }
        const std::string k = "k" + std::to_string(d), j = "j" + std::to_string(d),
                          w = "w" + std::to_string(d);
        loops += indent + "for (uint " + k + " = 0u; " + k + " < " + u(t.taps) + "; ++" + k +
                 ") {\n" + indent + "    uint " + j + " = " + u(start) + " + " + o + " * " +
                 u(t.taps) + " + " + k + ";\n" + indent + "    uint " + id + " = taps[" + j +
                 "];\n" + indent + "    float " + w + " = uintBitsToFloat(taps[" + j + " + " +
                 u(n) + "]);\n";
        closes = indent + "}\n" + closes;
        weight += w + " * ";
        indent += "    ";
    }
    std::string source;
    for (size_t d = 0; d < x.size(); ++d) {
        if (strides[d] == 0 || x[d] == 1) continue;
        if (!source.empty()) source += " + ";
        source += index[d] + (strides[d] != 1 ? " * " + u(strides[d]) : "");
    }
    if (source.empty()) source = "0u";
    std::vector<Input> inputs = {{bindValue(node.inputs[0]), "x"}};
    if (!table->empty()) inputs.push_back({ShaderBinding{kNoValue, table}, "taps", "uint"});
    if (loops.empty()) {
        body << "    y[i] = STORE(x[" << source << "]);\n";
    } else {
        body << "    float acc = 0.0;\n"
             << loops << indent << "acc += " << weight << "x[" << source << "];\n"
             << closes << "    y[i] = STORE(acc);\n";
    }
    std::string name = "gpu resize " + mode;
    if (mode == "nearest") name += " " + node.attrs.getString("nearest_mode", "round_prefer_floor");
    name += " " + node.attrs.getString("coordinate_transformation_mode", "half_pixel");
    return elementPlan(node, name, sizes, inputs, "", body.str(), true);
}

// ---- Data movement ----

// Inputs one Concat shader binds, plus its output: 16 storage buffers, within the
// maxPerStageDescriptorStorageBuffers of most desktop and phone GPUs (the spec's minimum is 4;
// the device's own limit is not consulted yet).
constexpr size_t kMaxConcatInputs = 15;

// Output element i = (outer, a, inner) along the axis reads input k, the one whose slice of
// the axis holds a, at (outer, a - start_k, inner).
std::optional<ShaderPlan> concat(const Graph& graph, const Node& node, std::string& why) {
    const Shape& out = shapeOf(graph, node.outputs[0]);
    const auto axis = static_cast<size_t>(node.attrs.getInt("axis", 0));
    int64_t inner = 1;
    for (size_t d = axis + 1; d < out.size(); ++d) inner *= out[d];
    std::vector<Input> inputs;
    std::ostringstream body;
    body << "    uint inner = i % INNER, a = (i / INNER) % AXIS, outer = i / (INNER * AXIS);\n";
    int64_t start = 0;
    for (ValueId id : node.inputs) {
        const int64_t len = shapeOf(graph, id)[axis];
        if (len == 0) continue;  // holds nothing (and an empty buffer cannot be bound)
        std::string name = "x";  // x0, x1, ...: built by appending (GCC 12 -Wrestrict bug)
        name += std::to_string(inputs.size());
        inputs.push_back({bindValue(id), name});
        body << "    " << (start > 0 ? "else " : "") << "if (a < " << u(start + len)
             << ") y[i] = STORE(" << name << "[(outer * " << u(len) << " + a";
        if (start > 0) body << " - " << u(start);
        body << ") * INNER + inner]);\n";
        start += len;
    }
    if (inputs.size() > kMaxConcatInputs) {
        why = "Concat of " + std::to_string(inputs.size()) + " inputs binds more than " +
              std::to_string(kMaxConcatInputs) + " buffers (runs on the CPU)";
        return std::nullopt;
    }
    return elementPlan(
        node, "gpu concat (" + std::to_string(inputs.size()) + " inputs)", out, inputs,
        "const uint INNER = " + u(inner) + ", AXIS = " + u(out[axis]) + ";\n", body.str(), false);
}

// With b = blocksize and C' = C / b^2, output (n, c, h*b + bi, w*b + bj) reads channel
// (bi*b + bj)*C' + c (DCR) or c*b*b + bi*b + bj (CRD) at (h, w).
ShaderPlan depthToSpace(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const int64_t b = node.attrs.getInt("blocksize", 1);
    const bool dcr = node.attrs.getString("mode", "DCR") == "DCR";
    std::ostringstream before;
    before << "const uint B = " << u(b) << ", C = " << u(x[1]) << ", C2 = " << u(x[1] / (b * b))
           << ", H = " << u(x[2]) << ", W = " << u(x[3]) << ";\n";
    std::string body = "    uint bi = o2 % B, bj = o3 % B;\n";
    body += dcr ? "    uint ic = (bi * B + bj) * C2 + o1;\n"
                : "    uint ic = o1 * B * B + bi * B + bj;\n";
    body += "    y[i] = STORE(x[((o0 * C + ic) * H + o2 / B) * W + o3 / B]);\n";
    return elementPlan(node, std::string("gpu depth to space ") + (dcr ? "DCR" : "CRD"),
                       shapeOf(graph, node.outputs[0]), {{bindValue(node.inputs[0]), "x"}},
                       before.str(), body, true);
}

// Output dim k walks input dim perm[k]: its stride in x is x's stride of that dim.
ShaderPlan transpose(const Graph& graph, const Node& node) {
    const std::vector<int64_t> perm = node.attrs.getInts("perm");
    const std::vector<int64_t> xStrides = contiguousStrides(shapeOf(graph, node.inputs[0]));
    std::vector<int64_t> from(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) from[k] = xStrides[static_cast<size_t>(perm[k])];
    const Shape& out = shapeOf(graph, node.outputs[0]);
    for (size_t k = 0; k < out.size(); ++k) {
        if (out[k] == 1) from[k] = 0;  // coordinate 0: no term
    }
    return elementPlan(node, "gpu transpose " + shapeToString(perm), out,
                       {{bindValue(node.inputs[0]), "x"}}, "",
                       "    y[i] = STORE(x[" + offset(from) + "]);\n", true);
}

// y[o] = x[sum_d (start_d + o_d * step_d) * stride_d]: a constant base plus one signed term per
// dim (steps may be negative). The canonical starts/ends/steps are constants of the IR.
std::optional<ShaderPlan> slice(const Graph& graph, const Node& node, std::string& why) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const Shape& out = shapeOf(graph, node.outputs[0]);
    const std::vector<int64_t> starts = node.attrs.getInts("starts");
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    const std::vector<int64_t> steps = node.attrs.getInts("steps");
    if (axes.size() != starts.size() || steps.size() != starts.size()) {
        why = "Slice needs as many starts, axes and steps";
        return std::nullopt;
    }
    const std::vector<int64_t> strides = contiguousStrides(x);
    std::vector<int64_t> start(x.size(), 0), step(x.size(), 1);
    for (size_t k = 0; k < axes.size(); ++k) {
        const auto a = static_cast<size_t>(axes[k]);
        start[a] = starts[k];
        step[a] = steps[k];
    }
    int64_t base = 0;
    std::string source;
    for (size_t d = 0; d < x.size(); ++d) {
        base += start[d] * strides[d];
        if (out[d] <= 1) continue;
        const int64_t coef = step[d] * strides[d];  // negative when the slice runs backward
        source += (coef < 0 ? " - int(o" : " + int(o") + std::to_string(d) + ") * " +
                  std::to_string(coef < 0 ? -coef : coef);
    }
    return elementPlan(node, "gpu slice", out, {{bindValue(node.inputs[0]), "x"}}, "",
                       "    y[i] = STORE(x[uint(" + std::to_string(base) + source + ")]);\n", true);
}

// Output coordinate o_d reads input o_d - before_d; outside [0, dim): the constant p.a,
// the mirror (-i, or 2(dim-1) - i; the border not repeated) or the border (edge).
std::optional<ShaderPlan> pad(const Graph& graph, const Node& node, std::string& why) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const std::vector<int64_t> pads = node.attrs.getInts("pads");
    const std::string mode = node.attrs.getString("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") {
        why = "Pad mode '" + mode + "' has no GPU shader yet";
        return std::nullopt;
    }
    if (pads.size() != 2 * x.size()) {
        why = "Pad needs two pads per dim";
        return std::nullopt;
    }
    const std::vector<int64_t> strides = contiguousStrides(x);
    std::ostringstream body;
    if (mode == "constant") body << "    bool inside = true;\n";
    std::string source;
    for (size_t d = 0; d < x.size(); ++d) {
        // Appended rather than "i" + std::to_string(d): GCC 12 at -O3 reports a false
        // -Wrestrict in the inlined operator+(const char*, string&&) here.
        std::string i = "i", o = "o";
        i += std::to_string(d);
        o += std::to_string(d);
        const int64_t before = pads[d], after = pads[x.size() + d], dim = x[d];
        body << "    int " << i << " = int(" << o << ")" << (before != 0 ? " - " : "")
             << (before != 0 ? std::to_string(before) : "") << ";\n";
        if (before > 0 || after > 0) {  // only then can the coordinate leave the input
            if (mode == "constant") {
                body << "    if (" << i << " < 0 || " << i << " >= " << dim
                     << ") inside = false;\n";
            } else if (mode == "reflect") {
                body << "    " << i << " = " << i << " < 0 ? -" << i << " : (" << i << " >= " << dim
                     << " ? " << 2 * (dim - 1) << " - " << i << " : " << i << ");\n";
            } else {
                body << "    " << i << " = clamp(" << i << ", 0, " << dim - 1 << ");\n";
            }
        }
        if (dim > 1) {
            if (!source.empty()) source += " + ";
            source += i + (strides[d] != 1 ? " * " + std::to_string(strides[d]) : "");
        }
    }
    if (source.empty()) source = "0";
    if (mode == "constant") {
        body << "    if (!inside) {\n        y[i] = STORE(p.a);\n        return;\n    }\n";
    }
    body << "    y[i] = STORE(x[uint(" << source << ")]);\n";
    return elementPlan(node, "gpu pad " + mode, shapeOf(graph, node.outputs[0]),
                       {{bindValue(node.inputs[0]), "x"}}, "", body.str(), true,
                       {node.attrs.getFloat("value", 0.0f)});
}

// ---- BatchNormalization and ReduceMean ----

// y = scale[c] * (x - mean[c]) / sqrt(var[c] + epsilon) + B[c], c = the element's channel.
ShaderPlan batchNormalization(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    int64_t inner = 1;
    for (size_t d = 2; d < x.size(); ++d) inner *= x[d];
    return elementPlan(
        node, "gpu batch normalization", x,
        {{bindValue(node.inputs[0]), "x"},
         {bindValue(node.inputs[1]), "scale"},
         {bindValue(node.inputs[2]), "bias"},
         {bindValue(node.inputs[3]), "mean"},
         {bindValue(node.inputs[4]), "var"}},
        "const uint C = " + u(x[1]) + ", INNER = " + u(inner) + ";\n",
        "    uint c = (i / INNER) % C;\n"
        "    y[i] = STORE(scale[c] * (x[i] - mean[c]) / sqrt(var[c] + p.a) + bias[c]);\n",
        false, {node.attrs.getFloat("epsilon", 1e-5f)});
}

// Output element j (in the keepdims layout: reduced dims of size 1, the same element order)
// averages the COUNT inputs that share its kept coordinates; r walks the reduced ones.
std::optional<ShaderPlan> reduceMean(const Graph& graph, const Node& node, std::string& why) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    std::vector<bool> reduced(x.size(), axes.empty());
    for (int64_t a : axes) {
        if (a < 0 || a >= static_cast<int64_t>(x.size())) {
            why = "ReduceMean axis " + std::to_string(a) + " is out of range";
            return std::nullopt;
        }
        reduced[static_cast<size_t>(a)] = true;
    }
    const std::vector<int64_t> strides = contiguousStrides(x);
    Shape kept(x), reducedShape;
    std::vector<int64_t> keptStrides(x.size(), 0), reducedStrides;
    int64_t count = 1;
    for (size_t d = 0; d < x.size(); ++d) {
        if (reduced[d]) {
            kept[d] = 1;
            count *= x[d];
            reducedShape.push_back(x[d]);
            reducedStrides.push_back(strides[d]);
        } else if (x[d] > 1) {
            keptStrides[d] = strides[d];
        }
    }
    std::string term = reducedShape.empty() ? "" : coordinates(reducedShape, "k", "r");
    // coordinates() indents by 4: these statements sit in the inner loop, 8 deeper.
    std::string indented;
    for (size_t p = 0, q; p < term.size(); p = q + 1) {
        q = term.find('\n', p);
        indented += "        " + term.substr(p, q - p + 1);
    }
    indented += "            part += x[base + " + offset(reducedStrides, "r") + "];\n";
    return elementPlan(node, "gpu reduce mean", kept, {{bindValue(node.inputs[0]), "x"}},
                       "const uint COUNT = " + u(count) + ";\n",
                       "    uint base = " + offset(keptStrides) + ";\n" +
                           blockedSum("COUNT", indented) +
                           "    y[i] = STORE(sum / float(COUNT));\n",
                       true);
}

// ---- Issue 22's reductions and normalisations: ReduceMax/Min/Sum, GlobalMaxPool, Expand,
// Tile, InstanceNormalization, LayerNormalization, LRN ----

// A float as GLSL that reads back the same bits (attributes such as LRN's alpha go into the
// text; a decimal rendering could round them).
std::string floatBits(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    std::string text = "uintBitsToFloat(";  // appended: GCC 12's -Wrestrict false positive
    text += std::to_string(bits);
    return text + "u)";
}

// `text`'s lines indented by `by` more spaces.
std::string indentBy(const std::string& text, const std::string& by) {
    std::string out;
    for (size_t p = 0, q; p < text.size(); p = q + 1) {
        q = text.find('\n', p);
        if (q == std::string::npos) q = text.size();
        out += by + text.substr(p, q - p + 1);
    }
    return out;
}

// ReduceMax/Min/Sum: output element j (in the keepdims layout: reduced dims of size 1, the same
// element order) combines the COUNT inputs that share its kept coordinates; k walks the reduced
// ones (none when noop_with_empty_axes left nothing to reduce: a copy).
std::optional<ShaderPlan> reduction(const Graph& graph, const Node& node, std::string& why) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    if (elementCount(x) == 0) {
        why = std::string(opName(node.op)) + " of an empty input has no buffer to bind";
        return std::nullopt;
    }
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    std::vector<bool> reduced(x.size(),
                              axes.empty() && node.attrs.getInt("noop_with_empty_axes", 0) == 0);
    for (int64_t a : axes) {
        if (a < 0 || a >= static_cast<int64_t>(x.size())) {
            why = std::string(opName(node.op)) + " axis " + std::to_string(a) + " is out of range";
            return std::nullopt;
        }
        reduced[static_cast<size_t>(a)] = true;
    }
    const std::vector<int64_t> strides = contiguousStrides(x);
    Shape kept(x), reducedShape;
    std::vector<int64_t> keptStrides(x.size(), 0), reducedStrides;
    int64_t count = 1;
    for (size_t d = 0; d < x.size(); ++d) {
        if (reduced[d]) {
            kept[d] = 1;
            count *= x[d];
            reducedShape.push_back(x[d]);
            reducedStrides.push_back(strides[d]);
        } else if (x[d] > 1) {
            keptStrides[d] = strides[d];
        }
    }
    const std::string coords = reducedShape.empty() ? "" : coordinates(reducedShape, "k", "r");
    const std::string read = "x[base + " + offset(reducedStrides, "r") + "]";
    std::string body = "    uint base = " + offset(keptStrides) + ";\n", name;
    if (node.op == OpKind::ReduceSum) {
        // Blocks of 256 summed apart, as ReduceMean does: a long float sum loses less.
        body += blockedSum("COUNT",
                           indentBy(coords, "        ") + "            part += " + read + ";\n") +
                "    y[i] = STORE(sum);\n";
        name = "gpu reduce sum";
    } else {
        const bool isMax = node.op == OpKind::ReduceMax;
        body += std::string("    float m = ") +
                (isMax ? kMinusInf : "uintBitsToFloat(0x7f800000u)") +
                ";\n    for (uint k = 0u; k < COUNT; ++k) {\n" + indentBy(coords, "    ") +
                // A NaN wins and stays, as in the reference (GLSL's max/min leave it undefined).
                "        float v = float(" + read + ");\n" + "        if (isnan(v) || v " +
                (isMax ? ">" : "<") + " m) m = v;\n    }\n" + "    y[i] = STORE(m);\n";
        name = isMax ? "gpu reduce max" : "gpu reduce min";
    }
    return elementPlan(node, name, kept, {{bindValue(node.inputs[0]), "x"}},
                       "const uint COUNT = " + u(count) + ";\n", body, true);
}

// y[n][c] = the largest of the PIXELS values of plane (n, c).
ShaderPlan globalMaxPool(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    int64_t pixels = 1;
    for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
    return elementPlan(
        node, "gpu global max pool", {x[0] * x[1]}, {{bindValue(node.inputs[0]), "x"}},
        "const uint PIXELS = " + u(pixels) + ";\n",
        "    float m = float(x[i * PIXELS]);\n"
        "    for (uint k = 1u; k < PIXELS; ++k) m = max(m, float(x[i * PIXELS + k]));\n"
        "    y[i] = STORE(m);\n",
        false);
}

// Expand: output coordinate o_d reads X's o_d, or 0 along X's stretched and missing dims.
ShaderPlan expand(const Graph& graph, const Node& node) {
    const Shape& out = shapeOf(graph, node.outputs[0]);
    return elementPlan(node, "gpu expand", out, {{bindValue(node.inputs[0]), "x"}}, "",
                       "    y[i] = STORE(x[" +
                           offset(broadcastStrides(shapeOf(graph, node.inputs[0]), out)) + "]);\n",
                       true);
}

// Tile: output coordinate o_d reads X's o_d % X.shape[d] (no term where X's dim is 1).
ShaderPlan tile(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const std::vector<int64_t> strides = contiguousStrides(x);
    std::string source;
    for (size_t d = 0; d < x.size(); ++d) {
        if (x[d] == 1) continue;
        if (!source.empty()) source += " + ";
        source += "(o";
        source += std::to_string(d);
        source += " % " + u(x[d]) + ")";
        if (strides[d] != 1) source += " * " + u(strides[d]);
    }
    if (source.empty()) source = "0u";
    return elementPlan(node, "gpu tile", shapeOf(graph, node.outputs[0]),
                       {{bindValue(node.inputs[0]), "x"}}, "",
                       "    y[i] = STORE(x[" + source + "]);\n", true);
}

// The mean and variance of the LEN values x[base + e(k)], two passes in blocks of 256 (as
// ReduceMean sums), as GLSL declaring `mean` and `invStd` (p.a = epsilon).
std::string rowStatistics(const std::string& element) {
    return "    float mean, invStd;\n    {\n" +
           indentBy(blockedSum("LEN", "            part += float(x[" + element + "]);\n"), "    ") +
           "        mean = sum / float(LEN);\n    }\n    {\n" +
           indentBy(blockedSum("LEN", "            float d = float(x[" + element +
                                          "]) - mean;\n            part += d * d;\n"),
                    "    ") +
           "        invStd = 1.0 / sqrt(sum / float(LEN) + p.a);\n    }\n";
}

// One invocation per (n, c) plane: its statistics, then every pixel of it.
ShaderPlan instanceNormalization(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    int64_t pixels = 1;
    for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
    return elementPlan(node, "gpu instance normalization", {x[0] * x[1]},
                       {{bindValue(node.inputs[0]), "x"},
                        {bindValue(node.inputs[1]), "scale"},
                        {bindValue(node.inputs[2]), "bias"}},
                       "const uint LEN = " + u(pixels) + ", C = " + u(x[1]) + ";\n",
                       "    uint base = i * LEN, c = i % C;\n" + rowStatistics("base + k") +
                           "    for (uint k = 0u; k < LEN; ++k) {\n"
                           "        y[base + k] = STORE(scale[c] * (float(x[base + k]) - mean) * "
                           "invStd + bias[c]);\n    }\n",
                       false, {node.attrs.getFloat("epsilon", 1e-5f)});
}

// One invocation per row of LEN = prod(X.shape[axis:]) values; Scale and B read through their
// broadcast strides over the row's coordinates q (or directly when they have the row's shape).
ShaderPlan layerNormalization(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    const auto axis =
        static_cast<size_t>(node.attrs.getInt("axis", static_cast<int64_t>(x.size()) - 1));
    const Shape row(x.begin() + static_cast<int64_t>(axis), x.end());
    const bool hasBias = node.inputs.size() > 2 && node.inputs[2] != kNoValue;
    std::vector<Input> inputs = {{bindValue(node.inputs[0]), "x"},
                                 {bindValue(node.inputs[1]), "scale"}};
    if (hasBias) inputs.push_back({bindValue(node.inputs[2]), "bias"});
    bool needCoords = false;
    auto at = [&](ValueId id) {
        const Shape& s = shapeOf(graph, id);
        if (s == row) return std::string("k");
        needCoords = true;
        return offset(broadcastStrides(s, row), "q");
    };
    const std::string scaleAt = at(node.inputs[1]);
    const std::string biasAt = hasBias ? at(node.inputs[2]) : "";
    std::string write = "    for (uint k = 0u; k < LEN; ++k) {\n";
    if (needCoords) write += indentBy(coordinates(row, "k", "q"), "    ");
    write += "        y[base + k] = STORE((float(x[base + k]) - mean) * invStd * scale[" + scaleAt +
             "]" + (hasBias ? " + bias[" + biasAt + "]" : std::string()) + ");\n    }\n";
    return elementPlan(
        node,
        std::string("gpu layer normalization (rows of ") + std::to_string(elementCount(row)) + ")",
        {elementCount(x) / elementCount(row)}, inputs,
        "const uint LEN = " + u(elementCount(row)) + ";\n",
        "    uint base = i * LEN;\n" + rowStatistics("base + k") + write, false,
        {node.attrs.getFloat("epsilon", 1e-5f)});
}

// LRN: element (n, c, p) sums the squares of channels max(c - BELOW, 0) .. min(c + ABOVE, C-1)
// at p, BELOW = floor((size-1)/2), ABOVE = ceil((size-1)/2); y = x / (bias + alpha/size *
// sum)^beta (the base is positive for ONNX's bias > 0, where GLSL's pow is defined).
ShaderPlan lrn(const Graph& graph, const Node& node) {
    const Shape& x = shapeOf(graph, node.inputs[0]);
    int64_t pixels = 1;
    for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
    const int64_t size = node.attrs.getInt("size", 1);
    const int64_t below = (size - 1) / 2, above = size - 1 - below;
    std::ostringstream before, body;
    before << "const uint C = " << u(x[1]) << ", PIXELS = " << u(pixels) << ";\n"
           << "const int BELOW = " << below << ", ABOVE = " << above << ";\n";
    body << "    uint c = (i / PIXELS) % C, base = i - c * PIXELS;\n"
         << "    int from = max(int(c) - BELOW, 0), to = min(int(c) + ABOVE, int(C) - 1);\n"
         << "    float squares = 0.0;\n"
         << "    for (int k = from; k <= to; ++k) {\n"
         << "        float v = float(x[base + uint(k) * PIXELS]);\n"
         << "        squares += v * v;\n"
         << "    }\n"
         << "    float scaled = " << floatBits(node.attrs.getFloat("bias", 1.0f)) << " + "
         << floatBits(node.attrs.getFloat("alpha", 1e-4f) / static_cast<float>(size))
         << " * squares;\n"
         << "    y[i] = STORE(float(x[i]) / pow(scaled, "
         << floatBits(node.attrs.getFloat("beta", 0.75f)) << "));\n";
    return elementPlan(node, std::string("gpu lrn (size ") + std::to_string(size) + ")", x,
                       {{bindValue(node.inputs[0]), "x"}}, before.str(), body.str(), false);
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

// The limits every shader here shares: an empty tensor has nothing to compute (and an empty
// buffer cannot be bound), and the index arithmetic is 32-bit.
bool fitsTheShaders(const Graph& graph, const Node& node, std::string& why) {
    for (ValueId id : node.outputs) {
        const Value& v = graph.value(id);
        if (elementCount(v.shape) == 0) {
            why = "output '" + v.name + "' is empty: nothing for the GPU to compute";
            return false;
        }
    }
    std::vector<ValueId> all = node.inputs;
    all.insert(all.end(), node.outputs.begin(), node.outputs.end());
    for (ValueId id : all) {
        if (id == kNoValue) continue;
        const Value& v = graph.value(id);
        if (elementCount(v.shape) > std::numeric_limits<int32_t>::max()) {
            why = "'" + v.name + "' " + shapeToString(v.shape) +
                  " has more elements than the shaders' 32-bit indices reach";
            return false;
        }
    }
    return true;
}

}  // namespace

// ---- planTensorShader ----

std::optional<ShaderPlan> planTensorShader(const ShaderContext& ctx, size_t index,
                                           std::string& why) {
    const Graph& graph = ctx.graph;
    const Node& node = graph.nodes[index];
    if (!fitsTheShaders(graph, node, why)) return std::nullopt;
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
        case OpKind::Neg:
            return unary(graph, node, "neg", "-v", {});
        case OpKind::Abs:
            return unary(graph, node, "abs", "abs(v)", {});
        case OpKind::Floor:
            return unary(graph, node, "floor", "floor(v)", {});
        case OpKind::Ceil:
            return unary(graph, node, "ceil", "ceil(v)", {});
        case OpKind::Round:
            return unary(graph, node, "round", "roundEven(v)", {});  // halves to even, as ONNX
        case OpKind::Log:
            return unary(graph, node, "log", "log(v)", {});
        case OpKind::Reciprocal:
            return unary(graph, node, "reciprocal", "1.0 / v", {});
        case OpKind::Erf:
            return unary(graph, node, "erf", "erfApprox(v)", {}, kErfFunction);
        case OpKind::Softplus:
            return unary(graph, node, "softplus", "softplus(v)", {}, kSoftplusFunction);
        case OpKind::Mish:
            return unary(graph, node, "mish", "mish(v)", {}, kSoftplusFunction);
        case OpKind::Min:
        case OpKind::Max: {
            const bool isMax = node.op == OpKind::Max;
            if (node.inputs.size() == 1) return unary(graph, node, "copy", "v", {});
            if (node.inputs.size() > 2) {
                why = std::string(opName(node.op)) + " of " + std::to_string(node.inputs.size()) +
                      " inputs: the GPU shader takes two (models use two), so it runs on the CPU";
                return std::nullopt;
            }
            return binary(graph, node, isMax ? "max" : "min",
                          std::string(kPickNaN) + (isMax ? "max(va, vb)" : "min(va, vb)"));
        }
        case OpKind::Reshape:
        case OpKind::Flatten:
        case OpKind::Squeeze:
        case OpKind::Unsqueeze:
            // The same elements in the same order: only the shape's reading changes.
            return unary(graph, node, "copy (" + std::string(opName(node.op)) + ")", "v", {});
        case OpKind::Add:
            return binary(graph, node, "add", "va + vb");
        case OpKind::Sub:
            return binary(graph, node, "sub", "va - vb");
        case OpKind::Mul:
            return binary(graph, node, "mul", "va * vb");
        case OpKind::Div:
            return binary(graph, node, "div", "va / vb");
        case OpKind::Pow:
            return binary(graph, node, "pow", "powExact(va, vb)", kPowFunction);
        case OpKind::PRelu:
            return binary(graph, node, "prelu", "va >= 0.0 ? va : vb * va");
        case OpKind::Softmax:
            return softmax(graph, node);
        case OpKind::MaxPool:
        case OpKind::AveragePool: {
            auto p = poolParams(node, shapeOf(graph, node.inputs[0]), opName(node.op));
            if (!p.ok()) {
                why = p.error().message;
                return std::nullopt;
            }
            return node.op == OpKind::MaxPool ? maxPool(node, *p) : averagePool(node, *p);
        }
        case OpKind::GlobalAveragePool:
            return globalAveragePool(graph, node);
        case OpKind::Resize:
            return resize(graph, node, why);
        case OpKind::Concat:
            return concat(graph, node, why);
        case OpKind::DepthToSpace:
            return depthToSpace(graph, node);
        case OpKind::Transpose:
            return transpose(graph, node);
        case OpKind::Slice:
            return slice(graph, node, why);
        case OpKind::Pad:
            return pad(graph, node, why);
        case OpKind::BatchNormalization:
            return batchNormalization(graph, node);
        case OpKind::ReduceMean:
            return reduceMean(graph, node, why);
        case OpKind::ReduceMax:
        case OpKind::ReduceMin:
        case OpKind::ReduceSum:
            return reduction(graph, node, why);
        case OpKind::GlobalMaxPool:
            return globalMaxPool(graph, node);
        case OpKind::Expand:
            return expand(graph, node);
        case OpKind::Tile:
            return tile(graph, node);
        case OpKind::InstanceNormalization:
            return instanceNormalization(graph, node);
        case OpKind::LayerNormalization:
            return layerNormalization(graph, node);
        case OpKind::LRN:
            return lrn(graph, node);
        case OpKind::Range:
            // No input to work on: a Range of constants folds at import, and one left in a graph
            // is a short sequence the CPU writes faster than a dispatch starts.
            why = "Range makes a short sequence from its attributes: it runs on the CPU";
            return std::nullopt;
        case OpKind::ConstantOfShape: {
            // Every element is the value (float32 here: allFloat checked the output), exact
            // through a push constant.
            const Tensor* value = node.attrs.getTensor("value");
            return elementPlan(node, "gpu fill", shapeOf(graph, node.outputs[0]), {}, "",
                               "    y[i] = STORE(p.a);\n", false,
                               {value != nullptr ? value->toFloatVector()[0] : 0.0f});
        }
        case OpKind::Split:
            why = "Split writes " + std::to_string(node.outputs.size()) +
                  " outputs and a GPU shader writes one: it has no GPU shader yet";
            return std::nullopt;
        default:
            why = std::string(opName(node.op)) + " has no GPU shader yet";
            return std::nullopt;
    }
}

}  // namespace prunelab::engine::vulkan

// Generates the C++ source of pattern-sparse conv layers: the layer's sizes, patterns and block
// sizes as constants, one fully unrolled loop per pattern, FKW weights as arrays; plus the module
// table and the source package. The generated text is meant to be read (students study it).
#include "engine/runtime/cpu/sparse/emit.h"

#include <unistd.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "engine/codegen/pack.h"

namespace prunelab::engine::cpu {

using codegen::FkwWeights;
using codegen::KernelKind;
using codegen::kernelKindName;
using codegen::LayerCode;
using codegen::SparseModel;
using codegen::Tuning;

namespace {

constexpr int kVectorFloats = 16;  // floats in the generated code's pl_vec

// ---- Text helpers ------------------------------------------------------------------------

// Text that goes into a // comment: printable ASCII only, and no backslash (a backslash at the
// end of a // comment would splice the next line of code into the comment).
std::string commentText(const std::string& s) {
    std::string out;
    for (char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        out += (u >= 0x20 && u < 0x7f && ch != '\\') ? ch : '?';
    }
    return out;
}

// The shortest decimal that reads back as exactly `v`, as a float literal.
std::string floatLiteral(float v) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    std::string s(buf.data(), r.ptr);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s + "f";
}

std::string joinInts(const std::vector<int32_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
}

// The 4 kept taps (row, column) of a pattern in increasing position order (FKW's weight order).
std::array<std::array<int, 2>, 4> tapsOf(prune::Pattern pattern) {
    std::array<std::array<int, 2>, 4> taps{};
    size_t n = 0;
    for (int p = 0; p < 9 && n < 4; ++p) {
        if (pattern >> p & 1) taps[n++] = {p / 3, p % 3};
    }
    return taps;
}

// ---- The plan baked into a layer's code --------------------------------------------------

// Kernels of one block of filters that read the same input channel with the same pattern: one
// pass over the input rows serves all of them (load-redundancy elimination). Blocks are
// consecutive filters in run order, so the reorder pass decides who can share.
struct Group {
    int32_t channel = 0;  // absolute input channel
    int32_t pattern = 0;
    std::vector<int32_t> slot, kernel;  // filter within the block, FKW kernel index
};

struct Block {
    std::vector<int32_t> channels;  // output channel per slot
    std::vector<Group> groups;
};

std::vector<Block> planBlocks(const LayerCode& layer, int blockSize) {
    const FkwWeights& fkw = layer.fkw;
    const ConvParams& c = layer.conv;
    // Stored filters in run order, then channels with no stored filter (bias only): every
    // output channel is written.
    std::vector<int32_t> order = fkw.filterOrder;
    std::vector<char> seen(static_cast<size_t>(c.outChannels), 0);
    for (int32_t o : order) seen[size_t(o)] = 1;
    for (int32_t o = 0; o < c.outChannels; ++o) {
        if (!seen[size_t(o)]) order.push_back(o);
    }
    std::vector<Block> blocks;
    for (size_t first = 0; first < order.size(); first += size_t(blockSize)) {
        Block block;
        struct Entry {
            int32_t channel, pattern, slot, kernel;
        };
        std::vector<Entry> entries;
        for (size_t f = first; f < std::min(first + size_t(blockSize), order.size()); ++f) {
            const int32_t o = order[f];
            const auto slot = static_cast<int32_t>(block.channels.size());
            block.channels.push_back(o);
            if (f >= fkw.filterOrder.size()) continue;
            const int64_t inBase = o / c.outChannelsPerGroup() * c.inChannelsPerGroup();
            for (int32_t k = fkw.kernelStart[f]; k < fkw.kernelStart[f + 1]; ++k) {
                entries.push_back({static_cast<int32_t>(inBase + fkw.inputChannel[size_t(k)]),
                                   fkw.patternId[size_t(k)], slot, k});
            }
        }
        std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
            if (a.channel != b.channel) return a.channel < b.channel;
            if (a.pattern != b.pattern) return a.pattern < b.pattern;
            return a.slot < b.slot;
        });
        for (size_t e = 0; e < entries.size(); ++e) {
            const bool extend = e > 0 && entries[e].channel == entries[e - 1].channel &&
                                entries[e].pattern == entries[e - 1].pattern;
            if (!extend) block.groups.push_back({entries[e].channel, entries[e].pattern, {}, {}});
            block.groups.back().slot.push_back(entries[e].slot);
            block.groups.back().kernel.push_back(entries[e].kernel);
        }
        blocks.push_back(std::move(block));
    }
    return blocks;
}

// Output columns [lo, hi) where every tap column is inside the input (no bounds checks).
std::array<int64_t, 2> innerColumns(const ConvParams& c) {
    int64_t lo = 0, hi = c.outW;
    for (int64_t x = 0; x < 3; ++x) {
        const int64_t offset = x * c.dilationW - c.padLeft;
        const int64_t first = offset >= 0 ? 0 : (-offset + c.strideW - 1) / c.strideW;
        const int64_t end = c.inW - 1 - offset < 0 ? 0 : (c.inW - 1 - offset) / c.strideW + 1;
        lo = std::max(lo, first);
        hi = std::min(hi, end);
    }
    return {std::min(lo, c.outW), std::max(std::min(lo, c.outW), hi)};
}

Status checkStorage(const LayerCode& layer) {
    const FkwWeights& fkw = layer.fkw;
    const ConvParams& c = layer.conv;
    auto bad = [&](const std::string& what) {
        return makeError(ErrorCode::InvalidArgument, what,
                         "compiled layer " + std::to_string(layer.index));
    };
    if (fkw.kernelStart.size() != fkw.filterOrder.size() + 1) return bad("kernelStart size");
    if (fkw.weights.size() != fkw.inputChannel.size() * 4 ||
        fkw.patternId.size() != fkw.inputChannel.size() ||
        fkw.kernelStart.back() != static_cast<int32_t>(fkw.inputChannel.size())) {
        return bad("FKW arrays disagree in size");
    }
    if (fkw.patterns.empty() || fkw.patterns.size() > 256) return bad("pattern set size");
    for (prune::Pattern p : fkw.patterns) {
        if (__builtin_popcount(p) != 4 || p >= 512) return bad("a pattern does not keep 4 of 9");
    }
    for (int32_t o : fkw.filterOrder) {
        if (o < 0 || o >= c.outChannels) return bad("filterOrder outside the output channels");
    }
    for (size_t k = 0; k < fkw.inputChannel.size(); ++k) {
        if (fkw.inputChannel[k] < 0 || fkw.inputChannel[k] >= c.inChannelsPerGroup() ||
            fkw.patternId[k] >= fkw.patterns.size()) {
            return bad("kernel " + std::to_string(k) + " has a bad channel or pattern");
        }
    }
    for (float w : fkw.weights) {
        if (!std::isfinite(w)) return bad("a weight is not finite");
    }
    if (!layer.bias.empty() && static_cast<int64_t>(layer.bias.size()) != c.outChannels) {
        return bad("bias size");
    }
    return {};
}

// ---- Generated text ----------------------------------------------------------------------

// The ABI preamble: guarded, so that a module of several layers holds it once.
const char* const kPreamble = R"PL(#ifndef PRUNELAB_KERNEL_ABI_V1
#define PRUNELAB_KERNEL_ABI_V1
#include <cstdint>

// What happens to each output value after the convolution: y = act(conv + bias + residual).
// The same layout as prunelab::engine::cpu::KernelEpilogue.
extern "C" {
typedef struct pl_epilogue {
    int32_t activation;     // PL_ACT_*
    float alpha;            // leaky relu: y = x < 0 ? alpha * x : x
    float clip_min;         // clip: y = min(max(x, clip_min), clip_max)
    float clip_max;
    const float* slopes;    // prelu: one slope per output channel
    const float* residual;  // a tensor of the output's shape added before the activation, or 0
} pl_epilogue;
}

// pl_vec: 16 floats as one value, which GCC and Clang map onto the target's SIMD registers
// (one AVX-512 register, two AVX2, four NEON). Loads go through memcpy: unaligned and
// alias-safe; a strided load (stride-2 layers) gathers element by element.
typedef float pl_vec __attribute__((vector_size(64)));
// (By reference: a vector passed or returned by value changes the calling convention with the
// target's vector width, which compilers warn about.)
template <int64_t kStride>
inline void pl_load(pl_vec& v, const float* p) {
    if constexpr (kStride == 1) {
        __builtin_memcpy(&v, p, sizeof v);
    } else {
        for (int i = 0; i < 16; ++i) v[i] = p[i * kStride];
    }
}
inline void pl_store(float* p, const pl_vec& v) { __builtin_memcpy(p, &v, sizeof v); }

enum {
    PL_ACT_NONE = 0,
    PL_ACT_RELU = 1,
    PL_ACT_LEAKY = 2,
    PL_ACT_CLIP = 3,
    PL_ACT_PRELU = 4,
    PL_ACT_HARDSWISH = 5  // y = x * min(max(x + 3, 0), 6) / 6
};

// y[i] = act(acc[i] + bias + residual[i]) for one run of n pixels of output channel `channel`,
// in one pass per activation (the switch sits outside the loops so that each loop vectorises).
template <class Activation>
inline void pl_finish_with(float* y, const float* acc, int64_t n, float bias,
                           const float* residual, Activation act) {
    if (residual) {
        for (int64_t i = 0; i < n; ++i) y[i] = act(acc[i] + bias + residual[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) y[i] = act(acc[i] + bias);
    }
}
inline void pl_finish(float* y, const float* acc, int64_t n, float bias, const float* residual,
                      const pl_epilogue* epi, int64_t channel) {
    switch (epi ? epi->activation : PL_ACT_NONE) {
        case PL_ACT_RELU:
            return pl_finish_with(y, acc, n, bias, residual,
                                  [](float v) { return v < 0.0f ? 0.0f : v; });
        case PL_ACT_LEAKY:
        case PL_ACT_PRELU: {
            const float slope = epi->activation == PL_ACT_LEAKY ? epi->alpha : epi->slopes[channel];
            return pl_finish_with(y, acc, n, bias, residual,
                                  [slope](float v) { return v < 0.0f ? slope * v : v; });
        }
        case PL_ACT_CLIP: {
            const float lo = epi->clip_min, hi = epi->clip_max;
            return pl_finish_with(y, acc, n, bias, residual,
                                  [lo, hi](float v) { return v < lo ? lo : (v > hi ? hi : v); });
        }
        case PL_ACT_HARDSWISH:
            return pl_finish_with(y, acc, n, bias, residual, [](float v) {
                const float r = v + 3.0f < 0.0f ? 0.0f : (v + 3.0f > 6.0f ? 6.0f : v + 3.0f);
                return v * r * (1.0f / 6.0f);
            });
        default:
            return pl_finish_with(y, acc, n, bias, residual, [](float v) { return v; });
    }
}
#endif  // PRUNELAB_KERNEL_ABI_V1
)PL";

std::string entrySignature(int index) {
    return "void pl_layer_" + std::to_string(index) +
           "(const float* input, float* output, const float* bias, const pl_epilogue* epi, "
           "int64_t rowBegin, int64_t rowEnd)";
}

// Where a non-default tuning came from ("tuned", "cache") and its time stay out of the text: a
// layer tuned now and the same layer tuned from the cache must give the same source, hence the
// same cached library (the one the tune pass timed).
void emitHeaderComment(std::ostringstream& s, const LayerCode& layer,
                       const std::vector<Block>& blocks, int rows, int unroll, int run) {
    const ConvParams& c = layer.conv;
    const FkwWeights& fkw = layer.fkw;
    size_t groups = 0, kernelsInGroups = 0;
    for (const Block& b : blocks) {
        groups += b.groups.size();
        for (const Group& g : b.groups) kernelsInGroups += g.kernel.size();
    }
    s << "// PruneLab generated kernel: compiled layer " << layer.index
      << ", a pattern-sparse 3x3 convolution.\n"
      << "// Generated by engine/runtime/cpu/sparse/emit.cpp from the compiler's IR; regenerate, "
         "do not "
         "edit.\n//\n"
      << "// Shape:    input " << c.batch << "x" << c.inChannels << "x" << c.inH << "x" << c.inW
      << " -> output " << c.batch << "x" << c.outChannels << "x" << c.outH << "x" << c.outW
      << ", stride " << c.strideH << "x" << c.strideW << ", dilation " << c.dilationH << "x"
      << c.dilationW << ", pads (top left bottom right) " << c.padTop << " " << c.padLeft << " "
      << c.padBottom << " " << c.padRight << ", groups " << c.group << "\n"
      << "// Density:  " << layer.density << " of the weights kept; " << layer.keptMacs << " of "
      << layer.denseMacs << " MACs\n"
      << "// Decision: " << commentText(layer.decision) << "\n"
      << "// Tuning:   filterBlock " << layer.tuning.filterBlock << ", rows " << rows << ", unroll "
      << unroll << " (" << (layer.tuning.source == "default" ? "default" : "chosen")
      << "): runs of " << run
      << " pixels per block call (16-float vectors; pixelBlock is not used)\n"
      << "// Storage:  " << fkw.inputChannel.size() << " kernels of 4 weights in FKW order, "
      << fkw.filterOrder.size() << " stored filters, " << groups << " kernel groups (on average "
      << (groups ? static_cast<double>(kernelsInGroups) / static_cast<double>(groups) : 0.0)
      << " filters share each loaded input row)\n//\n"
      << "// Patterns (x = kept tap):\n";
    for (size_t first = 0; first < fkw.patterns.size(); first += 8) {
        const size_t end = std::min(first + 8, fkw.patterns.size());
        for (int y = 0; y < 3; ++y) {
            s << "//";
            for (size_t p = first; p < end; ++p) {
                std::string label = y == 0 ? std::to_string(p) + ":" : "";
                label.insert(0, 4 - std::min<size_t>(label.size(), 4), ' ');
                s << "  " << label << " ";
                for (int x = 0; x < 3; ++x) s << ((fkw.patterns[p] >> (y * 3 + x) & 1) ? 'x' : '.');
            }
            s << "\n";
        }
    }
    s << "//\n"
      << "// How it runs: for each kRows output rows, each block of kFilterBlock output channels\n"
      << "// and each run of kRun output pixels, the block's function adds every kernel group's\n"
      << "// 4 taps into accumulators held in SIMD registers (one per row and channel of the\n"
      << "// block; each input vector is loaded once for all rows and filters that use it), with\n"
      << "// tap offsets and weight positions as constants; then bias, residual and activation\n"
      << "// are applied once while writing. Pixels near the left and right edges (taps in the\n"
      << "// padding) take the checked loop at the end.\n\n";
}

// One filter block as straight-line code: each kernel group's taps loaded once per run and
// multiplied into the accumulators of the filters that share them. Accumulators stay in
// registers for the whole block, which the table-driven loops (accumulators in memory, indexed
// at run time) could not do.
void emitBlockFunction(std::ostringstream& s, const LayerCode& layer, size_t b, const Block& block,
                       int rows) {
    const FkwWeights& fkw = layer.fkw;
    const ConvParams& c = layer.conv;
    const size_t slots = block.channels.size();
    s << "// Block " << b << ": output channels " << joinInts(block.channels) << "; "
      << block.groups.size() << " kernel groups.\n"
      << "void block" << b << "(const float* const (*rows)[kTapRows], int64_t x0,\n"
      << "            float (&acc)[kRows][kFilterBlock][kOutW]) {\n"
      << "    const int64_t xIn = x0 * kStrideW - kPadLeft;\n";
    for (int j = 0; j < rows; ++j) {
        s << "    pl_vec";
        for (size_t k = 0; k < slots; ++k) {
            s << (k ? "," : "") << " a" << j << "_" << k << "[kUnroll] = {}";
        }
        s << ";  // output row " << j << " of the run\n";
    }
    for (size_t gi = 0; gi < block.groups.size(); ++gi) {
        const Group& g = block.groups[gi];
        const prune::Pattern pattern = fkw.patterns[size_t(g.pattern)];
        const auto taps = tapsOf(pattern);
        s << "    {  // input channel " << g.channel << ", pattern " << g.pattern << " (";
        for (int y = 0; y < 3; ++y) {
            if (y) s << " ";
            for (int x = 0; x < 3; ++x) s << ((pattern >> (y * 3 + x) & 1) ? 'x' : '.');
        }
        s << "), filters";
        for (int32_t slot : g.slot) s << " " << slot;
        s << "\n";
        // Input row i = j * strideH + dy * dilationH serves output row j's taps of row dy, so
        // rows of a run share the loads of overlapping taps.
        auto inRow = [&](int j, int dy) { return j * c.strideH + dy * c.dilationH; };
        std::vector<std::array<int64_t, 2>> loads;  // (input row, tap column)
        for (int j = 0; j < rows; ++j) {
            for (const auto& t : taps) {
                const std::array<int64_t, 2> l = {inRow(j, t[0]), t[1]};
                if (std::find(loads.begin(), loads.end(), l) == loads.end()) loads.push_back(l);
            }
        }
        std::vector<int64_t> rowsUsed;
        for (const auto& l : loads) {
            if (std::find(rowsUsed.begin(), rowsUsed.end(), l[0]) == rowsUsed.end()) {
                rowsUsed.push_back(l[0]);
            }
        }
        std::sort(rowsUsed.begin(), rowsUsed.end());
        for (int64_t r : rowsUsed) {
            s << "        const float* r" << r << " = rows[" << gi << "][" << r << "] + xIn;\n";
        }
        s << "        for (int u = 0; u < kUnroll; ++u) {\n";
        for (const auto& l : loads) {
            s << "            pl_vec v" << l[0] << "_" << l[1] << ";\n"
              << "            pl_load<kStrideW>(v" << l[0] << "_" << l[1] << ", r" << l[0]
              << " + u * kVector * kStrideW + " << l[1] << " * kDilationW);\n";
        }
        // One statement per tap, each a fused multiply-add into the accumulator: written as
        // one sum of 4 products, GCC computed the sum apart (a multiply, 3 FMAs, an add) and
        // spilled more; on the 64->64 layer (groups of 4 filters) 10.2 -> 9.6 ms.
        for (int j = 0; j < rows; ++j) {
            for (size_t k = 0; k < g.slot.size(); ++k) {
                const int32_t w = 4 * g.kernel[k];
                for (size_t t = 0; t < 4; ++t) {
                    s << "            a" << j << "_" << g.slot[k] << "[u] += kWeights["
                      << w + int32_t(t) << "] * v" << inRow(j, taps[t][0]) << "_" << taps[t][1]
                      << ";\n";
                }
            }
        }
        s << "        }\n"
          << "    }\n";
    }
    s << "    for (int u = 0; u < kUnroll; ++u) {\n";
    for (int j = 0; j < rows; ++j) {
        for (size_t k = 0; k < slots; ++k) {
            s << "        pl_store(acc[" << j << "][" << k << "] + x0 + u * kVector, a" << j << "_"
              << k << "[u]);\n";
        }
    }
    s << "    }\n"
      << "}\n\n";
}

}  // namespace

bool canEmitLayer(const LayerCode& layer, std::string* why) {
    std::string reason;
    if (layer.kind == KernelKind::Dense) {
        reason = "dense: the runtime's dense kernel";
    } else if (layer.kind != KernelKind::Pattern) {
        reason = std::string(kernelKindName(layer.kind)) +
                 ": the generic kernel (no generated code for this storage yet)";
    } else if (layer.gemm || layer.conv.kernelH != 3 || layer.conv.kernelW != 3) {
        reason = "pattern storage on a non-3x3 conv: the generic kernel";
    } else if (layer.index < 0) {
        reason = "negative layer index: the generic kernel";
    }
    if (why) *why = reason;
    return reason.empty();
}

Result<std::string> emitLayerSource(const LayerCode& layer) {
    std::string why;
    if (!canEmitLayer(layer, &why)) {
        return makeError(ErrorCode::Unsupported, "no generated code: " + why,
                         "compiled layer " + std::to_string(layer.index));
    }
    PL_TRY(checkStorage(layer));
    const ConvParams& c = layer.conv;
    const FkwWeights& fkw = layer.fkw;
    // Up to 8 filters share each loaded input vector; more would spill the accumulators.
    const int blockSize = std::clamp(layer.tuning.filterBlock, 1, 8);
    const std::vector<Block> blocks = planBlocks(layer, blockSize);
    const auto [innerLo, innerHi] = innerColumns(c);
    // kRun output pixels per block call: kUnroll vectors of kVector pixels per filter and
    // output row, all kFilterBlock x kRows x kUnroll accumulators in registers (at most 16:
    // AVX-512 has 32, and the loaded inputs and weights need some). Untuned layers get 4 vectors
    // per filter: on the PATTERN-KERNELS.md layer unroll 1, 2, 4 ran 28, 24.6, 22.5 ms (the
    // block's row pointers and call are paid per run).
    // Output rows per call, so that filters x rows stays 4: neighbouring output rows share the
    // loads of vertically adjacent taps, which pays when few filters share them. On the
    // PATTERN-KERNELS.md layer (random connectivity, single thread), filters x rows x unroll
    // 4x1x4 ran 22.0 ms, 4x2x2 23.1, 2x2x4 20.7, 2x1x4 23.8, 1x3x4 20.6, 1x4x4 23.3; with
    // group-structured connectivity (4 filters sharing channels and patterns) 4x1x4 14.9, 2x2x4
    // 16.8.
    // A tuned row count is kept to the same accumulator limit (8 filters: at most 2 rows).
    const int rows = layer.tuning.rows > 0
                         ? std::clamp(layer.tuning.rows, 1, std::clamp(16 / blockSize, 1, 3))
                         : std::clamp(4 / blockSize, 1, 3);
    // An untuned layer narrower than 4 vectors of unchecked columns gets fewer: a run that does
    // not fit between the edges sends every pixel through the checked loop (BlazeFace's
    // 64-pixel-wide layers ran 4.8x slower with 4 vectors than with 2).
    const auto innerVectors = static_cast<int>(
        std::clamp<int64_t>((innerHi - innerLo) / kVectorFloats, int64_t{1}, int64_t{4}));
    const int wanted = layer.tuning.source == "default" ? innerVectors : layer.tuning.unroll;
    const int unroll = std::clamp(std::min(wanted, 16 / (blockSize * rows)), 1, 4);
    const int run = kVectorFloats * unroll;
    const std::string ns = "pl_l" + std::to_string(layer.index);

    std::ostringstream s;
    emitHeaderComment(s, layer, blocks, rows, unroll, run);
    s << kPreamble << "\n";
    // Internal linkage: with -fPIC, calls between external functions go through the PLT and are
    // never inlined (a third of the run time on the PATTERN-KERNELS.md layer).
    s << "namespace " << ns << " {\nnamespace {\n\n";
    s << "constexpr int64_t kBatch = " << c.batch << ";\n"
      << "constexpr int64_t kInChannels = " << c.inChannels << ", kInH = " << c.inH
      << ", kInW = " << c.inW << ";\n"
      << "constexpr int64_t kOutChannels = " << c.outChannels << ", kOutH = " << c.outH
      << ", kOutW = " << c.outW << ";\n"
      << "constexpr int64_t kStrideH = " << c.strideH << ", kStrideW = " << c.strideW << ";\n"
      << "constexpr int64_t kDilationH = " << c.dilationH << ", kDilationW = " << c.dilationW
      << ";\n"
      << "constexpr int64_t kPadTop = " << c.padTop << ", kPadLeft = " << c.padLeft << ";\n"
      << "constexpr int kFilterBlock = " << blockSize
      << ";  // output channels that share each loaded input vector\n"
      << "constexpr int kVector = " << kVectorFloats
      << ";  // pixels per SIMD accumulator (pl_vec)\n"
      << "constexpr int kUnroll = " << unroll << ";  // accumulators per filter\n"
      << "constexpr int kRun = kVector * kUnroll;  // output pixels per block call\n"
      << "constexpr int64_t kRows = " << rows << ";  // output rows per block call\n"
      << "// Input rows a block call reads per kernel: its output rows' three tap rows.\n"
      << "constexpr int64_t kTapRows = (kRows - 1) * kStrideH + 2 * kDilationH + 1;\n"
      << "// Output columns whose taps all fall inside the input: no bounds checks there.\n"
      << "constexpr int64_t kInnerBegin = " << innerLo << ", kInnerEnd = " << innerHi << ";\n\n";

    s << "// FKW weights: 4 per kernel (its pattern's taps in row-major order), filters in run "
         "order.\n"
      << "alignas(64) const float kWeights[" << std::max<size_t>(fkw.weights.size(), 4) << "] = {";
    for (size_t i = 0; i < fkw.weights.size(); ++i) {
        s << (i % 4 == 0 ? "\n    " : " ") << floatLiteral(fkw.weights[i]) << ",";
    }
    if (fkw.weights.empty()) s << "0.0f";
    s << "\n};\n\n";

    s << "// Each pattern's taps (row, column), for the checked loop at the edges.\n"
      << "const int8_t kTaps[" << fkw.patterns.size() << "][4][2] = {\n";
    for (prune::Pattern p : fkw.patterns) {
        const auto taps = tapsOf(p);
        s << "    {";
        for (size_t t = 0; t < 4; ++t)
            s << (t ? ", " : "") << "{" << taps[t][0] << ", " << taps[t][1] << "}";
        s << "},\n";
    }
    s << "};\n\n";

    s << "// Kernels of one filter block that read the same input channel with the same pattern:\n"
      << "// one pass over the input serves `count` filters (slot: filter within the block).\n"
      << "struct Group {\n"
      << "    int32_t channel, pattern, count;\n"
      << "    int32_t slot[kFilterBlock], kernel[kFilterBlock];\n"
      << "};\n\n";
    size_t groupCount = 0;
    for (const Block& b : blocks) groupCount += b.groups.size();
    s << "const Group kGroups[" << std::max<size_t>(groupCount, 1) << "] = {\n";
    for (const Block& b : blocks) {
        for (const Group& g : b.groups) {
            std::vector<int32_t> slot = g.slot, kernel = g.kernel;
            slot.resize(size_t(blockSize), 0);
            kernel.resize(size_t(blockSize), 0);
            s << "    {" << g.channel << ", " << g.pattern << ", " << g.slot.size() << ", {"
              << joinInts(slot) << "}, {" << joinInts(kernel) << "}},\n";
        }
    }
    if (groupCount == 0) s << "    {0, 0, 0, {0}, {0}},\n";
    s << "};\n\n";
    s << "// Filter block b: output channels kBlockChannels[b] (-1: unused slot) and groups\n"
      << "// kGroups[kBlockGroups[b] .. kBlockGroups[b + 1]).\n"
      << "constexpr int kBlocks = " << blocks.size() << ";\n"
      << "const int32_t kBlockChannels[kBlocks][kFilterBlock] = {\n";
    for (const Block& b : blocks) {
        std::vector<int32_t> ch = b.channels;
        ch.resize(size_t(blockSize), -1);
        s << "    {" << joinInts(ch) << "},\n";
    }
    s << "};\nconst int32_t kBlockGroups[kBlocks + 1] = {";
    size_t running = 0;
    for (size_t b = 0; b <= blocks.size(); ++b) {
        s << (b ? ", " : "") << running;
        if (b < blocks.size()) running += blocks[b].groups.size();
    }
    s << "};\n\n";

    size_t maxGroups = 1;
    for (const Block& blk : blocks) maxGroups = std::max(maxGroups, blk.groups.size());
    s << "constexpr int kMaxGroups = " << maxGroups
      << ";  // kernel groups in the largest block\n\n";
    s << "// The blocks. In each, aJ_K[u] accumulates output row J of the run for the block's "
         "filter K\n"
      << "// (u: which kVector pixels of the run), and vI_X holds the input vector read from tap "
         "row\n"
      << "// I (of the kTapRows the run reads) at tap column X.\n\n";
    for (size_t b = 0; b < blocks.size(); ++b) emitBlockFunction(s, layer, b, blocks[b], rows);
    s << "using BlockFunction = void (*)(const float* const (*rows)[kTapRows], int64_t x0,\n"
      << "                               float (&acc)[kRows][kFilterBlock][kOutW]);\n"
      << "const BlockFunction kBlockFunctions[kBlocks] = {";
    for (size_t b = 0; b < blocks.size(); ++b) s << (b ? ", " : "") << "block" << b;
    s << "};\n\n";
    s << R"(// The input rows of plane `channel` that output rows oy0 .. oy0 + kRows - 1 read; a row in
// the vertical padding reads zeros.
const float kZeroRow[kInW] = {};
inline void tapRows(const float* image, int32_t channel, int64_t oy0, const float* rows[kTapRows]) {
    const float* plane = image + channel * kInH * kInW;
    for (int64_t r = 0; r < kTapRows; ++r) {
        const int64_t iy = oy0 * kStrideH - kPadTop + r;
        rows[r] = iy >= 0 && iy < kInH ? plane + iy * kInW : kZeroRow;
    }
}

// Output columns [from, to) of the block's rows and channels with each tap checked: the edge
// columns, whose taps may fall into the padding. rows[g]: tapRows() of the block's group g.
inline void edgeColumns(int b, const float* const (*rows)[kTapRows], int64_t from, int64_t to,
                        float (&acc)[kRows][kFilterBlock][kOutW]) {
    for (int j = 0; j < kRows; ++j) {
        for (int s = 0; s < kFilterBlock; ++s) {
            for (int64_t ox = from; ox < to; ++ox) acc[j][s][ox] = 0.0f;
        }
    }
    for (int32_t gi = kBlockGroups[b]; gi < kBlockGroups[b + 1]; ++gi) {
        const Group& g = kGroups[gi];
        for (int j = 0; j < kRows; ++j) {
            for (int t = 0; t < 4; ++t) {
                const int64_t r = j * kStrideH + kTaps[g.pattern][t][0] * kDilationH;
                const float* row = rows[gi - kBlockGroups[b]][r];
                const int64_t dx = kTaps[g.pattern][t][1] * kDilationW - kPadLeft;
                for (int64_t ox = from; ox < to; ++ox) {
                    const int64_t ix = ox * kStrideW + dx;
                    if (ix < 0 || ix >= kInW) continue;
                    for (int k = 0; k < g.count; ++k) {
                        acc[j][g.slot[k]][ox] += kWeights[4 * g.kernel[k] + t] * row[ix];
                    }
                }
            }
        }
    }
}

// Output rows oy0 .. oy0 + kRows - 1 of every channel of one batch item, of which rows
// [first, end) are written: each block's sums for the whole rows, then bias, residual and
// activation per row (long loops that vectorise). Rows outside [first, end) are computed (a
// negative one from zero rows) and dropped: they belong to other calls.
void computeRows(const float* image, float* out, const float* residual, const float* bias,
                 const pl_epilogue* epi, int64_t oy0, int64_t first, int64_t end) {
    for (int b = 0; b < kBlocks; ++b) {
        alignas(64) float acc[kRows][kFilterBlock][kOutW];
        const float* rows[kMaxGroups][kTapRows];
        for (int32_t gi = kBlockGroups[b]; gi < kBlockGroups[b + 1]; ++gi) {
            tapRows(image, kGroups[gi].channel, oy0, rows[gi - kBlockGroups[b]]);
        }
        // Runs of kRun pixels; the last one is moved back to end at kInnerEnd (it recomputes
        // a few pixels, which only overwrite the same values).
        if (kInnerEnd - kInnerBegin >= kRun) {
            for (int64_t x = kInnerBegin; x < kInnerEnd; x += kRun) {
                kBlockFunctions[b](rows, x + kRun <= kInnerEnd ? x : kInnerEnd - kRun, acc);
            }
            edgeColumns(b, rows, 0, kInnerBegin, acc);
            edgeColumns(b, rows, kInnerEnd, kOutW, acc);
        } else {
            edgeColumns(b, rows, 0, kOutW, acc);
        }
        for (int j = 0; j < kRows; ++j) {
            if (oy0 + j < first || oy0 + j >= end) continue;
            for (int s = 0; s < kFilterBlock; ++s) {
                const int32_t o = kBlockChannels[b][s];
                if (o < 0) continue;
                const int64_t at = (o * kOutH + oy0 + j) * kOutW;
                pl_finish(out + at, acc[j][s], kOutW, bias ? bias[o] : 0.0f,
                          residual ? residual + at : nullptr, epi, o);
            }
        }
    }
}

)";
    s << "}  // namespace\n}  // namespace " << ns << "\n\n";
    s << "extern \"C\" " << entrySignature(layer.index) << ";\n";
    s << "extern \"C\" " << entrySignature(layer.index) << " {\n"
      << "    for (int64_t n = 0; n < " << ns << "::kBatch; ++n) {\n"
      << "        const int64_t inItem = n * " << ns << "::kInChannels * " << ns << "::kInH * "
      << ns << "::kInW;\n"
      << "        const int64_t outItem = n * " << ns << "::kOutChannels * " << ns << "::kOutH * "
      << ns << "::kOutW;\n"
      << "        const float* residual = epi && epi->residual ? epi->residual + outItem : "
         "nullptr;\n"
      << "        for (int64_t oy = rowBegin; oy < rowEnd; oy += " << ns << "::kRows) {\n"
      << "            // The last call ends at rowEnd; rows before oy it recomputes are not "
         "written.\n"
      << "            const int64_t oy0 = oy + " << ns << "::kRows <= rowEnd ? oy : rowEnd - " << ns
      << "::kRows;\n"
      << "            " << ns
      << "::computeRows(input + inItem, output + outItem, residual, bias, epi, oy0, oy, rowEnd);\n"
      << "        }\n"
      << "    }\n"
      << "}\n";
    return s.str();
}

namespace {

// The generated layers of `layers` (those canEmitLayer allows) in one translation unit with
// the module table; the others are listed in the header comment.
Result<std::string> moduleSource(const std::vector<const LayerCode*>& layers) {
    std::ostringstream s;
    std::vector<int> indices;
    std::ostringstream body, skipped;
    for (const LayerCode* layer : layers) {
        std::string why;
        if (!canEmitLayer(*layer, &why)) {
            if (layer->kind != KernelKind::Dense) {
                skipped << "//   layer " << layer->index << ": " << commentText(why) << "\n";
            }
            continue;
        }
        PL_TRY_ASSIGN(std::string text, emitLayerSource(*layer));
        body << "\n" << text;
        indices.push_back(layer->index);
    }
    std::sort(indices.begin(), indices.end());
    s << "// PruneLab generated module: " << indices.size()
      << " compiled layers, each below with its own header comment.\n";
    if (!skipped.str().empty()) {
        s << "// Layers left to the precompiled kernels:\n" << skipped.str();
    }
    s << kPreamble << body.str() << "\n// The module table: which layers this library holds.\n"
      << "extern \"C\" int32_t pl_module_abi_version(void);\n"
      << "extern \"C\" int32_t pl_module_abi_version(void) { return " << kKernelAbiVersion
      << "; }\n"
      << "extern \"C\" int32_t pl_module_layers(const int32_t** indices);\n"
      << "extern \"C\" int32_t pl_module_layers(const int32_t** indices) {\n"
      << "    static const int32_t kIndices[] = {";
    std::vector<int32_t> idx(indices.begin(), indices.end());
    s << (idx.empty() ? "-1" : joinInts(idx)) << "};\n"
      << "    if (indices) *indices = kIndices;\n"
      << "    return " << idx.size() << ";\n"
      << "}\n";
    return s.str();
}

}  // namespace

Result<std::string> emitModuleSource(const SparseModel& model) {
    std::vector<const LayerCode*> layers;
    for (const LayerCode& layer : model.layers) layers.push_back(&layer);
    return moduleSource(layers);
}

Result<std::string> emitLayerModuleSource(const LayerCode& layer) {
    std::string why;
    if (!canEmitLayer(layer, &why)) {
        return makeError(ErrorCode::Unsupported, "no generated code: " + why,
                         "compiled layer " + std::to_string(layer.index));
    }
    return moduleSource({&layer});
}

std::string emitAbiHeader(const std::vector<int>& indices) {
    std::ostringstream s;
    s << "// PruneLab generated kernels: the C ABI of this library (see each layer_<i>.cpp).\n"
      << "#pragma once\n"
      << kPreamble << "\n";
    for (int i : indices) s << "extern \"C\" " << entrySignature(i) << ";\n";
    s << "extern \"C\" int32_t pl_module_abi_version(void);\n"
      << "extern \"C\" int32_t pl_module_layers(const int32_t** indices);\n";
    return s.str();
}

Status exportSourcePackage(const SparseModel& model, const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return makeError(ErrorCode::Io, "cannot create the directory: " + ec.message(), dir);
    }
    auto write = [&](const std::string& name, const std::string& text) -> Status {
        const fs::path path = fs::path(dir) / name;
        const fs::path tmp = fs::path(dir) / (name + ".tmp" + std::to_string(::getpid()));
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            f << text;
            f.close();
            if (!f) return makeError(ErrorCode::Io, "cannot write the file", tmp.string());
        }
        fs::rename(tmp, path, ec);
        if (ec) return makeError(ErrorCode::Io, "cannot rename: " + ec.message(), path.string());
        return {};
    };
    std::vector<int> indices;
    std::string sources;
    for (const LayerCode& layer : model.layers) {
        if (!canEmitLayer(layer)) continue;
        PL_TRY_ASSIGN(std::string text, emitLayerSource(layer));
        const std::string name = "layer_" + std::to_string(layer.index) + ".cpp";
        PL_TRY(write(name, "#include \"prunelab_kernels.h\"\n" + text));
        indices.push_back(layer.index);
        sources += "  " + name + "\n";
    }
    std::sort(indices.begin(), indices.end());
    PL_TRY(write("prunelab_kernels.h", emitAbiHeader(indices)));
    std::string table =
        "// PruneLab generated module table: which layers this library holds.\n"
        "#include \"prunelab_kernels.h\"\n\n"
        "extern \"C\" int32_t pl_module_abi_version(void) { return " +
        std::to_string(kKernelAbiVersion) +
        "; }\n"
        "extern \"C\" int32_t pl_module_layers(const int32_t** indices) {\n"
        "    static const int32_t kIndices[] = {";
    for (size_t i = 0; i < indices.size(); ++i) {
        table += (i ? ", " : "") + std::to_string(indices[i]);
    }
    if (indices.empty()) table += "-1";
    table += "};\n    if (indices) *indices = kIndices;\n    return " +
             std::to_string(indices.size()) + ";\n}\n";
    PL_TRY(write("module.cpp", table));
    const std::string cmake =
        "# PruneLab generated kernels as a shared library. For another target, configure with\n"
        "# its toolchain, e.g. cmake -S . -B build "
        "-DCMAKE_TOOLCHAIN_FILE=$NDK/build/cmake/android.toolchain.cmake -DANDROID_ABI=arm64-v8a\n"
        "cmake_minimum_required(VERSION 3.16)\n"
        "project(prunelab_kernels CXX)\n"
        "if(NOT CMAKE_BUILD_TYPE)\n"
        "  set(CMAKE_BUILD_TYPE Release)\n"
        "endif()\n"
        "add_library(prunelab_kernels SHARED\n"
        "  module.cpp\n" +
        sources +
        ")\n"
        "target_compile_features(prunelab_kernels PRIVATE cxx_std_20)\n"
        "set_target_properties(prunelab_kernels PROPERTIES CXX_EXTENSIONS OFF)\n";
    return write("CMakeLists.txt", cmake);
}

}  // namespace prunelab::engine::cpu

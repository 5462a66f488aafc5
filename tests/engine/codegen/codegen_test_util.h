// Helpers shared by the sparse-kernel tests (generic_kernels_test.cpp, codegen_test.cpp): seeded
// random layers and tensors, the reference Conv, every epilogue written out, and the closeness
// check the kernels are held to.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/ir/tensor.h"
#include "engine/prune/scheme.h"
#include "engine/runtime/cpu/sparse/generic_kernels.h"

namespace prunelab::engine::codegen {

// These tests hold the CPU backend's sparse kernels (runtime/cpu/sparse/) to the compiler's IR.
using namespace prunelab::engine::cpu;

// mt19937 is specified bit for bit; the distributions are not, so values are made by hand.
struct Rng {
    std::mt19937 engine;
    explicit Rng(uint32_t seed) : engine(seed) {}
    float uniform() { return static_cast<float>(engine() >> 8) / static_cast<float>(1u << 24); }
    float symmetric() { return uniform() * 2.0f - 1.0f; }
    bool chance(double p) { return uniform() < p; }
    int64_t below(int64_t n) { return static_cast<int64_t>(engine() % static_cast<uint32_t>(n)); }
};

Tensor randomTensor(const Shape& shape, Rng& rng);

// ---- Layers ------------------------------------------------------------------------------

struct ConvShape {
    const char* name;
    int64_t n, c, h, w, o, kh, kw;
    int64_t strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, group;
};

ConvParams paramsOf(const ConvShape& s);

// 4-of-9 patterns that keep the centre, as PatDNN's sets do; `count` distinct ones.
std::vector<prune::Pattern> randomPatterns(int count, Rng& rng);

// Weights [O][I/g][3][3] pruned to `patterns`, each kernel kept with probability
// `connectivity` (its pattern index in kernelPattern, -1 when removed). Some kept weights are
// exactly 0, as a trained layer has.
Tensor patternWeights(const ConvParams& c, const std::vector<prune::Pattern>& patterns,
                      double connectivity, Rng& rng, std::vector<int32_t>& kernelPattern);

// The engine's own reference kernels (the op registry), the ground truth: the Conv of `x` with
// weights `w` and bias `b`, or with the weights a packed layer holds (unpackWeights).
Tensor referenceConv(const ConvParams& c, const Tensor& x, const Tensor& w, const Tensor& b);
Tensor referenceConv(const LayerCode& layer, const Tensor& x);

// ---- Epilogues ---------------------------------------------------------------------------

enum class EpiCase { None, Relu, Leaky, Clip, PRelu, Residual, ResidualClip, HardSwish };
inline constexpr EpiCase kAllEpilogues[] = {
    EpiCase::None,  EpiCase::Relu,     EpiCase::Leaky,        EpiCase::Clip,
    EpiCase::PRelu, EpiCase::Residual, EpiCase::ResidualClip, EpiCase::HardSwish};
const char* epiName(EpiCase e);

// The epilogue and, in `residual` / `slopes`, what it points at (kept alive by the caller).
Epilogue makeEpilogue(EpiCase e, const Shape& outShape, int64_t channels, Rng& rng,
                      Tensor& residual, std::vector<float>& slopes);

// What the epilogue must do, written out on the reference output ([N][C][...] or [M][N]).
void applyEpilogue(Tensor& y, const Epilogue& epi, int64_t channels, int64_t plane);

// For every epilogue in kAllEpilogues: the epilogue, `plainOut` (the reference output without
// one, [N][channels][plane] or [M][channels]) with it applied, and a name for messages.
void forEachEpilogue(const Tensor& plainOut, int64_t channels, int64_t plane, Rng& rng,
                     const std::function<void(const Epilogue& epi, const Tensor& expected,
                                              const std::string& name)>& check);

// ---- Checking ----------------------------------------------------------------------------

// Elements farther than 1e-4 of the expected output's range from it (NaN counts as far).
void expectClose(const Tensor& expected, const Tensor& actual, const std::string& what);

}  // namespace prunelab::engine::codegen

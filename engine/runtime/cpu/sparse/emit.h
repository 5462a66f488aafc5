// Code generation: readable C++ source for the compiled layers of a SparseModel (one
// specialised loop nest per pattern layer, its weights baked in), as one module for the JIT
// (jit.h) or as a source package another target's toolchain builds (the phone cross-compile).
#pragma once

#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/result.h"

namespace prunelab::engine::cpu {

// Bumped whenever the C ABI of generated code changes (pl_epilogue's layout, the entry points'
// signatures); the module reports it through pl_module_abi_version() and the JIT refuses a
// library built for another one.
inline constexpr int kKernelAbiVersion = 1;

// The generated kernels' C ABI (generated code declares the same struct as `pl_epilogue`):
// the Epilogue of generic_kernels.h in plain C terms. `activation` is
// static_cast<int32_t>(Epilogue::Activation) (0 none, 1 relu, 2 leaky, 3 clip, 4 prelu).
struct KernelEpilogue {
    int32_t activation = 0;
    float alpha = 0.01f;
    float clipMin = 0, clipMax = 6;
    const float* slopes = nullptr;    // outChannels PRelu slopes; borrowed
    const float* residual = nullptr;  // output-shaped tensor added before the activation
};

// Every generated layer `i` exports
//   extern "C" void pl_layer_<i>(const float* input, float* output, const float* bias,
//                                const pl_epilogue* epi, int64_t rowBegin, int64_t rowEnd);
// with runSparseLayer()'s semantics: plain NCHW, output rows [rowBegin, rowEnd) of every
// channel of every batch item are overwritten, nothing else is touched; bias holds outChannels
// values (nullptr: none). Thread-safe for disjoint row ranges. A call works in steps of up to 3
// output rows (see emitLayerSource), so a range shorter than that pays for a whole step: give
// each call several rows. A module also exports
//   extern "C" int32_t pl_module_abi_version(void);
//   extern "C" int32_t pl_module_layers(const int32_t** indices);  // count; indices ascending
using KernelFunction = void (*)(const float* input, float* output, const float* bias,
                                const KernelEpilogue* epi, int64_t rowBegin, int64_t rowEnd);

// Whether emitLayerSource() generates code for the layer; otherwise `why` says which kernel
// runs it instead (CSR, tile-wise, Gemm and non-3x3 layers keep the generic kernels for now).
bool canEmitLayer(const codegen::LayerCode& layer, std::string* why = nullptr);

// One layer as a self-contained translation unit (the ABI preamble, guarded so that several
// layers concatenate into one file, then the layer's namespace `pl_l<index>` and its entry).
// Identifiers come only from layer.index; the model's strings never reach the code (the
// decision appears in a comment, reduced to plain printable characters). Unsupported when
// canEmitLayer() is false; InvalidArgument for a non-finite weight or malformed storage.
// Each block of Tuning::filterBlock (<= 8) filters becomes one straight-line function whose
// accumulators are GCC/Clang vector-extension values (16 floats; any target those compilers
// support, the NDK's Clang included; not MSVC), for Tuning::rows output rows at once (0: 4 /
// filterBlock; up to 3) and Tuning::unroll vectors per filter and row (4 when the tuning is
// "default"; at most 16 accumulators per block). Source size grows with the kernels:
// about 1 MB and 12 s at -O3 for a 64->64 layer with 1200 kernels.
Result<std::string> emitLayerSource(const codegen::LayerCode& layer);

// Every emittable non-dense layer of the model in one translation unit, plus the module table
// (pl_module_layers, pl_module_abi_version). The header comment lists the layers left to the
// generic kernels and why. A model with no emittable layer gives a module with an empty table.
Result<std::string> emitModuleSource(const codegen::SparseModel& model);

// One emittable layer as a module of its own (the same text emitModuleSource gives for a model
// of that layer alone): what compileModel and the tune pass compile, one library per layer, so
// that both reach the same cached library for the same layer and tuning. Unsupported when
// canEmitLayer() is false.
Result<std::string> emitLayerModuleSource(const codegen::LayerCode& layer);

// The C ABI as a header (pl_epilogue, the entry points of `indices`, the module table).
std::string emitAbiHeader(const std::vector<int>& indices);

// Writes into `dir` (created if needed): prunelab_kernels.h (emitAbiHeader), layer_<i>.cpp per
// generated layer, module.cpp (the table) and a CMakeLists.txt building the shared library
// `prunelab_kernels` with the toolchain it is configured with (a cross-compiling toolchain file
// for another target). Files are written whole to a temporary name and renamed. Io errors name
// the file.
Status exportSourcePackage(const codegen::SparseModel& model, const std::string& dir);

}  // namespace prunelab::engine::cpu

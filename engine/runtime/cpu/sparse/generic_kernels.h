// The precompiled generic sparse kernels: one portable loop nest per storage of sparse_ir.h
// (FKW patterns, packed tiles, CSR), the correctness reference and the fallback for every
// layer; generated per-layer code specialises the same loops. Plus the plain reference loops.
#pragma once

#include <cstdint>

#include "engine/codegen/sparse_ir.h"

namespace prunelab::engine::cpu {

// What happens to each output value after the bias, fused into the kernel so that the value is
// written once: y = activation(conv + bias + residual).
struct Epilogue {
    // HardSwish: y = x * min(max(x + 3, 0), 6) / 6 (MobileNetV3, PP-OCR's backbones).
    enum class Activation : uint8_t { None, Relu, LeakyRelu, Clip, PRelu, HardSwish };
    Activation activation = Activation::None;
    float alpha = 0.01f;             // LeakyRelu: y = x < 0 ? alpha * x : x
    float clipMin = 0, clipMax = 6;  // Clip: y = min(max(x, clipMin), clipMax)
    // PRelu: one slope per output channel (outChannels values; broadcast a single slope
    // yourself). Borrowed, must outlive the call.
    const float* slopes = nullptr;
    // A fused Sum: a tensor of the output's shape (plain NCHW, or [M][N] for a Gemm layer) added
    // before the activation; nullptr when none. Borrowed; may not alias `output`.
    const float* residual = nullptr;

    static Epilogue relu() { return {Activation::Relu}; }
    static Epilogue leakyRelu(float a) { return {Activation::LeakyRelu, a}; }
    static Epilogue clip(float lo, float hi) { return {Activation::Clip, 0.01f, lo, hi}; }
    static Epilogue prelu(const float* s) { return {Activation::PRelu, 0.01f, 0, 6, s}; }
    static Epilogue hardSwish() { return {Activation::HardSwish}; }
};

// Computes output rows [rowBegin, rowEnd) of every output channel of every batch item of
// `layer` (kind Pattern, TileWise or Csr; Dense layers keep their weights in the graph and are
// asserted against). Conv layers: input float32 [batch][inChannels][inH][inW] and output
// [batch][outChannels][outH][outW] in plain NCHW (sizes from layer.conv), rows are output rows
// (0 <= rowBegin <= rowEnd <= outH). Gemm layers (layer.gemm): input [M][K] row-major, output
// [M][N], M = conv.batch, K = conv.inChannels, N = conv.outChannels, rows are the M range.
// Every output value in the range is overwritten (the output need not be initialised); values
// outside it are not touched, so threads may run disjoint row ranges on one output at once.
// Pattern layers need 3x3 kernels (any stride, padding, dilation, groups); the fast paths are
// stride 1 and 2. Each call plans the layer's loops anew (O(stored kernels)): give each call
// several rows (one row per call measured 25% slower on a 64-channel 240x320 layer, 8 rows 2%).
// tuning.filterBlock (1-4) caps how many filters share one pass over an input channel.
void runSparseLayer(const codegen::LayerCode& layer, const float* input, float* output,
                    const Epilogue& epi, int64_t rowBegin, int64_t rowEnd);

// The same result computed in the simplest loops, for tests and for reading: every stored
// weight (o, i, y, x, w) of the layer's storage added to the output pixels it reaches, then the
// bias, residual and activation. All rows; slow.
void referenceSparseLayer(const codegen::LayerCode& layer, const float* input, float* output,
                          const Epilogue& epi);

}  // namespace prunelab::engine::cpu

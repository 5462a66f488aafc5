// Which library the CPU runtime's dense convs and matmuls run on: oneDNN (the default), or, in a
// build without it (CMake PRUNELAB_CPU_ONEDNN=OFF, the aarch64 phone agent), OpenBLAS's sgemm
// behind im2col (blas_kernels.cpp). The rest of the runtime names only the types below.
#pragma once

#include <string>

// Defined to 0 by CMake for a build without oneDNN; absent (so unchanged command lines) when on.
#ifndef PRUNELAB_CPU_ONEDNN
#define PRUNELAB_CPU_ONEDNN 1
#endif

#if PRUNELAB_CPU_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace prunelab::engine::cpu {

#if PRUNELAB_CPU_ONEDNN
using DenseEngine = dnnl::engine;
using DenseStream = dnnl::stream;  // one per pool thread
using EltwiseAlg = dnnl::algorithm;
#else
// Nothing to hold: OpenBLAS keeps no per-engine or per-stream state.
struct DenseEngine {};
struct DenseStream {
    explicit DenseStream(const DenseEngine&) {}
};
// The activations fused into a conv or matmul, named as oneDNN names them so the planner and the
// fusion pass read the same in both builds.
enum class EltwiseAlg {
    eltwise_relu,
    eltwise_clip,
    eltwise_logistic,
    eltwise_hardswish,
    eltwise_tanh,
    eltwise_linear,
};
#endif

#if !PRUNELAB_CPU_ONEDNN
// One OpenBLAS thread per call: the runtime's pool splits the work (blas_kernels.cpp).
void setBlasSingleThreaded();
#endif

// The dense library, for kernel names and the backend's description ("oneDNN 2.7.3",
// "OpenBLAS 0.3.21 ...").
std::string denseLibraryName();

}  // namespace prunelab::engine::cpu

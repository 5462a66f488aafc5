// The tune pass: per layer and per machine, times candidate block sizes and unrolling of each
// pattern layer's kernel (generated, else generic), keeps the fastest in LayerCode::tuning and
// caches the choice on disk, so a later compile of the same layer on the same machine reuses it.
#pragma once

#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/result.h"
#include "engine/runtime/cpu/sparse/jit.h"

namespace prunelab::engine::cpu {

struct TuneOptions {
    // The compiler, flags, jobs and library cache of the candidates. compileModel with the same
    // options then loads the picked variant's library from that cache (the one that was timed).
    JitOptions jit;
    // Where the choices are kept; empty = ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/tuning.
    std::string cacheDir;
    // Generated-kernel candidates (filterBlock, rows, unroll; source and times are ignored);
    // empty = defaultTuneCandidates(). filterBlock x rows x unroll is kept to 16 by emission.
    std::vector<codegen::Tuning> candidates;
    int runs = 5;          // timed runs per candidate after one warm-up; the median decides
    bool useCache = true;  // false: always time (the result is still written)
};

// {4,1,4}, {2,2,4}, {1,3,4}, {8,1,2}, {4,1,2} as (filterBlock, rows, unroll): 4x1x4 is the
// default; the others trade filters sharing a loaded input for rows sharing vertical taps.
std::vector<codegen::Tuning> defaultTuneCandidates();

// For every Pattern layer: when canEmitLayer and the compiler runs, every candidate is emitted
// (emitLayerModuleSource) and compiled (compileModules: in parallel, one library each), then
// timed on random input of the layer's shape in the calling thread (the whole layer, one
// warm-up, then `runs` rounds with the candidates interleaved, each round in another order, so
// that machine noise hits all alike); the fastest median becomes layer.tuning (source "tuned",
// measuredMs). Otherwise the generic kernel (runSparseLayer) is tuned the same way over
// filterBlock 1, 2, 4. The choice is cached per layer and machine in
// <cacheDir>/<key>.json, key = hash(the layer's shape and storage, the kernel kind tuned, the
// compiler's path, --version and flags (generated kernels), the CPU's identity, the candidates);
// a hit sets the tuning with source "cache" and neither compiles nor times anything. Files are
// written whole (temporary name, rename); an unreadable or inconsistent one is ignored and
// rewritten. Appends a "tune" PassRecord: every candidate's ms per layer and the pick. Errors:
// Io only when the cache directory cannot be created; a candidate that fails to compile is left
// out (and named in the record).
Status tune(codegen::SparseModel& model, const TuneOptions& options = {});

}  // namespace prunelab::engine::cpu

// What the JIT (jit.cpp) and the tune pass (tune.cpp) share for their on-disk caches: the content
// hash, the host CPU's identity, the compiler's identity and the cache root. Not a public API.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/disk_cache.h"

namespace prunelab::engine::cpu::detail {

// The content hash every on-disk cache names its entries by (disk_cache.h).
using Hasher = engine::ContentHasher;

// -march=native code built on one machine can crash on another that shares the home
// directory, and timings differ between CPUs: the model and feature flags of the first processor.
std::string hostCpuIdentity();

// ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab (userCacheRoot(), shared with the GPU backend)
inline std::string cacheRoot() {
    return userCacheRoot();
}

// A name no other thread or process is using for its temporary files.
std::string uniqueSuffix();

// The compiler a JitOptions names and what its `--version` says: a changed compiler (an upgrade
// behind the same path) must miss every cache. NotFound when none runs.
struct CompilerIdentity {
    std::string path;
    std::string version;             // the whole --version output
    std::vector<std::string> flags;  // the flags it is run with (options' or the defaults)
    std::string describe() const;    // path (first line of --version)
};
Result<CompilerIdentity> identifyCompiler(const JitOptions& options);

}  // namespace prunelab::engine::cpu::detail

// What the JIT (jit.cpp) and the tune pass (tune.cpp) share for their on-disk caches: the content
// hash, the host CPU's identity, the compiler's identity and the cache root. Not a public API.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/runtime/cpu/sparse/jit.h"

namespace prunelab::engine::cpu::detail {

// Two FNV-1a passes with different bases: 128 bits is plenty to tell sources apart (the cache
// is no security boundary: whoever can write it can write the compiler's output anyway).
struct Hasher {
    uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    void addBytes(const void* data, size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (size_t i = 0; i < n; ++i) {
            a = (a ^ p[i]) * 0x100000001b3ull;
            b = (b ^ p[i]) * 0x100000001b3ull;
            b ^= b >> 29;
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        a = (a ^ 0xff) * 0x100000001b3ull;
        b = (b ^ 0xfe) * 0x100000001b3ull;
    }
    void add(const std::string& s) { addBytes(s.data(), s.size()); }
    template <class T>
    void addVector(const std::vector<T>& v) {
        addBytes(v.data(), v.size() * sizeof(T));
    }
    std::string hex() const {
        char buf[33];
        std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                      static_cast<unsigned long long>(b));
        return buf;
    }
};

// -march=native code built on one machine can crash on another that shares the home
// directory, and timings differ between CPUs: the model and feature flags of the first processor.
std::string hostCpuIdentity();

// ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab
std::string cacheRoot();

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

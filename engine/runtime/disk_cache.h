// What every backend's on-disk cache shares (the CPU's kernels and tuning, the GPU's SPIR-V and
// pipeline cache): the user's cache folder and the content hash that names an entry.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace prunelab::engine {

// ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab: tests point XDG_CACHE_HOME at a temporary folder.
inline std::string userCacheRoot() {
    namespace fs = std::filesystem;
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return (fs::path(xdg) / "prunelab").string();
    const char* home = std::getenv("HOME");
    return (fs::path(home && *home ? home : "/tmp") / ".cache" / "prunelab").string();
}

// Two FNV-1a passes with different bases: 128 bits is plenty to tell sources apart (the cache
// is no security boundary: whoever can write it can write the compiler's output anyway).
struct ContentHasher {
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

}  // namespace prunelab::engine

// Where every test suite finds the asset cache: ${XDG_CACHE_HOME}/prunelab when set (as
// ./prunelab setup fills it), else the cache the build was configured with.
#pragma once

#include <cstdlib>
#include <string>

namespace prunelab::testing {

inline std::string cacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/prunelab";
    return PRUNELAB_CACHE_DIR;
}

}  // namespace prunelab::testing

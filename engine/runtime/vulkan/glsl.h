// GLSL compute shaders to SPIR-V at run time, through glslang's C API (Debian 12's libshaderc
// is broken, so not through shaderc), with the SPIR-V cached on disk. Every shader the backend
// runs is generated per layer as GLSL text, so a student can read exactly what runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::vulkan {

// SPIR-V words for `glsl`, from the cache when it holds them, else compiled and written there.
// `name` says what the shader is for (the executor passes describeNode() of its node): an error
// ("the shader for node 'conv_7' (Conv) does not compile: ...") names it and carries glslang's log,
// whose lines read "ERROR: 0:LINE: ...", and the shader with its lines numbered. Internal (a
// generated shader that does not compile is our bug). Thread-safe. The cache is
// <userCacheRoot()>/vulkan/spirv (disk_cache.h); PRUNELAB_VULKAN_NO_CACHE=1 turns it off. A cache
// entry that is unreadable, truncated or altered is compiled again and replaced, never trusted.
Result<std::vector<uint32_t>> compileComputeShader(const std::string& glsl,
                                                   const std::string& name = "");

// Counts since the process started, for tests and the report: shaders read from the cache,
// compiled (a miss), and cache entries found damaged and replaced.
struct SpirvCacheStats {
    int hits = 0;
    int compiled = 0;
    int damaged = 0;
};
SpirvCacheStats spirvCacheStats();

// The cache file `glsl` is kept in (whether it exists or not): for tests and the curious.
std::string spirvCachePath(const std::string& glsl);

}  // namespace prunelab::engine::vulkan

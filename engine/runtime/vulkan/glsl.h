// GLSL compute shaders to SPIR-V at run time, through glslang's C API (Debian 12's libshaderc
// is broken, so not through shaderc). Every shader the backend runs is generated per layer as
// GLSL text, so a student can read exactly what runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::vulkan {

// SPIR-V words, or Internal with glslang's log (a generated shader that does not compile is our
// bug). Thread-safe.
Result<std::vector<uint32_t>> compileComputeShader(const std::string& glsl);

}  // namespace prunelab::engine::vulkan

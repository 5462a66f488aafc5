// glslang's C interface (see glsl.h): preprocess, parse, link, generate SPIR-V 1.3 for Vulkan 1.1.
#include "engine/runtime/vulkan/glsl.h"

#include <glslang/Include/glslang_c_interface.h>
#include <glslang/Public/resource_limits_c.h>

#include <mutex>

namespace prunelab::engine::vulkan {

namespace {

// glslang keeps process-wide tables: initialised once, and compiles take turns (it is not
// documented as thread-safe, and shaders are small).
std::mutex& glslangLock() {
    static std::mutex m;
    static bool initialised = [] { return glslang_initialize_process() != 0; }();
    (void)initialised;
    return m;
}

std::string withLog(const std::string& what, const char* log, const std::string& glsl) {
    return what + ": " + (log ? log : "") + "\n--- the shader ---\n" + glsl;
}

}  // namespace

Result<std::vector<uint32_t>> compileComputeShader(const std::string& glsl) {
    std::lock_guard<std::mutex> lock(glslangLock());
    glslang_input_t input{};
    input.language = GLSLANG_SOURCE_GLSL;
    input.stage = GLSLANG_STAGE_COMPUTE;
    input.client = GLSLANG_CLIENT_VULKAN;
    input.client_version = GLSLANG_TARGET_VULKAN_1_1;
    input.target_language = GLSLANG_TARGET_SPV;
    input.target_language_version = GLSLANG_TARGET_SPV_1_3;
    input.code = glsl.c_str();
    input.default_version = 450;
    input.default_profile = GLSLANG_NO_PROFILE;
    input.messages = GLSLANG_MSG_DEFAULT_BIT;
    input.resource = glslang_default_resource();
    glslang_shader_t* shader = glslang_shader_create(&input);
    if (!shader) return makeError(ErrorCode::Internal, "glslang could not create a shader");
    if (!glslang_shader_preprocess(shader, &input) || !glslang_shader_parse(shader, &input)) {
        std::string why = withLog("the generated shader does not compile",
                                  glslang_shader_get_info_log(shader), glsl);
        glslang_shader_delete(shader);
        return makeError(ErrorCode::Internal, why);
    }
    glslang_program_t* program = glslang_program_create();
    glslang_program_add_shader(program, shader);
    if (!glslang_program_link(program, GLSLANG_MSG_SPV_RULES_BIT | GLSLANG_MSG_VULKAN_RULES_BIT)) {
        std::string why = withLog("the generated shader does not link",
                                  glslang_program_get_info_log(program), glsl);
        glslang_program_delete(program);
        glslang_shader_delete(shader);
        return makeError(ErrorCode::Internal, why);
    }
    glslang_program_SPIRV_generate(program, GLSLANG_STAGE_COMPUTE);
    std::vector<uint32_t> words(glslang_program_SPIRV_get_size(program));
    glslang_program_SPIRV_get(program, words.data());
    glslang_program_delete(program);
    glslang_shader_delete(shader);
    if (words.empty()) return makeError(ErrorCode::Internal, "glslang produced no SPIR-V");
    return words;
}

}  // namespace prunelab::engine::vulkan

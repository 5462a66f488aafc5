// glslang's C interface (see glsl.h): preprocess, parse, link, generate SPIR-V 1.3 for Vulkan 1.1;
// and the on-disk cache of what it generates, keyed by the text and glslang's version.
#include "engine/runtime/vulkan/glsl.h"

#include <glslang/Include/glslang_c_interface.h>
#include <glslang/Public/resource_limits_c.h>
#include <glslang/build_info.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "engine/runtime/disk_cache.h"

namespace prunelab::engine::vulkan {

namespace {

namespace fs = std::filesystem;

std::atomic<int> g_hits{0}, g_compiled{0}, g_damaged{0};

// glslang keeps process-wide tables: initialised once, and compiles take turns (it is not
// documented as thread-safe, and shaders are small).
std::mutex& glslangLock() {
    static std::mutex m;
    static bool initialised = [] { return glslang_initialize_process() != 0; }();
    (void)initialised;
    return m;
}

// The shader with its lines numbered as glslang's log numbers them ("ERROR: 0:12: ...").
std::string numbered(const std::string& glsl) {
    std::ostringstream out;
    std::istringstream in(glsl);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "%4d| ", ++n);
        out << prefix << line << '\n';
    }
    return out.str();
}

std::string withLog(const std::string& what, const char* log, const std::string& glsl) {
    std::string text = log ? log : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
    return what + ":\n" + text + "\n--- the shader ---\n" + numbered(glsl);
}

Result<std::vector<uint32_t>> compile(const std::string& glsl, const std::string& forWhat) {
    const std::string name = forWhat.empty() ? "the generated shader" : "the shader for " + forWhat;
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
        std::string why =
            withLog(name + " does not compile", glslang_shader_get_info_log(shader), glsl);
        glslang_shader_delete(shader);
        return makeError(ErrorCode::Internal, why);
    }
    glslang_program_t* program = glslang_program_create();
    glslang_program_add_shader(program, shader);
    if (!glslang_program_link(program, GLSLANG_MSG_SPV_RULES_BIT | GLSLANG_MSG_VULKAN_RULES_BIT)) {
        std::string why =
            withLog(name + " does not link", glslang_program_get_info_log(program), glsl);
        glslang_program_delete(program);
        glslang_shader_delete(shader);
        return makeError(ErrorCode::Internal, why);
    }
    glslang_program_SPIRV_generate(program, GLSLANG_STAGE_COMPUTE);
    std::vector<uint32_t> words(glslang_program_SPIRV_get_size(program));
    glslang_program_SPIRV_get(program, words.data());
    glslang_program_delete(program);
    glslang_shader_delete(shader);
    if (words.empty()) {
        return makeError(ErrorCode::Internal, "glslang produced no SPIR-V: " + name);
    }
    return words;
}

// A cache file: this header, then the SPIR-V words. The length and checksum catch a truncated
// or altered file (a crash mid-write cannot leave one: files are renamed into place whole).
struct CacheHeader {
    uint32_t tag = 0x56534c50;  // "PLSV"
    uint32_t words = 0;
    uint64_t checksum = 0;
};
static_assert(sizeof(CacheHeader) == 16);
constexpr uint32_t kSpirvMagic = 0x07230203;

uint64_t checksum(const std::vector<uint32_t>& words) {
    ContentHasher h;
    h.addVector(words);
    return h.a;
}

bool cacheDisabled() {
    const char* v = std::getenv("PRUNELAB_VULKAN_NO_CACHE");
    return v && std::strcmp(v, "1") == 0;
}

fs::path cacheFile(const std::string& glsl) {
    ContentHasher h;
    // Everything that changes the words: the compiler's version and the targets asked for.
    h.add("prunelab spirv cache 1");
    h.add(std::to_string(GLSLANG_VERSION_MAJOR) + "." + std::to_string(GLSLANG_VERSION_MINOR) +
          "." + std::to_string(GLSLANG_VERSION_PATCH) + GLSLANG_VERSION_FLAVOR);
    h.add("vulkan 1.1, spir-v 1.3, glsl 450, default resources");
    h.add(glsl);
    return fs::path(userCacheRoot()) / "vulkan" / "spirv" / (h.hex() + ".spv");
}

// The words of a sound cache file; nullopt when there is none; an empty vector when the file
// is damaged (it is then replaced).
std::optional<std::vector<uint32_t>> readCache(const fs::path& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return std::nullopt;
    const std::streamoff size = in.tellg();
    in.seekg(0);
    CacheHeader header;
    if (size < static_cast<std::streamoff>(sizeof header) + 4 || size % 4 != 0 ||
        !in.read(reinterpret_cast<char*>(&header), sizeof header) ||
        header.tag != CacheHeader{}.tag ||
        static_cast<std::streamoff>(sizeof header) +
                4 * static_cast<std::streamoff>(header.words) !=
            size) {
        return std::vector<uint32_t>{};
    }
    std::vector<uint32_t> words(header.words);
    if (!in.read(reinterpret_cast<char*>(words.data()),
                 4 * static_cast<std::streamoff>(words.size())) ||
        words[0] != kSpirvMagic || checksum(words) != header.checksum) {
        return std::vector<uint32_t>{};
    }
    return words;
}

// Written beside its final name and renamed into place: readers see a whole file or none, and
// two processes writing the same entry write the same bytes. A failure only costs a recompile.
void writeCache(const fs::path& path, const std::vector<uint32_t>& words) {
    static std::atomic<uint64_t> counter{0};
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = path.parent_path() / ("tmp-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(counter.fetch_add(1)) + ".spv");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        CacheHeader header;
        header.words = static_cast<uint32_t>(words.size());
        header.checksum = checksum(words);
        out.write(reinterpret_cast<const char*>(&header), sizeof header);
        out.write(reinterpret_cast<const char*>(words.data()),
                  static_cast<std::streamsize>(4 * words.size()));
        if (!out.flush()) {
            out.close();
            fs::remove(tmp, ec);
            return;
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) fs::remove(tmp, ec);
}

}  // namespace

std::string spirvCachePath(const std::string& glsl) {
    return cacheFile(glsl).string();
}

SpirvCacheStats spirvCacheStats() {
    return {g_hits.load(), g_compiled.load(), g_damaged.load()};
}

Result<std::vector<uint32_t>> compileComputeShader(const std::string& glsl,
                                                   const std::string& name) {
    const bool useCache = !cacheDisabled();
    const fs::path path = useCache ? cacheFile(glsl) : fs::path();
    if (useCache) {
        if (auto cached = readCache(path)) {
            if (!cached->empty()) {
                g_hits.fetch_add(1);
                return std::move(*cached);
            }
            g_damaged.fetch_add(1);
        }
    }
    PL_TRY_ASSIGN(std::vector<uint32_t> words, compile(glsl, name));
    g_compiled.fetch_add(1);
    if (useCache) writeCache(path, words);
    return words;
}

}  // namespace prunelab::engine::vulkan

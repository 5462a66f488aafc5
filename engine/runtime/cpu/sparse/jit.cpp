// The JIT: runs the host compiler on generated source (an argument vector through posix_spawn,
// never a shell), keeps the shared library in a content-addressed cache, and loads it with dlopen.
#include "engine/runtime/cpu/sparse/jit.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "engine/io/host_cpu.h"
#include "engine/runtime/cpu/sparse/jit_internal.h"

extern char** environ;

namespace prunelab::engine::cpu {

using codegen::LayerCode;
using codegen::SparseModel;

static_assert(static_cast<int>(Epilogue::Activation::None) == 0 &&
                  static_cast<int>(Epilogue::Activation::Relu) == 1 &&
                  static_cast<int>(Epilogue::Activation::LeakyRelu) == 2 &&
                  static_cast<int>(Epilogue::Activation::Clip) == 3 &&
                  static_cast<int>(Epilogue::Activation::PRelu) == 4 &&
                  static_cast<int>(Epilogue::Activation::HardSwish) == 5,
              "the generated code's PL_ACT_* values follow Epilogue::Activation");

namespace {

namespace fs = std::filesystem;

// ---- Processes -----------------------------------------------------------------------------

std::string readFile(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string tail(const std::string& text, size_t n) {
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

struct ProcessResult {
    bool timedOut = false;
    bool cancelled = false;
    int exitCode = -1;   // -1 when killed by a signal
    std::string output;  // stdout and stderr together
};

// Runs argv[0] (a path) with argv, stdin from /dev/null and stdout + stderr into `logPath`,
// killing it after `timeoutSeconds`. Error only when it could not be started.
Result<ProcessResult> runProcess(const std::vector<std::string>& argv, const fs::path& logPath,
                                 int timeoutSeconds, const std::atomic<bool>* cancel = nullptr) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // Its own process group, so that a timeout kills what the driver started too (cc1plus, as,
    // ld), not only the driver.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        return makeError(ErrorCode::NotFound,
                         "cannot run '" + argv[0] + "': " + std::generic_category().message(rc));
    }
    ProcessResult result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) break;
        const bool cancelled = cancel && cancel->load();
        if (cancelled || std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            result.timedOut = !cancelled;
            result.cancelled = cancelled;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.output = readFile(logPath);
    return result;
}

// ---- The compiler --------------------------------------------------------------------------

Result<std::string> findCompiler(const JitOptions& options) {
    std::string name = options.compiler;
    if (name.empty()) {
        const char* cxx = std::getenv("CXX");
        name = cxx && *cxx ? cxx : "c++";
    }
    if (name.find('/') != std::string::npos) {
        if (::access(name.c_str(), X_OK) != 0) {
            return makeError(ErrorCode::NotFound,
                             "the C++ compiler '" + name + "' does not exist or is not executable");
        }
        return name;
    }
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return makeError(ErrorCode::NotFound,
                     "no C++ compiler: '" + name + "' is not on PATH (set CXX to one)");
}

fs::path defaultCacheDir() {
    return fs::path(detail::cacheRoot()) / "kernels";
}

template <class F>
F symbol(void* handle, const std::string& name) {
    return reinterpret_cast<F>(::dlsym(handle, name.c_str()));
}

}  // namespace

namespace detail {

std::string uniqueSuffix() {
    static std::atomic<uint64_t> counter{0};
    return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::string hostCpuIdentity() {
    std::string id;
    for (auto& [key, value] : firstProcessorInfo()) {
        if (key == "model name" || key == "flags" || key == "Features" || key == "CPU part") {
            id += key + ": " + value + "\n";
        }
    }
    return id;
}

std::string CompilerIdentity::describe() const {
    return path + " (" + version.substr(0, version.find('\n')) + ")";
}

Result<CompilerIdentity> identifyCompiler(const JitOptions& options) {
    CompilerIdentity id;
    PL_TRY_ASSIGN(id.path, findCompiler(options));
    id.flags = options.flags.empty() ? defaultJitFlags() : options.flags;
    // The log goes to the temporary directory: identifying must not need the cache to exist.
    const fs::path logPath = fs::temp_directory_path() / ("prunelab-cc-" + uniqueSuffix() + ".log");
    auto version = runProcess({id.path, "--version"}, logPath, options.timeoutSeconds);
    std::error_code ec;
    fs::remove(logPath, ec);
    if (!version.ok()) return version.error();
    if (version->exitCode != 0 || version->output.empty()) {
        return makeError(ErrorCode::NotFound, "the C++ compiler '" + id.path +
                                                  "' does not answer --version (exit " +
                                                  std::to_string(version->exitCode) +
                                                  "): " + tail(version->output, 500));
    }
    id.version = version->output;
    return id;
}

}  // namespace detail

std::vector<std::string> defaultJitFlags() {
    return {"-O3", "-march=native", "-std=c++20"};
}

KernelEpilogue toKernelEpilogue(const Epilogue& epi) {
    KernelEpilogue k;
    k.activation = static_cast<int32_t>(epi.activation);
    k.alpha = epi.alpha;
    k.clipMin = epi.clipMin;
    k.clipMax = epi.clipMax;
    k.slopes = epi.slopes;
    k.residual = epi.residual;
    return k;
}

// ---- CompiledModule ----------------------------------------------------------------------------

CompiledModule::CompiledModule(CompiledModule&& other) noexcept {
    *this = std::move(other);
}

CompiledModule& CompiledModule::operator=(CompiledModule&& other) noexcept {
    if (this != &other) {
        for (void* h : m_handles) {
            if (h) ::dlclose(h);
        }
        m_handles = std::move(other.m_handles);
        other.m_handles.clear();
        m_indices = std::move(other.m_indices);
        m_functions = std::move(other.m_functions);
        m_paths = std::move(other.m_paths);
        m_key = std::move(other.m_key);
        m_compiler = std::move(other.m_compiler);
        m_fromCache = other.m_fromCache;
        m_compiledCount = other.m_compiledCount;
    }
    return *this;
}

CompiledModule::~CompiledModule() {
    for (void* h : m_handles) {
        if (h) ::dlclose(h);  // a library that failed to load left none
    }
}

KernelFunction CompiledModule::layer(int index) const {
    for (size_t i = 0; i < m_indices.size(); ++i) {
        if (m_indices[i] == index) return m_functions[i];
    }
    return nullptr;
}

void CompiledModule::run(const LayerCode& layer, const float* input, float* output,
                         const Epilogue& epi, int64_t rowBegin, int64_t rowEnd) const {
    const KernelFunction f = this->layer(layer.index);
    assert(f && "CompiledModule::run: the module does not hold this layer");
    if (!f || rowBegin >= rowEnd) return;
    const KernelEpilogue k = toKernelEpilogue(epi);
    f(input, output, layer.bias.empty() ? nullptr : layer.bias.data(), &k, rowBegin, rowEnd);
}

CompiledModule CompiledModule::combine(std::vector<CompiledModule> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    CompiledModule all;
    all.m_fromCache = true;
    detail::Hasher hash;
    for (CompiledModule& part : parts) {
        all.m_handles.insert(all.m_handles.end(), part.m_handles.begin(), part.m_handles.end());
        part.m_handles.clear();
        for (size_t i = 0; i < part.m_indices.size(); ++i) {
            if (all.layer(part.m_indices[i])) continue;
            all.m_indices.push_back(part.m_indices[i]);
            all.m_functions.push_back(part.m_functions[i]);
        }
        all.m_paths.insert(all.m_paths.end(), part.m_paths.begin(), part.m_paths.end());
        hash.add(part.m_key);
        all.m_fromCache = all.m_fromCache && part.m_fromCache;
        all.m_compiledCount += part.m_compiledCount;
        if (all.m_compiler.empty()) all.m_compiler = part.m_compiler;
    }
    // Ascending, as one library's table is.
    std::vector<size_t> order(all.m_indices.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return all.m_indices[x] < all.m_indices[y]; });
    std::vector<int> indices;
    std::vector<KernelFunction> functions;
    for (size_t i : order) {
        indices.push_back(all.m_indices[i]);
        functions.push_back(all.m_functions[i]);
    }
    all.m_indices = std::move(indices);
    all.m_functions = std::move(functions);
    all.m_key = hash.hex();
    return all;
}

CompiledModule CompiledModule::fromFunctions(
    const std::vector<std::pair<int, KernelFunction>>& layers, std::string key) {
    CompiledModule module;
    module.m_key = std::move(key);
    module.m_fromCache = true;  // nothing was compiled for it
    module.m_compiler = "linked into this program";
    std::vector<std::pair<int, KernelFunction>> sorted;
    for (const auto& [index, function] : layers) {
        if (function == nullptr) continue;
        bool held = false;
        for (const auto& s : sorted) held = held || s.first == index;
        if (!held) sorted.emplace_back(index, function);
    }
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [index, function] : sorted) {
        module.m_indices.push_back(index);
        module.m_functions.push_back(function);
    }
    return module;
}

// ---- Compilation -------------------------------------------------------------------------------

namespace {

// Loads a library and resolves its table; Corrupt naming what is missing.
Status loadLibrary(const fs::path& path, void*& handle, std::vector<int>& indices,
                   std::vector<KernelFunction>& functions) {
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = ::dlerror();
        return makeError(ErrorCode::Corrupt, std::string("dlopen failed: ") + (e ? e : "?"),
                         path.string());
    }
    auto fail = [&](const std::string& what) -> Status {
        ::dlclose(handle);
        handle = nullptr;
        return makeError(ErrorCode::Corrupt, what, path.string());
    };
    using VersionFn = int32_t (*)();
    using TableFn = int32_t (*)(const int32_t**);
    const auto version = symbol<VersionFn>(handle, "pl_module_abi_version");
    const auto table = symbol<TableFn>(handle, "pl_module_layers");
    if (!version || !table) return fail("not a PruneLab kernel module (no module table)");
    if (version() != kKernelAbiVersion) {
        return fail("kernel ABI " + std::to_string(version()) + ", expected " +
                    std::to_string(kKernelAbiVersion));
    }
    const int32_t* list = nullptr;
    const int32_t count = table(&list);
    indices.clear();
    functions.clear();
    for (int32_t i = 0; i < count; ++i) {
        const auto f = symbol<KernelFunction>(handle, "pl_layer_" + std::to_string(list[i]));
        if (!f)
            return fail("the table lists layer " + std::to_string(list[i]) + " but it is missing");
        indices.push_back(list[i]);
        functions.push_back(f);
    }
    return {};
}

}  // namespace

// Builds (or loads from the cache) one library; `compiler` was identified once for all.
struct CompiledModuleAccess {
    static Result<CompiledModule> compile(const detail::CompilerIdentity& compiler,
                                          const std::string& source, const JitOptions& options) {
        const fs::path dir =
            options.cacheDir.empty() ? defaultCacheDir() : fs::path(options.cacheDir);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) {
            return makeError(ErrorCode::Io, "cannot create the kernel cache: " + ec.message(),
                             dir.string());
        }
        detail::Hasher hash;
        hash.add("prunelab kernel abi " + std::to_string(kKernelAbiVersion));
        hash.add(compiler.path);
        hash.add(compiler.version);
        for (const std::string& f : compiler.flags) hash.add(f);
        hash.add(detail::hostCpuIdentity());
        hash.add(source);

        CompiledModule module;
        module.m_key = hash.hex();
        module.m_compiler = compiler.describe();
        const fs::path library = dir / (module.m_key + ".so");
        module.m_paths = {library.string()};
        module.m_handles = {nullptr};

        if (fs::exists(library, ec)) {
            const Status loaded =
                loadLibrary(library, module.m_handles[0], module.m_indices, module.m_functions);
            if (loaded.ok()) {
                module.m_fromCache = true;
                return module;
            }
            // A damaged cache entry is rebuilt rather than reported: the cache is only a cache.
            fs::remove(library, ec);
        }

        const std::string stem = "tmp-" + detail::uniqueSuffix();
        const fs::path logPath = dir / (stem + ".log");
        const fs::path tmpSource = dir / (stem + ".cpp");
        const fs::path tmpLibrary = dir / (stem + ".so");
        {
            std::ofstream f(tmpSource, std::ios::binary | std::ios::trunc);
            f << source;
            f.close();
            if (!f) return makeError(ErrorCode::Io, "cannot write the source", tmpSource.string());
        }
        std::vector<std::string> argv = {compiler.path};
        argv.insert(argv.end(), compiler.flags.begin(), compiler.flags.end());
        argv.insert(argv.end(),
                    {"-fPIC", "-shared", "-o", tmpLibrary.string(), tmpSource.string()});
        if (options.cancel && options.cancel->load()) {
            fs::remove(tmpSource, ec);
            return makeError(ErrorCode::Cancelled, "compiling the generated kernels was cancelled");
        }
        auto run = runProcess(argv, logPath, options.timeoutSeconds, options.cancel);
        if (!run.ok() || run->timedOut || run->cancelled || run->exitCode != 0) {
            fs::remove(tmpLibrary, ec);
            fs::remove(tmpSource, ec);
            fs::remove(logPath, ec);
            if (!run.ok()) return run.error();
            if (run->cancelled) {
                return makeError(ErrorCode::Cancelled,
                                 "compiling the generated kernels was cancelled");
            }
            const std::string why =
                run->timedOut ? "timed out after " + std::to_string(options.timeoutSeconds) + " s"
                              : "failed (exit " + std::to_string(run->exitCode) + ")";
            return makeError(ErrorCode::Internal,
                             "compiling the generated kernels with '" + compiler.path + "' " + why +
                                 "; the generic kernels can run instead. Compiler output: " +
                                 tail(run->output, 2000));
        }
        // rename() is atomic: another process sees either no library or a whole one. The source
        // is kept beside it for reading.
        fs::rename(tmpLibrary, library, ec);
        if (ec) {
            fs::remove(tmpLibrary, ec);
            fs::remove(tmpSource, ec);
            fs::remove(logPath, ec);
            return makeError(ErrorCode::Io, "cannot move the library into the cache",
                             library.string());
        }
        fs::rename(tmpSource, dir / (module.m_key + ".cpp"), ec);
        fs::remove(logPath, ec);
        module.m_compiledCount = 1;
        PL_TRY(loadLibrary(library, module.m_handles[0], module.m_indices, module.m_functions));
        return module;
    }
};

Result<CompiledModule> compileModule(const std::string& source, const JitOptions& options) {
    PL_TRY_ASSIGN(const detail::CompilerIdentity compiler, detail::identifyCompiler(options));
    return CompiledModuleAccess::compile(compiler, source, options);
}

std::vector<Result<CompiledModule>> compileModules(const std::vector<std::string>& sources,
                                                   const JitOptions& options) {
    auto compiler = detail::identifyCompiler(options);
    std::vector<std::optional<Result<CompiledModule>>> slots(sources.size());
    if (compiler.ok()) {
        const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
        const size_t jobs = std::min<size_t>(
            sources.size(), options.jobs > 0 ? size_t(options.jobs) : size_t(hardware));
        std::atomic<size_t> next{0};
        std::mutex progressMutex;
        JitProgress progress;
        progress.total = static_cast<int>(sources.size());
        if (options.onProgress) options.onProgress(progress);
        auto work = [&] {
            for (size_t i = next++; i < sources.size(); i = next++) {
                slots[i].emplace(CompiledModuleAccess::compile(*compiler, sources[i], options));
                if (!options.onProgress) continue;
                std::lock_guard lock(progressMutex);
                ++progress.done;
                if (slots[i]->ok() && !slots[i]->value().fromCache()) ++progress.built;
                options.onProgress(progress);
            }
        };
        std::vector<std::thread> threads;
        for (size_t t = 1; t < jobs; ++t) threads.emplace_back(work);
        work();
        for (std::thread& t : threads) t.join();
    }
    std::vector<Result<CompiledModule>> results;
    results.reserve(sources.size());
    for (auto& slot : slots) {
        if (slot) {
            results.push_back(std::move(*slot));
        } else {
            results.push_back(compiler.error());
        }
    }
    return results;
}

Result<CompiledModule> compileModel(const SparseModel& model, const JitOptions& options) {
    std::vector<std::string> sources;
    std::vector<int> indices;
    for (const LayerCode& layer : model.layers) {
        if (!canEmitLayer(layer)) continue;
        PL_TRY_ASSIGN(std::string source, emitLayerModuleSource(layer));
        sources.push_back(std::move(source));
        indices.push_back(layer.index);
    }
    if (sources.empty()) {
        // No layer to generate: still a (tableless) library, as callers expect one.
        PL_TRY_ASSIGN(std::string source, emitModuleSource(model));
        return compileModule(source, options);
    }
    std::vector<Result<CompiledModule>> results = compileModules(sources, options);
    std::vector<CompiledModule> parts;
    for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i].ok()) {
            return results[i].error().within("compiled layer " + std::to_string(indices[i]));
        }
        parts.push_back(std::move(results[i].value()));
    }
    return CompiledModule::combine(std::move(parts));
}

}  // namespace prunelab::engine::cpu

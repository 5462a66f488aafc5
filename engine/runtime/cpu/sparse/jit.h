// Compiling generated kernels (emit.h) with the host compiler into a shared library, cached on
// disk by a content hash, and loading it: the fast path of a compiled sparse model. Every
// failure is an Error the caller can report before falling back to the generic kernels.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/result.h"
#include "engine/runtime/backend.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/generic_kernels.h"

namespace prunelab::engine::cpu {

// Where a compile of several libraries stands: `done` of `total` ready (loaded from the cache or
// built), `built` of those made by the compiler.
struct JitProgress {
    int done = 0, total = 0, built = 0;
};

struct JitOptions {
    // The compiler: empty = $CXX when set, else `c++` found on PATH. One program path (no
    // arguments; a compiler wrapper goes in `flags`' place only through a script).
    std::string compiler;
    // Flags before the source; empty = defaultJitFlags(). Give a target's flag set to build for
    // it (-fPIC -shared are always added).
    std::vector<std::string> flags;
    // Empty = ${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/kernels.
    std::string cacheDir;
    int timeoutSeconds = 300;  // the compiler is killed after this
    // Compilers run at once by compileModules / compileModel; 0 = hardware_concurrency().
    int jobs = 0;
    // When it turns true, running compilers are killed, none is started, and the compile
    // returns Cancelled (nothing half-built enters the cache). A window closing mid-compile
    // does not wait minutes for it.
    const std::atomic<bool>* cancel = nullptr;
    // compileModules / compileModel: told once with done 0 before the first library, then as
    // each is ready, from the compiling threads one call at a time. A first Real-ESRGAN compile
    // takes about a minute on 2 cores: a demo shows "7 of 16 layers" instead of a silent wait.
    std::function<void(const JitProgress&)> onProgress;
};

// -O3 -march=native -std=c++20 (plus -fPIC -shared, always added).
std::vector<std::string> defaultJitFlags();

// The C ABI form of an Epilogue (the generated code's pl_epilogue).
KernelEpilogue toKernelEpilogue(const Epilogue& epi);

// Loaded libraries of generated layers: one from compileModule, or one per layer from
// compileModel, seen as one table of layers. Move-only; the libraries are unloaded (dlclose) when
// the module goes, after which its function pointers must not be called. Calls are thread-safe
// (the generated code has no state).
class CompiledModule final : public GeneratedKernels {
  public:
    std::string_view backend() const override { return "cpu"; }
    CompiledModule() = default;
    CompiledModule(CompiledModule&& other) noexcept;
    CompiledModule& operator=(CompiledModule&& other) noexcept;
    CompiledModule(const CompiledModule&) = delete;
    CompiledModule& operator=(const CompiledModule&) = delete;
    ~CompiledModule();

    // pl_layer_<index>, or nullptr when the module does not hold that layer.
    KernelFunction layer(int index) const;
    const std::vector<int>& layerIndices() const { return m_indices; }
    // runSparseLayer()'s contract for a layer this module holds (asserted), bias from the IR.
    void run(const codegen::LayerCode& layer, const float* input, float* output,
             const Epilogue& epi, int64_t rowBegin, int64_t rowEnd) const;

    // Every library, in the order they were combined (compileModel: layer order), and the
    // first of them ("" for an empty module): the whole module only when it holds one library.
    const std::vector<std::string>& libraryPaths() const { return m_paths; }
    const std::string& libraryPath() const { return m_paths.empty() ? m_empty : m_paths.front(); }
    // The cache key (hex): the library's own, or for several, a hash of all of theirs in order
    // (equal keys: the same libraries).
    const std::string& key() const { return m_key; }
    // Loaded without running the compiler: true only when every library came from the cache.
    bool fromCache() const { return m_fromCache; }
    // How many libraries the compiler built (0 when all came from the cache).
    int compiled() const { return m_compiledCount; }
    const std::string& compilerIdentity() const { return m_compiler; }  // path + first line

    // One module holding every part's libraries and layers (a layer index held twice: the first
    // part's wins). Parts must share a compiler.
    static CompiledModule combine(std::vector<CompiledModule> parts);

    // Layers linked into this program (the phone's agent links its model's generated layers in:
    // a static Android binary cannot dlopen). No library is loaded or unloaded; the functions
    // live as long as the program. An index given twice: the first wins. `key` names the set.
    static CompiledModule fromFunctions(const std::vector<std::pair<int, KernelFunction>>& layers,
                                        std::string key);

  private:
    friend struct CompiledModuleAccess;
    std::vector<void*> m_handles;
    std::vector<int> m_indices;
    std::vector<KernelFunction> m_functions;  // parallel to m_indices
    std::vector<std::string> m_paths;
    std::string m_key, m_compiler, m_empty;
    bool m_fromCache = false;
    int m_compiledCount = 0;
};

// Compiles `source` (a module from emitModuleSource) into
// <cacheDir>/<key>.so, key = hash(source, compiler path and `--version` output, flags, ABI
// version, the host CPU's model and features), or reuses that file when present; loads it and
// resolves every layer its table lists. Two processes may compile the same key at once: each writes
// its own temporary file and renames it into place, so neither ever loads a half-written library.
// Errors: NotFound when no compiler runs (names what was tried), Internal with the compiler's exit
// status and the tail of its output when compilation fails or times out, Io for the cache
// directory, Corrupt when the library lacks the module table or a listed layer.
Result<CompiledModule> compileModule(const std::string& source, const JitOptions& options = {});

// compileModule for each source, up to options.jobs compilers at once (cache hits load without
// one); results parallel to `sources`. The compiler's --version runs once: when no compiler
// runs, every result is that NotFound.
std::vector<Result<CompiledModule>> compileModules(const std::vector<std::string>& sources,
                                                   const JitOptions& options = {});

// One library per emittable layer (emitLayerModuleSource, each cached under its own key, so a
// plan change recompiles only the changed layers), compiled in parallel, combined into one
// module. A model with no emittable layer gives one library with an empty table. The first
// failing layer's error (named) when any fails. Layers the module does not hold (see
// canEmitLayer) run with runSparseLayer; the caller reports which.
Result<CompiledModule> compileModel(const codegen::SparseModel& model,
                                    const JitOptions& options = {});

}  // namespace prunelab::engine::cpu

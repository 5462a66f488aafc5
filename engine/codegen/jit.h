// Compiling generated kernels (emit.h) with the host compiler into a shared library, cached on
// disk by a content hash, and loading it: the fast path of a compiled sparse model. Every
// failure is an Error the caller can report before falling back to the generic kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/codegen/emit.h"
#include "engine/codegen/generic_kernels.h"
#include "engine/ir/result.h"

namespace prunelab::engine::codegen {

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
};

// -O3 -march=native -std=c++20 (plus -fPIC -shared, always added).
std::vector<std::string> defaultJitFlags();

// The C ABI form of an Epilogue (the generated code's pl_epilogue).
KernelEpilogue toKernelEpilogue(const Epilogue& epi);

// A loaded library of generated layers. Move-only; the library is unloaded (dlclose) when the
// last module holding it goes, after which its function pointers must not be called. Calls are
// thread-safe (the generated code has no state).
class CompiledModule {
  public:
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
    void run(const LayerCode& layer, const float* input, float* output, const Epilogue& epi,
             int64_t rowBegin, int64_t rowEnd) const;

    const std::string& libraryPath() const { return m_path; }
    const std::string& key() const { return m_key; }  // the cache key (hex)
    bool fromCache() const { return m_fromCache; }    // loaded without running the compiler
    const std::string& compilerIdentity() const { return m_compiler; }  // path + first line

  private:
    friend Result<CompiledModule> compileModule(const std::string&, const JitOptions&);
    void* m_handle = nullptr;
    std::vector<int> m_indices;
    std::vector<KernelFunction> m_functions;  // parallel to m_indices
    std::string m_path, m_key, m_compiler;
    bool m_fromCache = false;
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

// emitModuleSource(model) then compileModule. Layers the module does not hold (see
// canEmitLayer) run with runSparseLayer; the caller reports which.
Result<CompiledModule> compileModel(const SparseModel& model, const JitOptions& options = {});

}  // namespace prunelab::engine::codegen

// The CPU backend: describes this machine's processor and prepares CpuExecutors. Every op of the
// IR runs here (the plain reference kernel is the fallback), so unsupported() only refuses
// what no runtime can plan: a value whose shape is not bound yet.
#include "engine/runtime/cpu/cpu_backend.h"

#include <thread>

#include "engine/io/host_cpu.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "engine/runtime/cpu/dense_lib.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/cpu/sparse/measure.h"
#include "engine/runtime/cpu/sparse/tune.h"

namespace prunelab::engine::cpu {

namespace {

class CpuBackend final : public Backend {
  public:
    std::string_view name() const override { return "cpu"; }
    std::string_view title() const override { return "CPU (this computer)"; }
    Status available() const override { return {}; }

    BackendDescription describe(int threads) const override {
        BackendDescription d;
        std::string model = processorInfo("model name");
        const unsigned cores = std::thread::hardware_concurrency();
        d.device = (model.empty() ? std::string("this computer's processor") : model) + ", " +
                   std::to_string(cores) + " core" + (cores == 1 ? "" : "s");
        d.threads = threads > 0 ? threads : static_cast<int>(cores ? cores : 1);
#if defined(__x86_64__) || defined(__i386__)
        // The builtin takes literals only.
        if (__builtin_cpu_supports("avx2")) d.features.emplace_back("avx2");
        if (__builtin_cpu_supports("fma")) d.features.emplace_back("fma");
        if (__builtin_cpu_supports("avx512f")) d.features.emplace_back("avx512f");
#elif defined(__aarch64__)
        d.features.emplace_back("neon");
#endif
        d.features.push_back(denseLibraryName());
        return d;
    }

    std::optional<std::string> unsupported(const Graph& graph, const Node& node) const override {
        return unboundOutput(graph, node);
    }

    Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                              const PrepareOptions& options) const override {
        PL_TRY_ASSIGN(std::unique_ptr<CpuExecutor> exec, CpuExecutor::create(graph, options));
        return std::unique_ptr<Executor>(std::move(exec));
    }

    // Tune (cached), emit C++ per layer and build it with the host compiler (cached), then keep
    // a layer sparse only where its kernel, the generated one where there is one, timed faster.
    Status generateAndMeasure(const Graph& graph, codegen::SparseModel& model,
                              const CompileForOptions& options,
                              CompiledForBackend& out) const override {
        auto cancelled = [&] { return options.cancel && options.cancel->load(); };
        JitOptions jit;
        jit.cancel = options.cancel;
        jit.cacheDir = options.kernelCache;
        if (options.tune) {
            TuneOptions tuneOptions;
            tuneOptions.jit = jit;
            PL_TRY(tune(model, tuneOptions));
        }
        std::shared_ptr<const CompiledModule> generated;
        out.kernels = "generic sparse kernels";
        if (options.generate) {
            if (options.onProgress) {
                jit.onProgress = [&options](const JitProgress& p) {
                    options.onProgress(
                        {CompileProgress::Step::Compiling, p.done, p.total, p.built});
                };
            }
            auto module = compileModel(model, jit);
            if (cancelled()) return makeError(ErrorCode::Cancelled, "the compile was cancelled");
            if (module.ok()) {
                generated = std::make_shared<const CompiledModule>(std::move(*module));
                out.kernels = "generated kernels";
            } else {
                out.kernels =
                    "generic sparse kernels (no generated code: " + module.error().toString() + ")";
            }
        }
        out.generated = generated;
        if (options.measure && !cancelled()) {
            if (options.onProgress) options.onProgress({CompileProgress::Step::Measuring});
            MeasureOptions measure;
            measure.threads = options.measureThreads;
            measure.runs = options.measureRuns;
            measure.generated = generated;  // decide on the kernels that will run
            measure.backend = this;
            PL_TRY_ASSIGN(model, keepFasterKernels(graph, std::move(model), measure));
        }
        return {};
    }
};

}  // namespace

#if PRUNELAB_CPU_ONEDNN
std::string denseLibraryName() {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch);
}
#endif

const Backend& cpuBackend() {
    static const CpuBackend backend;
    return backend;
}

}  // namespace prunelab::engine::cpu

// compileFor: the compile steps in their one order (see compile.h).
#include "engine/runtime/compile.h"

#include "engine/codegen/jit.h"
#include "engine/codegen/passes.h"
#include "engine/codegen/tune.h"
#include "engine/prune/pruned_model.h"
#include "engine/runtime/cpu/sparse_measure.h"

namespace prunelab::engine {

namespace {

Result<CompiledForBackend> finish(const Backend& backend, const Graph& graph,
                                  codegen::SparseModel model, const CompileForOptions& options) {
    auto cancelled = [&] { return options.cancel && options.cancel->load(); };
    codegen::JitOptions jit;
    jit.cancel = options.cancel;
    jit.cacheDir = options.kernelCache;
    if (options.tune) {
        codegen::TuneOptions tune;
        tune.jit = jit;
        PL_TRY(codegen::tune(model, tune));
    }
    CompiledForBackend out;
    out.kernels = "generic sparse kernels";
    if (options.generate) {
        if (options.onProgress) {
            jit.onProgress = [&options](const codegen::JitProgress& p) {
                options.onProgress({CompileProgress::Step::Compiling, p.done, p.total, p.built});
            };
        }
        auto module = codegen::compileModel(model, jit);
        if (cancelled()) return makeError(ErrorCode::Cancelled, "the compile was cancelled");
        if (module.ok()) {
            out.generated = std::make_shared<codegen::CompiledModule>(std::move(*module));
            out.kernels = "generated kernels";
        } else {
            out.kernels =
                "generic sparse kernels (no generated code: " + module.error().toString() + ")";
        }
    }
    if (options.measure && !cancelled()) {
        if (options.onProgress) options.onProgress({CompileProgress::Step::Measuring});
        cpu::MeasureOptions measure;
        measure.threads = options.measureThreads;
        measure.runs = options.measureRuns;
        measure.generated = out.generated;  // decide on the kernels that will run
        measure.backend = &backend;
        PL_TRY_ASSIGN(model, cpu::keepFasterKernels(graph, std::move(model), measure));
    }
    if (cancelled()) return makeError(ErrorCode::Cancelled, "the compile was cancelled");
    out.model = std::make_shared<const codegen::SparseModel>(std::move(model));
    return out;
}

}  // namespace

PrepareOptions CompiledForBackend::prepareOptions(int threads) const {
    PrepareOptions options;
    options.threads = threads;
    options.sparse = model;
    options.generated = generated;
    return options;
}

Result<CompiledForBackend> compileFor(const Backend& backend, const prune::PrunedModel& pruned,
                                      const CompileForOptions& options) {
    PL_TRY(backend.available());
    PL_TRY_ASSIGN(codegen::SparseModel model, codegen::compileLayers(pruned));
    return finish(backend, pruned.graph, std::move(model), options);
}

Result<CompiledForBackend> compileFor(const Backend& backend, const Graph& pruned,
                                      const CompileForOptions& options) {
    if (prune::isPlabGraph(pruned)) {
        PL_TRY_ASSIGN(prune::PrunedModel model, prune::prunedModelFromGraph(pruned));
        return compileFor(backend, model, options);
    }
    PL_TRY(backend.available());
    PL_TRY_ASSIGN(codegen::SparseModel model, codegen::compileLayers(pruned));
    return finish(backend, pruned, std::move(model), options);
}

}  // namespace prunelab::engine

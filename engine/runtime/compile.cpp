// compileFor: the compile steps in their one order (see compile.h).
#include "engine/runtime/compile.h"

#include "engine/codegen/passes.h"
#include "engine/prune/pruned_model.h"

namespace prunelab::engine {

namespace {

Result<CompiledForBackend> finish(const Backend& backend, const Graph& graph,
                                  codegen::SparseModel model, const CompileForOptions& options) {
    CompiledForBackend out;
    PL_TRY(backend.generateAndMeasure(graph, model, options, out));
    if (options.cancel && options.cancel->load()) {
        return makeError(ErrorCode::Cancelled, "the compile was cancelled");
    }
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

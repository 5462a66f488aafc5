// What every backend shares: the default compile steps and running a batch (sensitivity's
// runner). The list of backends is backend_list.cpp.
#include "engine/runtime/backend.h"

#include "engine/runtime/compile.h"

namespace prunelab::engine {

Status Backend::generateAndMeasure(const Graph&, codegen::SparseModel&, const CompileForOptions&,
                                   CompiledForBackend& out) const {
    out.kernels = "the compiler's layers, run by " + std::string(name()) + "'s own kernels";
    return {};
}

Result<const Backend*> Backend::withArgument(std::string_view argument) const {
    return makeError(ErrorCode::InvalidArgument,
                     "backend '" + std::string(name()) + "' takes no ':" + std::string(argument) +
                         "' (only phone:SERIAL and agent:HOST:PORT do)");
}

std::optional<std::string> unboundDimension(const Value& v) {
    for (int64_t d : v.shape) {
        if (d < 0)
            return "value '" + v.name + "' has an unbound dimension " + shapeToString(v.shape);
    }
    return std::nullopt;
}

std::optional<std::string> unboundOutput(const Graph& graph, const Node& node) {
    for (ValueId id : node.outputs) {
        if (id == kNoValue) continue;
        if (auto why = unboundDimension(graph.value(id))) return why;
    }
    return std::nullopt;
}

Result<std::vector<std::vector<Tensor>>> runBatch(const Backend& backend, const Graph& graph,
                                                  std::span<const std::vector<Tensor>> batch,
                                                  int threads) {
    PrepareOptions options;
    options.threads = threads;
    PL_TRY_ASSIGN(std::unique_ptr<Executor> exec, backend.prepare(graph, options));
    std::vector<std::vector<Tensor>> out;
    out.reserve(batch.size());
    for (const std::vector<Tensor>& inputs : batch) {
        PL_TRY_ASSIGN(std::vector<Tensor> o, exec->run(inputs));
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace prunelab::engine

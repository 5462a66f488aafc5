// Lane factories: an executor per lane, captured by the RunModel that drives it.
#include "engine/live/lanes.h"

#include <algorithm>
#include <memory>

#include "engine/codegen/sparse_ir.h"
#include "engine/prune/pruned_model.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/remote/remote_backend.h"

namespace prunelab::engine::live {

namespace {

// The lane's run and, on a remote backend, its device/link split: both hold the executor.
void runWith(Lane& lane, std::unique_ptr<Executor> owned) {
    std::shared_ptr<Executor> exec = std::move(owned);
    lane.remote = remote::remoteDevice(*exec).has_value();
    lane.run = [exec](std::span<const Tensor> inputs) { return exec->run(inputs); };
    if (lane.remote) lane.lastSplit = [exec] { return exec->lastRunSplit(); };
}

// The pipeline's options for a lane: the lane's threads time the decision.
CompileForOptions compileOptions(const CompiledLaneOptions& options) {
    CompileForOptions c = options.compile;
    c.measureThreads = options.threads;  // decide at the thread count the lane runs at
    return c;
}

const Backend& backendOf(const CompiledLaneOptions& options) {
    return options.backend ? *options.backend : defaultBackend();
}

Result<Lane> laneFrom(const Graph& graph, const CompiledForBackend& compiled,
                      const CompiledLaneOptions& options) {
    int sparse = 0;
    for (const codegen::LayerCode& layer : compiled.model->layers) {
        if (layer.kind != codegen::KernelKind::Dense) ++sparse;
    }
    const size_t layers = compiled.model->layers.size();
    PL_TRY_ASSIGN(std::unique_ptr<Executor> exec,
                  backendOf(options).prepare(graph, compiled.prepareOptions(options.threads)));
    Lane lane;
    lane.name = "PruneLab compiled";
    lane.detail =
        std::to_string(sparse) + " of " + std::to_string(layers) + " layers sparse, " +
        compiled.kernels + ", " + std::to_string(exec->threads()) + " thread(s)" +
        (!options.compile.measure            ? ""
         : runsElsewhere(backendOf(options)) ? "; sparse only where measured faster there"
                                             : "; sparse only where measured faster here");
    runWith(lane, std::move(exec));
    return lane;
}

}  // namespace

namespace {

const char* rateKey(const prune::PlanEntry& entry) {
    if (entry.dense) return nullptr;
    if (entry.params.has("connectivity_rate")) return "connectivity_rate";
    if (entry.params.has("rate")) return "rate";
    return nullptr;
}

}  // namespace

prune::PruningPlan planAtRate(prune::PruningPlan plan, double rate) {
    rate = std::clamp(rate, 0.0, 0.95);
    bool pattern = false;
    auto set = [&](prune::PlanEntry& entry) {
        if (const char* key = rateKey(entry)) {
            entry.params.set(key, rate);
            pattern = pattern || std::string(key) == "connectivity_rate";
        }
    };
    set(plan.defaultEntry);
    for (auto& [name, entry] : plan.layers) set(entry);
    if (plan.fallbackParams.has("rate")) {
        plan.fallbackParams.set("rate", pattern ? 1.0 - (1.0 - rate) * 4.0 / 9.0 : rate);
    }
    return plan;
}

double planRate(const prune::PruningPlan& plan) {
    if (const char* key = rateKey(plan.defaultEntry))
        return plan.defaultEntry.params.number(key, -1);
    for (const auto& [name, entry] : plan.layers) {
        if (const char* key = rateKey(entry)) return entry.params.number(key, -1);
    }
    return -1;
}

bool runsElsewhere(const Backend& backend) {
    const std::string_view name = backend.name();
    return name == "phone" || name.starts_with("phone:") || name.starts_with("agent:");
}

Result<Lane> denseLane(const Graph& graph, int threads, const Backend* backend) {
    PrepareOptions options;
    options.threads = threads;
    const Backend& on = backend ? *backend : defaultBackend();
    PL_TRY_ASSIGN(std::unique_ptr<Executor> exec, on.prepare(graph, options));
    Lane lane;
    lane.name = "PruneLab dense";
    // The CPU lane says what its convolutions are; another backend says where it runs.
    lane.detail = (on.name() == defaultBackend().name() ? std::string("oneDNN convs")
                                                        : std::string(on.title())) +
                  ", " + std::to_string(exec->threads()) + " thread(s)";
    runWith(lane, std::move(exec));
    return lane;
}

Result<Lane> compiledLane(const prune::PrunedModel& pruned, const CompiledLaneOptions& options) {
    // A structured plan's speed is the physically smaller model: it runs dense, at its size. A
    // .plab does not store the shrunk model; the pruned channels are all zero, so applying the
    // plan again removes exactly them.
    const bool structured =
        std::any_of(pruned.layers.begin(), pruned.layers.end(),
                    [](const prune::LayerPruning& l) { return l.scheme == "structured"; });
    if (structured) {
        std::optional<Graph> shrunk = pruned.shrunk;
        if (!shrunk) {
            PL_TRY_ASSIGN(prune::PrunedModel again, prune::applyPlan(pruned.graph, pruned.plan));
            shrunk = std::move(again.shrunk);
        }
        if (shrunk) {
            PL_TRY_ASSIGN(Lane lane, denseLane(*shrunk, options.threads, options.backend));
            lane.name = "PruneLab compiled";
            lane.detail = "structured pruning: the shrunk model runs dense (" + lane.detail + ")";
            return lane;
        }
    }
    PL_TRY_ASSIGN(CompiledForBackend compiled,
                  compileFor(backendOf(options), pruned, compileOptions(options)));
    return laneFrom(pruned.graph, compiled, options);
}

Result<Lane> compiledLane(const Graph& pruned, const CompiledLaneOptions& options) {
    // compileFor reads a .plab's patterns and tiles itself; the lane runs the same weights.
    PL_TRY_ASSIGN(CompiledForBackend compiled,
                  compileFor(backendOf(options), pruned, compileOptions(options)));
    return laneFrom(pruned, compiled, options);
}

StagedLane::StagedLane(Build build, CompiledLaneOptions options, std::chrono::milliseconds patience)
    : m_build(std::move(build)), m_options(std::move(options)), m_patience(patience) {}

StagedLane::~StagedLane() {
    if (m_full.valid()) m_full.wait();
}

Result<Lane> StagedLane::start() {
    if (!m_options.compile.generate) return m_build(m_options);
    m_full = std::async(std::launch::async, [this] { return m_build(m_options); });
    if (m_full.wait_for(m_patience) == std::future_status::ready) return m_full.get();
    CompiledLaneOptions generic = m_options;
    generic.compile.generate = false;
    generic.compile.measure =
        false;  // at once: the measured decision comes with the generated lane
    generic.compile.onProgress = nullptr;
    auto standIn = m_build(generic);
    if (!standIn.ok()) {
        if (standIn.error().code == ErrorCode::Cancelled) return standIn;
        return waitReady();  // the generated lane may still be built: wait for it instead
    }
    // Generic words: on the CPU the wait is the generated C++, on the GPU the measured decision.
    standIn->detail += "; the generated kernels and the measured decision are on their way";
    m_pending = true;
    return standIn;
}

std::optional<Result<Lane>> StagedLane::takeReady() {
    if (!m_pending || m_full.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        return std::nullopt;
    m_pending = false;
    return m_full.get();
}

Result<Lane> StagedLane::waitReady() {
    if (!m_full.valid()) return makeError(ErrorCode::Internal, "no lane is being built");
    m_pending = false;
    return m_full.get();
}

}  // namespace prunelab::engine::live

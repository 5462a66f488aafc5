// The CPU backend: describes this machine's processor and prepares CpuExecutors. Every op of the
// IR runs here (the plain reference kernel is the fallback), so unsupported() only refuses
// what no runtime can plan: a value whose shape is not bound yet.
#include "engine/runtime/cpu/cpu_backend.h"

#include <dnnl.hpp>
#include <fstream>
#include <thread>

#include "engine/runtime/cpu/cpu_executor.h"

namespace prunelab::engine::cpu {

namespace {

// The first processor's model name from /proc/cpuinfo; empty where there is none.
std::string processorName() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        size_t colon = line.find(':');
        if (colon == std::string::npos) break;
        size_t start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return {};
}

class CpuBackend final : public Backend {
  public:
    std::string_view name() const override { return "cpu"; }
    std::string_view title() const override { return "CPU (this computer)"; }
    Status available() const override { return {}; }

    BackendDescription describe(int threads) const override {
        BackendDescription d;
        std::string model = processorName();
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
        const dnnl_version_t* v = dnnl_version();
        d.features.push_back("oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) +
                             "." + std::to_string(v->patch));
        return d;
    }

    std::optional<std::string> unsupported(const Graph& graph, const Node& node) const override {
        for (ValueId id : node.outputs) {
            if (id == kNoValue) continue;
            for (int64_t d : graph.value(id).shape) {
                if (d < 0) {
                    return "output '" + graph.value(id).name + "' has an unbound dimension " +
                           shapeToString(graph.value(id).shape);
                }
            }
        }
        return std::nullopt;
    }

    Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                              const PrepareOptions& options) const override {
        PL_TRY_ASSIGN(std::unique_ptr<CpuExecutor> exec, CpuExecutor::create(graph, options));
        return std::unique_ptr<Executor>(std::move(exec));
    }
};

}  // namespace

const Backend& cpuBackend() {
    static const CpuBackend backend;
    return backend;
}

}  // namespace prunelab::engine::cpu

// prunelab-bench-remote: what the phone protocol costs per frame. An x86 agent on loopback runs
// Real-ESRGAN x2 at 320x240 (dense, and pattern 8x compiled) interleaved with the same model on
// this process's CPU backend; medians of the agent's own time, the link's, and the share of a
// frame the link takes, at 1 and 2 threads. Issue 21's target: the link <= 5% of a frame.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/remote/adb.h"
#include "plugins/model-files/model_files.h"

using namespace prunelab::engine;
using namespace prunelab::engine::remote;

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// An agent on 127.0.0.1:0 with its token on stdin; the backend name that reaches it.
struct Agent {
    std::unique_ptr<ChildProcess> process;
    std::string backend;
};

Result<Agent> startAgent(int threads) {
    PL_TRY_ASSIGN(std::string token, randomHex(32));
    PL_TRY_ASSIGN(auto child, ChildProcess::start(
                                  {PRUNELAB_AGENT, "--listen", "127.0.0.1:0", "--token", "-",
                                   "--threads", std::to_string(threads), "--idle-timeout", "600"},
                                  token + "\n"));
    const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
    const auto until = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < until && child->running()) {
        std::smatch m;
        const std::string out = child->output();
        if (std::regex_search(out, m, listening)) {
            ::setenv("PRUNELAB_AGENT_TOKEN", token.c_str(), 1);
            return Agent{std::move(child), "agent:127.0.0.1:" + m[1].str()};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return makeError(ErrorCode::Io, "the agent did not start: " + child->output());
}

struct Row {
    double localMs = 0, wallMs = 0, deviceMs = 0, linkMs = 0;
};

Result<Row> measure(const Graph& graph, std::shared_ptr<const codegen::SparseModel> sparse,
                    int threads, int runs) {
    PL_TRY_ASSIGN(Agent agent, startAgent(threads));
    PL_TRY_ASSIGN(const Backend* remote, findBackend(agent.backend));
    PrepareOptions options;
    options.threads = threads;
    options.sparse = std::move(sparse);
    PL_TRY_ASSIGN(auto there, remote->prepare(graph, options));
    PL_TRY_ASSIGN(auto here, cpu::cpuBackend().prepare(graph, options));
    std::vector<Tensor> inputs;
    for (ValueId id : graph.inputs) {
        const Value& v = graph.value(id);
        Tensor t(v.dtype, v.shape);
        float* p = t.data<float>();
        for (int64_t i = 0; i < t.elements(); ++i) p[i] = float(i % 251) / 251.0f;
        inputs.push_back(std::move(t));
    }
    std::vector<double> local, wall, device, link;
    for (int r = -2; r < runs; ++r) {  // two warm-up runs each
        auto t0 = Clock::now();
        PL_TRY(here->run(inputs));
        auto t1 = Clock::now();
        PL_TRY(there->run(inputs));
        auto t2 = Clock::now();
        if (r < 0) continue;
        local.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        wall.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        const auto split = there->lastRunSplit();
        if (!split) return makeError(ErrorCode::Internal, "the remote run has no device time");
        device.push_back(split->deviceMs);
        link.push_back(split->linkMs);
    }
    return Row{median(local), median(wall), median(device), median(link)};
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 7;
    if (argc == 3 && std::string(argv[1]) == "--runs") runs = std::max(1, std::atoi(argv[2]));
    auto graph = prunelab::plugins::loadCatalogModel("zoom-x2", 240, 320);
    if (!graph.ok()) {
        std::fprintf(stderr, "prunelab-bench-remote: %s\n", graph.error().toString().c_str());
        return 1;
    }
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    if (!pruned.ok()) return std::fprintf(stderr, "%s\n", pruned.error().toString().c_str()), 1;
    auto compiled = codegen::compileLayers(*pruned, {});
    if (!compiled.ok()) return std::fprintf(stderr, "%s\n", compiled.error().toString().c_str()), 1;
    const auto sparse = std::make_shared<const codegen::SparseModel>(std::move(*compiled));

    std::printf(
        "Real-ESRGAN x2 at 320x240: an x86 agent on loopback vs this process's CPU, "
        "medians of %d runs\n",
        runs);
    std::printf("%-11s %7s %10s %10s %10s %9s %11s\n", "model", "threads", "local ms", "agent ms",
                "device ms", "link ms", "link share");
    int failures = 0;
    for (int threads : {1, 2}) {
        for (bool pattern : {false, true}) {
            const Graph& g = pattern ? pruned->graph : *graph;
            auto row = measure(g, pattern ? sparse : nullptr, threads, runs);
            if (!row.ok()) {
                std::fprintf(stderr, "prunelab-bench-remote: %s\n", row.error().toString().c_str());
                ++failures;
                continue;
            }
            std::printf("%-11s %7d %10.1f %10.1f %10.1f %9.2f %10.2f%%\n",
                        pattern ? "pattern 8x" : "dense", threads, row->localMs, row->wallMs,
                        row->deviceMs, row->linkMs, 100.0 * row->linkMs / row->wallMs);
        }
    }
    return failures == 0 ? 0 : 1;
}

// The phone's generated kernels (engine/runtime/remote/phone_kernels.h) on the real aarch64 agent
// under qemu: a model's layers cross-compiled into a custom agent, cached, run only when the agent
// regenerates the same source from the layer it is sent, and pushed by the phone backend.
// Skipped, saying why, without the aarch64 agent, its link kit or qemu.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/remote/adb.h"
#include "engine/runtime/remote/client.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/phone_kernels.h"
#include "engine/runtime/remote/remote_backend.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/remote/local_agent.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace prunelab::engine::remote {
namespace {

namespace fs = std::filesystem;
using engine::testing::GraphBuilder;

using testing::ScopedEnv;

// The aarch64 agent and qemu, or why the test cannot run.
struct Tools {
    std::string agent, qemu, missing;
};

Tools tools() {
    Tools t{PRUNELAB_AGENT_AARCH64, PRUNELAB_QEMU_AARCH64, {}};
    if (t.agent.empty() || !fs::is_regular_file(t.agent)) {
        t.missing = "the aarch64 agent is not built (" + t.agent + ")";
    } else if (!fs::is_regular_file(t.agent + ".link")) {
        t.missing = "the aarch64 agent's link kit is missing (" + t.agent + ".link)";
    } else if (t.qemu.empty()) {
        t.missing = "qemu-aarch64-static is not installed";
    }
    return t;
}

// A temporary folder, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("prunelab-phone-kernels-" + *randomHex(6));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// Four 3x3 conv layers, pruned with PatDNN 8x and compiled.
struct PrunedNet {
    Graph graph;
    codegen::SparseModel sparse;
};

// The four convs pruned, not compiled.
prune::PrunedModel prunedModel() {
    GraphBuilder b;
    // The plan keeps the first and last layers dense: the middle two are pattern-pruned.
    const ValueId x = b.input({1, 3, 10, 12});
    const auto attrs = engine::testing::convAttrs({1, 1}, {1, 1, 1, 1});
    ValueId c = x;
    int64_t in = 3;
    for (int64_t out : {16, 16, 16, 4}) {
        c = b.op(OpKind::Conv, {c, b.randomConstant({out, in, 3, 3}), b.randomConstant({out})},
                 attrs);
        c = b.op(OpKind::Relu, {c});
        in = out;
    }
    b.output(c);
    EXPECT_TRUE(b.graph.topoSort().ok());
    auto pruned = prune::applyPlan(b.graph, *prune::presetPlan("patdnn-8"));
    EXPECT_TRUE(pruned.ok()) << pruned.error().toString();
    return std::move(*pruned);
}

// `change` (when given) edits the pruned graph before it is compiled.
PrunedNet prunedNet(const std::function<void(Graph&)>& change = {}) {
    prune::PrunedModel pruned = prunedModel();
    if (change) change(pruned.graph);
    auto compiled = codegen::compileLayers(pruned, {});
    EXPECT_TRUE(compiled.ok()) << compiled.error().toString();
    return {std::move(pruned.graph), std::move(*compiled)};
}

// Why each layer is or is not generated, for a failure's message.
std::string layerKinds(const codegen::SparseModel& m) {
    std::string out;
    for (const codegen::LayerCode& l : m.layers) {
        std::string why;
        cpu::canEmitLayer(l, &why);
        out += "layer " + std::to_string(l.index) + ": " + kernelKindName(l.kind) + " (" +
               l.decision + ") " + why + "\n";
    }
    return out;
}

size_t emittable(const codegen::SparseModel& m) {
    size_t n = 0;
    for (const codegen::LayerCode& l : m.layers) {
        n += l.kind != codegen::KernelKind::Dense && cpu::canEmitLayer(l);
    }
    return n;
}

// One agent (under qemu) on 127.0.0.1:0, and a client connected to it.
struct QemuAgent {
    std::unique_ptr<ChildProcess> child;
    std::unique_ptr<AgentClient> client;

    QemuAgent(const std::string& qemu, const std::string& agent) {
        const std::string token = *randomHex(32);
        auto started = ChildProcess::start({qemu, agent, "--listen", "127.0.0.1:0", "--token", "-",
                                            "--threads", "1", "--idle-timeout", "120"},
                                           token + "\n");
        if (!started.ok()) {
            ADD_FAILURE() << started.error().toString();
            return;
        }
        child = std::move(*started);
        const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < until) {
            std::smatch m;
            const std::string out = child->output();
            if (std::regex_search(out, m, listening)) {
                auto address = parseAgentAddress("127.0.0.1:" + m[1].str());
                auto c = AgentClient::connect(*address, *parseToken(token, "token"));
                if (!c.ok()) {
                    ADD_FAILURE() << c.error().toString();
                    return;
                }
                client = std::move(*c);
                return;
            }
            if (!child->running()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ADD_FAILURE() << "the agent did not say where it listens: " << child->output();
    }
    ~QemuAgent() {
        if (client) client->bye();
    }
};

// How many layers the agent said run their linked generated code at its last LOAD (its stderr:
// the protocol does not carry it); -1 when it did not say.
int linkedRunning(QemuAgent& agent) {
    const std::regex said("([0-9]+) of ([0-9]+) compiled-in layers run their generated code");
    // The agent writes it before its LOAD reply; its stderr reaches us through a reader thread.
    std::string out = agent.child->output();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::regex_search(out, said) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        out = agent.child->output();
    }
    int last = -1;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), said); it != std::sregex_iterator();
         ++it) {
        last = std::stoi((*it)[1].str());
    }
    return last;
}

// Loads `net` on `agent`, returns how many layers run generated code there, and checks a frame
// against this computer's CPU (within 1e-3 of the output's range).
int loadAndCompare(QemuAgent& agent, const PrunedNet& net) {
    if (!agent.client) return -1;
    auto reply = agent.client->load(makeLoad(encodeModel(net.graph, &net.sparse)));
    EXPECT_TRUE(reply.ok()) << reply.error().toString();
    if (!reply.ok()) return -1;
    EXPECT_EQ(reply->compiledLayers, net.sparse.layers.size()) << "the protocol's meaning";
    const std::vector<Tensor> inputs = engine::testing::randomInputs(net.graph, 3);
    Run run;
    run.inputs.push_back({net.graph.value(net.graph.inputs[0]).name, inputs[0]});
    auto got = agent.client->run(run);
    EXPECT_TRUE(got.ok()) << got.error().toString();
    PrepareOptions options;
    options.threads = 1;
    options.sparse = std::make_shared<const codegen::SparseModel>(net.sparse);
    auto exec = cpu::cpuBackend().prepare(net.graph, options);
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!got.ok() || !exec.ok()) return linkedRunning(agent);
    auto want = (*exec)->run(inputs);
    EXPECT_TRUE(want.ok());
    if (!want.ok()) return linkedRunning(agent);
    EXPECT_EQ(got->outputs.size(), want->size());
    for (size_t i = 0; i < want->size() && i < got->outputs.size(); ++i) {
        const Tensor& w = (*want)[i];
        const Tensor& g = got->outputs[i].tensor;
        EXPECT_EQ(w.shape(), g.shape());
        if (w.shape() != g.shape()) continue;
        float lo = w.data<float>()[0], hi = lo, worst = 0;
        for (int64_t k = 0; k < w.elements(); ++k) {
            lo = std::min(lo, w.data<float>()[k]);
            hi = std::max(hi, w.data<float>()[k]);
            worst = std::max(worst, std::fabs(w.data<float>()[k] - g.data<float>()[k]));
        }
        EXPECT_LE(worst, 1e-3f * std::max(hi - lo, 1.0f)) << "output " << i;
    }
    return linkedRunning(agent);
}

void fakeLayerA(const float*, float*, const float*, const cpu::KernelEpilogue*, int64_t, int64_t) {}
void fakeLayerB(const float*, float*, const float*, const cpu::KernelEpilogue*, int64_t, int64_t) {}

// What the agent builds from its linked table: ascending, the first of a repeated index, no null.
TEST(PhoneKernels, AModuleOfLinkedFunctionsHoldsEachLayerOnce) {
    const cpu::CompiledModule m = cpu::CompiledModule::fromFunctions(
        {{7, &fakeLayerB}, {3, &fakeLayerA}, {7, &fakeLayerA}, {5, nullptr}}, "linked");
    EXPECT_EQ(m.layerIndices(), (std::vector<int>{3, 7}));
    EXPECT_EQ(m.layer(3), &fakeLayerA);
    EXPECT_EQ(m.layer(7), &fakeLayerB);
    EXPECT_EQ(m.layer(5), nullptr);
    EXPECT_TRUE(m.libraryPaths().empty());
    EXPECT_EQ(m.key(), "linked");
    EXPECT_EQ(m.backend(), "cpu");
}

TEST(PhoneKernels, ACustomAgentRunsItsModelsGeneratedLayersAndIsCached) {
    const Tools t = tools();
    if (!t.missing.empty()) GTEST_SKIP() << "SKIPPED: " << t.missing;
    TempDir dir;
    const PrunedNet net = prunedNet();
    const size_t layers = emittable(net.sparse);
    ASSERT_GT(layers, 0u) << "pattern 8x left no layer to generate:\n" << layerKinds(net.sparse);
    PhoneKernelOptions options;
    options.baseAgent = t.agent;
    options.cacheDir = (dir.path / "cache").string();
    std::vector<std::string> told;
    options.onProgress = [&](int done, int total, int built) {
        told.push_back(std::to_string(done) + "/" + std::to_string(total) + " built " +
                       std::to_string(built));
    };
    auto first = buildPhoneAgent(net.sparse, options);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    ASSERT_EQ(told.size(), layers + 1);
    EXPECT_EQ(told.front(), "0/" + std::to_string(layers) + " built 0");
    EXPECT_EQ(told.back(), std::to_string(layers) + "/" + std::to_string(layers) + " built " +
                               std::to_string(layers));
    EXPECT_FALSE(first->fromCache);
    EXPECT_EQ(first->compiled, int(layers));
    EXPECT_EQ(first->layers.size(), layers);
    std::cout << "cross-compiled " << layers << " layers into the agent in " << first->seconds
              << " s\n";
    // Its own file, named by the key, beside no other.
    EXPECT_NE(first->path, t.agent);
    EXPECT_TRUE(fs::is_regular_file(first->path));

    auto second = buildPhoneAgent(net.sparse, options);
    ASSERT_TRUE(second.ok()) << second.error().toString();
    EXPECT_TRUE(second->fromCache) << "the same model must not run the compiler again";
    EXPECT_EQ(told.size(), layers + 1) << "a cache hit has nothing to tell";
    EXPECT_EQ(second->compiled, 0);
    EXPECT_EQ(second->path, first->path);

    QemuAgent agent(t.qemu, first->path);
    EXPECT_EQ(loadAndCompare(agent, net), int(layers)) << agent.child->output();
}

TEST(PhoneKernels, ALayerThatDiffersFromTheCompiledOneRunsTheGenericKernel) {
    const Tools t = tools();
    if (!t.missing.empty()) GTEST_SKIP() << "SKIPPED: " << t.missing;
    TempDir dir;
    const PrunedNet net = prunedNet();
    const size_t layers = emittable(net.sparse);
    ASSERT_GT(layers, 0u);
    PhoneKernelOptions options;
    options.baseAgent = t.agent;
    options.cacheDir = (dir.path / "cache").string();
    auto built = buildPhoneAgent(net.sparse, options);
    ASSERT_TRUE(built.ok()) << built.error().toString();

    // One kept weight of the first conv changed before compiling: the model is consistent
    // (its compiled layer carries the new value), but that layer is not the one in the agent.
    bool done = false;
    const PrunedNet changed = prunedNet([&](Graph& g) {
        int conv = 0;
        for (const Node& node : g.nodes) {
            if (done || node.op != OpKind::Conv || conv++ != 1) continue;  // the second
            float* p = g.value(node.inputs[1]).constant.data<float>();
            for (int64_t k = 0; k < g.value(node.inputs[1]).constant.elements() && !done; ++k) {
                if (p[k] != 0) {
                    p[k] *= 1.5f;
                    done = true;
                }
            }
        }
    });
    ASSERT_TRUE(done);
    ASSERT_EQ(emittable(changed.sparse), layers);
    ASSERT_EQ(layers, 2u) << "both convs generated, so one still matches";

    QemuAgent agent(t.qemu, built->path);
    EXPECT_EQ(loadAndCompare(agent, changed), int(layers) - 1) << agent.child->output();
    EXPECT_NE(agent.child->output().find("differs from the one compiled into this agent"),
              std::string::npos);
}

// The phone backend's compile makes the model's own agent, measures on it, and prepare() pushes
// that agent (its own hash name on the phone), which runs the generated layers. A FAKE adb: its
// "phone" is a folder, and the agent pushed there runs under qemu.
TEST(PhoneKernels, ThePhoneBackendPushesTheModelsOwnAgent) {
    const Tools t = tools();
    if (!t.missing.empty()) GTEST_SKIP() << "SKIPPED: " << t.missing;
    TempDir dir;
    fs::create_directories(dir.path / "phone");
    const fs::path log = dir.path / "calls.log";
    ScopedEnv cache("XDG_CACHE_HOME", (dir.path / "cache").string());
    ScopedEnv adb("PRUNELAB_ADB", PRUNELAB_FAKE_ADB);
    ScopedEnv devices("FAKE_ADB_DEVICES",
                      PRUNELAB_SOURCE_DIR "/tests/engine/remote/adb-devices-two-phones.txt");
    ScopedEnv calls("FAKE_ADB_LOG", log.string());
    ScopedEnv phone("FAKE_ADB_PHONE_DIR", (dir.path / "phone").string());
    ScopedEnv launcher("FAKE_ADB_LAUNCHER", t.qemu);
    ScopedEnv base("PRUNELAB_PHONE_AGENT", t.agent);
    ::unsetenv("FAKE_ADB_AGENT");
    auto b = findBackend("phone:2A291FDH3005ZK");
    ASSERT_TRUE(b.ok()) << b.error().toString();

    const prune::PrunedModel pruned = prunedModel();
    CompileForOptions options;
    options.measureRuns = 2;
    auto compiled = compileFor(**b, pruned, options);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    const auto* linked = dynamic_cast<const PhoneAgentKernels*>(compiled->generated.get());
    ASSERT_NE(linked, nullptr) << compiled->kernels;
    EXPECT_EQ(linked->backend(), "phone:2A291FDH3005ZK");
    EXPECT_NE(compiled->kernels.find("cross-compiled into the phone's agent"), std::string::npos)
        << compiled->kernels;
    ASSERT_TRUE(compiled->model->measured.has_value()) << "measured on the custom agent";

    // What the compile did (the measured decision's dense lane runs the plain agent, its sparse
    // lane the model's own); what follows is the prepare that runs the model.
    const auto logSize = [&] {
        std::error_code ec;
        const auto n = fs::file_size(log, ec);
        return ec ? size_t(0) : size_t(n);
    };
    const size_t compileLog = logSize();
    const std::vector<Tensor> inputs = engine::testing::randomInputs(pruned.graph, 4);
    std::vector<Tensor> want;
    {
        PrepareOptions here = compiled->prepareOptions(1);
        here.generated = nullptr;  // the phone's, not this computer's
        auto cpu = cpu::cpuBackend().prepare(pruned.graph, here);
        ASSERT_TRUE(cpu.ok()) << cpu.error().toString();
        auto out = (*cpu)->run(inputs);
        ASSERT_TRUE(out.ok());
        want = std::move(*out);
    }
    {
        PrepareOptions prepare = compiled->prepareOptions(1);
        auto exec = (*b)->prepare(pruned.graph, prepare);
        ASSERT_TRUE(exec.ok()) << exec.error().toString();
        auto got = (*exec)->run(inputs);
        ASSERT_TRUE(got.ok()) << got.error().toString();
        ASSERT_EQ(got->size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            float lo = want[i].data<float>()[0], hi = lo, worst = 0;
            for (int64_t k = 0; k < want[i].elements(); ++k) {
                lo = std::min(lo, want[i].data<float>()[k]);
                hi = std::max(hi, want[i].data<float>()[k]);
                worst = std::max(worst,
                                 std::fabs(want[i].data<float>()[k] - (*got)[i].data<float>()[k]));
            }
            EXPECT_LE(worst, 1e-3f * std::max(hi - lo, 1.0f));
        }
        // A layer still sparse after the measured decision runs its generated code there.
        size_t sparse = 0;
        for (const codegen::LayerCode& l : compiled->model->layers)
            sparse += l.kind != codegen::KernelKind::Dense;
        std::string report;
        for (const KernelChoice& k : (*exec)->kernelReport()) report += k.kernel + "\n";
        std::cout << sparse << " layers sparse after the measured decision; the report:\n"
                  << report;
        if (sparse > 0) {
            EXPECT_NE(report.find("generated"), std::string::npos) << report;
            EXPECT_EQ(report.find(" 0 of the model's layers passed"), std::string::npos) << report;
        }
    }
    std::ifstream in(log);
    const std::string all((std::istreambuf_iterator<char>(in)), {});
    const std::regex push(
        "push " +
        std::regex_replace(linked->agentPath(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
        " (/data/local/tmp/prunelab-agent-[0-9a-f]{16})\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(all, m, push)) << all;
    // The prepare ran the model's own agent (already on the "phone": not pushed again).
    const std::string prepared = all.substr(std::min(compileLog, all.size()));
    EXPECT_NE(prepared.find("fake adb runs the pushed agent " + (dir.path / "phone").string() +
                            "/" + fs::path(m[1].str()).filename().string()),
              std::string::npos)
        << prepared;
    EXPECT_EQ(prepared.find(" push "), std::string::npos) << prepared;
}

// A catalog model pattern 8x on its own agent: every generated layer runs and the outputs match.
// Its cross-compile keeps both cores busy for a while (BlazeFace: 32 layers, ~11 s on 2 cores;
// Real-ESRGAN x2: 16 layers of 64 channels, longer): not on every test run; set `gate` to 1.
void checkCatalogModelOnItsOwnAgent(const std::string& id, int64_t h, int64_t w, const char* gate) {
    const Tools t = tools();
    if (!t.missing.empty()) GTEST_SKIP() << "SKIPPED: " << t.missing;
    if (gate != nullptr && std::getenv(gate) == nullptr) {
        GTEST_SKIP() << "SKIPPED: a cross-compile of both cores for a while; set " << gate
                     << "=1 to run it";
    }
    auto graph = plugins::loadCatalogModel(id, h, w);
    if (!graph.ok()) GTEST_SKIP() << "SKIPPED: " << graph.error().toString();
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    PrunedNet net{std::move(pruned->graph), std::move(*compiled)};
    const size_t layers = emittable(net.sparse);
    ASSERT_GT(layers, 0u) << layerKinds(net.sparse);
    TempDir dir;
    PhoneKernelOptions options;
    options.baseAgent = t.agent;
    options.cacheDir = (dir.path / "cache").string();
    auto built = buildPhoneAgent(net.sparse, options);
    ASSERT_TRUE(built.ok()) << built.error().toString();
    std::cout << id << " pattern 8x: cross-compiled " << layers << " of "
              << net.sparse.layers.size() << " layers into the agent in " << built->seconds
              << " s\n";
    QemuAgent agent(t.qemu, built->path);
    EXPECT_EQ(loadAndCompare(agent, net), int(layers)) << agent.child->output();
}

TEST(PhoneKernels, BlazeFacePattern8xOnItsOwnAgentMatchesTheDesktop) {
    // In every run: 32 layers cross-compile in seconds. Real-ESRGAN's take two minutes: opt-in.
    checkCatalogModelOnItsOwnAgent("face-back", 0, 0, nullptr);
}

TEST(PhoneKernels, RealEsrganX2Pattern8xOnItsOwnAgentMatchesTheDesktop) {
    checkCatalogModelOnItsOwnAgent("zoom-x2", 48, 64, "PRUNELAB_PHONE_KERNELS_ESRGAN");
}

}  // namespace
}  // namespace prunelab::engine::remote

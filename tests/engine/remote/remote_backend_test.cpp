// The remote backends end to end with a real agent process: `agent:127.0.0.1:PORT` on models
// from the catalog, dense and pattern 8x, against this computer's CPU backend; a dead link; bad
// input; and `phone:SERIAL` through the whole adb flow with a fake adb that runs a local agent.
// PRUNELAB_AGENT / PRUNELAB_AGENT_LAUNCHER pick another agent build (aarch64 under qemu).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
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
#include "engine/runtime/remote/adb.h"
#include "engine/runtime/remote/remote_backend.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/remote/local_agent.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace prunelab::engine::remote {
namespace {

namespace fs = std::filesystem;
using engine::testing::GraphBuilder;

using testing::LocalAgent;
using testing::ScopedEnv;

std::vector<Tensor> runCpu(const Graph& graph, const PrepareOptions& options,
                           const std::vector<Tensor>& inputs) {
    auto exec = cpu::cpuBackend().prepare(graph, options);
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return {};
    auto out = (*exec)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? std::move(*out) : std::vector<Tensor>{};
}

// Each output within relTol of its range (at least 1) of the desktop's.
void expectClose(const std::vector<Tensor>& want, const std::vector<Tensor>& got, float relTol) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(want[i].shape(), got[i].shape()) << "output " << i;
        const float* x = want[i].data<float>();
        const float* y = got[i].data<float>();
        float lo = x[0], hi = x[0], worst = 0;
        for (int64_t k = 0; k < want[i].elements(); ++k) {
            lo = std::min(lo, x[k]);
            hi = std::max(hi, x[k]);
            worst = std::max(worst, std::fabs(x[k] - y[k]));
        }
        EXPECT_LE(worst, relTol * std::max(hi - lo, 1.0f)) << "output " << i;
    }
}

// Prepares `graph` (with `sparse`, when given) on `backend` and checks a few frames against the
// CPU here, and the device/link split of each.
void expectMatchesDesktop(const Backend& backend, const Graph& graph,
                          std::shared_ptr<const codegen::SparseModel> sparse) {
    PrepareOptions options;
    options.threads = 1;
    options.sparse = std::move(sparse);
    auto exec = backend.prepare(graph, options);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    (*exec)->setProfiling(true);
    ASSERT_TRUE(remoteDevice(**exec).has_value());
    EXPECT_FALSE(remoteDevice(**exec)->arch.empty());
    // The qemu runs say which agent they mean: a test that silently ran the x86 one proves nothing.
    if (const char* arch = std::getenv("PRUNELAB_AGENT_ARCH")) {
        EXPECT_EQ(remoteDevice(**exec)->arch, arch);
    }
    EXPECT_FALSE((*exec)->lastRunSplit().has_value()) << "no run yet";
    for (uint32_t frame = 0; frame < 2; ++frame) {
        const std::vector<Tensor> inputs = engine::testing::randomInputs(graph, 11 + frame);
        auto got = (*exec)->run(inputs);
        ASSERT_TRUE(got.ok()) << got.error().toString();
        expectClose(runCpu(graph, options, inputs), *got, 1e-3f);
        auto split = (*exec)->lastRunSplit();
        ASSERT_TRUE(split.has_value());
        EXPECT_GT(split->deviceMs, 0);
        EXPECT_GE(split->linkMs, 0);
        EXPECT_FALSE((*exec)->lastStepTimes().empty());
    }
    EXPECT_EQ((*exec)->kernelReport().size(), graph.nodes.size());
}

// The catalog model `id` at h x w, dense and pruned with PatDNN 8x and compiled, on a fresh
// agent each (an agent serves one client).
void checkCatalogModel(const std::string& id, int64_t h, int64_t w) {
    auto graph = plugins::loadCatalogModel(id, h, w);
    if (!graph.ok()) {
        GTEST_SKIP() << "SKIPPED: " << id << " is not in the asset cache ("
                     << graph.error().toString() << "): run ./prunelab setup";
    }
    {
        SCOPED_TRACE(id + " dense");
        LocalAgent agent;
        ASSERT_TRUE(agent.started());
        const Backend* b = agent.backend();
        ASSERT_NE(b, nullptr);
        expectMatchesDesktop(*b, *graph, nullptr);
    }
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    size_t sparseLayers = 0;
    for (const codegen::LayerCode& l : compiled->layers) {
        sparseLayers += l.kind != codegen::KernelKind::Dense;
    }
    EXPECT_GT(sparseLayers, 0u) << "pattern 8x left every layer dense";
    SCOPED_TRACE(id + " pattern 8x");
    LocalAgent agent;
    ASSERT_TRUE(agent.started());
    const Backend* b = agent.backend();
    ASSERT_NE(b, nullptr);
    expectMatchesDesktop(*b, pruned->graph,
                         std::make_shared<const codegen::SparseModel>(std::move(*compiled)));
}

Graph smallNet() {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 10, 12});
    ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 3, 3, 3}), b.randomConstant({8})},
                     engine::testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Sigmoid, {b.op(OpKind::Relu, {c})}));
    EXPECT_TRUE(b.graph.topoSort().ok());
    return b.graph;
}

TEST(AgentBackend, SmallNetMatchesTheDesktopWithTheDeviceAndLinkTimesApart) {
    LocalAgent agent;
    ASSERT_TRUE(agent.started());
    const Backend* b = agent.backend();
    ASSERT_NE(b, nullptr);
    expectMatchesDesktop(*b, smallNet(), nullptr);
}

TEST(AgentBackend, RealEsrganX2DenseAndPattern8xMatchTheDesktop) {
    checkCatalogModel("zoom-x2", 24, 32);
}

TEST(AgentBackend, BlazeFaceDenseAndPattern8xMatchTheDesktop) {
    checkCatalogModel("face-back", 0, 0);
}

TEST(AgentBackend, AWrongInputIsRefusedHereAndTheSessionGoesOn) {
    LocalAgent agent;
    ASSERT_TRUE(agent.started());
    const Backend* b = agent.backend();
    ASSERT_NE(b, nullptr);
    const Graph g = smallNet();
    auto exec = b->prepare(g);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<Tensor> wrong{Tensor(DataType::Float32, {1, 3, 10, 11})};
    auto refused = (*exec)->run(wrong);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(refused.error().message.find("[1, 3, 10, 12]"), std::string::npos)
        << refused.error().message;
    auto ok = (*exec)->run(engine::testing::randomInputs(g, 3));
    EXPECT_TRUE(ok.ok()) << ok.error().toString();
}

TEST(AgentBackend, AKilledAgentIsALinkErrorNamingTheAddressNotAHang) {
    LocalAgent agent;
    ASSERT_TRUE(agent.started());
    const Backend* b = agent.backend();
    ASSERT_NE(b, nullptr);
    const Graph g = smallNet();
    auto exec = b->prepare(g);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    agent.kill();
    const auto start = std::chrono::steady_clock::now();
    auto dead = (*exec)->run(engine::testing::randomInputs(g, 3));
    ASSERT_FALSE(dead.ok());
    EXPECT_EQ(dead.error().code, ErrorCode::Io);
    EXPECT_NE(dead.error().message.find(std::string(b->name()).substr(6)), std::string::npos)
        << dead.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    // And it stays an error, at once, naming the closed link.
    auto again = (*exec)->run(engine::testing::randomInputs(g, 3));
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("closed"), std::string::npos) << again.error().message;
}

TEST(AgentBackend, NoAgentListeningIsAClearError) {
    // Port 1 on loopback: nothing listens there (it would need root).
    ScopedEnv token("PRUNELAB_AGENT_TOKEN", std::string(64, 'a'));
    auto b = findBackend("agent:127.0.0.1:1");
    ASSERT_TRUE(b.ok()) << b.error().toString();
    auto exec = (*b)->prepare(smallNet());
    ASSERT_FALSE(exec.ok());
    EXPECT_NE(exec.error().message.find("cannot connect to the agent at 127.0.0.1:1"),
              std::string::npos)
        << exec.error().message;
}

TEST(AgentBackend, TheAddressMustBeLoopbackAndTheTokenGiven) {
    {
        ScopedEnv token("PRUNELAB_AGENT_TOKEN", std::string(64, 'a'));
        auto far = findBackend("agent:10.0.0.2:5000");
        ASSERT_FALSE(far.ok());
        EXPECT_NE(far.error().message.find("only the loopback address"), std::string::npos)
            << far.error().message;
        auto noPort = findBackend("agent:127.0.0.1:x");
        ASSERT_FALSE(noPort.ok());
        EXPECT_NE(noPort.error().message.find("port"), std::string::npos);
        auto bare = findBackend("agent");
        ASSERT_FALSE(bare.ok());
        EXPECT_NE(bare.error().message.find("agent:127.0.0.1:PORT"), std::string::npos);
    }
    ::unsetenv("PRUNELAB_AGENT_TOKEN");
    auto noToken = findBackend("agent:127.0.0.1:5000");
    ASSERT_FALSE(noToken.ok());
    EXPECT_NE(noToken.error().message.find("PRUNELAB_AGENT_TOKEN"), std::string::npos);
    {
        ScopedEnv token("PRUNELAB_AGENT_TOKEN", "abc");
        auto shortToken = findBackend("agent:127.0.0.1:5000");
        ASSERT_FALSE(shortToken.ok());
        EXPECT_NE(shortToken.error().message.find("64 hex digits"), std::string::npos);
    }
    auto cpuArg = findBackend("cpu:2");
    ASSERT_FALSE(cpuArg.ok());
    EXPECT_NE(cpuArg.error().message.find("takes no"), std::string::npos);
    // Not offered in lists: it is for tests and benches.
    for (const Backend* listed : backends()) EXPECT_NE(listed->name(), "agent");
}

// The whole phone flow (devices, push, chmod, forward, start with the token on stdin, connect,
// HELLO, LOAD, RUN, BYE, stop) with a FAKE adb: its "phone" runs this machine's agent, so the
// forward is the identity. No phone is involved, as the test's name says.
TEST(FakeAdbPhone, RunsAModelThroughTheWholeAdbFlowOnALocalAgent) {
    const fs::path dir = fs::temp_directory_path() / ("prunelab-fakephone-" + *randomHex(6));
    fs::create_directories(dir);
    const fs::path log = dir / "calls.log";
    ScopedEnv adb("PRUNELAB_ADB", PRUNELAB_FAKE_ADB);
    ScopedEnv devices("FAKE_ADB_DEVICES",
                      PRUNELAB_SOURCE_DIR "/tests/engine/remote/adb-devices-two-phones.txt");
    ScopedEnv calls("FAKE_ADB_LOG", log.string());
    // The x86 build: the fake adb runs it directly, without a launcher.
    ScopedEnv local("FAKE_ADB_AGENT", PRUNELAB_AGENT);
    ScopedEnv pushed("PRUNELAB_PHONE_AGENT", PRUNELAB_AGENT);
    auto b = findBackend("phone:2A291FDH3005ZK");
    ASSERT_TRUE(b.ok()) << b.error().toString();
    EXPECT_NE((*b)->describe().device.find("Pixel 7"), std::string::npos);
    const Graph g = smallNet();
    {
        auto exec = (*b)->prepare(g);
        ASSERT_TRUE(exec.ok()) << exec.error().toString();
        const std::vector<Tensor> inputs = engine::testing::randomInputs(g, 5);
        auto got = (*exec)->run(inputs);
        ASSERT_TRUE(got.ok()) << got.error().toString();
        expectClose(runCpu(g, {}, inputs), *got, 1e-5f);
    }  // BYE, then the session's stop: the forward is removed
    std::ifstream in(log);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::string all;
    for (const std::string& l : lines) all += l + "\n";
    // The agent is named by its hash on the phone, probed for, then pushed.
    const std::regex flow(
        "-s 2A291FDH3005ZK shell test -x (/data/local/tmp/prunelab-agent-[0-9a-f]{16}) && echo "
        "present\n"
        "-s 2A291FDH3005ZK push [^\n]* \\1\n"
        "-s 2A291FDH3005ZK shell chmod 755 \\1\n"
        "-s 2A291FDH3005ZK forward --no-rebind localabstract:(prunelab-[0-9a-f]+) "
        "localabstract:\\2\n"
        "-s 2A291FDH3005ZK shell \\1 --socket \\2 --threads 0 --token -\n"
        "fake adb runs the local agent [^\n]*\n"
        "-s 2A291FDH3005ZK forward --remove localabstract:\\2\n");
    EXPECT_TRUE(std::regex_search(all, flow)) << all;
    EXPECT_EQ(all.find("--token -\n"), all.rfind("--token -\n")) << "one agent started";

    // A phone that has this build of the agent gets no push: a running agent is never
    // overwritten (the other lane's), and a session starts sooner.
    fs::remove(log);
    {
        ScopedEnv has("FAKE_ADB_HAS_AGENT", "1");
        auto exec = (*b)->prepare(g);
        ASSERT_TRUE(exec.ok()) << exec.error().toString();
        EXPECT_TRUE((*exec)->run(engine::testing::randomInputs(g, 6)).ok());
    }
    std::ifstream again(log);
    const std::string second((std::istreambuf_iterator<char>(again)), {});
    EXPECT_NE(second.find("shell test -x"), std::string::npos) << second;
    EXPECT_EQ(second.find(" push "), std::string::npos) << second;
    EXPECT_EQ(second.find("chmod"), std::string::npos) << second;
    EXPECT_NE(second.find("--token -"), std::string::npos) << second;
    fs::remove_all(dir);
}

// The measured decision on the "phone" (a FAKE adb's local agent): layers are timed by the agent's
// own clock, and the compile says so.
TEST(FakeAdbPhone, TheMeasuredDecisionTimesEachLayerOnThePhone) {
    auto graph = plugins::loadCatalogModel("face-back");
    if (!graph.ok()) GTEST_SKIP() << "SKIPPED: " << graph.error().toString();
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    ScopedEnv adb("PRUNELAB_ADB", PRUNELAB_FAKE_ADB);
    ScopedEnv devices("FAKE_ADB_DEVICES",
                      PRUNELAB_SOURCE_DIR "/tests/engine/remote/adb-devices-two-phones.txt");
    ScopedEnv local("FAKE_ADB_AGENT", PRUNELAB_AGENT);
    ScopedEnv pushed("PRUNELAB_PHONE_AGENT", PRUNELAB_AGENT);
    auto b = findBackend("phone:2A291FDH3005ZK");
    ASSERT_TRUE(b.ok()) << b.error().toString();
    CompileForOptions options;
    options.measureRuns = 3;
    auto compiled = compileFor(**b, *pruned, options);
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();
    ASSERT_TRUE(compiled->model->measured.has_value());
    EXPECT_EQ(compiled->model->measured->backend, "phone:2A291FDH3005ZK");
    EXPECT_FALSE(compiled->model->measured->layers.empty());
    EXPECT_EQ(compiled->model->passes.back().pass, "measure");
    // The x86 agent has no link kit beside it: no generated code, and the compile says why.
    EXPECT_EQ(compiled->generated, nullptr);
    EXPECT_NE(compiled->kernels.find("no generated code"), std::string::npos) << compiled->kernels;
    EXPECT_NE(compiled->kernels.find("link kit"), std::string::npos) << compiled->kernels;
    // What it decided runs there and matches this computer.
    const std::vector<Tensor> inputs = engine::testing::randomInputs(pruned->graph, 9);
    auto exec = (*b)->prepare(pruned->graph, compiled->prepareOptions(1));
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    auto got = (*exec)->run(inputs);
    ASSERT_TRUE(got.ok()) << got.error().toString();
    expectClose(runCpu(pruned->graph, compiled->prepareOptions(1), inputs), *got, 1e-3f);
}

// Debian's real adb with no phone: the phone backend says what to do, and lists offer it greyed.
TEST(RealAdbPhone, NoPhoneSaysWhatToDo) {
    ::unsetenv("PRUNELAB_ADB");
    auto adb = findAdb();
    if (!adb.ok()) GTEST_SKIP() << "SKIPPED: " << adb.error().toString();
    auto list = listPhones(*adb);
    ASSERT_TRUE(list.ok()) << list.error().toString();
    for (const Phone& p : list->phones) {
        if (p.state == PhoneState::Ready) GTEST_SKIP() << "SKIPPED: a real phone is connected";
    }
    auto b = findBackend("phone");
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("no phone is connected"), std::string::npos)
        << b.error().message;
}

}  // namespace
}  // namespace prunelab::engine::remote

// prunelab-agent end to end: the real binary started on port 0 (or a random abstract socket), a
// raw client speaking the protocol's frames over the socket, outputs checked against this
// process's own CPU backend, and bad input (token, version, order, magic, truncation, sizes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/codegen/passes.h"
#include "engine/prune/plan.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/protocol.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"
#include "tests/engine/runtime/runtime_test_util.h"

extern char** environ;

namespace prunelab::engine::remote {
namespace {

using engine::testing::GraphBuilder;
constexpr int kWaitMs = 8000;

SessionToken randomToken() {
    std::random_device rd;
    SessionToken t;
    for (uint8_t& b : t) b = uint8_t(rd());
    return t;
}

std::string hexOf(const SessionToken& t) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t b : t) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

struct Received {
    MessageType type{};
    std::vector<uint8_t> payload;
};

// One agent process and one connection to it; the destructor kills and reaps whatever is left.
class AgentTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (m_fd >= 0) close(m_fd);
        if (m_out >= 0) close(m_out);
        if (m_pid > 0) {
            kill(m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
        }
    }

    // Starts the agent with `args` and returns its first stdout line ("" when none came).
    std::string start(std::vector<std::string> args) {
        int pipeFds[2];
        if (pipe2(pipeFds, O_CLOEXEC) != 0) return {};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
        // PRUNELAB_AGENT (another build of the agent: the aarch64 one) and PRUNELAB_AGENT_LAUNCHER
        // (what runs it: qemu-aarch64-static) let ctest run this same suite on the phone's build.
        const char* agentEnv = std::getenv("PRUNELAB_AGENT");
        const std::string agent = agentEnv != nullptr && *agentEnv ? agentEnv : PRUNELAB_AGENT;
        args.insert(args.begin(), agent);
        if (const char* launcher = std::getenv("PRUNELAB_AGENT_LAUNCHER"); launcher && *launcher) {
            args.insert(args.begin(), launcher);
        }
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawnp(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(pipeFds[1]);
        m_out = pipeFds[0];
        if (rc != 0) {
            m_pid = -1;
            ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
            return {};
        }
        std::string line;
        char c = 0;
        while (line.find('\n') == std::string::npos) {
            pollfd p{m_out, POLLIN, 0};
            if (poll(&p, 1, kWaitMs) <= 0 || read(m_out, &c, 1) != 1) break;
            line += c;
        }
        if (!line.empty() && line.back() == '\n') line.pop_back();
        return line;
    }

    // Starts on 127.0.0.1:0 with `token` and connects.
    void startTcp(const SessionToken& token, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"--listen",   "127.0.0.1:0", "--token",
                                         hexOf(token), "--threads",   "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        const std::string line = start(args);
        const std::string prefix = "listening on 127.0.0.1:";
        ASSERT_EQ(line.rfind(prefix, 0), 0u) << "agent said '" << line << "'";
        const int port = std::stoi(line.substr(prefix.size()));
        ASSERT_GT(port, 0);
        m_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(uint16_t(port));
        ASSERT_EQ(connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
            << std::strerror(errno);
    }

    void sendRaw(const std::vector<uint8_t>& bytes) {
        ASSERT_EQ(send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
    }
    void sendMessage(MessageType type, const std::vector<uint8_t>& payload) {
        sendRaw(encodeFrame(type, payload));
    }

    bool readExact(uint8_t* out, size_t size) {
        size_t got = 0;
        while (got < size) {
            pollfd p{m_fd, POLLIN, 0};
            if (poll(&p, 1, kWaitMs) <= 0) return false;
            const ssize_t n = recv(m_fd, out + got, size - got, 0);
            if (n <= 0) return false;
            got += size_t(n);
        }
        return true;
    }

    // The next frame; nullopt on EOF or a silent agent.
    std::optional<Received> receive() {
        uint8_t header[kFrameHeaderBytes];
        if (!readExact(header, sizeof header)) return std::nullopt;
        auto h = decodeFrameHeader(header);
        EXPECT_TRUE(h.ok()) << h.error().toString();
        if (!h.ok()) return std::nullopt;
        Received r{h->type, std::vector<uint8_t>(h->length)};
        if (!readExact(r.payload.data(), r.payload.size())) return std::nullopt;
        return r;
    }

    // The agent's ERROR text (a failure when the reply is something else).
    std::string expectError() {
        auto r = receive();
        if (!r) {
            ADD_FAILURE() << "no reply";
            return {};
        }
        EXPECT_EQ(r->type, MessageType::Error) << messageTypeName(r->type);
        auto e = decodeError(r->payload);
        if (!e.ok()) return {};
        return e->text;
    }

    void hello(const SessionToken& token) {
        sendMessage(MessageType::Hello, encodeHello({kProtocolVersion, token}));
        auto r = receive();
        ASSERT_TRUE(r.has_value());
        ASSERT_EQ(r->type, MessageType::HelloReply);
        auto reply = decodeHelloReply(r->payload);
        ASSERT_TRUE(reply.ok()) << reply.error().toString();
        EXPECT_EQ(reply->version, kProtocolVersion);
        EXPECT_FALSE(reply->device.cpuName.empty());
        EXPECT_FALSE(reply->device.arch.empty());
    }

    // The agent's exit status; -1 when it is still running after the wait.
    int waitExit() {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            const pid_t r = waitpid(m_pid, &status, WNOHANG);
            if (r == m_pid) {
                m_pid = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

    LoadReply load(const Graph& graph, const codegen::SparseModel* sparse) {
        const Load request = makeLoad(encodeModel(graph, sparse));
        sendMessage(MessageType::Load, encodeLoad(request));
        auto r = receive();
        EXPECT_TRUE(r.has_value());
        if (!r) return {};
        EXPECT_EQ(r->type, MessageType::LoadReply) << messageTypeName(r->type);
        auto reply = decodeLoadReply(r->payload);
        EXPECT_TRUE(reply.ok());
        if (!reply.ok()) return {};
        EXPECT_EQ(reply->hash, request.hash);
        EXPECT_EQ(reply->nodes, graph.nodes.size());
        return *reply;
    }

    RunReply run(const Graph& graph, const std::vector<Tensor>& inputs) {
        remote::Run request;
        for (size_t i = 0; i < inputs.size(); ++i) {
            request.inputs.push_back({graph.value(graph.inputs[i]).name, inputs[i]});
        }
        sendMessage(MessageType::Run, encodeRun(request));
        auto r = receive();
        EXPECT_TRUE(r.has_value());
        if (!r) return {};
        EXPECT_EQ(r->type, MessageType::RunReply) << messageTypeName(r->type);
        auto reply = decodeRunReply(r->payload);
        EXPECT_TRUE(reply.ok());
        return reply.ok() ? std::move(*reply) : RunReply{};
    }

    void byeExitsZero() {
        sendMessage(MessageType::Bye, {});
        auto r = receive();
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->type, MessageType::Bye);
        EXPECT_EQ(waitExit(), 0);
    }

    pid_t m_pid = -1;
    int m_out = -1;
    int m_fd = -1;
};

Graph smallConvNet() {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 9, 7});
    ValueId c1 = b.op(OpKind::Conv, {x, b.randomConstant({8, 4, 3, 3}), b.randomConstant({8})},
                      engine::testing::convAttrs({1, 1}, {1, 1, 1, 1}));
    ValueId r = b.op(OpKind::Relu, {c1});
    ValueId c2 = b.op(OpKind::Conv, {r, b.randomConstant({8, 8, 3, 3})},
                      engine::testing::convAttrs({2, 2}, {1, 1, 1, 1}));
    b.output(b.op(OpKind::Sigmoid, {c2}));
    EXPECT_TRUE(b.graph.topoSort().ok());
    return b.graph;
}

std::vector<Tensor> runLocally(const Graph& graph,
                               std::shared_ptr<const codegen::SparseModel> sparse,
                               const std::vector<Tensor>& inputs) {
    PrepareOptions options;
    options.threads = 1;
    options.sparse = std::move(sparse);
    auto exec = cpu::cpuBackend().prepare(graph, options);
    EXPECT_TRUE(exec.ok()) << exec.error().toString();
    if (!exec.ok()) return {};
    auto out = (*exec)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? std::move(*out) : std::vector<Tensor>{};
}

// Every output within relTol * max(range, 1) of the local one.
void expectClose(const std::vector<Tensor>& want, const RunReply& got, float relTol) {
    ASSERT_EQ(want.size(), got.outputs.size());
    for (size_t i = 0; i < want.size(); ++i) {
        const Tensor& a = want[i];
        const Tensor& b = got.outputs[i].tensor;
        ASSERT_EQ(a.shape(), b.shape()) << "output " << i;
        ASSERT_EQ(a.dtype(), DataType::Float32);
        ASSERT_EQ(b.dtype(), DataType::Float32);
        const float* x = a.data<float>();
        const float* y = b.data<float>();
        float lo = x[0], hi = x[0], worst = 0;
        for (int64_t k = 0; k < a.elements(); ++k) {
            lo = std::min(lo, x[k]);
            hi = std::max(hi, x[k]);
            worst = std::max(worst, std::fabs(x[k] - y[k]));
        }
        EXPECT_LE(worst, relTol * std::max(hi - lo, 1.0f)) << "output " << i;
    }
    EXPECT_FALSE(got.steps.empty());
    for (const StepTiming& s : got.steps) {
        EXPECT_FALSE(s.name.empty());
        EXPECT_GE(s.ms, 0) << s.name;
    }
    EXPECT_GE(got.deviceMs, 0);
}

TEST_F(AgentTest, HelloLoadRunStatsByeOnASmallConvNet) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    const Graph graph = smallConvNet();
    const LoadReply loaded = load(graph, nullptr);
    EXPECT_EQ(loaded.compiledLayers, 0u);
    const std::vector<Tensor> inputs = engine::testing::randomInputs(graph, 11);
    const RunReply reply = run(graph, inputs);
    expectClose(runLocally(graph, nullptr, inputs), reply, 1e-6f);
    ASSERT_EQ(reply.outputs.size(), 1u);
    EXPECT_EQ(reply.outputs[0].name, graph.value(graph.outputs[0]).name);

    sendMessage(MessageType::Stats, {});
    auto r = receive();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->type, MessageType::StatsReply);
    auto stats = decodeStatsReply(r->payload);
    ASSERT_TRUE(stats.ok()) << stats.error().toString();
    EXPECT_GT(stats->residentBytes, 0u);
    EXPECT_FALSE(stats->device.cpuName.empty());
    EXPECT_GE(stats->device.threads, 1u);
    byeExitsZero();
}

TEST_F(AgentTest, FramesArrivingByteByByteAreReassembled) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    const std::vector<uint8_t> frame =
        encodeFrame(MessageType::Hello, encodeHello({kProtocolVersion, token}));
    for (uint8_t b : frame) ASSERT_NO_FATAL_FAILURE(sendRaw({b}));
    auto r = receive();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->type, MessageType::HelloReply);
    byeExitsZero();
}

TEST_F(AgentTest, ServesOneClientOnly) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    ASSERT_EQ(getpeername(m_fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const int second = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_NE(connect(second, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << "the listener is closed once the first client is accepted";
    close(second);
    byeExitsZero();
}

TEST_F(AgentTest, ServesAnAbstractUnixSocket) {
    const SessionToken token = randomToken();
    const std::string name = "prunelab-agent-test-" + hexOf(randomToken()).substr(0, 16);
    const std::string line = start({"--socket", name, "--token", hexOf(token)});
    ASSERT_EQ(line, "listening on @" + name);
    m_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const auto len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(connect(m_fd, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
    ASSERT_NO_FATAL_FAILURE(hello(token));
    byeExitsZero();
}

std::optional<Graph> catalogModel(const std::string& id, std::string& why) {
    auto g = plugins::loadCatalogModel(id);
    if (!g.ok()) {
        why = g.error().toString();
        return std::nullopt;
    }
    return std::move(*g);
}

TEST_F(AgentTest, BlazeFacePatdnn8CompiledMatchesTheDesktop) {
    std::string why;
    auto graph = catalogModel("face-back", why);
    if (!graph) {
        GTEST_SKIP() << "SKIPPED: BlazeFace 'face-back' is not in the asset cache "
                     << plugins::assetCacheDir() << " (" << why << "): run ./prunelab setup";
    }
    auto pruned = prune::applyPlan(*graph, *prune::presetPlan("patdnn-8"));
    ASSERT_TRUE(pruned.ok()) << pruned.error().toString();
    auto compiled = codegen::compileLayers(*pruned, {});
    ASSERT_TRUE(compiled.ok()) << compiled.error().toString();

    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    const LoadReply loaded = load(pruned->graph, &*compiled);
    EXPECT_EQ(loaded.compiledLayers, compiled->layers.size());
    EXPECT_GT(loaded.compiledLayers, 0u);
    const std::vector<Tensor> inputs = engine::testing::randomInputs(pruned->graph, 5);
    const RunReply reply = run(pruned->graph, inputs);
    const auto sparse = std::make_shared<const codegen::SparseModel>(std::move(*compiled));
    expectClose(runLocally(pruned->graph, sparse, inputs), reply, 1e-3f);
    byeExitsZero();
}

TEST_F(AgentTest, WrongTokenIsRefusedAndTheAgentExits) {
    ASSERT_NO_FATAL_FAILURE(startTcp(randomToken()));
    sendMessage(MessageType::Hello, encodeHello({kProtocolVersion, randomToken()}));
    EXPECT_NE(expectError().find("token"), std::string::npos);
    EXPECT_FALSE(receive().has_value()) << "the connection is closed after a refusal";
    EXPECT_EQ(waitExit(), 2);
}

TEST_F(AgentTest, WrongVersionNamesBoth) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    sendMessage(MessageType::Hello, encodeHello({kProtocolVersion + 7, token}));
    const std::string text = expectError();
    EXPECT_NE(text.find(std::to_string(kProtocolVersion)), std::string::npos) << text;
    EXPECT_NE(text.find(std::to_string(kProtocolVersion + 7)), std::string::npos) << text;
    EXPECT_EQ(waitExit(), 2);
}

TEST_F(AgentTest, RequestBeforeHelloIsRefused) {
    ASSERT_NO_FATAL_FAILURE(startTcp(randomToken()));
    sendMessage(MessageType::Stats, {});
    EXPECT_NE(expectError().find("before a HELLO"), std::string::npos);
    EXPECT_EQ(waitExit(), 2);
}

TEST_F(AgentTest, RunBeforeLoadIsAnErrorAndTheSessionGoesOn) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    remote::Run request;
    request.inputs = {{"x", Tensor::fromVector<float>({2}, {1, 2})}};
    sendMessage(MessageType::Run, encodeRun(request));
    EXPECT_NE(expectError().find("no model is loaded"), std::string::npos);
    // Wrong inputs for a loaded model: an ERROR naming them, and the session goes on.
    const Graph graph = smallConvNet();
    load(graph, nullptr);
    sendMessage(MessageType::Run, encodeRun(request));
    EXPECT_NE(expectError().find("the model wants"), std::string::npos);
    byeExitsZero();
}

TEST_F(AgentTest, GarbledMagicIsRefusedWithoutACrash) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    std::vector<uint8_t> frame =
        encodeFrame(MessageType::Hello, encodeHello({kProtocolVersion, token}));
    frame[0] ^= 0x5a;
    sendRaw(frame);
    EXPECT_FALSE(expectError().empty());
    EXPECT_EQ(waitExit(), 2);
}

TEST_F(AgentTest, TruncatedFrameThenDisconnectExitsCleanly) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    const std::vector<uint8_t> frame =
        encodeFrame(MessageType::Load, encodeLoad(makeLoad(encodeModel(smallConvNet(), nullptr))));
    sendRaw({frame.begin(), frame.begin() + ptrdiff_t(frame.size() / 2)});
    close(m_fd);
    m_fd = -1;
    EXPECT_EQ(waitExit(), 3) << "dropped mid-frame: exit 3";
}

TEST_F(AgentTest, DisconnectBetweenFramesExitsZero) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    close(m_fd);
    m_fd = -1;
    EXPECT_EQ(waitExit(), 0);
}

TEST_F(AgentTest, OversizedLengthIsRefusedBeforeAllocation) {
    const SessionToken token = randomToken();
    ASSERT_NO_FATAL_FAILURE(startTcp(token));
    ASSERT_NO_FATAL_FAILURE(hello(token));
    // A LOAD header claiming one byte over the cap, and no payload: the agent must answer from
    // the header alone (it would otherwise wait for 256 MiB that never come).
    std::vector<uint8_t> header = encodeFrame(MessageType::Load, {});
    const uint32_t length = maxPayloadBytes(MessageType::Load) + 1;
    std::memcpy(header.data() + 8, &length, 4);  // little-endian length at offset 8
    sendRaw(header);
    EXPECT_FALSE(expectError().empty());
    EXPECT_EQ(waitExit(), 2);
}

TEST_F(AgentTest, SilentClientIsDroppedAfterTheIdleTimeout) {
    ASSERT_NO_FATAL_FAILURE(startTcp(randomToken(), {"--idle-timeout", "1"}));
    EXPECT_EQ(waitExit(), 3);
}

TEST_F(AgentTest, OnlyLoopbackIsAllowed) {
    const std::string line = start({"--listen", "0.0.0.0:0", "--token", hexOf(randomToken())});
    EXPECT_EQ(line, "");
    EXPECT_EQ(waitExit(), 1);
}

}  // namespace
}  // namespace prunelab::engine::remote

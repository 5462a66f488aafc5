// The phone and agent backends: prepare() sends the model (graph and compiled layers, in the
// protocol's own format) to an agent session, run() sends the inputs and gets the outputs with
// the device's own timings. The agent runs the CPU backend, so what it can run is the CPU's.
#include "engine/runtime/remote/remote_backend.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/measure.h"
#include "engine/runtime/remote/adb.h"
#include "engine/runtime/remote/client.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/phone_kernels.h"
#include "engine/runtime/remote/sha256.h"

namespace prunelab::engine::remote {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string deviceText(const DeviceInfo& d) {
    return d.cpuName + " (" + d.arch + ", " + std::to_string(d.threads) + " threads)";
}

class RemoteExecutor final : public Executor {
  public:
    RemoteExecutor(std::unique_ptr<AgentClient> client, std::unique_ptr<AgentSession> session,
                   const Graph& graph, const codegen::SparseModel* sparse,
                   const PhoneAgentKernels* linked)
        : m_client(std::move(client)), m_session(std::move(session)) {
        // checkRunInputs reads only the inputs' declarations: keep those.
        for (ValueId id : graph.inputs) {
            const Value& v = graph.value(id);
            m_inputs.inputs.push_back(m_inputs.addValue(v.name, v.dtype, v.shape));
        }
        for (ValueId id : graph.outputs) m_outputNames.push_back(graph.value(id).name);
        // The agent does not send its kernel choices: say where each node runs, and which
        // compiled layers run a sparse kernel there. A layer linked into the agent runs its
        // generated code when the agent regenerates the same source from it (it logs how many
        // did; the protocol does not carry it).
        std::map<int, std::string> sparseKinds;
        if (sparse != nullptr) {
            for (const codegen::LayerCode& l : sparse->layers) {
                if (l.kind == codegen::KernelKind::Dense) continue;
                const bool isLinked =
                    linked != nullptr && std::find(linked->layers().begin(), linked->layers().end(),
                                                   l.index) != linked->layers().end();
                sparseKinds[l.node] =
                    isLinked ? "generated " + std::string(kernelKindName(l.kind)) +
                                   " code linked into it (when its source check passes)"
                             : "generic " + std::string(kernelKindName(l.kind)) + " kernel";
            }
        }
        const std::string where = "on " + deviceText(m_client->hello().device);
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
            auto kind = sparseKinds.find(int(i));
            m_report.push_back({graph.describeNode(i),
                                kind == sparseKinds.end() ? "the agent's CPU kernels"
                                                          : "the agent's " + kind->second,
                                where + ", over " + m_client->address().toString()});
        }
    }

    ~RemoteExecutor() override {
        m_client->bye();
        if (m_session) (void)m_session->stop();
    }

    Result<std::vector<Tensor>> run(std::span<const Tensor> inputs) override {
        // Checked here, so a wrong input is the caller's error, not a lost session.
        Run request;
        request.inputs.reserve(inputs.size());
        for (size_t i = 0; i < inputs.size(); ++i) {
            const bool named = i < m_inputs.inputs.size();
            request.inputs.push_back(
                {named ? m_inputs.value(m_inputs.inputs[i]).name : std::string(), inputs[i]});
        }
        PL_TRY(checkRunInputs(request, m_inputs));
        const auto start = Clock::now();
        auto reply = m_client->run(request);
        const double wallMs =
            std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (!reply.ok()) {
            Error e = reply.error();
            // A phone's agent that ended says why (adb's and the agent's own words).
            if (m_session) {
                if (Status alive = m_session->alive(); !alive.ok()) {
                    e.message += "; " + alive.error().message;
                }
            }
            return e;
        }
        if (reply->outputs.size() != m_outputNames.size()) {
            return makeError(ErrorCode::Corrupt,
                             "the agent sent " + std::to_string(reply->outputs.size()) +
                                 " outputs for a model of " + std::to_string(m_outputNames.size()),
                             "RUN reply");
        }
        std::vector<Tensor> outputs;
        outputs.reserve(reply->outputs.size());
        for (size_t i = 0; i < reply->outputs.size(); ++i) {
            if (reply->outputs[i].name != m_outputNames[i]) {
                return makeError(ErrorCode::Corrupt,
                                 "output " + std::to_string(i) + " is '" + reply->outputs[i].name +
                                     "', the model's is '" + m_outputNames[i] + "'",
                                 "RUN reply");
            }
            outputs.push_back(std::move(reply->outputs[i].tensor));
        }
        m_steps.clear();
        if (m_profiling) {
            for (const StepTiming& s : reply->steps) m_steps.push_back({s.name, false, s.ms});
        }
        m_split = RunSplit{reply->deviceMs, std::max(0.0, wallMs - reply->deviceMs)};
        return outputs;
    }

    void setProfiling(bool on) override { m_profiling = on; }
    std::vector<StepTime> lastStepTimes() const override { return m_steps; }
    std::optional<RunSplit> lastRunSplit() const override { return m_split; }
    int threads() const override { return int(m_client->hello().device.threads); }
    std::vector<KernelChoice> kernelReport() const override { return m_report; }
    MemoryReport memoryReport() const override { return {}; }

    const DeviceInfo& device() const { return m_client->hello().device; }

  private:
    std::unique_ptr<AgentClient> m_client;
    std::unique_ptr<AgentSession> m_session;  // the phone's agent; null for agent:HOST:PORT
    Graph m_inputs;                           // the model's inputs only
    std::vector<std::string> m_outputNames;
    std::vector<KernelChoice> m_report;
    std::vector<StepTime> m_steps;
    std::optional<RunSplit> m_split;
    bool m_profiling = false;
};

// What both backends do once connected: refuse what cannot travel, LOAD, and wrap the session.
Result<std::unique_ptr<Executor>> loadOn(std::unique_ptr<AgentClient> client,
                                         std::unique_ptr<AgentSession> session,
                                         std::string_view backend, const Graph& graph,
                                         const PrepareOptions& options) {
    if (options.generated && options.generated->backend() != backend) {
        return makeError(ErrorCode::InvalidArgument,
                         "kernels generated for '" + std::string(options.generated->backend()) +
                             "' cannot run on '" + std::string(backend) + "'");
    }
    if (options.referenceOnly) {
        return makeError(ErrorCode::Unsupported,
                         "'" + std::string(backend) +
                             "' runs the agent's kernels; the plain reference kernels run on "
                             "this computer (--backend cpu)");
    }
    Load load = makeLoad(encodeModel(graph, options.sparse.get()));
    if (load.model.size() > maxPayloadBytes(MessageType::Load)) {
        return makeError(ErrorCode::OutOfRange,
                         "the model takes " + std::to_string(load.model.size() >> 20) +
                             " MiB; a LOAD carries at most " +
                             std::to_string(maxPayloadBytes(MessageType::Load) >> 20) + " MiB");
    }
    PL_TRY(client->load(load));
    const codegen::SparseModel* sparse = options.sparse.get();
    const auto* linked = dynamic_cast<const PhoneAgentKernels*>(options.generated.get());
    return std::unique_ptr<Executor>(
        new RemoteExecutor(std::move(client), std::move(session), graph, sparse, linked));
}

// The first 16 hex digits of the file's SHA-256: the agent's name on the phone, so a phone keeps
// one copy per build and a session does not push what is there.
Result<std::string> fileId(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot read the agent", path);
    Sha256 hash;
    std::vector<char> chunk(1 << 16);
    while (in) {
        in.read(chunk.data(), std::streamsize(chunk.size()));
        hash.add({reinterpret_cast<const uint8_t*>(chunk.data()), size_t(in.gcount())});
    }
    if (in.bad()) return makeError(ErrorCode::Io, "cannot read the agent", path);
    return toHex(hash.digest()).substr(0, 16);
}

// What the agent runs is the CPU backend: it can run what the CPU runs.
std::optional<std::string> cpuUnsupported(const Graph& graph, const Node& node) {
    return cpu::cpuBackend().unsupported(graph, node);
}

// ---- agent:HOST:PORT ----

class AgentBackend final : public Backend {
  public:
    AgentBackend() = default;  // the unconfigured one: says what to give
    AgentBackend(AgentAddress address, SessionToken token)
        : m_address(std::move(address)), m_token(token), m_configured(true) {
        m_name = "agent:" + m_address.host + ":" + std::to_string(m_address.port);
    }

    std::string_view name() const override { return m_name; }
    std::string_view title() const override { return "Agent on this computer (tests)"; }
    Status available() const override {
        // Not probed: the agent serves one client, and a probe would be that client.
        if (m_configured) return {};
        return makeError(ErrorCode::Unsupported,
                         "give the agent's address, --backend agent:127.0.0.1:PORT, with its "
                         "token in PRUNELAB_AGENT_TOKEN");
    }
    BackendDescription describe(int threads) const override {
        return {"prunelab-agent at " + m_address.toString(),
                threads,
                {"protocol " + std::to_string(kProtocolVersion)}};
    }
    std::optional<std::string> unsupported(const Graph& graph, const Node& node) const override {
        return cpuUnsupported(graph, node);
    }
    Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                              const PrepareOptions& options) const override {
        PL_TRY(available());
        PL_TRY_ASSIGN(auto client, AgentClient::connect(m_address, m_token));
        return loadOn(std::move(client), nullptr, m_name, graph, options);
    }
    // No measured decision: it needs two more sessions, and an agent at an address serves one.
    Status generateAndMeasure(const Graph&, codegen::SparseModel&, const CompileForOptions&,
                              CompiledForBackend& out) const override {
        out.kernels =
            "the agent's generic sparse kernels, the compiler's choices (not measured: "
            "an agent at an address serves one client)";
        return {};
    }
    Result<const Backend*> withArgument(std::string_view argument) const override {
        PL_TRY_ASSIGN(AgentAddress address, parseAgentAddress(argument));
        const char* hex = std::getenv("PRUNELAB_AGENT_TOKEN");
        if (hex == nullptr) {
            return makeError(ErrorCode::InvalidArgument,
                             "--backend agent:" + std::string(argument) +
                                 ": set PRUNELAB_AGENT_TOKEN to the agent's session token");
        }
        PL_TRY_ASSIGN(SessionToken token, parseToken(hex, "PRUNELAB_AGENT_TOKEN"));
        static std::mutex mutex;
        static std::map<std::string, std::unique_ptr<AgentBackend>> made;
        std::lock_guard<std::mutex> lock(mutex);
        const std::string key = address.toString() + "#" + hex;
        auto& slot = made[key];
        if (!slot) slot = std::make_unique<AgentBackend>(address, token);
        return static_cast<const Backend*>(slot.get());
    }

  private:
    AgentAddress m_address;
    SessionToken m_token{};
    bool m_configured = false;
    std::string m_name = "agent";
};

// ---- phone[:SERIAL] ----

class PhoneBackend final : public Backend {
  public:
    explicit PhoneBackend(std::string serial = {}) : m_serial(std::move(serial)) {
        m_name = m_serial.empty() ? "phone" : "phone:" + m_serial;
    }

    std::string_view name() const override { return m_name; }
    std::string_view title() const override { return "Phone over USB (adb)"; }

    Status available() const override {
        PL_TRY_ASSIGN(Phone phone, findPhone());
        (void)phone;
        PL_TRY(findPhoneAgent());
        return {};
    }
    BackendDescription describe(int threads) const override {
        auto phone = findPhone();
        if (!phone.ok()) return {"none: " + phone.error().message, 0, {}};
        return {phone->title() + " (" + phone->serial + ") over adb", threads, {"aarch64 agent"}};
    }
    std::optional<std::string> unsupported(const Graph& graph, const Node& node) const override {
        return cpuUnsupported(graph, node);
    }
    Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                              const PrepareOptions& options) const override {
        PL_TRY_ASSIGN(AdbTool adb, findAdb());
        PL_TRY_ASSIGN(PhoneList list, listPhones(adb));
        PL_TRY_ASSIGN(Phone phone, choosePhone(list, m_serial));
        // The model's own agent (its generated layers linked in) when its compile made one.
        std::string agent;
        if (const auto* linked = dynamic_cast<const PhoneAgentKernels*>(options.generated.get())) {
            agent = linked->agentPath();
        } else {
            PL_TRY_ASSIGN(agent, findPhoneAgent());
        }
        PL_TRY_ASSIGN(std::string agentId, fileId(agent));
        std::unique_ptr<AgentSession> session;
        {
            // Two lanes prepare at once: one pushes, the other then finds the agent there.
            static std::mutex starting;
            std::lock_guard<std::mutex> lock(starting);
            PL_TRY_ASSIGN(session,
                          AgentSession::start(adb, phone.serial, agent, options.threads, agentId));
        }
        PL_TRY_ASSIGN(SessionToken token, parseToken(session->token(), "the session token"));
        AgentAddress address;
        address.abstractName = session->socketName();
        // The agent needs a moment to start and bind; through adb's forward a connection may
        // even succeed and then close until it listens. Retry while it runs.
        const auto until = Clock::now() + std::chrono::seconds(15);
        for (;;) {
            auto client = AgentClient::connect(address, token);
            if (client.ok()) {
                return loadOn(std::move(*client), std::move(session), m_name, graph, options);
            }
            if (Status alive = session->alive(); !alive.ok()) {
                return alive.error().within("starting the agent on " + phone.title());
            }
            if (client.error().code != ErrorCode::Io || Clock::now() > until) {
                return client.error().within("reaching the agent on " + phone.title());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    // The measured decision on the phone itself: each sparse layer timed against its dense
    // step by the agent's own clock (RUN replies carry per-step times), kept only where faster.
    // Phones differ from this computer (NEON, caches, big.LITTLE), so this computer's decision
    // would teach the wrong lesson there.
    Status generateAndMeasure(const Graph& graph, codegen::SparseModel& model,
                              const CompileForOptions& options,
                              CompiledForBackend& out) const override {
        out.generated = nullptr;
        out.kernels = "the agent's generic sparse kernels";
        if (options.generate && !(options.cancel && options.cancel->load())) {
            // Cross-compiled here, linked into the agent (a static binary cannot dlopen), cached.
            PhoneKernelOptions build;
            build.cancel = options.cancel;
            if (options.onProgress) {
                build.onProgress = [&](int done, int total, int built) {
                    options.onProgress({CompileProgress::Step::Compiling, done, total, built});
                };
            }
            Result<PhoneAgentBuild> agent = makeError(ErrorCode::NotFound, "no agent");
            if (auto base = findPhoneAgent(); base.ok()) {
                build.baseAgent = *base;
                agent = buildPhoneAgent(model, build);
            } else {
                agent = base.error();
            }
            if (agent.ok()) {
                const size_t count = agent->layers.size();
                out.generated =
                    std::make_shared<const PhoneAgentKernels>(m_name, std::move(*agent));
                out.kernels = "generated kernels (" + std::to_string(count) +
                              " layers cross-compiled into the phone's agent)";
            } else if (agent.error().code == ErrorCode::Cancelled) {
                return agent.error();
            } else {
                out.kernels += " (no generated code: " + agent.error().toString() + ")";
            }
        }
        if (!options.measure || (options.cancel && options.cancel->load())) return {};
        if (options.onProgress) options.onProgress({CompileProgress::Step::Measuring});
        MeasureOptions measure;
        measure.runs = options.measureRuns;
        measure.threads = options.measureThreads;
        measure.backend = this;
        measure.generated = out.generated;  // time the code that will run there
        PL_TRY_ASSIGN(model, keepFasterKernels(graph, std::move(model), measure));
        return {};
    }
    Result<const Backend*> withArgument(std::string_view serial) const override {
        if (serial.empty()) return static_cast<const Backend*>(&phoneBackend());
        static std::mutex mutex;
        static std::map<std::string, std::unique_ptr<PhoneBackend>, std::less<>> made;
        std::lock_guard<std::mutex> lock(mutex);
        auto& slot = made[std::string(serial)];
        if (!slot) slot = std::make_unique<PhoneBackend>(std::string(serial));
        return static_cast<const Backend*>(slot.get());
    }

  private:
    // adb is asked at most every 2 s: lists (the Target box, `backends`, the conformance
    // suite) ask available() many times, and each `adb devices` is a process.
    Result<Phone> findPhone() const {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        if (m_cached && Clock::now() - m_cachedAt < std::chrono::seconds(2)) return *m_cached;
        m_cached = [&]() -> Result<Phone> {
            PL_TRY_ASSIGN(AdbTool adb, findAdb());
            PL_TRY_ASSIGN(PhoneList list, listPhones(adb));
            return choosePhone(list, m_serial);
        }();
        m_cachedAt = Clock::now();
        return *m_cached;
    }

    std::string m_serial;
    std::string m_name;
    mutable std::mutex m_cacheMutex;
    mutable std::optional<Result<Phone>> m_cached;
    mutable Clock::time_point m_cachedAt{};
};

}  // namespace

const Backend& phoneBackend() {
    static const PhoneBackend backend;
    return backend;
}

const Backend& agentBackend() {
    static const AgentBackend backend;
    return backend;
}

Result<std::string> findPhoneAgent() {
    if (const char* env = std::getenv("PRUNELAB_PHONE_AGENT"); env != nullptr && *env != '\0') {
        std::error_code ec;
        if (!fs::is_regular_file(env, ec)) {
            return makeError(ErrorCode::NotFound,
                             std::string("PRUNELAB_PHONE_AGENT names '") + env + "', not a file");
        }
        return std::string(env);
    }
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> places;
    if (!ec) places.push_back(self.parent_path() / "prunelab-agent-aarch64");
    places.push_back("/usr/lib/prunelab/prunelab-agent-aarch64");
    for (const fs::path& p : places) {
        if (fs::is_regular_file(p, ec)) return p.string();
    }
    return makeError(ErrorCode::NotFound,
                     "the phone's agent (prunelab-agent-aarch64) is not built: ./prunelab setup "
                     "installs the aarch64 compiler, then ./prunelab build makes it");
}

std::optional<DeviceInfo> remoteDevice(const Executor& executor) {
    if (const auto* remote = dynamic_cast<const RemoteExecutor*>(&executor)) {
        return remote->device();
    }
    return std::nullopt;
}

}  // namespace prunelab::engine::remote

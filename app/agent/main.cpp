// prunelab-agent: serves one desktop over a loopback TCP port or a Linux abstract unix socket
// (what `adb forward` reaches on a phone): HELLO, LOAD, RUN, STATS, BYE of docs/PHONE-PROTOCOL.md.
// Exit codes: 0 BYE or the link closed between frames, 1 bad arguments or socket setup,
// 2 a refused or malformed request (ERROR sent, connection closed), 3 idle timeout or a link
// dropped mid-frame.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/phone_kernels.h"
#include "engine/runtime/remote/protocol.h"
#include "engine/runtime/remote/sha256.h"

// Generated layers linked into this build of the agent (a static binary cannot dlopen): the
// desktop cross-compiles a model's layers and links them with a table.cpp defining these
// (engine/runtime/remote/phone_kernels.h). The plain agent defines none: weak, their addresses
// are null. Each entry carries the SHA-256 of the source it was compiled from (linkedLayerSource),
// so a layer runs its compiled-in code only when this agent regenerates the very same source from
// the layer it is given (another model, or one weight changed: the generic kernel).
extern "C" {
struct pl_static_kernel {
    int32_t index;
    const char* sourceSha256;  // 64 lowercase hex digits
    prunelab::engine::cpu::KernelFunction fn;
};
extern const pl_static_kernel pl_static_kernels[] __attribute__((weak));
extern const int32_t pl_static_kernel_count __attribute__((weak));
}

namespace {

using namespace prunelab::engine;
using namespace prunelab::engine::remote;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitRefused = 2;
constexpr int kExitDropped = 3;

struct Options {
    std::optional<uint16_t> port;  // --listen 127.0.0.1:PORT
    std::string socketName;        // --socket NAME (abstract)
    SessionToken token{};
    bool tokenOnStdin = false;  // --token -: the desktop writes it there, out of argv's sight
    int idleTimeoutS = 60;
    int threads = 0;
};

const char* kUsage =
    "usage: prunelab-agent (--listen 127.0.0.1:PORT | --socket NAME) --token (HEX64 | -)\n"
    "                      [--idle-timeout SECONDS] [--threads N]\n"
    "  --token -  reads the 64 hex digits and a newline from stdin: a token in argv is visible\n"
    "             to every process in /proc, so the desktop always passes it this way\n";

bool parseInt(const std::string& s, long lo, long hi, long& out) {
    if (s.empty() || s.size() > 9) return false;
    long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) return false;
    out = v;
    return true;
}

// Returns an error text, empty when the arguments are good.
std::string parseArgs(int argc, char** argv, Options& o) {
    bool haveToken = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) return "option '" + arg + "' needs a value (or is unknown)";
        const std::string value = argv[++i];
        if (arg == "--listen") {
            const size_t colon = value.rfind(':');
            if (colon == std::string::npos) return "--listen '" + value + "': expected HOST:PORT";
            const std::string host = value.substr(0, colon);
            // Loopback only: the desktop reaches the agent through adb forward or on this
            // machine; a model server open to the network is not what anyone asked for.
            if (host != "127.0.0.1" && host != "localhost") {
                return "--listen '" + value + "': only the loopback address 127.0.0.1 is allowed";
            }
            long port = 0;
            if (!parseInt(value.substr(colon + 1), 0, 65535, port)) {
                return "--listen '" + value + "': the port must be a number from 0 to 65535";
            }
            o.port = uint16_t(port);
        } else if (arg == "--socket") {
            if (value.empty() || value.size() > sizeof(sockaddr_un::sun_path) - 1) {
                return "--socket: the name must have 1 to " +
                       std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " characters";
            }
            o.socketName = value;
        } else if (arg == "--token") {
            if (value == "-") {
                o.tokenOnStdin = true;
            } else if (auto token = parseToken(value, "--token"); token.ok()) {
                o.token = *token;
            } else {
                return token.error().message;
            }
            haveToken = true;
        } else if (arg == "--idle-timeout") {
            long s = 0;
            if (!parseInt(value, 1, 86400, s)) return "--idle-timeout: expected 1 to 86400 seconds";
            o.idleTimeoutS = int(s);
        } else if (arg == "--threads") {
            long t = 0;
            if (!parseInt(value, 0, 1024, t)) return "--threads: expected 0 to 1024";
            o.threads = int(t);
        } else {
            return "unknown option '" + arg + "'";
        }
    }
    if (o.port.has_value() == !o.socketName.empty())
        return "give exactly one of --listen, --socket";
    if (!haveToken) return "--token is required";
    return {};
}

// --token -: one line of 64 hex digits on stdin, waiting at most the idle timeout. An error
// text, empty when good.
std::string readTokenFromStdin(Options& o) {
    std::string line;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.idleTimeoutS);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              until - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0)
            return "--token -: no token on stdin within " + std::to_string(o.idleTimeoutS) + " s";
        pollfd p{0, POLLIN, 0};
        const int r = poll(&p, 1, int(left));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return std::string("--token -: cannot read stdin: ") + std::strerror(errno);
        if (r == 0) continue;
        char c = 0;
        const ssize_t n = read(0, &c, 1);  // byte by byte: nothing past the line is consumed
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // end of file ends the line too
        if (c == '\n') break;
        if (line.size() > 2 * o.token.size() + 1) return "--token -: the line on stdin is too long";
        line += c;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();  // a shell that wrote CRLF
    auto token = parseToken(line, "--token - (stdin)");
    if (!token.ok()) return token.error().message;
    o.token = *token;
    return {};
}

// The listening socket; prints the line a launcher waits for. -1 after printing why not.
int openListener(const Options& o) {
    int fd = -1;
    std::string where;
    if (o.port) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(*o.port);
        if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            std::cerr << "prunelab-agent: cannot bind 127.0.0.1:" << *o.port << ": "
                      << std::strerror(errno) << "\n";
            close(fd);
            return -1;
        }
        socklen_t len = sizeof addr;
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        where = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    } else {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        // Abstract namespace: a leading NUL, no file to clean up, what adb forward localabstract:
        // reaches.
        std::memcpy(addr.sun_path + 1, o.socketName.data(), o.socketName.size());
        const socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + o.socketName.size());
        if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
            std::cerr << "prunelab-agent: cannot bind abstract socket '@" << o.socketName
                      << "': " << std::strerror(errno) << "\n";
            close(fd);
            return -1;
        }
        where = "@" + o.socketName;
    }
    if (listen(fd, 1) != 0) {
        std::cerr << "prunelab-agent: listen on " << where << ": " << std::strerror(errno) << "\n";
        close(fd);
        return -1;
    }
    std::cout << "listening on " << where << std::endl;  // flushed: a launcher reads it
    return fd;
}

enum class ReadResult { Ok, Eof, Dropped, Timeout };

// Reads exactly `size` bytes, waiting at most the idle timeout for each piece.
ReadResult readExact(int fd, uint8_t* out, size_t size, int timeoutS) {
    size_t got = 0;
    while (got < size) {
        pollfd p{fd, POLLIN, 0};
        const int r = poll(&p, 1, timeoutS * 1000);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return ReadResult::Timeout;
        if (r < 0) return ReadResult::Dropped;
        const ssize_t n = recv(fd, out + got, size - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return ReadResult::Dropped;
        if (n == 0) return got == 0 ? ReadResult::Eof : ReadResult::Dropped;
        got += size_t(n);
    }
    return ReadResult::Ok;
}

bool sendAll(int fd, const std::vector<uint8_t>& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        sent += size_t(n);
    }
    return true;
}

bool sendMessage(int fd, MessageType type, const std::vector<uint8_t>& payload) {
    return sendAll(fd, encodeFrame(type, payload));
}

bool sendError(int fd, const Error& e) {
    std::cerr << "prunelab-agent: " << e.toString() << "\n";
    return sendMessage(fd, MessageType::Error, encodeError({e.code, e.toString()}));
}

uint64_t residentBytes() {
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    if (!(statm >> size >> resident)) return 0;
    return resident * uint64_t(sysconf(_SC_PAGESIZE));
}

DeviceInfo deviceInfo(int threads) {
    const BackendDescription d = cpu::cpuBackend().describe(threads);
    DeviceInfo info;
    info.cpuName = d.device;
    utsname u{};
    if (uname(&u) == 0) info.arch = u.machine;
    info.threads = uint32_t(d.threads > 0 ? d.threads : 0);
    return info;
}

class Session {
  public:
    Session(int fd, const Options& o) : m_fd(fd), m_options(o) {}

    int serve() {
        for (;;) {
            uint8_t header[kFrameHeaderBytes];
            switch (readExact(m_fd, header, sizeof header, m_options.idleTimeoutS)) {
                case ReadResult::Ok:
                    break;
                case ReadResult::Eof:
                    std::cerr << "prunelab-agent: the desktop closed the connection\n";
                    return kExitOk;
                case ReadResult::Dropped:
                    std::cerr << "prunelab-agent: the link dropped inside a frame header\n";
                    return kExitDropped;
                case ReadResult::Timeout:
                    std::cerr << "prunelab-agent: no request for " << m_options.idleTimeoutS
                              << " s, closing\n";
                    return kExitDropped;
            }
            // The header's length is checked against the type's cap before anything is
            // allocated for the payload.
            auto h = decodeFrameHeader(header);
            if (!h.ok()) return refuse(h.error());
            std::vector<uint8_t> payload(h->length);
            const ReadResult r =
                readExact(m_fd, payload.data(), payload.size(), m_options.idleTimeoutS);
            if (r != ReadResult::Ok) {
                std::cerr << "prunelab-agent: the link "
                          << (r == ReadResult::Timeout ? "went silent" : "dropped") << " inside a "
                          << messageTypeName(h->type) << " payload of " << h->length << " bytes\n";
                return kExitDropped;
            }
            if (std::optional<int> done = handle(h->type, payload)) return *done;
        }
    }

  private:
    // Sends ERROR and ends the session: the stream or the peer cannot be trusted further.
    int refuse(const Error& e) {
        sendError(m_fd, e);
        return kExitRefused;
    }

    // nullopt: keep serving; otherwise the exit code.
    std::optional<int> handle(MessageType type, std::span<const uint8_t> payload) {
        if (type == MessageType::Hello) {
            auto hello = decodeHello(payload);
            if (!hello.ok()) return refuse(hello.error());
            if (Status s = checkHello(*hello, m_options.token); !s.ok()) return refuse(s.error());
            m_greeted = true;
            return send(MessageType::HelloReply,
                        encodeHelloReply({kProtocolVersion, deviceInfo(m_options.threads)}));
        }
        if (!m_greeted) {
            return refuse(makeError(
                ErrorCode::InvalidArgument,
                std::string(messageTypeName(type)) + " before a HELLO was accepted", "agent"));
        }
        switch (type) {
            case MessageType::Load:
                return load(payload);
            case MessageType::Run:
                return run(payload);
            case MessageType::Stats: {
                if (Status s = decodeEmpty(type, payload); !s.ok()) return refuse(s.error());
                return send(MessageType::StatsReply,
                            encodeStatsReply({deviceInfo(m_options.threads), residentBytes()}));
            }
            case MessageType::Bye: {
                if (Status s = decodeEmpty(type, payload); !s.ok()) return refuse(s.error());
                sendMessage(m_fd, MessageType::Bye, {});
                std::cerr << "prunelab-agent: BYE\n";
                return kExitOk;
            }
            default:
                return refuse(makeError(ErrorCode::InvalidArgument,
                                        std::string(messageTypeName(type)) +
                                            " is a reply, not a request an agent answers",
                                        "agent"));
        }
    }

    std::optional<int> send(MessageType type, const std::vector<uint8_t>& payload) {
        if (sendMessage(m_fd, type, payload)) return std::nullopt;
        std::cerr << "prunelab-agent: the link dropped while sending " << messageTypeName(type)
                  << "\n";
        return kExitDropped;
    }

    // A request that decoded but cannot be served (no model, wrong inputs): ERROR, and the
    // session goes on.
    std::optional<int> answerError(const Error& e) {
        if (sendError(m_fd, e)) return std::nullopt;
        return kExitDropped;
    }

    std::optional<int> load(std::span<const uint8_t> payload) {
        auto load = decodeLoad(payload);
        if (!load.ok()) return refuse(load.error());
        auto model = decodeModel(load->model);
        if (!model.ok()) return refuse(model.error().within("LOAD"));
        m_executor.reset();
        m_graph = std::make_unique<Graph>(std::move(model->graph));
        PrepareOptions options;
        options.threads = m_options.threads;
        uint32_t compiled = 0;
        if (model->sparse) {
            // The reply's count stays the layers sent compiled (the protocol's meaning); how
            // many of them run linked generated code goes to stderr (linkedKernels).
            compiled = uint32_t(model->sparse->layers.size());
            auto linked = linkedKernels(*model->sparse);
            if (!linked.empty()) {
                options.generated = std::make_shared<const cpu::CompiledModule>(
                    cpu::CompiledModule::fromFunctions(linked, "linked into the agent"));
            }
            options.sparse =
                std::make_shared<const codegen::SparseModel>(std::move(*model->sparse));
        }
        auto executor = cpu::cpuBackend().prepare(*m_graph, options);
        if (!executor.ok()) {
            m_graph.reset();
            return answerError(executor.error().within("LOAD"));
        }
        m_executor = std::move(executor).value();
        m_executor->setProfiling(true);
        return send(MessageType::LoadReply,
                    encodeLoadReply({load->hash, uint32_t(m_graph->nodes.size()), compiled}));
    }

    // The linked-in layers whose source this agent regenerates byte for byte from the layer it
    // was given; every other layer keeps the generic kernel. Told on stderr, layer by layer.
    static std::vector<std::pair<int, cpu::KernelFunction>> linkedKernels(
        const codegen::SparseModel& model) {
        std::vector<std::pair<int, cpu::KernelFunction>> out;
        if (&pl_static_kernel_count == nullptr || pl_static_kernels == nullptr) return out;
        const int32_t count = pl_static_kernel_count;
        for (const codegen::LayerCode& layer : model.layers) {
            const pl_static_kernel* entry = nullptr;
            for (int32_t i = 0; i < count; ++i) {
                if (pl_static_kernels[i].index == layer.index) entry = &pl_static_kernels[i];
            }
            if (entry == nullptr || entry->fn == nullptr || entry->sourceSha256 == nullptr ||
                !cpu::canEmitLayer(layer)) {
                continue;
            }
            auto source = linkedLayerSource(layer);
            if (!source.ok()) continue;
            const std::string hex =
                toHex(sha256({reinterpret_cast<const uint8_t*>(source->data()), source->size()}));
            if (hex != entry->sourceSha256) {
                std::cerr << "prunelab-agent: layer " << layer.index
                          << " differs from the one compiled into this agent: generic kernel\n";
                continue;
            }
            out.emplace_back(layer.index, entry->fn);
        }
        if (count > 0) {
            std::cerr << "prunelab-agent: " << out.size() << " of " << count
                      << " compiled-in layers run their generated code\n";
        }
        return out;
    }

    std::optional<int> run(std::span<const uint8_t> payload) {
        auto request = decodeRun(payload);
        if (!request.ok()) return refuse(request.error());
        if (!m_executor) {
            return answerError(makeError(ErrorCode::NotFound, "no model is loaded", "RUN"));
        }
        if (Status s = checkRunInputs(*request, *m_graph); !s.ok()) return answerError(s.error());
        std::vector<Tensor> inputs;
        inputs.reserve(request->inputs.size());
        for (NamedTensor& t : request->inputs) inputs.push_back(std::move(t.tensor));
        const auto start = std::chrono::steady_clock::now();
        auto outputs = m_executor->run(inputs);
        const auto end = std::chrono::steady_clock::now();
        if (!outputs.ok()) return answerError(outputs.error().within("RUN"));
        RunReply reply;
        reply.deviceMs = std::chrono::duration<double, std::milli>(end - start).count();
        for (size_t i = 0; i < outputs->size(); ++i) {
            const std::string name =
                i < m_graph->outputs.size() ? m_graph->value(m_graph->outputs[i]).name : "";
            reply.outputs.push_back({name, std::move((*outputs)[i])});
        }
        for (const Executor::StepTime& s : m_executor->lastStepTimes()) {
            reply.steps.push_back({s.where, s.ms});
        }
        return send(MessageType::RunReply, encodeRunReply(reply));
    }

    int m_fd;
    const Options& m_options;
    bool m_greeted = false;
    std::unique_ptr<Graph> m_graph;
    std::unique_ptr<Executor> m_executor;
};

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        std::cout << kUsage;
        return kExitOk;
    }
    if (const std::string bad = parseArgs(argc, argv, options); !bad.empty()) {
        std::cerr << "prunelab-agent: " << bad << "\n" << kUsage;
        return kExitUsage;
    }
    if (options.tokenOnStdin) {
        if (const std::string bad = readTokenFromStdin(options); !bad.empty()) {
            std::cerr << "prunelab-agent: " << bad << "\n";
            return kExitUsage;
        }
    }
    signal(SIGPIPE, SIG_IGN);  // a vanished desktop is a send error, not a death
    const int listener = openListener(options);
    if (listener < 0) return kExitUsage;
    pollfd p{listener, POLLIN, 0};
    int ready = 0;
    do {
        ready = poll(&p, 1, options.idleTimeoutS * 1000);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
        std::cerr << "prunelab-agent: nobody connected within " << options.idleTimeoutS << " s\n";
        close(listener);
        return kExitDropped;
    }
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    close(listener);  // one client per agent
    if (fd < 0) {
        std::cerr << "prunelab-agent: accept: " << std::strerror(errno) << "\n";
        return kExitDropped;
    }
    const int code = Session(fd, options).serve();
    close(fd);
    return code;
}

// The desktop's end of an agent session: sockets with a deadline on every wait, one request and
// one reply at a time, the agent's ERROR replies turned into errors carrying its own words.
#include "engine/runtime/remote/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace prunelab::engine::remote {

namespace {

using Clock = std::chrono::steady_clock;

int msLeft(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : int(std::min<long long>(left, 1 << 30));
}

enum class IoResult { Ok, Closed, Failed, TimedOut };

IoResult waitFor(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, msLeft(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return IoResult::Failed;
        if (r == 0) return IoResult::TimedOut;
        return IoResult::Ok;
    }
}

IoResult sendAll(int fd, std::span<const uint8_t> bytes, Clock::time_point deadline) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        if (IoResult w = waitFor(fd, POLLOUT, deadline); w != IoResult::Ok) return w;
        const ssize_t n =
            ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0)
            return errno == EPIPE || errno == ECONNRESET ? IoResult::Closed : IoResult::Failed;
        sent += size_t(n);
    }
    return IoResult::Ok;
}

IoResult readExact(int fd, uint8_t* out, size_t size, Clock::time_point deadline) {
    size_t got = 0;
    while (got < size) {
        if (IoResult w = waitFor(fd, POLLIN, deadline); w != IoResult::Ok) return w;
        const ssize_t n = ::recv(fd, out + got, size - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0) return errno == ECONNRESET ? IoResult::Closed : IoResult::Failed;
        if (n == 0) return IoResult::Closed;
        got += size_t(n);
    }
    return IoResult::Ok;
}

const char* ioText(IoResult r) {
    switch (r) {
        case IoResult::Closed:
            return "the agent closed the connection";
        case IoResult::TimedOut:
            return "no answer in time";
        default:
            return "the socket failed";
    }
}

}  // namespace

std::string AgentAddress::toString() const {
    // One append per piece: GCC 12 warns falsely (-Wrestrict) on "@" + std::string.
    std::string text(abstractName.empty() ? host : std::string_view("@"));
    if (abstractName.empty()) {
        text.push_back(':');
        text.append(std::to_string(port));
    } else {
        text.append(abstractName);
    }
    return text;
}

Result<AgentAddress> parseAgentAddress(std::string_view text) {
    const size_t colon = text.rfind(':');
    std::string quoted = "'";
    quoted += text;
    quoted += '\'';
    if (colon == std::string_view::npos) {
        return makeError(ErrorCode::InvalidArgument,
                         "agent address " + quoted + ": expected HOST:PORT (127.0.0.1:PORT)");
    }
    AgentAddress a;
    a.host = std::string(text.substr(0, colon));
    // Loopback only: an agent runs models for whoever holds its token, and the token crosses the
    // socket in clear; a phone is reached through adb's forward, which is local too.
    if (a.host != "127.0.0.1" && a.host != "localhost") {
        return makeError(ErrorCode::InvalidArgument,
                         "agent address " + quoted +
                             ": only the loopback address 127.0.0.1 is allowed (a phone is "
                             "reached with --backend phone, through adb)");
    }
    const std::string_view digits = text.substr(colon + 1);
    long port = 0;
    bool ok = !digits.empty() && digits.size() <= 5;
    for (char c : digits) {
        if (c < '0' || c > '9')
            ok = false;
        else
            port = port * 10 + (c - '0');
    }
    if (!ok || port < 1 || port > 65535) {
        return makeError(ErrorCode::InvalidArgument,
                         "agent address " + quoted + ": the port must be a number from 1 to 65535");
    }
    a.port = uint16_t(port);
    return a;
}

Result<std::unique_ptr<AgentClient>> AgentClient::connect(const AgentAddress& address,
                                                          const SessionToken& token,
                                                          const ClientTimeouts& timeouts) {
    const bool abstract = !address.abstractName.empty();
    const int fd = ::socket(abstract ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return makeError(ErrorCode::Io, "cannot open a socket for the agent at " +
                                            address.toString() + ": " + std::strerror(errno));
    }
    int rc = -1;
    if (abstract) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (address.abstractName.size() > sizeof(addr.sun_path) - 1) {
            ::close(fd);
            return makeError(ErrorCode::InvalidArgument,
                             "abstract socket name '" + address.abstractName + "' is too long");
        }
        std::memcpy(addr.sun_path + 1, address.abstractName.data(), address.abstractName.size());
        const auto len =
            socklen_t(offsetof(sockaddr_un, sun_path) + 1 + address.abstractName.size());
        do {
            rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
        } while (rc != 0 && errno == EINTR);
    } else {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(address.port);
        do {
            rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        } while (rc != 0 && errno == EINTR);
        // Frames are written whole; Nagle would hold a small request back for the last ACK.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (rc != 0) {
        const int e = errno;
        ::close(fd);
        return makeError(ErrorCode::Io, "cannot connect to the agent at " + address.toString() +
                                            ": " + std::strerror(e) +
                                            (e == ECONNREFUSED ? " (is it running?)" : ""));
    }
    std::unique_ptr<AgentClient> client(new AgentClient(fd, address, timeouts));
    Hello hello;
    hello.token = token;
    PL_TRY_ASSIGN(auto reply, client->exchange(MessageType::Hello, encodeHello(hello),
                                               MessageType::HelloReply, timeouts.helloSeconds));
    auto decoded = decodeHelloReply(reply);
    // The decoder refuses another version, naming both.
    if (!decoded.ok()) return client->linkError(decoded.error().toString());
    client->m_hello = std::move(*decoded);
    return client;
}

AgentClient::~AgentClient() {
    bye();
}

void AgentClient::closeSocket() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
}

Error AgentClient::linkError(const std::string& what) {
    closeSocket();
    return makeError(ErrorCode::Io,
                     "the link to the agent at " + m_address.toString() + " failed: " + what);
}

Result<std::vector<uint8_t>> AgentClient::exchange(MessageType request,
                                                   std::span<const uint8_t> payload,
                                                   MessageType expected, double timeoutSeconds) {
    const std::string name = messageTypeName(request);
    if (m_fd < 0) {
        return makeError(ErrorCode::Io, "the link to the agent at " + m_address.toString() +
                                            " is closed (" + name + " not sent)");
    }
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(int64_t(timeoutSeconds * 1000.0));
    if (IoResult r = sendAll(m_fd, encodeFrame(request, payload), deadline); r != IoResult::Ok) {
        return linkError(std::string(ioText(r)) + " while sending " + name);
    }
    uint8_t header[kFrameHeaderBytes];
    if (IoResult r = readExact(m_fd, header, sizeof header, deadline); r != IoResult::Ok) {
        return linkError(
            std::string(ioText(r)) + " while waiting for the reply to " + name +
            (r == IoResult::TimedOut ? " (" + std::to_string(int(timeoutSeconds)) + " s)" : ""));
    }
    // The reply's length is checked against its type's cap before anything is allocated.
    auto h = decodeFrameHeader(header);
    if (!h.ok()) return linkError("the reply to " + name + ": " + h.error().toString());
    std::vector<uint8_t> body(h->length);
    if (IoResult r = readExact(m_fd, body.data(), body.size(), deadline); r != IoResult::Ok) {
        return linkError(std::string(ioText(r)) + " inside the reply to " + name);
    }
    if (h->type == MessageType::Error) {
        auto e = decodeError(body);
        if (!e.ok()) return linkError("an unreadable ERROR: " + e.error().toString());
        // The agent closes the session after refusing a malformed request, but keeps it after
        // a request it could not serve (no model, wrong inputs): the caller may go on.
        return makeError(e->code, "the agent at " + m_address.toString() + " says: " + e->text);
    }
    if (h->type != expected) {
        return linkError(std::string("expected ") + messageTypeName(expected) + " in reply to " +
                         name + ", got " + messageTypeName(h->type));
    }
    return body;
}

Result<LoadReply> AgentClient::load(const Load& request) {
    PL_TRY_ASSIGN(auto body, exchange(MessageType::Load, encodeLoad(request),
                                      MessageType::LoadReply, m_timeouts.loadSeconds));
    auto reply = decodeLoadReply(body);
    if (!reply.ok()) return linkError(reply.error().toString());
    if (reply->hash != request.hash) {
        return linkError("LOAD reply names another model than the one sent");
    }
    return reply;
}

Result<RunReply> AgentClient::run(const Run& request) {
    double timeout = m_timeouts.runSeconds;
    if (m_slowestRunSeconds > 0) {
        timeout = std::clamp(m_slowestRunSeconds * m_timeouts.runPaceFactor,
                             m_timeouts.runFloorSeconds, m_timeouts.runSeconds);
    }
    const auto start = Clock::now();
    PL_TRY_ASSIGN(auto body,
                  exchange(MessageType::Run, encodeRun(request), MessageType::RunReply, timeout));
    m_slowestRunSeconds =
        std::max(m_slowestRunSeconds, std::chrono::duration<double>(Clock::now() - start).count());
    auto reply = decodeRunReply(body);
    if (!reply.ok()) return linkError(reply.error().toString());
    return reply;
}

Result<StatsReply> AgentClient::stats() {
    PL_TRY_ASSIGN(auto body, exchange(MessageType::Stats, {}, MessageType::StatsReply,
                                      m_timeouts.helloSeconds));
    auto reply = decodeStatsReply(body);
    if (!reply.ok()) return linkError(reply.error().toString());
    return reply;
}

void AgentClient::bye() {
    if (m_fd < 0) return;
    // The agent answers BYE and exits; a short wait lets it see the whole frame first.
    (void)exchange(MessageType::Bye, {}, MessageType::Bye, 2.0);
    closeSocket();
}

}  // namespace prunelab::engine::remote

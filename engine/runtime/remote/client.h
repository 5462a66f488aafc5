// The desktop's end of one agent session (docs/PHONE-PROTOCOL.md): a socket to an agent (loopback
// TCP, or the local abstract socket that `adb forward` carries to a phone), the requests HELLO,
// LOAD, RUN, STATS and BYE, and a deadline on every wait, so a dead link is an error, never a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/runtime/remote/protocol.h"

namespace prunelab::engine::remote {

// Where an agent listens: a loopback TCP port, or a Linux abstract socket name (no leading NUL).
struct AgentAddress {
    std::string host;  // "127.0.0.1" or "localhost"; empty for an abstract socket
    uint16_t port = 0;
    std::string abstractName;

    std::string toString() const;  // "127.0.0.1:5000", "@prunelab-1a2b"
};

// "HOST:PORT" with HOST a loopback name (the agent, and so the client, never leaves the machine:
// a phone is reached through adb's forward). Errors name the text and what is wrong.
Result<AgentAddress> parseAgentAddress(std::string_view text);

// How long each request may take before the link counts as dead. A phone running a large model
// takes seconds per frame, and the first run (caches cold, an emulator) the longest; a frozen
// link should still be noticed within seconds once the model's pace is known: after the first
// RUN, a RUN may take runPaceFactor x the slowest one so far, within [runFloorSeconds,
// runSeconds].
struct ClientTimeouts {
    double connectSeconds = 10;
    double helloSeconds = 10;
    double loadSeconds = 120;
    double runSeconds = 120;
    double runFloorSeconds = 10;
    double runPaceFactor = 20;
};

// One connection, one session. Not thread-safe: one request at a time.
class AgentClient {
  public:
    // Connects and says HELLO (an exact version match, the token). A refused connection is Io
    // naming the address; an agent that refuses HELLO is its own ERROR text.
    static Result<std::unique_ptr<AgentClient>> connect(const AgentAddress& address,
                                                        const SessionToken& token,
                                                        const ClientTimeouts& timeouts = {});
    ~AgentClient();
    AgentClient(const AgentClient&) = delete;
    AgentClient& operator=(const AgentClient&) = delete;

    const HelloReply& hello() const { return m_hello; }
    const AgentAddress& address() const { return m_address; }

    Result<LoadReply> load(const Load& request);
    Result<RunReply> run(const Run& request);
    Result<StatsReply> stats();
    // Says BYE and waits briefly for the agent's; closes the socket either way. Idempotent.
    void bye();
    // False once the link failed or BYE was said: every request then fails at once.
    bool open() const { return m_fd >= 0; }

  private:
    AgentClient(int fd, AgentAddress address, ClientTimeouts timeouts)
        : m_fd(fd), m_address(std::move(address)), m_timeouts(timeouts) {}
    // Sends one request and reads one reply, of `expected` type or ERROR (turned into its error).
    Result<std::vector<uint8_t>> exchange(MessageType request, std::span<const uint8_t> payload,
                                          MessageType expected, double timeoutSeconds);
    Error linkError(const std::string& what);  // closes the socket
    void closeSocket();

    int m_fd = -1;
    AgentAddress m_address;
    ClientTimeouts m_timeouts;
    HelloReply m_hello;
    double m_slowestRunSeconds = 0;  // 0 until a RUN was answered
};

}  // namespace prunelab::engine::remote

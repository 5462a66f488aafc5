// The desktop's client against a hostile or broken agent: a loopback server in this process that
// answers HELLO with garbage, an oversized frame, a cut frame, the wrong type or version, an
// ERROR, or nothing at all. Each is a clear error naming the address; none crashes or hangs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/runtime/remote/client.h"

namespace prunelab::engine::remote {
namespace {

// Accepts one connection, reads the client's first frame, then does `answer(fd)`.
class FakeAgent {
  public:
    explicit FakeAgent(std::function<void(int)> answer) {
        m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(m_listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        socklen_t len = sizeof addr;
        ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&addr), &len);
        m_port = ntohs(addr.sin_port);
        EXPECT_EQ(::listen(m_listener, 1), 0);
        m_thread = std::thread([this, answer = std::move(answer)] {
            const int fd = ::accept(m_listener, nullptr, nullptr);
            if (fd < 0) return;
            uint8_t header[kFrameHeaderBytes];
            if (::recv(fd, header, sizeof header, MSG_WAITALL) == ssize_t(sizeof header)) {
                auto h = decodeFrameHeader(header);
                std::vector<uint8_t> payload(h.ok() ? h->length : 0);
                if (!payload.empty()) ::recv(fd, payload.data(), payload.size(), MSG_WAITALL);
                answer(fd);
            }
            ::close(fd);
        });
    }
    ~FakeAgent() {
        ::shutdown(m_listener, SHUT_RDWR);
        m_thread.join();
        ::close(m_listener);
    }
    AgentAddress address() const { return {"127.0.0.1", m_port, {}}; }

  private:
    int m_listener = -1;
    uint16_t m_port = 0;
    std::thread m_thread;
};

// A HELLO reply a real agent could send.
HelloReply goodReply() {
    HelloReply reply;
    reply.device = {"Cortex-A76", "aarch64", 4};
    return reply;
}

void sendBytes(int fd, const std::vector<uint8_t>& bytes) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

// Connects with short deadlines and returns the error (the test fails when it connected).
std::string refusal(const FakeAgent& agent) {
    ClientTimeouts quick;
    quick.helloSeconds = 2;
    auto client = AgentClient::connect(agent.address(), SessionToken{}, quick);
    EXPECT_FALSE(client.ok());
    if (client.ok()) return {};
    EXPECT_NE(client.error().message.find(agent.address().toString()), std::string::npos)
        << client.error().message;
    return client.error().message;
}

TEST(HostileAgent, GarbledMagicIsRefused) {
    FakeAgent agent([](int fd) {
        std::vector<uint8_t> frame =
            encodeFrame(MessageType::HelloReply, encodeHelloReply(goodReply()));
        frame[0] ^= 0xff;
        sendBytes(fd, frame);
    });
    EXPECT_NE(refusal(agent).find("magic"), std::string::npos);
}

TEST(HostileAgent, AnOversizedLengthIsRefusedBeforeAllocating) {
    FakeAgent agent([](int fd) {
        std::vector<uint8_t> frame = encodeFrame(MessageType::HelloReply, {});
        const uint32_t huge = 0xfffffff0u;
        std::memcpy(frame.data() + 8, &huge, 4);
        sendBytes(fd, frame);
    });
    const std::string why = refusal(agent);
    EXPECT_NE(why.find("HELLO"), std::string::npos) << why;
}

TEST(HostileAgent, AReplyCutShortIsALinkError) {
    FakeAgent agent([](int fd) {
        std::vector<uint8_t> frame =
            encodeFrame(MessageType::HelloReply, encodeHelloReply(goodReply()));
        frame.resize(frame.size() - 3);
        sendBytes(fd, frame);
    });
    EXPECT_NE(refusal(agent).find("closed the connection"), std::string::npos);
}

TEST(HostileAgent, TheWrongReplyTypeIsRefused) {
    FakeAgent agent([](int fd) { sendBytes(fd, encodeFrame(MessageType::StatsReply, {})); });
    EXPECT_NE(refusal(agent).find("expected HELLO"), std::string::npos);
}

TEST(HostileAgent, AnotherProtocolVersionIsRefusedNamingBoth) {
    FakeAgent agent([](int fd) {
        HelloReply reply = goodReply();
        reply.version = kProtocolVersion + 1000;
        sendBytes(fd, encodeFrame(MessageType::HelloReply, encodeHelloReply(reply)));
    });
    const std::string why = refusal(agent);
    EXPECT_NE(why.find(std::to_string(kProtocolVersion + 1000)), std::string::npos) << why;
    EXPECT_NE(why.find(std::to_string(kProtocolVersion)), std::string::npos) << why;
}

TEST(HostileAgent, TrailingBytesInAReplyAreRefused) {
    FakeAgent agent([](int fd) {
        std::vector<uint8_t> payload = encodeHelloReply(goodReply());
        payload.push_back(7);
        sendBytes(fd, encodeFrame(MessageType::HelloReply, payload));
    });
    EXPECT_NE(refusal(agent).find("1 bytes left over"), std::string::npos);
}

TEST(HostileAgent, AnErrorReplyCarriesTheAgentsWords) {
    FakeAgent agent([](int fd) {
        sendBytes(fd, encodeFrame(MessageType::Error,
                                  encodeError({ErrorCode::InvalidArgument, "wrong token"})));
    });
    const std::string why = refusal(agent);
    EXPECT_NE(why.find("says: wrong token"), std::string::npos) << why;
}

TEST(HostileAgent, ASilentAgentTimesOutInsteadOfHanging) {
    FakeAgent agent([](int) { std::this_thread::sleep_for(std::chrono::seconds(3)); });
    const auto start = std::chrono::steady_clock::now();
    const std::string why = refusal(agent);
    EXPECT_NE(why.find("no answer in time"), std::string::npos) << why;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// An agent that answers HELLO and three RUNs at once, then freezes without closing the socket (a
// phone whose agent hangs): the next RUN fails after a few times the pace the runs had, not
// after the first RUN's long allowance.
TEST(HostileAgent, AFrozenLinkIsNoticedAtTheModelsPace) {
    std::atomic<bool> release{false};
    FakeAgent agent([&release](int fd) {
        sendBytes(fd, encodeFrame(MessageType::HelloReply, encodeHelloReply(goodReply())));
        for (int run = 0;; ++run) {
            uint8_t header[kFrameHeaderBytes];
            if (::recv(fd, header, sizeof header, MSG_WAITALL) != ssize_t(sizeof header)) return;
            auto h = decodeFrameHeader(header);
            if (!h.ok()) return;
            std::vector<uint8_t> payload(h->length);
            if (!payload.empty()) ::recv(fd, payload.data(), payload.size(), MSG_WAITALL);
            if (run == 3) break;
            sendBytes(fd, encodeFrame(MessageType::RunReply, encodeRunReply({{}, {}, 1.0})));
        }
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
    ClientTimeouts timeouts;
    timeouts.runSeconds = 60;      // the first RUN may take a minute...
    timeouts.runFloorSeconds = 1;  // ...later ones 20x the slowest so far, at least 1 s
    auto client = AgentClient::connect(agent.address(), SessionToken{}, timeouts);
    ASSERT_TRUE(client.ok()) << client.error().toString();
    for (int i = 0; i < 3; ++i) {
        auto reply = (*client)->run({});
        ASSERT_TRUE(reply.ok()) << reply.error().toString();
    }
    const auto start = std::chrono::steady_clock::now();
    auto frozen = (*client)->run({});
    const auto waited = std::chrono::steady_clock::now() - start;
    release = true;
    ASSERT_FALSE(frozen.ok());
    EXPECT_EQ(frozen.error().code, ErrorCode::Io);
    EXPECT_NE(frozen.error().message.find("no answer in time"), std::string::npos)
        << frozen.error().message;
    EXPECT_LT(waited, std::chrono::seconds(30)) << "it waited for the first RUN's allowance";
    EXPECT_FALSE((*client)->open());
}

TEST(AgentAddress, ParsesLoopbackOnly) {
    auto a = parseAgentAddress("127.0.0.1:5000");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->port, 5000);
    EXPECT_EQ(a->toString(), "127.0.0.1:5000");
    EXPECT_TRUE(parseAgentAddress("localhost:1").ok());
    EXPECT_FALSE(parseAgentAddress("0.0.0.0:5000").ok());
    EXPECT_FALSE(parseAgentAddress("127.0.0.1").ok());
    EXPECT_FALSE(parseAgentAddress("127.0.0.1:0").ok());
    EXPECT_FALSE(parseAgentAddress("127.0.0.1:65536").ok());
    EXPECT_FALSE(parseAgentAddress("127.0.0.1:-1").ok());
    EXPECT_FALSE(parseAgentAddress("127.0.0.1:123456789012345678901").ok());
    AgentAddress abstract;
    abstract.abstractName = "prunelab-ab";
    EXPECT_EQ(abstract.toString(), "@prunelab-ab");
}

}  // namespace
}  // namespace prunelab::engine::remote

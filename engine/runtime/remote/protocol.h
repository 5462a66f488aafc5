// The desktop <-> phone-agent protocol, version kProtocolVersion (docs/PHONE-PROTOCOL.md is the
// contract): length-prefixed frames carrying data only (a model in our own validated format,
// tensors, timings), never code. Every encode has a decode; every decoder checks each size,
// index and offset in release builds and returns a Corrupt error naming the field, never
// crashes. No sockets here: the agent and the remote backend move the bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/op_kind.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/runtime/remote/sha256.h"

namespace prunelab::engine {
class Graph;
}

namespace prunelab::engine::remote {

// ---- versions ----

// Bump kProtocolBase whenever a message's layout or the model format changes. The op list's
// size is part of the version (as ggml-rpc does), so two builds that disagree on the ops, and so
// on what an op id means, refuse each other at HELLO instead of misreading a graph.
inline constexpr uint32_t kProtocolBase = 1;
inline constexpr uint32_t kProtocolVersion = kProtocolBase * 1000 + uint32_t(kOpCount);

// ---- frames ----

// 'PLAB' as the first four bytes on the wire.
inline constexpr uint32_t kFrameMagic = 0x42414c50;
inline constexpr size_t kFrameHeaderBytes = 12;  // magic u32, type u16, reserved u16, length u32

enum class MessageType : uint16_t {
    Hello = 1,       // desktop -> agent: version, session token
    HelloReply = 2,  // agent: version, device
    Load = 3,        // desktop: model bytes and their SHA-256
    LoadReply = 4,   // agent: the hash it loaded, nodes, compiled layers
    Run = 5,         // desktop: input tensors
    RunReply = 6,    // agent: output tensors, the device's own per-step timings
    Stats = 7,       // desktop: (empty)
    StatsReply = 8,  // agent: device, threads, resident memory
    Bye = 9,         // either side: (empty) the session ends
    Error = 10,      // agent: an error code and its text, in reply to any request
};
inline constexpr uint16_t kMessageTypeCount = 10;
// A new message is a new protocol: bump kProtocolBase and then this count.
static_assert(kMessageTypeCount == 10 && kProtocolBase == 1,
              "the message set changed: bump kProtocolBase and document it");

const char* messageTypeName(MessageType type);  // "HELLO", ...; "?" outside the set
bool isKnownMessageType(uint16_t type);

// The hard cap on a payload of each type, checked from the header before anything is
// allocated: 256 MiB for LOAD, 64 MiB for RUN and RUN reply, 4 KiB for the rest.
uint32_t maxPayloadBytes(MessageType type);

struct FrameHeader {
    MessageType type{};
    uint32_t length = 0;  // payload bytes after the header
};

// Decodes and checks a 12-byte header: magic, a known type, reserved 0, length within the
// type's cap. A reader over a stream reads 12 bytes, calls this, then reads `length` more.
Result<FrameHeader> decodeFrameHeader(std::span<const uint8_t> header);

struct Frame {
    MessageType type{};
    std::span<const uint8_t> payload;  // points into the buffer given to takeFrame
    size_t frameBytes = 0;             // header + payload: what to drop from the buffer
};

// Takes one frame from the front of `buffer` (bytes received so far): a Frame when whole,
// std::nullopt when more bytes are needed (a short read: not an error), an error when the
// header is bad (the stream cannot be resynchronised: close it).
Result<std::optional<Frame>> takeFrame(std::span<const uint8_t> buffer);

// Header + payload. The caller keeps payloads within maxPayloadBytes (encoders here do not
// check: the receiving side refuses).
std::vector<uint8_t> encodeFrame(MessageType type, std::span<const uint8_t> payload);

// ---- messages ----

using SessionToken = std::array<uint8_t, 32>;

// 64 hex digits (either case) -> a token; InvalidArgument naming `what` and the bad position.
Result<SessionToken> parseToken(std::string_view hex, std::string_view what);

struct Hello {
    uint32_t version = kProtocolVersion;
    SessionToken token{};
};

struct DeviceInfo {
    std::string cpuName;  // "Qualcomm Kryo 585", from /proc/cpuinfo
    std::string arch;     // "aarch64", "x86_64"
    uint32_t threads = 0;
};

struct HelloReply {
    uint32_t version = kProtocolVersion;
    DeviceInfo device;
};

// The model travels as encodeModel's bytes (model_codec.h) with their SHA-256; decodeLoad
// recomputes the hash and refuses a mismatch before the model itself is decoded.
struct Load {
    Sha256Digest hash{};
    std::vector<uint8_t> model;
};

struct LoadReply {
    Sha256Digest hash{};
    uint32_t nodes = 0;
    uint32_t compiledLayers = 0;  // layers that run a sparse kernel on the agent
};

// A named tensor: inputs in, outputs out.
struct NamedTensor {
    std::string name;
    Tensor tensor;
};

struct Run {
    std::vector<NamedTensor> inputs;  // the loaded graph's inputs, in order
};

struct StepTiming {
    std::string name;  // the executor's step ("conv1 + Relu")
    double ms = 0;
};

struct RunReply {
    std::vector<NamedTensor> outputs;
    std::vector<StepTiming> steps;
    double deviceMs = 0;  // the whole run as the agent timed it
};

struct StatsReply {
    DeviceInfo device;
    uint64_t residentBytes = 0;  // the agent's resident memory (VmRSS)
};

struct ErrorMessage {
    ErrorCode code = ErrorCode::Internal;
    std::string text;  // Error::toString() of the agent's error
};

// Each encoder returns the payload (no header: encodeFrame adds it); each decoder takes the
// payload only, checks every field and refuses trailing bytes.
std::vector<uint8_t> encodeHello(const Hello& m);
Result<Hello> decodeHello(std::span<const uint8_t> payload);
// The agent's check of a decoded HELLO: an exact version match (a mismatch names both
// versions), then the token (a mismatch does not say the right one), compared in constant time.
Status checkHello(const Hello& m, const SessionToken& expected);

std::vector<uint8_t> encodeHelloReply(const HelloReply& m);
Result<HelloReply> decodeHelloReply(std::span<const uint8_t> payload);

std::vector<uint8_t> encodeLoad(const Load& m);
Result<Load> decodeLoad(std::span<const uint8_t> payload);
// A LOAD of `model` with its hash computed.
Load makeLoad(std::vector<uint8_t> model);

std::vector<uint8_t> encodeLoadReply(const LoadReply& m);
Result<LoadReply> decodeLoadReply(std::span<const uint8_t> payload);

std::vector<uint8_t> encodeRun(const Run& m);
Result<Run> decodeRun(std::span<const uint8_t> payload);
// The agent's check of RUN's inputs against its loaded graph: count, names, dtypes, shapes.
Status checkRunInputs(const Run& m, const Graph& graph);

std::vector<uint8_t> encodeRunReply(const RunReply& m);
Result<RunReply> decodeRunReply(std::span<const uint8_t> payload);

std::vector<uint8_t> encodeStatsReply(const StatsReply& m);
Result<StatsReply> decodeStatsReply(std::span<const uint8_t> payload);

std::vector<uint8_t> encodeError(const ErrorMessage& m);
Result<ErrorMessage> decodeError(std::span<const uint8_t> payload);

// STATS and BYE carry nothing: their payload must be empty.
Status decodeEmpty(MessageType type, std::span<const uint8_t> payload);

}  // namespace prunelab::engine::remote

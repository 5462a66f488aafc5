// The protocol's frames and messages: encode and decode, each field checked where it is read
// (wire.h), each message's own rules (versions, tokens, hashes, inputs) checked here.
#include "engine/runtime/remote/protocol.h"

#include "engine/ir/graph.h"
#include "engine/runtime/remote/wire.h"

namespace prunelab::engine::remote {

Result<SessionToken> parseToken(std::string_view hex, std::string_view what) {
    auto digit = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    SessionToken token{};
    if (hex.size() != token.size() * 2) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(what) + ": expected " + std::to_string(token.size() * 2) +
                             " hex digits, got " + std::to_string(hex.size()) + " characters");
    }
    for (size_t i = 0; i < hex.size(); ++i) {
        const int d = digit(hex[i]);
        if (d < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(what) + ": not a hex digit at " + std::to_string(i));
        }
        token[i / 2] = uint8_t(i % 2 == 0 ? d << 4 : token[i / 2] | d);
    }
    return token;
}

namespace {

constexpr uint32_t kMiB = 1024 * 1024;
// Tensors and steps per RUN: far above any model we run, far below what would exhaust memory.
constexpr size_t kMaxTensors = 1024;
constexpr size_t kMaxSteps = 65536;
constexpr size_t kMaxErrorText = 3500;  // fits the 4 KiB cap with the code and lengths

std::string readerWhat(MessageType type) {
    return std::string("the ") + messageTypeName(type) + " message";
}

template <class T>
Result<T> finished(Reader& r, T value) {
    PL_TRY(r.finish());
    return value;
}

void putDevice(Writer& w, const DeviceInfo& d) {
    w.string(d.cpuName);
    w.string(d.arch);
    w.u32(d.threads);
}

DeviceInfo getDevice(Reader& r) {
    DeviceInfo d;
    d.cpuName = r.string("device CPU name", 256);
    d.arch = r.string("device architecture", 64);
    d.threads = r.u32("device threads");
    if (r.ok() && (d.threads == 0 || d.threads > 4096)) {
        r.fail("device threads", std::to_string(d.threads) + " is not between 1 and 4096");
    }
    return d;
}

void putTensors(Writer& w, const std::vector<NamedTensor>& tensors) {
    w.u32(static_cast<uint32_t>(tensors.size()));
    for (const NamedTensor& t : tensors) {
        w.string(t.name);
        w.tensor(t.tensor);
    }
}

std::vector<NamedTensor> getTensors(Reader& r, const char* field) {
    // Each tensor takes at least its name's length, a dtype and a rank: 9 bytes.
    const size_t n = r.count(field, 9, kMaxTensors);
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < n && r.ok(); ++i) {
        NamedTensor t;
        t.name = r.string("tensor name");
        t.tensor = r.tensor("tensor");
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace

const char* messageTypeName(MessageType type) {
    switch (type) {
        case MessageType::Hello:
            return "HELLO";
        case MessageType::HelloReply:
            return "HELLO reply";
        case MessageType::Load:
            return "LOAD";
        case MessageType::LoadReply:
            return "LOAD reply";
        case MessageType::Run:
            return "RUN";
        case MessageType::RunReply:
            return "RUN reply";
        case MessageType::Stats:
            return "STATS";
        case MessageType::StatsReply:
            return "STATS reply";
        case MessageType::Bye:
            return "BYE";
        case MessageType::Error:
            return "ERROR";
    }
    return "?";
}

bool isKnownMessageType(uint16_t type) {
    return type >= 1 && type <= kMessageTypeCount;
}

uint32_t maxPayloadBytes(MessageType type) {
    switch (type) {
        case MessageType::Load:
            return 256 * kMiB;
        case MessageType::Run:
        case MessageType::RunReply:
            return 64 * kMiB;
        default:
            return 4096;
    }
}

Result<FrameHeader> decodeFrameHeader(std::span<const uint8_t> header) {
    Reader r(header, "a frame header");
    const uint32_t magic = r.u32("magic");
    const uint16_t type = r.u16("message type");
    const uint16_t reserved = r.u16("reserved");
    const uint32_t length = r.u32("payload length");
    if (!r.ok()) return r.error();
    auto bad = [](const std::string& what) {
        return makeError(ErrorCode::Corrupt, what, "a frame header");
    };
    if (magic != kFrameMagic) {
        return bad("the magic is not 'PLAB' (is the other side a PruneLab agent of this kind?)");
    }
    if (!isKnownMessageType(type)) {
        return bad("message type " + std::to_string(type) + " is not one of the " +
                   std::to_string(kMessageTypeCount) + " this protocol version knows");
    }
    if (reserved != 0) return bad("the reserved field is " + std::to_string(reserved) + ", not 0");
    const auto t = static_cast<MessageType>(type);
    if (length > maxPayloadBytes(t)) {
        return bad(std::string("a ") + messageTypeName(t) + " payload of " +
                   std::to_string(length) + " bytes is over its cap of " +
                   std::to_string(maxPayloadBytes(t)));
    }
    return FrameHeader{t, length};
}

Result<std::optional<Frame>> takeFrame(std::span<const uint8_t> buffer) {
    if (buffer.size() < kFrameHeaderBytes) return std::optional<Frame>();
    PL_TRY_ASSIGN(FrameHeader h, decodeFrameHeader(buffer.first(kFrameHeaderBytes)));
    if (buffer.size() - kFrameHeaderBytes < h.length) return std::optional<Frame>();
    Frame f;
    f.type = h.type;
    f.payload = buffer.subspan(kFrameHeaderBytes, h.length);
    f.frameBytes = kFrameHeaderBytes + h.length;
    return std::optional<Frame>(f);
}

std::vector<uint8_t> encodeFrame(MessageType type, std::span<const uint8_t> payload) {
    Writer w;
    w.u32(kFrameMagic);
    w.u16(static_cast<uint16_t>(type));
    w.u16(0);
    w.u32(static_cast<uint32_t>(payload.size()));
    w.bytes(payload);
    return w.take();
}

// ---- HELLO ----

std::vector<uint8_t> encodeHello(const Hello& m) {
    Writer w;
    w.u32(m.version);
    w.bytes(m.token);
    return w.take();
}

Result<Hello> decodeHello(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::Hello));
    Hello m;
    m.version = r.u32("version");
    std::span<const uint8_t> token = r.bytes("session token", m.token.size());
    if (r.ok()) std::copy(token.begin(), token.end(), m.token.begin());
    return finished(r, m);
}

Status checkHello(const Hello& m, const SessionToken& expected) {
    if (m.version != kProtocolVersion) {
        return makeError(ErrorCode::Unsupported,
                         "the desktop speaks protocol version " + std::to_string(m.version) +
                             ", this agent speaks " + std::to_string(kProtocolVersion) +
                             ": push the agent built with this PruneLab",
                         "HELLO");
    }
    // Constant time: how long the comparison takes says nothing about the right token.
    uint8_t diff = 0;
    for (size_t i = 0; i < expected.size(); ++i) diff |= uint8_t(m.token[i] ^ expected[i]);
    if (diff != 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "the session token is wrong (the agent accepts only the desktop that "
                         "started it)",
                         "HELLO");
    }
    return {};
}

std::vector<uint8_t> encodeHelloReply(const HelloReply& m) {
    Writer w;
    w.u32(m.version);
    putDevice(w, m.device);
    return w.take();
}

Result<HelloReply> decodeHelloReply(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::HelloReply));
    HelloReply m;
    m.version = r.u32("version");
    m.device = getDevice(r);
    PL_TRY(r.finish());
    if (m.version != kProtocolVersion) {
        return makeError(ErrorCode::Unsupported,
                         "the agent speaks protocol version " + std::to_string(m.version) +
                             ", this desktop speaks " + std::to_string(kProtocolVersion),
                         "HELLO reply");
    }
    return m;
}

// ---- LOAD ----

std::vector<uint8_t> encodeLoad(const Load& m) {
    Writer w;
    w.bytes(m.hash);
    w.u32(static_cast<uint32_t>(m.model.size()));
    w.bytes(m.model);
    return w.take();
}

Result<Load> decodeLoad(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::Load));
    Load m;
    std::span<const uint8_t> hash = r.bytes("model hash", m.hash.size());
    if (r.ok()) std::copy(hash.begin(), hash.end(), m.hash.begin());
    const size_t n = r.count("model bytes", 1, maxPayloadBytes(MessageType::Load));
    std::span<const uint8_t> model = r.bytes("model bytes", n);
    PL_TRY(r.finish());
    const Sha256Digest got = sha256(model);
    if (got != m.hash) {
        return makeError(ErrorCode::Corrupt,
                         "the model's " + std::to_string(model.size()) + " bytes hash to " +
                             toHex(got) + ", the message names " + toHex(m.hash) +
                             ": refused (damaged or not the model the desktop meant)",
                         "LOAD");
    }
    m.model.assign(model.begin(), model.end());
    return m;
}

Load makeLoad(std::vector<uint8_t> model) {
    Load m;
    m.hash = sha256(model);
    m.model = std::move(model);
    return m;
}

std::vector<uint8_t> encodeLoadReply(const LoadReply& m) {
    Writer w;
    w.bytes(m.hash);
    w.u32(m.nodes);
    w.u32(m.compiledLayers);
    return w.take();
}

Result<LoadReply> decodeLoadReply(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::LoadReply));
    LoadReply m;
    std::span<const uint8_t> hash = r.bytes("model hash", m.hash.size());
    if (r.ok()) std::copy(hash.begin(), hash.end(), m.hash.begin());
    m.nodes = r.u32("nodes");
    m.compiledLayers = r.u32("compiled layers");
    return finished(r, m);
}

// ---- RUN ----

std::vector<uint8_t> encodeRun(const Run& m) {
    Writer w;
    putTensors(w, m.inputs);
    return w.take();
}

Result<Run> decodeRun(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::Run));
    Run m;
    m.inputs = getTensors(r, "input count");
    return finished(r, std::move(m));
}

Status checkRunInputs(const Run& m, const Graph& graph) {
    if (m.inputs.size() != graph.inputs.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         std::to_string(m.inputs.size()) + " inputs for a model of " +
                             std::to_string(graph.inputs.size()),
                         "RUN");
    }
    for (size_t i = 0; i < m.inputs.size(); ++i) {
        const Value& v = graph.value(graph.inputs[i]);
        const NamedTensor& t = m.inputs[i];
        if (t.name != v.name || t.tensor.dtype() != v.dtype || t.tensor.shape() != v.shape) {
            return makeError(ErrorCode::InvalidArgument,
                             "input " + std::to_string(i) + " is '" + t.name + "' " +
                                 std::string(dataTypeName(t.tensor.dtype())) + " " +
                                 shapeToString(t.tensor.shape()) + ", the model wants '" + v.name +
                                 "' " + std::string(dataTypeName(v.dtype)) + " " +
                                 shapeToString(v.shape),
                             "RUN");
        }
    }
    return {};
}

std::vector<uint8_t> encodeRunReply(const RunReply& m) {
    Writer w;
    putTensors(w, m.outputs);
    w.u32(static_cast<uint32_t>(m.steps.size()));
    for (const StepTiming& s : m.steps) {
        w.string(s.name);
        w.f64(s.ms);
    }
    w.f64(m.deviceMs);
    return w.take();
}

Result<RunReply> decodeRunReply(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::RunReply));
    RunReply m;
    m.outputs = getTensors(r, "output count");
    const size_t steps = r.count("step count", 12, kMaxSteps);
    for (size_t i = 0; i < steps && r.ok(); ++i) {
        StepTiming s;
        s.name = r.string("step name");
        s.ms = r.f64("step time");
        if (r.ok() && !(s.ms >= 0 && s.ms < 1e9)) r.fail("step time", "is not a time in ms");
        m.steps.push_back(std::move(s));
    }
    m.deviceMs = r.f64("device time");
    if (r.ok() && !(m.deviceMs >= 0 && m.deviceMs < 1e9)) {
        r.fail("device time", "is not a time in ms");
    }
    return finished(r, std::move(m));
}

// ---- STATS, ERROR, empty ----

std::vector<uint8_t> encodeStatsReply(const StatsReply& m) {
    Writer w;
    putDevice(w, m.device);
    w.put<uint64_t>(m.residentBytes);
    return w.take();
}

Result<StatsReply> decodeStatsReply(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::StatsReply));
    StatsReply m;
    m.device = getDevice(r);
    m.residentBytes = r.get<uint64_t>("resident bytes");
    return finished(r, m);
}

std::vector<uint8_t> encodeError(const ErrorMessage& m) {
    Writer w;
    w.u16(static_cast<uint16_t>(m.code));
    // Cut, not refused: an agent's long error still reaches the person, within the 4 KiB cap.
    w.string(m.text.size() > kMaxErrorText ? m.text.substr(0, kMaxErrorText) + "..." : m.text);
    return w.take();
}

Result<ErrorMessage> decodeError(std::span<const uint8_t> payload) {
    Reader r(payload, readerWhat(MessageType::Error));
    ErrorMessage m;
    const uint16_t code = r.u16("error code");
    if (r.ok() && code > static_cast<uint16_t>(ErrorCode::Internal)) {
        r.fail("error code", std::to_string(code) + " is not an engine error code");
    }
    m.code = static_cast<ErrorCode>(code);
    m.text = r.string("error text", kMaxErrorText + 3);
    return finished(r, std::move(m));
}

Status decodeEmpty(MessageType type, std::span<const uint8_t> payload) {
    if (!payload.empty()) {
        return makeError(ErrorCode::Corrupt,
                         "carries no payload, got " + std::to_string(payload.size()) + " bytes",
                         messageTypeName(type));
    }
    return {};
}

}  // namespace prunelab::engine::remote

// The phone protocol's frames and messages: SHA-256's standard vectors, a round trip of every
// message, and bad input (every truncation, oversized lengths, garbled types, wrong magic,
// version and token, a LOAD whose bytes do not match its hash): errors, never crashes.
#include <gtest/gtest.h>

#include <string>

#include "engine/runtime/remote/protocol.h"
#include "engine/runtime/remote/wire.h"

namespace prunelab::engine::remote {
namespace {

std::span<const uint8_t> bytesOf(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Sha256, StandardVectors) {
    EXPECT_EQ(toHex(sha256(bytesOf(""))),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(toHex(sha256(bytesOf("abc"))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(toHex(sha256(bytesOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const std::string million(1000000, 'a');
    EXPECT_EQ(toHex(sha256(bytesOf(million))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Fed in uneven pieces, the digest is the same.
    Sha256 h;
    for (size_t at = 0, step = 1; at < million.size(); at += step, step = step * 3 % 997 + 1) {
        h.add(bytesOf(million.substr(at, step)));
    }
    EXPECT_EQ(toHex(h.digest()), toHex(sha256(bytesOf(million))));
}

SessionToken tokenOf(uint8_t seed) {
    SessionToken t;
    for (size_t i = 0; i < t.size(); ++i) t[i] = uint8_t(seed + i * 7);
    return t;
}

Tensor floats(Shape shape, float start) {
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.elements(); ++i) t.data<float>()[i] = start + float(i) * 0.5f;
    return t;
}

DeviceInfo device() {
    return {"Test CPU (Cortex-A78)", "aarch64", 8};
}

// One small valid payload of each message, for round trips and truncation.
struct Sample {
    MessageType type;
    std::vector<uint8_t> payload;
};

std::vector<Sample> samples() {
    Run run;
    run.inputs = {{"image", floats({1, 3, 2, 2}, -1)},
                  {"ids", Tensor::fromVector<int64_t>({2}, {4, 5})}};
    RunReply reply;
    reply.outputs = {{"out", floats({1, 2}, 3)}};
    reply.steps = {{"conv1 + Relu", 1.25}, {"head", 0.5}};
    reply.deviceMs = 1.75;
    return {
        {MessageType::Hello, encodeHello({kProtocolVersion, tokenOf(3)})},
        {MessageType::HelloReply, encodeHelloReply({kProtocolVersion, device()})},
        {MessageType::Load, encodeLoad(makeLoad({1, 2, 3, 4, 5}))},
        {MessageType::LoadReply, encodeLoadReply({sha256(bytesOf("m")), 12, 3})},
        {MessageType::Run, encodeRun(run)},
        {MessageType::RunReply, encodeRunReply(reply)},
        {MessageType::StatsReply, encodeStatsReply({device(), 123456789})},
        {MessageType::Error, encodeError({ErrorCode::NotFound, "no model is loaded"})},
    };
}

// Decodes `payload` as `type`; the error text when it fails, "" when it decodes.
std::string decodeAs(MessageType type, std::span<const uint8_t> p) {
    auto text = [](const auto& r) { return r.ok() ? std::string() : r.error().toString(); };
    switch (type) {
        case MessageType::Hello:
            return text(decodeHello(p));
        case MessageType::HelloReply:
            return text(decodeHelloReply(p));
        case MessageType::Load:
            return text(decodeLoad(p));
        case MessageType::LoadReply:
            return text(decodeLoadReply(p));
        case MessageType::Run:
            return text(decodeRun(p));
        case MessageType::RunReply:
            return text(decodeRunReply(p));
        case MessageType::StatsReply:
            return text(decodeStatsReply(p));
        case MessageType::Error:
            return text(decodeError(p));
        case MessageType::Stats:
        case MessageType::Bye:
            return text(decodeEmpty(type, p));
    }
    return "unknown type";
}

TEST(Protocol, VersionIsTiedToTheOpList) {
    EXPECT_EQ(kProtocolVersion, kProtocolBase * 1000 + uint32_t(kOpCount));
    EXPECT_EQ(std::string(messageTypeName(MessageType::Load)), "LOAD");
}

TEST(Protocol, EveryMessageRoundTrips) {
    auto hello = decodeHello(encodeHello({kProtocolVersion, tokenOf(9)}));
    ASSERT_TRUE(hello.ok()) << hello.error().toString();
    EXPECT_EQ(hello->version, kProtocolVersion);
    EXPECT_EQ(hello->token, tokenOf(9));
    EXPECT_TRUE(checkHello(*hello, tokenOf(9)).ok());

    auto hr = decodeHelloReply(encodeHelloReply({kProtocolVersion, device()}));
    ASSERT_TRUE(hr.ok()) << hr.error().toString();
    EXPECT_EQ(hr->device.cpuName, device().cpuName);
    EXPECT_EQ(hr->device.arch, "aarch64");
    EXPECT_EQ(hr->device.threads, 8u);

    const Load load = makeLoad({9, 8, 7, 6});
    auto l = decodeLoad(encodeLoad(load));
    ASSERT_TRUE(l.ok()) << l.error().toString();
    EXPECT_EQ(l->model, load.model);
    EXPECT_EQ(l->hash, sha256(load.model));

    auto lr = decodeLoadReply(encodeLoadReply({load.hash, 40, 14}));
    ASSERT_TRUE(lr.ok()) << lr.error().toString();
    EXPECT_EQ(lr->hash, load.hash);
    EXPECT_EQ(lr->nodes, 40u);
    EXPECT_EQ(lr->compiledLayers, 14u);

    const std::vector<Sample> all = samples();
    auto run = decodeRun(all[4].payload);
    ASSERT_TRUE(run.ok()) << run.error().toString();
    ASSERT_EQ(run->inputs.size(), 2u);
    EXPECT_EQ(run->inputs[0].name, "image");
    EXPECT_TRUE(run->inputs[0].tensor.identical(floats({1, 3, 2, 2}, -1)));
    EXPECT_TRUE(run->inputs[1].tensor.identical(Tensor::fromVector<int64_t>({2}, {4, 5})));

    auto rr = decodeRunReply(all[5].payload);
    ASSERT_TRUE(rr.ok()) << rr.error().toString();
    ASSERT_EQ(rr->outputs.size(), 1u);
    EXPECT_TRUE(rr->outputs[0].tensor.identical(floats({1, 2}, 3)));
    ASSERT_EQ(rr->steps.size(), 2u);
    EXPECT_EQ(rr->steps[0].name, "conv1 + Relu");
    EXPECT_EQ(rr->steps[0].ms, 1.25);
    EXPECT_EQ(rr->deviceMs, 1.75);

    auto stats = decodeStatsReply(encodeStatsReply({device(), 987654321012ull}));
    ASSERT_TRUE(stats.ok()) << stats.error().toString();
    EXPECT_EQ(stats->residentBytes, 987654321012ull);
    EXPECT_EQ(stats->device.threads, 8u);

    auto err = decodeError(encodeError({ErrorCode::Unsupported, "op Foo is not supported"}));
    ASSERT_TRUE(err.ok()) << err.error().toString();
    EXPECT_EQ(err->code, ErrorCode::Unsupported);
    EXPECT_EQ(err->text, "op Foo is not supported");
    // A long error is cut to fit its 4 KiB frame, not refused.
    const std::vector<uint8_t> longError =
        encodeError({ErrorCode::Internal, std::string(9000, 'x')});
    EXPECT_LE(longError.size(), maxPayloadBytes(MessageType::Error));
    EXPECT_TRUE(decodeError(longError).ok());

    EXPECT_TRUE(decodeEmpty(MessageType::Stats, {}).ok());
    EXPECT_TRUE(decodeEmpty(MessageType::Bye, {}).ok());
    const uint8_t one = 1;
    EXPECT_FALSE(decodeEmpty(MessageType::Bye, {&one, 1}).ok());
}

TEST(Protocol, FramesRoundTripAndShortReadsAskForMore) {
    std::vector<uint8_t> stream;
    for (const Sample& s : samples()) {
        const std::vector<uint8_t> f = encodeFrame(s.type, s.payload);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    const std::vector<uint8_t> bye = encodeFrame(MessageType::Bye, {});
    stream.insert(stream.end(), bye.begin(), bye.end());
    ASSERT_EQ(stream[0], 'P');
    ASSERT_EQ(stream[3], 'B');

    // Read it back as a byte stream arriving in pieces of every size from 1 to 13.
    for (size_t piece = 1; piece <= 13; ++piece) {
        std::vector<uint8_t> buffer;
        std::vector<MessageType> types;
        size_t at = 0;
        while (at < stream.size() || !buffer.empty()) {
            const size_t n = std::min(piece, stream.size() - at);
            buffer.insert(buffer.end(), stream.begin() + long(at), stream.begin() + long(at + n));
            at += n;
            auto f = takeFrame(buffer);
            ASSERT_TRUE(f.ok()) << f.error().toString();
            if (!f->has_value()) {
                ASSERT_LT(at, stream.size() + 1) << "a whole stream left a partial frame";
                if (at == stream.size()) FAIL() << "bytes left that are no frame";
                continue;
            }
            types.push_back((*f)->type);
            EXPECT_EQ(decodeAs((*f)->type, (*f)->payload), "") << messageTypeName((*f)->type);
            buffer.erase(buffer.begin(), buffer.begin() + long((*f)->frameBytes));
        }
        ASSERT_EQ(types.size(), samples().size() + 1);
        EXPECT_EQ(types.back(), MessageType::Bye);
    }
}

TEST(Protocol, EveryTruncationIsAClearError) {
    for (const Sample& s : samples()) {
        SCOPED_TRACE(messageTypeName(s.type));
        ASSERT_EQ(decodeAs(s.type, s.payload), "");
        for (size_t n = 0; n < s.payload.size(); ++n) {
            const std::string error = decodeAs(s.type, {s.payload.data(), n});
            ASSERT_NE(error, "") << "a payload cut to " << n << " bytes decoded";
            EXPECT_NE(error.find("truncated"), std::string::npos) << error;
        }
        // And a trailing byte is refused too.
        std::vector<uint8_t> longer = s.payload;
        longer.push_back(0);
        EXPECT_NE(decodeAs(s.type, longer).find("left over"), std::string::npos);
        // A frame cut anywhere is "need more bytes", never an error.
        const std::vector<uint8_t> frame = encodeFrame(s.type, s.payload);
        for (size_t n = 0; n < frame.size(); ++n) {
            auto f = takeFrame({frame.data(), n});
            ASSERT_TRUE(f.ok()) << f.error().toString();
            EXPECT_FALSE(f->has_value());
        }
    }
}

std::vector<uint8_t> header(uint32_t magic, uint16_t type, uint16_t reserved, uint32_t length) {
    Writer w;
    w.u32(magic);
    w.u16(type);
    w.u16(reserved);
    w.u32(length);
    return w.take();
}

TEST(Protocol, BadHeadersAreRefusedBeforeAnyAllocation) {
    const auto load = static_cast<uint16_t>(MessageType::Load);
    auto error = [](const std::vector<uint8_t>& h) {
        auto r = takeFrame(h);
        return r.ok() ? std::string() : r.error().toString();
    };
    EXPECT_NE(error(header(0x50545448, load, 0, 4)).find("magic"), std::string::npos);  // "HTTP"
    EXPECT_NE(error(header(kFrameMagic, 0, 0, 0)).find("message type 0"), std::string::npos);
    EXPECT_NE(error(header(kFrameMagic, 11, 0, 0)).find("message type 11"), std::string::npos);
    EXPECT_NE(error(header(kFrameMagic, 0xffff, 0, 0)).find("65535"), std::string::npos);
    EXPECT_NE(error(header(kFrameMagic, load, 1, 0)).find("reserved"), std::string::npos);
    for (uint16_t t = 1; t <= kMessageTypeCount; ++t) {
        const auto type = static_cast<MessageType>(t);
        SCOPED_TRACE(messageTypeName(type));
        EXPECT_EQ(error(header(kFrameMagic, t, 0, maxPayloadBytes(type))), "");
        const std::string over = error(header(kFrameMagic, t, 0, maxPayloadBytes(type) + 1));
        EXPECT_NE(over.find("over its cap"), std::string::npos) << over;
        EXPECT_NE(error(header(kFrameMagic, t, 0, 0xffffffffu)), "");
    }
    EXPECT_EQ(maxPayloadBytes(MessageType::Load), 256u << 20);
    EXPECT_EQ(maxPayloadBytes(MessageType::Run), 64u << 20);
    EXPECT_EQ(maxPayloadBytes(MessageType::Hello), 4096u);
}

TEST(Protocol, OversizedLengthFieldsInsidePayloadsAreRefused) {
    // A HELLO reply whose CPU name claims 4 GiB.
    Writer w;
    w.u32(kProtocolVersion);
    w.u32(0xffffffffu);
    w.string("x");
    auto hr = decodeHelloReply(w.data());
    ASSERT_FALSE(hr.ok());
    EXPECT_NE(hr.error().message.find("device CPU name"), std::string::npos);

    // A RUN whose one tensor claims 2^31 x 2^31 elements, and one claiming more bytes than sent.
    Writer run;
    run.u32(1);
    run.string("x");
    run.u8(static_cast<uint8_t>(DataType::Float32));
    run.u32(2);
    run.i64(int64_t(1) << 31);
    run.i64(int64_t(1) << 31);
    auto r = decodeRun(run.data());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().toString().find("RUN"), std::string::npos);
    Writer run2;
    run2.u32(1);
    run2.string("x");
    run2.u8(static_cast<uint8_t>(DataType::Float32));
    run2.u32(1);
    run2.i64(1000000);
    run2.f32(1);
    auto r2 = decodeRun(run2.data());
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.error().message.find("truncated"), std::string::npos) << r2.error().message;

    // A tensor count of 2^32-1 and an unknown dtype.
    Writer many;
    many.u32(0xffffffffu);
    EXPECT_FALSE(decodeRun(many.data()).ok());
    Writer dtype;
    dtype.u32(1);
    dtype.string("x");
    dtype.u8(77);
    dtype.u32(0);
    auto d = decodeRun(dtype.data());
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("data type 77"), std::string::npos);
}

TEST(Protocol, WrongVersionNamesBothAndWrongTokenSaysNotTheRightOne) {
    const SessionToken right = tokenOf(42);
    Hello old{kProtocolVersion - 1, right};
    Status st = checkHello(old, right);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find(std::to_string(kProtocolVersion - 1)), std::string::npos);
    EXPECT_NE(st.error().message.find(std::to_string(kProtocolVersion)), std::string::npos);

    SessionToken wrong = right;
    wrong[31] ^= 1;
    st = checkHello({kProtocolVersion, wrong}, right);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("token is wrong"), std::string::npos);
    // Neither the token's bytes in hex nor as text appear in the refusal.
    std::string hex;
    for (uint8_t b : right) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
    EXPECT_EQ(st.error().toString().find(hex.substr(0, 8)), std::string::npos);

    // The desktop refuses an agent of another version too.
    auto reply = decodeHelloReply(encodeHelloReply({kProtocolVersion + 1, device()}));
    ASSERT_FALSE(reply.ok());
    EXPECT_NE(reply.error().message.find(std::to_string(kProtocolVersion + 1)), std::string::npos);
}

TEST(Protocol, LoadWhoseBytesDoNotMatchItsHashIsRefused) {
    Load load = makeLoad({10, 20, 30, 40, 50, 60});
    std::vector<uint8_t> payload = encodeLoad(load);
    payload.back() ^= 0x80;  // one bit of the model flipped in transit
    auto l = decodeLoad(payload);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message.find("hash to"), std::string::npos) << l.error().message;
    EXPECT_NE(l.error().message.find(toHex(load.hash)), std::string::npos);

    load.hash[0] ^= 1;  // or the hash itself
    EXPECT_FALSE(decodeLoad(encodeLoad(load)).ok());
}

}  // namespace
}  // namespace prunelab::engine::remote

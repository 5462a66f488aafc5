// libFuzzer target for the phone protocol (engine/runtime/remote): any bytes, read as a stream of
// frames, as each message's payload and as a LOAD model, must decode or give a clean Error, never
// crash or trip a sanitizer. A model that decodes is re-encoded (it must give the same bytes).
// A small decoded model is also run node by node with the ops' reference kernels: that fuzzes
// the ops' kernels on whatever the IR verifier accepts (it found Resize's coordinate cast,
// regressions/remote_protocol_resize_tiny_scale.bin). PRUNELAB_FUZZ_RUN_MODELS=0 turns it off.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "engine/ops/op.h"
#include "engine/runtime/remote/model_codec.h"
#include "engine/runtime/remote/protocol.h"

namespace {

using namespace prunelab::engine;
using namespace prunelab::engine::remote;

void decodeAs(MessageType type, std::span<const uint8_t> p) {
    switch (type) {
        case MessageType::Hello: {
            auto m = decodeHello(p);
            if (m.ok()) (void)checkHello(*m, SessionToken{});
            break;
        }
        case MessageType::HelloReply:
            (void)decodeHelloReply(p);
            break;
        case MessageType::Load: {
            auto m = decodeLoad(p);
            if (m.ok()) (void)decodeModel(m->model);
            break;
        }
        case MessageType::LoadReply:
            (void)decodeLoadReply(p);
            break;
        case MessageType::Run:
            (void)decodeRun(p);
            break;
        case MessageType::RunReply:
            (void)decodeRunReply(p);
            break;
        case MessageType::StatsReply:
            (void)decodeStatsReply(p);
            break;
        case MessageType::Error:
            (void)decodeError(p);
            break;
        case MessageType::Stats:
        case MessageType::Bye:
            (void)decodeEmpty(type, p);
            break;
    }
}

// The reference kernels on every node of a small decoded graph, inputs zero.
void runSmall(const Graph& g) {
    int64_t total = 0;
    for (const Value& v : g.values) total += elementCount(v.shape);
    if (total > (int64_t(1) << 16)) return;
    std::vector<Tensor> values(g.values.size());
    for (size_t i = 0; i < g.values.size(); ++i) {
        if (g.values[i].isConstant()) values[i] = g.values[i].constant;
    }
    for (ValueId id : g.inputs) {
        const Value& v = g.value(id);
        values[size_t(id)] = Tensor(v.dtype, v.shape);
    }
    for (const Node& n : g.nodes) {
        std::vector<const Tensor*> in;
        for (ValueId id : n.inputs) in.push_back(id == kNoValue ? nullptr : &values[size_t(id)]);
        auto out = runReference(n, in);
        if (!out.ok()) return;
        if (out->size() != n.outputs.size()) __builtin_trap();
        for (size_t o = 0; o < n.outputs.size(); ++o) values[size_t(n.outputs[o])] = (*out)[o];
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> bytes(data, size);
    // A stream of frames, each decoded as its type says.
    std::span<const uint8_t> rest = bytes;
    for (;;) {
        auto frame = takeFrame(rest);
        if (!frame.ok() || !frame->has_value()) break;
        decodeAs((*frame)->type, (*frame)->payload);
        rest = rest.subspan((*frame)->frameBytes);
    }
    // The whole input as each payload and as a model.
    for (uint16_t t = 1; t <= kMessageTypeCount; ++t) decodeAs(static_cast<MessageType>(t), bytes);
    auto model = decodeModel(bytes);
    if (model.ok()) {
        const std::vector<uint8_t> again =
            encodeModel(model->graph, model->sparse ? &*model->sparse : nullptr);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
            __builtin_trap();  // a decoded model re-encodes to the bytes it came from
        }
        static const bool run = [] {
            const char* v = std::getenv("PRUNELAB_FUZZ_RUN_MODELS");
            return v == nullptr || std::string_view(v) != "0";
        }();
        if (run) runSmall(model->graph);
    }
    return 0;
}

// libFuzzer target for the tfjs importer (plugins/import-tfjs): model.json text, then optionally a
// NUL and the bytes of its one shard (else a small fixed shard: the ints 0..63, then floats).
// Every input must give a verified graph or a clean Error naming the file, never a crash, a
// sanitizer report or an exception. Shard paths go through the importer's lexical path check.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "plugins/import-tfjs/tfjs_import_text.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace {

std::string fixedShard() {
    std::string shard(1024, '\0');
    for (int32_t i = 0; i < 64; ++i) std::memcpy(shard.data() + 4 * i, &i, 4);
    for (size_t i = 64; i < 256; ++i) {
        const float v = static_cast<float>(static_cast<int>(i % 17) - 8) / 16.0f;
        std::memcpy(shard.data() + 4 * i, &v, 4);
    }
    return shard;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab;
    static const std::string kFixed = fixedShard();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const size_t nul = bytes.find('\0');
    const std::string text(bytes.substr(0, nul));
    const std::string shard =
        nul == std::string_view::npos ? kFixed : std::string(bytes.substr(nul + 1));
    const tfjs::ShardSource read = [&](const std::string& path) -> engine::Result<std::string> {
        auto st = tfjs::internal::checkShardPath(path, "");
        if (!st.ok()) return st.error();
        return shard;  // every path reads the same bytes: groups may list it more than once
    };
    // 16x16 binds any open input dims; hostile fixed dims are the importer's to refuse.
    auto graph = tfjs::importTfjsText(text, read, "fuzz/model.json", 16, 16);
    if (!graph.ok()) {
        if (graph.error().toString().find("fuzz/model.json") == std::string::npos) __builtin_trap();
        return 0;
    }
    if (!engine::verifyGraph(*graph).ok()) __builtin_trap();
    (void)engine::exportOnnxBytes(*graph);
    return 0;
}

// libFuzzer target for the waifu2x JSON importer (plugins/import-waifu2x): any bytes as the model
// JSON must give a verified graph or a clean Error naming the file, never a crash, a sanitizer
// report or an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "plugins/import-waifu2x/waifu2x_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // 24x20 fits the seeds' receptive fields; odd layers the fuzzer invents may not, which is
    // an error the importer must name too.
    auto graph = plugins::importWaifu2xJsonText(text, "fuzz.json", 24, 20);
    if (!graph.ok()) {
        if (graph.error().toString().find("fuzz.json") == std::string::npos) __builtin_trap();
        return 0;
    }
    if (!engine::verifyGraph(*graph).ok()) __builtin_trap();
    (void)engine::exportOnnxBytes(*graph);
    return 0;
}

// libFuzzer target for the .plab reader (engine/onnx/plab_file.h): any bytes as a PruneLab model
// file must give a pruned model or a clean Error, never a crash, a sanitizer report or an
// exception. A model that loads is summarised (the workbench's stats) and must save and load again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/onnx/plab_file.h"
#include "engine/prune/stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab::engine;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto model = prune::loadPlabBytes(bytes, "fuzz.plab");
    if (!model.ok()) {
        // Errors always say what, and name the file.
        if (model.error().message.empty() ||
            model.error().toString().find("fuzz.plab") == std::string::npos)
            __builtin_trap();
        return 0;
    }
    (void)prune::modelStats(*model);
    // What loaded is consistent, so it saves; and what saves loads back.
    auto meta = prune::plabMetadata(*model);
    if (!meta.ok()) __builtin_trap();
    auto saved = exportOnnxBytes(model->graph, *meta);
    if (!saved.ok()) return 0;  // the exporter's own limits (covered by the ONNX fuzzer)
    OnnxImportOptions options;
    options.foldBatchNorm = false;  // the saved graph is already folded
    if (!prune::loadPlabBytes(*saved, "fuzz-saved.plab", options).ok()) __builtin_trap();
    return 0;
}

// libFuzzer target for the ONNX importer: any byte string must give a graph or a clean Error,
// never a crash, a sanitizer report or an exception. Graphs that import are exported and
// imported again, which exercises the exporter on the oddest graphs the fuzzer finds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab::engine;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // No base folder: external data must be refused, never read.
    auto graph = importOnnxBytes(bytes, "fuzz.onnx", "");
    if (!graph.ok()) return 0;
    if (!verifyGraph(*graph).ok()) __builtin_trap();  // the importer promises a verified graph
    auto exported = exportOnnxBytes(*graph);
    if (exported.ok()) {
        OnnxImportOptions options;
        options.foldBatchNorm = false;
        (void)importOnnxBytes(*exported, "fuzz-export.onnx", "", options);
    }
    return 0;
}

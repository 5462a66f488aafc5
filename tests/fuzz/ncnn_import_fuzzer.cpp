// libFuzzer target for the ncnn importer (plugins/import-ncnn): one input is the .param text, a
// NUL byte, then the .bin bytes (a .param never holds a NUL). Any input must give a verified graph
// or a clean Error naming the file, never a crash, a sanitizer report or an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "plugins/import-ncnn/ncnn_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const size_t nul = bytes.find('\0');
    const std::string param(bytes.substr(0, nul));
    std::string bin =
        nul == std::string_view::npos ? std::string() : std::string(bytes.substr(nul + 1));
    // A small input keeps inferred shapes small; 7x9 is odd and not square, so padding, pooling
    // and cropping meet uneven edges.
    auto graph = ncnn::importNcnnData(param, std::move(bin), "fuzz.param", "fuzz.bin", 7, 9);
    if (!graph.ok()) {
        if (graph.error().toString().find("fuzz.") == std::string::npos) __builtin_trap();
        return 0;
    }
    if (!engine::verifyGraph(*graph).ok()) __builtin_trap();  // the importer promises it
    (void)engine::exportOnnxBytes(*graph);  // what the workbench does with an ncnn model
    return 0;
}

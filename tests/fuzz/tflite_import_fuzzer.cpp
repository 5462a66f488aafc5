// libFuzzer target for the TFLite importer (plugins/import-tflite): any byte string must give a
// verified graph or a clean Error, never a crash, a sanitizer report or an exception. Seeds:
// tests/data/fuzz/tflite, written by plugins_tflite_test when PRUNELAB_WRITE_TFLITE_SEEDS
// names that folder.
#include <cstddef>
#include <cstdint>

#include "engine/ops/op.h"
#include "plugins/import-tflite/tflite_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto graph = prunelab::tflite::importTfliteBuffer(data, size, "fuzz.tflite", 0, 0);
    if (!graph.ok()) return 0;
    // The importer promises a verified graph.
    if (!prunelab::engine::verifyGraph(*graph).ok()) __builtin_trap();
    return 0;
}

// libFuzzer target for the parser of `adb devices -l` (engine/runtime/remote/adb.h): whatever adb,
// or something posing as it, prints gives a phone list or a clean Error, never a crash or a
// sanitizer report; every phone kept is well formed, and the messages built from it are too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/runtime/remote/adb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab::engine::remote;
    auto list = parseAdbDevices(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!list.ok()) return 0;
    for (const Phone& p : list->phones) {
        // A serial goes into adb's argv: printable, no spaces, bounded.
        if (p.serial.size() > 256) __builtin_trap();
        for (char c : p.serial) {
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) __builtin_trap();
        }
        (void)p.title();
        (void)phoneAdvice(p);
    }
    (void)formatPhones(*list);
    (void)choosePhone(*list, "");
    if (!list->phones.empty()) (void)choosePhone(*list, list->phones.back().serial);
    return 0;
}

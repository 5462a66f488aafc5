// `prunelab-cli phones` (see phone_commands.h).
#include "app/cli/phone_commands.h"

#include <cstdio>

#include "app/cli/cli.h"
#include "engine/runtime/remote/adb.h"

namespace prunelab::cli {

int cmdPhones() {
    auto adb = engine::remote::findAdb();
    if (!adb.ok()) return fail(adb.error());
    auto phones = engine::remote::listPhones(*adb);
    if (!phones.ok()) return fail(phones.error());
    std::fputs(engine::remote::formatPhones(*phones).c_str(), stdout);
    return 0;
}

}  // namespace prunelab::cli

// prunelab-cli's shared error path (see cli.h).
#include "app/cli/cli.h"

#include <cstdio>

namespace prunelab::cli {

int fail(const engine::Error& error) {
    std::fprintf(stderr, "prunelab-cli: %s\n", error.toString().c_str());
    return 1;
}

}  // namespace prunelab::cli

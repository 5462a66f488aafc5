// Re-running with OpenBLAS's settings (see blas_env.h).
#include "engine/train/blas_env.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "engine/io/host_cpu.h"

namespace prunelab::engine::train {

void ensureBlasSettings(char** argv) {
    bool changed = false;
    if (!std::getenv("OPENBLAS_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        changed = true;
    }
    if (!std::getenv("OPENBLAS_CORETYPE")) {
        std::istringstream flags(processorInfo("flags"));
        std::string flag;
        bool avx512 = false;
        while (flags >> flag) avx512 |= flag == "avx512f";
        if (avx512) {
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
            changed = true;
        }
    }
    if (changed) execv("/proc/self/exe", argv);  // returns only on failure: run as we are
}

}  // namespace prunelab::engine::train

// Re-running with OpenBLAS's settings (see blas_env.h).
#include "engine/train/blas_env.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace prunelab::engine::train {

void ensureBlasSettings(char** argv) {
    bool changed = false;
    if (!std::getenv("OPENBLAS_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        changed = true;
    }
    if (!std::getenv("OPENBLAS_CORETYPE")) {
        std::ifstream cpuinfo("/proc/cpuinfo");
        std::string line;
        while (std::getline(cpuinfo, line)) {
            if (line.rfind("flags", 0) == 0) {
                if (line.find(" avx512f") != std::string::npos) {
                    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
                    changed = true;
                }
                break;
            }
        }
    }
    if (changed) execv("/proc/self/exe", argv);  // returns only on failure: run as we are
}

}  // namespace prunelab::engine::train

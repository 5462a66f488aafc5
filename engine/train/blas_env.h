// OpenBLAS (under libtorch) reads its settings once, when it loads: every program that trains
// (prunelab-cli's training commands, the workbench) re-runs itself with them set first.
#pragma once

namespace prunelab::engine::train {

// Re-runs the process with OPENBLAS_NUM_THREADS=1 (torch threads itself; nested threads ran
// training 13x slower here) and, on AVX-512 machines it misdetects, OPENBLAS_CORETYPE=SkylakeX.
// Returns only if nothing had to change (or the re-run failed to start).
void ensureBlasSettings(char** argv);

}  // namespace prunelab::engine::train

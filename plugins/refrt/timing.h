// Interleaved latency measurement. Lanes take turns in short blocks, so a noisy machine slows
// every lane alike and their ratios hold. Before each block the timer sleeps long enough for
// the previous lane's worker threads to stop spin-waiting (ONNX Runtime's spin for ~30 ms after
// a run and would otherwise steal a core from the next lane), then runs one untimed warm-up.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::refrt {

struct Lane {
    std::string name;
    std::function<engine::Status()> run;  // one inference; an error disables the lane
};

struct LaneStats {
    std::string name;
    bool ok = false;
    std::string error;  // why the lane has no numbers
    double medianMs = 0, minMs = 0;
    int runs = 0;
};

struct TimingOptions {
    int runs = 30;      // timed runs per lane
    int warmup = 3;     // untimed runs per lane before the first block
    int blockSize = 5;  // timed runs per lane per turn
    int settleMs = 60;  // pause before each block
};

std::vector<LaneStats> timeInterleaved(std::vector<Lane>& lanes, const TimingOptions& options);

}  // namespace prunelab::refrt

// Interleaved latency measurement: each round runs every lane once, in turn, so a noisy
// machine slows all lanes alike and their ratios hold. Reports median and min per lane.
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

std::vector<LaneStats> timeInterleaved(std::vector<Lane>& lanes, int warmup, int runs);

}  // namespace prunelab::refrt

// The interleaved timer.
#include "plugins/refrt/timing.h"

#include <algorithm>
#include <chrono>

namespace prunelab::refrt {

std::vector<LaneStats> timeInterleaved(std::vector<Lane>& lanes, int warmup, int runs) {
    std::vector<LaneStats> stats(lanes.size());
    std::vector<std::vector<double>> samples(lanes.size());
    for (size_t i = 0; i < lanes.size(); ++i) {
        stats[i].name = lanes[i].name;
        stats[i].ok = true;
    }
    for (int round = 0; round < warmup + runs; ++round) {
        for (size_t i = 0; i < lanes.size(); ++i) {
            if (!stats[i].ok) continue;
            auto start = std::chrono::steady_clock::now();
            engine::Status st = lanes[i].run();
            auto end = std::chrono::steady_clock::now();
            if (!st.ok()) {
                stats[i].ok = false;
                stats[i].error = st.error().toString();
                continue;
            }
            if (round >= warmup) {
                samples[i].push_back(
                    std::chrono::duration<double, std::milli>(end - start).count());
            }
        }
    }
    for (size_t i = 0; i < lanes.size(); ++i) {
        std::vector<double>& s = samples[i];
        if (!stats[i].ok || s.empty()) continue;
        std::sort(s.begin(), s.end());
        stats[i].runs = static_cast<int>(s.size());
        stats[i].minMs = s.front();
        stats[i].medianMs =
            s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
    }
    return stats;
}

}  // namespace prunelab::refrt

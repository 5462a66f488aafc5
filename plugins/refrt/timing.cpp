// The block-interleaved timer.
#include "plugins/refrt/timing.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace prunelab::refrt {

namespace {

// Runs a lane once; false (and the error recorded) if it failed.
bool runOnce(Lane& lane, LaneStats& stats, double* ms) {
    auto start = std::chrono::steady_clock::now();
    engine::Status st = lane.run();
    auto end = std::chrono::steady_clock::now();
    if (!st.ok()) {
        stats.ok = false;
        stats.error = st.error().toString();
        return false;
    }
    if (ms) *ms = std::chrono::duration<double, std::milli>(end - start).count();
    return true;
}

}  // namespace

std::vector<LaneStats> timeInterleaved(std::vector<Lane>& lanes, const TimingOptions& options) {
    std::vector<LaneStats> stats(lanes.size());
    std::vector<std::vector<double>> samples(lanes.size());
    for (size_t i = 0; i < lanes.size(); ++i) {
        stats[i].name = lanes[i].name;
        stats[i].ok = true;
        for (int w = 0; w < options.warmup && stats[i].ok; ++w)
            runOnce(lanes[i], stats[i], nullptr);
    }
    const int block = std::max(1, options.blockSize);
    for (int done = 0; done < options.runs; done += block) {
        const int count = std::min(block, options.runs - done);
        for (size_t i = 0; i < lanes.size(); ++i) {
            if (!stats[i].ok) continue;
            std::this_thread::sleep_for(std::chrono::milliseconds(options.settleMs));
            if (!runOnce(lanes[i], stats[i], nullptr)) continue;  // re-warms caches after the pause
            for (int r = 0; r < count; ++r) {
                double ms = 0;
                if (!runOnce(lanes[i], stats[i], &ms)) break;
                samples[i].push_back(ms);
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

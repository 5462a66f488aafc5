// Latency over the last N frames (median, p90, mean): the live demo's numbers move with the
// machine's load, so each lane is summarised over the same recent window, never a lifetime mean.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

namespace prunelab::engine::live {

struct LatencySummary {
    size_t count = 0;   // samples in the window
    double median = 0;  // ms
    double p90 = 0;     // ms
    double mean = 0;    // ms
    // Frames per second at the median latency (0 without samples).
    double fps() const { return median > 0 ? 1000.0 / median : 0.0; }
};

class RollingStats {
  public:
    explicit RollingStats(size_t window = 60) : m_window(std::max<size_t>(window, 1)) {}

    void add(double ms) {
        m_samples.push_back(ms);
        if (m_samples.size() > m_window) m_samples.pop_front();
    }
    void clear() { m_samples.clear(); }
    size_t size() const { return m_samples.size(); }

    // Nearest-rank percentiles over the window: p90 is the sample below which 90% fall.
    LatencySummary summary() const {
        LatencySummary s;
        s.count = m_samples.size();
        if (s.count == 0) return s;
        std::vector<double> sorted(m_samples.begin(), m_samples.end());
        std::sort(sorted.begin(), sorted.end());
        auto rank = [&](double q) {
            const size_t i = static_cast<size_t>(q * static_cast<double>(s.count - 1) + 0.5);
            return sorted[std::min(i, s.count - 1)];
        };
        s.median = rank(0.5);
        s.p90 = rank(0.9);
        double sum = 0;
        for (double v : sorted) sum += v;
        s.mean = sum / static_cast<double>(s.count);
        return s;
    }

  private:
    size_t m_window;
    std::deque<double> m_samples;
};

}  // namespace prunelab::engine::live

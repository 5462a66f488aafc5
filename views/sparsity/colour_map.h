// Viridis, the perceptually uniform colour map the sparsity views use for weight magnitudes:
// equal steps in magnitude look like equal steps in colour and it reads in grey and for
// colour-blind students, which a rainbow map does not.
#pragma once

#include <QColor>

#include <algorithm>
#include <array>
#include <cmath>

namespace prunelab::views {

// t in [0, 1] (clamped; NaN gives the low end). 17 samples of matplotlib's viridis, linearly
// interpolated: the steps between samples are below what a screen shows.
inline QColor viridis(double t) {
    static constexpr std::array<std::array<int, 3>, 17> kStops{{
        {68, 1, 84},
        {72, 26, 108},
        {71, 47, 125},
        {65, 68, 135},
        {57, 86, 140},
        {49, 104, 142},
        {42, 120, 142},
        {35, 136, 142},
        {31, 152, 139},
        {34, 168, 132},
        {53, 183, 121},
        {84, 197, 104},
        {122, 209, 81},
        {165, 219, 54},
        {210, 226, 27},
        {253, 231, 37},
        {253, 231, 37},
    }};
    if (!(t > 0)) t = 0;
    t = std::min(t, 1.0) * 15.0;
    const int i = std::min(static_cast<int>(t), 15);
    const double f = t - i;
    auto mix = [&](int c) {
        return static_cast<int>(
            std::lround(kStops[static_cast<size_t>(i)][static_cast<size_t>(c)] * (1 - f) +
                        kStops[static_cast<size_t>(i + 1)][static_cast<size_t>(c)] * f));
    };
    return QColor(mix(0), mix(1), mix(2));
}

}  // namespace prunelab::views

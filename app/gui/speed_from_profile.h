// bench --compare's per-layer profile (plugins/refrt/compare.h) as the speed view's SpeedData.
// In app/, not views/: views see only engine headers, and this one reads a plugin's result.
#pragma once

#include "plugins/refrt/compare.h"
#include "views/speed/speed_view.h"

namespace prunelab::views {

inline SpeedData speedDataFromProfile(const refrt::LayerProfile& profile) {
    SpeedData d;
    for (const refrt::LayerTiming& t : profile.layers) {
        SpeedLayer l;
        l.index = t.index;
        l.name = t.where;
        l.kind = t.kind;
        l.denseMs = t.denseMs;
        l.compiledMs = t.sparseMs;
        l.denseMacs = t.denseMacs;
        l.keptMacs = t.keptMacs;
        l.decision = t.decision;
        d.layers.push_back(std::move(l));
    }
    for (const refrt::StepTiming& s : profile.others) {
        d.otherDenseMs += s.denseMs;
        d.otherCompiledMs += s.sparseMs;
    }
    d.denseTotalMs = profile.denseTotalMs;
    d.compiledTotalMs = profile.sparseTotalMs;
    d.denseReorderMs = profile.denseReorderMs;
    d.compiledReorderMs = profile.sparseReorderMs;
    d.partsTimed = true;
    d.source = "profiled runs of the dense and the compiled executor, alternating (medians)";
    return d;
}

}  // namespace prunelab::views

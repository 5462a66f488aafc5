// Internal to engine/prune: a plan's pieces as JSON, one writer for the plan files, the .plab
// metadata and the projection spec, so the three cannot spell a parameter differently.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/prune/plan.h"

namespace prunelab::engine::prune::detail {

// {"rate": 0.5, "scope": "global", ...}: numbers stay integers or doubles as they were given.
nlohmann::json paramsToJson(const ParamValues& values);

// "dense", "scheme" or "fallback".
const char* howName(LayerPruning::How how);

}  // namespace prunelab::engine::prune::detail

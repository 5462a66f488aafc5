// ONNX Runtime as a lane of the live demo: lane A's external dense reference, next to PruneLab's
// own dense runtime, for a person who asks "is your dense path a fair baseline?".
#pragma once

#include <string>

#include "engine/live/lanes.h"

namespace prunelab::refrt {

// `graph` exported to ONNX and run by ONNX Runtime with `threads` intra-op threads. Errors name
// `displayName` (the model) and what ONNX Runtime said.
engine::Result<engine::live::Lane> onnxRuntimeLane(const engine::Graph& graph, int threads,
                                                   const std::string& displayName);

}  // namespace prunelab::refrt

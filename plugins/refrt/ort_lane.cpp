// The ONNX Runtime lane (see ort_lane.h).
#include "plugins/refrt/ort_lane.h"

#include <memory>

#include "engine/onnx/onnx_import.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::refrt {

engine::Result<engine::live::Lane> onnxRuntimeLane(const engine::Graph& graph, int threads,
                                                   const std::string& displayName) {
    PL_TRY_ASSIGN(std::string bytes, engine::exportOnnxBytes(graph));
    PL_TRY_ASSIGN(std::unique_ptr<OrtRunner> runner,
                  OrtRunner::loadBytes(bytes, displayName, threads));
    std::shared_ptr<OrtRunner> shared(std::move(runner));
    engine::live::Lane lane;
    lane.name = "ONNX Runtime dense";
    lane.detail = std::to_string(threads) + " thread(s)";
    lane.run = [shared](std::span<const engine::Tensor> in) { return shared->run(in); };
    return lane;
}

}  // namespace prunelab::refrt

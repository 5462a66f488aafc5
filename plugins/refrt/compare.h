// One model, three runtimes, one process: PruneLab dense, ONNX Runtime and OpenCV DNN timed
// interleaved at the same thread count, with PruneLab's latency ratio to each. Used by
// `prunelab-cli bench` and bench/prunelab-bench.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/runtime/backend.h"
#include "plugins/refrt/timing.h"

namespace prunelab::refrt {

struct BenchRequest {
    std::string modelPath;  // the original file, loaded by ONNX Runtime and OpenCV DNN
    const engine::Graph* graph = nullptr;  // PruneLab's import of it, dims bound
    std::span<const engine::Tensor> inputs;
    int threads = 1;
    int runs = 30;
    int warmup = 3;
    // When set, a "PruneLab sparse" lane runs the same graph with these compiled layers
    // (engine/codegen), and the table adds each lane's time over the sparse one.
    std::shared_ptr<const engine::codegen::SparseModel> sparse;
    // The backend's generated kernels for the sparse lane (compileFor); null: its generic ones.
    std::shared_ptr<const engine::GeneratedKernels> generated;
    // Where PruneLab's lanes run (engine/runtime/backend_list.inc); null: the CPU.
    const engine::Backend* backend = nullptr;
    // PruneLab's lanes store values in 16 bits (PrepareOptions::halfStorage; the GPU).
    bool halfStorage = false;
};

// How far `backend`'s outputs with 16-bit storage are from its float32 ones on `inputs`: per
// output, the worst and the mean |difference| as fractions of the float32 output's range. What
// bench --fp16 prints; an error when the backend cannot store in 16 bits.
struct HalfError {
    std::string output;
    double worst = 0, mean = 0;
};
engine::Result<std::vector<HalfError>> measureHalfError(const engine::Backend& backend,
                                                        const engine::Graph& graph,
                                                        std::span<const engine::Tensor> inputs,
                                                        const engine::PrepareOptions& base);

// Lane 0 is PruneLab dense; a runtime that cannot load the model gets ok = false and the
// reason. An error only when PruneLab itself cannot run the model.
engine::Result<std::vector<LaneStats>> benchModel(const BenchRequest& request);

// Where the time goes, per compiled layer: the median time of its step in the dense and in the
// sparse executor (profiled runs, alternating), with the layer's MACs, what the sparse kernel
// achieved and the compiler's decision; plus the layout changes each executor added.
struct LayerTiming {
    int index = 0;      // LayerCode::index
    std::string where;  // the node
    std::string kind;   // kernelKindName
    double denseMs = 0, sparseMs = 0;
    int64_t denseMacs = 0, keptMacs = 0;
    std::string decision;
};
// A step that is not a compiled layer (element-wise ops, pooling, dense layers' neighbours):
// in the sparse lane it may run in another layout or unfused, which is where a sparse model can
// lose what its layers gained.
struct StepTiming {
    std::string where;
    double denseMs = 0, sparseMs = 0;  // 0 when the lane has no such step (fused away)
};
struct LayerProfile {
    std::vector<LayerTiming> layers;
    std::vector<StepTiming> others;  // every other compute step, largest |sparse - dense| first
    double denseTotalMs = 0, sparseTotalMs = 0;      // medians of whole runs
    double denseReorderMs = 0, sparseReorderMs = 0;  // of which layout changes
};
// Needs request.sparse. `runs` profiled runs of each executor.
engine::Result<LayerProfile> profileLayers(const BenchRequest& request, int runs);
std::string formatLayerProfile(const LayerProfile& profile);

// "PruneLab dense  12.3 ms  11.9 ms\nONNX Runtime ... ratio 1.05" as a fixed-width table.
std::string formatBenchTable(const std::vector<LaneStats>& stats);

}  // namespace prunelab::refrt

// OpenCV DNN as a second dense reference for benchmarks. It reads fewer models than ONNX
// Runtime (no fp16 initializers, 3-input Clip, dynamic shapes, multi-output Split, cubic
// Resize): load() says so with OpenCV's own message.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::refrt {

class OpenCvDnnRunner {
  public:
    // threads >= 1. OpenCV's thread count is process-wide: run() sets it before each call.
    static engine::Result<std::unique_ptr<OpenCvDnnRunner>> load(const std::string& path,
                                                                 int threads);
    ~OpenCvDnnRunner();
    // Inputs in `inputNames` order (float32). Outputs in the network's unconnected-output order.
    engine::Result<std::vector<engine::Tensor>> run(std::span<const engine::Tensor> inputs,
                                                    const std::vector<std::string>& inputNames);

  private:
    struct Impl;
    explicit OpenCvDnnRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace prunelab::refrt

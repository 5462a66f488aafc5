// ONNX Runtime as a reference: load a model, run engine Tensors through it. Used by tests to
// check the engine's outputs and by benchmarks as the dense bar. Log level is ERROR.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::refrt {

bool ortAvailable();  // false when built without ONNX Runtime

class OrtRunner {
  public:
    // threads: intra-op threads (>= 1). Errors name the file and ORT's message.
    static engine::Result<std::unique_ptr<OrtRunner>> load(const std::string& path, int threads);
    static engine::Result<std::unique_ptr<OrtRunner>> loadBytes(const std::string& bytes,
                                                                const std::string& displayName,
                                                                int threads);
    ~OrtRunner();

    // Inputs in the model's input order (float32, int64 or int32). Not reentrant.
    engine::Result<std::vector<engine::Tensor>> run(std::span<const engine::Tensor> inputs);
    const std::vector<std::string>& inputNames() const;
    const std::vector<std::string>& outputNames() const;

    struct Impl;  // opaque: keeps ORT's headers out of every includer

  private:
    explicit OrtRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace prunelab::refrt

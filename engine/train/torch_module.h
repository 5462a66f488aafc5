// The IR as a trainable libtorch module (internal to engine/train: only the trainer's
// translation units include torch). Every constant a layer computes with becomes a parameter
// initialised from the graph (weights, biases, PReLU slopes, BatchNormalization scale/shift;
// running statistics as buffers); everything else is interpreted node by node with torch ops,
// with the leading dim as the batch. Writing back copies the trained values into the graph.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/layer_view.h"
#include "engine/ir/result.h"

namespace prunelab::engine::train {

class IrModule : public torch::nn::Module {
  public:
    // Unsupported names the node and op that has no torch mapping. The graph is copied.
    static Result<std::shared_ptr<IrModule>> create(const Graph& graph);

    // Inputs in graph-input order, each with a batch dim N in place of the graph's leading 1
    // ([N, C, H, W]). Returns the graph's outputs with batch N. train() / eval() switch
    // BatchNormalization between batch and running statistics, as in torch.
    std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

    // The prunable layers, in prunableLayers(graph) order (the same order plans, masks and
    // prune::applyPlan use).
    const std::vector<Layer>& layers() const;
    // Layer i's weight as the pruning schemes see it, [out][in/g][kh][kw], as a differentiable
    // view of its parameter (Gemm / MatMul weights are transposed or reshaped as needed), so a
    // penalty on it trains the parameter.
    torch::Tensor layerWeight(size_t i);
    // Copies `w` ([out][in/g][kh][kw]) into layer i's parameter, without recording gradients.
    void setLayerWeight(size_t i, const torch::Tensor& w);

    // A copy of the graph with every parameter and running statistic written back.
    Result<Graph> toGraph() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

// engine Tensor <-> torch tensor (float32; copies).
torch::Tensor toTorch(const Tensor& t);
Tensor fromTorch(const torch::Tensor& t);

}  // namespace prunelab::engine::train

// GraphBuilder: builds small models in code (benchmark and test models, the lessons' nets),
// inferring every value's shape through the ops' own shape inference. Weights are filled with
// a deterministic He-style uniform init so runs are reproducible.
#pragma once

#include <string>

#include "engine/ir/graph.h"

namespace prunelab::engine {

class GraphBuilder {
  public:
    explicit GraphBuilder(std::string name, uint32_t seed = 1);

    ValueId input(const std::string& name, Shape shape);
    // Conv with bias; pads are symmetric (kernel / 2 keeps the size at stride 1).
    ValueId conv(ValueId x, int64_t outChannels, int64_t kernel, int64_t stride = 1,
                 int64_t group = 1);
    ValueId relu(ValueId x);
    ValueId unary(OpKind op, ValueId x);  // any one-input op without attributes
    ValueId add(ValueId a, ValueId b);
    ValueId concat(std::vector<ValueId> xs, int64_t axis = 1);
    ValueId maxPool(ValueId x, int64_t kernel, int64_t stride);
    ValueId globalAveragePool(ValueId x);
    ValueId flatten(ValueId x);
    ValueId gemm(ValueId x, int64_t outFeatures);  // y = x W^T + b
    void output(ValueId v);

    // Verifies and returns the graph; an error means a bug in the builder's caller.
    Result<Graph> finish();

  private:
    ValueId node(OpKind op, std::vector<ValueId> inputs, Attributes attrs);
    ValueId weights(Shape shape, int64_t fanIn);

    Graph m_graph;
    uint32_t m_state;
    int m_count = 0;
    Status m_status;
};

}  // namespace prunelab::engine

// Helpers shared by the op tests: build a one-node graph, run the reference, compare.
#pragma once

#include <string>
#include <vector>

#include "engine/ops/op.h"

namespace prunelab::engine::testing {

// Runs `op` with `attrs` on `inputs` through shape inference + the reference kernel.
Result<std::vector<Tensor>> runOp(OpKind op, const Attributes& attrs,
                                  const std::vector<Tensor>& inputs, int outputs = 1);
// A float tensor of `shape` filled with a deterministic pseudo-random sequence in [-1, 1).
Tensor randomTensor(const Shape& shape, uint32_t seed);
// Largest absolute element difference (shapes must match, else +inf).
float maxAbsDiff(const Tensor& a, const Tensor& b);

}  // namespace prunelab::engine::testing

// Classifier outputs -> the top-k labels with their probabilities.
#pragma once

#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

struct ClassScore {
    int index = 0;
    float probability = 0.0f;
    std::string label;  // from the catalog; "class <index>" when it has none
};

// `scores` is float32 [1, N] or [N] (logits when `applySoftmax`, else probabilities). Returns the
// min(k, N) best classes, most probable first; ties keep the lower index first.
// InvalidArgument for other shapes, an empty tensor or non-finite scores.
Result<std::vector<ClassScore>> topClasses(const Tensor& scores, size_t k, bool applySoftmax,
                                           const std::vector<std::string>& labels);

}  // namespace prunelab::engine

// Top-k classes from a classifier's scores (softmax first when the model gives logits).
#include "engine/tasks/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace prunelab::engine {

Result<std::vector<ClassScore>> topClasses(const Tensor& scores, size_t k, bool applySoftmax,
                                           const std::vector<std::string>& labels) {
    const Shape& s = scores.shape();
    bool vector = s.size() == 1 || (s.size() == 2 && s[0] == 1);
    if (scores.dtype() != DataType::Float32 || !vector || scores.elements() == 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "class scores must be float32 [1, N] or [N]; got " + shapeToString(s));
    }
    std::vector<float> p = scores.toFloatVector();
    for (float v : p) {
        if (!std::isfinite(v)) {
            return makeError(ErrorCode::InvalidArgument, "class scores hold NaN or infinity");
        }
    }
    if (applySoftmax) {
        // Subtracting the maximum keeps exp() from overflowing; the result is unchanged.
        float top = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (float& v : p) sum += (v = std::exp(v - top));
        for (float& v : p) v = static_cast<float>(v / sum);
    }
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    std::vector<ClassScore> out;
    for (size_t i = 0; i < std::min(k, order.size()); ++i) {
        int c = order[i];
        std::string label =
            static_cast<size_t>(c) < labels.size() ? labels[c] : "class " + std::to_string(c);
        out.push_back({c, p[c], label});
    }
    return out;
}

}  // namespace prunelab::engine

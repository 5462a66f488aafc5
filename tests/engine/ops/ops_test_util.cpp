// Helpers shared by the op tests.
#include "ops_test_util.h"

#include <cmath>
#include <limits>

namespace prunelab::engine::testing {

Result<std::vector<Tensor>> runOp(OpKind op, const Attributes& attrs,
                                  const std::vector<Tensor>& inputs, int outputs) {
    Node node;
    node.op = op;
    node.name = "test";
    node.attrs = attrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
        node.inputs.push_back(inputs[i].empty() ? kNoValue : static_cast<ValueId>(i));
    }
    for (int o = 0; o < outputs; ++o) node.outputs.push_back(static_cast<ValueId>(inputs.size() + o));
    std::vector<const Tensor*> in;
    for (const Tensor& t : inputs) in.push_back(t.empty() ? nullptr : &t);
    return runReference(node, in);
}

Tensor randomTensor(const Shape& shape, uint32_t seed) {
    Tensor t(DataType::Float32, shape);
    uint32_t state = seed * 2654435761u + 12345u;
    for (float& x : t.span<float>()) {
        state = state * 1664525u + 1013904223u;  // LCG: reproducible on every platform
        x = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
    }
    return t;
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return std::numeric_limits<float>::infinity();
    std::vector<float> x = a.toFloatVector(), y = b.toFloatVector();
    float m = 0;
    for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
    return m;
}

}  // namespace prunelab::engine::testing

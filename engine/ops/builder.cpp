// GraphBuilder implementation.
#include "engine/ops/builder.h"

#include <cmath>

#include "engine/ops/op.h"

namespace prunelab::engine {

GraphBuilder::GraphBuilder(std::string name, uint32_t seed) : m_state(seed * 2654435761u + 1u) {
    m_graph.name = std::move(name);
    m_graph.sourcePath = m_graph.name;
}

ValueId GraphBuilder::input(const std::string& name, Shape shape) {
    ValueId id = m_graph.addValue(name, DataType::Float32, std::move(shape));
    m_graph.inputs.push_back(id);
    return id;
}

ValueId GraphBuilder::weights(Shape shape, int64_t fanIn) {
    Tensor t(DataType::Float32, std::move(shape));
    const float bound = std::sqrt(6.0f / static_cast<float>(fanIn > 0 ? fanIn : 1));
    for (float& x : t.span<float>()) {
        m_state = m_state * 1664525u + 1013904223u;
        x = (static_cast<float>(m_state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f) * bound;
    }
    std::string name = "w";  // piecewise: see node()
    name += std::to_string(m_graph.values.size());
    return m_graph.addConstant(std::move(name), std::move(t));
}

ValueId GraphBuilder::node(OpKind op, std::vector<ValueId> inputs, Attributes attrs) {
    // Appended piecewise: GCC 12 gives a false -Wrestrict on `"x" + std::to_string(n)`.
    std::string name(opName(op));
    name += '_';
    name += std::to_string(m_count++);
    ValueId out = m_graph.addValue(name, DataType::Float32, {});
    Node& n = m_graph.addNode(op, name, std::move(inputs), {out}, std::move(attrs));
    std::vector<TensorInfo> info;
    Status st = inferNode(m_graph, n, info);
    if (!st.ok()) {
        if (m_status.ok()) m_status = st.error().within(name);
        return out;
    }
    m_graph.value(out).dtype = info[0].dtype;
    m_graph.value(out).shape = info[0].shape;
    return out;
}

ValueId GraphBuilder::conv(ValueId x, int64_t outChannels, int64_t kernel, int64_t stride,
                           int64_t group) {
    const int64_t inChannels = m_graph.value(x).shape.at(1);
    const int64_t inPerGroup = inChannels / group;
    ValueId w = weights({outChannels, inPerGroup, kernel, kernel}, inPerGroup * kernel * kernel);
    ValueId b = weights({outChannels}, inPerGroup * kernel * kernel * 16);
    Attributes a;
    const int64_t pad = kernel / 2;
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", group);
    return node(OpKind::Conv, {x, w, b}, std::move(a));
}

ValueId GraphBuilder::relu(ValueId x) {
    return node(OpKind::Relu, {x}, {});
}
ValueId GraphBuilder::unary(OpKind op, ValueId x) {
    return node(op, {x}, {});
}
ValueId GraphBuilder::add(ValueId a, ValueId b) {
    return node(OpKind::Add, {a, b}, {});
}

ValueId GraphBuilder::concat(std::vector<ValueId> xs, int64_t axis) {
    Attributes a;
    a.set("axis", axis);
    return node(OpKind::Concat, std::move(xs), std::move(a));
}

ValueId GraphBuilder::maxPool(ValueId x, int64_t kernel, int64_t stride) {
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{kernel, kernel});
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("pads", std::vector<int64_t>{0, 0, 0, 0});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("ceil_mode", int64_t{0});
    return node(OpKind::MaxPool, {x}, std::move(a));
}

ValueId GraphBuilder::globalAveragePool(ValueId x) {
    return node(OpKind::GlobalAveragePool, {x}, {});
}

ValueId GraphBuilder::flatten(ValueId x) {
    Attributes a;
    a.set("axis", int64_t{1});
    return node(OpKind::Flatten, {x}, std::move(a));
}

ValueId GraphBuilder::gemm(ValueId x, int64_t outFeatures) {
    const int64_t in = m_graph.value(x).shape.at(1);
    ValueId w = weights({outFeatures, in}, in);
    ValueId b = weights({outFeatures}, in * 16);
    Attributes a;
    a.set("alpha", 1.0f);
    a.set("beta", 1.0f);
    a.set("transA", int64_t{0});
    a.set("transB", int64_t{1});
    return node(OpKind::Gemm, {x, w, b}, std::move(a));
}

void GraphBuilder::output(ValueId v) {
    m_graph.outputs.push_back(v);
}

Result<Graph> GraphBuilder::finish() {
    PL_TRY(m_status);
    PL_TRY(verifyGraph(m_graph));
    return std::move(m_graph);
}

}  // namespace prunelab::engine

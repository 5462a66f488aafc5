// The model zoo: LeNet-5 and vgg-small written node by node against the Graph API (the
// GraphBuilder always pads convs and has no BatchNormalization), with a portable seeded init
// so the same seed gives the same bytes on every platform.
#include "engine/train/zoo.h"

#include <cmath>

#include "engine/ops/op.h"

namespace prunelab::engine::train {

namespace {

// Appends nodes with canonical attributes and infers each output's shape through the op's own
// inference, so the graph verifies by construction. The first error sticks and is returned by
// finish().
class ZooBuilder {
  public:
    ZooBuilder(std::string name, uint32_t seed)
        // splitmix64's state; mixing the seed keeps seeds 0, 1, 2... far apart.
        : m_state(0x9E3779B97F4A7C15ull ^ (uint64_t{seed} * 0xD1B54A32D192ED03ull)) {
        m_graph.name = std::move(name);
        m_graph.sourcePath = m_graph.name;
    }

    ValueId input(const std::string& name, Shape shape) {
        ValueId id = m_graph.addValue(name, DataType::Float32, std::move(shape));
        m_graph.inputs.push_back(id);
        return id;
    }

    // Uniform in [-bound, bound]. splitmix64 rather than <random>: the standard distributions
    // are implementation-defined, and a lab's seed should give the same model everywhere.
    ValueId uniform(const std::string& name, Shape shape, float bound) {
        Tensor t(DataType::Float32, std::move(shape));
        for (float& x : t.span<float>()) {
            const uint64_t bits = next() >> 40;  // 24 random bits
            const float unit = static_cast<float>(bits) / static_cast<float>(1u << 24);
            x = (unit * 2.0f - 1.0f) * bound;
        }
        return m_graph.addConstant(name, std::move(t));
    }
    ValueId filled(const std::string& name, Shape shape, float value) {
        Tensor t(DataType::Float32, std::move(shape));
        for (float& x : t.span<float>()) x = value;
        return m_graph.addConstant(name, std::move(t));
    }

    // Conv k x k, stride 1, symmetric `pad`. He-uniform weights (the layers feed ReLUs); the
    // bias, when present, uses torch's default U(+-1/sqrt(fanIn)).
    ValueId conv(const std::string& name, ValueId x, int64_t out, int64_t k, int64_t pad,
                 bool bias) {
        const int64_t in = m_graph.value(x).shape.at(1);
        const int64_t fanIn = in * k * k;
        std::vector<ValueId> inputs = {
            x, uniform(name + "_w", {out, in, k, k}, std::sqrt(6.0f / static_cast<float>(fanIn)))};
        if (bias) {
            inputs.push_back(uniform(name + "_b", {out}, 1.0f / std::sqrt(float(fanIn))));
        }
        Attributes a;
        a.set("strides", std::vector<int64_t>{1, 1});
        a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
        a.set("dilations", std::vector<int64_t>{1, 1});
        a.set("group", int64_t{1});
        return node(OpKind::Conv, name, std::move(inputs), std::move(a));
    }

    // Identity statistics (gamma 1, beta 0, mean 0, var 1): training sets them.
    ValueId batchNorm(const std::string& name, ValueId x) {
        const int64_t c = m_graph.value(x).shape.at(1);
        Attributes a;
        a.set("epsilon", 1e-5f);
        return node(OpKind::BatchNormalization, name,
                    {x, filled(name + "_scale", {c}, 1.0f), filled(name + "_bias", {c}, 0.0f),
                     filled(name + "_mean", {c}, 0.0f), filled(name + "_var", {c}, 1.0f)},
                    std::move(a));
    }

    ValueId relu(const std::string& name, ValueId x) { return node(OpKind::Relu, name, {x}, {}); }

    ValueId maxPool2(const std::string& name, ValueId x) {
        Attributes a;
        a.set("kernel_shape", std::vector<int64_t>{2, 2});
        a.set("strides", std::vector<int64_t>{2, 2});
        a.set("pads", std::vector<int64_t>{0, 0, 0, 0});
        a.set("dilations", std::vector<int64_t>{1, 1});
        a.set("ceil_mode", int64_t{0});
        return node(OpKind::MaxPool, name, {x}, std::move(a));
    }

    ValueId globalAveragePool(const std::string& name, ValueId x) {
        return node(OpKind::GlobalAveragePool, name, {x}, {});
    }

    ValueId flatten(const std::string& name, ValueId x) {
        Attributes a;
        a.set("axis", int64_t{1});
        return node(OpKind::Flatten, name, {x}, std::move(a));
    }

    // y = x W^T + b with W [out][in] (transB = 1, as torch.nn.Linear stores it). `relu`
    // chooses He-uniform (a ReLU follows) or Glorot-uniform (the logits layer).
    ValueId gemm(const std::string& name, ValueId x, int64_t out, bool relu) {
        const int64_t in = m_graph.value(x).shape.at(1);
        const float bound = relu ? std::sqrt(6.0f / static_cast<float>(in))
                                 : std::sqrt(6.0f / static_cast<float>(in + out));
        ValueId w = uniform(name + "_w", {out, in}, bound);
        ValueId b = uniform(name + "_b", {out}, 1.0f / std::sqrt(static_cast<float>(in)));
        Attributes a;
        a.set("alpha", 1.0f);
        a.set("beta", 1.0f);
        a.set("transA", int64_t{0});
        a.set("transB", int64_t{1});
        return node(OpKind::Gemm, name, {x, w, b}, std::move(a));
    }

    void output(ValueId v, const std::string& name) {
        m_graph.value(v).name = name;
        m_graph.outputs.push_back(v);
    }

    Result<Graph> finish() {
        PL_TRY(m_status);
        PL_TRY(verifyGraph(m_graph));
        return std::move(m_graph);
    }

  private:
    uint64_t next() {
        uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    ValueId node(OpKind op, const std::string& name, std::vector<ValueId> inputs,
                 Attributes attrs) {
        ValueId out = m_graph.addValue(name, DataType::Float32, {});
        Node& n = m_graph.addNode(op, name, std::move(inputs), {out}, std::move(attrs));
        std::vector<TensorInfo> info;
        Status st = inferNode(m_graph, n, info);
        if (!st.ok()) {
            if (m_status.ok()) m_status = st.error().within(m_graph.describeNode(n));
            return out;
        }
        m_graph.value(out).dtype = info[0].dtype;
        m_graph.value(out).shape = info[0].shape;
        return out;
    }

    Graph m_graph;
    uint64_t m_state;
    Status m_status;
};

}  // namespace

Result<Graph> buildLenet5(uint32_t seed) {
    ZooBuilder b("lenet5", seed);
    ValueId x = b.input("image", {1, 1, 28, 28});
    x = b.maxPool2("pool1", b.relu("relu1", b.conv("conv1", x, 6, 5, 2, true)));   // 6x14x14
    x = b.maxPool2("pool2", b.relu("relu2", b.conv("conv2", x, 16, 5, 0, true)));  // 16x5x5
    x = b.flatten("flatten", x);                                                   // 400
    x = b.relu("relu3", b.gemm("fc1", x, 120, true));
    x = b.relu("relu4", b.gemm("fc2", x, 84, true));
    b.output(b.gemm("fc3", x, 10, false), "logits");
    return b.finish();
}

Result<Graph> buildVggSmall(uint32_t seed) {
    ZooBuilder b("vgg-small", seed);
    ValueId x = b.input("image", {1, 1, 28, 28});
    const int64_t widths[] = {32, 32, 64, 64, 128, 128};
    for (int i = 0; i < 6; ++i) {
        const std::string n = std::to_string(i + 1);
        // No conv bias: the BatchNormalization after it has its own shift.
        x = b.conv("conv" + n, x, widths[i], 3, 1, false);
        x = b.relu("relu" + n, b.batchNorm("bn" + n, x));
        if (i % 2 == 1) x = b.maxPool2("pool" + std::to_string(i / 2 + 1), x);  // 14, 7, 3
    }
    x = b.flatten("flatten", b.globalAveragePool("gap", x));
    b.output(b.gemm("fc", x, 10, false), "logits");
    return b.finish();
}

Result<Graph> buildArch(const std::string& name, uint32_t seed) {
    if (name == "lenet5") return buildLenet5(seed);
    if (name == "vgg-small") return buildVggSmall(seed);
    std::string known;
    for (const std::string& n : archNames()) known += (known.empty() ? "" : ", ") + n;
    return makeError(ErrorCode::NotFound,
                     "unknown architecture '" + name + "'; the zoo has " + known);
}

std::vector<std::string> archNames() {
    return {"lenet5", "vgg-small"};
}

}  // namespace prunelab::engine::train

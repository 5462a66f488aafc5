// Identity removal and BatchNormalization folding for freshly imported graphs. Both passes mark
// nodes and erase them at the end, so node indices stay valid while a pass runs.
#include "engine/onnx/onnx_passes.h"
#include "engine/ops/op.h"

#include <algorithm>
#include <cmath>

namespace prunelab::engine::internal {

namespace {

// Every read of `from` becomes a read of `to`.
void replaceReads(Graph& graph, ValueId from, ValueId to) {
    for (Node& node : graph.nodes) {
        std::replace(node.inputs.begin(), node.inputs.end(), from, to);
    }
}

void eraseMarked(Graph& graph, const std::vector<bool>& remove) {
    std::vector<Node> kept;
    kept.reserve(graph.nodes.size());
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        if (!remove[k]) kept.push_back(std::move(graph.nodes[k]));
    }
    graph.nodes = std::move(kept);
}

const Tensor* floatConstant(const Graph& graph, ValueId id) {
    if (id == kNoValue) return nullptr;
    const Value& v = graph.value(id);
    return v.isConstant() && v.dtype == DataType::Float32 ? &v.constant : nullptr;
}

Status verifyInDebug([[maybe_unused]] const Graph& graph) {
#ifndef NDEBUG
    return verifyGraph(graph);
#else
    return {};
#endif
}

// Folds node `bn` into node `conv` if the pattern holds; true when it did.
bool foldOne(Graph& graph, size_t convIndex, size_t bnIndex) {
    // Copies, not references: addConstant below may reallocate graph.values.
    const Node conv = graph.nodes[convIndex];
    const Node bn = graph.nodes[bnIndex];
    if (bn.inputs.size() != 5 || bn.outputs.size() != 1 || conv.inputs.size() < 2) return false;
    const Tensor* scale = floatConstant(graph, bn.inputs[1]);
    const Tensor* shift = floatConstant(graph, bn.inputs[2]);
    const Tensor* mean = floatConstant(graph, bn.inputs[3]);
    const Tensor* var = floatConstant(graph, bn.inputs[4]);
    const Tensor* weight = floatConstant(graph, conv.inputs[1]);
    const bool hasBias = conv.inputs.size() > 2 && conv.inputs[2] != kNoValue;
    const Tensor* bias = hasBias ? floatConstant(graph, conv.inputs[2]) : nullptr;
    if (!scale || !shift || !mean || !var || !weight || (hasBias && !bias)) return false;
    if (weight->rank() < 2 || weight->dim(0) == 0 || weight->dim(1) == 0) return false;

    // Output channel o owns W[o] in Conv, and W[i][o] in a group-1 ConvTranspose.
    const bool transposed = conv.op == OpKind::ConvTranspose;
    if (transposed && conv.attrs.getInt("group", 1) != 1) return false;
    const int64_t channels = transposed ? weight->dim(1) : weight->dim(0);
    for (const Tensor* t : {scale, shift, mean, var}) {
        if (t->elements() != channels) return false;
    }
    if (bias && bias->elements() != channels) return false;

    const double eps = bn.attrs.getFloat("epsilon", 1e-5f);
    std::vector<double> s(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        s[size_t(c)] =
            double(scale->data<float>()[c]) / std::sqrt(double(var->data<float>()[c]) + eps);
    }
    Tensor newWeight = weight->clone();
    float* w = newWeight.data<float>();
    const int64_t inner = weight->elements() / (weight->dim(0) * weight->dim(1));  // kh * kw
    for (int64_t a = 0; a < weight->dim(0); ++a) {
        for (int64_t b = 0; b < weight->dim(1); ++b) {
            const double factor = s[size_t(transposed ? b : a)];
            float* block = w + (a * weight->dim(1) + b) * inner;
            for (int64_t k = 0; k < inner; ++k) block[k] = float(double(block[k]) * factor);
        }
    }
    Tensor newBias(DataType::Float32, {channels});
    for (int64_t c = 0; c < channels; ++c) {
        const double b0 = bias ? bias->data<float>()[c] : 0.0;
        newBias.data<float>()[c] =
            float((b0 - mean->data<float>()[c]) * s[size_t(c)] + double(shift->data<float>()[c]));
    }

    const std::string base = conv.name.empty() ? graph.value(conv.outputs[0]).name : conv.name;
    const ValueId wId = graph.addConstant(graph.uniqueName(base + "_W_bn"), std::move(newWeight));
    const ValueId bId = graph.addConstant(graph.uniqueName(base + "_B_bn"), std::move(newBias));
    Node& target = graph.nodes[convIndex];
    target.inputs.resize(3, kNoValue);
    target.inputs[1] = wId;
    target.inputs[2] = bId;
    target.outputs[0] = bn.outputs[0];  // the BN's output name lives on
    return true;
}

}  // namespace

int removeIdentityNodes(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int removed = 0;
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        const Node& node = graph.nodes[k];
        if (node.op != OpKind::Identity || node.inputs.size() != 1 || node.outputs.size() != 1 ||
            node.inputs[0] == kNoValue) {
            continue;
        }
        const ValueId in = node.inputs[0];
        const ValueId out = node.outputs[0];
        if (!graph.isGraphOutput(out)) {
            replaceReads(graph, out, in);
        } else {
            // The output's name must survive: let the producer of `in` write it directly. Not
            // possible when `in` is a graph input, a constant or itself a graph output.
            const int p = graph.producer(in);
            if (p < 0 || graph.isGraphOutput(in)) continue;
            Node& producer = graph.nodes[size_t(p)];
            std::replace(producer.outputs.begin(), producer.outputs.end(), in, out);
            replaceReads(graph, in, out);
        }
        remove[k] = true;
        ++removed;
    }
    eraseMarked(graph, remove);
    return removed;
}

int foldBatchNormalization(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int folded = 0;
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
        const Node& bn = graph.nodes[k];
        if (bn.op != OpKind::BatchNormalization || bn.inputs.empty()) continue;
        const ValueId x = bn.inputs[0];
        const int p = x == kNoValue ? -1 : graph.producer(x);
        if (p < 0) continue;
        const OpKind producerOp = graph.nodes[size_t(p)].op;
        if (producerOp != OpKind::Conv && producerOp != OpKind::ConvTranspose) continue;
        if (graph.isGraphOutput(x) || graph.consumers(x).size() != 1) continue;
        if (foldOne(graph, size_t(p), k)) {
            remove[k] = true;
            ++folded;
        }
    }
    eraseMarked(graph, remove);
    return folded;
}

Status runOnnxImportPasses(Graph& graph, const OnnxImportOptions& options) {
    removeIdentityNodes(graph);
    PL_TRY(verifyInDebug(graph));
    if (options.foldBatchNorm) {
        foldBatchNormalization(graph);
        PL_TRY(verifyInDebug(graph));
    }
    graph.removeDeadCode();
    PL_TRY(verifyInDebug(graph));
    PL_TRY(graph.topoSort());
    return verifyGraph(graph);
}

}  // namespace prunelab::engine::internal

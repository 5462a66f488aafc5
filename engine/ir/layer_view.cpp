// Finding prunable layers and counting their MACs from canonical attributes and static shapes.
#include "engine/ir/layer_view.h"

namespace prunelab::engine {

int64_t Layer::weightIndex(int64_t o, int64_t i, int64_t y, int64_t x) const {
    switch (storage) {
        case Storage::OIHW:
            return ((o * inPerGroup + i) * kh + y) * kw + x;
        case Storage::IOHW: {
            // ConvTranspose: W[in][out/g][kh][kw]; output channel o lives in group o / (out/g).
            int64_t outPerGroup = outChannels / groups;
            int64_t g = o / outPerGroup;
            int64_t inChannel = g * inPerGroup + i;
            return ((inChannel * outPerGroup + o % outPerGroup) * kh + y) * kw + x;
        }
        case Storage::InOut:
            return i * outChannels + o;
        case Storage::OutIn:
            return o * inPerGroup + i;
    }
    return 0;
}

namespace {

// Batched MatMul MACs: every output element is a dot product over A's last dim.
int64_t matmulMacs(const Shape& a, const Shape& out) {
    if (a.empty()) return 0;
    int64_t k = a.back();
    return elementCount(out) * k;
}

bool fillLayer(const Graph& g, int index, Layer& layer) {
    const Node& n = g.nodes[static_cast<size_t>(index)];
    if (n.inputs.size() < 2 || n.inputs[1] == kNoValue) return false;
    const Value& w = g.value(n.inputs[1]);
    if (!w.isConstant()) return false;
    const Value& x = g.value(n.inputs[0]);
    const Value& y = g.value(n.outputs[0]);
    layer.node = index;
    layer.name = n.name.empty() ? y.name : n.name;
    layer.op = n.op;
    layer.weight = n.inputs[1];
    layer.bias = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
    layer.inputShape = x.shape;
    layer.outputShape = y.shape;
    switch (n.op) {
        case OpKind::Conv:
            if (w.shape.size() != 4) return false;
            layer.storage = Layer::Storage::OIHW;
            layer.groups = n.attrs.getInt("group", 1);
            layer.outChannels = w.shape[0];
            layer.inPerGroup = w.shape[1];
            layer.kh = w.shape[2];
            layer.kw = w.shape[3];
            layer.macs = elementCount(y.shape) * layer.inPerGroup * layer.kh * layer.kw;
            break;
        case OpKind::ConvTranspose:
            if (w.shape.size() != 4) return false;
            layer.storage = Layer::Storage::IOHW;
            layer.groups = n.attrs.getInt("group", 1);
            layer.outChannels = w.shape[1] * layer.groups;
            layer.inPerGroup = w.shape[0] / layer.groups;
            layer.kh = w.shape[2];
            layer.kw = w.shape[3];
            // Each input pixel scatters into kh*kw outputs of out/g channels.
            layer.macs = elementCount(x.shape) * w.shape[1] * layer.kh * layer.kw;
            break;
        case OpKind::Gemm: {
            if (w.shape.size() != 2) return false;
            bool transB = n.attrs.getInt("transB", 0) != 0;
            layer.storage = transB ? Layer::Storage::OutIn : Layer::Storage::InOut;
            layer.outChannels = transB ? w.shape[0] : w.shape[1];
            layer.inPerGroup = transB ? w.shape[1] : w.shape[0];
            layer.macs = elementCount(y.shape) * layer.inPerGroup;
            break;
        }
        case OpKind::MatMul:
            if (w.shape.size() != 2) return false;
            layer.storage = Layer::Storage::InOut;
            layer.outChannels = w.shape[1];
            layer.inPerGroup = w.shape[0];
            layer.macs = elementCount(y.shape) * layer.inPerGroup;
            break;
        default:
            return false;
    }
    layer.params = elementCount(w.shape);
    if (layer.bias != kNoValue) layer.params += elementCount(g.value(layer.bias).shape);
    for (ValueId in : n.inputs) {
        if (in == kNoValue) continue;
        int p = g.producer(in);
        if (p >= 0) layer.before.push_back(p);
    }
    layer.after = g.consumers(n.outputs[0]);
    return true;
}

}  // namespace

std::vector<Layer> prunableLayers(const Graph& graph) {
    std::vector<Layer> layers;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        Layer layer;
        if (fillLayer(graph, static_cast<int>(i), layer)) layers.push_back(std::move(layer));
    }
    return layers;
}

int64_t totalMacs(const Graph& graph) {
    int64_t total = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        Layer layer;
        if (fillLayer(graph, static_cast<int>(i), layer)) {
            total += layer.macs;
            continue;
        }
        const Node& n = graph.nodes[i];
        if (n.op == OpKind::MatMul && n.inputs.size() == 2) {
            total += matmulMacs(graph.value(n.inputs[0]).shape, graph.value(n.outputs[0]).shape);
        }
    }
    return total;
}

}  // namespace prunelab::engine

// Shared test inputs for the scheme tests: random layers and BlazeFace's real layers copied
// into the [out][in/g][kh][kw] view, plus small helpers to count kept weights.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune::testing {

// Normal(0, 1) weights, fixed seed: the same layer on every run.
inline LayerWeights randomLayer(const std::string& name, int64_t out, int64_t in, int64_t kh,
                                int64_t kw, uint32_t seed, int64_t groups = 1) {
    LayerWeights l;
    l.name = name;
    l.groups = groups;
    l.weights = Tensor(DataType::Float32, {out, in, kh, kw});
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& w : l.weights.span<float>()) w = dist(rng);
    return l;
}

// Every prunable layer of BlazeFace (back model), weights in the layer view's order. Empty if
// the model is missing (the caller asserts on it: ./prunelab setup fetches it).
inline std::vector<LayerWeights> blazefaceLayers() {
    std::vector<LayerWeights> out;
    const std::string path = std::string(PRUNELAB_CACHE_DIR) +
                             "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    auto g = importOnnxFile(path);
    if (!g.ok()) return out;
    for (const Layer& layer : prunableLayers(*g)) {
        const Tensor& src = g->value(layer.weight).constant;
        if (src.dtype() != DataType::Float32) continue;
        LayerWeights lw;
        lw.name = layer.name;
        lw.groups = layer.groups;
        lw.weights =
            Tensor(DataType::Float32, {layer.outChannels, layer.inPerGroup, layer.kh, layer.kw});
        const float* s = src.data<float>();
        float* d = lw.weights.data<float>();
        for (int64_t o = 0; o < layer.outChannels; ++o)
            for (int64_t i = 0; i < layer.inPerGroup; ++i)
                for (int64_t y = 0; y < layer.kh; ++y)
                    for (int64_t x = 0; x < layer.kw; ++x) *d++ = s[layer.weightIndex(o, i, y, x)];
        out.push_back(std::move(lw));
    }
    return out;
}

// BlazeFace's layers after 70% magnitude pruning: weights full of exact zeros, where ties
// between equally good choices make idempotence hard (pruning an already pruned model).
inline std::vector<LayerWeights> sparseBlazefaceLayers() {
    std::vector<LayerWeights> layers = blazefaceLayers();
    ParamValues v;
    v.set("rate", 0.7);
    auto r = findScheme("non_structured")->project(layers, v);
    if (!r.ok()) return {};
    for (size_t l = 0; l < layers.size(); ++l) layers[l].weights = (*r)[l].weights;
    return layers;
}

inline int64_t countKept(const LayerProjection& p) {
    int64_t k = 0;
    for (uint8_t m : p.mask.span<uint8_t>()) k += m != 0;
    return k;
}

// Re-wraps a projection's weights as a layer, to project it a second time.
inline LayerWeights asLayer(const LayerWeights& original, const LayerProjection& p) {
    LayerWeights l = original;
    l.weights = p.weights.clone();
    return l;
}

inline ParamValues params(std::initializer_list<std::pair<std::string, ParamValue>> list) {
    ParamValues v;
    for (const auto& [key, value] : list) v.set(key, value);
    return v;
}

}  // namespace prunelab::engine::prune::testing

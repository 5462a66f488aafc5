// tfjs "layers-model": a Keras model config (Sequential, or Functional with inbound_nodes) whose
// layers map onto the same NHWC-aware Builder as graph models. Weights are found by layer name
// ("conv2d_1/kernel", "model/conv2d_1/kernel").
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/op.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace prunelab::tfjs::internal {

namespace {

// A config value that Keras writes as an int or a list of ints (kernel_size, strides, ...).
Result<std::vector<int64_t>> intList(const Json& cfg, const char* key,
                                     std::vector<int64_t> fallback, size_t count) {
    const auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return fallback;
    std::vector<int64_t> out;
    if (it->is_number_integer()) {
        out.assign(count, it->get<int64_t>());
    } else if (it->is_array()) {
        for (const Json& v : *it) {
            if (!v.is_number_integer()) {
                return makeError(ErrorCode::Corrupt, std::string("'") + key + "' is not integers");
            }
            out.push_back(v.get<int64_t>());
        }
    } else {
        return makeError(ErrorCode::Corrupt, std::string("'") + key + "' is not integers");
    }
    if (out.size() != count) {
        return makeError(ErrorCode::Corrupt,
                         std::string("'") + key + "' needs " + std::to_string(count) + " numbers");
    }
    for (int64_t v : out) {
        if (v < 1 || v > 65536) {
            return makeError(ErrorCode::Corrupt, std::string("'") + key + "' must be 1..65536");
        }
    }
    return out;
}

std::string str(const Json& cfg, const char* key, const std::string& fallback) {
    const auto it = cfg.find(key);
    return it != cfg.end() && it->is_string() ? it->get<std::string>() : fallback;
}

float num(const Json& cfg, const char* key, float fallback) {
    const auto it = cfg.find(key);
    return it != cfg.end() && it->is_number() ? it->get<float>() : fallback;
}

class LayersImporter {
  public:
    LayersImporter(engine::Graph& graph, const std::map<std::string, Tensor>& weights,
                   int64_t height, int64_t width)
        : m_b(graph), m_height(height), m_width(width) {
        // "a/b/conv2d_1/kernel": the layer is the second-to-last part, the weight the last.
        for (const auto& [name, t] : weights) {
            const size_t slash = name.rfind('/');
            if (slash == std::string::npos) continue;
            const std::string head = name.substr(0, slash);
            const size_t prev = head.rfind('/');
            m_weights[head.substr(prev == std::string::npos ? 0 : prev + 1)]
                     [name.substr(slash + 1)] = t;
        }
    }

    Status run(const Json& model);

  private:
    Result<TValue> layer(const std::string& cls, const Json& cfg, const std::string& name,
                         const std::vector<TValue>& ins);
    Result<TValue> inputLayer(const Json& cfg, const std::string& name);
    Result<Tensor> weight(const std::string& layer, const std::string& key, bool required);
    Result<Conv2dSpec> convSpec(const Json& cfg);
    Status checkChannelsLast(const Json& cfg);

    Builder m_b;
    int64_t m_height, m_width;
    std::map<std::string, std::map<std::string, Tensor>> m_weights;  // layer -> key -> tensor
};

Result<Tensor> LayersImporter::weight(const std::string& layer, const std::string& key,
                                      bool required) {
    auto l = m_weights.find(layer);
    if (l != m_weights.end()) {
        auto w = l->second.find(key);
        if (w != l->second.end()) {
            if (w->second.dtype() != DataType::Float32) {
                return makeError(ErrorCode::Unsupported,
                                 "weight '" + layer + "/" + key + "' is not float32");
            }
            return w->second;
        }
    }
    if (required) {
        return makeError(ErrorCode::NotFound,
                         "weight '" + layer + "/" + key + "' is not in the manifest");
    }
    return Tensor();
}

Status LayersImporter::checkChannelsLast(const Json& cfg) {
    const std::string f = str(cfg, "data_format", "channels_last");
    if (f != "channels_last") {
        return makeError(ErrorCode::Unsupported, "data_format '" + f + "' (channels_last only)");
    }
    return {};
}

Result<Conv2dSpec> LayersImporter::convSpec(const Json& cfg) {
    PL_TRY(checkChannelsLast(cfg));
    Conv2dSpec s;
    PL_TRY_ASSIGN(std::vector<int64_t> strides, intList(cfg, "strides", {1, 1}, 2));
    PL_TRY_ASSIGN(std::vector<int64_t> dil, intList(cfg, "dilation_rate", {1, 1}, 2));
    s.strideH = strides[0];
    s.strideW = strides[1];
    s.dilationH = dil[0];
    s.dilationW = dil[1];
    const std::string padding = str(cfg, "padding", "valid");
    if (padding != "valid" && padding != "same") {
        return makeError(ErrorCode::Unsupported, "padding '" + padding + "' (valid, same)");
    }
    s.padding.mode = padding == "same" ? "SAME" : "VALID";
    return s;
}

Result<TValue> LayersImporter::inputLayer(const Json& cfg, const std::string& name) {
    const Json* shape = nullptr;
    for (const char* key : {"batch_input_shape", "batchInputShape", "batch_shape"}) {
        if (cfg.contains(key) && cfg[key].is_array()) shape = &cfg[key];
    }
    if (shape == nullptr || shape->size() > 8 || shape->empty()) {
        return makeError(ErrorCode::Corrupt, "the input has no batch_input_shape");
    }
    std::vector<int64_t> dims;
    for (const Json& d : *shape) {
        dims.push_back(d.is_number_integer() && d.get<int64_t>() >= 0 ? d.get<int64_t>() : -1);
    }
    PL_TRY_ASSIGN(Shape s, bindInputShape(dims, m_height, m_width));
    engine::Graph& g = m_b.graph();
    if (g.findValue(name) != engine::kNoValue) {
        return makeError(ErrorCode::Corrupt, "input name '" + name + "' is used twice");
    }
    const ValueId id = g.addValue(name, DataType::Float32, s);
    g.inputs.push_back(id);
    return TValue{id, false};
}

Result<TValue> LayersImporter::layer(const std::string& cls, const Json& cfg,
                                     const std::string& name, const std::vector<TValue>& ins) {
    auto one = [&]() -> Result<TValue> {
        if (ins.size() != 1) {
            return makeError(ErrorCode::Corrupt,
                             "takes one input, got " + std::to_string(ins.size()));
        }
        return ins[0];
    };
    auto finish = [&](TValue y) -> Result<TValue> {  // the layer's own activation
        PL_TRY_ASSIGN(Activation act, kerasActivation(str(cfg, "activation", "linear")));
        return m_b.activation(name + "_act", y, act);
    };
    const bool useBias =
        !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    if (cls == "Conv2D" || cls == "DepthwiseConv2D" || cls == "SeparableConv2D") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(cfg));
        PL_TRY_ASSIGN(Tensor bias, weight(name, "bias", useBias));
        TValue y;
        if (cls == "Conv2D") {
            PL_TRY_ASSIGN(Tensor k, weight(name, "kernel", true));
            PL_TRY_ASSIGN(y, m_b.conv2d(name, x, k, bias, spec));
        } else if (cls == "DepthwiseConv2D") {
            PL_TRY_ASSIGN(Tensor k, weight(name, "depthwise_kernel", true));
            PL_TRY_ASSIGN(y, m_b.depthwise(name, x, k, bias, spec));
        } else {
            PL_TRY_ASSIGN(Tensor dk, weight(name, "depthwise_kernel", true));
            PL_TRY_ASSIGN(Tensor pk, weight(name, "pointwise_kernel", true));
            PL_TRY_ASSIGN(TValue d, m_b.depthwise(name + "_depthwise", x, dk, {}, spec));
            PL_TRY_ASSIGN(y, m_b.conv2d(name, d, pk, bias, Conv2dSpec{}));
        }
        return finish(y);
    }
    if (cls == "Conv2DTranspose") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(cfg));
        PL_TRY_ASSIGN(Tensor k, weight(name, "kernel", true));
        PL_TRY_ASSIGN(Tensor bias, weight(name, "bias", useBias));
        if (cfg.contains("output_padding") && !cfg["output_padding"].is_null()) {
            return makeError(ErrorCode::Unsupported, "output_padding is not supported");
        }
        const Shape xs = m_b.logicalShape(x);
        if (xs.size() != 4 || k.rank() != 4) {
            return makeError(ErrorCode::ShapeMismatch, "needs a 4-D input and kernel");
        }
        // Keras: same -> in * stride; valid -> (in - 1) * stride + dilated kernel.
        auto outLen = [&](int64_t in, int64_t kk, int64_t s, int64_t d) {
            return spec.padding.mode == "SAME" ? in * s : (in - 1) * s + (kk - 1) * d + 1;
        };
        PL_TRY_ASSIGN(TValue y,
                      m_b.convTranspose(name, x, k, bias, spec,
                                        outLen(xs[1], k.dim(0), spec.strideH, spec.dilationH),
                                        outLen(xs[2], k.dim(1), spec.strideW, spec.dilationW)));
        return finish(y);
    }
    if (cls == "Dense") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY_ASSIGN(Tensor k, weight(name, "kernel", true));
        PL_TRY_ASSIGN(Tensor bias, weight(name, "bias", useBias));
        PL_TRY_ASSIGN(TValue y, m_b.dense(name, x, k, bias, false));
        return finish(y);
    }
    if (cls == "Activation") {
        PL_TRY_ASSIGN(TValue x, one());
        const std::string a = str(cfg, "activation", "linear");
        PL_TRY_ASSIGN(Activation act, kerasActivation(a));
        if (act.kind.empty()) return x;  // linear
        return m_b.activation(name, x, act);
    }
    if (cls == "ReLU") {
        PL_TRY_ASSIGN(TValue x, one());
        const float slope = num(cfg, "negative_slope", 0.0f),
                    threshold = num(cfg, "threshold", 0.0f);
        const bool capped = cfg.contains("max_value") && cfg["max_value"].is_number();
        if (threshold != 0.0f || (slope != 0.0f && capped)) {
            return makeError(ErrorCode::Unsupported,
                             "ReLU with a threshold, or both a slope and a cap");
        }
        if (capped) {
            Attributes a;
            a.set("min", 0.0f);
            a.set("max", cfg["max_value"].get<float>());
            PL_TRY_ASSIGN(ValueId y, m_b.emit(OpKind::Clip, name, {x.id}, a));
            return TValue{y, x.nchw};
        }
        Activation act{slope != 0.0f ? "leakyrelu" : "relu"};
        act.alpha = slope;
        return m_b.activation(name, x, act);
    }
    if (cls == "LeakyReLU") {
        PL_TRY_ASSIGN(TValue x, one());
        Activation act{"leakyrelu"};
        act.alpha = num(cfg, "alpha", num(cfg, "negative_slope", 0.3f));
        return m_b.activation(name, x, act);
    }
    if (cls == "PReLU") {
        PL_TRY_ASSIGN(TValue x, one());
        Activation act{"prelu"};
        PL_TRY_ASSIGN(act.slope, weight(name, "alpha", true));
        return m_b.activation(name, x, act);
    }
    if (cls == "Softmax") {
        PL_TRY_ASSIGN(TValue x, one());
        int64_t axis = -1;
        if (cfg.contains("axis") && cfg["axis"].is_number_integer())
            axis = cfg["axis"].get<int64_t>();
        return m_b.softmax(name, x, axis);
    }
    if (cls == "BatchNormalization") {
        PL_TRY_ASSIGN(TValue x, one());
        const Shape xs = m_b.logicalShape(x);
        int64_t axis = -1;
        if (cfg.contains("axis") && cfg["axis"].is_number_integer())
            axis = cfg["axis"].get<int64_t>();
        if (xs.size() < 2 || (axis != -1 && axis != static_cast<int64_t>(xs.size()) - 1)) {
            return makeError(ErrorCode::Unsupported,
                             "BatchNormalization over an axis other than the last");
        }
        const int64_t c = xs.back();
        PL_TRY_ASSIGN(Tensor gamma, weight(name, "gamma", false));
        PL_TRY_ASSIGN(Tensor beta, weight(name, "beta", false));
        PL_TRY_ASSIGN(Tensor mean, weight(name, "moving_mean", true));
        PL_TRY_ASSIGN(Tensor var, weight(name, "moving_variance", true));
        if (gamma.empty())
            gamma =
                Tensor::fromVector<float>({c}, std::vector<float>(static_cast<size_t>(c), 1.0f));
        if (beta.empty())
            beta = Tensor::fromVector<float>({c}, std::vector<float>(static_cast<size_t>(c), 0.0f));
        for (const Tensor* t : {&gamma, &beta, &mean, &var}) {
            if (t->rank() != 1 || t->dim(0) != c) {
                return makeError(ErrorCode::ShapeMismatch,
                                 "statistics " + shapeToString(t->shape()) + " do not match " +
                                     std::to_string(c) + " channels");
            }
        }
        // The IR's BatchNormalization normalises axis 1: NCHW for images, [N, C] for vectors.
        ValueId in = x.id;
        bool layout = x.nchw;
        if (xs.size() == 4) {
            PL_TRY_ASSIGN(in, m_b.nchw(x, name));
            layout = true;
        } else if (xs.size() != 2) {
            return makeError(ErrorCode::Unsupported,
                             "BatchNormalization of rank " + std::to_string(xs.size()));
        }
        Attributes a;
        a.set("epsilon", num(cfg, "epsilon", 0.001f));
        PL_TRY_ASSIGN(
            ValueId y,
            m_b.emit(OpKind::BatchNormalization, name,
                     {in, m_b.constant(name + "_gamma", gamma), m_b.constant(name + "_beta", beta),
                      m_b.constant(name + "_mean", mean), m_b.constant(name + "_var", var)},
                     a));
        return TValue{y, layout};
    }
    if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY_ASSIGN(std::vector<int64_t> size, intList(cfg, "pool_size", {2, 2}, 2));
        Json c = cfg;
        if (!c.contains("strides") || c["strides"].is_null()) c["strides"] = size;
        PL_TRY_ASSIGN(Conv2dSpec spec, convSpec(c));
        return m_b.pool(name, x, cls == "MaxPooling2D", size[0], size[1], spec);
    }
    if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY(checkChannelsLast(cfg));
        PL_TRY_ASSIGN(ValueId in, m_b.nchw(x, name));
        const Shape& s = m_b.shape(in);
        const bool keep =
            cfg.contains("keepdims") && cfg["keepdims"].is_boolean() && cfg["keepdims"].get<bool>();
        PL_TRY_ASSIGN(ValueId y, m_b.emit(cls == "GlobalMaxPooling2D" ? OpKind::GlobalMaxPool
                                                                      : OpKind::GlobalAveragePool,
                                          name + (keep ? "" : "_pool"), {in}));
        if (keep) return TValue{y, true};
        return m_b.reshape(name, TValue{y, false}, {s[0], s[1]});
    }
    if (cls == "Flatten") {
        PL_TRY_ASSIGN(TValue x, one());
        const Shape xs = m_b.logicalShape(x);
        int64_t rest = 1;
        for (size_t d = 1; d < xs.size(); ++d) rest *= xs[d];
        return m_b.reshape(name, x, {xs.empty() ? 1 : xs[0], rest});  // in NHWC order, as Keras
    }
    if (cls == "Dropout" || cls == "SpatialDropout2D" || cls == "GaussianNoise" ||
        cls == "GaussianDropout" || cls == "AlphaDropout") {
        return one();  // inference: identity
    }
    if (cls == "Add" || cls == "Multiply" || cls == "Subtract" || cls == "Maximum" ||
        cls == "Minimum" || cls == "Average") {
        if (ins.size() < 2 || (cls == "Subtract" && ins.size() != 2)) {
            return makeError(ErrorCode::Corrupt, cls + " needs at least two inputs");
        }
        const OpKind op = cls == "Multiply"   ? OpKind::Mul
                          : cls == "Subtract" ? OpKind::Sub
                          : cls == "Maximum"  ? OpKind::Max
                          : cls == "Minimum"  ? OpKind::Min
                                              : OpKind::Add;
        TValue acc = ins[0];
        for (size_t i = 1; i < ins.size(); ++i) {
            const bool last = i + 1 == ins.size() && cls != "Average";
            PL_TRY_ASSIGN(
                acc, m_b.binary(last ? name : name + "_" + std::to_string(i), op, acc, ins[i]));
        }
        if (cls == "Average") {
            const float inv = 1.0f / static_cast<float>(ins.size());
            PL_TRY_ASSIGN(
                acc, m_b.binary(name, OpKind::Mul, acc,
                                TValue{m_b.constant(name + "_scale", Tensor::scalar(inv)), false}));
        }
        return acc;
    }
    if (cls == "Concatenate") {
        int64_t axis = -1;
        if (cfg.contains("axis") && cfg["axis"].is_number_integer())
            axis = cfg["axis"].get<int64_t>();
        return m_b.concat(name, ins, axis);
    }
    if (cls == "ZeroPadding2D") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY(checkChannelsLast(cfg));
        std::vector<int64_t> p = {1, 1, 1, 1};  // t, b, l, r
        const auto it = cfg.find("padding");
        if (it != cfg.end() && it->is_number_integer()) {
            p.assign(4, it->get<int64_t>());
        } else if (it != cfg.end() && it->is_array() && it->size() == 2) {
            const Json& a = (*it)[0];
            const Json& b = (*it)[1];
            if (a.is_number_integer() && b.is_number_integer()) {
                p = {a.get<int64_t>(), a.get<int64_t>(), b.get<int64_t>(), b.get<int64_t>()};
            } else if (a.is_array() && b.is_array() && a.size() == 2 && b.size() == 2 &&
                       a[0].is_number_integer() && a[1].is_number_integer() &&
                       b[0].is_number_integer() && b[1].is_number_integer()) {
                p = {a[0].get<int64_t>(), a[1].get<int64_t>(), b[0].get<int64_t>(),
                     b[1].get<int64_t>()};
            } else {
                return makeError(ErrorCode::Corrupt, "padding is not ints or pairs of ints");
            }
        } else if (it != cfg.end()) {
            return makeError(ErrorCode::Corrupt, "padding is not ints or pairs of ints");
        }
        return m_b.pad(name, x, {0, 0, p[0], p[1], p[2], p[3], 0, 0}, "constant", 0.0f);
    }
    if (cls == "UpSampling2D") {
        PL_TRY_ASSIGN(TValue x, one());
        PL_TRY(checkChannelsLast(cfg));
        PL_TRY_ASSIGN(std::vector<int64_t> size, intList(cfg, "size", {2, 2}, 2));
        const std::string interp = str(cfg, "interpolation", "nearest");
        if (interp != "nearest" && interp != "bilinear") {
            return makeError(ErrorCode::Unsupported, "interpolation '" + interp + "'");
        }
        const Shape xs = m_b.logicalShape(x);
        if (xs.size() != 4) return makeError(ErrorCode::ShapeMismatch, "needs a 4-D input");
        return m_b.resize(name, x, interp == "bilinear", xs[1] * size[0], xs[2] * size[1], false,
                          false);
    }
    if (cls == "Reshape") {
        PL_TRY_ASSIGN(TValue x, one());
        const auto it = cfg.find("target_shape");
        if (it == cfg.end() || !it->is_array() || it->size() > 7) {
            return makeError(ErrorCode::Corrupt, "no target_shape");
        }
        std::vector<int64_t> dims = {m_b.logicalShape(x).empty() ? 1 : m_b.logicalShape(x)[0]};
        for (const Json& d : *it) {
            if (!d.is_number_integer())
                return makeError(ErrorCode::Corrupt, "target_shape is not integers");
            dims.push_back(d.get<int64_t>());
        }
        return m_b.reshape(name, x, dims);
    }
    return makeError(ErrorCode::Unsupported, "layer class '" + cls + "' is not supported");
}

Status LayersImporter::run(const Json& model) {
    const Json& topology = model["modelTopology"];
    const Json& cfgRoot = topology.contains("model_config") ? topology["model_config"] : topology;
    if (!cfgRoot.is_object() || !cfgRoot.contains("class_name") ||
        !cfgRoot["class_name"].is_string()) {
        return makeError(ErrorCode::Corrupt, "modelTopology has no class_name");
    }
    const std::string modelClass = cfgRoot["class_name"].get<std::string>();
    const Json config = cfgRoot.contains("config") ? cfgRoot["config"] : Json();
    const Json* layers = nullptr;
    if (config.is_array()) layers = &config;  // old Sequential: config is the layer list
    if (config.is_object() && config.contains("layers") && config["layers"].is_array()) {
        layers = &config["layers"];
    }
    if (layers == nullptr) return makeError(ErrorCode::Corrupt, "the model config has no layers");
    engine::Graph& g = m_b.graph();
    std::map<std::string, TValue> outputs;  // layer name -> its output

    auto layerOf = [&](const Json& l, std::string& cls, std::string& name,
                       const Json*& cfg) -> Status {
        if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() ||
            !l.contains("config") || !l["config"].is_object()) {
            return makeError(ErrorCode::Corrupt, "a layer has no class_name and config");
        }
        cls = l["class_name"].get<std::string>();
        cfg = &l["config"];
        name = str(*cfg, "name", str(l, "name", ""));
        if (name.empty()) return makeError(ErrorCode::Corrupt, "a " + cls + " layer has no name");
        if (outputs.count(name) != 0) {
            return makeError(ErrorCode::Corrupt, "two layers are named '" + name + "'");
        }
        return {};
    };

    if (modelClass == "Sequential") {
        TValue x;
        bool started = false;
        for (const Json& l : *layers) {
            std::string cls, name;
            const Json* cfg = nullptr;
            PL_TRY(layerOf(l, cls, name, cfg));
            const std::string where = "layer '" + name + "' (" + cls + ")";
            if (!started) {
                auto in = inputLayer(*cfg, cls == "InputLayer" ? name : name + "_input");
                if (!in.ok()) return in.error().within(where);
                x = *in;
                started = true;
                if (cls == "InputLayer") {
                    outputs[name] = x;
                    continue;
                }
            }
            auto y = layer(cls, *cfg, name, {x});
            if (!y.ok()) return y.error().within(where);
            x = *y;
            outputs[name] = x;
        }
        if (!started) return makeError(ErrorCode::Corrupt, "the model has no layers");
        std::string last = "output";
        if (!layers->empty() && (*layers).back().is_object() &&
            (*layers).back().contains("config")) {
            last = str((*layers).back()["config"], "name", last);
        }
        return m_b.output(x, last);
    }
    if (modelClass != "Model" && modelClass != "Functional") {
        return makeError(ErrorCode::Unsupported,
                         "model class '" + modelClass + "' (Sequential, Model, Functional)");
    }
    // Functional: layers are listed in an order where inputs come first (Keras saves them so).
    for (const Json& l : *layers) {
        std::string cls, name;
        const Json* cfg = nullptr;
        PL_TRY(layerOf(l, cls, name, cfg));
        const std::string where = "layer '" + name + "' (" + cls + ")";
        if (cls == "InputLayer") {
            auto in = inputLayer(*cfg, name);
            if (!in.ok()) return in.error().within(where);
            outputs[name] = *in;
            continue;
        }
        const auto nodes = l.find("inbound_nodes");
        if (nodes == l.end() || !nodes->is_array() || nodes->size() != 1 ||
            !(*nodes)[0].is_array()) {
            return makeError(ErrorCode::Unsupported,
                             "needs exactly one inbound node (shared layers are not supported)",
                             where);
        }
        std::vector<TValue> ins;
        for (const Json& ref : (*nodes)[0]) {
            if (!ref.is_array() || ref.size() < 3 || !ref[0].is_string() || ref[1] != 0 ||
                ref[2] != 0) {
                return makeError(ErrorCode::Unsupported,
                                 "an inbound reference is not [layer, 0, 0, ...]: " + ref.dump(),
                                 where);
            }
            auto it = outputs.find(ref[0].get<std::string>());
            if (it == outputs.end()) {
                return makeError(
                    ErrorCode::NotFound,
                    "reads layer '" + ref[0].get<std::string>() + "', defined later or never",
                    where);
            }
            ins.push_back(it->second);
        }
        auto y = layer(cls, *cfg, name, ins);
        if (!y.ok()) return y.error().within(where);
        outputs[name] = *y;
    }
    if (!config.contains("output_layers") || !config["output_layers"].is_array()) {
        return makeError(ErrorCode::Corrupt, "the model config has no output_layers");
    }
    for (const Json& ref : config["output_layers"]) {
        if (!ref.is_array() || ref.empty() || !ref[0].is_string()) {
            return makeError(ErrorCode::Corrupt, "an output_layers entry is not [layer, 0, 0]");
        }
        const std::string name = ref[0].get<std::string>();
        auto it = outputs.find(name);
        if (it == outputs.end()) {
            return makeError(ErrorCode::NotFound, "output layer '" + name + "' does not exist");
        }
        PL_TRY(m_b.output(it->second, name));
    }
    if (g.outputs.empty()) return makeError(ErrorCode::Corrupt, "the model has no outputs");
    return {};
}

}  // namespace

Status importLayersModel(const Json& model, const std::map<std::string, Tensor>& weights,
                         engine::Graph& graph, int64_t height, int64_t width) {
    LayersImporter importer(graph, weights, height, width);
    return importer.run(model);
}

}  // namespace prunelab::tfjs::internal

// The tfjs importer's internal pieces, shared by its source files: the weights manifest reader
// (tfjs_weights.cpp), the NHWC-aware IR builder both model kinds use (tfjs_builder.cpp), the
// graph-model ops (tfjs_graph.cpp) and the Keras layers (tfjs_layers.cpp).
// Not a public header: nothing outside plugins/import-tfjs includes it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::tfjs::internal {

// The engine names every part of the importer uses (this header is the importer's own).
using engine::Attributes;
using engine::DataType;
using engine::ErrorCode;
using engine::makeError;
using engine::OpKind;
using engine::Result;
using engine::Shape;
using engine::shapeToString;
using engine::Status;
using engine::Tensor;
using engine::ValueId;

// Ordered: a signature's outputs keep the file's order, which is the order tfjs returns them in.
using Json = nlohmann::ordered_json;

// ---- Weights (tfjs_weights.cpp) ------------------------------------------------------------

// Reads one shard by its manifest path; the caller checks the path first (checkShardPath).
using ShardReader = std::function<engine::Result<std::string>(const std::string& path)>;

// A shard path must stay inside the model's folder: no absolute path, no "..", and (when
// `modelDir` is non-empty) no symlink that resolves outside it.
engine::Status checkShardPath(const std::string& path, const std::string& modelDir);

// Every weight of the manifest by name: float32 (float16, uint8 and uint16 dequantised),
// int32 or bool. Errors name the weight or the shard.
engine::Result<std::map<std::string, engine::Tensor>> readWeights(const Json& manifest,
                                                                  const ShardReader& read);

// ---- Builder (tfjs_builder.cpp) ------------------------------------------------------------

// A tfjs tensor as the IR holds it. tfjs is NHWC; a 4-D activation is kept as NCHW (`nchw`
// true) from the first op that needs it, so a chain of convs has no transposes between them.
struct TValue {
    engine::ValueId id = engine::kNoValue;
    bool nchw = false;
};

// TF's padding: SAME (output ceil(in / stride), the extra pixel at the end), VALID, or explicit
// (top, bottom, left, right).
struct Padding {
    std::string mode = "VALID";
    std::vector<int64_t> explicitPads;  // t, b, l, r for EXPLICIT
};

struct Conv2dSpec {
    int64_t strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
    Padding padding;
};

// Activations fused into convs and dense layers, or standing alone.
struct Activation {
    std::string kind;      // "" / linear, relu, relu6, leakyrelu, prelu, sigmoid, tanh, elu, ...
    float alpha = 0.2f;    // leaky relu slope
    engine::Tensor slope;  // prelu, in tfjs layout (broadcasts over NHWC)
};

class Builder {
  public:
    explicit Builder(engine::Graph& graph) : m_graph(graph) {}

    engine::Graph& graph() { return m_graph; }
    const engine::Shape& shape(engine::ValueId id) const { return m_graph.value(id).shape; }
    // The shape tfjs sees: NHWC for a value held as NCHW.
    engine::Shape logicalShape(const TValue& v) const;

    engine::Result<engine::ValueId> emit(engine::OpKind op, const std::string& name,
                                         std::vector<engine::ValueId> inputs,
                                         engine::Attributes attrs = {});
    engine::ValueId constant(const std::string& name, engine::Tensor value);
    // The value as NCHW (4-D only) or as tfjs lays it out; one Transpose per value, reused.
    engine::Result<engine::ValueId> nchw(const TValue& v, const std::string& name);
    engine::Result<engine::ValueId> plain(const TValue& v, const std::string& name);
    // Appends `v`, in tfjs's layout, to the graph's outputs under tfjs's name for it.
    engine::Status output(const TValue& v, const std::string& name);

    // NHWC-semantics operations. Kernels in tfjs layout: conv HWIO, depthwise [kh,kw,C,M],
    // transposed conv [kh,kw,out,in]. `bias` may be empty.
    engine::Result<TValue> conv2d(const std::string& name, const TValue& x,
                                  const engine::Tensor& kernel, const engine::Tensor& bias,
                                  const Conv2dSpec& spec);
    engine::Result<TValue> depthwise(const std::string& name, const TValue& x,
                                     const engine::Tensor& kernel, const engine::Tensor& bias,
                                     const Conv2dSpec& spec);
    // outH/outW: the output size the model asks for (Conv2DBackpropInput's input_sizes).
    engine::Result<TValue> convTranspose(const std::string& name, const TValue& x,
                                         const engine::Tensor& kernel, const engine::Tensor& bias,
                                         const Conv2dSpec& spec, int64_t outH, int64_t outW);
    engine::Result<TValue> pool(const std::string& name, const TValue& x, bool max, int64_t kh,
                                int64_t kw, const Conv2dSpec& spec);
    engine::Result<TValue> activation(const std::string& name, const TValue& x,
                                      const Activation& act);
    // Element-wise with numpy broadcasting in tfjs layout; constants are re-laid out to NCHW.
    engine::Result<TValue> binary(const std::string& name, engine::OpKind op, const TValue& a,
                                  const TValue& b);
    engine::Result<TValue> addBias(const std::string& name, const TValue& x,
                                   const engine::Tensor& bias);
    // x [.., K] times kernel [K, N] (+ bias [N]): a Gemm for 2-D x, else MatMul (+ Add).
    engine::Result<TValue> dense(const std::string& name, const TValue& x,
                                 const engine::Tensor& kernel, const engine::Tensor& bias,
                                 bool transposeKernel);
    // pads: per tfjs axis, (before, after) pairs; mode constant / reflect / edge.
    engine::Result<TValue> pad(const std::string& name, const TValue& x,
                               const std::vector<int64_t>& pads, const std::string& mode,
                               float value);
    // Bilinear or nearest to outH x outW with TF's align_corners / half_pixel_centers.
    engine::Result<TValue> resize(const std::string& name, const TValue& x, bool bilinear,
                                  int64_t outH, int64_t outW, bool alignCorners,
                                  bool halfPixelCenters);
    // axis in tfjs layout (negative counts from the end).
    engine::Result<TValue> concat(const std::string& name, const std::vector<TValue>& xs,
                                  int64_t axis);
    engine::Result<TValue> softmax(const std::string& name, const TValue& x, int64_t axis);
    // Mean / max over tfjs axes.
    engine::Result<TValue> reduceMean(const std::string& name, const TValue& x,
                                      std::vector<int64_t> axes, bool keepDims);
    // shape in tfjs layout with TF's -1; resolved here.
    engine::Result<TValue> reshape(const std::string& name, const TValue& x,
                                   std::vector<int64_t> shape);

  private:
    engine::Result<TValue> convCommon(const std::string& name, const TValue& x,
                                      engine::Tensor weight, const engine::Tensor& bias,
                                      const Conv2dSpec& spec, int64_t group);
    // A constant operand laid out to broadcast against an NCHW value.
    engine::Result<engine::Tensor> constantForNchw(const engine::Tensor& c) const;

    engine::Graph& m_graph;
    std::map<engine::ValueId, engine::ValueId> m_nchwOf, m_plainOf;
};

// Host-side helpers.
// A float32 / int32 tensor transposed by `perm` (out dim i = in dim perm[i]).
engine::Tensor transposeHost(const engine::Tensor& t, const std::vector<int64_t>& perm);
// TF padding for one spatial dim: before and after.
engine::Status padsFor(const Padding& p, int axis, int64_t in, int64_t kernel, int64_t stride,
                       int64_t dilation, int64_t& before, int64_t& after);
// The named Activation ("relu", "relu6", "sigmoid", "tanh", "softmax" is not one, "linear").
engine::Result<Activation> kerasActivation(const std::string& name);

// ---- The two model kinds -----------------------------------------------------------------

engine::Status importGraphModel(const Json& model,
                                const std::map<std::string, engine::Tensor>& weights,
                                engine::Graph& graph, int64_t height, int64_t width);
engine::Status importLayersModel(const Json& model,
                                 const std::map<std::string, engine::Tensor>& weights,
                                 engine::Graph& graph, int64_t height, int64_t width);

// Binds a declared input shape: -1 batch -> 1, -1 spatial -> height / width (rank 4, NHWC).
engine::Result<engine::Shape> bindInputShape(std::vector<int64_t> dims, int64_t height,
                                             int64_t width);

}  // namespace prunelab::tfjs::internal

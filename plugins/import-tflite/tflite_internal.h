// The TFLite importer's internal pieces, shared by its source files: tflite_import.cpp (the
// file, the checked views of tensors and buffers, constants, the driver), tflite_ops.cpp (one
// mapping per operator, with the NHWC -> NCHW layout bookkeeping) and tflite_sparsity.cpp
// (TFLite's sparse tensor format decoded to dense). Not a public header.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ops/op.h"
#include "tflite_generated.h"

namespace prunelab::tflite::internal {

// "CONV_2D", "CUSTOM 'Convolution2DTransposeBias'", or "operator code 205" when our schema
// does not name it.
std::string opName(int32_t code, const std::string& customCode);

// Decodes a tensor stored with TFLite's `sparsity` into its dense elements (elementSize bytes
// each, zeros where nothing is stored). `stored` holds the stored values in traversal order.
// Refuses inconsistent metadata (permutations, block maps, sizes, segments, indices).
engine::Result<std::vector<uint8_t>> densify(const ::tflite::SparsityParameters& sparsity,
                                             const std::vector<int64_t>& shape,
                                             const uint8_t* stored, size_t storedBytes,
                                             size_t elementSize);

// One TFLite tensor as the importer sees it during the walk: its IR value in TFLite's own order
// (`plain`) and/or, for rank-4 activations, in the IR's NCHW order (`nchw`). Either is made
// from the other on demand by one Transpose, kept for every later reader.
struct Slot {
    engine::ValueId plain = engine::kNoValue;
    engine::ValueId nchw = engine::kNoValue;
};

enum class Layout { Plain, Nchw };

class Importer {
  public:
    Importer(const ::tflite::Model& model, const ::tflite::SubGraph& subgraph, engine::Graph& graph)
        : m_model(model), m_subgraph(subgraph), m_graph(graph) {}

    // Checks every tensor (shape, buffer index and size, type); first step of the walk.
    engine::Status checkTensors();
    engine::Status bindInputs(int64_t height, int64_t width);
    engine::Status importOperator(size_t index);
    engine::Status bindOutputs();
    std::vector<std::string> notes;          // for graph.metadata["import.notes"]
    std::map<std::string, int> dequantised;  // integer weight tensors by TFLite type
    bool sparseWeights = false;              // a weight came from TFLite's sparse storage

    // ---- tensors (tflite_import.cpp) ----
    size_t tensorCount() const;
    const ::tflite::Tensor& tensor(int32_t index) const;
    std::string tensorName(int32_t index) const;
    std::string describeTensor(int32_t index) const;  // "tensor 12 'conv1/weights'"
    // The tensor's declared shape (checked by checkTensors()).
    const std::vector<int64_t>& declaredShape(int32_t index) const { return m_shapes[index]; }
    // A constant tensor's value in TFLite's own order: float32 (fp16 widened, int8/uint8
    // dequantised) or int32/int64; folded DEQUANTIZE/DENSIFY results too. nullopt: no data.
    engine::Result<std::optional<engine::Tensor>> constant(int32_t index);
    engine::Result<std::vector<int64_t>> constantInts(int32_t index, const std::string& what);

  private:
    // ---- operator mappings (tflite_ops.cpp) ----
    struct OpContext {
        size_t index = 0;
        const ::tflite::Operator* op = nullptr;
        std::string name;  // the operator's name: its first output tensor's
        std::vector<int32_t> inputs;
        std::vector<int32_t> outputs;
    };
    engine::Status dispatch(const OpContext& c, int32_t code, const std::string& custom);
    engine::Status expectIo(const OpContext& c, size_t minInputs, size_t maxInputs,
                            size_t outputs) const;
    bool isConstant(int32_t index) const;
    engine::Result<engine::ValueId> value(int32_t index, Layout layout);
    int64_t rankOf(int32_t index) const;
    // Adds a node producing `out` in `layout`, infers its shape, applies a fused activation
    // and checks the result against the file's declared shape.
    engine::Status emit(
        const OpContext& c, engine::OpKind op, std::vector<engine::ValueId> in,
        engine::Attributes attrs, int32_t out, Layout layout,
        ::tflite::ActivationFunctionType act = ::tflite::ActivationFunctionType::NONE);
    engine::Result<engine::ValueId> node(const OpContext& c, engine::OpKind op,
                                         const std::string& name, std::vector<engine::ValueId> in,
                                         engine::Attributes attrs = {});
    engine::ValueId addConstant(const std::string& name, engine::Tensor t);
    engine::Result<engine::ValueId> weight(const OpContext& c, int32_t index,
                                           const std::vector<int64_t>& perm,
                                           const std::string& what);
    engine::Result<engine::ValueId> bias(const OpContext& c, size_t input, int64_t channels);

    engine::Status conv(const OpContext& c, bool depthwise);
    engine::Status transposeConv(const OpContext& c, bool mediapipeBias);
    engine::Status fullyConnected(const OpContext& c);
    engine::Status binary(const OpContext& c, engine::OpKind op,
                          ::tflite::ActivationFunctionType act);
    engine::Status unary(const OpContext& c, engine::OpKind op, engine::Attributes attrs = {});
    engine::Status prelu(const OpContext& c);
    engine::Status concat(const OpContext& c);
    engine::Status reshape(const OpContext& c);
    engine::Status transpose(const OpContext& c);
    engine::Status pad(const OpContext& c, const std::string& mode);
    engine::Status pool(const OpContext& c, bool max);
    engine::Status resize(const OpContext& c, bool bilinear);
    engine::Status softmax(const OpContext& c);
    engine::Status reduce(const OpContext& c, engine::OpKind op);
    engine::Status depthToSpace(const OpContext& c);
    engine::Status foldConstant(const OpContext& c, bool densify);

    const ::tflite::Model& m_model;
    const ::tflite::SubGraph& m_subgraph;
    engine::Graph& m_graph;
    std::vector<std::vector<int64_t>> m_shapes;  // declared shapes, checked
    std::vector<Slot> m_slots;                   // per tensor, as produced
    std::map<int32_t, engine::Tensor> m_folded;  // DEQUANTIZE/DENSIFY of constants
    std::map<std::pair<int32_t, int>, engine::ValueId> m_constants;  // IR constants made
    std::set<int32_t> m_outputs;  // the subgraph's output tensors
    bool m_checkShapes = true;    // false once a dynamic dim was bound to another size
};

}  // namespace prunelab::tflite::internal

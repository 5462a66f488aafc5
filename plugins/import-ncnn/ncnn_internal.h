// The ncnn importer's internal pieces, shared by its three source files: the .param/.bin
// readers (ncnn_import.cpp) and the per-layer mappings (ncnn_layers.cpp for weighted and
// element-wise layers, ncnn_shape_layers.cpp for layers that move or reshape data).
// Not a public header: nothing outside plugins/import-ncnn includes it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ops/op.h"

namespace prunelab::ncnn::internal {

// One layer's "id=value" pairs. Array params use id -23300-k and "n,v1,...,vn".
class ParamDict {
  public:
    engine::Status parse(const std::string& token);
    bool has(int id) const { return m_values.count(id) != 0; }
    engine::Result<int64_t> getInt(int id, int64_t fallback) const;
    engine::Result<float> getFloat(int id, float fallback) const;
    engine::Result<std::vector<float>> getFloats(int id) const;
    // An array of integers (ncnn writes them as -23300-k arrays of ints).
    engine::Result<std::vector<int64_t>> getInts(int id) const;

  private:
    std::map<int, std::vector<std::string>> m_values;
};

struct Layer {
    std::string type;
    std::string name;
    std::vector<std::string> bottoms;
    std::vector<std::string> tops;
    ParamDict params;
};

// The .bin as ncnn's ModelBinFromDataReader reads it: sequential blobs, no index.
class BinReader {
  public:
    explicit BinReader(std::string data) : m_data(std::move(data)) {}
    // `tagged`: the blob starts with ncnn's 4-byte storage tag (conv / fc weights).
    engine::Result<std::vector<float>> load(int64_t count, bool tagged, const std::string& what);
    size_t remaining() const { return m_data.size() - m_pos; }

  private:
    engine::Status need(size_t bytes, const std::string& what) const;
    std::string m_data;
    size_t m_pos = 0;
};

// Turns one ncnn layer at a time into IR nodes. ncnn blobs have no batch dim; the IR keeps
// the batch of 1 in front, so an ncnn blob of `dims` dimensions is an IR value of rank
// dims + 1 ([1, w], [1, h, w], [1, c, h, w]) and ncnn axis a is IR axis a + 1.
class Importer {
  public:
    Importer(engine::Graph& graph, BinReader& bin) : m_graph(graph), m_bin(bin) {}

    engine::Status importLayer(const Layer& layer, int64_t height, int64_t width);
    std::map<std::string, engine::ValueId> blobs;  // ncnn blob name -> IR value (Split aliases)
    std::map<std::string, int> consumers;          // reads per blob, to find the outputs

  private:
    engine::Result<engine::ValueId> input(const Layer& layer, size_t i) const;
    const engine::Shape& shapeOf(engine::ValueId id) const { return m_graph.value(id).shape; }
    // Adds a node, infers its output shape and records it as blob `top` (empty: unnamed).
    engine::Result<engine::ValueId> emit(engine::OpKind op, const std::string& nodeName,
                                         std::vector<engine::ValueId> inputs,
                                         const std::string& top, engine::Attributes attrs = {});
    engine::Result<engine::ValueId> emitActivation(const Layer& layer, engine::ValueId x,
                                                   int64_t type, const std::vector<float>& params,
                                                   const std::string& top);
    engine::ValueId constant(const std::string& name, engine::Tensor value);
    engine::Status expectCounts(const Layer& layer, size_t bottoms, size_t tops) const;

    // ncnn_layers.cpp
    engine::Status simpleLayer(const Layer& layer, bool& handled);
    engine::Status convolution(const Layer& layer, bool depthwise);
    engine::Status deconvolution(const Layer& layer, bool depthwise);
    engine::Status binaryOp(const Layer& layer);
    engine::Status eltwise(const Layer& layer);
    engine::Status pooling(const Layer& layer);
    engine::Status innerProduct(const Layer& layer);
    engine::Status activationLayer(const Layer& layer);
    // ncnn_shape_layers.cpp
    engine::Status interp(const Layer& layer);
    engine::Status concat(const Layer& layer);
    engine::Status pixelShuffle(const Layer& layer);
    engine::Status reshape(const Layer& layer);
    engine::Status permute(const Layer& layer);
    engine::Status softmax(const Layer& layer);
    engine::Status crop(const Layer& layer);
    engine::Status padding(const Layer& layer);
    engine::Status flatten(const Layer& layer);

    engine::Graph& m_graph;
    BinReader& m_bin;
};

}  // namespace prunelab::ncnn::internal

// ONNX import and export. Import parses with protobuf, runs onnx's checker, binds dynamic dims,
// maps each node through its op's OpDef::importOnnx, folds constant sub-graphs and
// BatchNormalization, and (in debug builds) cross-checks shapes with onnx's shape inference.
// Every failure names the file, node and problem.
// Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine {

struct OnnxImportOptions {
    // Binds an input's dims: input name -> full shape. A -1 entry keeps the file's dim.
    // Unbound dynamic dims: a leading (batch) dim becomes 1; any other is an error that names
    // the input and dim, asking for a size (the CLI's --size WxH fills H and W).
    std::map<std::string, Shape> inputShapes;
    bool foldBatchNorm = true;  // fold BatchNormalization into the Conv before it
    // Files over this size are refused before parsing (protobuf's own limit is 2 GiB).
    size_t maxFileBytes = size_t(2000) << 20;
};

Result<Graph> importOnnxFile(const std::string& path, const OnnxImportOptions& options = {});
// `displayName` names the model in errors; `baseDir` is where external data may live (empty:
// external data is refused). External-data paths must stay inside baseDir.
Result<Graph> importOnnxBytes(std::string_view bytes, const std::string& displayName,
                              const std::string& baseDir, const OnnxImportOptions& options = {});

// Writes the graph as an ONNX model (opset kOnnxExportOpset, initializers inline). The result
// passes onnx's checker and loads in ONNX Runtime; importing it again gives the same IR.
// metadata_props holds graph.metadata plus `metadata` (which wins on equal keys); import reads
// metadata_props back into Graph::metadata.
Status exportOnnxFile(const Graph& graph, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});
Result<std::string> exportOnnxBytes(const Graph& graph,
                                    const std::map<std::string, std::string>& metadata = {});

}  // namespace prunelab::engine

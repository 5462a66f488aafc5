// The model format a LOAD carries (docs/PHONE-PROTOCOL.md, "Model format"): the graph (values
// with their constants, nodes with every kind of attribute) and optionally the compiler's
// sparse layers (codegen::SparseModel), in our own little-endian binary layout. Decoding
// validates like any importer: every count, size, index and offset against the bytes left and
// sane limits before allocation, then the IR verifier (shape inference) on the graph, and the
// compiled layers against the graph's own layers and codegen::verify (storage that unpacks to
// the graph's weights exactly). Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine::remote {

// The model format's own magic ('PLMD') and version; part of the protocol version
// (kProtocolBase), kept apart so a saved model names what wrote it.
inline constexpr uint32_t kModelMagic = 0x444d4c50;
inline constexpr uint32_t kModelFormatVersion = 1;

struct RemoteModel {
    Graph graph;
    // The compiled layers, when the desktop sent them. Passes and measurements are reports and
    // do not travel; each layer's tuning does.
    std::optional<codegen::SparseModel> sparse;
};

// `sparse` may be null (a dense model). The graph's sourcePath does not travel.
std::vector<uint8_t> encodeModel(const Graph& graph, const codegen::SparseModel* sparse);
// Errors are Corrupt and name the section, field and byte offset, or the node or layer.
Result<RemoteModel> decodeModel(std::span<const uint8_t> bytes);

}  // namespace prunelab::engine::remote

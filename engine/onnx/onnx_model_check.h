// The importer's checks on the ModelProto before any IR is built: parsing with protobuf's limits,
// our own structural pre-checks (ops, domains, names, topological order), onnx's checker,
// binding dynamic input dims, and onnx's shape inference as a cross-check. Internal to
// engine/onnx.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include <onnx/onnx_pb.h>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/onnx/onnx_import.h"

namespace prunelab::engine::internal {

// "node 'conv1' (Conv)", or "node #3 (Conv)" when the file leaves it unnamed.
std::string describeOnnxNode(const onnx::NodeProto& node, int index);

// Parses `bytes` with a CodedInputStream (size and recursion limits). Corrupt "'x.onnx' is not
// an ONNX model or is truncated" when it does not parse or has no graph.
Status parseOnnxModel(std::string_view bytes, const std::string& displayName,
                      onnx::ModelProto& model);

// The model's default-domain ("" or "ai.onnx") opset; Corrupt when it declares none.
Result<int64_t> defaultOpset(const onnx::ModelProto& model);

// Our own checks, run before onnx's checker so the common problems get precise codes:
// foreign domains and unknown ops (Unsupported), names no one produces (NotFound), values
// produced twice (Corrupt). Sorts the nodes topologically in place when the file does not;
// a cycle is Corrupt.
Status precheckOnnxGraph(onnx::GraphProto& graph);

// onnx's checker with a context that knows the model's folder (external data). Lenient where
// the library is older than the model: a newer IR version is checked by the newest rules this
// libonnx knows, and with an opset newer than it knows, schema complaints are not held against
// the model (our per-op mapping checks every node anyway); graph outputs need no declared
// shape. Corrupt naming the checker's message.
Status runOnnxChecker(const onnx::ModelProto& model, const std::string& baseDir);

// Binds every graph input's dims (see OnnxImportOptions) and writes them into the proto so
// onnx's shape inference sees static shapes. `constants` lists initializer names (inputs that
// are also initializers are constants, not inputs).
Status bindOnnxInputShapes(onnx::GraphProto& graph,
                           const std::unordered_map<std::string, int>& constants,
                           const OnnxImportOptions& options);

// The fully static shapes the file itself declares (value_info and graph outputs), by name:
// quoted when our own inference refuses a node.
std::unordered_map<std::string, Shape> declaredOnnxShapes(const onnx::GraphProto& graph);

// Runs onnx's shape inference on the bound model and compares every static shape it finds with
// the imported graph's; a difference is an Internal error (an op's inference is wrong). Only
// for models whose every node our ops have already accepted: libonnx's inference is not hardened
// against hostile files (a Conv stride of 0 divides by zero inside it, found by the fuzzer), so
// the importer calls this in debug builds only, as a development check. Ours is authoritative.
Status crossCheckOnnxShapes(onnx::ModelProto& model, const Graph& graph);

}  // namespace prunelab::engine::internal

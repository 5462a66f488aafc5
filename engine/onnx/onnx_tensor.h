// TensorProto <-> Tensor for the ONNX importer and exporter: dtype mapping, raw and typed
// fields, float16/bfloat16 widening, and external data confined to the model's folder.
// Internal to engine/onnx; every failure names the tensor and says what is wrong.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine::internal {

// The engine dtype an ONNX elem_type maps to (float16/bfloat16 map to Float32, since importers
// widen them), or Undefined for types the engine does not handle.
DataType dataTypeFromOnnx(int32_t onnxType);
// The ONNX elem_type of an engine dtype (Undefined -> 0).
int32_t dataTypeToOnnx(DataType type);
// "FLOAT16", "STRING", ... for messages; "type 42" for unknown codes.
std::string onnxTypeName(int32_t onnxType);

// Where external data may be read from. An empty baseDir refuses external data.
struct ExternalDataPolicy {
    std::string baseDir;
};

// Converts a TensorProto. `what` names it in messages ("initializer 'w'", "attribute 'value'").
// Sizes are checked before anything is allocated: a 2^40-element shape is OutOfRange, a byte
// count that does not match the shape is Corrupt, an external path outside baseDir is
// InvalidArgument.
Result<Tensor> tensorFromOnnx(const onnx::TensorProto& proto, const std::string& what,
                              const ExternalDataPolicy& external);

// Fills `proto` (dims, data_type, raw_data little-endian) from `tensor`; keeps proto's name.
void tensorToOnnx(const Tensor& tensor, onnx::TensorProto& proto);

// The external-data location of `proto` ("" if none or not external): for early path checks.
std::string externalLocation(const onnx::TensorProto& proto);
// Checks that `location` is relative and stays inside baseDir after canonicalisation; returns
// the resolved path. `what` names the tensor.
Result<std::string> resolveExternalPath(const std::string& baseDir, const std::string& location,
                                        const std::string& what);

}  // namespace prunelab::engine::internal

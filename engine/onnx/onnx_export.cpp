// ONNX export: placeholder until the exporter lands.
#include "engine/onnx/onnx_import.h"

namespace prunelab::engine {

Status exportOnnxFile(const Graph&, const std::string& path) {
    return makeError(ErrorCode::Unsupported, "ONNX export is not implemented yet", path);
}

Result<std::string> exportOnnxBytes(const Graph&) {
    return makeError(ErrorCode::Unsupported, "ONNX export is not implemented yet");
}

}  // namespace prunelab::engine

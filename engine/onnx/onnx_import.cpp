// ONNX import: placeholder until the importer lands.
#include "engine/onnx/onnx_import.h"

namespace prunelab::engine {

Result<Graph> importOnnxFile(const std::string& path, const OnnxImportOptions&) {
    return makeError(ErrorCode::Unsupported, "ONNX import is not implemented yet", path);
}

Result<Graph> importOnnxBytes(std::string_view, const std::string& displayName, const std::string&,
                              const OnnxImportOptions&) {
    return makeError(ErrorCode::Unsupported, "ONNX import is not implemented yet", displayName);
}

}  // namespace prunelab::engine

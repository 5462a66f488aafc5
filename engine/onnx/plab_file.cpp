// Writing and reading pruned models through the ONNX exporter and importer (see plab_file.h).
#include "engine/onnx/plab_file.h"

namespace prunelab::engine::prune {

Status exportPrunedOnnx(const PrunedModel& model, const std::string& path) {
    return exportOnnxFile(model.graph, path, prunedOnnxMetadata(model));
}

Status savePlabFile(const PrunedModel& model, const std::string& path) {
    auto meta = plabMetadata(model);
    if (!meta.ok()) return meta.error().within(path);
    return exportOnnxFile(model.graph, path, *meta);
}

Result<PrunedModel> loadPlabFile(const std::string& path, const OnnxImportOptions& options) {
    PL_TRY_ASSIGN(Graph graph, importOnnxFile(path, options));
    return prunedModelFromGraph(std::move(graph));
}

Result<PrunedModel> loadPlabBytes(std::string_view bytes, const std::string& name,
                                  const OnnxImportOptions& options) {
    PL_TRY_ASSIGN(Graph graph, importOnnxBytes(bytes, name, "", options));
    return prunedModelFromGraph(std::move(graph));
}

}  // namespace prunelab::engine::prune

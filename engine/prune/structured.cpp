// Structured scheme: placeholder until its projection lands (returns Unsupported, never silently).
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class StructuredScheme final : public Scheme {
  public:
    std::string_view id() const override { return "structured"; }
    std::string_view displayName() const override { return "Structured"; }
    std::vector<ParamSpec> params() const override { return {}; }
    std::string explain(const ParamValues&) const override { return "Not implemented yet."; }
    bool supports(const LayerWeights&) const override { return false; }
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights>,
                                                 const ParamValues&) const override {
        return makeError(ErrorCode::Unsupported, "the structured scheme is not implemented yet");
    }
};

}  // namespace

const Scheme& schemeStructured() {
    static const StructuredScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

// NonStructured scheme: placeholder until its projection lands (returns Unsupported, never
// silently).
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class NonStructuredScheme final : public Scheme {
  public:
    std::string_view id() const override { return "non_structured"; }
    std::string_view displayName() const override { return "NonStructured"; }
    std::vector<ParamSpec> params() const override { return {}; }
    std::string explain(const ParamValues&) const override { return "Not implemented yet."; }
    bool supports(const LayerWeights&) const override { return false; }
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights>,
                                                 const ParamValues&) const override {
        return makeError(ErrorCode::Unsupported,
                         "the non_structured scheme is not implemented yet");
    }
};

}  // namespace

const Scheme& schemeNonStructured() {
    static const NonStructuredScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

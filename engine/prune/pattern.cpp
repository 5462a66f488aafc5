// Pattern scheme: placeholder until its projection lands (returns Unsupported, never silently).
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class PatternScheme final : public Scheme {
  public:
    std::string_view id() const override { return "pattern"; }
    std::string_view displayName() const override { return "Pattern"; }
    std::vector<ParamSpec> params() const override { return {}; }
    std::string explain(const ParamValues&) const override { return "Not implemented yet."; }
    bool supports(const LayerWeights&) const override { return false; }
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights>,
                                                 const ParamValues&) const override {
        return makeError(ErrorCode::Unsupported, "the pattern scheme is not implemented yet");
    }
};

}  // namespace

const Scheme& schemePattern() {
    static const PatternScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

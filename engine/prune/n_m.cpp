// NM scheme: placeholder until its projection lands (returns Unsupported, never silently).
#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {

namespace {

class NMScheme final : public Scheme {
  public:
    std::string_view id() const override { return "n_m"; }
    std::string_view displayName() const override { return "NM"; }
    std::vector<ParamSpec> params() const override { return {}; }
    std::string explain(const ParamValues&) const override { return "Not implemented yet."; }
    bool supports(const LayerWeights&) const override { return false; }
    Result<std::vector<LayerProjection>> project(std::span<const LayerWeights>,
                                                 const ParamValues&) const override {
        return makeError(ErrorCode::Unsupported, "the n_m scheme is not implemented yet");
    }
};

}  // namespace

const Scheme& schemeNM() {
    static const NMScheme instance;
    return instance;
}

}  // namespace prunelab::engine::prune

// The pruning-scheme contract. A scheme is a projection onto a constraint set: given weights,
// return the nearest weights (in L2) that satisfy the scheme, and the mask. The same call
// serves one-shot pruning and ADMM's Z-step (Z = project(W + U)), so it must be exact,
// deterministic and idempotent. Adding a scheme = engine/prune/<scheme>.cpp + one line in
// scheme_list.inc. Schemes are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine::prune {

// ---- typed parameters (the GUI builds its controls from these) ----

struct ParamSpec {
    enum class Type { Real, Integer, Choice, Flag };
    std::string key;    // "rate", "patterns", "tile_width", ...
    std::string label;  // "Pruning rate"
    std::string help;   // one sentence for the tooltip
    Type type = Type::Real;
    double min = 0, max = 1;           // Real / Integer range, inclusive unless said in help
    double defaultNumber = 0;          // Real / Integer / Flag (0 or 1) default
    std::vector<int64_t> allowed;      // Integer: if non-empty, the only allowed values
    std::vector<std::string> choices;  // Choice: allowed values; choices[0] is the default
};

using ParamValue = std::variant<double, int64_t, std::string, bool>;

// Parameter values by key. Missing keys take the spec's default.
class ParamValues {
  public:
    void set(const std::string& key, ParamValue value) { m_values[key] = std::move(value); }
    bool has(const std::string& key) const { return m_values.count(key) != 0; }
    double number(const std::string& key, double fallback) const;  // Real/Integer/Flag
    std::string choice(const std::string& key, const std::string& fallback) const;
    const std::map<std::string, ParamValue>& all() const { return m_values; }
    bool operator==(const ParamValues& other) const { return m_values == other.m_values; }

    // InvalidArgument naming the key, the value and the allowed range/set; unknown keys too.
    Status validate(std::span<const ParamSpec> specs) const;

  private:
    std::map<std::string, ParamValue> m_values;
};

// ---- what a scheme projects ----

// One layer's weights in the layer view's order: float32 [out][in/groups][kh][kw]
// (Gemm/MatMul layers as [out][in][1][1]). Built from engine/ir/layer_view.h.
struct LayerWeights {
    std::string name;
    Tensor weights;
    int64_t groups = 1;
};

// Tile-wise structure of a layer's GEMM view [out] x [in/g * kh * kw]: columns cut into tiles
// of `tileWidth`; within tile t, rows keptRows[t] survive; columns keptColumns survive globally.
struct TileStructure {
    int64_t tileWidth = 0;
    std::vector<std::vector<int32_t>> keptRows;  // per tile, sorted
    std::vector<int32_t> keptColumns;            // sorted
};

// A 3x3 pattern: a 9-bit mask, bit (y * 3 + x) set for kept positions.
using Pattern = uint16_t;

struct LayerProjection {
    Tensor weights;  // projected, same shape and order as the input
    Tensor mask;     // UInt8, same shape: 1 kept, 0 pruned
    // Pattern scheme: the layer's pattern set and, per kernel (o * inPerGroup + i), the index
    // into it, or -1 for a kernel removed by connectivity pruning.
    std::vector<Pattern> patternSet;
    std::vector<int32_t> kernelPattern;
    TileStructure tiles;  // tile-wise scheme only (tileWidth 0 otherwise)
};

// Summary a scheme reports about its result, for statistics and explanations.
struct ProjectionSummary {
    int64_t kept = 0, total = 0;
    double density() const {
        return total ? static_cast<double>(kept) / static_cast<double>(total) : 0;
    }
};
ProjectionSummary summarize(const LayerProjection& projection);

class Scheme {
  public:
    virtual ~Scheme() = default;
    virtual std::string_view id() const = 0;           // "non_structured", "pattern", ...
    virtual std::string_view displayName() const = 0;  // "Pattern (PatDNN)"
    virtual std::vector<ParamSpec> params() const = 0;
    // Keys a plan may carry that are not controls: the trainer writes them (pattern:
    // "pattern_set", the set ADMM froze) and project() checks their values. No control shows
    // them; a plan file keeps them, so a retrained model's plan reads back.
    virtual std::vector<std::string> hiddenParamKeys() const { return {}; }
    // A few sentences for students, with the parameter values filled in.
    virtual std::string explain(const ParamValues& values) const = 0;
    // Whether the scheme applies to this layer as it is (pattern: 3x3 kernels only). A plan
    // sends layers it does not support to the plan's fallback scheme and says so.
    virtual bool supports(const LayerWeights& layer) const = 0;
    // Projects a unit of layers that share one constraint (one layer; or every layer of a
    // global ranking or a model-wide pattern set). Returns one projection per layer, in order.
    virtual Result<std::vector<LayerProjection>> project(std::span<const LayerWeights> layers,
                                                         const ParamValues& values) const = 0;
};

// The scheme list (scheme_list.inc), in display order.
std::span<const Scheme* const> allSchemes();
const Scheme* findScheme(std::string_view id);  // nullptr when unknown

}  // namespace prunelab::engine::prune

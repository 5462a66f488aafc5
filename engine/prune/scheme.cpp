// Parameter values and their validation, projection summaries, and the scheme list.
#include "engine/prune/scheme.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace prunelab::engine::prune {

#define PL_SCHEME(name) const Scheme& scheme##name();
#include "engine/prune/scheme_list.inc"
#undef PL_SCHEME

double ParamValues::number(const std::string& key, double fallback) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) return fallback;
    if (auto* d = std::get_if<double>(&it->second)) return *d;
    if (auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
    if (auto* b = std::get_if<bool>(&it->second)) return *b ? 1.0 : 0.0;
    return fallback;
}

std::string ParamValues::choice(const std::string& key, const std::string& fallback) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) return fallback;
    if (auto* s = std::get_if<std::string>(&it->second)) return *s;
    return fallback;
}

namespace {
std::string numberText(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}
}  // namespace

Status ParamValues::validate(std::span<const ParamSpec> specs) const {
    for (const auto& entry : m_values) {
        // Named copies, not structured bindings: clang 14 (the fuzz build) cannot capture those.
        const std::string& key = entry.first;
        const ParamValue& value = entry.second;
        auto spec = std::find_if(specs.begin(), specs.end(),
                                 [&key](const ParamSpec& s) { return s.key == key; });
        if (spec == specs.end()) {
            std::string known;
            for (const ParamSpec& s : specs) known += (known.empty() ? "" : ", ") + s.key;
            return makeError(ErrorCode::InvalidArgument,
                             "unknown parameter '" + key + "' (this scheme takes: " + known + ")");
        }
        switch (spec->type) {
            case ParamSpec::Type::Choice: {
                const std::string* s = std::get_if<std::string>(&value);
                if (!s || std::find(spec->choices.begin(), spec->choices.end(), *s) ==
                              spec->choices.end()) {
                    std::string allowed;
                    for (const std::string& c : spec->choices)
                        allowed += (allowed.empty() ? "" : ", ") + c;
                    return makeError(ErrorCode::InvalidArgument,
                                     "parameter '" + key + "' must be one of: " + allowed);
                }
                break;
            }
            case ParamSpec::Type::Flag:
                if (!std::holds_alternative<bool>(value)) {
                    return makeError(ErrorCode::InvalidArgument,
                                     "parameter '" + key + "' must be true or false");
                }
                break;
            case ParamSpec::Type::Integer:
            case ParamSpec::Type::Real: {
                if (std::holds_alternative<std::string>(value) ||
                    std::holds_alternative<bool>(value)) {
                    return makeError(ErrorCode::InvalidArgument,
                                     "parameter '" + key + "' must be a number");
                }
                double v = number(key, 0);
                if (!std::isfinite(v) || v < spec->min || v > spec->max) {
                    return makeError(ErrorCode::InvalidArgument,
                                     "parameter '" + key + "' = " + numberText(v) +
                                         " is outside [" + numberText(spec->min) + ", " +
                                         numberText(spec->max) + "]");
                }
                if (spec->type == ParamSpec::Type::Integer) {
                    if (v != std::floor(v)) {
                        return makeError(ErrorCode::InvalidArgument,
                                         "parameter '" + key + "' must be a whole number");
                    }
                    if (!spec->allowed.empty() &&
                        std::find(spec->allowed.begin(), spec->allowed.end(),
                                  static_cast<int64_t>(v)) == spec->allowed.end()) {
                        std::string allowed;
                        for (int64_t a : spec->allowed)
                            allowed += (allowed.empty() ? "" : ", ") + std::to_string(a);
                        return makeError(ErrorCode::InvalidArgument,
                                         "parameter '" + key + "' = " + numberText(v) +
                                             " is not one of " + allowed);
                    }
                }
                break;
            }
        }
    }
    return {};
}

ProjectionSummary summarize(const LayerProjection& projection) {
    ProjectionSummary s;
    s.total = projection.mask.elements();
    for (uint8_t m : projection.mask.span<uint8_t>()) s.kept += m != 0;
    return s;
}

std::span<const Scheme* const> allSchemes() {
    static const std::array<const Scheme*, 0
#define PL_SCHEME(name) +1
#include "engine/prune/scheme_list.inc"
#undef PL_SCHEME
                            >
        list = {
#define PL_SCHEME(name) &scheme##name(),
#include "engine/prune/scheme_list.inc"
#undef PL_SCHEME
        };
    return list;
}

const Scheme* findScheme(std::string_view id) {
    for (const Scheme* s : allSchemes()) {
        if (s->id() == id) return s;
    }
    return nullptr;
}

}  // namespace prunelab::engine::prune

// Typed attribute getters; an int attribute read as float (and back) converts, since ONNX
// files are not consistent about which they use for e.g. Clip bounds or Resize scales.
#include "engine/ir/attributes.h"

#include <type_traits>

namespace prunelab::engine {

const AttributeValue* Attributes::find(const std::string& name) const {
    auto it = m_values.find(name);
    return it == m_values.end() ? nullptr : &it->second;
}

int64_t Attributes::getInt(const std::string& name, int64_t fallback) const {
    const AttributeValue* v = find(name);
    if (v == nullptr) return fallback;
    if (auto* i = std::get_if<int64_t>(v)) return *i;
    if (auto* f = std::get_if<float>(v)) return static_cast<int64_t>(*f);
    return fallback;
}

float Attributes::getFloat(const std::string& name, float fallback) const {
    const AttributeValue* v = find(name);
    if (v == nullptr) return fallback;
    if (auto* f = std::get_if<float>(v)) return *f;
    if (auto* i = std::get_if<int64_t>(v)) return static_cast<float>(*i);
    return fallback;
}

std::string Attributes::getString(const std::string& name, const std::string& fallback) const {
    const AttributeValue* v = find(name);
    if (v == nullptr) return fallback;
    if (auto* s = std::get_if<std::string>(v)) return *s;
    return fallback;
}

std::vector<int64_t> Attributes::getInts(const std::string& name,
                                         const std::vector<int64_t>& fallback) const {
    const AttributeValue* v = find(name);
    if (v == nullptr) return fallback;
    if (auto* i = std::get_if<std::vector<int64_t>>(v)) return *i;
    if (auto* f = std::get_if<std::vector<float>>(v)) return {f->begin(), f->end()};
    return fallback;
}

std::vector<float> Attributes::getFloats(const std::string& name,
                                         const std::vector<float>& fallback) const {
    const AttributeValue* v = find(name);
    if (v == nullptr) return fallback;
    if (auto* f = std::get_if<std::vector<float>>(v)) return *f;
    if (auto* i = std::get_if<std::vector<int64_t>>(v)) {
        std::vector<float> out;
        for (int64_t x : *i) out.push_back(static_cast<float>(x));
        return out;
    }
    return fallback;
}

const Tensor* Attributes::getTensor(const std::string& name) const {
    const AttributeValue* v = find(name);
    return v == nullptr ? nullptr : std::get_if<Tensor>(v);
}

bool Attributes::operator==(const Attributes& other) const {
    if (m_values.size() != other.m_values.size()) return false;
    for (const auto& [name, value] : m_values) {
        const AttributeValue* o = other.find(name);
        if (o == nullptr || o->index() != value.index()) return false;
        bool same = std::visit(
            [&](const auto& a) {
                using T = std::decay_t<decltype(a)>;
                const T& b = std::get<T>(*o);
                if constexpr (std::is_same_v<T, Tensor>) {
                    return a.identical(b);
                } else {
                    return a == b;
                }
            },
            value);
        if (!same) return false;
    }
    return true;
}

}  // namespace prunelab::engine

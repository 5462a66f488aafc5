// Node attributes: a small name -> value map with typed getters. Each op documents its
// canonical attributes in engine/ir/op_list.inc; importers translate file formats into them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/ir/tensor.h"

namespace prunelab::engine {

using AttributeValue =
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>, Tensor>;

class Attributes {
  public:
    bool has(const std::string& name) const { return m_values.count(name) != 0; }
    void set(const std::string& name, AttributeValue value) { m_values[name] = std::move(value); }
    void erase(const std::string& name) { m_values.erase(name); }

    // Getters return the fallback when the attribute is absent or of another kind.
    int64_t getInt(const std::string& name, int64_t fallback = 0) const;
    float getFloat(const std::string& name, float fallback = 0.0f) const;
    std::string getString(const std::string& name, const std::string& fallback = {}) const;
    std::vector<int64_t> getInts(const std::string& name,
                                 const std::vector<int64_t>& fallback = {}) const;
    std::vector<float> getFloats(const std::string& name,
                                 const std::vector<float>& fallback = {}) const;
    const Tensor* getTensor(const std::string& name) const;
    const AttributeValue* find(const std::string& name) const;

    const std::map<std::string, AttributeValue>& all() const { return m_values; }
    bool operator==(const Attributes& other) const;

  private:
    std::map<std::string, AttributeValue> m_values;  // ordered: deterministic export
};

}  // namespace prunelab::engine

// Checking one argument against its rule, and the words the README's tables use for it.
#include "engine/lessons/schema.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/prune/scheme.h"

namespace prunelab::engine::lessons::detail {

namespace {

constexpr size_t kMaxTextLength = 500;  // a hint or a title is shorter; a longer one is a slip

// 0.5 -> "0.5", 1000 -> "1000", 1e7 -> "10000000": bounds as a person writes them.
std::string numberWords(double v) {
    char buf[32];
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string rangeWords(const ArgRule& r) {
    bool lo = std::isfinite(r.min), hi = std::isfinite(r.max);
    if (lo && hi) {
        return std::string(r.minOpen ? "(" : "[") + numberWords(r.min) + ", " + numberWords(r.max) +
               (r.maxOpen ? ")" : "]");
    }
    if (lo) return std::string(r.minOpen ? "> " : ">= ") + numberWords(r.min);
    if (hi) return std::string(r.maxOpen ? "< " : "<= ") + numberWords(r.max);
    return {};
}

bool inRange(const ArgRule& r, double v) {
    if (r.minOpen ? !(v > r.min) : !(v >= r.min)) return false;
    if (r.maxOpen ? !(v < r.max) : !(v <= r.max)) return false;
    return true;
}

std::optional<std::string> numberProblem(const ArgRule& r, double v, bool whole) {
    if (!std::isfinite(v)) return "should be a finite number";
    if (whole && v != std::floor(v)) return numberWords(v) + " should be a whole number";
    if (!inRange(r, v)) {
        std::string range = rangeWords(r);
        bool interval = !range.empty() && (range[0] == '[' || range[0] == '(');
        return numberWords(v) + (interval ? " is outside " : " should be ") + range;
    }
    return std::nullopt;
}

bool isCatalogId(const std::string& s) {
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return !s.empty();
}

// Relative and never climbing out: a lesson names only files it carries.
bool staysInFolder(const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_absolute() || path.empty() || path[0] == '/') return false;
    for (const auto& part : p) {
        if (part == "..") return false;
    }
    return true;
}

}  // namespace

ArgRule number(std::string name, bool required, double min, double max, std::string help,
               bool minOpen, bool maxOpen) {
    ArgRule r;
    r.spec = ArgSpec{std::move(name), ArgSpec::Type::Number, required, std::move(help)};
    r.min = min;
    r.max = max;
    r.minOpen = minOpen;
    r.maxOpen = maxOpen;
    return r;
}

ArgRule integer(std::string name, bool required, double min, double max, std::string help) {
    ArgRule r = number(std::move(name), required, min, max, std::move(help));
    r.spec.type = ArgSpec::Type::Integer;
    return r;
}

ArgRule text(std::string name, bool required, TextRule rule, std::vector<std::string> choices,
             std::string help) {
    ArgRule r;
    r.spec = ArgSpec{std::move(name), ArgSpec::Type::Text, required, std::move(help)};
    r.text = rule;
    r.choices = std::move(choices);
    return r;
}

ArgRule numberList(std::string name, bool required, double min, double max, bool maxOpen,
                   std::string help) {
    ArgRule r = number(std::move(name), required, min, max, std::move(help), false, maxOpen);
    r.spec.type = ArgSpec::Type::NumberList;
    return r;
}

std::vector<std::string> schemeChoices(bool withDense) {
    std::vector<std::string> ids;
    if (withDense) ids.push_back("dense");
    for (const prune::Scheme* s : prune::allSchemes()) ids.emplace_back(s->id());
    return ids;
}

std::string joinWords(const std::vector<std::string>& words, const std::string& sep) {
    std::string out;
    for (const std::string& w : words) out += (out.empty() ? "" : sep) + w;
    return out;
}

std::string inQuotes(const std::string& text) {
    constexpr size_t kShown = 60;
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, wrongly) on "'" + text + "'".
    std::string out(1, '\'');
    if (text.size() <= kShown) {
        out.append(text);
    } else {
        // Cut on a UTF-8 character boundary so the message stays valid text.
        size_t cut = kShown;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        out.append(text, 0, cut).append("...");
    }
    out.push_back('\'');
    return out;
}

std::string typeWords(ArgSpec::Type type) {
    switch (type) {
        case ArgSpec::Type::Number:
            return "a number";
        case ArgSpec::Type::Integer:
            return "a whole number";
        case ArgSpec::Type::Text:
            return "text (a JSON string)";
        case ArgSpec::Type::NumberList:
            return "a list of numbers";
    }
    return "?";
}

std::optional<std::string> valueProblem(const ArgRule& rule, Value& value) {
    const ArgSpec& spec = rule.spec;
    switch (spec.type) {
        case ArgSpec::Type::Number:
        case ArgSpec::Type::Integer: {
            const double* v = std::get_if<double>(&value);
            if (v == nullptr) return "should be " + typeWords(spec.type);
            return numberProblem(rule, *v, spec.type == ArgSpec::Type::Integer);
        }
        case ArgSpec::Type::NumberList: {
            const auto* list = std::get_if<std::vector<double>>(&value);
            if (list == nullptr) return "should be " + typeWords(spec.type);
            if (list->empty()) return "should list at least one number";
            if (list->size() > 100) return "lists more than 100 numbers";
            for (size_t i = 0; i < list->size(); ++i) {
                if (auto p = numberProblem(rule, (*list)[i], false))
                    return "item " + std::to_string(i) + ": " + *p;
            }
            return std::nullopt;
        }
        case ArgSpec::Type::Text:
            break;
    }
    std::string* s = std::get_if<std::string>(&value);
    if (s == nullptr) return "should be " + typeWords(spec.type);
    if (s->empty()) return "is empty";
    if (s->size() > kMaxTextLength)
        return "is longer than " + std::to_string(kMaxTextLength) + " characters";
    auto unknown = [&](const std::string& what) {
        return "unknown " + what + " " + inQuotes(*s) + " (known: " + joinWords(rule.choices) + ")";
    };
    auto isChoice = [&](const std::string& v) {
        for (const std::string& c : rule.choices) {
            if (c == v) return true;
        }
        return false;
    };
    switch (rule.text) {
        case TextRule::Any:
            return std::nullopt;
        case TextRule::OneOf:
            if (!isChoice(*s)) return unknown(spec.name);
            return std::nullopt;
        case TextRule::Scheme: {
            std::string id = *s;
            for (char& c : id) c = c == '-' ? '_' : c;
            if (!isChoice(id)) return unknown("scheme");
            *s = id;
            return std::nullopt;
        }
        case TextRule::Layer: {
            if (isChoice(*s) || (*s)[0] != '#') return std::nullopt;
            bool digits = s->size() >= 2 && s->size() <= 5;
            for (size_t i = 1; i < s->size() && digits; ++i)
                digits = (*s)[i] >= '0' && (*s)[i] <= '9';
            if (!digits) {
                return inQuotes(*s) +
                       " should be '#' and the layer's number from 0 (e.g. '#2'), or a layer's "
                       "full name";
            }
            return std::nullopt;
        }
        case TextRule::File:
            if (!staysInFolder(*s)) {
                return inQuotes(*s) +
                       " should be a file in the lesson folder (no absolute path, no '..')";
            }
            return std::nullopt;
        case TextRule::Model:
            if (isCatalogId(*s)) return std::nullopt;
            if (!staysInFolder(*s)) {
                return inQuotes(*s) +
                       " should be a catalog id, a file in the lesson folder or assets/... (no "
                       "absolute path, no '..')";
            }
            return std::nullopt;
    }
    return std::nullopt;
}

std::string argDoc(const ArgRule& rule) {
    const ArgSpec& spec = rule.spec;
    std::string doc = "`" + spec.name + "`" + (spec.required ? "*" : "") + " ";
    switch (spec.type) {
        case ArgSpec::Type::Number:
            doc += "number";
            break;
        case ArgSpec::Type::Integer:
            doc += "whole number";
            break;
        case ArgSpec::Type::NumberList:
            doc += "list of numbers";
            break;
        case ArgSpec::Type::Text:
            break;
    }
    if (spec.type != ArgSpec::Type::Text) {
        std::string range = rangeWords(rule);
        if (!range.empty()) {
            bool interval = range[0] == '[' || range[0] == '(';
            doc += (interval ? " in " : " ") + range;
        }
    } else {
        std::vector<std::string> ticked;
        for (const std::string& c : rule.choices) ticked.push_back("`" + c + "`");
        switch (rule.text) {
            case TextRule::Any:
                doc += "text";
                break;
            case TextRule::OneOf:
                doc += "one of " + joinWords(ticked);
                break;
            case TextRule::Scheme:
                doc += "a scheme: " + joinWords(ticked);
                break;
            case TextRule::Layer:
                doc += "a layer's full name or `#N` (the N-th prunable layer, from 0)";
                if (!ticked.empty()) doc += ", or " + joinWords(ticked, " or ");
                break;
            case TextRule::File:
                doc += "a file in the lesson folder";
                break;
            case TextRule::Model:
                doc += "a catalog id, or a model file in the lesson folder or `assets/...`";
                break;
        }
    }
    if (!spec.help.empty()) doc += ": " + spec.help;
    return doc;
}

}  // namespace prunelab::engine::lessons::detail

namespace prunelab::engine::lessons {

std::string referenceMarkdown() {
    using namespace detail;
    auto args = [](const std::vector<ArgRule>& rules) {
        std::vector<std::string> docs;
        for (const ArgRule& r : rules) docs.push_back(argDoc(r));
        return docs.empty() ? std::string("(none)") : joinWords(docs, "<br>");
    };
    std::string md = "### Actions: `\"showMe\": {\"do\": KIND, ...fields}`\n\n";
    md += "| do | fields (* required) | test budget | the workbench does |\n";
    md += "|---|---|---|---|\n";
    for (const ActionRules& a : actionRules()) {
        std::vector<std::string> testNames;
        for (const ArgRule& r : a.testFields) testNames.push_back("`" + r.spec.name + "`");
        md += "| `" + std::string(actionKindName(a.kind)) + "` | " + args(a.fields) + " | " +
              joinWords(testNames) + " | " + a.does + " |\n";
    }
    md += "\n### Checks: `{\"check\": NAME, ...args}`\n\n";
    md += "| check | args (* required) | passes when |\n|---|---|---|\n";
    for (const CheckRules& c : checkRules())
        md += "| `" + c.name + "` | " + args(c.args) + " | " + c.passes + " |\n";
    return md;
}

}  // namespace prunelab::engine::lessons

// Inside the lessons code (not a public header): how one argument of a check or field of an
// action is checked against its ArgSpec, and the words the docs use for it. The parser and
// validateCheck share it, so a lesson and a hand-made Check are judged alike.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/lessons/lesson.h"

namespace prunelab::engine::lessons::detail {

// What the value of a text argument may be, beyond being non-empty text.
enum class TextRule {
    Any,     // any non-empty text
    OneOf,   // one of the spec's choices
    Layer,   // a layer name, "#N", or one of the spec's choices ("selected", "any")
    Scheme,  // a prune::Scheme id or one of the choices ("dense"); '-' is read as '_'
    File,    // a file inside the lesson folder (the caller checks that it is there)
    Model,   // a catalog id, or a model file (the caller checks files)
};

// The checking rules that go with a public ArgSpec.
struct ArgRule {
    ArgSpec spec;
    TextRule text = TextRule::Any;
    std::vector<std::string> choices;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool minOpen = false, maxOpen = false;  // the bound itself is outside the range
};

// Builders, so the spec tables read as one line per argument.
ArgRule number(std::string name, bool required, double min, double max, std::string help,
               bool minOpen = false, bool maxOpen = false);
ArgRule integer(std::string name, bool required, double min, double max, std::string help);
ArgRule text(std::string name, bool required, TextRule rule, std::vector<std::string> choices,
             std::string help);
ArgRule numberList(std::string name, bool required, double min, double max, bool maxOpen,
                   std::string help);

// Every value an argument can hold once read.
using Value = std::variant<double, std::string, std::vector<double>>;

// The problem with `value` for `rule` (wrong type, out of range, not a choice), or nothing.
// Scheme names are rewritten to their ids ("non-structured" -> "non_structured").
std::optional<std::string> valueProblem(const ArgRule& rule, Value& value);

// "a number", "a whole number", "text", "a list of numbers": for "should be ..." messages.
std::string typeWords(ArgSpec::Type type);

// The argument as the README's tables show it: "`value`* number in [0, 1]: the most density".
std::string argDoc(const ArgRule& rule);

// "known: a, b, c" lists, and text from a file cut to a readable length.
std::string joinWords(const std::vector<std::string>& words, const std::string& sep = ", ");
std::string inQuotes(const std::string& text);  // 'text', cut to 60 characters

// The rules behind checkSpecs() and actionSpecs(), in the same order.
struct CheckRules {
    std::string name;
    std::vector<ArgRule> args;
    std::string passes;
};
struct ActionRules {
    Action::Kind kind;
    std::vector<ArgRule> fields, testFields;
    std::string does;
};
const std::vector<CheckRules>& checkRules();
const std::vector<ActionRules>& actionRules();
const CheckRules* findCheckRules(const std::string& name);

// The scheme ids a lesson may name, with "dense" first when `withDense`.
std::vector<std::string> schemeChoices(bool withDense);

}  // namespace prunelab::engine::lessons::detail

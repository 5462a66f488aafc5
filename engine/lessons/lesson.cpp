// Lessons: names, the actions' schema, reading and validating lesson.json (nlohmann-json stays in
// this file; every problem is an Error naming the file and the JSON pointer), the lessons
// folder, and per-lesson progress. Index: names, action rules, the parser, loading, progress.
#include "engine/lessons/lesson.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/lessons/schema.h"
#include "engine/prune/plan.h"

namespace prunelab::engine::lessons {

using json = nlohmann::json;
using namespace detail;
namespace fs = std::filesystem;

namespace {
constexpr int kLessonVersion = 1;
constexpr int kProgressVersion = 1;
constexpr uintmax_t kMaxFileBytes = 1 << 20;  // a lesson or plan is a few KB; more is a mistake
constexpr int kMaxNesting = 32;               // lesson.json nests 5 deep
}  // namespace

// ---- names ----------------------------------------------------------------------------------

const char* audienceName(Audience a) {
    switch (a) {
        case Audience::K12:
            return "k12";
        case Audience::Lab:
            return "lab";
        case Audience::Research:
            return "research";
    }
    return "?";
}

const std::vector<std::string>& viewNames() {
    static const std::vector<std::string> names = {"start",   "layers",   "patterns", "tiles",
                                                   "kernels", "speed",    "retrain",  "compare",
                                                   "live",    "classroom"};
    return names;
}

const std::vector<std::string>& bigIdeaNames() {
    static const std::vector<std::string> names = {
        "1 - Perception", "2 - Representation & Reasoning", "3 - Learning",
        "4 - Natural Interaction", "5 - Societal Impact"};
    return names;
}

const char* actionKindName(Action::Kind k) {
    switch (k) {
        case Action::Kind::OpenModel:
            return "open-model";
        case Action::Kind::ApplyPreset:
            return "apply-preset";
        case Action::Kind::ApplyPlan:
            return "apply-plan";
        case Action::Kind::SelectLayer:
            return "select-layer";
        case Action::Kind::ShowView:
            return "show-view";
        case Action::Kind::Retrain:
            return "retrain";
        case Action::Kind::Measure:
            return "measure";
        case Action::Kind::Sweep:
            return "sweep";
        case Action::Kind::StartLive:
            return "start-live";
        case Action::Kind::SetRate:
            return "set-rate";
    }
    return "?";
}

// ---- the actions' schema ----------------------------------------------------------------------

namespace detail {

const std::vector<ActionRules>& actionRules() {
    static const std::vector<ActionRules> rules = [] {
        using K = Action::Kind;
        ArgRule epochs = integer("epochs", false, 1, 1000, "");
        ArgRule fineTune = integer("fineTuneEpochs", false, 0, 1000, "masked fine-tune epochs");
        ArgRule limit = integer("limit", false, 1, 1e7, "use the first N examples");
        ArgRule frames =
            integer("frames", false, 1, 1e6, "frames to run before the step is checked");
        std::string dataHelp =
            "the data spec, e.g. `fashion-mnist`, `mnist`, `folder:PATH`, `frames:VIDEO`";
        return std::vector<ActionRules>{
            {K::OpenModel,
             {text("model", true, TextRule::Model, {}, "")},
             {},
             "opens the model (`assets/...` is relative to the folder of catalog.json)"},
            {K::ApplyPreset,
             {text("preset", true, TextRule::OneOf, prune::presetNames(), "")},
             {},
             "applies the preset's plan"},
            {K::ApplyPlan,
             {text("plan", true, TextRule::File, {},
                   "a plan as JSON (`prunelab-cli prune --save-plan` writes one)")},
             {},
             "applies the plan file"},
            {K::SelectLayer,
             {text("layer", true, TextRule::Layer, {}, "")},
             {},
             "selects the layer in the table"},
            {K::ShowView,
             {text("view", true, TextRule::OneOf, viewNames(), "")},
             {},
             "switches to that tab or page"},
            {K::Retrain,
             {text("method", true, TextRule::OneOf, {"admm", "one-shot", "gradual"}, ""),
              text("data", false, TextRule::Any, {}, dataHelp), epochs, fineTune, limit},
             {epochs, fineTune, limit},
             "starts the Retrain tab's run with these settings, under the plan applied now"},
            {K::Measure, {}, {}, "runs the Speed view's Measure pass"},
            {K::Sweep,
             {text("scheme", true, TextRule::Scheme, schemeChoices(false), ""),
              numberList("rates", true, 0, 1, true, "the pruning rates to try"),
              text("data", false, TextRule::Any, {}, dataHelp + " (accuracy on its test split)"),
              limit},
             {limit},
             "prunes with `scheme` at each rate and measures the accuracy: the sweep's points"},
            {K::StartLive,
             {text("model", false, TextRule::Model, {}, "the Live tab's own when left out"),
              frames},
             {frames},
             "starts the Live tab on the bundled video (the camera only in the app)"},
            {K::SetRate,
             {number("rate", true, 0, 1, "the share of connections removed", false, true)},
             {},
             "sets lane B's pruning rate (the classroom slider)"},
        };
    }();
    return rules;
}

}  // namespace detail

const std::vector<ActionSpec>& actionSpecs() {
    static const std::vector<ActionSpec> specs = [] {
        std::vector<ActionSpec> out;
        for (const ActionRules& r : actionRules()) {
            ActionSpec spec{r.kind, {}, {}, r.does};
            for (const ArgRule& a : r.fields) spec.fields.push_back(a.spec);
            for (const ArgRule& a : r.testFields) spec.testFields.push_back(a.spec);
            out.push_back(std::move(spec));
        }
        return out;
    }();
    return specs;
}

// ---- the parser ---------------------------------------------------------------------------------

namespace {

// RFC 6901: '~' is written "~0" and '/' "~1".
std::string pointerToken(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string child(const std::string& pointer, const std::string& key) {
    return pointer + "/" + pointerToken(key);
}
std::string child(const std::string& pointer, size_t index) {
    return pointer + "/" + std::to_string(index);
}

std::string typeOf(const json& j) {
    switch (j.type()) {
        case json::value_t::string:
            return "text";
        case json::value_t::boolean:
            return "true/false";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return "a number";
        case json::value_t::array:
            return "a list";
        case json::value_t::object:
            return "an object";
        case json::value_t::null:
            return "null";
        default:
            return "something else";
    }
}

bool isLessonId(const std::string& id) {
    if (id.size() < 4 || id.size() > 80) return false;
    if (!(id[0] >= '0' && id[0] <= '9' && id[1] >= '0' && id[1] <= '9' && id[2] == '-'))
        return false;
    for (size_t i = 3; i < id.size(); ++i) {
        char c = id[i];
        bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!word && !(c == '-' && id[i - 1] != '-' && i + 1 < id.size())) return false;
    }
    return true;
}

std::string folderId(const std::string& folder) {
    std::string f = folder;
    while (f.size() > 1 && f.back() == '/') f.pop_back();
    return fs::path(f).filename().string();
}

// Whether `text` nests brackets deeper than `limit` (strings skipped): checked before parsing so
// that no input makes the parser or the value's destructor recurse without bound.
bool nestsDeeperThan(std::string_view text, int limit) {
    int depth = 0;
    bool inString = false, escaped = false;
    for (char c : text) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

// nlohmann's messages quote the bytes it last read, which may not be UTF-8.
std::string cleanJsonMessage(const std::string& what) {
    std::string m = what;
    if (size_t close = m.find("] ");
        m.rfind("[json.exception", 0) == 0 && close != std::string::npos)
        m = m.substr(close + 2);
    for (char& c : m) {
        if (static_cast<unsigned char>(c) >= 0x80 || static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    return m;
}

// Parses JSON and finds the first duplicate key (nlohmann keeps the last one silently, and a
// lesson with two "checks" would lose one without a word).
struct DuplicateFinder {
    struct Frame {
        bool array = false;
        size_t index = 0;
        std::string key;
        std::set<std::string> keys;
    };
    std::vector<Frame> stack;
    std::optional<std::string> duplicate;  // its JSON pointer

    std::string pointer() const {
        std::string p;
        for (const Frame& f : stack) p += f.array ? child("", f.index) : child("", f.key);
        return p;
    }
    bool operator()(int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                stack.push_back(Frame{false, 0, {}, {}});
                break;
            case json::parse_event_t::array_start:
                stack.push_back(Frame{true, 0, {}, {}});
                break;
            case json::parse_event_t::key:
                if (!stack.empty() && parsed.is_string()) {
                    stack.back().key = parsed.get<std::string>();
                    if (!stack.back().keys.insert(stack.back().key).second && !duplicate)
                        duplicate = pointer();
                }
                break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!stack.empty()) stack.pop_back();
                [[fallthrough]];
            case json::parse_event_t::value:
                if (!stack.empty() && stack.back().array) ++stack.back().index;
                break;
        }
        return true;
    }
};

class Parser {
  public:
    Parser(std::string file, std::string folder)
        : m_file(std::move(file)), m_folder(std::move(folder)) {}

    Error at(const std::string& pointer, std::string problem,
             ErrorCode code = ErrorCode::InvalidArgument) const {
        return makeError(code, std::move(problem),
                         pointer.empty() ? m_file : m_file + ": " + pointer);
    }

    // Every key of `object` is one of `known`.
    Status keys(const json& object, const std::string& ptr,
                const std::vector<std::string>& known) const {
        for (const auto& [key, value] : object.items()) {
            if (std::find(known.begin(), known.end(), key) == known.end())
                return at(child(ptr, key),
                          "unknown key " + inQuotes(key) + " (known: " + joinWords(known) + ")");
        }
        return {};
    }

    Result<std::string> string(const json& object, const std::string& key, const std::string& ptr,
                               bool required) const {
        auto it = object.find(key);
        if (it == object.end()) {
            if (required) return at(child(ptr, key), "is missing (required)");
            return std::string();
        }
        if (!it->is_string())
            return at(child(ptr, key), "should be text (a JSON string), not " + typeOf(*it));
        std::string s = it->get<std::string>();
        if (s.empty()) return at(child(ptr, key), "is empty");
        return s;
    }

    Result<std::vector<std::string>> strings(const json& object, const std::string& key,
                                             const std::string& ptr) const {
        std::vector<std::string> out;
        auto it = object.find(key);
        if (it == object.end()) return out;
        if (!it->is_array())
            return at(child(ptr, key), "should be a list of text, not " + typeOf(*it));
        for (size_t i = 0; i < it->size(); ++i) {
            const json& item = (*it)[i];
            if (!item.is_string() || item.get_ref<const std::string&>().empty())
                return at(child(child(ptr, key), i),
                          "should be non-empty text, not " +
                              (item.is_string() ? "empty text" : typeOf(item)));
            out.push_back(item.get<std::string>());
        }
        return out;
    }

    // One argument or field, read by its rule's type, then checked against the rule.
    Result<Value> value(const ArgRule& rule, const json& j, const std::string& ptr) const {
        Value v;
        switch (rule.spec.type) {
            case ArgSpec::Type::Number:
            case ArgSpec::Type::Integer:
                if (!j.is_number())
                    return at(ptr, "should be " + typeWords(rule.spec.type) + ", not " + typeOf(j));
                v = j.get<double>();
                break;
            case ArgSpec::Type::Text:
                if (!j.is_string())
                    return at(ptr, "should be " + typeWords(rule.spec.type) + ", not " + typeOf(j));
                v = j.get<std::string>();
                break;
            case ArgSpec::Type::NumberList: {
                if (!j.is_array()) return at(ptr, "should be a list of numbers, not " + typeOf(j));
                std::vector<double> list;
                for (size_t i = 0; i < j.size(); ++i) {
                    if (!j[i].is_number())
                        return at(child(ptr, i), "should be a number, not " + typeOf(j[i]));
                    list.push_back(j[i].get<double>());
                }
                v = std::move(list);
                break;
            }
        }
        if (auto problem = valueProblem(rule, v)) return at(ptr, *problem);
        return v;
    }

    // A file the lesson names: inside its folder, a regular file.
    Result<std::string> file(const std::string& relative, const std::string& ptr,
                             const std::string& what) const {
        std::string path = (fs::path(m_folder) / relative).string();
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            return at(ptr, what + " not found: " + path, ErrorCode::NotFound);
        return path;
    }

    Result<Check> check(const json& j, const std::string& ptr) const {
        if (!j.is_object()) return at(ptr, "a check should be an object, not " + typeOf(j));
        PL_TRY_ASSIGN(std::string name, string(j, "check", ptr, true));
        const CheckRules* rules = findCheckRules(name);
        if (rules == nullptr) {
            std::vector<std::string> known;
            for (const CheckRules& r : checkRules()) known.push_back(r.name);
            return at(child(ptr, "check"),
                      "unknown check " + inQuotes(name) + " (known: " + joinWords(known) + ")");
        }
        Check c;
        c.name = name;
        for (const auto& [key, arg] : j.items()) {
            if (key == "check") continue;
            const ArgRule* rule = nullptr;
            for (const ArgRule& r : rules->args) {
                if (r.spec.name == key) rule = &r;
            }
            if (rule == nullptr) {
                std::vector<std::string> known;
                for (const ArgRule& r : rules->args) known.push_back(r.spec.name);
                return at(child(ptr, key),
                          "'" + name + "' takes no argument " + inQuotes(key) +
                              (known.empty() ? " (it takes none)"
                                             : " (its arguments: " + joinWords(known) + ")"));
            }
            PL_TRY_ASSIGN(Value v, value(*rule, arg, child(ptr, key)));
            if (double* d = std::get_if<double>(&v)) c.args[key] = *d;
            if (std::string* s = std::get_if<std::string>(&v)) c.args[key] = *s;
        }
        for (const ArgRule& r : rules->args) {
            if (r.spec.required && !c.args.count(r.spec.name))
                return at(child(ptr, r.spec.name), "is missing ('" + name + "' needs it)");
        }
        return c;
    }

    Result<Action> action(const json& j, const std::string& ptr) const {
        if (!j.is_object()) return at(ptr, "\"showMe\" should be an object, not " + typeOf(j));
        PL_TRY_ASSIGN(std::string kind, string(j, "do", ptr, true));
        const ActionRules* rules = nullptr;
        std::vector<std::string> kinds;
        for (const ActionRules& r : actionRules()) {
            kinds.push_back(actionKindName(r.kind));
            if (kind == actionKindName(r.kind)) rules = &r;
        }
        if (rules == nullptr) {
            return at(child(ptr, "do"),
                      "unknown action " + inQuotes(kind) + " (known: " + joinWords(kinds) + ")");
        }
        Action a;
        a.kind = rules->kind;
        std::map<std::string, Value> fields, budget;
        for (const auto& [key, field] : j.items()) {
            if (key == "do") continue;
            if (key == "test" && !rules->testFields.empty()) {
                PL_TRY_ASSIGN(budget, fieldsOf(rules->testFields, field, child(ptr, "test"),
                                               kind + "'s test budget"));
                continue;
            }
            const ArgRule* rule = nullptr;
            for (const ArgRule& r : rules->fields) {
                if (r.spec.name == key) rule = &r;
            }
            if (rule == nullptr) {
                std::vector<std::string> known;
                for (const ArgRule& r : rules->fields) known.push_back(r.spec.name);
                if (!rules->testFields.empty()) known.push_back("test");
                return at(child(ptr, key),
                          "'" + kind + "' takes no field " + inQuotes(key) +
                              (known.empty() ? " (it takes none)"
                                             : " (its fields: " + joinWords(known) + ")"));
            }
            PL_TRY_ASSIGN(fields[key], value(*rule, field, child(ptr, key)));
        }
        for (const ArgRule& r : rules->fields) {
            if (r.spec.required && !fields.count(r.spec.name))
                return at(child(ptr, r.spec.name), "is missing ('" + kind + "' needs it)");
        }
        // A test budget is a smaller run of the same step, never a larger one.
        for (const auto& [key, v] : budget) {
            auto full = fields.find(key);
            if (full != fields.end() && std::get<double>(v) > std::get<double>(full->second)) {
                return at(child(child(ptr, "test"), key),
                          "the test budget should not be larger than the step's own " + key);
            }
        }
        PL_TRY(fill(a, fields, budget, ptr));
        return a;
    }

    Result<Step> step(const json& j, const std::string& ptr) const {
        if (!j.is_object()) return at(ptr, "a step should be an object, not " + typeOf(j));
        PL_TRY(keys(j, ptr, {"title", "text", "showMe", "checks", "hints", "pictures"}));
        Step s;
        PL_TRY_ASSIGN(s.title, string(j, "title", ptr, true));
        PL_TRY_ASSIGN(s.text, string(j, "text", ptr, true));
        if (auto it = j.find("showMe"); it != j.end()) {
            PL_TRY_ASSIGN(s.showMe, action(*it, child(ptr, "showMe")));
        }
        if (auto it = j.find("checks"); it != j.end()) {
            if (!it->is_array())
                return at(child(ptr, "checks"), "should be a list of checks, not " + typeOf(*it));
            for (size_t i = 0; i < it->size(); ++i) {
                PL_TRY_ASSIGN(Check c, check((*it)[i], child(child(ptr, "checks"), i)));
                s.checks.push_back(std::move(c));
            }
        }
        PL_TRY_ASSIGN(s.hints, strings(j, "hints", ptr));
        PL_TRY_ASSIGN(s.pictures, strings(j, "pictures", ptr));
        ArgRule pictureRule = text("picture", true, TextRule::File, {}, "");
        for (size_t i = 0; i < s.pictures.size(); ++i) {
            std::string where = child(child(ptr, "pictures"), i);
            Value v = s.pictures[i];
            if (auto problem = valueProblem(pictureRule, v)) return at(where, *problem);
            std::string ext = fs::path(s.pictures[i]).extension().string();
            for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
                return at(where, inQuotes(s.pictures[i]) + " should be a .png or .jpg picture");
            PL_TRY(file(s.pictures[i], where, "picture"));
        }
        return s;
    }

    Result<Lesson> lesson(const json& root) const {
        if (!root.is_object())
            return at("", "a lesson should be a JSON object, not " + typeOf(root));
        PL_TRY(
            keys(root, "",
                 {"version", "title", "audience", "minutes", "bigIdea", "prerequisites", "steps"}));
        Lesson l;
        auto version = root.find("version");
        if (version == root.end()) return at("/version", "is missing (required; write 1)");
        if (!version->is_number_integer())
            return at("/version", "should be a whole number, not " + typeOf(*version));
        if (version->get<double>() != kLessonVersion) {
            return at("/version", "version " + version->dump() +
                                      " is not one this PruneLab reads (" +
                                      std::to_string(kLessonVersion) + ")");
        }
        PL_TRY_ASSIGN(l.title, string(root, "title", "", true));
        PL_TRY_ASSIGN(std::string audience, string(root, "audience", "", true));
        if (audience == "k12")
            l.audience = Audience::K12;
        else if (audience == "lab")
            l.audience = Audience::Lab;
        else if (audience == "research")
            l.audience = Audience::Research;
        else
            return at("/audience",
                      "unknown audience " + inQuotes(audience) + " (known: k12, lab, research)");
        auto minutes = root.find("minutes");
        if (minutes == root.end()) return at("/minutes", "is missing (required)");
        PL_TRY_ASSIGN(Value m, value(integer("minutes", true, 1, 600, ""), *minutes, "/minutes"));
        l.minutes = static_cast<int>(std::get<double>(m));
        PL_TRY_ASSIGN(l.bigIdea, string(root, "bigIdea", "", true));
        PL_TRY_ASSIGN(Value idea, value(text("bigIdea", true, TextRule::OneOf, bigIdeaNames(), ""),
                                        l.bigIdea, "/bigIdea"));
        (void)idea;
        PL_TRY_ASSIGN(l.prerequisites, strings(root, "prerequisites", ""));
        for (size_t i = 0; i < l.prerequisites.size(); ++i) {
            if (!isLessonId(l.prerequisites[i]))
                return at(child("/prerequisites", i),
                          inQuotes(l.prerequisites[i]) +
                              " is not a lesson id (e.g. 01-smaller-robot-brain)");
        }
        auto steps = root.find("steps");
        if (steps == root.end()) return at("/steps", "is missing (required)");
        if (!steps->is_array() || steps->empty()) {
            return at("/steps", steps->is_array()
                                    ? "should list at least one step"
                                    : "should be a list of steps, not " + typeOf(*steps));
        }
        for (size_t i = 0; i < steps->size(); ++i) {
            PL_TRY_ASSIGN(Step s, step((*steps)[i], child("/steps", i)));
            l.steps.push_back(std::move(s));
        }
        return l;
    }

  private:
    Result<std::map<std::string, Value>> fieldsOf(const std::vector<ArgRule>& rules, const json& j,
                                                  const std::string& ptr,
                                                  const std::string& what) const {
        if (!j.is_object()) return at(ptr, "should be an object, not " + typeOf(j));
        std::map<std::string, Value> out;
        for (const auto& [key, field] : j.items()) {
            const ArgRule* rule = nullptr;
            for (const ArgRule& r : rules) {
                if (r.spec.name == key) rule = &r;
            }
            if (rule == nullptr) {
                std::vector<std::string> known;
                for (const ArgRule& r : rules) known.push_back(r.spec.name);
                return at(child(ptr, key), what + " takes no field " + inQuotes(key) +
                                               " (its fields: " + joinWords(known) + ")");
            }
            PL_TRY_ASSIGN(out[key], value(*rule, field, child(ptr, key)));
        }
        return out;
    }

    // Moves the read fields into the Action, checking the files they name.
    Status fill(Action& a, const std::map<std::string, Value>& fields,
                const std::map<std::string, Value>& budget, const std::string& ptr) const {
        auto textOf = [&](const char* key) {
            auto it = fields.find(key);
            return it == fields.end() ? std::string() : std::get<std::string>(it->second);
        };
        auto intOf = [](const std::map<std::string, Value>& from, const char* key) {
            auto it = from.find(key);
            return it == from.end()
                       ? std::optional<int>()
                       : std::optional<int>(static_cast<int>(std::get<double>(it->second)));
        };
        a.model = textOf("model");
        a.preset = textOf("preset");
        a.plan = textOf("plan");
        a.layer = textOf("layer");
        a.view = textOf("view");
        a.method = textOf("method");
        a.data = textOf("data");
        a.scheme = textOf("scheme");
        if (auto it = fields.find("rates"); it != fields.end())
            a.rates = std::get<std::vector<double>>(it->second);
        a.epochs = intOf(fields, "epochs").value_or(0);
        a.fineTuneEpochs = intOf(fields, "fineTuneEpochs").value_or(0);
        a.limit = intOf(fields, "limit").value_or(0);
        a.frames = intOf(fields, "frames").value_or(0);
        if (auto it = fields.find("rate"); it != fields.end())
            a.rate = std::get<double>(it->second);
        a.testEpochs = intOf(budget, "epochs");
        a.testFineTuneEpochs = intOf(budget, "fineTuneEpochs");
        a.testLimit = intOf(budget, "limit");
        a.testFrames = intOf(budget, "frames");

        // A model named by file must come with the lesson; `assets/...` and catalog ids are
        // found by the workbench at run time.
        bool modelIsFile = a.model.find_first_of("/.") != std::string::npos;
        if (!a.model.empty() && modelIsFile && a.model.rfind("assets/", 0) != 0) {
            PL_TRY(file(a.model, child(ptr, "model"), "model file"));
        }
        if (a.kind == Action::Kind::ApplyPlan) {
            PL_TRY_ASSIGN(std::string path, file(a.plan, child(ptr, "plan"), "plan file"));
            std::error_code ec;
            if (fs::file_size(path, ec) > kMaxFileBytes || ec)
                return at(child(ptr, "plan"), "the plan file is larger than 1 MiB: " + path);
            auto plan = prune::loadPlanFile(path);
            if (!plan.ok())
                return at(child(ptr, "plan"), "the plan does not load: " + plan.error().toString());
        }
        return {};
    }

    std::string m_file, m_folder;
};

Result<Lesson> parseUnguarded(std::string_view text, const std::string& folder) {
    std::string file = (fs::path(folder) / "lesson.json").string();
    Parser parser(file, folder);
    std::string id = folderId(folder);
    if (!isLessonId(id)) {
        return makeError(ErrorCode::InvalidArgument,
                         "the folder name " + inQuotes(id) +
                             " is not a lesson id: two digits, '-', then lower-case words joined "
                             "by '-' (e.g. 01-smaller-robot-brain)",
                         folder);
    }
    if (text.size() > kMaxFileBytes) return parser.at("", "is larger than 1 MiB");
    if (nestsDeeperThan(text, kMaxNesting)) {
        return parser.at("",
                         "not valid JSON for a lesson: it nests deeper than " +
                             std::to_string(kMaxNesting) + " levels",
                         ErrorCode::Corrupt);
    }
    DuplicateFinder duplicates;
    json root;
    try {
        root = json::parse(text.begin(), text.end(), std::ref(duplicates));
    } catch (const json::exception& e) {
        return parser.at("", "not valid JSON: " + cleanJsonMessage(e.what()), ErrorCode::Corrupt);
    }
    if (duplicates.duplicate)
        return parser.at(*duplicates.duplicate, "this key appears twice (the first would be lost)");
    PL_TRY_ASSIGN(Lesson lesson, parser.lesson(root));
    lesson.id = id;
    std::error_code ec;
    fs::path absolute = fs::absolute(folder, ec);
    lesson.folder = ec ? folder : absolute.lexically_normal().string();
    while (lesson.folder.size() > 1 && lesson.folder.back() == '/') lesson.folder.pop_back();
    return lesson;
}

}  // namespace

Result<Lesson> parseLesson(std::string_view jsonText, const std::string& folder) {
    // Every path above returns an Error; this keeps a missed case (or bad_alloc) one too.
    try {
        return parseUnguarded(jsonText, folder);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Internal, std::string("reading the lesson failed: ") + e.what(),
                         (fs::path(folder) / "lesson.json").string());
    } catch (...) {
        return makeError(ErrorCode::Internal, "reading the lesson failed",
                         (fs::path(folder) / "lesson.json").string());
    }
}

// ---- loading ------------------------------------------------------------------------------

Result<Lesson> loadLesson(const std::string& folder) {
    std::string file = (fs::path(folder) / "lesson.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        return makeError(ErrorCode::NotFound, "not found (every lesson folder holds a lesson.json)",
                         file);
    }
    if (fs::file_size(file, ec) > kMaxFileBytes || ec)
        return makeError(ErrorCode::InvalidArgument, "is larger than 1 MiB", file);
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot be read", file);
    std::ostringstream text;
    text << in.rdbuf();
    return parseLesson(text.str(), folder);
}

std::vector<LessonEntry> loadLessons(const std::string& root) {
    std::vector<LessonEntry> entries;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        entries.push_back(
            {root, std::nullopt,
             makeError(ErrorCode::NotFound, "no lessons folder here (set $PRUNELAB_LESSONS to one)",
                       root)});
        return entries;
    }
    std::vector<std::string> folders;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::error_code typeEc;
        if (name.empty() || name[0] == '.' || !it->is_directory(typeEc)) continue;
        folders.push_back(it->path().string());
    }
    if (ec) {
        entries.push_back(
            {root, std::nullopt,
             makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), root)});
    }
    for (const std::string& folder : folders) {
        LessonEntry entry{folder, std::nullopt, std::nullopt};
        Result<Lesson> lesson = loadLesson(folder);
        if (lesson.ok())
            entry.lesson = std::move(lesson).value();
        else
            entry.error = lesson.error();
        entries.push_back(std::move(entry));
    }
    // Prerequisites name lesson folders beside this one.
    for (LessonEntry& entry : entries) {
        if (!entry.lesson) continue;
        const Lesson& l = *entry.lesson;
        for (size_t i = 0; i < l.prerequisites.size(); ++i) {
            const std::string& id = l.prerequisites[i];
            std::error_code dirEc;
            std::string problem;
            if (id == l.id)
                problem = "a lesson cannot be its own prerequisite";
            else if (!fs::is_directory(fs::path(root) / id, dirEc))
                problem = "no lesson " + inQuotes(id) + " in " + root;
            if (!problem.empty()) {
                entry.error = makeError(ErrorCode::NotFound, problem,
                                        (fs::path(entry.folder) / "lesson.json").string() + ": " +
                                            child("/prerequisites", i));
                entry.lesson.reset();
                break;
            }
        }
    }
    std::sort(entries.begin(), entries.end(), [](const LessonEntry& a, const LessonEntry& b) {
        if (a.lesson.has_value() != b.lesson.has_value()) return a.lesson.has_value();
        if (a.lesson && a.lesson->audience != b.lesson->audience)
            return a.lesson->audience < b.lesson->audience;
        return a.lesson ? a.lesson->id < b.lesson->id : a.folder < b.folder;
    });
    return entries;
}

std::string defaultLessonsRoot() {
    if (const char* env = std::getenv("PRUNELAB_LESSONS"); env && *env) return env;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path installed = exe.parent_path().parent_path() / "share/prunelab/lessons";
        if (fs::is_directory(installed, ec)) return installed.string();
    }
    return std::string(PRUNELAB_SOURCE_DIR) + "/lessons";
}

// ---- progress -----------------------------------------------------------------------------

namespace {
const char* markName(Mark m) {
    switch (m) {
        case Mark::Todo:
            return "todo";
        case Mark::Done:
            return "done";
        case Mark::Skipped:
            return "skipped";
    }
    return "todo";
}
}  // namespace

std::string progressToJson(const Progress& p) {
    json j;
    j["version"] = kProgressVersion;
    j["lesson"] = p.lessonId;
    j["steps"] = p.marks.size();
    j["current"] = p.current;
    j["marks"] = json::array();
    for (Mark m : p.marks) j["marks"].push_back(markName(m));
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Progress> progressFromJson(std::string_view text, const Lesson& lesson) {
    const std::string where = "progress of lesson '" + lesson.id + "'";
    auto bad = [&](const std::string& problem) {
        return makeError(ErrorCode::Corrupt, problem, where);
    };
    try {
        if (text.size() > kMaxFileBytes || nestsDeeperThan(text, kMaxNesting))
            return bad("not a progress file");
        json j = json::parse(text.begin(), text.end(), nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return bad("not a progress file (not a JSON object)");
        for (const auto& [key, value] : j.items()) {
            if (key != "version" && key != "lesson" && key != "steps" && key != "current" &&
                key != "marks")
                return bad(child("", key) + ": unknown key " + inQuotes(key));
        }
        auto version = j.find("version");
        if (version == j.end() || !version->is_number_integer() ||
            version->get<int64_t>() != kProgressVersion)
            return bad("/version: should be " + std::to_string(kProgressVersion));
        auto id = j.find("lesson");
        if (id == j.end() || !id->is_string()) return bad("/lesson: missing");
        if (id->get<std::string>() != lesson.id) {
            return makeError(ErrorCode::InvalidArgument,
                             "the progress is for lesson " + inQuotes(id->get<std::string>()),
                             where);
        }
        auto steps = j.find("steps");
        auto marks = j.find("marks");
        auto current = j.find("current");
        if (steps == j.end() || !steps->is_number_integer()) return bad("/steps: missing");
        if (marks == j.end() || !marks->is_array()) return bad("/marks: missing");
        if (current == j.end() || !current->is_number_integer()) return bad("/current: missing");
        int64_t n = steps->get<int64_t>();
        if (n != static_cast<int64_t>(lesson.steps.size())) {
            return makeError(ErrorCode::InvalidArgument,
                             "the progress was saved when the lesson had " + std::to_string(n) +
                                 " steps; it has " + std::to_string(lesson.steps.size()) +
                                 " now, so it starts again",
                             where);
        }
        if (static_cast<int64_t>(marks->size()) != n)
            return bad("/marks: " + std::to_string(marks->size()) + " marks for " +
                       std::to_string(n) + " steps");
        Progress p;
        p.lessonId = lesson.id;
        for (size_t i = 0; i < marks->size(); ++i) {
            const json& m = (*marks)[i];
            std::string name = m.is_string() ? m.get<std::string>() : "";
            if (name == "todo")
                p.marks.push_back(Mark::Todo);
            else if (name == "done")
                p.marks.push_back(Mark::Done);
            else if (name == "skipped")
                p.marks.push_back(Mark::Skipped);
            else
                return bad(child("/marks", i) + ": should be todo, done or skipped");
        }
        int64_t c = current->get<int64_t>();
        if (c < 0 || (n > 0 && c >= n) || (n == 0 && c != 0))
            return bad("/current: step " + std::to_string(c) + " is not one of the lesson's");
        p.current = static_cast<int>(c);
        return p;
    } catch (const std::exception& e) {
        return bad(std::string("not a progress file: ") + cleanJsonMessage(e.what()));
    }
}

}  // namespace prunelab::engine::lessons

// The checks: each one's arguments (the schema the parser validates against) and its predicate
// over a State, with a `why` in a student's words when it does not pass. Index: the rules table,
// words for numbers and names, one function per check, then evaluate().
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "engine/lessons/schema.h"

namespace prunelab::engine::lessons {

using namespace detail;

namespace detail {

const std::vector<CheckRules>& checkRules() {
    static const std::vector<CheckRules> rules = [] {
        const std::vector<std::string> methods = {"admm", "one-shot", "gradual", "none"};
        const std::string methodHelp = "`none` is pruning without retraining";
        auto value = [](std::string help) {
            return std::vector<ArgRule>{number("value", true, 0, 1, std::move(help))};
        };
        return std::vector<CheckRules>{
            {"model-open",
             {text("model", false, TextRule::Any, {},
                   "a catalog id, or the file name the opened path ends in")},
             "a model is open (that one, when `model` is given)"},
            {"view-shown",
             {text("view", true, TextRule::OneOf, viewNames(), "")},
             "that view is on screen"},
            {"layer-selected",
             {text("layer", false, TextRule::Layer, {}, "")},
             "a layer is selected (that one, when `layer` is given)"},
            {"plan-applied",
             {text("scheme", false, TextRule::Scheme, schemeChoices(false), "")},
             "a plan is applied (its main scheme is `scheme`, when given)"},
            {"layer-scheme",
             {text("layer", false, TextRule::Layer, {"selected", "any"}, "default `selected`"),
              text("scheme", true, TextRule::Scheme, schemeChoices(true), ""),
              integer("maxPatterns", false, 1, 1000, "pattern layers only")},
             "that layer (`any`: some layer) is pruned by `scheme`, with at most `maxPatterns` "
             "patterns when given"},
            {"density-at-most", value("kept weights / all weights"), "model density <= `value`"},
            {"density-at-least", value("kept weights / all weights"), "model density >= `value`"},
            {"macs-at-most",
             {number("ratio", true, 0, 1, "kept MACs / dense MACs")},
             "keptMacs / denseMacs <= `ratio`"},
            {"physically-smaller", {}, "a structured plan shrank the model's shapes"},
            {"experiment",
             {text("method", false, TextRule::OneOf, methods, methodHelp),
              text("scheme", false, TextRule::Scheme, schemeChoices(true), ""),
              number("minAccuracy", false, 0, 1, "a fraction (0.85 is 85%)"),
              number("minPsnr", false, 0, 1000, "dB")},
             "some experiment matches every argument given"},
            {"experiment-beats",
             {text("method", true, TextRule::OneOf, methods, methodHelp),
              text("than", true, TextRule::OneOf, methods, ""),
              text("metric", false, TextRule::OneOf, {"accuracy", "psnr"}, "default `accuracy`"),
              number("margin", false, -1000, 1000,
                     "default 0; in the metric's unit (accuracy: 0.02 is 2 points; psnr: dB)")},
             "the best `method` experiment's metric >= the best `than` experiment's + `margin`"},
            {"sweep-done",
             {integer("points", false, 1, 1000, "default 3"),
              text("scheme", false, TextRule::Scheme, schemeChoices(false), "")},
             "the sweep has at least `points` points (of `scheme`, when given)"},
            {"sweep-cliff",
             {number("drop", true, 0, 1, "the accuracy drop as a fraction (0.2 is 20 points)",
                     true)},
             "some sweep point's accuracy is at least `drop` below the lowest rate's"},
            {"speed-measured", {}, "the Speed view measured"},
            {"layer-slower-sparse",
             {text("layer", false, TextRule::Layer, {"any", "selected"}, "default `any`")},
             "that layer (`any`: some layer) measured slower sparse than dense"},
            {"kernels-shown", {}, "the Kernels view shows generated code for the selected layer"},
            {"live-ran",
             {integer("frames", false, 1, 1000000, "default 1"),
              number("speedup", false, 0, 1000, "dense time / pruned time", true)},
             "the live demo finished at least `frames` frames (with at least `speedup`, when "
             "given)"},
            {"rate-at-least", value("the slider's pruning rate"),
             "the classroom slider (lane B's rate) >= `value`"},
            {"rate-at-most", value("the slider's pruning rate"),
             "the classroom slider (lane B's rate) <= `value`"},
        };
    }();
    return rules;
}

const CheckRules* findCheckRules(const std::string& name) {
    for (const CheckRules& r : checkRules()) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

}  // namespace detail

const std::vector<CheckSpec>& checkSpecs() {
    static const std::vector<CheckSpec> specs = [] {
        std::vector<CheckSpec> out;
        for (const CheckRules& r : checkRules()) {
            CheckSpec spec{r.name, {}, r.passes};
            for (const ArgRule& a : r.args) spec.args.push_back(a.spec);
            out.push_back(std::move(spec));
        }
        return out;
    }();
    return specs;
}

const std::map<std::string, std::string>& checkNames() {
    static const std::map<std::string, std::string> names = [] {
        std::map<std::string, std::string> out;
        for (const CheckRules& r : checkRules()) out[r.name] = r.passes;
        return out;
    }();
    return names;
}

Status validateCheck(const Check& check) {
    const CheckRules* rules = findCheckRules(check.name);
    if (rules == nullptr) {
        std::vector<std::string> known;
        for (const CheckRules& r : checkRules()) known.push_back(r.name);
        return makeError(ErrorCode::InvalidArgument, "unknown check " + inQuotes(check.name) +
                                                         " (known: " + joinWords(known) + ")");
    }
    for (const auto& [name, arg] : check.args) {
        const ArgRule* rule = nullptr;
        for (const ArgRule& r : rules->args) {
            if (r.spec.name == name) rule = &r;
        }
        if (rule == nullptr) {
            std::vector<std::string> known;
            for (const ArgRule& r : rules->args) known.push_back(r.spec.name);
            return makeError(ErrorCode::InvalidArgument,
                             name + ": '" + check.name + "' takes no argument " + inQuotes(name) +
                                 (known.empty() ? " (it takes none)"
                                                : " (its arguments: " + joinWords(known) + ")"));
        }
        Value v = std::visit([](const auto& x) { return Value{x}; }, arg);
        if (auto problem = valueProblem(*rule, v))
            return makeError(ErrorCode::InvalidArgument, name + ": " + *problem);
    }
    for (const ArgRule& r : rules->args) {
        if (r.spec.required && !check.args.count(r.spec.name)) {
            return makeError(ErrorCode::InvalidArgument,
                             "'" + check.name + "' needs the argument '" + r.spec.name + "'");
        }
    }
    return {};
}

namespace {

// ---- words for numbers and names, as a student reads them ----

// 0.43 -> "43%", 0.104 -> "10.4%", 0.0004 -> "0.04%".
std::string percent(double fraction) {
    double p = fraction * 100;
    char buf[32];
    if (std::fabs(p - std::round(p)) < 0.05)
        std::snprintf(buf, sizeof buf, "%.0f%%", p);
    else if (std::fabs(p) >= 1)
        std::snprintf(buf, sizeof buf, "%.1f%%", p);
    else
        std::snprintf(buf, sizeof buf, "%.2g%%", p);
    return buf;
}

// Accuracy differences in percentage points: 0.2 -> "20 points".
std::string points(double fraction) {
    std::string p = percent(fraction);
    return p.substr(0, p.size() - 1) + (p == "1%" ? " point" : " points");
}

std::string fixed(double v, int decimals) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string schemeWords(const std::string& id) {
    if (id == "n_m") return "N:M";
    if (id == "non_structured") return "non-structured (irregular)";
    std::string words = id;
    for (char& c : words) c = c == '_' ? '-' : c;
    return words;
}

std::string sameScheme(std::string id) {
    for (char& c : id) c = c == '-' ? '_' : c;
    return id;
}

std::string methodWords(const std::string& method) {
    if (method == "admm") return "ADMM";
    if (method == "none" || method.empty()) return "pruning without retraining";
    return method;
}

// Experiments record "" for a plain projection; lessons name that "none".
bool sameMethod(const std::string& experiment, const std::string& wanted) {
    return wanted == "none" ? experiment.empty() || experiment == "none" : experiment == wanted;
}

std::string viewWords(const std::string& view) {
    static const std::map<std::string, std::string> titles = {
        {"start", "the start page"},       {"layers", "the Layers table"},
        {"patterns", "the Patterns view"}, {"tiles", "the Tiles view"},
        {"kernels", "the Kernels view"},   {"speed", "the Speed view"},
        {"retrain", "the Retrain tab"},    {"compare", "the Compare tab"},
        {"live", "the Live tab"},          {"classroom", "classroom mode"}};
    auto it = titles.find(view);
    return it == titles.end() ? "'" + view + "'" : it->second;
}

std::string fileName(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

// ---- reading a validated check's arguments ----

struct Args {
    const Check& check;
    bool has(const std::string& name) const { return check.args.count(name) > 0; }
    double number(const std::string& name, double fallback) const {
        auto it = check.args.find(name);
        const double* v = it == check.args.end() ? nullptr : std::get_if<double>(&it->second);
        return v ? *v : fallback;
    }
    std::string text(const std::string& name, const std::string& fallback = {}) const {
        auto it = check.args.find(name);
        const std::string* v =
            it == check.args.end() ? nullptr : std::get_if<std::string>(&it->second);
        return v ? *v : fallback;
    }
    // Schemes compare as ids, whichever spelling the lesson or the state uses.
    std::string scheme(const std::string& name) const { return sameScheme(text(name)); }
};

CheckResult pass() {
    return {true, {}};
}
CheckResult fail(std::string why) {
    return {false, std::move(why)};
}

// A layer reference: a full name or "#N" (State::layers[N]). Null with `why` when it names
// nothing in this model.
const LayerState* findLayer(const State& s, const std::string& ref, std::string* why) {
    if (!ref.empty() && ref[0] == '#') {
        size_t n = std::stoul(ref.substr(1));  // validated: '#' and 1 to 4 digits
        if (n < s.layers.size()) return &s.layers[n];
        *why = "This model has " + std::to_string(s.layers.size()) +
               " prunable layers; this step is about layer " + ref +
               " (is the lesson's model open?)";
        return nullptr;
    }
    for (const LayerState& l : s.layers) {
        if (l.name == ref) return &l;
    }
    *why = "This model has no layer named " + ref + " (is the lesson's model open?)";
    return nullptr;
}

// findLayer, and "selected" for the layer selected in the table.
const LayerState* layerFor(const State& s, const std::string& ref, std::string* why) {
    if (ref != "selected") return findLayer(s, ref, why);
    if (s.selectedLayer.empty()) {
        *why = "Select a layer in the table first";
        return nullptr;
    }
    for (const LayerState& l : s.layers) {
        if (l.name == s.selectedLayer) return &l;
    }
    *why = "The selected layer cannot be pruned: select a conv or dense layer";
    return nullptr;
}

// ---- the checks ----

CheckResult modelOpen(const Args& a, const State& s) {
    if (s.model.empty()) return fail("Open a model first");
    if (!a.has("model")) return pass();
    std::string want = a.text("model");
    if (s.catalogId == want || s.model == want || fileName(s.model) == fileName(want))
        return pass();
    return fail("The open model is " + (s.catalogId.empty() ? fileName(s.model) : s.catalogId) +
                "; this step uses " + want + ": open it");
}

CheckResult viewShown(const Args& a, const State& s) {
    std::string want = a.text("view");
    if (s.view == want) return pass();
    return fail("Go to " + viewWords(want) +
                (s.view.empty() ? std::string() : " (now on " + viewWords(s.view) + ")"));
}

CheckResult layerSelected(const Args& a, const State& s) {
    if (s.selectedLayer.empty()) return fail("Select a layer in the table");
    if (!a.has("layer")) return pass();
    std::string why;
    const LayerState* want = findLayer(s, a.text("layer"), &why);
    if (want == nullptr) return fail(why);
    if (want->name == s.selectedLayer) return pass();
    return fail("Select layer " + want->name + " (now: " + s.selectedLayer + ")");
}

CheckResult planApplied(const Args& a, const State& s) {
    if (!s.planApplied) return fail("Apply a plan first");
    if (!a.has("scheme") || sameScheme(s.planScheme) == a.scheme("scheme")) return pass();
    return fail("The applied plan prunes with " + schemeWords(sameScheme(s.planScheme)) +
                "; this step wants " + schemeWords(a.scheme("scheme")));
}

CheckResult layerScheme(const Args& a, const State& s) {
    std::string ref = a.text("layer", "selected"), scheme = a.scheme("scheme");
    bool limit = a.has("maxPatterns");
    int maxPatterns = static_cast<int>(a.number("maxPatterns", 0));
    if (!s.planApplied && scheme != "dense") return fail("Apply a plan first");
    auto matches = [&](const LayerState& l) {
        return sameScheme(l.scheme) == scheme && (!limit || l.patterns <= maxPatterns);
    };
    if (ref == "any") {
        int sameSchemeLayers = 0, fewest = 0;
        for (const LayerState& l : s.layers) {
            if (matches(l)) return pass();
            if (sameScheme(l.scheme) == scheme) {
                fewest = sameSchemeLayers++ == 0 ? l.patterns : std::min(fewest, l.patterns);
            }
        }
        if (sameSchemeLayers > 0) {
            return fail("The " + schemeWords(scheme) + " layers use " + std::to_string(fewest) +
                        " or more patterns; this step wants at most " +
                        std::to_string(maxPatterns));
        }
        return fail("No layer is pruned with " + schemeWords(scheme) + " yet");
    }
    std::string why;
    const LayerState* layer = layerFor(s, ref, &why);
    if (layer == nullptr) return fail(why);
    if (sameScheme(layer->scheme) != scheme) {
        return fail("Layer " + layer->name + " is " +
                    (sameScheme(layer->scheme) == "dense"
                         ? std::string("kept dense")
                         : "pruned with " + schemeWords(sameScheme(layer->scheme))) +
                    "; this step wants " + schemeWords(scheme));
    }
    if (limit && layer->patterns > maxPatterns) {
        return fail("Layer " + layer->name + " uses " + std::to_string(layer->patterns) +
                    " patterns; this step wants at most " + std::to_string(maxPatterns));
    }
    return pass();
}

CheckResult densityCompare(const Args& a, const State& s, bool atMost) {
    double want = a.number("value", 0);
    if (atMost ? s.density <= want : s.density >= want) return pass();
    return fail("The model keeps " + percent(s.density) + " of its connections; this step wants " +
                (atMost ? "at most " : "at least ") + percent(want));
}

CheckResult macsAtMost(const Args& a, const State& s) {
    if (s.denseMacs <= 0) return fail("Open a model first");
    double ratio = static_cast<double>(s.keptMacs) / static_cast<double>(s.denseMacs);
    double want = a.number("ratio", 0);
    if (ratio <= want) return pass();
    return fail("The model still does " + percent(ratio) +
                " of its multiply-adds; this step wants at most " + percent(want));
}

CheckResult physicallySmaller(const Args&, const State& s) {
    if (s.physicallySmaller) return pass();
    if (!s.planApplied) return fail("Apply a structured plan first");
    return fail(
        "This plan keeps every filter and channel, so the model is no smaller: apply a "
        "structured plan");
}

CheckResult experiment(const Args& a, const State& s) {
    if (s.experiments.empty()) return fail("No experiments yet: apply a plan or retrain first");
    std::string method = a.text("method"), scheme = a.scheme("scheme");
    bool wantAcc = a.has("minAccuracy"), wantPsnr = a.has("minPsnr");
    double minAcc = a.number("minAccuracy", 0), minPsnr = a.number("minPsnr", 0);
    std::optional<double> bestAcc, bestPsnr;  // among those of the right method and scheme
    bool kind = false;
    for (const ExperimentState& e : s.experiments) {
        if (!method.empty() && !sameMethod(e.method, method)) continue;
        if (!scheme.empty() && sameScheme(e.scheme) != scheme) continue;
        kind = true;
        if (e.accuracy) bestAcc = std::max(bestAcc.value_or(-1), *e.accuracy);
        if (e.psnrDb) bestPsnr = std::max(bestPsnr.value_or(-1e9), *e.psnrDb);
        bool accOk = !wantAcc || (e.accuracy && *e.accuracy >= minAcc);
        bool psnrOk = !wantPsnr || (e.psnrDb && *e.psnrDb >= minPsnr);
        if (accOk && psnrOk) return pass();
    }
    std::vector<std::string> wants;
    if (!method.empty()) wants.push_back(methodWords(method));
    if (!scheme.empty()) wants.push_back(schemeWords(scheme) + " pruning");
    std::string what =
        wants.empty() ? "an experiment" : "an experiment with " + joinWords(wants, " and ");
    if (!kind) return fail("This step wants " + what + ": there is none yet");
    std::string why = "This step wants " + what;
    if (wantAcc) {
        why += " reaching " + percent(minAcc) + " accuracy" +
               (bestAcc ? " (best so far: " + percent(*bestAcc) + ")"
                        : " (none has an accuracy yet: retrain to measure it)");
    }
    if (wantPsnr) {
        why += std::string(wantAcc ? " and" : "") + " reaching " + fixed(minPsnr, 1) + " dB" +
               (bestPsnr ? " (best so far: " + fixed(*bestPsnr, 1) + " dB)"
                         : " (none has a PSNR yet: retrain to measure it)");
    }
    return fail(why);
}

CheckResult experimentBeats(const Args& a, const State& s) {
    std::string method = a.text("method"), than = a.text("than");
    bool psnr = a.text("metric", "accuracy") == "psnr";
    double margin = a.number("margin", 0);
    auto best = [&](const std::string& m) {
        std::optional<double> b;
        for (const ExperimentState& e : s.experiments) {
            std::optional<double> v = psnr ? e.psnrDb : e.accuracy;
            if (sameMethod(e.method, m) && v) b = std::max(b.value_or(-1e9), *v);
        }
        return b;
    };
    std::string metric = psnr ? "PSNR" : "accuracy";
    auto words = [&](double v) { return psnr ? fixed(v, 1) + " dB" : percent(v); };
    std::optional<double> ours = best(method), theirs = best(than);
    if (!ours)
        return fail("Retrain with " + methodWords(method) +
                    " first: no such experiment has "
                    "its " +
                    metric + " yet");
    if (!theirs)
        return fail("Retrain with " + methodWords(than) +
                    " first: no such experiment "
                    "has its " +
                    metric + " yet");
    if (*ours >= *theirs + margin) return pass();
    std::string wants =
        margin > 0 ? "at least " + (psnr ? fixed(margin, 1) + " dB" : points(margin)) + " better"
        : margin < 0
            ? "no more than " + (psnr ? fixed(-margin, 1) + " dB" : points(-margin)) + " worse"
            : "at least as good";
    return fail("Best " + metric + " with " + methodWords(method) + ": " + words(*ours) +
                "; with " + methodWords(than) + ": " + words(*theirs) + ". This step wants " +
                methodWords(method) + " " + wants);
}

CheckResult sweepDone(const Args& a, const State& s) {
    std::string scheme = a.scheme("scheme");
    int want = static_cast<int>(a.number("points", 3));
    int have = 0;
    for (const SweepPoint& p : s.sweep) have += scheme.empty() || sameScheme(p.scheme) == scheme;
    if (have >= want) return pass();
    std::string of = scheme.empty() ? "" : " of " + schemeWords(scheme) + " pruning";
    if (have == 0) return fail("Run a sweep" + of + " first");
    return fail("The sweep" + of + " has " + std::to_string(have) + " point" +
                (have == 1 ? "" : "s") + "; this step wants at least " + std::to_string(want));
}

CheckResult sweepCliff(const Args& a, const State& s) {
    if (s.sweep.empty()) return fail("Run a sweep first");
    if (s.sweep.size() < 2) return fail("The sweep needs at least two rates to show a drop");
    const SweepPoint* lowest = &s.sweep[0];
    for (const SweepPoint& p : s.sweep) {
        if (p.rate < lowest->rate) lowest = &p;
    }
    double maxDrop = 0;
    for (const SweepPoint& p : s.sweep) maxDrop = std::max(maxDrop, lowest->accuracy - p.accuracy);
    double want = a.number("drop", 1);
    if (maxDrop >= want) return pass();
    return fail("Accuracy drops at most " + points(maxDrop) + " (from " +
                percent(lowest->accuracy) + " at rate " + percent(lowest->rate) +
                "); this step wants a drop of at least " + points(want) + ": try higher rates");
}

CheckResult speedMeasured(const Args&, const State& s) {
    if (s.speedMeasured) return pass();
    return fail("Press Measure in the Speed view first");
}

CheckResult layerSlowerSparse(const Args& a, const State& s) {
    if (!s.speedMeasured) return fail("Press Measure in the Speed view first");
    auto slower = [](const LayerState& l) {
        return l.sparseMs && l.denseMs && *l.sparseMs > *l.denseMs;
    };
    std::string ref = a.text("layer", "any");
    if (ref == "any") {
        for (const LayerState& l : s.layers) {
            if (slower(l)) return pass();
        }
        return fail("Every measured layer is at least as fast sparse as dense here");
    }
    std::string why;
    const LayerState* layer = layerFor(s, ref, &why);
    if (layer == nullptr) return fail(why);
    if (!layer->sparseMs || !layer->denseMs)
        return fail("Layer " + layer->name + " was not measured: press Measure in the Speed view");
    if (slower(*layer)) return pass();
    return fail("Layer " + layer->name + " ran in " + fixed(*layer->sparseMs, 2) +
                " ms sparse and " + fixed(*layer->denseMs, 2) +
                " ms dense: it is not slower sparse");
}

CheckResult kernelsShown(const Args&, const State& s) {
    if (s.kernelsShown) return pass();
    if (s.selectedLayer.empty()) return fail("Select a layer, then open the Kernels view");
    return fail("Open the Kernels view to see the code made for the selected layer");
}

CheckResult liveRan(const Args& a, const State& s) {
    int64_t want = static_cast<int64_t>(a.number("frames", 1));
    if (!s.live.running && s.live.frames == 0) return fail("Start the live demo");
    if (s.live.frames < want) {
        return fail("The live demo has finished " + std::to_string(s.live.frames) +
                    " frames; this step wants " + std::to_string(want) +
                    (s.live.running ? ": let it run" : ": start it again"));
    }
    if (!a.has("speedup")) return pass();
    double speedup = a.number("speedup", 1);
    if (!s.live.speedup)
        return fail("The speed-up is not measured yet: let the live demo run a little longer");
    if (*s.live.speedup >= speedup) return pass();
    return fail("The pruned model runs " + fixed(*s.live.speedup, 1) +
                "x as fast as the dense one; this step wants at least " + fixed(speedup, 1) + "x");
}

CheckResult rateCompare(const Args& a, const State& s, bool atLeast) {
    double want = a.number("value", 0);
    if (atLeast ? s.rate >= want : s.rate <= want) return pass();
    return fail("The slider removes " + percent(s.rate) + " of the connections; move it to " +
                (atLeast ? "at least " : "at most ") + percent(want));
}

using CheckFn = std::function<CheckResult(const Args&, const State&)>;

const std::map<std::string, CheckFn>& checkFunctions() {
    static const std::map<std::string, CheckFn> fns = {
        {"model-open", modelOpen},
        {"view-shown", viewShown},
        {"layer-selected", layerSelected},
        {"plan-applied", planApplied},
        {"layer-scheme", layerScheme},
        {"density-at-most",
         [](const Args& a, const State& s) { return densityCompare(a, s, true); }},
        {"density-at-least",
         [](const Args& a, const State& s) { return densityCompare(a, s, false); }},
        {"macs-at-most", macsAtMost},
        {"physically-smaller", physicallySmaller},
        {"experiment", experiment},
        {"experiment-beats", experimentBeats},
        {"sweep-done", sweepDone},
        {"sweep-cliff", sweepCliff},
        {"speed-measured", speedMeasured},
        {"layer-slower-sparse", layerSlowerSparse},
        {"kernels-shown", kernelsShown},
        {"live-ran", liveRan},
        {"rate-at-least", [](const Args& a, const State& s) { return rateCompare(a, s, true); }},
        {"rate-at-most", [](const Args& a, const State& s) { return rateCompare(a, s, false); }},
    };
    return fns;
}

}  // namespace

CheckResult evaluate(const Check& check, const State& state) {
    // A hand-made Check gets the parser's scrutiny, so nothing below meets a bad argument.
    Status valid = validateCheck(check);
    if (!valid.ok()) return fail("This step's check is broken: " + valid.error().toString());
    auto fn = checkFunctions().find(check.name);
    if (fn == checkFunctions().end())
        return fail("This step's check '" + check.name + "' has no code: please report");
    try {
        return fn->second(Args{check}, state);
    } catch (const std::exception& e) {
        return fail(std::string("This step's check failed to run: ") + e.what());
    }
}

}  // namespace prunelab::engine::lessons

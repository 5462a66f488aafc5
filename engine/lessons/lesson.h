// Lessons: guided labs read from lessons/<id>/lesson.json (data, never code), their "Show me"
// actions, and the checks that say when a step is done. Checks are predicates over a plain
// snapshot of the workbench (State) so the player, the tests and the CLI run one code path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::lessons {

enum class Audience { K12, Lab, Research };
const char* audienceName(Audience a);  // "k12", "lab", "research"

// The views a lesson can show or check for, by the names the workbench gives its tabs.
const std::vector<std::string>& viewNames();

// The AI4K12 big ideas, as lesson.json spells them: "1 - Perception", ..., "5 - Societal Impact".
const std::vector<std::string>& bigIdeaNames();

// What "Show me" does. A closed set: lesson.json names one kind and its fields; anything else
// is an error naming the file and the JSON path. The workbench performs it (the same call the
// player's button makes), so a lesson's test runs exactly what a student's click runs.
struct Action {
    enum class Kind {
        OpenModel,    // model: a catalog id, or a file in the lesson folder or assets/...
        ApplyPreset,  // preset: a name from prune::presetNames()
        ApplyPlan,    // plan: a plan file relative to the lesson folder
        SelectLayer,  // layer: a layer name, or "#N" for the N-th prunable layer (from 0)
        ShowView,     // view: one of viewNames()
        Retrain,      // method (admm | one-shot | gradual), data, epochs, fine-tune epochs, ...
        Measure,      // the Speed view's measure pass (dense against compiled, per layer)
        Sweep,        // a sensitivity sweep: one scheme at several rates, accuracy at each
        StartLive,    // model's live demo; frames: how many to run before the step is checked
        SetRate,      // rate: the classroom slider / lane B's pruning rate in [0, 1)
    };
    Kind kind = Kind::ShowView;
    std::string model, preset, plan, layer, view;
    std::string method, data, scheme;  // Retrain and Sweep
    std::vector<double> rates;         // Sweep
    int epochs = 0, fineTuneEpochs = 0, limit = 0, frames = 0;
    double rate = 0.0;
    // A smaller budget for the tests (lesson.json "test": {...}): the same action, fewer
    // examples or epochs, so every lesson runs end to end in CI. Flagged in the file, never
    // silent: the player shows the full budget, the test prints that it used this one.
    std::optional<int> testEpochs, testFineTuneEpochs, testLimit, testFrames;
};
const char* actionKindName(Action::Kind k);  // "open-model", "apply-preset", ...

// A check's argument as lesson.json gives it: a JSON number (whole numbers too) or a string.
using CheckArg = std::variant<double, std::string>;

// A check: a named predicate and its arguments. Names and argument types are checked when the
// lesson is read; an unknown name or argument is an error with the file and JSON path.
// Scheme arguments are kept as prune::Scheme ids ("non-structured" is read as "non_structured").
struct Check {
    std::string name;                      // "density-at-most", "experiment", ...
    std::map<std::string, CheckArg> args;  // typed and range-checked by validateCheck
};

// --- The schema: what each check and action takes (the parser, the docs and tests read it) --

struct ArgSpec {
    enum class Type { Number, Integer, Text, NumberList };
    std::string name;
    Type type = Type::Text;
    bool required = false;
    std::string help;  // range, allowed values, default: "in [0, 1]", "admm | one-shot | gradual"
};
struct CheckSpec {
    std::string name;
    std::vector<ArgSpec> args;
    std::string passes;  // "model density <= value"
};
struct ActionSpec {
    Action::Kind kind;
    std::vector<ArgSpec> fields;
    std::vector<ArgSpec> testFields;  // what its "test": {...} budget may lower; empty: none
    std::string does;                 // what the workbench does
};
const std::vector<CheckSpec>& checkSpecs();    // in lessons/README.md's order
const std::vector<ActionSpec>& actionSpecs();  // one per Action::Kind, in enum order
// The actions' and the checks' tables of lessons/README.md (Markdown), made from the specs, so
// the docs say what the parser accepts (`prunelab-cli lesson reference` prints them).
std::string referenceMarkdown();

struct Step {
    std::string title;  // short, shown in the list
    std::string text;   // Markdown: what to do and why
    std::optional<Action> showMe;
    std::vector<Check> checks;  // all must pass; none: a reading step, done when seen
    std::vector<std::string> hints;
    std::vector<std::string> pictures;  // relative to the lesson folder; must exist
};

struct Lesson {
    std::string id;      // the folder's name
    std::string folder;  // absolute path of lessons/<id>
    std::string title;
    Audience audience = Audience::Lab;
    int minutes = 0;
    std::string bigIdea;  // the AI4K12 big idea it serves (1..5, "perception", ...)
    std::vector<std::string> prerequisites;  // lesson ids
    std::vector<Step> steps;
};

// --- The state checks read ----------------------------------------------------------------

struct LayerState {
    std::string name;      // full name
    std::string scheme;    // "dense" or the prune::Scheme id that pruned it ("pattern", ...)
    double density = 1.0;  // kept / total weights
    int patterns = 0;      // distinct kernel patterns in use (pattern scheme)
    std::optional<double> sparseMs, denseMs;  // the Speed view's per-layer times, when measured
};

struct ExperimentState {
    std::string scheme;  // the plan's main scheme
    std::string method;  // "" (projection only), "admm", "one-shot", "gradual"
    double density = 1.0;
    std::optional<double> accuracy, psnrDb, latencyMs, denseLatencyMs;
};

struct SweepPoint {
    std::string scheme;
    double rate = 0.0;
    double accuracy = 0.0;
};

struct LiveState {
    bool running = false;
    int64_t frames = 0;             // frames both lanes finished since it started
    std::optional<double> speedup;  // median dense / median pruned, once measured
};

// A snapshot of the workbench; the GUI fills it from its session, the tests from the same
// session objects. Absent things are empty/zero: a check says what is missing in words.
struct State {
    std::string model;      // as opened: a catalog id or a path; "" when none
    std::string catalogId;  // the catalog entry it was matched to, "" for a plain file
    std::string view;       // the tab on screen (viewNames()), "start" for the start page
    std::string selectedLayer;
    bool planApplied = false;
    std::string planScheme;  // main scheme of the applied plan
    double density = 1.0;    // kept / total weights of the prunable layers
    int64_t keptMacs = 0, denseMacs = 0;
    bool physicallySmaller = false;  // a structured plan shrank the model's shapes
    std::vector<LayerState> layers;  // the prunable layers in model order: "#N" is layers[N]
    std::vector<ExperimentState> experiments;
    std::vector<SweepPoint> sweep;
    bool speedMeasured = false;
    bool kernelsShown = false;  // the Kernels view showed generated code for the selected layer
    LiveState live;
    double rate = 0.0;  // the classroom slider / lane B's rate
};

struct CheckResult {
    bool passed = false;
    std::string why;  // when it did not pass: what is missing, in a student's words
};

// --- Reading, validating, checking ----------------------------------------------------------

// The names every check understands, with one line each (lessons/README.md lists them too).
const std::map<std::string, std::string>& checkNames();

// A check as the parser checks it: a known name, known arguments of the right type and range,
// the required ones present. Errors name the argument ("value: 1.5 is outside [0, 1]").
Status validateCheck(const Check& check);

// Reads lessons/<id>/lesson.json. Corrupt or InvalidArgument errors name the file and the JSON
// path ("lessons/x/lesson.json: /steps/2/checks/0/check: unknown check 'densty'"); a picture,
// plan or model file that is not there is NotFound with its path. `folder` is the lesson's
// folder (its name is the id); files named in the lesson are looked up there. Never throws,
// whatever the bytes.
Result<Lesson> parseLesson(std::string_view jsonText, const std::string& folder);
Result<Lesson> loadLesson(const std::string& folder);

// Every lesson folder under `root` (sub-folders not starting with '.'), sorted by (audience,
// id), broken ones last by folder. A folder that fails to load, or whose prerequisites name no
// lesson folder under `root`, is listed with its error rather than dropped, so the player shows
// it and a broken lesson is never silently missing. A missing `root` gives one entry with
// its error.
struct LessonEntry {
    std::string folder;
    std::optional<Lesson> lesson;
    std::optional<Error> error;
};
std::vector<LessonEntry> loadLessons(const std::string& root);

// The lessons/ folder: $PRUNELAB_LESSONS, else next to the installed binary, else the source
// tree's (as plugins::defaultCatalogPath finds the catalog).
std::string defaultLessonsRoot();

// Never throws; a check that fails validateCheck does not pass and says why.
CheckResult evaluate(const Check& check, const State& state);

// --- Progress -------------------------------------------------------------------------------

enum class Mark { Todo, Done, Skipped };
struct Progress {
    std::string lessonId;
    int current = 0;          // the step on screen
    std::vector<Mark> marks;  // one per step
};
// {"version": 1, "lesson": ID, "steps": N, "current": I, "marks": ["done", "skipped", "todo"]}
std::string progressToJson(const Progress& p);
// Refuses (InvalidArgument) progress saved for another lesson or for a version of it with
// another number of steps, and anything malformed (Corrupt). Never throws.
Result<Progress> progressFromJson(std::string_view text, const Lesson& lesson);

}  // namespace prunelab::engine::lessons

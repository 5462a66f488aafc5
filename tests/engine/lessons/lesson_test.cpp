// Lessons: every check passing and failing on hand-made States (with the student's `why`), the
// parser's errors with their file and JSON pointer, loading a folder of lessons with a broken
// one listed, progress, the README's tables against the code, and random byte edits of every
// lesson.json never crashing the reader.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "engine/lessons/lesson.h"

namespace prunelab::engine::lessons {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kSource = PRUNELAB_SOURCE_DIR;
const std::string kFixtures = kSource + "/tests/data/lessons";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A folder of its own per test (ctest runs tests in parallel processes), removed afterwards.
class TempDir {
  public:
    TempDir() {
        m_path = fs::temp_directory_path() /
                 ("prunelab_lessons_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string path() const { return m_path.string(); }
    // lessons/<id>/ with lesson.json and any other files.
    std::string lesson(const std::string& id, const std::string& text,
                       const std::map<std::string, std::string>& files = {}) const {
        fs::path folder = m_path / id;
        fs::create_directories(folder);
        std::ofstream(folder / "lesson.json") << text;
        for (const auto& [name, content] : files) std::ofstream(folder / name) << content;
        return folder.string();
    }

  private:
    fs::path m_path;
};

// ---- checks ---------------------------------------------------------------------------------

Check check(std::string name, std::map<std::string, CheckArg> args = {}) {
    return Check{std::move(name), std::move(args)};
}

// Passes on `pass`, fails on `fail` with a why containing `why`.
void expectCheck(const Check& c, const State& pass, const State& fail, const std::string& why) {
    SCOPED_TRACE(c.name);
    CheckResult good = evaluate(c, pass);
    EXPECT_TRUE(good.passed) << good.why;
    CheckResult bad = evaluate(c, fail);
    EXPECT_FALSE(bad.passed);
    EXPECT_TRUE(contains(bad.why, why)) << "why: " << bad.why << "\nwanted: " << why;
}

State withModel() {
    State s;
    s.model = "/cache/lenet5.onnx";
    s.view = "layers";
    s.layers = {{"conv1", "dense", 1.0, 0, {}, {}},
                {"conv2", "pattern", 0.3, 8, 2.0, 1.5},
                {"fc1", "non_structured", 0.2, 0, 0.5, 0.9}};
    s.denseMacs = 1000;
    s.keptMacs = 1000;
    return s;
}

TEST(LessonChecks, ModelOpen) {
    State none, lenet = withModel(), zoom;
    zoom.model = "zoom-x2";
    zoom.catalogId = "zoom-x2";
    expectCheck(check("model-open"), lenet, none, "Open a model first");
    expectCheck(check("model-open", {{"model", "lenet5.onnx"}}), lenet, zoom,
                "The open model is zoom-x2; this step uses lenet5.onnx");
    expectCheck(check("model-open", {{"model", "zoom-x2"}}), zoom, lenet, "open it");
}

TEST(LessonChecks, ViewShown) {
    State speed = withModel();
    speed.view = "speed";
    expectCheck(check("view-shown", {{"view", "speed"}}), speed, withModel(),
                "Go to the Speed view (now on the Layers table)");
}

TEST(LessonChecks, LayerSelected) {
    State selected = withModel(), other = withModel();
    selected.selectedLayer = "conv2";
    other.selectedLayer = "fc1";
    expectCheck(check("layer-selected"), selected, withModel(), "Select a layer in the table");
    expectCheck(check("layer-selected", {{"layer", "conv2"}}), selected, other,
                "Select layer conv2 (now: fc1)");
    expectCheck(check("layer-selected", {{"layer", "#1"}}), selected, other, "Select layer conv2");
    CheckResult missing = evaluate(check("layer-selected", {{"layer", "#7"}}), selected);
    EXPECT_FALSE(missing.passed);
    EXPECT_TRUE(contains(missing.why, "has 3 prunable layers")) << missing.why;
}

TEST(LessonChecks, PlanApplied) {
    State pattern = withModel(), tile = withModel();
    pattern.planApplied = tile.planApplied = true;
    pattern.planScheme = "pattern";
    tile.planScheme = "tile_wise";
    expectCheck(check("plan-applied"), pattern, withModel(), "Apply a plan first");
    expectCheck(check("plan-applied", {{"scheme", "pattern"}}), pattern, tile,
                "The applied plan prunes with tile-wise; this step wants pattern");
    // Either spelling of a scheme, in the lesson or in the state.
    EXPECT_TRUE(evaluate(check("plan-applied", {{"scheme", "tile-wise"}}), tile).passed);
}

TEST(LessonChecks, LayerScheme) {
    State s = withModel();
    s.planApplied = true;
    s.selectedLayer = "conv2";
    State fc = s;
    fc.selectedLayer = "fc1";
    expectCheck(check("layer-scheme", {{"scheme", "pattern"}}), s, fc,
                "Layer fc1 is pruned with non-structured (irregular); this step wants pattern");
    expectCheck(check("layer-scheme", {{"scheme", "pattern"}}), s, withModel(),
                "Apply a plan first");
    State many = s;
    many.layers[1].patterns = 12;
    expectCheck(check("layer-scheme", {{"scheme", "pattern"}, {"maxPatterns", 8.0}}), s, many,
                "Layer conv2 uses 12 patterns; this step wants at most 8");
    expectCheck(
        check("layer-scheme", {{"layer", "any"}, {"scheme", "pattern"}, {"maxPatterns", 8.0}}), s,
        many, "The pattern layers use 12 or more patterns");
    State noPattern = s;
    noPattern.layers[1].scheme = "tile_wise";
    expectCheck(check("layer-scheme", {{"layer", "any"}, {"scheme", "pattern"}}), s, noPattern,
                "No layer is pruned with pattern yet");
    EXPECT_TRUE(evaluate(check("layer-scheme", {{"layer", "#0"}, {"scheme", "dense"}}), s).passed);
    EXPECT_TRUE(
        contains(evaluate(check("layer-scheme", {{"layer", "#0"}, {"scheme", "pattern"}}), s).why,
                 "Layer conv1 is kept dense"));
    State unselected = s;
    unselected.selectedLayer.clear();
    EXPECT_EQ(evaluate(check("layer-scheme", {{"scheme", "pattern"}}), unselected).why,
              "Select a layer in the table first");
}

TEST(LessonChecks, Density) {
    State sparse = withModel(), dense = withModel();
    sparse.density = 0.08;
    dense.density = 0.43;
    expectCheck(check("density-at-most", {{"value", 0.1}}), sparse, dense,
                "The model keeps 43% of its connections; this step wants at most 10%");
    expectCheck(check("density-at-least", {{"value", 0.3}}), dense, sparse,
                "The model keeps 8% of its connections; this step wants at least 30%");
    State odd = withModel();
    odd.density = 0.104;
    EXPECT_TRUE(contains(evaluate(check("density-at-most", {{"value", 0.1}}), odd).why, "10.4%"));
}

TEST(LessonChecks, MacsAtMost) {
    State small = withModel(), big = withModel();
    small.keptMacs = 200;
    big.keptMacs = 430;
    expectCheck(check("macs-at-most", {{"ratio", 0.25}}), small, big,
                "The model still does 43% of its multiply-adds; this step wants at most 25%");
    EXPECT_EQ(evaluate(check("macs-at-most", {{"ratio", 0.25}}), State{}).why,
              "Open a model first");
}

TEST(LessonChecks, PhysicallySmaller) {
    State shrunk = withModel(), kept = withModel();
    shrunk.planApplied = kept.planApplied = true;
    shrunk.physicallySmaller = true;
    expectCheck(check("physically-smaller"), shrunk, kept, "apply a structured plan");
    EXPECT_EQ(evaluate(check("physically-smaller"), withModel()).why,
              "Apply a structured plan first");
}

TEST(LessonChecks, Experiment) {
    State s = withModel();
    s.experiments = {{"pattern", "", 0.3, std::nullopt, std::nullopt, {}, {}},
                     {"pattern", "admm", 0.3, 0.87, std::nullopt, {}, {}}};
    State weak = s;
    weak.experiments[1].accuracy = 0.82;
    expectCheck(check("experiment", {{"method", "admm"}, {"minAccuracy", 0.85}}), s, weak,
                "This step wants an experiment with ADMM reaching 85% accuracy (best so far: 82%)");
    expectCheck(check("experiment", {{"method", "none"}, {"scheme", "pattern"}}), s, State{},
                "No experiments yet");
    CheckResult other = evaluate(check("experiment", {{"method", "gradual"}}), s);
    EXPECT_FALSE(other.passed);
    EXPECT_TRUE(contains(other.why, "there is none yet")) << other.why;
    State psnr = s;
    psnr.experiments[1].psnrDb = 31.0;
    expectCheck(check("experiment", {{"minPsnr", 30.0}}), psnr, s, "none has a PSNR yet");
}

TEST(LessonChecks, ExperimentBeats) {
    State s = withModel();
    s.experiments = {{"non_structured", "admm", 0.2, 0.88, 30.0, {}, {}},
                     {"non_structured", "one-shot", 0.2, 0.84, 31.5, {}, {}},
                     {"non_structured", "one-shot", 0.2, 0.80, {}, {}, {}}};
    State worse = s;
    worse.experiments[0].accuracy = 0.81;
    expectCheck(check("experiment-beats", {{"method", "admm"}, {"than", "one-shot"}}), s, worse,
                "Best accuracy with ADMM: 81%; with one-shot: 84%. This step wants ADMM at least "
                "as good");
    expectCheck(
        check("experiment-beats", {{"method", "admm"}, {"than", "one-shot"}, {"margin", 0.03}}), s,
        worse, "at least 3 points better");
    EXPECT_TRUE(evaluate(check("experiment-beats",
                               {{"method", "one-shot"}, {"than", "admm"}, {"metric", "psnr"}}),
                         s)
                    .passed);
    CheckResult psnr = evaluate(
        check("experiment-beats", {{"method", "admm"}, {"than", "one-shot"}, {"metric", "psnr"}}),
        s);
    EXPECT_FALSE(psnr.passed);
    EXPECT_TRUE(contains(psnr.why, "30.0 dB")) << psnr.why;
    EXPECT_EQ(evaluate(check("experiment-beats", {{"method", "gradual"}, {"than", "admm"}}), s).why,
              "Retrain with gradual first: no such experiment has its accuracy yet");
}

TEST(LessonChecks, Sweep) {
    State s = withModel();
    s.sweep = {{"non_structured", 0.5, 0.98},
               {"non_structured", 0.9, 0.95},
               {"non_structured", 0.99, 0.40}};
    State two = s;
    two.sweep.pop_back();
    expectCheck(check("sweep-done"), s, two, "The sweep has 2 points; this step wants at least 3");
    expectCheck(check("sweep-done", {{"points", 2.0}, {"scheme", "non-structured"}}), two, State{},
                "Run a sweep of non-structured (irregular) pruning first");
    expectCheck(check("sweep-cliff", {{"drop", 0.2}}), s, two,
                "Accuracy drops at most 3 points (from 98% at rate 50%); this step wants a drop "
                "of at least 20 points");
    State one = s;
    one.sweep.resize(1);
    EXPECT_EQ(evaluate(check("sweep-cliff", {{"drop", 0.2}}), one).why,
              "The sweep needs at least two rates to show a drop");
}

TEST(LessonChecks, Speed) {
    State measured = withModel();
    measured.speedMeasured = true;
    expectCheck(check("speed-measured"), measured, withModel(),
                "Press Measure in the Speed view first");
    // conv2: 2.0 ms sparse against 1.5 dense (slower); fc1: 0.5 against 0.9 (faster).
    expectCheck(check("layer-slower-sparse"), measured, withModel(), "Press Measure");
    State faster = measured;
    faster.layers[1].sparseMs = 1.0;
    expectCheck(check("layer-slower-sparse", {{"layer", "any"}}), measured, faster,
                "Every measured layer is at least as fast sparse as dense here");
    expectCheck(check("layer-slower-sparse", {{"layer", "conv2"}}), measured, faster,
                "Layer conv2 ran in 1.00 ms sparse and 1.50 ms dense: it is not slower sparse");
    EXPECT_TRUE(contains(evaluate(check("layer-slower-sparse", {{"layer", "#0"}}), measured).why,
                         "Layer conv1 was not measured"));
}

TEST(LessonChecks, KernelsShown) {
    State shown = withModel(), selected = withModel();
    shown.kernelsShown = true;
    selected.selectedLayer = "conv2";
    expectCheck(check("kernels-shown"), shown, selected, "Open the Kernels view");
    EXPECT_EQ(evaluate(check("kernels-shown"), withModel()).why,
              "Select a layer, then open the Kernels view");
}

TEST(LessonChecks, LiveRan) {
    State ran = withModel(), few = withModel();
    ran.live = {true, 40, 1.8};
    few.live = {true, 12, std::nullopt};
    expectCheck(check("live-ran"), ran, withModel(), "Start the live demo");
    expectCheck(check("live-ran", {{"frames", 30.0}}), ran, few,
                "The live demo has finished 12 frames; this step wants 30: let it run");
    State slow = ran, unmeasured = ran;
    slow.live.speedup = 1.2;
    unmeasured.live.speedup.reset();
    expectCheck(
        check("live-ran", {{"frames", 30.0}, {"speedup", 1.5}}), ran, slow,
        "The pruned model runs 1.2x as fast as the dense one; this step wants at least 1.5x");
    EXPECT_TRUE(contains(evaluate(check("live-ran", {{"speedup", 1.5}}), unmeasured).why,
                         "not measured yet"));
}

TEST(LessonChecks, Rate) {
    State high = withModel(), low = withModel();
    high.rate = 0.9;
    low.rate = 0.3;
    expectCheck(check("rate-at-least", {{"value", 0.7}}), high, low,
                "The slider removes 30% of the connections; move it to at least 70%");
    expectCheck(check("rate-at-most", {{"value", 0.5}}), low, high, "at most 50%");
}

TEST(LessonChecks, EveryCheckHasCodeAndEveryNameIsTested) {
    // Each check, with its required arguments, on an empty workbench: it runs (no "no code")
    // and, where it does not pass, says why.
    for (const CheckSpec& spec : checkSpecs()) {
        SCOPED_TRACE(spec.name);
        Check c{spec.name, {}};
        for (const ArgSpec& a : spec.args) {
            if (!a.required) continue;
            if (a.name == "view")
                c.args[a.name] = std::string("speed");
            else if (a.name == "scheme")
                c.args[a.name] = std::string("pattern");
            else if (a.name == "method" || a.name == "than")
                c.args[a.name] = std::string("admm");
            else
                c.args[a.name] = 0.5;
        }
        ASSERT_TRUE(validateCheck(c).ok()) << validateCheck(c).error().toString();
        CheckResult r = evaluate(c, State{});
        EXPECT_TRUE(r.passed || !r.why.empty());
        EXPECT_FALSE(contains(r.why, "no code") || contains(r.why, "broken")) << r.why;
        EXPECT_EQ(checkNames().count(spec.name), 1u);
    }
    EXPECT_EQ(checkNames().size(), checkSpecs().size());
    EXPECT_EQ(checkSpecs().size(), 19u) << "a check was added: give it a test above";
}

TEST(LessonChecks, HandMadeChecksAreValidatedLikeParsedOnes) {
    CheckResult r = evaluate(check("density-at-most", {{"value", "low"}}), State{});
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.why, "This step's check is broken: value: should be a number");
    EXPECT_TRUE(contains(validateCheck(check("densty")).error().message, "unknown check 'densty'"));
    EXPECT_TRUE(contains(validateCheck(check("density-at-most")).error().message,
                         "'density-at-most' needs the argument 'value'"));
    EXPECT_TRUE(contains(validateCheck(check("density-at-most", {{"value", 1.5}})).error().message,
                         "value: 1.5 is outside [0, 1]"));
    EXPECT_TRUE(contains(validateCheck(check("speed-measured", {{"layer", "x"}})).error().message,
                         "'speed-measured' takes no argument 'layer' (it takes none)"));
    EXPECT_TRUE(contains(validateCheck(check("layer-selected", {{"layer", "#x"}})).error().message,
                         "should be '#' and the layer's number"));
    EXPECT_TRUE(contains(validateCheck(check("live-ran", {{"frames", 2.5}})).error().message,
                         "2.5 should be a whole number"));
}

// ---- the parser -------------------------------------------------------------------------------

json baseLesson() {
    return json::parse(R"({
      "version": 1, "title": "A test lesson", "audience": "lab", "minutes": 20,
      "bigIdea": "3 - Learning",
      "steps": [
        {"title": "Prune", "text": "Apply a preset.",
         "showMe": {"do": "apply-preset", "preset": "uniform-90"},
         "checks": [{"check": "density-at-most", "value": 0.1}],
         "hints": ["The Prune panel is on the right."]}
      ]})");
}

class LessonParse : public ::testing::Test {
  protected:
    // Parses `j` as lessons/01-test-lesson/lesson.json with `files` in the folder.
    Result<Lesson> parse(const json& j, const std::map<std::string, std::string>& files = {}) {
        m_folder = m_dir.lesson("01-test-lesson", j.dump(2), files);
        return parseLesson(j.dump(2), m_folder);
    }
    // The error's text must start with "<folder>/lesson.json: <pointer>: <problem start>".
    void expectError(const Result<Lesson>& r, const std::string& pointer,
                     const std::string& problem, ErrorCode code = ErrorCode::InvalidArgument) {
        ASSERT_FALSE(r.ok());
        std::string want = m_folder + "/lesson.json: " + pointer + (pointer.empty() ? "" : ": ");
        EXPECT_EQ(r.error().toString().rfind(want, 0), 0u) << r.error().toString();
        EXPECT_TRUE(contains(r.error().message, problem)) << r.error().toString();
        EXPECT_EQ(r.error().code, code) << errorCodeName(r.error().code);
    }
    TempDir m_dir;
    std::string m_folder;
};

TEST_F(LessonParse, ReadsAValidLesson) {
    auto r = parse(baseLesson());
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->id, "01-test-lesson");
    EXPECT_TRUE(fs::path(r->folder).is_absolute());
    EXPECT_EQ(r->audience, Audience::Lab);
    EXPECT_EQ(r->minutes, 20);
    ASSERT_EQ(r->steps.size(), 1u);
    ASSERT_TRUE(r->steps[0].showMe.has_value());
    EXPECT_EQ(r->steps[0].showMe->kind, Action::Kind::ApplyPreset);
    EXPECT_EQ(r->steps[0].showMe->preset, "uniform-90");
    ASSERT_EQ(r->steps[0].checks.size(), 1u);
    EXPECT_EQ(std::get<double>(r->steps[0].checks[0].args.at("value")), 0.1);
}

TEST_F(LessonParse, UnknownKeysAnywhereAreErrors) {
    json j = baseLesson();
    j["titel"] = "typo";
    expectError(parse(j), "/titel", "unknown key 'titel' (known: version, title, audience");
    j = baseLesson();
    j["steps"][0]["hint"] = json::array({"x"});
    expectError(parse(j), "/steps/0/hint", "unknown key 'hint'");
    j = baseLesson();
    j["steps"][0]["checks"][0]["valu"] = 0.1;
    expectError(parse(j), "/steps/0/checks/0/valu",
                "'density-at-most' takes no argument 'valu' (its arguments: value)");
    j = baseLesson();
    j["steps"][0]["showMe"]["rate"] = 0.5;
    expectError(parse(j), "/steps/0/showMe/rate", "'apply-preset' takes no field 'rate'");
    j = baseLesson();
    j["steps"][0]["showMe"]["test"] = {{"limit", 5}};
    expectError(parse(j), "/steps/0/showMe/test", "takes no field 'test'");
}

TEST_F(LessonParse, UnknownCheckNamesTheKnownOnes) {
    json j = baseLesson();
    j["steps"][0]["checks"][0]["check"] = "densty";
    expectError(parse(j), "/steps/0/checks/0/check",
                "unknown check 'densty' (known: model-open, view-shown");
    j["steps"][0]["checks"] = json::parse(R"([{"value": 0.1}])");
    expectError(parse(j), "/steps/0/checks/0/check", "is missing");
}

TEST_F(LessonParse, WrongTypesAreErrors) {
    json j = baseLesson();
    j["minutes"] = "20";
    expectError(parse(j), "/minutes", "should be a whole number, not text");
    j = baseLesson();
    j["minutes"] = 12.5;
    expectError(parse(j), "/minutes", "12.5 should be a whole number");
    j = baseLesson();
    j["steps"][0]["checks"][0]["value"] = "0.1";
    expectError(parse(j), "/steps/0/checks/0/value", "should be a number, not text");
    j = baseLesson();
    j["steps"][0]["hints"] = "one hint";
    expectError(parse(j), "/steps/0/hints", "should be a list of text, not text");
    j = baseLesson();
    j["steps"][0]["hints"] = json::array({"ok", 3});
    expectError(parse(j), "/steps/0/hints/1", "should be non-empty text, not a number");
    j = baseLesson();
    j["steps"][0]["checks"] = {{"check", "density-at-most"}};
    expectError(parse(j), "/steps/0/checks", "should be a list of checks, not an object");
    j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "sweep"}, {"scheme", "pattern"}, {"rates", {0.5, "0.9"}}};
    expectError(parse(j), "/steps/0/showMe/rates/1", "should be a number, not text");
    j = baseLesson();
    j["steps"] = json::array();
    expectError(parse(j), "/steps", "should list at least one step");
    expectError(parse(json::array()), "", "a lesson should be a JSON object, not a list");
}

TEST_F(LessonParse, OutOfRangeAndUnknownValues) {
    json j = baseLesson();
    j["steps"][0]["checks"][0]["value"] = 1.5;
    expectError(parse(j), "/steps/0/checks/0/value", "1.5 is outside [0, 1]");
    j = baseLesson();
    j["audience"] = "kids";
    expectError(parse(j), "/audience", "unknown audience 'kids' (known: k12, lab, research)");
    j = baseLesson();
    j["bigIdea"] = "Learning";
    expectError(parse(j), "/bigIdea", "unknown bigIdea 'Learning' (known: 1 - Perception");
    j = baseLesson();
    j["version"] = 2;
    expectError(parse(j), "/version", "version 2 is not one this PruneLab reads (1)");
    j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "set-rate"}, {"rate", 1}};
    expectError(parse(j), "/steps/0/showMe/rate", "1 is outside [0, 1)");
    j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "dance"}};
    expectError(parse(j), "/steps/0/showMe/do", "unknown action 'dance' (known: open-model");
    j = baseLesson();
    j["steps"][0]["checks"][0] = {{"check", "plan-applied"}, {"scheme", "irregular"}};
    expectError(parse(j), "/steps/0/checks/0/scheme",
                "unknown scheme 'irregular' (known: non_structured");
    j = baseLesson();
    j["prerequisites"] = json::array({"Lesson One"});
    expectError(parse(j), "/prerequisites/0", "is not a lesson id");
}

TEST_F(LessonParse, UnknownPresetAndView) {
    json j = baseLesson();
    j["steps"][0]["showMe"]["preset"] = "uniform-99";
    expectError(parse(j), "/steps/0/showMe/preset",
                "unknown preset 'uniform-99' (known: uniform-50, uniform-75, uniform-90, "
                "patdnn-8, tile-75)");
    j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "show-view"}, {"view", "sped"}};
    expectError(parse(j), "/steps/0/showMe/view", "unknown view 'sped' (known: start, layers");
    j = baseLesson();
    j["steps"][0]["checks"][0] = {{"check", "view-shown"}, {"view", "sped"}};
    expectError(parse(j), "/steps/0/checks/0/view", "unknown view 'sped'");
}

TEST_F(LessonParse, MissingRequiredFields) {
    json j = baseLesson();
    j["steps"][0].erase("title");
    expectError(parse(j), "/steps/0/title", "is missing (required)");
    j = baseLesson();
    j.erase("minutes");
    expectError(parse(j), "/minutes", "is missing");
    j = baseLesson();
    j["steps"][0]["checks"][0].erase("value");
    expectError(parse(j), "/steps/0/checks/0/value", "is missing ('density-at-most' needs it)");
    j = baseLesson();
    j["steps"][0]["showMe"].erase("preset");
    expectError(parse(j), "/steps/0/showMe/preset", "is missing ('apply-preset' needs it)");
    j = baseLesson();
    j["steps"][0]["text"] = "";
    expectError(parse(j), "/steps/0/text", "is empty");
}

TEST_F(LessonParse, PicturesMustBeThere) {
    json j = baseLesson();
    j["steps"][0]["pictures"] = json::array({"slider.png"});
    auto missing = parse(j);
    expectError(missing, "/steps/0/pictures/0", "picture not found: ", ErrorCode::NotFound);
    EXPECT_TRUE(contains(missing.error().message, m_folder + "/slider.png"));
    EXPECT_TRUE(parse(j, {{"slider.png", "not really a png"}}).ok());
    j["steps"][0]["pictures"] = json::array({"../elsewhere.png"});
    expectError(parse(j), "/steps/0/pictures/0", "should be a file in the lesson folder");
    j["steps"][0]["pictures"] = json::array({"notes.txt"});
    expectError(parse(j, {{"notes.txt", "x"}}), "/steps/0/pictures/0",
                "should be a .png or .jpg picture");
}

TEST_F(LessonParse, PlanFilesMustLoad) {
    json j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "apply-plan"}, {"plan", "plan.json"}};
    expectError(parse(j), "/steps/0/showMe/plan", "plan file not found", ErrorCode::NotFound);
    expectError(parse(j, {{"plan.json", "{\"version\": 1, \"default\": {\"scheme\": \"nope\"}}"}}),
                "/steps/0/showMe/plan", "the plan does not load: ");
    EXPECT_TRUE(
        contains(parse(j, {{"plan.json", "{\"version\": 1, \"default\": {\"scheme\": \"nope\"}}"}})
                     .error()
                     .message,
                 "unknown scheme 'nope'"));
    auto ok = parse(j, {{"plan.json",
                         R"({"version": 1, "default": {"scheme": "non_structured",
                             "params": {"rate": 0.5}}})"}});
    ASSERT_TRUE(ok.ok()) << ok.error().toString();
    EXPECT_EQ(ok->steps[0].showMe->plan, "plan.json");
    j["steps"][0]["showMe"]["plan"] = "/etc/passwd";
    expectError(parse(j), "/steps/0/showMe/plan", "should be a file in the lesson folder");
}

TEST_F(LessonParse, ModelFilesMustComeWithTheLesson) {
    json j = baseLesson();
    j["steps"][0]["showMe"] = {{"do", "open-model"}, {"model", "tiny.onnx"}};
    expectError(parse(j), "/steps/0/showMe/model", "model file not found", ErrorCode::NotFound);
    EXPECT_TRUE(parse(j, {{"tiny.onnx", "x"}}).ok());
    j["steps"][0]["showMe"]["model"] = "assets/demo/zoom-x2.plab";  // found at run time
    EXPECT_TRUE(parse(j).ok());
    j["steps"][0]["showMe"]["model"] = "zoom-x2";
    EXPECT_TRUE(parse(j).ok());
}

TEST_F(LessonParse, TestBudgets) {
    json j = baseLesson();
    j["steps"][0]["showMe"] = json::parse(
        R"({"do": "retrain", "method": "admm", "data": "fashion-mnist", "epochs": 3,
            "fineTuneEpochs": 1, "limit": 6000, "test": {"epochs": 1, "limit": 300}})");
    auto r = parse(j);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    const Action& a = *r->steps[0].showMe;
    EXPECT_EQ(a.method, "admm");
    EXPECT_EQ(a.epochs, 3);
    EXPECT_EQ(a.fineTuneEpochs, 1);
    EXPECT_EQ(a.limit, 6000);
    EXPECT_EQ(a.testEpochs, 1);
    EXPECT_EQ(a.testLimit, 300);
    EXPECT_FALSE(a.testFineTuneEpochs.has_value());
    j["steps"][0]["showMe"]["test"]["epochs"] = 5;
    expectError(parse(j), "/steps/0/showMe/test/epochs",
                "the test budget should not be larger than the step's own epochs");
    j["steps"][0]["showMe"]["test"] = {{"frames", 3}};
    expectError(parse(j), "/steps/0/showMe/test/frames",
                "retrain's test budget takes no field 'frames' (its fields: epochs, "
                "fineTuneEpochs, limit)");
}

TEST_F(LessonParse, SchemesAreKeptAsIds) {
    json j = baseLesson();
    j["steps"][0]["checks"][0] = {{"check", "layer-scheme"}, {"scheme", "non-structured"}};
    j["steps"][0]["showMe"] = {{"do", "sweep"}, {"scheme", "tile-wise"}, {"rates", {0.5, 0.9}}};
    auto r = parse(j);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(std::get<std::string>(r->steps[0].checks[0].args.at("scheme")), "non_structured");
    EXPECT_EQ(r->steps[0].showMe->scheme, "tile_wise");
    EXPECT_EQ(r->steps[0].showMe->rates, (std::vector<double>{0.5, 0.9}));
}

TEST_F(LessonParse, BadJsonAndOddBytesAreErrorsNeverCrashes) {
    m_folder = m_dir.lesson("01-test-lesson", "{}");
    auto r = parseLesson("{\"version\": 1,", m_folder);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt);
    EXPECT_EQ(r.error().context, m_folder + "/lesson.json");
    EXPECT_TRUE(contains(r.error().message, "not valid JSON: parse error at line 1"))
        << r.error().message;
    for (std::string text : {std::string(), std::string("null"), std::string("\xff\xfe"),
                             std::string(100000, '['), std::string("{\"title\": \"\xc3\"}")}) {
        auto odd = parseLesson(text, m_folder);
        EXPECT_FALSE(odd.ok());
        EXPECT_FALSE(odd.error().message.empty());
    }
    expectError(parseLesson(R"({"version": 1, "version": 1})", m_folder), "/version",
                "this key appears twice");
    expectError(parseLesson(R"({"steps": [{"checks": [{"check": "a", "check": "b"}]}]})", m_folder),
                "/steps/0/checks/0/check", "this key appears twice");
}

TEST_F(LessonParse, TheFolderNameIsTheId) {
    std::string folder = m_dir.lesson("My Lesson", baseLesson().dump());
    auto r = parseLesson(baseLesson().dump(), folder);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().toString(), "the folder name 'My Lesson' is not a lesson id"));
    EXPECT_TRUE(loadLesson(m_dir.lesson("02-fine", baseLesson().dump())).ok());
    EXPECT_TRUE(parseLesson(baseLesson().dump(), m_dir.path() + "/02-fine/").ok());
}

TEST(LessonFixtures, ParseWithEveryActionAndCheck) {
    auto basics = loadLesson(kFixtures + "/good/01-fixture-basics");
    ASSERT_TRUE(basics.ok()) << basics.error().toString();
    EXPECT_EQ(basics->audience, Audience::K12);
    EXPECT_EQ(basics->steps[1].showMe->testFrames, 10);
    auto every = loadLesson(kFixtures + "/good/02-fixture-every-action");
    ASSERT_TRUE(every.ok()) << every.error().toString();
    std::set<std::string> checks, actions;
    for (const Step& s : every->steps) {
        for (const Check& c : s.checks) checks.insert(c.name);
        if (s.showMe) actions.insert(actionKindName(s.showMe->kind));
    }
    for (const Step& s : basics->steps) {
        for (const Check& c : s.checks) checks.insert(c.name);
        if (s.showMe) actions.insert(actionKindName(s.showMe->kind));
    }
    EXPECT_EQ(checks.size(), checkSpecs().size()) << "the fixtures should use every check";
    EXPECT_EQ(actions.size(), actionSpecs().size()) << "the fixtures should use every action";
}

// ---- loading a folder ---------------------------------------------------------------------------

TEST(LessonLoad, ListsABrokenLessonWithItsError) {
    auto entries = loadLessons(kFixtures + "/broken");
    ASSERT_EQ(entries.size(), 2u);
    ASSERT_TRUE(entries[0].lesson.has_value());
    EXPECT_EQ(entries[0].lesson->id, "01-fixture-fine");
    EXPECT_FALSE(entries[1].lesson.has_value());
    ASSERT_TRUE(entries[1].error.has_value());
    EXPECT_TRUE(contains(entries[1].folder, "02-fixture-typo"));
    EXPECT_TRUE(contains(entries[1].error->toString(),
                         "02-fixture-typo/lesson.json: /steps/0/checks/0/check: unknown check "
                         "'densty'"))
        << entries[1].error->toString();
}

TEST(LessonLoad, SortsByAudienceThenId) {
    auto entries = loadLessons(kFixtures + "/good");
    ASSERT_EQ(entries.size(), 2u);
    for (const auto& e : entries) ASSERT_TRUE(e.lesson) << e.error->toString();
    EXPECT_EQ(entries[0].lesson->audience, Audience::K12);
    EXPECT_EQ(entries[1].lesson->id, "02-fixture-every-action");
    EXPECT_EQ(entries[1].lesson->prerequisites, std::vector<std::string>{"01-fixture-basics"});
}

TEST(LessonLoad, PrerequisitesMustExistAndFoldersNeedALesson) {
    TempDir dir;
    json j = baseLesson();
    j["prerequisites"] = json::array({"00-not-there"});
    dir.lesson("02-needs-more", j.dump());
    dir.lesson("03-fine", baseLesson().dump());
    fs::create_directories(fs::path(dir.path()) / "04-empty");
    fs::create_directories(fs::path(dir.path()) / ".hidden");
    std::ofstream(fs::path(dir.path()) / "README.md") << "not a lesson";
    auto entries = loadLessons(dir.path());
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_TRUE(entries[0].lesson && entries[0].lesson->id == "03-fine");
    ASSERT_TRUE(entries[1].error);
    EXPECT_TRUE(contains(entries[1].error->toString(),
                         "02-needs-more/lesson.json: /prerequisites/0: no lesson '00-not-there'"))
        << entries[1].error->toString();
    ASSERT_TRUE(entries[2].error);
    EXPECT_EQ(entries[2].error->code, ErrorCode::NotFound);
    EXPECT_TRUE(contains(entries[2].error->toString(), "04-empty/lesson.json: not found"));

    auto none = loadLessons(dir.path() + "/nowhere");
    ASSERT_EQ(none.size(), 1u);
    EXPECT_TRUE(none[0].error && none[0].error->code == ErrorCode::NotFound);
}

TEST(LessonLoad, DefaultRootFollowsTheEnvironment) {
    const char* old = std::getenv("PRUNELAB_LESSONS");
    std::string saved = old ? old : "";
    ::setenv("PRUNELAB_LESSONS", "/somewhere/lessons", 1);
    EXPECT_EQ(defaultLessonsRoot(), "/somewhere/lessons");
    ::unsetenv("PRUNELAB_LESSONS");
    EXPECT_EQ(defaultLessonsRoot(), kSource + "/lessons");  // the build tree has no share/
    if (old) ::setenv("PRUNELAB_LESSONS", saved.c_str(), 1);
}

// ---- progress -----------------------------------------------------------------------------

TEST(LessonProgress, RoundTripsAndRefusesAnotherLesson) {
    auto lesson = loadLesson(kFixtures + "/good/01-fixture-basics");
    ASSERT_TRUE(lesson.ok()) << lesson.error().toString();
    Progress p{lesson->id, 2, {Mark::Done, Mark::Skipped, Mark::Todo}};
    auto back = progressFromJson(progressToJson(p), *lesson);
    ASSERT_TRUE(back.ok()) << back.error().toString();
    EXPECT_EQ(back->lessonId, p.lessonId);
    EXPECT_EQ(back->current, 2);
    EXPECT_EQ(back->marks, p.marks);

    Lesson other = *lesson;
    other.id = "05-other";
    auto refused = progressFromJson(progressToJson(p), other);
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(
        contains(refused.error().message, "the progress is for lesson '01-fixture-basics'"));

    Lesson longer = *lesson;
    longer.steps.push_back(longer.steps[0]);
    auto changed = progressFromJson(progressToJson(p), longer);
    ASSERT_FALSE(changed.ok());
    EXPECT_EQ(changed.error().code, ErrorCode::InvalidArgument);
    EXPECT_TRUE(contains(changed.error().message, "had 3 steps; it has 4 now"));

    Progress beyond = p;
    beyond.current = 3;
    EXPECT_FALSE(progressFromJson(progressToJson(beyond), *lesson).ok());
    for (const char* bad : {"", "[]", "{\"version\": 1}", "{\"version\": \"1\"}", "\xff"}) {
        auto r = progressFromJson(bad, *lesson);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::Corrupt);
    }
    json withBadMark = json::parse(progressToJson(p));
    withBadMark["marks"][1] = "maybe";
    EXPECT_TRUE(contains(progressFromJson(withBadMark.dump(), *lesson).error().message,
                         "/marks/1: should be todo, done or skipped"));
}

// ---- the README ---------------------------------------------------------------------------------

TEST(LessonReadme, CarriesTheTablesTheCodeMakes) {
    std::string path = kSource + "/lessons/README.md";
    ASSERT_TRUE(fs::exists(path)) << path << " is missing";
    std::string readme = readText(path);
    EXPECT_TRUE(contains(readme, referenceMarkdown()))
        << "lessons/README.md's tables differ from the code: paste the output of "
           "`prunelab-cli lesson reference` between its markers";
    for (const std::string& view : viewNames()) EXPECT_TRUE(contains(readme, "`" + view + "`"));
    for (const std::string& idea : bigIdeaNames()) EXPECT_TRUE(contains(readme, idea));
}

// ---- random edits never crash the reader -------------------------------------------------------

// Every lesson.json under the repository's lessons/ and the fixtures, edited at random (bytes
// replaced, runs deleted, truncated, bytes and JSON punctuation inserted, slices duplicated),
// 2000 times each with a fixed seed: parseLesson returns a lesson or an error, never crashes or
// throws; what parses is evaluated against two States.
TEST(LessonMutation, RandomEditsGiveALessonOrAnError) {
    std::vector<fs::path> files;
    for (const std::string& root : {kSource + "/lessons", kFixtures}) {
        std::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it->path().filename() == "lesson.json") files.push_back(it->path());
        }
    }
    std::sort(files.begin(), files.end());
    size_t fixtures = std::count_if(files.begin(), files.end(), [](const fs::path& f) {
        return f.string().rfind(kFixtures, 0) == 0;
    });
    ASSERT_GE(fixtures, 4u) << "no fixtures under " << kFixtures;
    if (fixtures == files.size())
        std::cout << "[ NOTE ] no lesson under lessons/ yet: mutating the fixtures only\n";

    State busy = withModel();
    busy.planApplied = busy.speedMeasured = busy.kernelsShown = true;
    busy.selectedLayer = "conv2";
    busy.experiments = {{"pattern", "admm", 0.3, 0.9, 30.0, 1.0, 2.0}};
    busy.sweep = {{"non_structured", 0.5, 0.9}, {"non_structured", 0.9, 0.5}};
    busy.live = {true, 100, 2.0};
    static const char kPunctuation[] = "{}[],:\"\\ 0123456789.-eEtrufalsn#/~\x00\xff\xc3";
    const std::string punctuation(kPunctuation, sizeof kPunctuation - 1);
    int parsed = 0, refused = 0;
    for (const fs::path& file : files) {
        SCOPED_TRACE(file.string());
        const std::string original = readText(file.string());
        const std::string folder = file.parent_path().string();
        ASSERT_FALSE(original.empty());
        std::mt19937 rng(20240517u);
        auto below = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
        for (int round = 0; round < 2000; ++round) {
            std::string text = original;
            int edits = 1 + static_cast<int>(below(4));
            for (int e = 0; e < edits; ++e) {
                size_t at = below(text.size() + 1);
                switch (below(5)) {
                    case 0:  // replace a byte
                        if (!text.empty())
                            text[std::min(at, text.size() - 1)] = static_cast<char>(rng());
                        break;
                    case 1:  // delete a run
                        text.erase(at, below(16) + 1);
                        break;
                    case 2:  // truncate
                        text.resize(at);
                        break;
                    case 3:  // insert JSON punctuation or a random byte
                        text.insert(at, 1,
                                    below(2) ? punctuation[below(punctuation.size())]
                                             : static_cast<char>(rng()));
                        break;
                    case 4: {  // duplicate a slice (duplicate keys, longer lists)
                        size_t from = below(text.size() + 1);
                        text.insert(at, text.substr(from, below(40)));
                        break;
                    }
                }
            }
            Result<Lesson> r = Error{};
            ASSERT_NO_THROW(r = parseLesson(text, folder)) << "round " << round;
            if (!r.ok()) {
                ++refused;
                ASSERT_FALSE(r.error().message.empty()) << "round " << round;
                continue;
            }
            ++parsed;
            for (const Step& s : r->steps) {
                for (const Check& c : s.checks) {
                    ASSERT_NO_THROW((void)evaluate(c, State{}));
                    ASSERT_NO_THROW((void)evaluate(c, busy));
                }
            }
        }
    }
    std::cout << "[ NOTE ] " << files.size() << " lesson files, " << parsed
              << " edits still parsed, " << refused << " refused with an error\n";
    EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace prunelab::engine::lessons

// libFuzzer target for the lesson reader: any bytes as lesson.json must give a lesson or a clean
// Error, never a crash, a sanitizer report or an exception. Lessons that read have every check
// evaluated on an empty and a busy workbench, and progress written and read back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/lessons/lesson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace prunelab::engine::lessons;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // The fixtures' folders hold the picture (slider.png) and the plan (plan.json) they name.
    static const std::string kFixtures =
        std::string(PRUNELAB_SOURCE_DIR) + "/tests/data/lessons/good";
    static const State busy = [] {
        State s;
        s.model = "lenet5";
        s.view = "speed";
        s.selectedLayer = "conv2";
        s.planApplied = s.speedMeasured = s.kernelsShown = true;
        s.layers = {{"conv1", "dense", 1.0, 0, {}, {}}, {"conv2", "pattern", 0.3, 8, 2.0, 1.5}};
        s.experiments = {{"pattern", "admm", 0.3, 0.9, 30.0, 1.0, 2.0}};
        s.sweep = {{"non_structured", 0.5, 0.9}, {"non_structured", 0.9, 0.5}};
        s.live = {true, 100, 2.0};
        return s;
    }();
    for (const char* folder : {"/01-fixture-basics", "/02-fixture-every-action"}) {
        auto lesson = parseLesson(bytes, kFixtures + folder);
        if (!lesson.ok()) {
            if (lesson.error().message.empty()) __builtin_trap();  // errors always say what
            continue;
        }
        Progress progress{lesson->id, 0, std::vector<Mark>(lesson->steps.size(), Mark::Done)};
        if (!progressFromJson(progressToJson(progress), *lesson).ok()) __builtin_trap();
        (void)progressFromJson(bytes, *lesson);
        for (const Step& step : lesson->steps) {
            for (const Check& check : step.checks) {
                (void)evaluate(check, State{});
                (void)evaluate(check, busy);
            }
        }
    }
    return 0;
}

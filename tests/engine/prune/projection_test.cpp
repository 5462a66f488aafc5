// The exported PyTorch projections (engine/train/python/prunelab_projection.py, as embedded in
// the engine) against applyPlan: byte-equal weights and masks for every scheme and parameter on
// the bundled models' weights, driven by projectionSpec. Skips, naming why, without torch.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/plab_file.h"
#include "engine/prune/plan.h"
#include "engine/prune/projection_spec.h"
#include "engine/prune/pruned_model.h"
#include "engine/train/projection_py.h"
#include "engine/train/zoo.h"

namespace prunelab::engine::prune {
namespace {

namespace fs = std::filesystem;

const std::string kSource = PRUNELAB_SOURCE_DIR;

std::string shellQuote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// A Python that imports torch: $PRUNELAB_PYTHON, python3 on PATH, or Debian's /usr/bin/python3
// (where python3-torch installs; a pyenv python3 on PATH may lack it). Empty when none does.
std::string torchPython(std::string& tried) {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("PRUNELAB_PYTHON")) candidates.emplace_back(env);
    candidates.emplace_back("python3");
    candidates.emplace_back("/usr/bin/python3");
    for (const std::string& c : candidates) {
        tried += (tried.empty() ? "" : ", ") + c;
        const std::string cmd = shellQuote(c) + " -c 'import torch' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) return c;
    }
    return {};
}

// A fresh folder of its own: ctest -j2 may run this test beside another copy of itself.
fs::path freshDir() {
    std::random_device rd;
    const fs::path dir =
        fs::temp_directory_path() /
        ("prunelab-projection-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void writeBytes(const fs::path& path, const void* data, size_t size) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    ASSERT_TRUE(f.good()) << "cannot write " << path;
}

std::string readText(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

struct Model {
    std::string name;
    Graph graph;
};

// The bundled models that load here, plus versions of some with weights already pruned
// (zeros make ties: the pattern and tile-wise schemes' fixed-point repetition is exercised).
std::vector<Model> bundledModels(std::string& missing) {
    std::vector<Model> models;
    auto lenet = importOnnxFile(kSource + "/assets/demo/lenet5-fashion.onnx");
    if (lenet.ok()) {
        models.push_back({"lenet5", *lenet});
    } else {
        missing += "lenet5-fashion.onnx: " + lenet.error().message + "; ";
    }
    auto vgg = train::buildVggSmall(7);
    if (vgg.ok()) models.push_back({"vgg-small", *vgg});
    for (const char* demo : {"face-back", "zoom-x2"}) {
        auto plab = loadPlabFile(kSource + "/assets/demo/" + demo + ".plab");
        if (plab.ok()) {
            models.push_back({demo, plab->graph});
        } else {
            missing += std::string(demo) + ".plab: " + plab.error().message + "; ";
        }
    }
    // Pruned 75%: every scheme then sees many exact zeros.
    const size_t dense = models.size();
    auto uniform = presetPlan("uniform-75");
    for (size_t m = 0; m < dense && uniform.ok(); ++m) {
        if (models[m].name == "zoom-x2" || models[m].name == "face-back") continue;  // sparse
        auto pruned = applyPlan(models[m].graph, *uniform);
        if (pruned.ok()) models.push_back({models[m].name + "-sparse", pruned->graph});
    }
    return models;
}

struct PlanCase {
    std::string name, json;
    // "pattern_set" for every pattern unit, as the trainer fixes it after the first Z-step. Not
    // in the plan (validatePlan does not take it): the expected result comes from the scheme.
    std::string patternSet = {};
};

// Every scheme and parameter the Python file implements.
std::vector<PlanCase> handPlans() {
    auto def = [](const std::string& scheme, const std::string& params, bool firstLast = true) {
        return std::string("{\"version\": 1, \"default\": {\"scheme\": \"") + scheme +
               "\", \"params\": " + params +
               "}, \"keepFirstLast\": " + (firstLast ? "true" : "false") + "}";
    };
    return {
        {"ns-layer", def("non_structured", R"({"rate": 0.6})", false)},
        {"ns-global", def("non_structured", R"({"rate": 0.8, "scope": "global"})")},
        {"ns-global-floor",
         def("non_structured", R"({"rate": 0.95, "scope": "global", "floor": 0.2})", false)},
        {"structured-50", def("structured", R"({"rate": 0.5})", false)},
        {"structured-l2-30", def("structured", R"({"rate": 0.3, "norm": "l2"})")},
        {"pattern-8-conn-75", def("pattern", R"({"patterns": 8, "connectivity_rate": 0.75})")},
        {"pattern-model",
         def("pattern", R"({"patterns": 4, "pattern_scope": "model", "connectivity_rate": 0.5})",
             false)},
        {"pattern-group-4",
         def("pattern", R"({"patterns": 6, "filter_group": 4, "connectivity_rate": 0.3})")},
        {"pattern-set", def("pattern", R"({})", false), "90,23,402,306,177,58"},
        {"pattern-set-conn", def("pattern", R"({"connectivity_rate": 0.6, "filter_group": 2})"),
         "23,402"},
        {"tile-75-w16",
         def("tile_wise", R"({"rate": 0.75, "tile_width": 16, "column_share": 0.5})")},
        {"tile-90", def("tile_wise", R"({"rate": 0.9})", false)},
        {"n-m-2-4", def("n_m", R"({"n": 2, "m": 4})")},
        {"n-m-3-8", def("n_m", R"({"n": 3, "m": 8})", false)},
    };
}

// Gives every pattern unit of `spec` the fixed "pattern_set" and makes `applied` what the
// pattern scheme projects with it (the same call applyPlan makes, with that parameter added).
void fixPatternSet(const Graph& graph, const std::string& set, nlohmann::json& spec,
                   PrunedModel& applied) {
    const std::vector<Layer> layers = prunableLayers(graph);
    for (auto& unit : spec["units"]) {
        if (unit["scheme"] != "pattern") continue;
        unit["params"]["pattern_set"] = set;
        std::vector<size_t> members = unit["layers"].get<std::vector<size_t>>();
        std::vector<LayerWeights> weights;
        for (size_t i : members) {
            auto w = layerWeights(graph, layers[i]);
            ASSERT_TRUE(w.ok()) << w.error().message;
            weights.push_back(*w);
        }
        ParamValues params = applied.layers[members[0]].params;
        params.set("pattern_set", set);
        auto projected = findScheme("pattern")->project(weights, params);
        ASSERT_TRUE(projected.ok()) << projected.error().message;
        for (size_t k = 0; k < members.size(); ++k) {
            applied.layers[members[k]].projection = (*projected)[k];
        }
    }
}

TEST(Python, EmbeddedTextIsTheSourceFile) {
    const std::string source = readText(kSource + "/engine/train/python/prunelab_projection.py");
    ASSERT_FALSE(source.empty());
    EXPECT_EQ(train::prunelabProjectionPy(), source)
        << "the embedded prunelab_projection.py is stale: rebuild prunelab_engine";
}

TEST(Spec, FailsWhereApplyPlanFails) {
    auto g = train::buildVggSmall(1);
    ASSERT_TRUE(g.ok());
    // Structured entries beside another scheme: resolution refuses it, in both.
    auto plan = parsePlanJson(
        R"({"version": 1, "default": {"scheme": "structured", "params": {"rate": 0.5}},
            "layers": {"conv2": {"scheme": "non_structured", "params": {"rate": 0.5}}}})");
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    auto applied = applyPlan(*g, *plan);
    auto spec = projectionSpec(*g, *plan);
    ASSERT_FALSE(applied.ok());
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.error().message, applied.error().message);
}

TEST(Python, EqualsApplyPlanBitForBit) {
    std::string tried;
    const std::string python = torchPython(tried);
    if (python.empty()) {
        GTEST_SKIP() << "SKIPPED: no Python with torch (tried " << tried
                     << "); install Debian's python3-torch (./prunelab setup) or set "
                        "PRUNELAB_PYTHON";
    }
    std::string missing;
    const std::vector<Model> models = bundledModels(missing);
    ASSERT_FALSE(models.empty()) << missing;
    if (!missing.empty()) std::printf("not checked (could not load): %s\n", missing.c_str());

    std::vector<PlanCase> plans;
    for (const std::string& name : presetNames()) {
        auto p = presetPlan(name);
        ASSERT_TRUE(p.ok()) << name;
        plans.push_back({name, planToJson(*p)});
    }
    for (PlanCase& hand : handPlans()) plans.push_back(std::move(hand));

    const fs::path dir = freshDir();
    int cases = 0;
    std::vector<std::string> schemesSeen;
    for (const Model& model : models) {
        for (const PlanCase& planCase : plans) {
            const std::string& planName = planCase.name;
            auto plan = parsePlanJson(planCase.json, planName);
            ASSERT_TRUE(plan.ok()) << planName << ": " << plan.error().message;
            auto applied = applyPlan(model.graph, *plan);
            auto spec = projectionSpec(model.graph, *plan);
            ASSERT_EQ(applied.ok(), spec.ok()) << model.name << " / " << planName;
            if (!applied.ok()) {
                // Some plans do not fit some models (a rate that empties a group): both refuse.
                EXPECT_EQ(spec.error().message, applied.error().message);
                continue;
            }
            if (!planCase.patternSet.empty()) {
                ASSERT_NO_FATAL_FAILURE(
                    fixPatternSet(model.graph, planCase.patternSet, *spec, *applied));
            }
            const fs::path caseDir = dir / (model.name + "--" + planName);
            fs::create_directories(caseDir);
            std::ofstream(caseDir / "spec.json") << spec->dump(1);
            const std::vector<Layer> layers = prunableLayers(model.graph);
            ASSERT_EQ((*spec)["layers"].size(), applied->layers.size());
            for (size_t i = 0; i < layers.size(); ++i) {
                auto w = layerWeights(model.graph, layers[i]);
                ASSERT_TRUE(w.ok()) << w.error().message;
                const std::string n = std::to_string(i);
                const LayerProjection& p = applied->layers[i].projection;
                writeBytes(caseDir / ("w" + n + ".f32"), w->weights.raw(), w->weights.bytes());
                writeBytes(caseDir / ("want_w" + n + ".f32"), p.weights.raw(), p.weights.bytes());
                writeBytes(caseDir / ("want_m" + n + ".u8"), p.mask.raw(), p.mask.bytes());
            }
            for (const auto& unit : (*spec)["units"]) schemesSeen.push_back(unit["scheme"]);
            ++cases;
        }
    }
    for (const char* scheme : {"non_structured", "structured", "pattern", "tile_wise", "n_m"}) {
        EXPECT_NE(std::find(schemesSeen.begin(), schemesSeen.end(), scheme), schemesSeen.end())
            << "no case projects with " << scheme;
    }

    // The embedded text is what the exporter writes, so that is what runs.
    const fs::path script = dir / "prunelab_projection.py";
    {
        const std::string_view text = train::prunelabProjectionPy();
        writeBytes(script, text.data(), text.size());
    }
    const fs::path log = dir / "check.log";
    const std::string cmd = shellQuote(python) + " " + shellQuote(script.string()) + " --check " +
                            shellQuote(dir.string()) + " >" + shellQuote(log.string()) + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const std::string output = readText(log);
    std::printf("%d cases, %zu models; %s:\n%s", cases, models.size(), python.c_str(),
                output.c_str());
    EXPECT_EQ(rc, 0) << output;
    EXPECT_NE(output.find(std::to_string(cases) + " of " + std::to_string(cases) +
                          " cases bit-for-bit equal"),
              std::string::npos)
        << output;
    if (rc == 0 && !HasFailure()) fs::remove_all(dir);  // kept for a look when it fails
}

}  // namespace
}  // namespace prunelab::engine::prune

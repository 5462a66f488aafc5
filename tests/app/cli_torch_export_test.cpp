// prunelab-cli admm --export-torch end to end (issue 18, scale out): the exported LeNet-5 run
// under `python3 train.py --nproc 2` (gloo on CPU) writes result.onnx, PruneLab reads it back
// with the plan's masks exactly, and one step of the script equals one step of our trainer.
// Needs Python 3 with torch and numpy (Debian's python3-torch); skips saying so without them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/plan.h"
#include "tests/app/cli_runner.h"

namespace prunelab {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::runCli;
using testing::runCommand;

// Per process: ctest may run these tests side by side.
fs::path tempDir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("prunelab_torch_export_" + name + "_" +
                                              std::to_string(static_cast<long>(getpid())));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

// A Python that imports torch and numpy: $PRUNELAB_PYTHON, else python3 on PATH, else Debian's
// /usr/bin/python3 (a pyenv or venv python3 first on PATH often lacks python3-torch). Empty
// when there is none.
std::string pythonWithTorch() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("PRUNELAB_PYTHON"); env && *env) candidates.push_back(env);
    candidates.push_back("python3");
    candidates.push_back("/usr/bin/python3");
    for (const std::string& py : candidates) {
        if (runCommand(py + " -c 'import torch, numpy'").exitCode == 0) return py;
    }
    return {};
}

#define REQUIRE_PYTHON_TORCH(py)                                                               \
    const std::string py = pythonWithTorch();                                                  \
    if (py.empty()) {                                                                          \
        GTEST_SKIP() << "no Python 3 with torch and numpy (apt install python3-torch, or set " \
                        "PRUNELAB_PYTHON): the exported PyTorch script cannot run here";       \
    }

const std::string kModel = std::string(PRUNELAB_SOURCE_DIR) + "/assets/demo/lenet5-fashion.onnx";

// Every layer 90% non-structured, first and last included, so all five layers carry masks.
fs::path writePlan(const fs::path& dir) {
    fs::path plan = dir / "plan.json";
    std::FILE* f = std::fopen(plan.c_str(), "w");
    std::fputs(R"({"version": 1, "default": {"scheme": "non_structured", "params": {"rate": 0.9}},)"
               R"( "keepFirstLast": false})",
               f);
    std::fclose(f);
    return plan;
}

// Small and single-threaded: two epochs of four steps (ADMM, then hard prune and fine-tune).
std::string admmArgs(const fs::path& plan, const std::string& extra) {
    return "admm " + kModel + " --plan " + plan.string() +
           " --data fashion-mnist --limit 256 --test-limit 64 --threads 1 --batch 32"
           " --epochs 2 --fine-tune-epochs 1 --steps-per-epoch 4 " +
           extra;
}

CommandResult exportRun(const fs::path& dir, const fs::path& plan, const std::string& extra = "") {
    return runCli(admmArgs(plan, extra + " --out " + (dir / "unused.onnx").string() +
                                     " --export-torch " + (dir / "run").string()));
}

engine::Graph importOrFail(const fs::path& path) {
    auto g = engine::importOnnxFile(path.string());
    EXPECT_TRUE(g.ok()) << g.error().toString();
    return g.ok() ? std::move(*g) : engine::Graph();
}

std::vector<float> layerWeights(const engine::Graph& g, const engine::Layer& l) {
    auto w = engine::prune::layerWeights(g, l);
    EXPECT_TRUE(w.ok()) << l.name;
    return w.ok() ? w->weights.toFloatVector() : std::vector<float>();
}

TEST(CliTorchExport, TwoProcessRunWritesResultOnnx) {
    REQUIRE_PYTHON_TORCH(py);
    fs::path dir = tempDir("two");
    CommandResult r = exportRun(dir, writePlan(dir));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    for (const char* file :
         {"train.py", "README.md", "model.json", "weights.bin", "settings.json", "projection.json",
          "prunelab_projection.py", "data/train_x.npy", "data/train_y.npy"}) {
        EXPECT_TRUE(fs::exists(dir / "run" / file)) << file;
    }
    // No arguments but the process count: the exported settings decide the run.
    CommandResult t = runCommand("cd " + (dir / "run").string() + " && OMP_NUM_THREADS=1 " + py +
                                 " train.py --nproc 2");
    ASSERT_EQ(t.exitCode, 0) << t.output;
    EXPECT_NE(t.output.find("finished after 8 steps"), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("admm update 1 at step 4"), std::string::npos) << t.output;
    ASSERT_TRUE(fs::exists(dir / "run" / "result.onnx")) << t.output;
    engine::Graph g = importOrFail(dir / "run" / "result.onnx");
    EXPECT_EQ(engine::prunableLayers(g).size(), 5u);
    fs::remove_all(dir);
}

// Zeros exactly where the plan's projection puts them: projecting the re-imported weights with
// the plan changes nothing (every kept weight is among the largest, every other is zero), each
// layer keeps 10%, and `stats` shows the plan the file carries.
TEST(CliTorchExport, ReimportedWeightsObeyThePlansMasks) {
    REQUIRE_PYTHON_TORCH(py);
    fs::path dir = tempDir("masks");
    fs::path plan = writePlan(dir);
    CommandResult r = exportRun(dir, plan);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    CommandResult t = runCommand("cd " + (dir / "run").string() + " && OMP_NUM_THREADS=1 " + py +
                                 " train.py --nproc 2");
    ASSERT_EQ(t.exitCode, 0) << t.output;
    engine::Graph g = importOrFail(dir / "run" / "result.onnx");
    auto p = engine::prune::loadPlanFile(plan.string());
    ASSERT_TRUE(p.ok()) << p.error().toString();
    auto projected = engine::prune::applyPlan(g, *p);
    ASSERT_TRUE(projected.ok()) << projected.error().toString();
    const std::vector<engine::Layer> layers = engine::prunableLayers(g);
    ASSERT_EQ(projected->layers.size(), layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        std::vector<float> w = layerWeights(g, layers[i]);
        const engine::Tensor& mask = projected->layers[i].projection.mask;
        ASSERT_EQ(static_cast<size_t>(mask.elements()), w.size()) << layers[i].name;
        size_t kept = 0, mismatched = 0;
        for (size_t k = 0; k < w.size(); ++k) {
            const bool keep = mask.data<uint8_t>()[k] != 0;
            kept += keep;
            mismatched += keep != (w[k] != 0.0f);
        }
        EXPECT_EQ(mismatched, 0u) << layers[i].name << ": zeros where the projection keeps";
        EXPECT_NEAR(static_cast<double>(kept) / static_cast<double>(w.size()), 0.1, 0.01)
            << layers[i].name;
    }
    CommandResult s = runCli("stats " + (dir / "run" / "result.onnx").string());
    ASSERT_EQ(s.exitCode, 0) << s.output;
    EXPECT_NE(s.output.find("density 10.00%"), std::string::npos) << s.output;
    EXPECT_NE(s.output.find("\"non_structured\""), std::string::npos) << s.output;  // the plan
    fs::remove_all(dir);
}

// ||a - b|| / ||b|| over every prunable layer's weights and biases.
struct Difference {
    double relative = 0;  // of the two runs' weights
    double moved = 0;     // of the step itself: ||after - before|| / ||before||
};

Difference compareLayers(const engine::Graph& ours, const engine::Graph& theirs,
                         const engine::Graph& before) {
    double diff = 0, norm = 0, moved = 0;
    const auto a = engine::prunableLayers(ours), b = engine::prunableLayers(theirs),
               c = engine::prunableLayers(before);
    EXPECT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size() && i < b.size() && i < c.size(); ++i) {
        std::vector<float> x = layerWeights(ours, a[i]), y = layerWeights(theirs, b[i]),
                           w0 = layerWeights(before, c[i]);
        if (a[i].bias != engine::kNoValue && b[i].bias != engine::kNoValue &&
            c[i].bias != engine::kNoValue) {
            for (auto [v, g, id] :
                 {std::tuple{&x, &ours, a[i].bias}, std::tuple{&y, &theirs, b[i].bias},
                  std::tuple{&w0, &before, c[i].bias}}) {
                std::vector<float> bias = g->value(id).constant.toFloatVector();
                v->insert(v->end(), bias.begin(), bias.end());
            }
        }
        EXPECT_EQ(x.size(), y.size()) << a[i].name;
        for (size_t k = 0; k < x.size() && k < y.size() && k < w0.size(); ++k) {
            diff += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
            norm += double(x[k]) * x[k];
            moved += (double(x[k]) - w0[k]) * (double(x[k]) - w0[k]);
        }
    }
    return {std::sqrt(diff / norm), std::sqrt(moved / norm)};
}

// The same data order and starting weights, ADMM with a penalty strong enough to steer the
// step (rho 1 per unit of each layer's mean squared weight): after the first optimiser step
// the script's weights equal our trainer's within 1e-5 relative, and the step really moved
// them (so the comparison is not between two copies of the start).
TEST(CliTorchExport, OneStepEqualsOurTrainers) {
    REQUIRE_PYTHON_TORCH(py);
    fs::path dir = tempDir("step");
    fs::path plan = writePlan(dir);
    const std::string rho = " --rho 1 --rho-max 1";
    CommandResult r = exportRun(dir, plan, rho);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    fs::path ours = dir / "ours.onnx", theirs = dir / "theirs.onnx";
    CommandResult c = runCli(admmArgs(plan, rho + " --max-steps 1 --out " + ours.string()));
    ASSERT_EQ(c.exitCode, 0) << c.output;
    CommandResult t = runCommand("cd " + (dir / "run").string() + " && OMP_NUM_THREADS=1 " + py +
                                 " train.py --max-steps 1 --out " + theirs.string());
    ASSERT_EQ(t.exitCode, 0) << t.output;
    EXPECT_NE(t.output.find("stopped (--max-steps) after 1 steps"), std::string::npos) << t.output;
    Difference d = compareLayers(importOrFail(ours), importOrFail(theirs), importOrFail(kModel));
    EXPECT_LT(d.relative, 1e-5) << "our trainer and the exported script differ after one step";
    EXPECT_GT(d.moved, 1e-3) << "the step left the weights where they were";
    EXPECT_LT(d.relative, d.moved * 1e-2);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace prunelab

// prunelab-cli's training commands end to end: train-base -> eval, admm with a history and a
// pruned model that stats reads back, a run killed with SIGKILL that resumes to exactly the
// weights of a straight run, and clear errors for bad methods, budgets, data and checkpoints.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "tests/app/cli_runner.h"
#include "tests/test_cache.h"

namespace prunelab {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::runCli;

// Per process: ctest may run these tests side by side.
fs::path tempDir(const std::string& name) {
    fs::path p = fs::temp_directory_path() /
                 ("prunelab_cli_train_" + name + "_" + std::to_string(static_cast<long>(getpid())));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

// Small and single-threaded: each command takes a few seconds and gives the same bits each run.
const std::string kSmall = " --data fashion-mnist --limit 512 --test-limit 256 --threads 1";

// The first number right after a match of `pattern` in `text`; NaN when there is none.
double numberAfter(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern + R"(([0-9]+(\.[0-9]+)?))"))) return NAN;
    return std::stod(m[1].str());
}

std::string readFile(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// Trains the dense LeNet-5 every test starts from; returns train-base's output.
CommandResult trainBase(const fs::path& model) {
    return runCli("train-base --arch lenet5 --epochs 1 --steps-per-epoch 8 --out " +
                  model.string() + kSmall);
}

// Every float constant of an ONNX file, by name.
std::map<std::string, std::vector<float>> floatWeights(const fs::path& path) {
    std::map<std::string, std::vector<float>> weights;
    auto g = engine::importOnnxFile(path.string());
    EXPECT_TRUE(g.ok()) << g.error().toString();
    if (!g.ok()) return weights;
    for (const engine::Value& v : g->values) {
        if (v.isConstant() && v.dtype == engine::DataType::Float32) {
            weights[v.name] = v.constant.toFloatVector();
        }
    }
    return weights;
}

// ---- train-base and eval ----

// eval --against binds the reference at the model's own size (the zoom demo was distilled at
// 64x48; the catalog id alone is 320x240), and a reference that cannot take the pictures is an
// error naming it, not an abort inside libtorch.
TEST(CliTrain, EvalAgainstMeetsTheModelAtItsSizeOrSaysWhy) {
    const std::string video = testing::cacheDir() + "/video/vtest.avi";
    ASSERT_TRUE(fs::exists(video)) << video << " is missing: run ./prunelab setup";
    const std::string demo = std::string(PRUNELAB_SOURCE_DIR) + "/assets/demo/zoom-x2.plab";
    const std::string data = " --data frames:" + video + ":test --limit 2 --threads 1";
    CommandResult r = runCli("eval " + demo + " --against zoom-x2" + data);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_GT(numberAfter(r.output, R"(last 20% \(2 frames\): )"), 30.0) << r.output;
    CommandResult wrong = runCli("eval " + demo + " --against face-back" + data);
    EXPECT_EQ(wrong.exitCode, 1) << wrong.output;
    EXPECT_NE(wrong.output.find("--against face-back"), std::string::npos) << wrong.output;
}

TEST(CliTrain, TrainBaseWritesAModelThatEvalScoresTheSame) {
    fs::path dir = tempDir("base");
    fs::path model = dir / "M.onnx";
    CommandResult r = trainBase(model);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    ASSERT_TRUE(fs::exists(model)) << r.output;
    EXPECT_GT(fs::file_size(model), 100'000u);  // LeNet-5 has about 61K float weights
    EXPECT_FALSE(floatWeights(model).empty());
    double trained = numberAfter(r.output, R"(accuracy )");
    ASSERT_FALSE(std::isnan(trained)) << r.output;
    EXPECT_EQ(numberAfter(r.output, R"(after )"), 8) << r.output;  // the steps it took
    EXPECT_GT(trained, 0.15) << "8 Adam steps should beat chance (0.1)\n" << r.output;

    CommandResult e =
        runCli("eval " + model.string() + " --data fashion-mnist:test --limit 256 --threads 1");
    ASSERT_EQ(e.exitCode, 0) << e.output;
    double evaluated = numberAfter(e.output, R"(accuracy on [^:]*: )");
    ASSERT_FALSE(std::isnan(evaluated)) << e.output;
    // Both print 4 decimals of k/256 on the same 256 pictures: the same number.
    EXPECT_EQ(trained, evaluated) << r.output << "\n" << e.output;
}

// ---- admm ----

TEST(CliTrain, AdmmWritesHistoryAndANinetyPercentSparseModel) {
    fs::path dir = tempDir("admm");
    fs::path base = dir / "M.onnx", pruned = dir / "P.onnx", history = dir / "H.csv";
    CommandResult r = trainBase(base);
    ASSERT_EQ(r.exitCode, 0) << r.output;

    r = runCli("admm " + base.string() +
               " --preset uniform-90 --epochs 2 --fine-tune-epochs 1 --steps-per-epoch 8 --out " +
               pruned.string() + " --history " + history.string() + kSmall);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    ASSERT_TRUE(fs::exists(pruned)) << r.output;
    EXPECT_FALSE(std::isnan(numberAfter(r.output, R"(accuracy )"))) << r.output;

    // The history: a header, then ADMM rows (an update and the epoch end) and fine-tune rows.
    std::ifstream csv(history);
    std::string line;
    ASSERT_TRUE(std::getline(csv, line));
    EXPECT_EQ(line.rfind("phase,epoch,step,admm_iteration,loss,metric,rho,density", 0), 0u) << line;
    int admmRows = 0, fineTuneRows = 0, admmUpdates = 0;
    double lastDensity = NAN;
    while (std::getline(csv, line)) {
        std::vector<std::string> cells;
        std::stringstream s(line);
        for (std::string c; std::getline(s, c, ',');) cells.push_back(c);
        ASSERT_EQ(cells.size(), 10u) << line;
        if (cells[0] == "admm") ++admmRows;
        if (cells[0] == "fine-tune") ++fineTuneRows;
        if (cells[0] == "admm" && cells[3] != "-1") ++admmUpdates;
        lastDensity = std::stod(cells[7]);
        double loss = std::stod(cells[4]);
        EXPECT_TRUE(std::isfinite(loss) && loss > 0) << line;
    }
    EXPECT_GE(admmRows, 2);
    EXPECT_EQ(admmUpdates, 1);  // one Z/U update per W-step epoch, the default
    EXPECT_GE(fineTuneRows, 1);
    EXPECT_NEAR(lastDensity, 0.1, 0.01) << "the pruned layers' density after fine-tuning";

    // The pruned model loads back; every layer the plan pruned keeps about 10% of its weights.
    r = runCli("stats --json " + pruned.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    nlohmann::json stats = nlohmann::json::parse(r.output, nullptr, false);
    ASSERT_FALSE(stats.is_discarded()) << r.output;
    int prunedLayers = 0;
    for (const auto& layer : stats["layers"]) {
        double weights = layer["weights"].get<double>(), kept = layer["kept"].get<double>();
        if (layer["scheme"] == "dense") continue;  // a plain ONNX file: "pruned" or "dense"
        ++prunedLayers;
        EXPECT_NEAR(kept / weights, 0.1, 0.01) << layer.dump();
    }
    // LeNet-5 has 5 layers; keepFirstLast leaves conv1 and fc3 dense.
    EXPECT_EQ(prunedLayers, 3) << r.output;
    r = runCli("stats " + pruned.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("\"non_structured\""), std::string::npos) << r.output;  // the plan
}

// ---- SIGKILL and resume ----

// The admm command of the resume test. Three epochs (two ADMM, one fine-tune) with three Z/U
// updates per epoch and a checkpoint every 7 steps, so checkpoints land mid-epoch too.
std::string resumeArgs(const fs::path& base, const std::string& checkpointFlag,
                       const fs::path& checkpoint, const fs::path& out, const fs::path& history) {
    return "admm " + base.string() +
           " --preset uniform-75 --data fashion-mnist --limit 4096 --test-limit 256 --threads 1"
           " --epochs 3 --fine-tune-epochs 1 --batch 32 --steps-per-epoch 40"
           " --updates-per-epoch 3 --checkpoint-every 7 " +
           checkpointFlag + " " + checkpoint.string() + " --out " + out.string() + " --history " +
           history.string();
}

// The CLI's argv for `args` (the temporary paths hold no spaces).
std::vector<std::string> splitArgs(const std::string& args) {
    std::vector<std::string> argv{PRUNELAB_CLI};
    std::istringstream s(args);
    for (std::string word; s >> word;) argv.push_back(word);
    return argv;
}

// The last "step N/M" a progress line shows; -1 when none yet.
long lastStep(const std::string& output, long* total = nullptr) {
    static const std::regex kStep(R"(step ([0-9]+)/([0-9]+))");
    long step = -1;
    for (auto it = std::sregex_iterator(output.begin(), output.end(), kStep);
         it != std::sregex_iterator(); ++it) {
        step = std::stol((*it)[1].str());
        if (total) *total = std::stol((*it)[2].str());
    }
    return step;
}

long firstStep(const std::string& output) {
    std::smatch m;
    if (!std::regex_search(output, m, std::regex(R"(step ([0-9]+)/[0-9]+)"))) return -1;
    return std::stol(m[1].str());
}

// Starts `args` with stdout and stderr on a pipe; reads progress lines until the run is past
// `killFraction` of its steps with a checkpoint on disk, then SIGKILLs it. Returns its output;
// `status` is waitpid's.
std::string runAndKill(const std::vector<std::string>& args, const fs::path& checkpoint,
                       double killFraction, int* status) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {  // the child: only async-signal-safe calls until exec
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    std::string output;
    if (pid < 0) {
        close(fds[0]);
        return "fork failed";
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool killed = false;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fds[0], POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            char buffer[4096];
            ssize_t n = read(fds[0], buffer, sizeof buffer);
            if (n <= 0) break;  // the child exited before we killed it
            output.append(buffer, static_cast<size_t>(n));
        }
        long total = 0, step = lastStep(output, &total);
        if (total > 0 && step >= killFraction * static_cast<double>(total) &&
            fs::exists(checkpoint)) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
    }
    if (!killed) kill(pid, SIGKILL);  // timed out, or already gone: never leave it running
    close(fds[0]);
    waitpid(pid, status, 0);
    return output;
}

TEST(CliTrain, AdmmKilledWithSigkillResumesToTheStraightRunsWeights) {
    fs::path dir = tempDir("resume");
    fs::path base = dir / "M.onnx";
    CommandResult r = trainBase(base);
    ASSERT_EQ(r.exitCode, 0) << r.output;

    // The straight run, checkpointing like the other so both do exactly the same work.
    fs::path straight = dir / "straight.onnx", straightCsv = dir / "straight.csv";
    auto t0 = std::chrono::steady_clock::now();
    r = runCli(resumeArgs(base, "--checkpoint", dir / "A.ckpt", straight, straightCsv));
    double straightSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.exitCode, 0) << r.output;
    ASSERT_TRUE(fs::exists(straight));
    long total = 0;
    ASSERT_EQ(lastStep(r.output, &total), 120) << r.output;
    std::printf("straight run: %.1f s, %ld steps\n", straightSeconds, total);

    // The same run killed 40% of the way in (in the second ADMM epoch, mid-epoch).
    fs::path checkpoint = dir / "B.ckpt", resumed = dir / "resumed.onnx";
    fs::path resumedCsv = dir / "resumed.csv";
    std::vector<std::string> args =
        splitArgs(resumeArgs(base, "--checkpoint", checkpoint, resumed, resumedCsv));
    int status = 0;
    std::string killedOutput = runAndKill(args, checkpoint, 0.4, &status);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the run ended before the kill (status " << status << ")\n"
        << killedOutput;
    long killedAt = lastStep(killedOutput);
    ASSERT_LT(killedAt, total) << killedOutput;
    ASSERT_FALSE(fs::exists(resumed)) << "the killed run must not have finished";
    ASSERT_TRUE(fs::exists(checkpoint));
    std::printf("killed at step %ld or later\n", killedAt);

    // Resume: the same command with --resume.
    r = runCli(resumeArgs(base, "--resume", checkpoint, resumed, resumedCsv));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    // It carried on from a checkpoint (step 7, 14, ... or an update), not from the start.
    long resumedFrom = firstStep(r.output) - 1;
    EXPECT_GE(resumedFrom, 7) << r.output;
    EXPECT_LT(resumedFrom, total) << r.output;
    std::printf("resumed from step %ld\n", resumedFrom);

    // Bit for bit the same weights as the straight run, and a different model from the base.
    auto a = floatWeights(straight), b = floatWeights(resumed), dense = floatWeights(base);
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    size_t changed = 0;
    for (const auto& [name, wa] : a) {
        ASSERT_TRUE(b.count(name)) << name;
        const std::vector<float>& wb = b.at(name);
        ASSERT_EQ(wa.size(), wb.size()) << name;
        size_t differ = 0;
        for (size_t i = 0; i < wa.size(); ++i) differ += std::memcmp(&wa[i], &wb[i], 4) != 0;
        EXPECT_EQ(differ, 0u) << name << ": " << differ << " of " << wa.size() << " differ";
        if (dense.count(name) && dense.at(name) != wa) ++changed;
    }
    EXPECT_GT(changed, 0u) << "ADMM changed no weight of the base model";
    // The history travels in the checkpoint: both runs report the same rows.
    EXPECT_EQ(readFile(straightCsv), readFile(resumedCsv));
}

// ---- errors ----

TEST(CliTrain, AdmmExplainsBadMethodsBudgetsDataAndCheckpoints) {
    fs::path dir = tempDir("errors");
    fs::path base = dir / "M.onnx";
    CommandResult r = trainBase(base);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const std::string admm = "admm " + base.string() + " --steps-per-epoch 2" + kSmall;
    const std::string out = " --out " + (dir / "P.onnx").string();

    r = runCli(admm + " --preset uniform-75 --method sgd" + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("--method must be admm, one-shot or gradual; got 'sgd'"),
              std::string::npos)
        << r.output;

    r = runCli(admm + " --preset uniform-75 --epochs 2 --fine-tune-epochs 2" + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("fine-tune epochs must leave at least one epoch for admm"),
              std::string::npos)
        << r.output;

    // A folder without class sub-folders.
    fs::path empty = dir / "empty";
    fs::create_directories(empty);
    r = runCli("admm " + base.string() +
               " --preset uniform-75 --threads 1 --data folder:" + empty.string() + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("no classes"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(empty.string()), std::string::npos) << r.output;

    // A checkpoint from another plan is refused, not silently mixed in.
    fs::path checkpoint = dir / "C.ckpt";
    r = runCli(admm + " --preset uniform-75 --epochs 2 --checkpoint " + checkpoint.string() + out);
    ASSERT_EQ(r.exitCode, 0) << r.output;
    ASSERT_TRUE(fs::exists(checkpoint));
    r = runCli(admm + " --preset uniform-90 --epochs 2 --resume " + checkpoint.string() + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("another model, data, plan or options"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(checkpoint.string()), std::string::npos) << r.output;

    // A file that is no checkpoint at all.
    fs::path garbage = dir / "garbage.ckpt";
    {
        std::ofstream f(garbage, std::ios::binary);
        for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
    }
    r = runCli(admm + " --preset uniform-75 --epochs 2 --resume " + garbage.string() + out);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("cannot read the checkpoint"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(garbage.string()), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << r.output;
}

// The checkpoint's fingerprint covers the starting weights and the data, not only the options:
// another base model of the same architecture, or a missing checkpoint, is refused.
TEST(CliTrain, ResumeRefusesACheckpointOfAnotherBaseModel) {
    fs::path dir = tempDir("other_model");
    fs::path base = dir / "M.onnx", other = dir / "M2.onnx", checkpoint = dir / "C.ckpt";
    ASSERT_EQ(trainBase(base).exitCode, 0);
    CommandResult r = runCli("train-base --arch lenet5 --epochs 1 --steps-per-epoch 8 --seed 2" +
                             kSmall + " --out " + other.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const std::string tail = " --preset uniform-75 --epochs 2 --steps-per-epoch 2" + kSmall +
                             " --out " + (dir / "P.onnx").string();
    r = runCli("admm " + base.string() + tail + " --checkpoint " + checkpoint.string());
    ASSERT_EQ(r.exitCode, 0) << r.output;
    r = runCli("admm " + other.string() + tail + " --resume " + checkpoint.string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("another model, data, plan or options"), std::string::npos) << r.output;
    r = runCli("admm " + base.string() + tail + " --resume " + (dir / "typo.ckpt").string());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.output.find("no checkpoint to resume from"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace prunelab

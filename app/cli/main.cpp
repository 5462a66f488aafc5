// prunelab-cli: the engine from the command line. catalog (the bundled models), info (layers,
// params, MACs), run (a model on an image or .npy: outputs as .npy, or decoded and drawn for
// catalog models, task_commands.cpp), bench (PruneLab dense vs ONNX Runtime vs OpenCV DNN, in
// one process, interleaved), prune / stats / sensitivity (prune_commands.cpp), demo (the
// headless demo that `./prunelab run` falls back to) and lesson (lesson_commands.cpp).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli/backend_commands.h"
#include "app/cli/cli.h"
#include "app/cli/compile_commands.h"
#include "app/cli/lesson_commands.h"
#include "app/cli/live_command.h"
#include "app/cli/phone_commands.h"
#include "app/cli/prune_commands.h"
#include "app/cli/task_commands.h"
#include "app/cli/train_commands.h"
#include "engine/codegen/sparse_ir.h"
#include "engine/io/image.h"
#include "engine/io/npy.h"
#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/train/blas_env.h"
#include "plugins/refrt/compare.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

std::string humanCount(int64_t n) {
    char buf[32];
    if (n >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
    else if (n >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
    else if (n >= 1'000)
        std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

// Output names become file names: anything but letters, digits, '-' and '_' becomes '_'.
std::string safeFileName(const std::string& name) {
    std::string s = name.empty() ? "output" : name;
    for (char& c : s) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
        if (!keep) c = '_';
    }
    return s;
}

int cmdInfo(const ModelRequest& request) {
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    const Graph& g = model->graph;
    std::printf("model   %s\n", request.path.c_str());
    for (ValueId id : g.inputs) {
        const Value& v = g.value(id);
        std::printf("input   %s %s %s\n", v.name.c_str(),
                    std::string(dataTypeName(v.dtype)).c_str(), shapeToString(v.shape).c_str());
    }
    for (ValueId id : g.outputs) {
        const Value& v = g.value(id);
        std::printf("output  %s %s %s\n", v.name.c_str(),
                    std::string(dataTypeName(v.dtype)).c_str(), shapeToString(v.shape).c_str());
    }
    std::map<std::string, int> opCounts;
    for (const Node& n : g.nodes) ++opCounts[std::string(opName(n.op))];
    std::printf("nodes   %zu:", g.nodes.size());
    for (const auto& [op, count] : opCounts) std::printf(" %s x%d", op.c_str(), count);
    std::printf("\n");
    // Importers' notes (graph.metadata "import.*": dequantised weights, sparse storage, ...).
    for (const auto& [key, text] : g.metadata) {
        if (key.rfind("import.", 0) != 0) continue;
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) std::printf("note    %s\n", line.c_str());
    }
    std::printf("\n%4s  %-40s %-14s %-18s %-20s %10s %10s\n", "#", "layer", "op", "weight",
                "output", "params", "MACs");
    std::vector<Layer> layers = prunableLayers(g);
    int64_t layerParams = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        const Layer& l = layers[i];
        std::string weight = std::to_string(l.outChannels) + "x" + std::to_string(l.inPerGroup);
        if (l.kh * l.kw > 1) weight += "x" + std::to_string(l.kh) + "x" + std::to_string(l.kw);
        if (l.groups > 1) weight += " g" + std::to_string(l.groups);
        // Long framework names differ at the end: keep the tail.
        std::string name = l.name.size() > 40 ? "..." + l.name.substr(l.name.size() - 37) : l.name;
        std::printf("%4zu  %-40s %-14s %-18s %-20s %10s %10s\n", i, name.c_str(),
                    std::string(opName(l.op)).c_str(), weight.c_str(),
                    shapeToString(l.outputShape).c_str(), humanCount(l.params).c_str(),
                    humanCount(l.macs).c_str());
        layerParams += l.params;
    }
    int64_t allParams = 0;
    for (const Value& v : g.values) {
        if (v.isConstant() && v.dtype == DataType::Float32) allParams += v.constant.elements();
    }
    std::printf(
        "\nprunable layers %zu, their params %s (%lld), all float params %s, MACs %s (%lld)\n",
        layers.size(), humanCount(layerParams).c_str(), static_cast<long long>(layerParams),
        humanCount(allParams).c_str(), humanCount(totalMacs(g)).c_str(),
        static_cast<long long>(totalMacs(g)));
    return 0;
}

int cmdRun(const ModelRequest& request, const std::vector<std::string>& inputSpecs,
           const std::string& outputDir, int threads, const Backend& backend) {
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    auto inputs = makeInputs(*model, inputSpecs);
    if (!inputs.ok()) return fail(inputs.error());
    PrepareOptions options;
    options.threads = threads;
    auto exec = backend.prepare(model->graph, options);
    if (!exec.ok()) return fail(exec.error());
    auto outputs = (*exec)->run(*inputs);
    if (!outputs.ok()) return fail(outputs.error());
    std::error_code ec;
    std::filesystem::create_directories(outputDir, ec);
    if (ec)
        return fail(
            makeError(ErrorCode::Io, "cannot create the folder: " + ec.message(), outputDir));
    for (size_t i = 0; i < outputs->size(); ++i) {
        const Value& v = model->graph.value(model->graph.outputs[i]);
        std::string path =
            (std::filesystem::path(outputDir) / (safeFileName(v.name) + ".npy")).string();
        Status st = writeNpy(path, (*outputs)[i]);
        if (!st.ok()) return fail(st.error());
        std::printf("%s %s -> %s\n", v.name.c_str(), shapeToString((*outputs)[i].shape()).c_str(),
                    path.c_str());
    }
    return 0;
}

int cmdBench(const ModelRequest& request, const std::vector<std::string>& inputSpecs, int threads,
             int runs, bool compare, bool generic, bool measure, bool tune, bool half,
             const Backend& backend) {
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    std::shared_ptr<const codegen::SparseModel> sparse;
    std::shared_ptr<const GeneratedKernels> generated;
    if (compare) {
        auto compiled = compileLoadedModel(*model, measure ? threads : 0, tune && !generic,
                                           generic ? nullptr : &generated, &backend);
        if (!compiled.ok()) return fail(compiled.error());
        sparse = std::make_shared<codegen::SparseModel>(std::move(*compiled));
    }
    auto inputs = makeInputs(*model, inputSpecs);
    if (!inputs.ok()) return fail(inputs.error());
    refrt::BenchRequest bench;
    bench.modelPath = model->path;
    std::filesystem::path tempDir;
    if (!model->onnx) {
        // The reference runtimes read ONNX: hand them the same graph, exported.
        tempDir = std::filesystem::temp_directory_path() /
                  ("prunelab-bench-" + std::to_string(static_cast<long>(::getpid())));
        std::error_code ec;
        std::filesystem::create_directories(tempDir, ec);
        bench.modelPath = (tempDir / "model.onnx").string();
        Status st = exportOnnxFile(model->graph, bench.modelPath);
        if (!st.ok()) return fail(st.error());
    }
    bench.graph = &model->graph;
    bench.inputs = *inputs;
    bench.threads = threads;
    bench.runs = runs;
    bench.sparse = sparse;
    bench.generated = generated;
    bench.backend = &backend;
    bench.halfStorage = half;
    auto table = refrt::benchModel(bench);
    if (!tempDir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(tempDir, ec);
    }
    if (!table.ok()) return fail(table.error());
    const BackendDescription where = backend.describe(threads);
    std::printf("%s, %d thread%s, %d runs each, interleaved; PruneLab on %s (%s)\n",
                request.path.c_str(), threads, threads == 1 ? "" : "s", runs,
                std::string(backend.name()).c_str(), where.device.c_str());
    std::fputs(refrt::formatBenchTable(*table).c_str(), stdout);
    if (half) {
        // The price of the speed: how far 16-bit storage moved each output, on this device.
        PrepareOptions base;
        base.threads = threads;
        auto errors = refrt::measureHalfError(backend, model->graph, *inputs, base);
        if (!errors.ok()) return fail(errors.error());
        for (const refrt::HalfError& e : *errors) {
            std::printf(
                "fp16 storage: '%s' is off by %.2g of its range at worst, %.2g on "
                "average, against float32 on the same device\n",
                e.output.c_str(), e.worst, e.mean);
        }
    }
    if (compare) {
        auto layers = refrt::profileLayers(bench, std::max(3, runs / 3));
        if (!layers.ok()) return fail(layers.error());
        std::printf("\nper layer (medians of profiled runs; ideal = dense MACs / kept MACs):\n");
        std::fputs(refrt::formatLayerProfile(*layers).c_str(), stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"PruneLab command-line tool: inspect, run and benchmark models"};
    app.require_subcommand(1);

    ModelRequest request;
    std::string size;
    std::vector<std::string> inputs;
    std::string outputDir;
    int threads = 0;
    // --backend on every command that runs a model: one name from backend_list.inc.
    std::string backendName = std::string(defaultBackend().name());
    const std::string backendHelp =
        "where PruneLab runs the model: " + backendNames() + " (default " + backendName + ")";
    int runs = 30;
    // --device beside every --backend: a Vulkan device, chosen before the backend opens one.
    int deviceIndex = 0;
    std::vector<CLI::Option*> deviceOptions;
    const std::string deviceHelp =
        "with --backend vulkan: the Vulkan device to run on (`prunelab-cli backends` lists them)";

    auto addModel = [&](CLI::App* cmd) {
        cmd->add_option("model", request.path,
                        "model file (" + prunelab::plugins::modelFormatsText() + ") or catalog id")
            ->required();
        cmd->add_option("--size", size, "bind an image input's dynamic size, WxH (e.g. 640x640)");
    };

    std::string catalogId;
    CLI::App* catalog = app.add_subcommand("catalog", "the bundled models (ids for every command)");
    catalog->add_option("id", catalogId, "show one model in full");

    CLI::App* backendsCmd = app.add_subcommand(
        "backends", "where PruneLab can run: each backend, its device, and the Vulkan devices");
    CLI::App* phonesCmd = app.add_subcommand(
        "phones", "the phones adb sees (USB debugging), each with --backend phone:SERIAL");

    CLI::App* info = app.add_subcommand("info", "layers, shapes, params and MACs per layer");
    addModel(info);

    TaskRunRequest task;
    CLI::App* run = app.add_subcommand(
        "run", "run a model: decode and draw (catalog models) or write outputs as .npy");
    addModel(run);
    run->add_option("--input", inputs,
                    "IMAGE or FILE.npy for the first input, or NAME=FILE.npy (repeatable); "
                    "catalog models: a picture (default: the model's sample)");
    run->add_option("--output-dir", outputDir, "write every raw output as .npy into this folder");
    run->add_option("--draw", task.drawPath, "write the decoded result drawn on the picture");
    run->add_option("--as", request.as, "decode like this catalog model (e.g. a pruned copy)");
    run->add_option("--threads", threads, "threads (default: one per core)");
    run->add_option("--backend", backendName, backendHelp);
    deviceOptions.push_back(run->add_option("--device", deviceIndex, deviceHelp));

    CLI::App* bench = app.add_subcommand("bench", "latency vs ONNX Runtime and OpenCV DNN");
    addModel(bench);
    bench->add_option("--input", inputs, "as for run (default: a photo or random data)");
    bench->add_option("--threads", threads, "threads for every runtime (default 1)");
    bench->add_option("--runs", runs, "timed runs per runtime (default 30)");
    bench->add_option("--backend", backendName, backendHelp);
    deviceOptions.push_back(bench->add_option("--device", deviceIndex, deviceHelp));
    bool compare = false;
    bench->add_flag("--compare", compare,
                    "also run the pruned model's compiled sparse layers (PruneLab sparse)");
    bool generic = false, noMeasure = false;
    bench->add_flag("--no-measure", noMeasure,
                    "with --compare: keep every sparse layer, even where it is slower than dense");
    bench->add_flag("--generic", generic,
                    "with --compare: the generic sparse kernels, not host-compiled generated ones");
    bool benchTune = false;
    bench->add_flag("--tune", benchTune,
                    "with --compare: time block sizes and unrolling per layer first (cached)");
    bool benchHalf = false;
    bench->add_flag("--fp16", benchHalf,
                    "store values in 16 bits (--backend vulkan) and print the error this makes "
                    "against float32");

    std::string compileOut;
    CLI::App* compile = app.add_subcommand(
        "compile", "the sparse compiler's passes on a pruned model: decisions and each pass's IR");
    addModel(compile);
    compile->add_option("--out", compileOut, "folder for layers.txt, passes/ and src/")->required();
    bool compileBuild = false, compileNoMeasure = false;
    compile->add_flag("--no-measure", compileNoMeasure,
                      "keep every sparse layer the thresholds chose, without timing it here");
    compile->add_flag("--build", compileBuild,
                      "also compile the generated code for this machine (kernels/layer_N.so)");
    bool compileTune = false;
    compile->add_option("--backend", backendName, backendHelp + "; the decision is measured there");
    deviceOptions.push_back(compile->add_option("--device", deviceIndex, deviceHelp));
    compile->add_flag("--tune", compileTune,
                      "time block sizes and unrolling per pattern layer on this machine (cached)");

    PruneRequest prune;
    CLI::App* pruneCmd =
        app.add_subcommand("prune", "apply a pruning plan, write the pruned model");
    addModel(pruneCmd);
    pruneCmd->add_option("--plan", prune.planPath, "plan JSON file");
    pruneCmd->add_option("--preset", prune.preset,
                         "uniform-50, uniform-75, uniform-90, patdnn-8 or tile-75");
    pruneCmd->add_option("--out", prune.outPath, "OUT.onnx (zeros in place) or OUT.plab (+ masks)")
        ->required();
    pruneCmd->add_option("--save-plan", prune.savePlanPath, "also write the applied plan as JSON");
    pruneCmd->add_option("--shrunk", prune.shrunkPath,
                         "structured plans: also write the smaller dense model (.onnx)");

    bool statsJson = false;
    CLI::App* stats = app.add_subcommand(
        "stats", "density, MACs and storage bytes per layer of a model or pruned model");
    addModel(stats);
    stats->add_flag("--json", statsJson, "print the statistics as JSON");

    SensitivityRequest sens;
    CLI::App* sensCmd = app.add_subcommand(
        "sensitivity", "prune each layer alone at several rates, measure the output change");
    addModel(sensCmd);
    sensCmd->add_option("--scheme", sens.scheme, "scheme id (default non_structured)");
    sensCmd->add_option("--inputs", sens.inputsDir,
                        "folder of images / .npy files (default: random inputs)");
    sensCmd->add_option("--samples", sens.samples, "random inputs when there is no folder");
    sensCmd->add_option("--rates", sens.rates, "rates, e.g. --rates 0.25 0.5")->expected(1, -1);
    sensCmd->add_option("--metric", sens.metric, "auto, top1, psnr or l2");
    sensCmd->add_option("--threads", sens.threads, "worker threads (default: one per core)");

    TrainRequest train;
    auto addTraining = [&](CLI::App* cmd) {
        cmd->add_option("--data", train.data,
                        "fashion-mnist, mnist, folder:PATH (a sub-folder per class) or "
                        "frames:VIDEO_OR_FOLDER (label-free)");
        cmd->add_option("--test", train.test, "test data (default: the data's test split)");
        cmd->add_option("--epochs", train.epochs, "epochs in all (default 2)");
        cmd->add_option("--batch", train.batch, "batch size (default 64)");
        cmd->add_option("--lr", train.learningRate, "learning rate (default 1e-3)");
        cmd->add_option("--lr-final", train.learningRateFinal,
                        "decay the learning rate to this along a half cosine (default: constant)");
        cmd->add_option("--momentum", train.momentum,
                        "SGD with this momentum (e.g. 0.9) instead of Adam; --lr is then SGD's")
            ->check(CLI::Range(0.0, 0.999));
        cmd->add_option("--seed", train.seed, "seed for data order and initial weights");
        cmd->add_option("--threads", train.threads, "threads (default: one per core)");
        cmd->add_option("--limit", train.limit, "use the first N training examples");
        cmd->add_option("--test-limit", train.testLimit, "use the first N test examples");
        cmd->add_option("--steps-per-epoch", train.stepsPerEpoch, "cap the steps of an epoch");
    };
    CLI::App* trainBase = app.add_subcommand("train-base", "train a lab model from scratch");
    trainBase->add_option("--arch", train.arch, "lenet5 or vgg-small")->required();
    trainBase->add_option("--out", train.out, "M.onnx")->required();
    addTraining(trainBase);

    CLI::App* admm = app.add_subcommand(
        "admm", "retrain under a pruning plan: ADMM, one-shot + fine-tune or gradual");
    addModel(admm);
    addTraining(admm);
    admm->add_option("--plan", train.planPath, "plan JSON file");
    admm->add_option("--preset", train.preset, "a preset plan (as for prune)");
    admm->add_option("--out", train.out, "PRUNED.onnx or PRUNED.plab")->required();
    admm->add_option("--method", train.method, "admm (default), one-shot or gradual");
    admm->add_option("--fine-tune-epochs", train.fineTuneEpochs,
                     "masked fine-tune epochs at the end (default 1)");
    admm->add_option("--rho", train.rho,
                     "rho at the start of each stage, per unit of each layer's mean squared "
                     "weight")
        ->capture_default_str();
    admm->add_option("--rho-multiplier", train.rhoMultiplier,
                     "rho growth per update (0: reach --rho-max at each stage's last update)")
        ->capture_default_str();
    admm->add_option("--rho-max", train.rhoMax, "largest rho")->capture_default_str();
    admm->add_option("--updates-per-epoch", train.updatesPerEpoch,
                     "Z/U updates per epoch (0: W-steps of ~200 optimiser steps, 4 to 10 a stage)")
        ->capture_default_str();
    admm->add_option("--stages", train.stages,
                     "progressive ADMM stages (0: one per 20x the plan removes)")
        ->capture_default_str();
    admm->add_flag("--distill", train.distill, "label-free: the dense model's outputs as targets");
    admm->add_option("--checkpoint", train.checkpoint, "write checkpoints to this file");
    admm->add_option("--resume", train.resume, "resume from (and keep writing) this checkpoint");
    admm->add_option("--checkpoint-every", train.checkpointEvery,
                     "also checkpoint every N steps (default: at ADMM updates and epoch ends)")
        ->check(CLI::NonNegativeNumber);
    admm->add_option("--history", train.historyCsv, "write the per-iteration history as CSV");
    admm->add_option("--export-torch", train.exportTorch,
                     "instead of training, write the run as a PyTorch folder (train.py with "
                     "DistributedDataParallel, README.md, model, data, plan, settings)");
    admm->add_option("--max-steps", train.maxSteps,
                     "stop after N optimiser steps and write the weights as they stand (tests)")
        ->check(CLI::NonNegativeNumber);
    admm->add_option("--init", train.init,
                     "start from this pruned model's weights (an earlier run under the same "
                     "plan); the model stays the teacher");

    CLI::App* eval = app.add_subcommand("eval", "accuracy on data, or PSNR against a model");
    addModel(eval);
    eval->add_option("--data", train.data, "as for admm (default fashion-mnist)");
    eval->add_option("--against", train.against, "PSNR of the outputs against this model");
    eval->add_option("--limit", train.limit, "use the first N examples");
    eval->add_option("--threads", train.threads, "threads (default: one per core)");

    CLI::App* demo = app.add_subcommand(
        "demo", "the headless demo: PruneLab and ONNX Runtime on the bundled photos");

    LiveRequest live;
    CLI::App* liveCmd = app.add_subcommand(
        "live", "the live demo without a window: dense and compiled pruned model on frames");
    addModel(liveCmd);
    liveCmd->add_option("--pruned", live.pruned,
                        "a preset (patdnn-8, ...), a plan .json, or a pruned .plab / .onnx "
                        "(default: the model's bundled pruned-and-retrained demo, else patdnn-8)");
    liveCmd->add_option("--source", live.source,
                        "vtest.avi (the bundled video, default), a video or picture file, or a "
                        "camera: camera:N, /dev/videoN");
    liveCmd->add_option("--camera-size", live.cameraSize,
                        "the size a camera captures at, WxH (default: the camera's own)");
    liveCmd->add_option("--frames", live.frames, "frames through both lanes (default 60)");
    liveCmd->add_option("--threads", live.threads, "threads for each lane (default 1)");
    liveCmd->add_option("--backend", live.backend, backendHelp);
    deviceOptions.push_back(liveCmd->add_option("--device", deviceIndex, deviceHelp));
    liveCmd->add_option("--reference", live.reference,
                        "lane A: prunelab (PruneLab dense, default) or ort (ONNX Runtime)");
    liveCmd->add_option("--record", live.recordPath, "write the side-by-side clip (.avi)");
    liveCmd->add_option("--csv", live.csvPath, "write every frame's timings");
    liveCmd->add_option("--as", request.as, "decode like this catalog model");
    liveCmd->add_flag("--generic", live.generic,
                      "the generic sparse kernels, not host-compiled generated ones");
    liveCmd->add_flag("--no-measure", live.noMeasure,
                      "keep every sparse layer, even where it is slower than dense");

    std::string lessonsRoot;
    CLI::App* lesson = app.add_subcommand("lesson", "guided lessons: validate and list lessons/");
    lesson->require_subcommand(1);
    CLI::App* lessonCheck = lesson->add_subcommand(
        "check-files", "read every lesson, print ok or its error (exit 1 when any failed)");
    lessonCheck->add_option("root", lessonsRoot, "the lessons folder (default: PruneLab's own)");
    CLI::App* lessonList = lesson->add_subcommand("list", "the lessons by audience");
    lessonList->add_option("root", lessonsRoot, "the lessons folder (default: PruneLab's own)");
    CLI::App* lessonReference = lesson->add_subcommand(
        "reference", "every action and check as Markdown tables (lessons/README.md)");

    CLI11_PARSE(app, argc, argv);

    if (!size.empty()) {
        auto parsed = parseSize(size);
        if (!parsed.ok()) return fail(parsed.error());
        request.width = parsed->first;
        request.height = parsed->second;
    }
    if (lessonCheck->parsed()) return cmdLessonCheckFiles(lessonsRoot);
    if (lessonList->parsed()) return cmdLessonList(lessonsRoot);
    if (lessonReference->parsed()) return cmdLessonReference();
    if (catalog->parsed()) return cmdCatalog(catalogId);
    if (info->parsed()) return cmdInfo(request);
    if (backendsCmd->parsed()) return cmdBackends();
    if (phonesCmd->parsed()) return cmdPhones();
    for (CLI::Option* device : deviceOptions) {
        if (device->count() == 0) continue;
        const Status chosen =
            chooseDevice(liveCmd->parsed() ? live.backend : backendName, deviceIndex);
        if (!chosen.ok()) return fail(chosen.error());
    }
    // Refused before any model loads, with the names there are or why this one cannot run.
    auto backend = findBackend(backendName);
    if (!backend.ok() && (run->parsed() || bench->parsed() || compile->parsed()))
        return fail(backend.error());
    if (run->parsed()) {
        if (!outputDir.empty()) {
            int rc = cmdRun(request, inputs, outputDir, threads, **backend);
            if (rc != 0 || task.drawPath.empty()) return rc;
        }
        if (inputs.size() > 1) {
            return fail(
                makeError(ErrorCode::InvalidArgument, "catalog models take one --input picture"));
        }
        task.model = request;
        task.picture = inputs.empty() ? "" : inputs[0];
        task.threads = threads;
        task.backend = *backend;
        return cmdRunTask(task);
    }
    if (bench->parsed())
        return cmdBench(request, inputs, threads < 1 ? 1 : threads, runs, compare, generic,
                        !noMeasure, benchTune, benchHalf, **backend);
    if (compile->parsed())
        return cmdCompile(request, compileOut, compileBuild, !compileNoMeasure, compileTune,
                          *backend);
    if (pruneCmd->parsed()) {
        prune.model = request;
        return cmdPrune(prune);
    }
    if (stats->parsed()) return cmdStats(request, statsJson);
    if (sensCmd->parsed()) {
        sens.model = request;
        return cmdSensitivity(sens);
    }
    if (demo->parsed()) return runHeadlessDemo();
    if (liveCmd->parsed()) {
        live.model = request;
        return cmdLive(live);
    }
    train.model = request;
    if (trainBase->parsed()) return cmdTrainBase(train);
    if (admm->parsed()) return cmdAdmm(train);
    if (eval->parsed()) return cmdEval(train);
    return 0;
}

}  // namespace prunelab::cli

int main(int argc, char** argv) {
    prunelab::engine::runOpenCvOnCallingThread();  // before any image work: see engine/io/image.h
    if (argc > 1) {
        std::string command = argv[1];
        if (command == "train-base" || command == "admm" || command == "eval") {
            prunelab::engine::train::ensureBlasSettings(argv);
        }
    }
    return prunelab::cli::main(argc, argv);
}

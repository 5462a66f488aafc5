// The training commands: data and plan from the command line, a progress bar on a terminal
// (plain lines otherwise), Ctrl-C stops cleanly and leaves a checkpoint to resume from.
#include "app/cli/train_commands.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/onnx/onnx_import.h"
#include "engine/onnx/plab_file.h"
#include "engine/prune/plan.h"
#include "engine/prune/pruned_model.h"
#include "engine/train/data.h"
#include "engine/train/torch_export.h"
#include "engine/train/zoo.h"
#include "plugins/model-files/model_files.h"
#ifdef PRUNELAB_HAVE_TORCH
#include "engine/train/trainer.h"
#endif

namespace prunelab::cli {

using namespace prunelab::engine;
using namespace prunelab::engine::train;

namespace {

#ifdef PRUNELAB_HAVE_TORCH

std::atomic<bool> g_stop{false};
void onInterrupt(int) {
    g_stop.store(true);
}

// A bar that redraws in place on a terminal; elsewhere (CI logs, pipes) a line every 10%.
std::function<void(const TrainProgress&)> progressPrinter() {
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto lastTenth = std::make_shared<int64_t>(-1);
    return [tty, lastTenth](const TrainProgress& p) {
        double done = p.steps ? static_cast<double>(p.step) / static_cast<double>(p.steps) : 1;
        double left = done > 0 ? p.secondsElapsed * (1 - done) / done : 0;
        if (tty) {
            int filled = static_cast<int>(done * 30);
            std::fprintf(stderr, "\r[%-30s] %3.0f%%  %-9s epoch %d/%d  loss %.4f  %4.0f s left ",
                         std::string(static_cast<size_t>(filled), '#').c_str(), 100 * done,
                         p.phase.c_str(), p.epoch + 1, p.epochs, p.loss, left);
            if (p.step == p.steps) std::fprintf(stderr, "\n");
            return;
        }
        auto tenth = static_cast<int64_t>(done * 10);
        if (tenth == *lastTenth) return;
        *lastTenth = tenth;
        std::fprintf(stderr, "%3.0f%%  %s  epoch %d/%d  step %lld/%lld  loss %.4f  %.0f s left\n",
                     100 * done, p.phase.c_str(), p.epoch + 1, p.epochs,
                     static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, left);
    };
}

// The test split: --test, else the ":test" half of a data set that has one.
std::string testSpecFor(const TrainRequest& r) {
    return r.test.empty() ? testSpecOf(r.data) : r.test;
}

Status writeHistoryCsv(const std::string& path, const std::vector<IterationRecord>& history) {
    std::ofstream f(path);
    if (!f) return makeError(ErrorCode::Io, "cannot write the history", path);
    f << "phase,epoch,step,admm_iteration,loss,metric,rho,density,primal_total,dual_total\n";
    for (const IterationRecord& r : history) {
        double primal = 0, dual = 0;
        for (double v : r.primal) primal += v * v;
        for (double v : r.dual) dual += v * v;
        f << r.phase << ',' << r.epoch << ',' << r.step << ',' << r.admmIteration << ',' << r.loss
          << ',' << r.metric << ',' << r.rho << ',' << r.density << ',' << std::sqrt(primal) << ','
          << std::sqrt(dual) << '\n';
    }
    return f ? Status{} : makeError(ErrorCode::Io, "write failed", path);
}

void printHistory(const std::vector<IterationRecord>& history, bool psnr) {
    std::printf("%-10s %5s %7s %5s %9s %9s %9s %8s %10s\n", "phase", "epoch", "step", "admm",
                "loss", psnr ? "PSNR dB" : "accuracy", "rho", "density", "||W-Z||");
    for (const IterationRecord& r : history) {
        double primal = 0;
        for (double v : r.primal) primal += v * v;
        std::printf("%-10s %5d %7lld %5s %9.4g %9.4f %9.2g %8.4f %10.4g\n", r.phase.c_str(),
                    r.epoch + 1, static_cast<long long>(r.step),
                    r.admmIteration < 0 ? "" : std::to_string(r.admmIteration).c_str(), r.loss,
                    r.metric, r.rho, r.density, std::sqrt(primal));
    }
}

TrainOptions trainOptions(const TrainRequest& r, const Dataset* test) {
    TrainOptions o;
    o.epochs = r.epochs;
    o.batchSize = r.batch;
    o.learningRate = r.learningRate;
    o.momentum = r.momentum;
    o.learningRateFinal = r.learningRateFinal;
    o.seed = static_cast<uint64_t>(r.seed);
    o.threads = r.threads;
    o.maxStepsPerEpoch = r.stepsPerEpoch;
    o.test = test;
    o.progress = progressPrinter();
    o.cancel = &g_stop;
    return o;
}

Result<std::unique_ptr<Dataset>> openTest(const TrainRequest& r, const PictureOptions& picture) {
    std::string spec = testSpecFor(r);
    if (spec.empty()) return std::unique_ptr<Dataset>();
    return openDataset(spec, picture, r.testLimit);
}

#endif  // PRUNELAB_HAVE_TORCH

}  // namespace

#ifndef PRUNELAB_HAVE_TORCH

static int noTorch() {
    return fail(
        makeError(ErrorCode::Unsupported,
                  "this prunelab-cli was built without libtorch (PRUNELAB_WITH_TORCH=OFF)"));
}
int cmdTrainBase(const TrainRequest&) {
    return noTorch();
}
int cmdAdmm(const TrainRequest&) {
    return noTorch();
}
int cmdEval(const TrainRequest&) {
    return noTorch();
}

#else

int cmdTrainBase(const TrainRequest& r) {
    if (r.out.empty()) return fail(makeError(ErrorCode::InvalidArgument, "--out M.onnx is needed"));
    auto model = buildArch(r.arch, static_cast<uint32_t>(r.seed));
    if (!model.ok()) return fail(model.error());
    PictureOptions picture = pictureOptionsFor(*model);
    auto data = openDataset(r.data, picture, r.limit);
    if (!data.ok()) return fail(data.error());
    if (Status st = checkInputShape(*model, **data); !st.ok()) return fail(st.error());
    auto test = openTest(r, picture);
    if (!test.ok()) return fail(test.error());
    std::printf("training %s on %s for %d epoch(s)\n", r.arch.c_str(), (*data)->describe().c_str(),
                r.epochs);
    auto previous = std::signal(SIGINT, onInterrupt);
    auto result = trainDense(*model, **data, trainOptions(r, test->get()));
    std::signal(SIGINT, previous);
    if (!result.ok()) return fail(result.error());
    printHistory(result->history, false);
    Status st = exportOnnxFile(result->model, r.out, {{"prunelab.arch", r.arch}});
    if (!st.ok()) return fail(st.error());
    std::printf("accuracy %.4f after %lld steps in %.1f s; wrote %s\n", result->metric,
                static_cast<long long>(result->steps), result->seconds, r.out.c_str());
    return 0;
}

int cmdAdmm(const TrainRequest& r) {
    std::string ext = std::filesystem::path(r.out).extension().string();
    if (ext != ".onnx" && ext != ".plab") {
        return fail(makeError(ErrorCode::InvalidArgument, "--out must end in .onnx or .plab"));
    }
    if (r.planPath.empty() == r.preset.empty()) {
        return fail(makeError(ErrorCode::InvalidArgument,
                              "give exactly one of --plan PLAN.json or --preset NAME"));
    }
    auto plan = r.preset.empty() ? prune::loadPlanFile(r.planPath) : prune::presetPlan(r.preset);
    if (!plan.ok()) return fail(plan.error());
    RetrainOptions ro;
    if (r.method == "admm") {
        ro.method = RetrainMethod::Admm;
    } else if (r.method == "one-shot") {
        ro.method = RetrainMethod::OneShot;
    } else if (r.method == "gradual") {
        ro.method = RetrainMethod::Gradual;
    } else {
        return fail(
            makeError(ErrorCode::InvalidArgument,
                      "--method must be admm, one-shot or gradual; got '" + r.method + "'"));
    }
    ro.fineTuneEpochs = r.fineTuneEpochs;
    ro.admmUpdatesPerEpoch = r.updatesPerEpoch;
    ro.admmStages = r.stages;
    ro.rho = r.rho, ro.rhoMultiplier = r.rhoMultiplier, ro.rhoMax = r.rhoMax;
    ro.distill = r.distill;
    // BatchNormalization reaches the trainer as a node; it decides whether to train or fold it.
    ModelRequest request = r.model;
    request.keepBatchNorm = true;
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    // A catalog model's pictures are prepared as it was trained (BlazeFace: [-1, 1], letterboxed).
    PictureOptions picture = model->entry ? pictureOptionsFor(model->graph, *model->entry)
                                          : pictureOptionsFor(model->graph);
    auto data = openDataset(r.data, picture, r.limit);
    if (!data.ok()) return fail(data.error());
    if (Status st = checkInputShape(model->graph, **data); !st.ok()) return fail(st.error());
    auto test = openTest(r, picture);
    if (!test.ok()) return fail(test.error());
    if ((*data)->classNames().empty()) ro.distill = true;  // no labels: distil the dense model
    // A face detector's score outputs ([1, anchors, 1]) are logits.
    if (model->entry && model->entry->task == Task::FaceDetection) {
        for (ValueId id : model->graph.outputs) {
            const Shape& shape = model->graph.value(id).shape;
            ro.logitOutputs.push_back(!shape.empty() && shape.back() == 1);
        }
    }
    if (!r.init.empty()) {
        // At its own size: its weights go onto the model whatever size either was bound to.
        auto start = plugins::loadModelFile(r.init, 0, 0, !request.keepBatchNorm);
        if (!start.ok()) return fail(start.error());
        ro.start = std::move(*start);
    }

    TrainOptions o = trainOptions(r, test->get());
    o.checkpointPath = r.resume.empty() ? r.checkpoint : r.resume;
    o.checkpointEvery = r.checkpointEvery;
    o.maxSteps = r.maxSteps;
    if (!r.exportTorch.empty()) {
        Status st = exportTorchRun(r.exportTorch, model->graph, *plan, **data, test->get(), o, ro);
        if (!st.ok()) return fail(st.error().within("--export-torch " + r.exportTorch));
        std::printf("wrote %s/train.py: run it with python3 %s/train.py [--nproc N] (README.md)\n",
                    r.exportTorch.c_str(), r.exportTorch.c_str());
        return 0;
    }
    std::printf("%s on %s: %s, %d epoch(s) (%d fine-tune)%s\n", r.method.c_str(),
                model->path.c_str(), (*data)->describe().c_str(), r.epochs, r.fineTuneEpochs,
                ro.distill ? ", label-free (distilling the dense model)" : "");
    auto previous = std::signal(SIGINT, onInterrupt);
    auto result = retrain(model->graph, *plan, **data, o, ro, !r.resume.empty());
    std::signal(SIGINT, previous);
    if (!result.ok()) return fail(result.error());
    if (r.maxSteps > 0 && result->steps >= r.maxSteps) {
        // Stopped early: the weights as they stand (no hard prune, BatchNormalization unfolded),
        // to compare with the exported script's after the same steps.
        Status st = exportOnnxFile(result->model, r.out);
        if (!st.ok()) return fail(st.error());
        std::printf("stopped after %lld steps (--max-steps); wrote %s\n",
                    static_cast<long long>(result->steps), r.out.c_str());
        return 0;
    }
    printHistory(result->history, ro.distill);
    if (!r.historyCsv.empty()) {
        if (Status st = writeHistoryCsv(r.historyCsv, result->history); !st.ok())
            return fail(st.error());
    }
    auto pruned = prune::applyPlan(result->model, *plan);
    if (!pruned.ok()) return fail(pruned.error());
    Status st = ext == ".plab" ? prune::savePlabFile(*pruned, r.out)
                               : prune::exportPrunedOnnx(*pruned, r.out);
    if (!st.ok()) return fail(st.error());
    std::printf("%s %.4f after %lld steps in %.1f s; wrote %s\n",
                ro.distill ? "PSNR vs dense (dB)" : "accuracy", result->metric,
                static_cast<long long>(result->steps), result->seconds, r.out.c_str());
    return 0;
}

int cmdEval(const TrainRequest& r) {
    auto model = loadModel(r.model);
    if (!model.ok()) return fail(model.error());
    PictureOptions picture = model->entry ? pictureOptionsFor(model->graph, *model->entry)
                                          : pictureOptionsFor(model->graph);
    auto data = openDataset(r.data, picture, r.limit);
    if (!data.ok()) return fail(data.error());
    if (Status st = checkInputShape(model->graph, **data); !st.ok()) return fail(st.error());
    if (!r.against.empty()) {
        ModelRequest denseRequest = r.model;
        denseRequest.path = r.against;
        // At the model's own size unless --size says otherwise: a .plab distilled at 64x48
        // against the catalog id (bound at 320x240 by default) must meet the same pictures.
        if (denseRequest.width == 0 && denseRequest.height == 0) {
            denseRequest.width = picture.width;
            denseRequest.height = picture.height;
        }
        auto dense = loadModel(denseRequest);
        if (!dense.ok()) return fail(dense.error());
        if (Status st = checkInputShape(dense->graph, **data); !st.ok()) {
            return fail(st.error().within("--against " + r.against));
        }
        auto db = evaluateAgreementPsnr(model->graph, dense->graph, **data, 8, r.threads);
        if (!db.ok()) return fail(db.error());
        std::printf("PSNR vs %s on %s: %.2f dB\n", r.against.c_str(), (*data)->describe().c_str(),
                    *db);
        return 0;
    }
    auto accuracy = evaluateAccuracy(model->graph, **data, 256, r.threads);
    if (!accuracy.ok()) return fail(accuracy.error());
    std::printf("accuracy on %s: %.4f\n", (*data)->describe().c_str(), *accuracy);
    return 0;
}

#endif  // PRUNELAB_HAVE_TORCH

}  // namespace prunelab::cli

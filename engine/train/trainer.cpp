// The trainer (see trainer.h). Sections: 1. batches and losses, 2. the plan's projection and
// masks, 3. checkpoints, 4. the training loop that every method shares (one schedule of epochs;
// ADMM, one-shot and gradual differ only in what happens at step and epoch boundaries),
// 5. evaluation.
#include "engine/train/trainer.h"
#include "engine/ops/op.h"

#include "engine/train/admm_plan.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "engine/onnx/onnx_passes.h"
#include "engine/prune/pruned_model.h"
#include "engine/train/torch_module.h"

namespace prunelab::engine::train {

const char* retrainMethodName(RetrainMethod m) {
    switch (m) {
        case RetrainMethod::Admm:
            return "admm";
        case RetrainMethod::OneShot:
            return "one-shot";
        case RetrainMethod::Gradual:
            return "gradual";
    }
    return "?";
}

namespace {

// ---- 1. Batches and losses -------------------------------------------------------------------

struct Batch {
    torch::Tensor inputs;  // [N, C, H, W]
    torch::Tensor labels;  // [N] int64, or undefined for unlabelled data
};

Result<Batch> makeBatch(const Dataset& data, const std::vector<uint32_t>& order, size_t begin,
                        size_t count) {
    std::vector<torch::Tensor> xs;
    std::vector<int64_t> ys;
    bool labelled = true;
    for (size_t k = begin; k < begin + count && k < order.size(); ++k) {
        PL_TRY_ASSIGN(Example e, data.get(order[k]));
        xs.push_back(toTorch(e.input));
        labelled &= e.label >= 0;
        ys.push_back(e.label);
    }
    Batch b;
    b.inputs = torch::stack(xs);
    if (labelled) b.labels = torch::tensor(ys, torch::kInt64);
    return b;
}

// The score output ([N, anchors, 1], a logit output) that goes with `boxes` ([N, anchors, K]):
// the one with the same anchors. nullptr when `boxes` is not a detector's box output.
const torch::Tensor* scoresFor(const std::vector<torch::Tensor>& teacher,
                               const std::vector<bool>& logits, const torch::Tensor& boxes) {
    if (boxes.dim() != 3 || boxes.size(2) <= 1) return nullptr;
    for (size_t j = 0; j < teacher.size() && j < logits.size(); ++j) {
        const torch::Tensor& s = teacher[j];
        if (logits[j] && s.dim() == 3 && s.size(0) == boxes.size(0) && s.size(1) == boxes.size(1) &&
            s.size(2) == 1) {
            return &s;
        }
    }
    return nullptr;
}

// Labelled: cross-entropy on output 0. Distillation: KL to the teacher's class distribution for
// a classifier ([N, K] output), else the mean squared error summed over every output.
torch::Tensor lossFor(const std::vector<torch::Tensor>& out, const Batch& batch,
                      const std::vector<torch::Tensor>* teacher, const std::vector<bool>& logits) {
    if (!teacher) return torch::nn::functional::cross_entropy(out[0], batch.labels);
    if (out.size() == 1 && out[0].dim() == 2) {
        return torch::nn::functional::kl_div(
            torch::log_softmax(out[0], 1), torch::softmax((*teacher)[0], 1),
            torch::nn::functional::KLDivFuncOptions().reduction(torch::kBatchMean));
    }
    if (out.size() == 1) return torch::mse_loss(out[0], (*teacher)[0]);
    // Several outputs (a detector's boxes in pixels and its scores as logits): each one's error
    // relative to the teacher's spread, or the largest numbers would be all that is learned
    // (BlazeFace distilled on plain MSE kept its boxes and lost every face score). Scores are
    // distilled as probabilities (binary cross-entropy with the teacher's as soft labels): as
    // logits, matching -266 against -46 on empty background outweighed the few anchors above 0
    // that are the faces.
    torch::Tensor loss = torch::zeros({});
    for (size_t i = 0; i < out.size(); ++i) {
        const torch::Tensor& t = (*teacher)[i];
        if (i < logits.size() && logits[i]) {
            // Soft-label binary cross-entropy (minus the teacher's own entropy, so 0 is a match),
            // each anchor weighted by 1 + N p_teacher^2: a face is one anchor of hundreds, and
            // unweighted the empty background's small errors outweighed it (the pruned
            // BlazeFace kept the face's anchor as its best but below the threshold). Squared,
            // because with N p the hundreds of background anchors at p ~ 0.01-0.1 together
            // weighed twenty times the face (messi5.jpg: sum p = 19.6 over 512 anchors).
            const torch::Tensor p = torch::sigmoid(t);
            const torch::Tensor bce =
                torch::nn::functional::binary_cross_entropy_with_logits(
                    out[i], p,
                    torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(
                        torch::kNone)) -
                torch::nn::functional::binary_cross_entropy_with_logits(
                    t, p,
                    torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(
                        torch::kNone));
            const torch::Tensor w = 1 + static_cast<double>(t.numel()) * p * p;
            loss = loss + (w * bce).sum() / w.sum();
        } else if (const torch::Tensor* score = scoresFor(*teacher, logits, t); score) {
            // A detector's boxes matter where the teacher sees something: each anchor's error
            // weighted by the teacher's probability there. Unweighted, the boxes regressed at
            // hundreds of empty anchors (meaningless, never drawn) outweighed the face's score,
            // and the distilled BlazeFace lost every face while its PSNR rose.
            const torch::Tensor p = torch::sigmoid(*score).reshape({t.size(0), t.size(1), 1});
            const torch::Tensor err = (out[i] - t).pow(2).mean(-1, /*keepdim=*/true);
            // Over (faces seen + pictures), so a batch without a face adds almost nothing
            // rather than its background's boxes at full weight; scaled by the spread of the
            // boxes where the teacher sees a face, so a box error counts in a face's units.
            const torch::Tensor mean = (p * t).sum() / (p.sum() * t.size(2) + 1e-6);
            const torch::Tensor spread =
                (p * (t - mean).pow(2)).sum() / (p.sum() * t.size(2) + 1e-6);
            loss = loss + (p * err).sum() / (p.sum() + static_cast<double>(t.size(0))) /
                              (spread.detach() + 1e-6);
        } else {
            loss = loss + torch::mse_loss(out[i], t) / (t.var(/*unbiased=*/false) + 1e-6);
        }
    }
    return loss;
}

int threadCount(int requested) {
    if (requested > 0) return requested;
    return std::max(1u, std::thread::hardware_concurrency());
}

// ---- 2. The plan's projection and masks ------------------------------------------------------

// What the plan does to each prunable layer, from prune::applyPlan on the current weights: the
// projected weights and the mask (all ones for layers the plan keeps dense).
struct Projection {
    std::vector<torch::Tensor> weights, masks;  // per layer, [out][in/g][kh][kw]
    std::vector<bool> pruned;
    std::vector<prune::LayerPruning> layers;  // how each layer was pruned (scheme, pattern set)
};

// Z = project(W + shift): the same projection one-shot pruning uses (no second copy of the
// schemes here). `shift` may be empty (then it projects W itself).
Result<Projection> projectLayers(IrModule& module, const prune::PruningPlan& plan,
                                 const std::vector<torch::Tensor>& shift) {
    PL_TRY_ASSIGN(Graph g, module.toGraph());
    const std::vector<Layer>& layers = module.layers();
    if (!shift.empty()) {
        for (size_t i = 0; i < layers.size(); ++i) {
            if (!shift[i].defined()) continue;
            torch::Tensor w = module.layerWeight(i).detach() + shift[i];
            PL_TRY(prune::setLayerWeights(g, layers[i], fromTorch(w)));
        }
    }
    PL_TRY_ASSIGN(prune::PrunedModel pm, prune::applyPlan(g, plan));
    Projection p;
    for (const prune::LayerPruning& lp : pm.layers) {
        p.weights.push_back(toTorch(lp.projection.weights));
        p.masks.push_back(toTorch(lp.projection.mask).to(torch::kFloat32));
        p.pruned.push_back(lp.how != prune::LayerPruning::How::Dense);
    }
    p.layers = std::move(pm.layers);
    if (p.weights.size() != layers.size()) {
        return makeError(ErrorCode::Internal, "the plan's layers and the module's disagree");
    }
    return p;
}

// kept / total over the layers the plan prunes, counting nonzero weights.
double currentDensity(IrModule& module, const std::vector<bool>& pruned) {
    double kept = 0, total = 0;
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < pruned.size(); ++i) {
        if (!pruned[i]) continue;
        torch::Tensor w = module.layerWeight(i);
        kept += static_cast<double>(w.ne(0).sum().item<int64_t>());
        total += static_cast<double>(w.numel());
    }
    return total > 0 ? kept / total : 1.0;
}

// ---- 3. Checkpoints --------------------------------------------------------------------------

// Everything a resumed run needs to take exactly the steps an uninterrupted one would.
struct RunState {
    int epoch = 0;       // the epoch in progress
    int64_t cursor = 0;  // batches of it already done
    int64_t step = 0;    // optimiser steps over the whole run
    double rho = 0;
    int admmIteration = 0;
    int gradualDone = 0;  // gradual pruning steps applied
    bool hardPruned = false;
    std::vector<torch::Tensor> z, u, masks;  // per layer; undefined where not used
    std::vector<IterationRecord> history;
    double lossSum = 0;  // since the last epoch row
    int64_t lossCount = 0;
    double updateLossSum = 0;  // since the last ADMM row
    int64_t updateLossCount = 0;
};

constexpr int64_t kCheckpointVersion = 1;

torch::Tensor scalar(double v) {
    return torch::tensor({v}, torch::kFloat64);
}

// Records are small: flatten each to numbers (phase as an index) rather than adding a format.
const char* const kPhases[] = {"train", "admm", "fine-tune", "gradual", "one-shot"};

int phaseIndex(const std::string& phase) {
    for (int i = 0; i < 5; ++i)
        if (phase == kPhases[i]) return i;
    return 0;
}

void writeHistory(torch::serialize::OutputArchive& a, const std::vector<IterationRecord>& h) {
    std::vector<double> flat;
    for (const IterationRecord& r : h) {
        flat.insert(flat.end(),
                    {static_cast<double>(phaseIndex(r.phase)), static_cast<double>(r.epoch),
                     static_cast<double>(r.step), static_cast<double>(r.admmIteration), r.loss,
                     r.metric, r.rho, r.density, static_cast<double>(r.primal.size())});
        flat.insert(flat.end(), r.primal.begin(), r.primal.end());
        flat.insert(flat.end(), r.dual.begin(), r.dual.end());
    }
    a.write("history", torch::tensor(flat, torch::kFloat64));
}

std::vector<IterationRecord> readHistory(torch::serialize::InputArchive& a) {
    torch::Tensor t;
    a.read("history", t);
    std::vector<IterationRecord> h;
    const double* p = t.data_ptr<double>();
    int64_t n = t.numel(), i = 0;
    while (i + 9 <= n) {
        IterationRecord r;
        r.phase = kPhases[std::clamp(static_cast<int>(p[i]), 0, 4)];
        r.epoch = static_cast<int>(p[i + 1]);
        r.step = static_cast<int64_t>(p[i + 2]);
        r.admmIteration = static_cast<int>(p[i + 3]);
        r.loss = p[i + 4], r.metric = p[i + 5], r.rho = p[i + 6], r.density = p[i + 7];
        auto layers = static_cast<int64_t>(p[i + 8]);
        i += 9;
        if (layers < 0 || i + 2 * layers > n) break;
        r.primal.assign(p + i, p + i + layers);
        r.dual.assign(p + i + layers, p + i + 2 * layers);
        i += 2 * layers;
        h.push_back(std::move(r));
    }
    return h;
}

void writeTensors(torch::serialize::OutputArchive& a, const std::string& prefix,
                  const std::vector<torch::Tensor>& ts) {
    for (size_t i = 0; i < ts.size(); ++i)
        if (ts[i].defined()) a.write(prefix + std::to_string(i), ts[i]);
}

void readTensors(torch::serialize::InputArchive& a, const std::string& prefix, size_t n,
                 std::vector<torch::Tensor>& ts) {
    ts.assign(n, torch::Tensor());
    for (size_t i = 0; i < n; ++i) {
        torch::Tensor t;
        if (a.try_read(prefix + std::to_string(i), t)) ts[i] = t;
    }
}

// Written to a temporary file, flushed to disk, then renamed over the old checkpoint: a crash
// or SIGKILL at any moment leaves either the previous checkpoint or the new one, never half.
Status saveCheckpoint(const std::string& path, const std::string& fingerprint, IrModule& module,
                      torch::optim::Optimizer& optimizer, const RunState& s) {
    try {
        torch::serialize::OutputArchive a;
        a.write("version", torch::tensor({kCheckpointVersion}, torch::kInt64));
        std::vector<int64_t> fp(fingerprint.begin(), fingerprint.end());
        a.write("fingerprint", torch::tensor(fp, torch::kInt64));
        a.write("epoch", scalar(s.epoch));
        a.write("cursor", scalar(static_cast<double>(s.cursor)));
        a.write("step", scalar(static_cast<double>(s.step)));
        a.write("rho", scalar(s.rho));
        a.write("admm_iteration", scalar(s.admmIteration));
        a.write("gradual_done", scalar(s.gradualDone));
        a.write("hard_pruned", scalar(s.hardPruned ? 1 : 0));
        a.write("loss_sum", scalar(s.lossSum));
        a.write("loss_count", scalar(static_cast<double>(s.lossCount)));
        a.write("update_loss_sum", scalar(s.updateLossSum));
        a.write("update_loss_count", scalar(static_cast<double>(s.updateLossCount)));
        for (const auto& item : module.named_parameters()) a.write("p." + item.key(), item.value());
        for (const auto& item : module.named_buffers()) a.write("b." + item.key(), item.value());
        writeTensors(a, "z.", s.z);
        writeTensors(a, "u.", s.u);
        writeTensors(a, "m.", s.masks);
        writeHistory(a, s.history);
        torch::serialize::OutputArchive opt;
        optimizer.save(opt);
        a.write("optimizer", opt);
        a.write("rng", at::detail::getDefaultCPUGenerator().get_state());

        std::string tmp = path + ".tmp";
        a.save_to(tmp);
        int fd = ::open(tmp.c_str(), O_RDONLY);
        if (fd < 0 || ::fsync(fd) != 0) {
            if (fd >= 0) ::close(fd);
            return makeError(ErrorCode::Io, "cannot flush the checkpoint to disk", tmp);
        }
        ::close(fd);
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec)
            return makeError(ErrorCode::Io, "cannot replace the checkpoint: " + ec.message(), path);
        std::string dir = std::filesystem::path(path).parent_path().string();
        int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            ::fsync(dfd);  // the rename itself reaches the disk
            ::close(dfd);
        }
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Io, std::string("cannot write the checkpoint: ") + e.what(),
                         path);
    }
    return {};
}

double readScalar(torch::serialize::InputArchive& a, const char* key) {
    torch::Tensor t;
    a.read(key, t);
    return t.item<double>();
}

Status loadCheckpoint(const std::string& path, const std::string& fingerprint, IrModule& module,
                      torch::optim::Optimizer& optimizer, RunState& s) {
    try {
        torch::serialize::InputArchive a;
        a.load_from(path);
        torch::Tensor version, fp;
        a.read("version", version);
        if (version.item<int64_t>() != kCheckpointVersion) {
            return makeError(ErrorCode::Unsupported,
                             "checkpoint version " + std::to_string(version.item<int64_t>()), path);
        }
        a.read("fingerprint", fp);
        std::string got;
        for (int64_t i = 0; i < fp.numel(); ++i)
            got.push_back(static_cast<char>(fp[i].item<int64_t>()));
        if (got != fingerprint) {
            return makeError(ErrorCode::InvalidArgument,
                             "the checkpoint was written for another model, data, plan or options "
                             "(resume with the same ones, or start afresh)",
                             path);
        }
        s.epoch = static_cast<int>(readScalar(a, "epoch"));
        s.cursor = static_cast<int64_t>(readScalar(a, "cursor"));
        s.step = static_cast<int64_t>(readScalar(a, "step"));
        s.rho = readScalar(a, "rho");
        s.admmIteration = static_cast<int>(readScalar(a, "admm_iteration"));
        s.gradualDone = static_cast<int>(readScalar(a, "gradual_done"));
        s.hardPruned = readScalar(a, "hard_pruned") != 0;
        s.lossSum = readScalar(a, "loss_sum");
        s.lossCount = static_cast<int64_t>(readScalar(a, "loss_count"));
        s.updateLossSum = readScalar(a, "update_loss_sum");
        s.updateLossCount = static_cast<int64_t>(readScalar(a, "update_loss_count"));
        torch::NoGradGuard noGrad;
        for (auto& item : module.named_parameters()) {
            torch::Tensor t;
            a.read("p." + item.key(), t);
            item.value().copy_(t);
        }
        for (auto& item : module.named_buffers()) {
            torch::Tensor t;
            a.read("b." + item.key(), t);
            item.value().copy_(t);
        }
        size_t n = module.layers().size();
        readTensors(a, "z.", n, s.z);
        readTensors(a, "u.", n, s.u);
        readTensors(a, "m.", n, s.masks);
        s.history = readHistory(a);
        torch::serialize::InputArchive opt;
        a.read("optimizer", opt);
        optimizer.load(opt);
        torch::Tensor rng;
        a.read("rng", rng);
        at::Generator generator = at::detail::getDefaultCPUGenerator();
        generator.set_state(rng);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("cannot read the checkpoint: ") + e.what(),
                         path);
    }
    return {};
}

// ---- 4. The training loop --------------------------------------------------------------------

struct Session {
    const Dataset& data;
    const TrainOptions& options;
    std::shared_ptr<IrModule> student;
    std::shared_ptr<IrModule> teacher;  // distillation and PSNR: the dense model, frozen
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    int64_t stepsPerEpoch = 0;
    std::vector<bool> logits;  // distillation: outputs that are yes/no logits
};

Result<double> metricOf(Session& s) {
    if (!s.options.test) return 0.0;
    PL_TRY_ASSIGN(Graph g, s.student->toGraph());
    if (s.teacher) {
        PL_TRY_ASSIGN(Graph t, s.teacher->toGraph());
        return evaluateAgreementPsnr(g, t, *s.options.test, 8, s.options.threads);
    }
    return evaluateAccuracy(g, *s.options.test, 256, s.options.threads);
}

Status setUp(Session& s, const Graph& model, bool distill, const Graph* teacherGraph) {
    torch::set_num_threads(threadCount(s.options.threads));
    torch::manual_seed(s.options.seed);
    if (s.data.size() == 0)
        return makeError(ErrorCode::InvalidArgument, "the training data is empty");
    if (!distill && s.data.classNames().empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         s.data.describe() + " has no labels: use label-free distillation");
    }
    if (s.options.batchSize < 1 || s.options.epochs < 1) {
        return makeError(ErrorCode::InvalidArgument, "epochs and batch size must be at least 1");
    }
    PL_TRY_ASSIGN(s.student, IrModule::create(model));
    if (teacherGraph) {
        PL_TRY_ASSIGN(s.teacher, IrModule::create(*teacherGraph));
        s.teacher->eval();
        for (auto& p : s.teacher->parameters()) p.set_requires_grad(false);
    }
    if (s.options.momentum < 0 || s.options.momentum >= 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "momentum must be in [0, 1), not " + std::to_string(s.options.momentum));
    }
    if (s.options.momentum > 0) {
        s.optimizer = std::make_unique<torch::optim::SGD>(
            s.student->parameters(), torch::optim::SGDOptions(s.options.learningRate)
                                         .momentum(s.options.momentum)
                                         .weight_decay(s.options.weightDecay));
    } else {
        s.optimizer = std::make_unique<torch::optim::Adam>(
            s.student->parameters(),
            torch::optim::AdamOptions(s.options.learningRate).weight_decay(s.options.weightDecay));
    }
    int64_t batches =
        (static_cast<int64_t>(s.data.size()) + s.options.batchSize - 1) / s.options.batchSize;
    s.stepsPerEpoch =
        s.options.maxStepsPerEpoch > 0
            ? std::min<int64_t>(batches, static_cast<int64_t>(s.options.maxStepsPerEpoch))
            : batches;
    return {};
}

// Hooks that make one loop serve every method.
struct Hooks {
    std::function<std::string(const RunState&)> phase;          // of the epoch in progress
    std::function<torch::Tensor(RunState&)> penalty;            // added to the loss
    std::function<Status(RunState&, bool epochEnd)> afterStep;  // Z/U updates, pruning
    std::function<void(RunState&)> applyMasks;                  // after each step
    std::function<double(const RunState&)> rho;
    std::function<double()> density;
};

Status addRecord(Session& s, RunState& st, const Hooks& h, int admmIteration,
                 std::vector<double> primal = {}, std::vector<double> dual = {}) {
    IterationRecord r;
    r.phase = h.phase(st);
    r.epoch = st.epoch;
    r.step = st.step;
    r.admmIteration = admmIteration;
    // ADMM rows average the loss since the previous update, epoch rows over the epoch.
    const bool update = admmIteration >= 0;
    double sum = update ? st.updateLossSum : st.lossSum;
    int64_t count = update ? st.updateLossCount : st.lossCount;
    r.loss = count ? sum / static_cast<double>(count) : 0;
    PL_TRY_ASSIGN(r.metric, metricOf(s));
    r.rho = h.rho ? h.rho(st) : 0;
    r.primal = std::move(primal);
    r.dual = std::move(dual);
    r.density = h.density ? h.density() : 1;
    if (s.options.onRecord) s.options.onRecord(r);
    st.history.push_back(std::move(r));
    if (update) {
        st.updateLossSum = 0, st.updateLossCount = 0;
    } else {
        st.lossSum = 0, st.lossCount = 0;
    }
    return {};
}

Result<TrainResult> runLoop(Session& s, RunState& st, const Hooks& h,
                            const std::string& fingerprint) {
    const TrainOptions& o = s.options;
    const auto start = std::chrono::steady_clock::now();
    const int64_t totalSteps = s.stepsPerEpoch * o.epochs;
    auto checkpoint = [&]() -> Status {
        if (o.checkpointPath.empty()) return {};
        return saveCheckpoint(o.checkpointPath, fingerprint, *s.student, *s.optimizer, st);
    };
    for (; st.epoch < o.epochs; ++st.epoch, st.cursor = 0) {
        std::vector<uint32_t> order = epochOrder(s.data.size(), o.seed, st.epoch);
        for (; st.cursor < s.stepsPerEpoch;) {
            if (o.maxSteps > 0 && st.step >= o.maxSteps) break;
            if (o.cancel && o.cancel->load()) {
                PL_TRY(checkpoint());
                return makeError(
                    ErrorCode::Cancelled,
                    "training stopped at step " + std::to_string(st.step) +
                        (o.checkpointPath.empty() ? std::string()
                                                  : "; resume from " + o.checkpointPath));
            }
            PL_TRY_ASSIGN(Batch batch,
                          makeBatch(s.data, order, static_cast<size_t>(st.cursor) * o.batchSize,
                                    static_cast<size_t>(o.batchSize)));
            s.student->train();
            std::vector<torch::Tensor> teacherOut;
            if (s.teacher) {
                torch::NoGradGuard noGrad;
                teacherOut = s.teacher->forward({batch.inputs});
            }
            std::vector<torch::Tensor> out = s.student->forward({batch.inputs});
            torch::Tensor loss = lossFor(out, batch, s.teacher ? &teacherOut : nullptr, s.logits);
            torch::Tensor total = loss;
            if (h.penalty) {
                torch::Tensor p = h.penalty(st);
                if (p.defined()) total = total + p;
            }
            double lr = o.learningRate;
            if (o.learningRateFinal >= 0 && totalSteps > 1) {
                const double t = static_cast<double>(st.step) / static_cast<double>(totalSteps - 1);
                lr = o.learningRateFinal +
                     0.5 * (o.learningRate - o.learningRateFinal) * (1 + std::cos(M_PI * t));
                for (auto& group : s.optimizer->param_groups()) group.options().set_lr(lr);
            }
            s.optimizer->zero_grad();
            total.backward();
            s.optimizer->step();
            if (h.applyMasks) h.applyMasks(st);
            ++st.cursor, ++st.step;
            double lossValue = loss.item<double>();
            if (!std::isfinite(lossValue)) {
                return makeError(ErrorCode::InvalidArgument,
                                 "the loss became " + std::to_string(lossValue) + " at step " +
                                     std::to_string(st.step) + ": lower the learning rate or rho");
            }
            st.lossSum += lossValue, ++st.lossCount;
            st.updateLossSum += lossValue, ++st.updateLossCount;
            bool epochEnd = st.cursor == s.stepsPerEpoch;
            if (h.afterStep) PL_TRY(h.afterStep(st, epochEnd));
            if (o.progress) {
                TrainProgress p;
                p.phase = h.phase(st);
                p.epoch = st.epoch, p.epochs = o.epochs;
                p.step = st.step, p.steps = totalSteps;
                p.loss = lossValue;
                p.learningRate = lr;
                p.secondsElapsed =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                o.progress(p);
            }
            if (epochEnd) {
                PL_TRY(addRecord(s, st, h, -1));
                // The next epoch starts at cursor 0: save it that way.
                ++st.epoch, st.cursor = 0;
                Status saved = checkpoint();
                --st.epoch, st.cursor = s.stepsPerEpoch;
                PL_TRY(saved);
            } else if (o.checkpointEvery > 0 && st.step % o.checkpointEvery == 0) {
                PL_TRY(checkpoint());
            }
        }
        if (o.maxSteps > 0 && st.step >= o.maxSteps) break;
    }
    TrainResult r;
    PL_TRY_ASSIGN(r.model, s.student->toGraph());
    r.history = st.history;
    r.metric = r.history.empty() ? 0 : r.history.back().metric;
    r.steps = st.step;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

// A short text of everything that decides the run, so a checkpoint is never resumed into a
// different one.
// FNV-1a over every float constant of the graph: the starting weights, so a checkpoint of one
// model is never resumed into another.
uint64_t weightsHash(const Graph& g) {
    uint64_t h = 1469598103934665603ull;
    for (const Value& v : g.values) {
        if (!v.isConstant() || v.dtype != DataType::Float32) continue;
        const auto* bytes = reinterpret_cast<const uint8_t*>(v.constant.data<float>());
        for (size_t i = 0; i < v.constant.elements() * sizeof(float); ++i) {
            h = (h ^ bytes[i]) * 1099511628211ull;
        }
    }
    return h;
}

std::string fingerprintOf(const std::string& method, const prune::PruningPlan* plan,
                          const TrainOptions& o, const RetrainOptions* r, const Dataset& data,
                          const Graph& model) {
    const size_t dataSize = data.size();
    char text[512];
    std::snprintf(text, sizeof text, "%s e%d b%d lr%g>%g wd%g s%llu m%zu n%zu", method.c_str(),
                  o.epochs, o.batchSize, o.learningRate, o.learningRateFinal, o.weightDecay,
                  static_cast<unsigned long long>(o.seed), o.maxStepsPerEpoch, dataSize);
    std::string fp = text;
    // Only when set: checkpoints written before SGD existed stay valid.
    if (o.momentum > 0) fp += " sgd" + std::to_string(o.momentum);
    if (r) {
        std::snprintf(text, sizeof text, " f%d u%d r%g x%g %g p%d g%d d%d", r->fineTuneEpochs,
                      r->admmUpdatesPerEpoch, r->rho, r->rhoMultiplier, r->rhoMax, r->admmStages,
                      r->gradualSteps, r->distill ? 1 : 0);
        fp += text;
    }
    if (plan) fp += " " + std::to_string(std::hash<std::string>{}(prune::planToJson(*plan)));
    fp += " w" + std::to_string(weightsHash(model)) + " " + data.describe();
    return fp;
}

}  // namespace

Result<TrainResult> trainDense(const Graph& model, const Dataset& data,
                               const TrainOptions& options) {
    Session s{data, options, nullptr, nullptr, nullptr};
    PL_TRY(setUp(s, model, false, nullptr));
    RunState st;
    Hooks h;
    h.phase = [](const RunState&) { return std::string("train"); };
    std::string fp = fingerprintOf("train", nullptr, options, nullptr, data, model);
    return runLoop(s, st, h, fp);
}

// When ADMM updates Z and U: after optimiser step `step` (1-based, over the run), update k
// (1-based) of `updates` in stage `stage` (0-based).
struct AdmmUpdate {
    int64_t step = 0;
    int stage = 0, k = 0, updates = 0;
};

struct AdmmSetup {
    int stages = 1;
    prune::PruningPlan frozen;                   // the plan with its pattern sets fixed
    std::vector<prune::PruningPlan> stagePlans;  // per stage; the last is `frozen`
    std::vector<double> multiplier;              // rho's growth per update, per stage
    std::vector<AdmmUpdate> schedule;            // in step order
    std::vector<double> scale;                   // per layer: mean squared dense weight
};

Result<AdmmSetup> admmSetup(IrModule& m, const prune::PruningPlan& plan, const Projection& first,
                            int64_t stepsPerEpoch, int mainEpochs, const RetrainOptions& ro) {
    AdmmSetup a;
    a.stages = ro.admmStages > 0 ? ro.admmStages : autoStages(plan);
    a.frozen = freezePatternSets(plan, first.layers);
    const int64_t steps = stepsPerEpoch * mainEpochs;
    if (steps < a.stages) {
        return makeError(ErrorCode::InvalidArgument,
                         "ADMM in " + std::to_string(a.stages) +
                             " stages needs at least as many "
                             "optimiser steps, the W-step epochs have " +
                             std::to_string(steps));
    }
    for (int stage = 0; stage < a.stages; ++stage) {
        a.stagePlans.push_back(stagePlan(a.frozen, stage + 1, a.stages));
        const int64_t begin = steps * stage / a.stages, end = steps * (stage + 1) / a.stages;
        const int64_t length = end - begin;
        int64_t updates = ro.admmUpdatesPerEpoch > 0
                              ? std::llround(static_cast<double>(ro.admmUpdatesPerEpoch * length) /
                                             static_cast<double>(stepsPerEpoch))
                              : autoUpdates(length);
        updates = std::clamp<int64_t>(updates, 1, length);
        for (int64_t k = 1; k <= updates; ++k) {
            a.schedule.push_back({begin + length * k / updates, stage, static_cast<int>(k),
                                  static_cast<int>(updates)});
        }
        // Automatic growth reaches rhoMax at the stage's last update.
        a.multiplier.push_back(
            ro.rhoMultiplier > 0
                ? ro.rhoMultiplier
                : std::pow(ro.rhoMax / ro.rho,
                           1.0 / static_cast<double>(std::max<int64_t>(1, updates - 1))));
    }
    // rho is per unit of each layer's own weights: the same rho pulls a layer of weights ~0.01
    // as hard as one of weights ~0.5, which an absolute rho cannot (it was either too weak for
    // the small-weight layers or overpowered the large ones).
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < m.layers().size(); ++i) {
        const double ms = m.layerWeight(i).pow(2).mean().item<double>();
        a.scale.push_back(ms > 0 ? ms : 1.0);
    }
    return a;
}

// BatchNormalization folded into the conv before it, the old constants dropped.
static Status foldBatchNorm(Graph& g) {
    if (internal::foldBatchNormalization(g) == 0) return {};
    g.removeDeadCode();
    PL_TRY(g.topoSort());
    return verifyGraph(g);
}

Result<TrainResult> retrain(const Graph& denseIn, const prune::PruningPlan& plan,
                            const Dataset& data, const TrainOptions& options,
                            const RetrainOptions& ro, bool resume) {
    // BatchNormalization trains with batch statistics when the data is the model's own kind
    // (labelled): after pruning removes most of a layer's weights, re-normalising its outputs is
    // what lets the network recover (folded, a 9x pattern-pruned vgg-small falls to chance and
    // ADMM cannot pull it back). Distilling on unrelated frames would corrupt the statistics,
    // so there it is folded first and the folded weights retrain.
    Graph folded;
    if (ro.distill) {
        folded = denseIn;
        PL_TRY(foldBatchNorm(folded));
    }
    const Graph& dense = ro.distill ? folded : denseIn;
    PL_TRY(prune::validatePlanForGraph(plan, dense));
    if (ro.fineTuneEpochs < 0 || ro.fineTuneEpochs > options.epochs ||
        (ro.method != RetrainMethod::OneShot && ro.fineTuneEpochs >= options.epochs)) {
        return makeError(ErrorCode::InvalidArgument,
                         "fine-tune epochs must leave at least one epoch for " +
                             std::string(retrainMethodName(ro.method)) + " (epochs " +
                             std::to_string(options.epochs) + ", fine-tune " +
                             std::to_string(ro.fineTuneEpochs) + ")");
    }
    if (ro.admmUpdatesPerEpoch < 0 || ro.admmStages < 0 || ro.gradualSteps < 1 || !(ro.rho > 0) ||
        !(ro.rhoMultiplier == 0 || ro.rhoMultiplier >= 1) || !(ro.rhoMax >= ro.rho)) {
        return makeError(ErrorCode::InvalidArgument,
                         "ADMM needs updates per epoch >= 0 (0: automatic), stages >= 0, rho > 0, "
                         "multiplier 0 (automatic) or >= 1, rho max >= rho; gradual needs steps "
                         ">= 1");
    }
    Graph started;
    if (ro.start) {
        auto moved = prune::transplantWeights(*ro.start, dense);
        if (!moved.ok()) return moved.error().within("the weights to start from");
        started = std::move(*moved);
    }
    const Graph& student = ro.start ? started : dense;
    Session s{data, options, nullptr, nullptr, nullptr};
    s.logits = ro.logitOutputs;
    const bool needTeacher = ro.distill;
    PL_TRY(setUp(s, student, ro.distill, needTeacher ? &dense : nullptr));
    IrModule& m = *s.student;
    const size_t n = m.layers().size();
    const int mainEpochs = options.epochs - ro.fineTuneEpochs;
    const std::string fp =
        fingerprintOf(retrainMethodName(ro.method), &plan, options, &ro, data, student);

    RunState st;
    st.rho = ro.rho;
    st.z.assign(n, torch::Tensor());
    st.u.assign(n, torch::Tensor());
    st.masks.assign(n, torch::Tensor());
    // Which layers the plan prunes (and, for one-shot, the masks) come from one projection of
    // the starting weights; ADMM's pattern sets and per-layer scales come from it too, before a
    // resume replaces the weights, so a resumed run uses the same ones.
    PL_TRY_ASSIGN(Projection first, projectLayers(m, plan, {}));
    std::vector<bool> pruned = first.pruned;
    AdmmSetup admm;
    if (ro.method == RetrainMethod::Admm) {
        PL_TRY_ASSIGN(admm, admmSetup(m, plan, first, s.stepsPerEpoch, mainEpochs, ro));
    }
    bool resumed = false;
    if (resume) {
        // A mistyped path must not quietly restart a long run from the beginning.
        if (options.checkpointPath.empty() || !std::filesystem::exists(options.checkpointPath)) {
            return makeError(ErrorCode::NotFound, "no checkpoint to resume from",
                             options.checkpointPath);
        }
        PL_TRY(loadCheckpoint(options.checkpointPath, fp, m, *s.optimizer, st));
        resumed = true;
        // Live charts of a resumed run start from the history the checkpoint carries.
        if (options.onRecord)
            for (const IterationRecord& r : st.history) options.onRecord(r);
    }

    Hooks h;
    h.density = [&] { return currentDensity(m, pruned); };
    auto maskNow = [&](RunState& state) {
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < n; ++i) {
            if (state.masks[i].defined()) m.setLayerWeight(i, m.layerWeight(i) * state.masks[i]);
        }
    };
    h.applyMasks = maskNow;
    auto hardPrune = [&](RunState& state, const prune::PruningPlan& p) -> Status {
        PL_TRY_ASSIGN(Projection proj, projectLayers(m, p, {}));
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < n; ++i) {
            if (!proj.pruned[i]) continue;
            m.setLayerWeight(i, proj.weights[i]);
            state.masks[i] = proj.masks[i];
        }
        return {};
    };

    // ADMM stage `stage` (0-based) starts: Z = its projection of W, U = 0, rho = rho0.
    auto startStage = [&](RunState& x, int stage) -> Status {
        PL_TRY_ASSIGN(Projection z, projectLayers(m, admm.stagePlans[stage], {}));
        for (size_t i = 0; i < n; ++i) {
            if (!pruned[i]) continue;
            x.z[i] = z.weights[i];
            x.u[i] = torch::zeros_like(z.weights[i]);
        }
        x.rho = ro.rho;
        return {};
    };

    switch (ro.method) {
        case RetrainMethod::OneShot: {
            h.phase = [](const RunState&) { return std::string("fine-tune"); };
            if (!resumed) PL_TRY(hardPrune(st, plan));
            break;
        }
        case RetrainMethod::Gradual: {
            // Pruning steps at evenly spaced optimiser steps of the first `mainEpochs`; the
            // cubic ramp prunes fast at first, when the network can still recover easily.
            const int64_t span = s.stepsPerEpoch * mainEpochs;
            h.phase = [=](const RunState& x) {
                return std::string(x.epoch < mainEpochs ? "gradual" : "fine-tune");
            };
            h.afterStep = [&, span](RunState& x, bool) -> Status {
                int k = x.gradualDone + 1;
                if (k > ro.gradualSteps) return {};
                int64_t due = span * k / ro.gradualSteps;
                if (x.step < due) return {};
                double t = static_cast<double>(k) / ro.gradualSteps;
                double fraction = 1 - std::pow(1 - t, 3);
                PL_TRY(hardPrune(x, k == ro.gradualSteps ? plan : scaledPlan(plan, fraction)));
                x.gradualDone = k;
                return {};
            };
            break;
        }
        case RetrainMethod::Admm: {
            // The recipe (ADMM-NN, PatDNN; docs/ADMM.md): stages of W-steps long enough to reach
            // Z, rho per layer relative to its weights and grown to rhoMax within each stage,
            // the pattern sets fixed at the first Z-step, then hard prune and masked fine-tune.
            h.phase = [=](const RunState& x) {
                return std::string(x.epoch < mainEpochs ? "admm" : "fine-tune");
            };
            h.rho = [](const RunState& x) { return x.rho; };
            h.penalty = [&](RunState& x) -> torch::Tensor {
                if (x.hardPruned) return torch::Tensor();
                torch::Tensor p = torch::zeros({});
                for (size_t i = 0; i < n; ++i) {
                    if (!x.z[i].defined()) continue;
                    // The pull acts on the weights Z removes. Those Z keeps are free between
                    // updates (their Z would follow them: Z = W + U and U = 0 there); anchored,
                    // they could not make up for the removed ones, and a rho large enough to
                    // carry W to Z froze the network (LeNet-5 98%: 0.70 after the hard prune).
                    torch::Tensor d = (m.layerWeight(i) - x.z[i] + x.u[i]) * (x.z[i] == 0);
                    p = p + d.pow(2).sum() / admm.scale[i];
                }
                return p * (x.rho / 2);
            };
            h.afterStep = [&](RunState& x, bool epochEnd) -> Status {
                if (x.hardPruned) return {};
                auto due = std::lower_bound(
                    admm.schedule.begin(), admm.schedule.end(), x.step,
                    [](const AdmmUpdate& u, int64_t step) { return u.step < step; });
                if (due == admm.schedule.end() || due->step != x.step) return {};
                const AdmmUpdate up = *due;
                PL_TRY_ASSIGN(Projection z, projectLayers(m, admm.stagePlans[up.stage], x.u));
                std::vector<double> primal(n, 0.0), dual(n, 0.0);
                torch::NoGradGuard noGrad;
                for (size_t i = 0; i < n; ++i) {
                    if (!x.z[i].defined()) continue;
                    torch::Tensor w = m.layerWeight(i).detach();
                    dual[i] = (z.weights[i] - x.z[i]).norm().item<double>();
                    x.z[i] = z.weights[i];
                    x.u[i] = x.u[i] + w - x.z[i];
                    primal[i] = (w - x.z[i]).norm().item<double>();
                    if (options.onAdmmUpdate && static_cast<int>(i) == options.watchLayer) {
                        options.onAdmmUpdate({x.admmIteration, i, fromTorch(w), fromTorch(x.z[i]),
                                              fromTorch(x.u[i])});
                    }
                }
                PL_TRY(addRecord(s, x, h, x.admmIteration++, primal, dual));
                if (up.k < up.updates) {
                    // rho grows; the scaled dual U = Y / rho shrinks with it, so the multiplier
                    // Y it stands for is unchanged (Boyd et al., 3.4.1).
                    const double next = std::min(x.rho * admm.multiplier[up.stage], ro.rhoMax);
                    for (size_t i = 0; i < n; ++i)
                        if (x.u[i].defined()) x.u[i] = x.u[i] * (x.rho / next);
                    x.rho = next;
                } else if (up.stage + 1 < admm.stages) {
                    // The stage ends pruned to its own rate; the next starts afresh from there.
                    PL_TRY_ASSIGN(Projection done, projectLayers(m, admm.stagePlans[up.stage], {}));
                    for (size_t i = 0; i < n; ++i)
                        if (pruned[i]) m.setLayerWeight(i, done.weights[i]);
                    PL_TRY(startStage(x, up.stage + 1));
                } else {
                    // The last update ends the W-steps: W = project(W), masks fixed.
                    PL_TRY(hardPrune(x, admm.frozen));
                    x.hardPruned = true;
                    x.z.assign(n, torch::Tensor());
                    x.u.assign(n, torch::Tensor());
                }
                if (!options.checkpointPath.empty() && !epochEnd) {
                    PL_TRY(saveCheckpoint(options.checkpointPath, fp, m, *s.optimizer, x));
                }
                return {};
            };
            if (!resumed) PL_TRY(startStage(st, 0));
            break;
        }
    }
    PL_TRY_ASSIGN(TrainResult result, runLoop(s, st, h, fp));
    if (options.maxSteps > 0 && result.steps >= options.maxSteps) return result;
    // Folded back, as imported models have it: BN scales whole output channels, so every zero
    // and pattern the plan made stays as it is.
    PL_TRY(foldBatchNorm(result.model));
    // The result satisfies the plan exactly: masks held through fine-tuning, and one last
    // projection guards against a weight that drifted (it changes nothing when masks held).
    PL_TRY_ASSIGN(
        prune::PrunedModel final,
        prune::applyPlan(result.model, ro.method == RetrainMethod::Admm ? admm.frozen : plan));
    result.model = std::move(final.graph);
    return result;
}

// ---- 5. Evaluation ---------------------------------------------------------------------------

Result<double> evaluateAccuracy(const Graph& model, const Dataset& data, int batchSize,
                                int threads) {
    torch::set_num_threads(threadCount(threads));
    if (data.size() == 0) return makeError(ErrorCode::InvalidArgument, "the test data is empty");
    PL_TRY_ASSIGN(auto module, IrModule::create(model));
    module->eval();
    torch::NoGradGuard noGrad;
    std::vector<uint32_t> order(data.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    int64_t correct = 0;
    for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batchSize)) {
        PL_TRY_ASSIGN(Batch batch, makeBatch(data, order, b, static_cast<size_t>(batchSize)));
        if (!batch.labels.defined()) {
            return makeError(ErrorCode::InvalidArgument,
                             data.describe() + " has no labels to measure accuracy with");
        }
        torch::Tensor out = module->forward({batch.inputs})[0];
        correct += out.argmax(1).eq(batch.labels).sum().item<int64_t>();
    }
    return static_cast<double>(correct) / static_cast<double>(data.size());
}

Result<double> evaluateAgreementPsnr(const Graph& student, const Graph& teacher,
                                     const Dataset& data, int batchSize, int threads) {
    torch::set_num_threads(threadCount(threads));
    if (data.size() == 0) return makeError(ErrorCode::InvalidArgument, "the test data is empty");
    PL_TRY_ASSIGN(auto a, IrModule::create(student));
    PL_TRY_ASSIGN(auto b, IrModule::create(teacher));
    a->eval(), b->eval();
    torch::NoGradGuard noGrad;
    std::vector<uint32_t> order(data.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    double squared = 0, count = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batchSize)) {
        PL_TRY_ASSIGN(Batch batch, makeBatch(data, order, i, static_cast<size_t>(batchSize)));
        std::vector<torch::Tensor> x = a->forward({batch.inputs}), y = b->forward({batch.inputs});
        for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
            squared += (x[k] - y[k]).pow(2).sum().item<double>();
            count += static_cast<double>(y[k].numel());
            lo = std::min(lo, y[k].min().item<double>());
            hi = std::max(hi, y[k].max().item<double>());
        }
    }
    double mse = squared / std::max(1.0, count), peak = std::max(1e-12, hi - lo);
    if (mse == 0) return INFINITY;
    return 10 * std::log10(peak * peak / mse);
}

}  // namespace prunelab::engine::train

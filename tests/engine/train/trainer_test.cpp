// The trainer on tiny real data (a few hundred Fashion-MNIST images, a few steps): masks stay
// exactly zero through fine-tuning, ADMM records its residuals and ends on the plan's
// constraint set, cancel stops within a step and leaves a checkpoint whose resumed run equals
// the uninterrupted one, label-free distillation on video frames, and bad data explained.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>

#include "engine/ops/builder.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_passes.h"
#include "engine/prune/plan.h"
#include "engine/train/data.h"
#include "engine/train/trainer.h"
#include "engine/train/zoo.h"
#include "tests/test_cache.h"

namespace prunelab::engine::train {
namespace {

namespace fs = std::filesystem;

using prunelab::testing::cacheDir;

prune::PruningPlan nonStructured(double rate) {
    prune::PruningPlan plan;
    prune::ParamValues v;
    v.set("rate", rate);
    plan.defaultEntry = prune::PlanEntry::make("non_structured", v);
    return plan;
}

// Small and deterministic: 256 training images, 128 test images, one thread.
class Trainer : public ::testing::Test {
  protected:
    void SetUp() override {
        auto train = loadFashionMnist("", true, 256);
        ASSERT_TRUE(train.ok()) << train.error().toString()
                                << " (apt install dataset-fashion-mnist)";
        auto test = loadFashionMnist("", false, 128);
        ASSERT_TRUE(test.ok()) << test.error().toString();
        m_train = std::move(*train);
        m_test = std::move(*test);
        auto model = buildLenet5(7);
        ASSERT_TRUE(model.ok()) << model.error().toString();
        m_model = std::move(*model);
        m_options.epochs = 3;
        m_options.batchSize = 32;
        m_options.maxStepsPerEpoch = 4;
        m_options.threads = 1;
        m_options.test = m_test.get();
    }

    // Every weight the plan removes is exactly zero in `g` (its projection changes nothing).
    static void expectOnConstraintSet(const Graph& g, const prune::PruningPlan& plan) {
        auto again = prune::applyPlan(g, plan);
        ASSERT_TRUE(again.ok()) << again.error().toString();
        for (const prune::LayerPruning& lp : again->layers) {
            auto w = prune::layerWeights(g, lp.layer);
            ASSERT_TRUE(w.ok());
            const float* a = w->weights.data<float>();
            const float* b = lp.projection.weights.data<float>();
            const uint8_t* m = lp.projection.mask.data<uint8_t>();
            for (int64_t i = 0; i < w->weights.elements(); ++i) {
                if (m[i] == 0) {
                    ASSERT_EQ(a[i], 0.0f) << lp.layer.name << " [" << i << "]";
                }
                ASSERT_EQ(a[i], b[i]) << lp.layer.name << " [" << i << "]";
            }
        }
    }

    static int64_t zeros(const Graph& g) {
        int64_t n = 0;
        for (const Layer& l : prunableLayers(g)) {
            auto w = prune::layerWeights(g, l);
            for (float v : w->weights.toFloatVector()) n += v == 0.0f;
        }
        return n;
    }

    std::unique_ptr<Dataset> m_train, m_test;
    Graph m_model;
    TrainOptions m_options;
};

TEST_F(Trainer, DenseTrainingLearnsSomething) {
    m_options.maxStepsPerEpoch = 8;
    auto r = trainDense(m_model, *m_train, m_options);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(r->history.size(), 3u);
    EXPECT_EQ(r->steps, 24);
    EXPECT_LT(r->history.back().loss, r->history.front().loss);
    EXPECT_GT(r->metric, 0.3) << "ten classes: chance is 0.1";
}

// --momentum: SGD with momentum instead of Adam learns too, takes other steps than Adam, and
// a momentum of 1 or more is refused.
TEST_F(Trainer, SgdWithMomentumLearnsAndDiffersFromAdam) {
    m_options.maxStepsPerEpoch = 8;
    auto adam = trainDense(m_model, *m_train, m_options);
    ASSERT_TRUE(adam.ok()) << adam.error().toString();
    m_options.momentum = 0.9;
    m_options.learningRate = 0.05;
    auto sgd = trainDense(m_model, *m_train, m_options);
    ASSERT_TRUE(sgd.ok()) << sgd.error().toString();
    EXPECT_LT(sgd->history.back().loss, sgd->history.front().loss);
    EXPECT_GT(sgd->metric, 0.3) << "ten classes: chance is 0.1";
    EXPECT_NE(sgd->history.back().loss, adam->history.back().loss);
    m_options.momentum = 1;
    auto bad = trainDense(m_model, *m_train, m_options);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("momentum"), std::string::npos);
}

// --lr-final: the rate starts at learningRate, falls every step along a half cosine and takes
// the last step at learningRateFinal; without it the rate stays put.
TEST_F(Trainer, LearningRateFallsAlongAHalfCosineToTheFinalRate) {
    std::vector<double> rates;
    m_options.progress = [&](const TrainProgress& p) { rates.push_back(p.learningRate); };
    m_options.learningRate = 1e-3;
    m_options.learningRateFinal = 1e-5;
    RetrainOptions ro;
    ro.method = RetrainMethod::OneShot;
    ro.fineTuneEpochs = 3;
    auto r = retrain(m_model, nonStructured(0.5), *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(rates.size(), 12u);
    EXPECT_DOUBLE_EQ(rates.front(), 1e-3);
    EXPECT_NEAR(rates.back(), 1e-5, 1e-12);
    for (size_t i = 1; i < rates.size(); ++i) EXPECT_LT(rates[i], rates[i - 1]) << i;
    // Half way (step 5.5 of 0..11) the cosine is at its mean.
    EXPECT_NEAR((rates[5] + rates[6]) / 2, (1e-3 + 1e-5) / 2, 2e-5);

    rates.clear();
    m_options.learningRateFinal = -1;
    r = retrain(m_model, nonStructured(0.5), *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(rates.size(), 12u);
    for (double rate : rates) EXPECT_DOUBLE_EQ(rate, 1e-3);
}

// --init: a second run continues from the first one's weights (here with a rate too small to
// move them), and weights of another model are refused by name.
TEST_F(Trainer, StartsFromEarlierWeightsAndRefusesAnotherModel) {
    prune::PruningPlan plan = nonStructured(0.5);
    RetrainOptions ro;
    ro.method = RetrainMethod::OneShot;
    ro.fineTuneEpochs = 3;
    auto first = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    ro.start = first->model;
    m_options.learningRate = 1e-12;
    auto second = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(second.ok()) << second.error().toString();
    const Layer layer = prunableLayers(m_model)[1];
    auto a = prune::layerWeights(first->model, layer);
    auto b = prune::layerWeights(second->model, layer);
    auto fresh = prune::applyPlan(m_model, plan);
    ASSERT_TRUE(a.ok() && b.ok() && fresh.ok());
    const std::vector<float> wa = a->weights.toFloatVector(), wb = b->weights.toFloatVector();
    for (size_t i = 0; i < wa.size(); ++i) ASSERT_NEAR(wa[i], wb[i], 1e-6f) << i;
    auto projected = prune::layerWeights(fresh->graph, layer);
    EXPECT_NE(projected->weights.toFloatVector(), wb) << "it did not start from the dense model";

    auto vgg = buildArch("vgg-small", 1);
    ASSERT_TRUE(vgg.ok()) << vgg.error().toString();
    ro.start = *vgg;
    auto wrong = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(wrong.error().toString().find("the weights to start from"), std::string::npos)
        << wrong.error().toString();
}

TEST_F(Trainer, OneShotMasksStayExactlyZeroThroughFineTuning) {
    prune::PruningPlan plan = nonStructured(0.9);
    RetrainOptions ro;
    ro.method = RetrainMethod::OneShot;
    ro.fineTuneEpochs = 3;
    auto r = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    expectOnConstraintSet(r->model, plan);
    // The weights did train (not merely stay at the one-shot projection).
    auto oneShot = prune::applyPlan(m_model, plan);
    ASSERT_TRUE(oneShot.ok());
    auto before = prune::layerWeights(oneShot->graph, prunableLayers(m_model)[1]);
    auto after = prune::layerWeights(r->model, prunableLayers(m_model)[1]);
    EXPECT_NE(before->weights.toFloatVector(), after->weights.toFloatVector());
    EXPECT_NEAR(r->history.back().density, 0.1, 0.01);
}

TEST_F(Trainer, AdmmRecordsResidualsGrowsRhoAndEndsOnTheConstraintSet) {
    prune::PruningPlan plan = nonStructured(0.8);
    RetrainOptions ro;
    ro.fineTuneEpochs = 1;
    ro.admmUpdatesPerEpoch = 2;
    ro.rho = 1e-2;
    ro.rhoMultiplier = 2;
    ro.rhoMax = 3e-2;
    std::vector<AdmmSnapshot> snapshots;
    m_options.watchLayer = 1;
    m_options.onAdmmUpdate = [&](const AdmmSnapshot& snap) { snapshots.push_back(snap); };
    std::vector<IterationRecord> live;  // what the workbench's charts see while it runs
    m_options.onRecord = [&](const IterationRecord& rec) { live.push_back(rec); };
    auto r = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(live.size(), r->history.size());
    for (size_t k = 0; k < live.size(); ++k) {
        EXPECT_EQ(live[k].step, r->history[k].step);
        EXPECT_EQ(live[k].admmIteration, r->history[k].admmIteration);
        EXPECT_EQ(live[k].primal, r->history[k].primal);
    }
    std::vector<IterationRecord> admm;
    for (const IterationRecord& rec : r->history)
        if (rec.admmIteration >= 0) admm.push_back(rec);
    ASSERT_EQ(admm.size(), 4u) << "2 W-step epochs x 2 updates";
    // The watched layer's W, Z, U at each update: Z is on the constraint set (80% zeros) and
    // U = U_prev * rho_prev / rho + W - Z (the scaled dual follows rho's growth).
    ASSERT_EQ(snapshots.size(), 4u);
    for (size_t k = 0; k < snapshots.size(); ++k) {
        const AdmmSnapshot& snap = snapshots[k];
        EXPECT_EQ(snap.admmIteration, static_cast<int>(k));
        std::vector<float> z = snap.z.toFloatVector();
        size_t zeros = static_cast<size_t>(std::count(z.begin(), z.end(), 0.0f));
        EXPECT_NEAR(static_cast<double>(zeros) / z.size(), 0.8, 0.02);
        std::vector<float> w = snap.w.toFloatVector(), u = snap.u.toFloatVector();
        std::vector<float> before =
            k == 0 ? std::vector<float>(u.size(), 0.0f) : snapshots[k - 1].u.toFloatVector();
        const double scale = k == 0 ? 1.0 : admm[k - 1].rho / admm[k].rho;
        for (size_t i = 0; i < u.size(); i += 97)
            EXPECT_NEAR(u[i], before[i] * scale + w[i] - z[i], 1e-5);
    }
    EXPECT_DOUBLE_EQ(admm[0].rho, 1e-2);
    EXPECT_DOUBLE_EQ(admm[1].rho, 2e-2);
    EXPECT_DOUBLE_EQ(admm[2].rho, 3e-2) << "capped at rhoMax";
    const size_t layers = prunableLayers(m_model).size();
    for (const IterationRecord& rec : admm) {
        ASSERT_EQ(rec.primal.size(), layers);
        EXPECT_EQ(rec.primal.front(), 0.0) << "first layer kept dense: no residual";
        EXPECT_GT(rec.primal[1], 0.0);
        EXPECT_TRUE(std::isfinite(rec.dual[1]));
    }
    EXPECT_EQ(r->history.back().phase, "fine-tune");
    expectOnConstraintSet(r->model, plan);
    EXPECT_NEAR(r->history.back().density, 0.2, 0.01);
}

// The defaults a new user gets (rho, its growth, W-step length and stages all automatic), on
// the trained demo LeNet-5 with a 95% plan: ||W - Z|| falls over the updates, rho grows to its
// ceiling, and the result ends on the constraint set. 1000 small steps: a few seconds.
TEST(TrainerDefaults, AdmmPrimalResidualFallsOnLenet5) {
    auto model =
        importOnnxFile(std::string(PRUNELAB_SOURCE_DIR) + "/assets/demo/lenet5-fashion.onnx");
    ASSERT_TRUE(model.ok()) << model.error().toString();
    auto train = loadFashionMnist("", true, 6400);
    ASSERT_TRUE(train.ok()) << train.error().toString() << " (apt install dataset-fashion-mnist)";
    TrainOptions o;
    o.epochs = 5;  // 4 of W-steps: 800 steps, so 4 updates of 200 steps each
    o.batchSize = 32;
    o.threads = 1;
    const RetrainOptions ro;  // the defaults, untouched
    ASSERT_EQ(ro.admmUpdatesPerEpoch, 0) << "the default W-step length is automatic";
    ASSERT_EQ(ro.admmStages, 0) << "the default stages are automatic";
    const prune::PruningPlan plan = nonStructured(0.95);
    auto r = retrain(*model, plan, **train, o, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    std::vector<IterationRecord> admm;
    for (const IterationRecord& rec : r->history)
        if (rec.admmIteration >= 0) admm.push_back(rec);
    ASSERT_EQ(admm.size(), 4u) << "one stage (20x at most), an update every 200 steps";
    auto total = [](const IterationRecord& rec) {
        double sq = 0;
        for (double p : rec.primal) sq += p * p;
        return std::sqrt(sq);
    };
    for (size_t k = 1; k < admm.size(); ++k) {
        EXPECT_LT(total(admm[k]), total(admm[k - 1])) << "||W - Z|| grew at update " << k;
        EXPECT_GT(admm[k].rho, admm[k - 1].rho) << "rho did not grow at update " << k;
    }
    for (const IterationRecord& rec : admm)
        std::printf("update %d: rho %g, ||W - Z|| %.4g\n", rec.admmIteration, rec.rho, total(rec));
    EXPECT_LT(total(admm.back()), total(admm.front()) / 2) << "||W - Z|| barely fell";
    EXPECT_NEAR(admm.back().rho, ro.rhoMax, 1e-9 * ro.rhoMax)
        << "rho reaches its ceiling at the last update";
    EXPECT_NEAR(r->history.back().density, 0.05, 0.005);
}

// ADMM under a pattern plan (vgg-small's 3x3 convs): it runs (the plan carrying the frozen set
// failed validation at the start before), and every kept kernel of the result uses a pattern of
// the set chosen on the dense weights, PatDNN's rule. (Short runs re-choosing the set would
// mostly pick the same one; trainer.cpp's admmSetup freezes it for the long ones.)
TEST_F(Trainer, AdmmUnderAPatternPlanKeepsTheDenseWeightsPatternSets) {
    auto vgg = buildVggSmall(3);
    ASSERT_TRUE(vgg.ok()) << vgg.error().toString();
    prune::PruningPlan plan;
    prune::ParamValues v;
    v.set("patterns", int64_t{4});
    v.set("connectivity_rate", 0.5);
    plan.defaultEntry = prune::PlanEntry::make("pattern", v);
    auto dense = prune::applyPlan(*vgg, plan);
    ASSERT_TRUE(dense.ok()) << dense.error().toString();
    RetrainOptions ro;
    ro.admmUpdatesPerEpoch = 2;
    auto r = retrain(*vgg, plan, *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    // What the trained weights hold: each pruned layer's kernels use only the dense sets. The
    // result has BatchNormalization folded in, so its layers are found by name.
    const std::vector<Layer> trained = prunableLayers(r->model);
    size_t checked = 0;
    for (const prune::LayerPruning& d : dense->layers) {
        if (d.scheme != "pattern" || d.projection.patternSet.empty()) continue;
        auto same = std::find_if(trained.begin(), trained.end(),
                                 [&](const Layer& l) { return l.name == d.layer.name; });
        ASSERT_NE(same, trained.end()) << d.layer.name;
        auto w = prune::layerWeights(r->model, *same);
        ASSERT_TRUE(w.ok());
        const float* x = w->weights.data<float>();
        const int64_t kernels = w->weights.elements() / 9;
        for (int64_t k = 0; k < kernels; ++k) {
            unsigned mask = 0;
            for (int b = 0; b < 9; ++b) mask |= (x[k * 9 + b] != 0.0f ? 1u : 0u) << b;
            if (mask == 0) continue;  // a kernel connectivity pruning removed
            bool inSet = false;
            for (prune::Pattern q : d.projection.patternSet) inSet |= (mask & ~unsigned(q)) == 0;
            ASSERT_TRUE(inSet) << d.layer.name << " kernel " << k << " mask " << mask
                               << " is in no pattern of the dense set";
        }
        ++checked;
    }
    EXPECT_GT(checked, 0u);
}

TEST_F(Trainer, GradualReachesTheFinalSparsityInSteps) {
    prune::PruningPlan plan = nonStructured(0.8);
    RetrainOptions ro;
    ro.method = RetrainMethod::Gradual;
    ro.gradualSteps = 4;
    ro.fineTuneEpochs = 1;
    auto r = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    // Epoch records: density after epoch 1 (2 of 4 steps: 1 - 0.5^3 = 87.5% of the rate) is
    // higher than the final one.
    ASSERT_EQ(r->history.size(), 3u);
    EXPECT_GT(r->history[0].density, r->history[2].density + 0.05);
    EXPECT_NEAR(r->history[2].density, 0.2, 0.01);
    expectOnConstraintSet(r->model, plan);
}

// vgg-small has BatchNormalization nodes. With labels they train (batch statistics) and are
// folded into the convs at the end; distilling, they are folded first. With a learning rate of
// 0 only the running statistics can move, which tells the two paths apart.
TEST_F(Trainer, BatchNormTrainsWithLabelsIsFoldedForDistillationAndTheResultIsFolded) {
    auto vgg = buildVggSmall(7);
    ASSERT_TRUE(vgg.ok()) << vgg.error().toString();
    prune::PruningPlan plan;
    prune::ParamValues v;
    v.set("patterns", 8);
    v.set("connectivity_rate", 0.5);
    plan.defaultEntry = prune::PlanEntry::make("pattern", v);
    plan.keepFirstLast = true;
    m_options.epochs = 1;
    m_options.maxStepsPerEpoch = 3;
    m_options.learningRate = 0;
    m_options.test = nullptr;
    RetrainOptions ro;
    ro.method = RetrainMethod::OneShot;

    Graph folded = *vgg;
    ASSERT_GT(internal::foldBatchNormalization(folded), 0);
    folded.removeDeadCode();
    auto expected = prune::applyPlan(folded, plan);
    ASSERT_TRUE(expected.ok()) << expected.error().toString();
    auto convWeights = [](const Graph& g, size_t i) {
        return prune::layerWeights(g, prunableLayers(g)[i])->weights.toFloatVector();
    };
    auto hasBatchNorm = [](const Graph& g) {
        return std::any_of(g.nodes.begin(), g.nodes.end(),
                           [](const Node& n) { return n.op == OpKind::BatchNormalization; });
    };

    for (bool distill : {false, true}) {
        SCOPED_TRACE(distill ? "distilling" : "labelled");
        ro.distill = distill;
        auto r = retrain(*vgg, plan, *m_train, m_options, ro);
        ASSERT_TRUE(r.ok()) << r.error().toString();
        EXPECT_FALSE(hasBatchNorm(r->model));
        expectOnConstraintSet(r->model, plan);
        std::vector<float> got = convWeights(r->model, 2), want = convWeights(expected->graph, 2);
        ASSERT_EQ(got.size(), want.size());
        if (distill) {
            EXPECT_EQ(got, want) << "folded before training, and a learning rate of 0";
        } else {
            EXPECT_NE(got, want) << "the running statistics should have moved";
            for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_EQ(got[i] == 0.0f, want[i] == 0.0f)
                    << "BN scales whole channels [" << i << "]";
            }
        }
    }
}

TEST_F(Trainer, CancelStopsWithinAStepAndTheResumedRunEqualsTheStraightOne) {
    prune::PruningPlan plan = nonStructured(0.8);
    RetrainOptions ro;
    ro.admmUpdatesPerEpoch = 2;
    auto straight = retrain(m_model, plan, *m_train, m_options, ro);
    ASSERT_TRUE(straight.ok()) << straight.error().toString();

    fs::path dir = fs::temp_directory_path() / "prunelab_trainer_resume";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::atomic<bool> stop{false};
    int64_t stoppedAt = -1;
    TrainOptions o = m_options;
    o.checkpointPath = (dir / "run.ckpt").string();
    o.cancel = &stop;
    // Stop in the middle of the second epoch, between two ADMM updates.
    o.progress = [&](const TrainProgress& p) {
        if (p.step == 5 && stoppedAt < 0) stop = true, stoppedAt = p.step;
    };
    auto cancelled = retrain(m_model, plan, *m_train, o, ro);
    ASSERT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);
    EXPECT_NE(cancelled.error().message.find("step 5"), std::string::npos)
        << cancelled.error().toString();
    ASSERT_TRUE(fs::exists(o.checkpointPath));
    EXPECT_FALSE(fs::exists(o.checkpointPath + ".tmp"));

    o.cancel = nullptr;
    o.progress = nullptr;
    auto resumed = retrain(m_model, plan, *m_train, o, ro, /*resume=*/true);
    ASSERT_TRUE(resumed.ok()) << resumed.error().toString();
    EXPECT_EQ(resumed->steps, straight->steps);
    ASSERT_EQ(resumed->history.size(), straight->history.size());
    for (size_t i = 0; i < straight->history.size(); ++i) {
        EXPECT_DOUBLE_EQ(resumed->history[i].loss, straight->history[i].loss) << i;
        EXPECT_DOUBLE_EQ(resumed->history[i].metric, straight->history[i].metric) << i;
    }
    for (const Layer& l : prunableLayers(m_model)) {
        auto a = prune::layerWeights(straight->model, l),
             b = prune::layerWeights(resumed->model, l);
        EXPECT_EQ(a->weights.toFloatVector(), b->weights.toFloatVector()) << l.name;
    }

    // A checkpoint from another plan is refused, not silently mixed in.
    auto other = retrain(m_model, nonStructured(0.5), *m_train, o, ro, true);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(other.error().message.find("another model, data, plan or options"),
              std::string::npos);
    fs::remove_all(dir);
}

TEST_F(Trainer, BadOptionsAndUnlabelledDataAreExplained) {
    RetrainOptions ro;
    ro.fineTuneEpochs = 3;  // leaves nothing for ADMM
    auto r = retrain(m_model, nonStructured(0.5), *m_train, m_options, ro);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("fine-tune epochs"), std::string::npos);
    ro.fineTuneEpochs = 1;
    ro.rho = 0;
    EXPECT_EQ(retrain(m_model, nonStructured(0.5), *m_train, m_options, ro).error().code,
              ErrorCode::InvalidArgument);
}

// Label-free: waifu2x noise0 on frames of vtest.avi, the dense model's outputs as targets.
TEST(TrainerDistill, LabelFreeOnVideoFramesKeepsCloseToTheDenseModel) {
    std::string video = cacheDir() + "/video/vtest.avi";
    ASSERT_TRUE(fs::exists(video)) << video << " is missing: run ./prunelab setup";
    // A 2-layer conv net is enough to exercise the path; a real SR model is in bench/admm.
    GraphBuilder b("tiny_sr", 3);
    ValueId x = b.input("image", {1, 3, 24, 24});
    ValueId y = b.conv(b.relu(b.conv(x, 8, 3)), 3, 3);
    b.output(y);
    auto dense = b.finish();
    ASSERT_TRUE(dense.ok());
    PictureOptions picture;
    picture.height = 24, picture.width = 24;
    auto frames = loadFrames(video, picture, 40, 8);
    ASSERT_TRUE(frames.ok()) << frames.error().toString();
    EXPECT_TRUE((*frames)->classNames().empty());

    prune::PruningPlan plan = nonStructured(0.5);
    plan.keepFirstLast = false;
    TrainOptions o;
    o.epochs = 2;
    o.batchSize = 4;
    o.threads = 1;
    o.test = frames->get();
    RetrainOptions ro;
    ro.distill = true;
    auto r = retrain(*dense, plan, **frames, o, ro);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_TRUE(std::isfinite(r->metric));
    EXPECT_GT(r->metric, 10.0) << "PSNR vs the dense model, dB";
    // Without --distill, unlabelled data is refused with the reason.
    ro.distill = false;
    auto refused = retrain(*dense, plan, **frames, o, ro);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("no labels"), std::string::npos);
}

}  // namespace
}  // namespace prunelab::engine::train

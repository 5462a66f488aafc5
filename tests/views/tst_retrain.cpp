// The retrain panel with the real trainer: LeNet-5 (built by the engine's zoo, saved as ONNX) on
// real Fashion-MNIST pictures. A few ADMM steps fill the charts and the W/Z/U animation and land
// as an undoable experiment; Pause holds the run, Stop cancels it and Resume finishes it.
#include <QDoubleSpinBox>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "app/gui/retrainer.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/plan.h"
#include "engine/train/zoo.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/train/admm_animation.h"
#include "views/train/retrain_panel.h"

using namespace prunelab;
using views::RetrainPanel;

namespace {

constexpr int kTimeoutMs = 180'000;
const char* const kFashion = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

engine::prune::PruningPlan halfOfEveryLayer() {
    auto plan = engine::prune::parsePlanJson(
        R"({"version": 1, "default": {"scheme": "non_structured", "params": {"rate": 0.5}}})",
        "test plan");
    return plan.value();
}

}  // namespace

class TestRetrain : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        auto lenet = engine::train::buildLenet5(1);
        QVERIFY2(lenet.ok(), lenet.ok() ? "" : lenet.error().toString().c_str());
        m_model = m_dir.filePath(QStringLiteral("lenet5.onnx"));
        auto st = engine::exportOnnxFile(*lenet, m_model.toStdString());
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().toString().c_str());
    }

    void init() {
        m_session = std::make_unique<views::ModelSession>(gui::workbenchOpener());
        m_log = std::make_unique<views::ExperimentLog>(m_session.get());
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(m_model);
        QVERIFY2(loaded.wait(kTimeoutMs), "LeNet-5 did not open");
    }

    void cleanup() {
        m_panel.reset();
        m_log.reset();
        m_session.reset();
    }

    // A build without libtorch: Start says why instead of doing nothing.
    void withoutATrainerStartSaysWhy() {
        m_panel =
            std::make_unique<RetrainPanel>(m_session.get(), m_log.get(), views::RetrainFunction());
        applyPlan();
        QSignalSpy finished(m_panel.get(), &RetrainPanel::finished);
        m_panel->start();
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QVERIFY2(finished.at(0).at(1).toString().contains(QStringLiteral("libtorch")),
                 qPrintable(finished.at(0).at(1).toString()));
        QCOMPARE(m_panel->state(), RetrainPanel::State::Idle);
    }

    // The form starts from the trainer's defaults (RetrainOptions{}, as the CLI does), shows
    // "auto" for the automatic choices, and Start hands exactly what the form shows to the
    // trainer. A stand-in trainer records the request and feeds rows of two stages to the chart.
    void admmStartsFromTheTrainersDefaults() {
        auto seen = std::make_shared<std::vector<views::RetrainRequest>>();
        views::RetrainFunction fake =
            [seen](views::RetrainRequest r) -> engine::Result<views::RetrainOutcome> {
            seen->push_back(r);
            const std::vector<double> rhos = {1e-4, 1e-2, 1e-4, 1e-2};
            for (size_t k = 0; k < rhos.size(); ++k) {
                engine::train::IterationRecord row;
                row.phase = "admm";
                row.admmIteration = static_cast<int>(k);
                row.rho = rhos[k];
                row.primal = {1.0 / static_cast<double>(k + 1)};
                r.options.onRecord(row);
            }
            return engine::makeError(engine::ErrorCode::InvalidArgument, "stand-in trainer");
        };
        m_panel = std::make_unique<RetrainPanel>(m_session.get(), m_log.get(), fake);
        m_panel->setRunsFolder(m_runs.path());
        const engine::train::RetrainOptions defaults;
        auto text = [this](const char* name) {
            auto* box = m_panel->findChild<QAbstractSpinBox*>(QLatin1String(name));
            return box ? box->text() : QStringLiteral("(no %1)").arg(QLatin1String(name));
        };
        auto value = [this](const char* name) {
            auto* box = m_panel->findChild<QDoubleSpinBox*>(QLatin1String(name));
            return box ? box->value() : -1.0;
        };
        QCOMPARE(value("retrainRho"), defaults.rho);
        QCOMPARE(value("retrainRhoGrowth"), defaults.rhoMultiplier);
        QCOMPARE(value("retrainRhoMax"), defaults.rhoMax);
        QCOMPARE(defaults.rhoMultiplier,
                 0.0);  // when the trainer's default changes, so does "auto"
        QCOMPARE(text("retrainRhoGrowth"), QStringLiteral("auto"));
        QVERIFY2(text("retrainUpdates").startsWith(QStringLiteral("auto")),
                 qPrintable(text("retrainUpdates")));
        QCOMPARE(text("retrainStages"), QStringLiteral("auto"));

        applyPlan();
        QSignalSpy finished(m_panel.get(), &RetrainPanel::finished);
        m_panel->start();
        QVERIFY2(finished.wait(kTimeoutMs), "the stand-in trainer did not return");
        QCoreApplication::processEvents();  // the rows it posted
        QCOMPARE(seen->size(), size_t{1});
        const engine::train::RetrainOptions& sent = seen->at(0).retrain;
        QCOMPARE(sent.method, engine::train::RetrainMethod::Admm);
        QCOMPARE(sent.rho, defaults.rho);
        QCOMPARE(sent.rhoMultiplier, defaults.rhoMultiplier);
        QCOMPARE(sent.rhoMax, defaults.rhoMax);
        QCOMPARE(sent.admmUpdatesPerEpoch, defaults.admmUpdatesPerEpoch);
        QCOMPARE(sent.admmStages, defaults.admmStages);
        // rho fell once (the second stage starting over): one mark, every residual plotted.
        QCOMPARE(m_panel->residualPoints(), 4);
        QCOMPARE(m_panel->stageStarts(), 1);

        // What a person sets reaches the trainer too (not only the defaults).
        m_panel->setRho(2e-4, 1.5, 2e-2, 3);
        m_panel->setAdmmStages(2);
        m_panel->start();
        QVERIFY2(finished.wait(kTimeoutMs), "the stand-in trainer did not return");
        QCOMPARE(seen->size(), size_t{2});
        const engine::train::RetrainOptions& set = seen->at(1).retrain;
        QCOMPARE(set.rho, 2e-4);
        QCOMPARE(set.rhoMultiplier, 1.5);
        QCOMPARE(set.rhoMax, 2e-2);
        QCOMPARE(set.admmUpdatesPerEpoch, 3);
        QCOMPARE(set.admmStages, 2);

        // Growth is auto or at least 1 (the trainer refuses rho shrinking): no value in between.
        auto* growth = m_panel->findChild<QDoubleSpinBox*>(QStringLiteral("retrainRhoGrowth"));
        QVERIFY(growth);
        growth->setValue(0);
        growth->stepUp();
        QCOMPARE(growth->value(), 1.0);
        growth->stepDown();
        QCOMPARE(growth->value(), 0.0);
        QCOMPARE(growth->text(), QStringLiteral("auto"));
    }

    // The window shows the panel as its Retrain tab, and `--view retrain` names it.
    void theWindowHasARetrainTab() {
        gui::MainWindow window(false);
        QVERIFY(window.retrainPanel() != nullptr);
        QCOMPARE(window.namedView(QStringLiteral("retrain")),
                 static_cast<QWidget*>(window.retrainPanel()));
        QVERIFY(window.analysisTabs()->indexOf(window.retrainPanel()) >= 0);
    }

    void aDenseModelAsksForAPlanFirst() {
        if (const char* why = missing()) QSKIP(why);
        makePanel();
        QSignalSpy finished(m_panel.get(), &RetrainPanel::finished);
        m_panel->start();
        QCOMPARE(finished.count(), 1);
        QVERIFY2(finished.at(0).at(1).toString().contains(QStringLiteral("plan")),
                 qPrintable(finished.at(0).at(1).toString()));
    }

    void admmFillsTheChartsAndLandsAsAnUndoableExperiment() {
        if (const char* why = missing()) QSKIP(why);
        makePanel();
        applyPlan();
        const size_t before = m_log->experiments().size();
        m_panel->setWatchLayer(1);  // conv2: 16 x 6 x 5 x 5
        m_panel->setData(QStringLiteral("fashion-mnist"));
        m_panel->setTrainingLimit(512);
        m_panel->setStepsPerEpoch(4);
        m_panel->setEpochs(3, 1);
        m_panel->setRho(1e-2, 2, 1e-1, 2);
        QSignalSpy finished(m_panel.get(), &RetrainPanel::finished);
        m_panel->start();
        QCOMPARE(m_panel->state(), RetrainPanel::State::Running);
        QVERIFY2(finished.wait(kTimeoutMs), "the retraining did not finish");
        QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
        QCoreApplication::processEvents();  // the last queued chart points

        // 2 W-step epochs x 2 updates, then one fine-tune epoch.
        QCOMPARE(m_panel->residualPoints(), 4);
        QCOMPARE(m_panel->animation()->frames(), 4);
        for (int k = 0; k < 4; ++k) QVERIFY(m_panel->animation()->distance(k) > 0);
        QVERIFY(m_panel->lossPoints() >= 1);
        QVERIFY2(m_panel->metricPoints() >= 7, "an accuracy for every update and epoch end");

        // The session holds the retrained weights, recorded as a new experiment with its file.
        QTRY_COMPARE_WITH_TIMEOUT(m_log->experiments().size(), before + 1, kTimeoutMs);
        const views::Experiment& e = m_log->experiments().back();
        QCOMPARE(e.retrainMethod, QStringLiteral("admm"));
        QVERIFY(e.accuracy.has_value());
        QVERIFY(*e.accuracy >= 0 && *e.accuracy <= 1);
        QVERIFY2(QFile::exists(e.trainedModel), qPrintable(e.trainedModel));
        QVERIFY(e.trainedModel.startsWith(m_runs.path()));
        QCOMPARE(m_session->state().trainedModel, e.trainedModel);
        QCOMPARE(m_log->currentId(), e.id);
        QVERIFY(std::abs(e.density - 0.5) < 0.02);
        // The project file keeps how it was retrained and where the weights are.
        auto back = views::experimentFromJson(views::experimentToJson(e));
        QVERIFY(back.ok());
        QCOMPARE(back.value(), e);

        // Undo goes back to the projection without training; redo to the trained weights.
        m_session->undoStack()->undo();
        QVERIFY(m_session->state().trainedModel.isEmpty());
        QVERIFY(m_log->currentId() != e.id);
        m_session->undoStack()->redo();
        QCOMPARE(m_log->currentId(), e.id);
        QVERIFY(!m_panel->canResume());
    }

    void pauseHoldsStopCancelsAndResumeFinishes() {
        if (const char* why = missing()) QSKIP(why);
        makePanel();
        applyPlan();
        m_panel->setData(QStringLiteral("fashion-mnist"));
        m_panel->setTrainingLimit(20000);
        m_panel->setStepsPerEpoch(0);
        m_panel->setEpochs(2, 1);
        QSignalSpy finished(m_panel.get(), &RetrainPanel::finished);
        m_panel->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_panel->lossPoints() > 0, kTimeoutMs);

        m_panel->pause();
        QCOMPARE(m_panel->state(), RetrainPanel::State::Paused);
        QTest::qWait(300);  // what was queued before the pause arrives
        const int held = m_panel->lossPoints();
        QTest::qWait(700);
        QCOMPARE(m_panel->lossPoints(), held);
        QCOMPARE(finished.count(), 0);

        m_panel->stop();
        QVERIFY2(finished.wait(kTimeoutMs), "Stop did not end the run");
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(m_panel->state(), RetrainPanel::State::Idle);
        QVERIFY2(m_panel->canResume(), "a stopped run leaves a checkpoint to resume from");
        const auto experiments = m_log->experiments().size();

        m_panel->resume();
        QVERIFY2(finished.wait(kTimeoutMs), "the resumed run did not finish");
        QVERIFY2(finished.at(1).at(0).toBool(), qPrintable(finished.at(1).at(1).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(m_log->experiments().size(), experiments + 1, kTimeoutMs);
        QVERIFY(m_log->experiments().back().accuracy.has_value());
    }

  private:
    // Why the trainer cannot run here, or empty (QSKIP must be called from the test itself).
    static const char* missing() {
        if (!gui::workbenchRetrainer())
            return "this build has no trainer (PRUNELAB_WITH_TORCH=OFF)";
        if (!std::filesystem::exists(kFashion))
            return "Fashion-MNIST is missing (Debian package dataset-fashion-mnist): run "
                   "./prunelab setup";
        return nullptr;
    }

    void makePanel() {
        m_panel =
            std::make_unique<RetrainPanel>(m_session.get(), m_log.get(), gui::workbenchRetrainer());
        m_panel->setRunsFolder(m_runs.path());
    }

    void applyPlan() {
        QSignalSpy applied(m_session.get(), &views::ModelSession::planApplied);
        m_log->applyPlan(halfOfEveryLayer());
        QVERIFY2(applied.wait(kTimeoutMs), "the plan was not applied");
    }

    QTemporaryDir m_dir, m_runs;
    QString m_model;
    std::unique_ptr<views::ModelSession> m_session;
    std::unique_ptr<views::ExperimentLog> m_log;
    std::unique_ptr<RetrainPanel> m_panel;
};

QTEST_MAIN(TestRetrain)
#include "tst_retrain.moc"

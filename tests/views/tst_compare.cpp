// Experiments and the Compare tab on BlazeFace (catalog id face-front, from the asset cache):
// applying presets records experiments whose numbers are the engine's own, undo records none,
// the compare model's contract, the Pareto front on hand-made points and on the experiments, and
// the CSV export.
#include <QAbstractItemModelTester>
#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "engine/prune/plan.h"
#include "engine/prune/stats.h"
#include "engine/tasks/catalog.h"
#include "tests/views/widgets_test_util.h"
#include "views/compare/compare_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/speed/speed_view.h"

using namespace prunelab;
using views::CompareModel;
using views::Experiment;

namespace {

constexpr int kTimeoutMs = 120'000;
const char* const kModel = "face-front";

bool modelCached() {
    return !views::testing::cachedModelFile(kModel).isEmpty();
}

std::vector<int> front(std::initializer_list<QPointF> points) {
    return views::paretoFront(std::vector<QPointF>(points));
}

}  // namespace

class TestCompare : public QObject {
    Q_OBJECT

  private slots:
    void paretoFrontOnHandMadePoints() {
        QCOMPARE(front({}), std::vector<int>{});
        QCOMPARE(front({{1, 1}}), std::vector<int>{0});
        // Cheaper and better beats everything; a tie on one axis needs a win on the other.
        QCOMPARE(front({{2, 5}, {1, 6}, {3, 4}}), std::vector<int>{1});
        QCOMPARE(front({{1, 1}, {2, 2}, {3, 3}}), (std::vector<int>{0, 1, 2}));
        QCOMPARE(front({{1, 5}, {1, 4}, {2, 5}}), std::vector<int>{0});
        // A dominated point in the middle; the front comes sorted by x.
        QCOMPARE(front({{4, 9}, {1, 2}, {2, 1}, {3, 8}, {2.5, 5}}), (std::vector<int>{1, 4, 3, 0}));
        // Equal points are both on the front (neither beats the other).
        QCOMPARE(front({{1, 1}, {1, 1}, {2, 0}}), (std::vector<int>{0, 1}));
        // Non-finite points (an unmeasured metric) are left out.
        QCOMPARE(front({{NAN, 1}, {1, 1}, {2, INFINITY}}), std::vector<int>{1});
    }

    void axesFollowTheMetrics() {
        std::vector<Experiment> es(2);
        QVERIFY(views::chooseAxes(es).x == views::CompareAxes::X::KeptMacs);
        QVERIFY(views::chooseAxes(es).y == views::CompareAxes::Y::Density);
        es[0].latencyMs = 3;
        QVERIFY(views::chooseAxes(es).x == views::CompareAxes::X::KeptMacs);  // not every one
        es[1].latencyMs = 4;
        es[0].psnrDb = es[1].psnrDb = 30;
        QVERIFY(views::chooseAxes(es).x == views::CompareAxes::X::LatencyMs);
        QVERIFY(views::chooseAxes(es).y == views::CompareAxes::Y::PsnrDb);
        es[0].accuracy = es[1].accuracy = 0.9;
        QVERIFY(views::chooseAxes(es).y == views::CompareAxes::Y::Accuracy);
    }

    void csvQuotesAndLeavesUnsetEmpty() {
        Experiment e;
        e.id = 3;
        e.name = QStringLiteral("tile-75 on \"my, model\".onnx");
        e.model = QStringLiteral("/m/x.onnx");
        e.plan = QStringLiteral("{\"version\": 1,\n \"default\": \"dense\"}");
        e.scheme = QStringLiteral("tile");
        e.density = 0.25;
        e.keptMacs = 100;
        e.denseMacs = 400;
        e.storageBytes = 1000;
        e.denseBytes = 4000;
        e.latencyMs = 1.5;
        const QStringList lines =
            views::compareCsv({e}).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0], QStringLiteral("id,name,model,scheme,density,kept_macs,dense_macs,"
                                          "storage_bytes,dense_bytes,latency_ms,dense_latency_ms,"
                                          "accuracy,psnr_db,plan"));
        QCOMPARE(lines[1],
                 QStringLiteral("3,\"tile-75 on \"\"my, model\"\".onnx\",/m/x.onnx,tile,0.25,100,"
                                "400,1000,4000,1.5,,,,\"{\"\"version\"\":1,\"\"default\"\":"
                                "\"\"dense\"\"}\""));
    }

    void presetsBecomeExperimentsWithTheEnginesNumbers() {
        if (!modelCached())
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
        views::ModelSession session(gui::workbenchOpener());
        views::ExperimentLog log(&session);
        views::CompareView view(&log);
        QAbstractItemModelTester tester(view.model(),
                                        QAbstractItemModelTester::FailureReportingMode::Fatal);
        QSignalSpy loaded(&session, &views::ModelSession::modelLoaded);
        session.openModel(QString::fromLatin1(kModel));
        QVERIFY2(loaded.wait(kTimeoutMs), "face-front did not load");
        QCOMPARE(log.experiments().size(), size_t{0});  // opening is not an experiment

        auto graph = gui::workbenchOpener()(QString::fromLatin1(kModel));
        QVERIFY(graph.ok());
        const char* presets[] = {"patdnn-8", "tile-75"};
        for (const char* name : presets) {
            auto plan = engine::prune::presetPlan(name);
            QVERIFY(plan.ok());
            QSignalSpy applied(&session, &views::ModelSession::planApplied);
            log.applyPlan(plan.value());
            QVERIFY2(applied.wait(kTimeoutMs), name);
            // The engine's own numbers for the same plan, computed here independently.
            auto pruned = engine::prune::applyPlan(graph.value(), plan.value());
            QVERIFY(pruned.ok());
            const engine::prune::ModelStats s = engine::prune::modelStats(pruned.value());
            const Experiment& e = log.experiments().back();
            QCOMPARE(e.id, log.currentId());
            QCOMPARE(e.name, QStringLiteral("%1 on face-front").arg(QLatin1String(name)));
            QCOMPARE(e.model, QString::fromLatin1(kModel));
            QCOMPARE(e.plan, QString::fromStdString(engine::prune::planToJson(plan.value())));
            QCOMPARE(e.scheme, QString::fromStdString(plan->defaultEntry.scheme));
            QCOMPARE(e.density, s.density());
            QCOMPARE(e.keptMacs, s.keptModelMacs);
            QCOMPARE(e.denseMacs, s.modelMacs);
            QCOMPARE(e.storageBytes, s.bestBytes);
            QCOMPARE(e.denseBytes, s.denseBytes);
            QVERIFY(e.density < 1.0 && e.keptMacs < e.denseMacs);
            QVERIFY(!e.latencyMs && !e.accuracy && !e.psnrDb);
        }
        QCOMPARE(log.experiments().size(), size_t{2});
        QCOMPARE(view.model()->rowCount(), 2);
        // A plan the engine refuses records nothing and leaves no request waiting (the undo
        // steps below would otherwise be taken for it).
        {
            auto bad = engine::prune::presetPlan("patdnn-8");
            QVERIFY(bad.ok());
            bad->defaultEntry = engine::prune::PlanEntry::make("no_such_scheme", {});
            QSignalSpy failed(&session, &views::ModelSession::failed);
            log.applyPlan(bad.value());
            QVERIFY(failed.wait(kTimeoutMs));
            QTRY_VERIFY(!session.isBusy());
            QCOMPARE(log.experiments().size(), size_t{2});
        }
        QCOMPARE(view.model()->index(1, CompareModel::Density).data(Qt::EditRole).toDouble(),
                 log.experiments()[1].density);

        // Undo shows the earlier plan again: no new experiment, the current one follows.
        QSignalSpy applied(&session, &views::ModelSession::planApplied);
        session.undoStack()->undo();
        QCOMPARE(log.experiments().size(), size_t{2});
        QCOMPARE(log.currentId(), log.experiments()[0].id);
        session.undoStack()->undo();
        QCOMPARE(log.currentId(), -1);  // dense
        session.undoStack()->redo();
        session.undoStack()->redo();
        QCOMPARE(log.currentId(), log.experiments()[1].id);

        // A measure lands on the current experiment and moves the x axis to latency once every
        // experiment has one.
        log.setLatency(2.0, 3.0);
        QCOMPARE(log.experiments()[1].latencyMs, std::optional<double>(2.0));
        QCOMPARE(log.experiments()[1].denseLatencyMs, std::optional<double>(3.0));
        QVERIFY(view.axes().x == views::CompareAxes::X::KeptMacs);
        log.setLatency(1.0, 3.0, log.experiments()[0].id);
        QVERIFY(view.axes().x == views::CompareAxes::X::LatencyMs);

        // The drawn front is the front of the experiments' points.
        const auto points = views::comparePoints(log.experiments(), view.axes());
        std::vector<int> expected;
        for (int i : views::paretoFront(points))
            expected.push_back(log.experiments()[static_cast<size_t>(i)].id);
        QCOMPARE(view.frontIds(), expected);
        QVERIFY(!expected.empty());

        // Exports: the CSV has a line per experiment and the exact numbers; the PNG loads.
        QTemporaryDir dir;
        const QString csvPath = dir.filePath(QStringLiteral("experiments.csv"));
        QVERIFY(view.exportCsv(csvPath));
        QFile csv(csvPath);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(csv.readAll());
        QCOMPARE(text, views::compareCsv(log.experiments()));
        QCOMPARE(text.count(QLatin1Char('\n')), 3);
        QVERIFY(text.contains(QStringLiteral(",%1,%2,")
                                  .arg(log.experiments()[0].keptMacs)
                                  .arg(log.experiments()[0].denseMacs)));
        view.resize(900, 600);
        const QString pngPath = dir.filePath(QStringLiteral("chart.png"));
        QVERIFY(view.exportPng(pngPath));
        QVERIFY(!QImage(pngPath).isNull());
        QString error;
        QVERIFY(!view.exportCsv(dir.filePath(QStringLiteral("no/such/dir/x.csv")), &error));
        QVERIFY2(error.contains(QStringLiteral("x.csv")), qPrintable(error));
    }

    void aMeasureInTheWindowFillsTheExperimentsLatency() {
        if (!modelCached())
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
        gui::MainWindow window(/*interactive=*/false);
        gui::AnalysisTabs* tabs = window.analysisTabs();
        QVERIFY(tabs->compareView() != nullptr);
        QCOMPARE(window.namedView(QStringLiteral("compare")), tabs->compareView());
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.openModel(QString::fromLatin1(kModel));
        QVERIFY(loaded.wait(kTimeoutMs));
        auto plan = engine::prune::presetPlan("patdnn-8");
        QVERIFY(plan.ok());
        QSignalSpy idle(tabs, &gui::AnalysisTabs::idle);
        window.experiments()->applyPlan(plan.value());
        QTRY_VERIFY_WITH_TIMEOUT(tabs->compiled() != nullptr && !tabs->isBusy(), kTimeoutMs);
        QCOMPARE(window.experiments()->experiments().size(), size_t{1});
        QVERIFY(!window.experiments()->experiments()[0].latencyMs);

        QSignalSpy measured(tabs, &gui::AnalysisTabs::measured);
        tabs->setMeasureGenerated(false);  // the times' way to the log, not the host compiler
        tabs->measure(1);
        QVERIFY(measured.wait(kTimeoutMs));
        // The experiment holds the measure pass's whole-model times, as the Speed tab shows them.
        const views::SpeedData& speed = tabs->speedView()->data();
        const Experiment& e = window.experiments()->experiments()[0];
        qInfo("whole model: compiled %.3f ms, dense %.3f ms", speed.compiledTotalMs,
              speed.denseTotalMs);
        if (speed.compiledTotalMs > 0) {
            QCOMPARE(e.latencyMs, std::optional<double>(speed.compiledTotalMs));
            QCOMPARE(e.denseLatencyMs, std::optional<double>(speed.denseTotalMs));
            QVERIFY(tabs->compareView()->axes().x == views::CompareAxes::X::LatencyMs);
        } else {
            // Every layer turned dense: the pass did not time the whole model.
            QVERIFY(!e.latencyMs);
        }
    }
};

QTEST_MAIN(TestCompare)
#include "tst_compare.moc"

// Nothing a person made is lost, on BlazeFace (catalog id face-front): closing with unsaved work
// asks and flushes the autosave, the unsaved flag follows apply / save / undo, a recovery file is
// found and restored, and the prune panel shows the plan that is actually applied.
#include <QComboBox>
#include <QFile>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include "app/gui/main_window.h"
#include "engine/prune/plan.h"
#include "engine/prune/scheme.h"
#include "tests/views/widgets_test_util.h"
#include "views/common/engine_text.h"
#include "views/prune/prune_panel.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/session/project.h"

using namespace prunelab;
using Choice = gui::MainWindow::UnsavedChoice;

namespace {

constexpr int kTimeoutMs = 120'000;
const char* const kModel = "face-front";

bool openModel(gui::MainWindow& w) {
    QSignalSpy loaded(w.session(), &views::ModelSession::modelLoaded);
    w.openModel(QString::fromLatin1(kModel));
    return loaded.wait(kTimeoutMs);
}

bool applyPlan(gui::MainWindow& w, const engine::prune::PruningPlan& plan) {
    QSignalSpy applied(w.session(), &views::ModelSession::planApplied);
    w.experiments()->applyPlan(plan);
    return applied.wait(kTimeoutMs);
}

bool applyPreset(gui::MainWindow& w, const char* preset) {
    auto plan = engine::prune::presetPlan(preset);
    return plan.ok() && applyPlan(w, plan.value());
}

// Counts the questions and answers each with `answer`.
struct Prompt {
    Choice answer = Choice::Discard;
    int asked = 0;
    void install(gui::MainWindow& w) {
        w.setUnsavedPrompt([this](const QString&) {
            ++asked;
            return answer;
        });
    }
};

}  // namespace

class TestUnsavedWork : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // The recovery file goes to a test location, never a person's own.
        QStandardPaths::setTestModeEnabled(true);
        if (views::testing::cachedModelFile(kModel).isEmpty())
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
    }

    void init() { QFile::remove(views::recoveryPath()); }

    void closingWithUnsavedWorkAsksAndFlushesTheAutosave() {
        gui::MainWindow w(/*interactive=*/false);
        Prompt prompt;
        prompt.install(w);
        QVERIFY(openModel(w));
        QVERIFY(w.close());
        QCOMPARE(prompt.asked, 0);  // nothing unsaved: no question

        gui::MainWindow dirty(false);
        prompt.install(dirty);
        QVERIFY(openModel(dirty));
        QVERIFY(applyPreset(dirty, "patdnn-8"));
        QVERIFY(dirty.project()->isDirty());
        // The 30 s autosave has not fired yet: only the close can save this work.
        QVERIFY(!QFile::exists(views::recoveryPath()));

        prompt.answer = Choice::Cancel;
        QVERIFY(!dirty.close());
        QCOMPARE(prompt.asked, 1);
        QVERIFY(!QFile::exists(views::recoveryPath()));

        prompt.answer = Choice::Discard;
        QVERIFY(dirty.close());
        QCOMPARE(prompt.asked, 2);
        auto read = views::readProject(views::recoveryPath());
        QVERIFY2(read.ok(), read.ok() ? "" : qPrintable(views::errorText(read.error())));
        QCOMPARE(read->model, QString::fromLatin1(kModel));
        QCOMPARE(*read->current, QString::fromStdString(engine::prune::planToJson(
                                     engine::prune::presetPlan("patdnn-8").value())));
        QCOMPARE(read->experiments.size(), size_t{1});
    }

    void unsavedFlagFollowsApplySaveUndo() {
        gui::MainWindow w(false);
        Prompt prompt;
        prompt.install(w);
        QVERIFY(openModel(w));
        QVERIFY(!w.project()->isDirty());
        QVERIFY(applyPreset(w, "patdnn-8"));
        QVERIFY(w.project()->isDirty());

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("work.prunelab"));
        QVERIFY(w.project()->save(path).ok());
        QVERIFY(!w.project()->isDirty());

        QSignalSpy applied(w.session(), &views::ModelSession::planApplied);
        w.session()->undoStack()->undo();
        QVERIFY(applied.count() > 0 || applied.wait(kTimeoutMs));
        QVERIFY(w.project()->isDirty());

        // Save on close writes the saved project's own file (no dialog) and closes.
        prompt.answer = Choice::Save;
        QVERIFY(w.close());
        QCOMPARE(prompt.asked, 1);
        QVERIFY(!w.project()->isDirty());
        QVERIFY(!views::readProject(path)->current.has_value());
    }

    void openingOverUnsavedWorkAsks() {
        gui::MainWindow w(false);
        Prompt prompt;
        prompt.install(w);
        QVERIFY(openModel(w));
        QVERIFY(applyPreset(w, "patdnn-8"));
        prompt.answer = Choice::Cancel;
        QSignalSpy loaded(w.session(), &views::ModelSession::modelLoaded);
        w.openModel(QString::fromLatin1(kModel));
        QCOMPARE(prompt.asked, 1);
        QVERIFY(!loaded.wait(500));  // cancelled: the work stays as it is
        QVERIFY(w.session()->currentPlan().has_value());
        QVERIFY(w.project()->isDirty());
    }

    void recoveryFileIsFoundAndRestored() {
        std::vector<views::Experiment> experiments;
        std::optional<engine::prune::PruningPlan> current;
        {
            gui::MainWindow crashed(false);
            QVERIFY(openModel(crashed));
            QVERIFY(applyPreset(crashed, "patdnn-8"));
            QVERIFY(applyPreset(crashed, "tile-75"));
            crashed.project()->flushAutosave();
            experiments = crashed.experiments()->experiments();
            current = crashed.session()->currentPlan();
        }  // dropped without closing, as a crash would
        const QString recovery = views::recoveryPath();
        QVERIFY(QFile::exists(recovery));
        QVERIFY(gui::MainWindow::recoveryIsNewer(recovery, QDateTime()));
        QVERIFY(gui::MainWindow::recoveryIsNewer(recovery,
                                                 QDateTime::currentDateTimeUtc().addSecs(-3600)));
        QVERIFY(!gui::MainWindow::recoveryIsNewer(recovery,
                                                  QDateTime::currentDateTimeUtc().addSecs(3600)));
        QVERIFY(!gui::MainWindow::recoveryIsNewer(recovery + QStringLiteral(".none"), QDateTime()));

        gui::MainWindow w(false);
        QSignalSpy opened(w.project(), &views::ProjectManager::opened);
        QSignalSpy failed(w.project(), &views::ProjectManager::failed);
        w.restoreRecovery();
        QVERIFY2(opened.wait(kTimeoutMs), failed.isEmpty()
                                              ? "the recovery file did not open"
                                              : qPrintable(failed.front().front().toString()));
        QCOMPARE(w.experiments()->experiments(), experiments);
        QVERIFY(w.session()->currentPlan().has_value());
        QVERIFY(*w.session()->currentPlan() == *current);
        // Restored work is still unsaved work, not a project saved at the recovery path.
        QVERIFY(w.project()->path().isEmpty());
        QVERIFY(w.project()->isDirty());
        w.setUnsavedPrompt([](const QString&) { return Choice::Discard; });
    }

    void theRecoveryBarOffersAndRestores() {
        {
            gui::MainWindow crashed(false);
            QVERIFY(openModel(crashed));
            QVERIFY(applyPreset(crashed, "patdnn-8"));
            crashed.project()->flushAutosave();
        }
        gui::MainWindow w(false);
        // The last clean exit is earlier than the recovery file (or never recorded here).
        QSettings().remove(QStringLiteral("lastCleanExit"));
        QVERIFY(w.offerRecovery());
        QVERIFY(w.recoveryBar() && !w.recoveryBar()->isHidden());
        auto* restore = w.recoveryBar()->findChild<QPushButton*>(QStringLiteral("restore"));
        QVERIFY(restore);
        QSignalSpy opened(w.project(), &views::ProjectManager::opened);
        restore->click();
        QVERIFY(opened.wait(kTimeoutMs));
        QVERIFY(w.recoveryBar()->isHidden());
        QVERIFY(*w.session()->currentPlan() == engine::prune::presetPlan("patdnn-8").value());
        w.setUnsavedPrompt([](const QString&) { return Choice::Discard; });

        QFile::remove(views::recoveryPath());
        gui::MainWindow none(false);
        QVERIFY(!none.offerRecovery());
    }

    void panelShowsAnAppliedPreset() {
        gui::MainWindow w(false);
        w.setUnsavedPrompt([](const QString&) { return Choice::Discard; });
        QVERIFY(openModel(w));
        auto* preset =
            w.namedView(QStringLiteral("prune"))->findChild<QComboBox*>(QStringLiteral("preset"));
        QVERIFY(preset);
        QCOMPARE(preset->currentIndex(), 0);
        QSignalSpy applied(w.session(), &views::ModelSession::planApplied);
        w.session()->applyPlan(engine::prune::presetPlan("patdnn-8").value());
        QVERIFY(applied.wait(kTimeoutMs));
        QCOMPARE(preset->currentData().toString(), QStringLiteral("patdnn-8"));
    }

    void panelShowsAnAppliedCustomPlan() {
        gui::MainWindow w(false);
        w.setUnsavedPrompt([](const QString&) { return Choice::Discard; });
        QVERIFY(openModel(w));
        auto* panel = qobject_cast<views::PrunePanel*>(w.namedView(QStringLiteral("prune")));
        QVERIFY(panel);
        QVERIFY(panel->selectPreset(QStringLiteral("uniform-50")));

        // A tile-wise plan with every number moved off its default, so a panel left on its
        // defaults or on the preset cannot pass.
        const engine::prune::Scheme* scheme = engine::prune::findScheme("tile_wise");
        QVERIFY(scheme);
        engine::prune::ParamValues values;
        for (const engine::prune::ParamSpec& spec : scheme->params()) {
            if (spec.type != engine::prune::ParamSpec::Type::Real) continue;
            const double moved = spec.defaultNumber > 0.5 ? 0.4 : 0.6;
            QVERIFY(moved >= spec.min && moved <= spec.max);
            values.set(spec.key, moved);
        }
        engine::prune::PruningPlan plan;
        plan.defaultEntry = engine::prune::PlanEntry::make("tile_wise", values);
        QVERIFY(engine::prune::validatePlan(plan).ok());
        QVERIFY(applyPlan(w, plan));

        auto* preset = panel->findChild<QComboBox*>(QStringLiteral("preset"));
        QCOMPARE(preset->currentIndex(), 0);
        auto shown = panel->plan();
        QVERIFY(shown.ok());
        QCOMPARE(shown->defaultEntry.scheme, std::string("tile_wise"));
        for (const engine::prune::ParamSpec& spec : scheme->params()) {
            if (spec.type == engine::prune::ParamSpec::Type::Choice) continue;
            QCOMPARE(shown->defaultEntry.params.number(spec.key, -1),
                     values.number(spec.key, spec.defaultNumber));
        }
        // Undo to the preset before it: the panel follows.
        QVERIFY(applyPreset(w, "patdnn-8"));
        QSignalSpy applied(w.session(), &views::ModelSession::planApplied);
        w.session()->undoStack()->undo();
        QVERIFY(applied.count() > 0 || applied.wait(kTimeoutMs));
        QCOMPARE(panel->plan()->defaultEntry.scheme, std::string("tile_wise"));
        QCOMPARE(preset->currentIndex(), 0);
    }
};

QTEST_MAIN(TestUnsavedWork)
#include "tst_unsaved_work.moc"

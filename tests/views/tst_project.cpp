// .prunelab projects on BlazeFace (catalog id face-front, from the asset cache): a saved project
// reopens with the same plans and experiments, truncated, garbage and hostile files fail naming
// the file and leave the open session as it was, and autosave writes a valid project.
#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "engine/prune/plan.h"
#include "engine/tasks/catalog.h"
#include "tests/views/widgets_test_util.h"
#include "views/common/engine_text.h"
#include "views/compare/compare_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/session/project.h"

using namespace prunelab;
using views::Experiment;
using views::Project;

namespace {

constexpr int kTimeoutMs = 120'000;
const char* const kModel = "face-front";

bool modelCached() {
    return !views::testing::cachedModelFile(kModel).isEmpty();
}

// A window's worth of state: session, experiment log and project manager.
struct Workbench {
    views::ModelSession session{gui::workbenchOpener()};
    views::ExperimentLog log{&session};
    views::ProjectManager project{&session, &log};

    bool open() {
        QSignalSpy loaded(&session, &views::ModelSession::modelLoaded);
        session.openModel(QString::fromLatin1(kModel));
        return loaded.wait(kTimeoutMs);
    }
    bool apply(const char* preset) {
        auto plan = engine::prune::presetPlan(preset);
        if (!plan.ok()) return false;
        QSignalSpy applied(&session, &views::ModelSession::planApplied);
        log.applyPlan(plan.value());
        return applied.wait(kTimeoutMs);
    }
};

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), bytes.size());
}

}  // namespace

class TestProject : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // Recovery files go to a test location, never a person's own.
        QStandardPaths::setTestModeEnabled(true);
        if (!modelCached())
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
    }

    void savedProjectReopensExactly() {
        Workbench a;
        QVERIFY(a.open());
        QVERIFY(a.apply("patdnn-8"));
        QVERIFY(a.apply("tile-75"));
        a.log.setLatency(1.25, 2.5);
        a.log.setAccuracy(a.log.experiments()[0].id, 0.875, std::nullopt);
        // Undo to the first plan: the project must bring back the plan on screen, not the last.
        a.session.undoStack()->undo();
        const Project saved = a.project.snapshot();
        QCOMPARE(saved.experiments.size(), size_t{2});
        QCOMPARE(saved.history.size(), size_t{2});
        QVERIFY(saved.current.has_value());
        QCOMPARE(*saved.current, saved.experiments[0].plan);

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("blazeface.prunelab"));
        const engine::Status written = a.project.save(path);
        QVERIFY2(written.ok(), written.ok() ? "" : qPrintable(views::errorText(written.error())));
        QCOMPARE(a.project.path(), path);
        QVERIFY(!a.project.isDirty());
        auto read = views::readProject(path);
        QVERIFY(read.ok());
        QCOMPARE(read.value(), saved);

        Workbench b;
        QSignalSpy opened(&b.project, &views::ProjectManager::opened);
        QSignalSpy failed(&b.project, &views::ProjectManager::failed);
        b.project.open(path);
        QVERIFY2(opened.wait(kTimeoutMs), failed.isEmpty()
                                              ? "the project did not open"
                                              : qPrintable(failed.front().front().toString()));
        QCOMPARE(b.session.source(), QString::fromLatin1(kModel));
        QCOMPARE(b.log.experiments(), a.log.experiments());
        QCOMPARE(b.project.snapshot(), saved);
        QCOMPARE(*b.session.currentPlan(), *a.session.currentPlan());
        QCOMPARE(b.session.state().stats.kept, a.session.state().stats.kept);
        QCOMPARE(b.log.currentId(), a.log.experiments()[0].id);
        QVERIFY(!b.project.isDirty());
        QCOMPARE(b.project.path(), path);
        // New experiments continue the ids.
        QVERIFY(b.apply("uniform-75"));
        QCOMPARE(b.log.experiments().back().id, 3);
    }

    void aDenseProjectOpensUnchanged() {
        // No plan applied when saved: the model as opened is the project, nothing to autosave.
        Workbench a;
        QVERIFY(a.open());
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("dense.prunelab"));
        QVERIFY(a.project.save(path).ok());
        QVERIFY(!views::readProject(path)->current.has_value());
        Workbench b;
        QSignalSpy opened(&b.project, &views::ProjectManager::opened);
        b.project.open(path);
        QVERIFY(opened.wait(kTimeoutMs));
        QVERIFY(!b.session.currentPlan().has_value());
        QVERIFY(!b.project.isDirty());
        QCOMPARE(b.project.snapshot(), views::readProject(path).value());
    }

    void badProjectFilesFailNamingTheFile_data() {
        QTest::addColumn<QByteArray>("bytes");
        const Project valid{QString::fromLatin1(kModel), {}, std::nullopt, {}};
        const QByteArray good = views::projectToJson(valid);
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("truncated") << good.left(good.size() / 2);
        QTest::newRow("garbage") << QByteArray("\x89PNG\r\n\x1a\n\0\0garbage", 16);
        QTest::newRow("not ours") << QByteArray("{\"hello\": \"world\"}");
        QTest::newRow("newer version") << QByteArray(
            "{\"format\": \"prunelab-project\", \"version\": 99, \"model\": \"face-front\", "
            "\"history\": [], \"current\": null, \"experiments\": []}");
        QTest::newRow("bad plan") << QByteArray(
            "{\"format\": \"prunelab-project\", \"version\": 1, \"model\": \"face-front\", "
            "\"history\": [], \"current\": \"{\\\"version\\\": 1, \\\"default\\\": "
            "{\\\"scheme\\\": \\\"nope\\\"}}\", \"experiments\": []}");
        QTest::newRow("wrong types") << QByteArray(
            "{\"format\": \"prunelab-project\", \"version\": 1, \"model\": 7, \"history\": {}, "
            "\"current\": null, \"experiments\": []}");
        QTest::newRow("hostile experiment") << QByteArray(
            "{\"format\": \"prunelab-project\", \"version\": 1, \"model\": \"face-front\", "
            "\"history\": [], \"current\": null, \"experiments\": [{\"id\": 1e300, \"name\": "
            "\"x\"}]}");
    }

    void badProjectFilesFailNamingTheFile() {
        QFETCH(QByteArray, bytes);
        Workbench w;
        QVERIFY(w.open());
        QVERIFY(w.apply("patdnn-8"));
        const auto plan = w.session.currentPlan();
        const auto experiments = w.log.experiments();
        const auto kept = w.session.state().stats.kept;

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("broken.prunelab"));
        writeFile(path, bytes);
        QSignalSpy failed(&w.project, &views::ProjectManager::failed);
        QSignalSpy opened(&w.project, &views::ProjectManager::opened);
        w.project.open(path);
        // A bad file is refused before anything starts: the failure is immediate.
        QCOMPARE(failed.size(), 1);
        const QString message = failed.front().front().toString();
        QVERIFY2(message.contains(path), qPrintable(message));
        qInfo("%s", qPrintable(message));
        QVERIFY(!w.session.isBusy());
        QCOMPARE(opened.size(), 0);
        QCOMPARE(w.session.source(), QString::fromLatin1(kModel));
        QCOMPARE(w.session.currentPlan(), plan);
        QCOMPARE(w.session.state().stats.kept, kept);
        QCOMPARE(w.log.experiments(), experiments);
        QVERIFY(w.project.path().isEmpty());
    }

    void aProjectWhoseModelIsMissingLeavesTheSession() {
        Workbench w;
        QVERIFY(w.open());
        QVERIFY(w.apply("patdnn-8"));
        const auto experiments = w.log.experiments();
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("moved.prunelab"));
        const Project p{dir.filePath(QStringLiteral("gone.onnx")), {}, std::nullopt, {}};
        QVERIFY(views::writeProject(path, p).ok());
        QSignalSpy failed(&w.project, &views::ProjectManager::failed);
        w.project.open(path);
        QVERIFY(failed.wait(kTimeoutMs));
        QVERIFY2(failed.front().front().toString().contains(path),
                 qPrintable(failed.front().front().toString()));
        QCOMPARE(w.session.source(), QString::fromLatin1(kModel));
        QCOMPARE(w.log.experiments(), experiments);
    }

    void autosaveWritesAValidProject() {
        Workbench w;
        w.project.setAutosaveInterval(50);
        QVERIFY(w.open());
        QFile::remove(views::recoveryPath());
        QSignalSpy autosaved(&w.project, &views::ProjectManager::autosaved);
        QVERIFY(w.apply("patdnn-8"));
        QVERIFY(w.project.isDirty());
        QVERIFY(autosaved.wait(5'000));
        // Unsaved: the recovery file, under the application's data folder.
        QCOMPARE(autosaved.front().front().toString(), views::recoveryPath());
        auto recovered = views::readProject(views::recoveryPath());
        QVERIFY(recovered.ok());
        QCOMPARE(recovered.value(), w.project.snapshot());

        // Saved: later changes autosave into the project's own file.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("auto.prunelab"));
        QVERIFY(w.project.save(path).ok());
        autosaved.clear();
        QVERIFY(w.apply("tile-75"));
        QVERIFY(autosaved.wait(5'000));
        QCOMPARE(autosaved.front().front().toString(), path);
        auto onDisk = views::readProject(path);
        QVERIFY(onDisk.ok());
        QCOMPARE(onDisk->experiments.size(), size_t{2});
        QCOMPARE(onDisk.value(), w.project.snapshot());
        QVERIFY(!w.project.isDirty());
        QFile::remove(views::recoveryPath());
    }

    void theWindowOpensAProjectGivenAsItsModel() {
        // What `prunelab PROJECT.prunelab` does: the window's openModel takes a project.
        Workbench a;
        QVERIFY(a.open());
        QVERIFY(a.apply("tile-75"));
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("window.prunelab"));
        QVERIFY(a.project.save(path).ok());

        gui::MainWindow window(/*interactive=*/false);
        QSignalSpy opened(window.project(), &views::ProjectManager::opened);
        window.openModel(path);
        QVERIFY(opened.wait(kTimeoutMs));
        QCOMPARE(window.experiments()->experiments(), a.log.experiments());
        QCOMPARE(*window.session()->currentPlan(), *a.session.currentPlan());
        QVERIFY(window.windowTitle().contains(QStringLiteral("window.prunelab")));
        // The Compare tab shows the restored experiment.
        QVERIFY(window.namedView(QStringLiteral("compare")) != nullptr);
        QCOMPARE(window.analysisTabs()->compareView()->model()->rowCount(), 1);
    }

    void writesAreAtomic() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("keep.prunelab"));
        const Project p{QString::fromLatin1(kModel), {}, std::nullopt, {}};
        QVERIFY(views::writeProject(path, p).ok());
        // A write that cannot complete (its folder is gone) reports the path and leaves no file.
        const QString missing = dir.filePath(QStringLiteral("gone/x.prunelab"));
        const engine::Status failed = views::writeProject(missing, p);
        QVERIFY(!failed.ok());
        QVERIFY(views::errorText(failed.error()).contains(missing));
        QVERIFY(!QFile::exists(missing));
        QCOMPARE(views::readProject(path).value(), p);
    }
};

QTEST_MAIN(TestProject)
#include "tst_project.moc"

// Classroom mode on BlazeFace (face-back) and vtest.avi: the page hides the researcher's
// controls, its slider re-prunes the small brain while the video runs, the teacher's keys leave
// the mode, the mode is remembered, nothing a child presses saves a file, closing keeps the work,
// and the window fits 1024x768. Offscreen; generic sparse kernels keep the compiles short.
#include <QAction>
#include <QFile>
#include <QMenuBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>

#include "app/gui/appearance.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "app/gui/shortcuts_dialog.h"
#include "engine/prune/plan.h"
#include "tests/test_cache.h"
#include "views/classroom/classroom_view.h"
#include "views/live/live_pane.h"
#include "views/live/live_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/session/project.h"

using namespace prunelab;
using views::ClassroomView;
using views::LiveView;

namespace {

constexpr int kTimeoutMs = 180'000;  // a busy 2-core machine compiling while the tests run
const char* const kModel = "face-back";

views::LiveSetup setup() {
    views::LiveSetup s;
    s.entryFor = gui::catalogEntryFor;
    s.bundledVideo = QString::fromStdString(testing::cacheDir() + "/video/vtest.avi");
    return s;
}

// Short compiles: the generic sparse kernels, no measured decision, one thread.
void quick(LiveView* live) {
    live->setGenerated(false);
    live->setMeasured(false);
    live->setThreads(1);
}

bool openModel(gui::MainWindow& w, const QString& source) {
    QSignalSpy loaded(w.session(), &views::ModelSession::modelLoaded);
    w.openModel(source);
    return loaded.wait(kTimeoutMs);
}

bool applyPreset(gui::MainWindow& w, const char* preset) {
    QSignalSpy applied(w.session(), &views::ModelSession::planApplied);
    w.experiments()->applyPlan(engine::prune::presetPlan(preset).value());
    return applied.wait(kTimeoutMs);
}

QByteArray contents(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The researcher's controls of the Live tab, by their object names.
const char* const kLiveControls[] = {"liveSource",  "liveResolution", "liveTarget", "liveReference",
                                     "liveThreads", "liveStart",      "liveRecord", "liveRate",
                                     "liveSpeedup", "liveStatus"};

void showActive(QWidget& w) {
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
}

}  // namespace

class TestClassroom : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // The settings and the recovery file go to a test location, never a person's own.
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_classroom"));
        QSettings().clear();
        QVERIFY2(std::filesystem::exists(testing::cacheDir() + "/video/vtest.avi"),
                 "vtest.avi is missing: run ./prunelab setup");
    }

    void init() { QFile::remove(views::recoveryPath()); }
    void cleanup() { QSettings().clear(); }

    void thePageShowsOnlyTheTwoBrains() {
        views::ModelSession session(gui::workbenchOpener());
        ClassroomView room(&session, setup());
        room.setExitKeys(QStringLiteral("Ctrl+Shift+Q"));
        room.resize(1024, 768);
        room.show();
        QVERIFY(QTest::qWaitForWindowExposed(&room));
        QVERIFY(room.liveView()->isClassroomPresentation());
        for (const char* name : kLiveControls) {
            auto* control = room.liveView()->findChild<QWidget*>(QString::fromLatin1(name));
            QVERIFY2(control, name);
            QVERIFY2(!control->isVisible(), name);
        }
        QVERIFY(room.liveView()->paneA()->isVisible());
        QVERIFY(room.liveView()->paneB()->isVisible());
        QVERIFY(room.slider()->isVisible());
        QVERIFY2(room.exitHint().contains(QStringLiteral("Ctrl+Shift+Q")),
                 qPrintable(room.exitHint()));
        // The page alone fits a 1024x768 projector.
        QVERIFY2(room.minimumSizeHint().width() <= 1024 && room.minimumSizeHint().height() <= 768,
                 qPrintable(QStringLiteral("%1x%2")
                                .arg(room.minimumSizeHint().width())
                                .arg(room.minimumSizeHint().height())));
    }

    void itsSliderReprunesTheSmallBrainWhileTheVideoRuns() {
        views::ModelSession session(gui::workbenchOpener());
        QSignalSpy loaded(&session, &views::ModelSession::modelLoaded);
        session.openModel(QString::fromLatin1(kModel));
        QVERIFY2(loaded.wait(kTimeoutMs), "face-back did not open");
        ClassroomView room(&session, setup());
        quick(room.liveView());
        room.resize(1024, 768);
        room.show();
        room.setActive(true);
        QTRY_VERIFY_WITH_TIMEOUT(room.liveView()->framesShown() >= 3, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(room.thumbnailsMade() >= 1, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(room.speedMeter()->speedup() > 0, kTimeoutMs);
        QVERIFY(room.thumbnail()->hasData());
        QVERIFY2(room.liveView()->paneB()->numbers().contains(QStringLiteral("pictures a second")),
                 qPrintable(room.liveView()->paneB()->numbers()));
        QVERIFY(room.removedShare() > 0 && room.removedShare() < 1);

        const double removedBefore = room.removedShare();
        const int thumbnails = room.thumbnailsMade();
        const int swaps = room.liveView()->laneSwaps();
        room.setRemoveShare(0.3);  // a child drags the slider to the left
        QCOMPARE(room.liveView()->pruningRate(), 0.3);
        QTRY_VERIFY_WITH_TIMEOUT(room.liveView()->laneSwaps() > swaps, kTimeoutMs);
        QCOMPARE(room.liveView()->state(), LiveView::State::Running);  // never stopped
        QTRY_VERIFY_WITH_TIMEOUT(room.thumbnailsMade() > thumbnails, kTimeoutMs);
        QVERIFY2(
            room.removedShare() < removedBefore,
            qPrintable(QStringLiteral("%1 then %2").arg(removedBefore).arg(room.removedShare())));
        const int at = room.liveView()->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(room.liveView()->framesShown() >= at + 3, kTimeoutMs);

        room.setActive(false);
        QTRY_COMPARE_WITH_TIMEOUT(room.liveView()->state(), LiveView::State::Idle, kTimeoutMs);
    }

    void theModeHidesTheWorkbenchAndFits1024x768() {
        gui::MainWindow window(/*interactive=*/false);
        QVERIFY(openModel(window, QString::fromLatin1(kModel)));
        quick(window.classroomView()->liveView());
        window.resize(1024, 768);
        showActive(window);
        QVERIFY(window.layerTable()->isVisible());
        QVERIFY(window.menuBar()->isVisible());

        window.setClassroomMode(true);
        QVERIFY(window.classroomMode());
        QCOMPARE(window.page(), gui::MainWindow::Page::Classroom);
        QVERIFY(window.classroomView()->isVisible());
        QVERIFY(window.classroomView()->isActive());
        QVERIFY(!window.layerTable()->isVisible());
        QVERIFY(!window.namedView(QStringLiteral("prune"))->isVisible());
        QVERIFY(!window.liveView()->isVisible());
        QCOMPARE(window.liveView()->state(), LiveView::State::Idle);  // one demo at a time
        QVERIFY(!window.menuBar()->isVisible());
        QVERIFY(!window.menuBar()->isEnabled());  // its actions' keys go with it
        QVERIFY(!window.statusBar()->isVisible());
        for (const char* name : kLiveControls) {
            auto* control =
                window.classroomView()->liveView()->findChild<QWidget*>(QString::fromLatin1(name));
            QVERIFY2(control && !control->isVisible(), name);
        }
        // The keys are named on the page as the window binds them.
        QVERIFY2(window.classroomView()->exitHint().contains(
                     gui::MainWindow::classroomKeys().toString(QKeySequence::NativeText)),
                 qPrintable(window.classroomView()->exitHint()));
        const QSize min = window.minimumSizeHint().expandedTo(window.minimumSize());
        QVERIFY2(min.width() <= 1024 && min.height() <= 768,
                 qPrintable(QStringLiteral("%1x%2").arg(min.width()).arg(min.height())));
        // The page's own demo runs on the workbench's model.
        QTRY_VERIFY_WITH_TIMEOUT(window.classroomView()->liveView()->framesShown() >= 2,
                                 kTimeoutMs);
    }

    void theTeachersKeysLeaveTheMode() {
        gui::MainWindow window(/*interactive=*/false);
        QVERIFY(openModel(window, QString::fromLatin1(kModel)));
        quick(window.classroomView()->liveView());
        showActive(window);
        window.setClassroomMode(true);
        QVERIFY(window.classroomMode());
        // The menu bar is hidden: the keys must still reach the window.
        const QKeySequence keys = gui::MainWindow::classroomKeys();
        QTest::keySequence(&window, keys);
        QTRY_VERIFY_WITH_TIMEOUT(!window.classroomMode(), 5000);
        QCOMPARE(window.page(), gui::MainWindow::Page::Workbench);
        QVERIFY(window.menuBar()->isVisible() && window.menuBar()->isEnabled());
        QVERIFY(window.statusBar()->isVisible());
        QVERIFY(window.layerTable()->isVisible());
        QTRY_COMPARE_WITH_TIMEOUT(window.classroomView()->liveView()->state(),
                                  LiveView::State::Idle, kTimeoutMs);
        // Escape, what a child presses first, does not leave it.
        window.setClassroomMode(true);
        QTest::keyClick(&window, Qt::Key_Escape);
        QVERIFY(window.classroomMode());
        // And the keys are in the shortcuts list, once (tst_settings fails on a key taken twice).
        int owners = 0;
        for (QAction* a : gui::actionsWithShortcuts(&window))
            if (a->shortcuts().contains(keys)) ++owners;
        QCOMPARE(owners, 1);
    }

    void nothingAChildPressesSavesAFile() {
        gui::MainWindow window(/*interactive=*/false);
        QVERIFY(openModel(window, QString::fromLatin1(kModel)));
        quick(window.classroomView()->liveView());
        window.project()->setAutosaveInterval(3'600'000);  // only a key could write the file
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("lesson.prunelab"));
        QVERIFY(window.project()->save(path).ok());
        const QByteArray saved = contents(path);
        QVERIFY(!saved.isEmpty());
        QVERIFY(applyPreset(window, "uniform-50"));
        QVERIFY(window.project()->isDirty());
        showActive(window);

        window.setClassroomMode(true);
        QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
        QTest::qWait(300);
        QCOMPARE(contents(path), saved);
        QVERIFY(window.project()->isDirty());

        // The same key outside the mode does save: the check above could fail.
        window.setClassroomMode(false);
        QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
        QTRY_VERIFY_WITH_TIMEOUT(!window.project()->isDirty(), 10'000);
        QVERIFY(contents(path) != saved);
    }

    void closingInTheModeKeepsTheWorkWithoutAsking() {
        gui::MainWindow window(/*interactive=*/false);
        int asked = 0;
        window.setUnsavedPrompt([&asked](const QString&) {
            ++asked;
            return gui::MainWindow::UnsavedChoice::Cancel;
        });
        QVERIFY(openModel(window, QString::fromLatin1(kModel)));
        quick(window.classroomView()->liveView());
        window.project()->setAutosaveInterval(3'600'000);
        QVERIFY(applyPreset(window, "uniform-50"));
        QVERIFY(window.project()->isDirty());
        window.show();
        window.setClassroomMode(true);
        QVERIFY(!QFile::exists(views::recoveryPath()));
        QVERIFY(window.close());  // a child closing the window
        QCOMPARE(asked, 0);       // no Save button to press
        QVERIFY(QFile::exists(views::recoveryPath()));
    }

    void enteringWithNoModelOpensTheZoomDemo() {
        gui::MainWindow window(/*interactive=*/false);
        quick(window.classroomView()->liveView());
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.setClassroomMode(true);
        QVERIFY2(loaded.wait(kTimeoutMs), "zoom-x2 did not open");
        QCOMPARE(window.session()->source(), QStringLiteral("zoom-x2"));
        // Opening a model asks for the workbench; the classroom keeps the screen.
        QCOMPARE(window.page(), gui::MainWindow::Page::Classroom);
        window.setClassroomMode(false);
        QCOMPARE(window.page(), gui::MainWindow::Page::Workbench);
        QTRY_COMPARE_WITH_TIMEOUT(window.classroomView()->liveView()->state(),
                                  LiveView::State::Idle, kTimeoutMs);
    }

    void theModeIsRememberedForAPersonsNextSession() {
        {
            // Screenshots and tests do not change what a person's next session starts in.
            gui::MainWindow window(/*interactive=*/false);
            QVERIFY(openModel(window, QString::fromLatin1(kModel)));
            quick(window.classroomView()->liveView());
            window.setClassroomMode(true);
            QVERIFY(!gui::loadClassroomMode());
        }
        gui::MainWindow window(/*interactive=*/true);
        QVERIFY(openModel(window, QString::fromLatin1(kModel)));
        quick(window.classroomView()->liveView());
        QAction* action = nullptr;
        for (QAction* a : gui::actionsWithShortcuts(&window))
            if (gui::actionName(a) == QStringLiteral("Classroom Mode")) action = a;
        QVERIFY(action);
        action->trigger();  // View > Classroom Mode
        QVERIFY(window.classroomMode());
        QVERIFY(gui::loadClassroomMode());
        QVERIFY(QSettings().value(QStringLiteral("classroom/on")).toBool());
        window.setClassroomMode(false);
        QVERIFY(!action->isChecked());
        QVERIFY(!gui::loadClassroomMode());
    }
};

QTEST_MAIN(TestClassroom)
#include "tst_classroom.moc"

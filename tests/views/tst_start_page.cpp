// The start page on the real window and the real catalog models: a window without a model shows
// it, each demo card opens its model and starts the Live tab, the open card asks the (injected)
// file chooser, a recent project reopens, a drop lands on the window, File > Start Page returns.
#include <QAction>
#include <QDockWidget>
#include <QDropEvent>
#include <QMenuBar>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "plugins/model-files/demo_models.h"
#include "plugins/model-files/model_loader.h"
#include "tests/test_cache.h"
#include "views/live/live_view.h"
#include "views/session/model_session.h"
#include "views/session/project.h"
#include "views/start/start_page.h"

using namespace prunelab;
using prunelab::testing::cacheDir;
using Page = gui::MainWindow::Page;

namespace {

// Generous: a busy 2-core machine opens PP-OCR and builds a live lane in seconds, not minutes.
constexpr int kTimeoutMs = 180'000;

QString faceFrontFile() {
    return QString::fromStdString(cacheDir() +
                                  "/models/blazeface/face_detection_front_128x128_barracuda.onnx");
}

QAction* findAction(QWidget* window, const QString& text) {
    for (QAction* a : window->findChildren<QAction*>())
        if (a->text() == text) return a;
    return nullptr;
}

bool pruneDockShown(gui::MainWindow& window) {
    auto* dock = window.findChild<QDockWidget*>(QStringLiteral("pruneDock"));
    return dock && dock->isVisibleTo(&window);
}

}  // namespace

class TestStartPage : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_start_page"));
        QSettings().clear();
        if (!std::filesystem::exists(cacheDir() + "/models/blazeface")) {
            QSKIP("BlazeFace is not in the asset cache: run ./prunelab setup");
        }
    }
    void cleanupTestCase() { QSettings().clear(); }

    void windowWithoutAModelShowsTheStartPage() {
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1024, 768);
        window.show();
        QCOMPARE(window.page(), Page::Start);
        QVERIFY(window.startPage() && window.startPage()->isVisible());
        QVERIFY(!pruneDockShown(window));
        for (const char* id : {"zoom-x2", "face-back", "text-finder"})
            QVERIFY2(window.startPage()->demoButton(QString::fromLatin1(id)), id);
        // The page scrolls rather than setting the window's size: it fits a 1024x768 projector.
        const QSize min = window.startPage()->minimumSizeHint();
        QVERIFY2(min.width() <= 1024 && min.height() <= 700,
                 qPrintable(QStringLiteral("%1x%2").arg(min.width()).arg(min.height())));
    }

    // Each card opens its catalog model and starts the Live tab on it; going back to the start
    // page stops the demo, and a demo clicked while another runs waits for it to stop.
    void demoCardsOpenWhatTheySay() {
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1280, 720);
        window.show();
        views::LiveView* live = window.liveView();
        // The generic sparse kernels: the test checks what opens, not the compiler's speed.
        live->setGenerated(false);
        live->setMeasured(false);
        QSignalSpy failed(live, &views::LiveView::failed);
        QSignalSpy states(live, &views::LiveView::stateChanged);
        // A start after the click: the demo before it may still be stopping (not Idle yet).
        auto started = [&states] {
            for (const QList<QVariant>& s : states)
                if (s.front().value<views::LiveView::State>() == views::LiveView::State::Preparing)
                    return true;
            return false;
        };
        // What the tab chose by itself: a camera when there is one, else the bundled video.
        const QString defaultSource = live->source();
        QAction* startPage = findAction(&window, QStringLiteral("Start &Page"));
        QVERIFY(startPage);

        for (const char* name : {"face-back", "zoom-x2", "text-finder"}) {
            const QString id = QString::fromLatin1(name);
            states.clear();
            if (id == QStringLiteral("zoom-x2")) {
                // Straight from the running face demo: it stops after its frame, then this one
                // starts.
                QCOMPARE(live->state(), views::LiveView::State::Running);
                window.openDemo(id);
            } else {
                startPage->trigger();
                QCOMPARE(window.page(), Page::Start);
                QVERIFY(!pruneDockShown(window));
                QPushButton* button = window.startPage()->demoButton(id);
                QVERIFY2(button, name);
                QTest::mouseClick(button, Qt::LeftButton);
            }
            QTRY_VERIFY_WITH_TIMEOUT(
                window.session()->hasModel() && window.session()->source() == id, kTimeoutMs);
            QTRY_VERIFY_WITH_TIMEOUT(started(), kTimeoutMs);
            QCOMPARE(window.page(), Page::Workbench);
            QVERIFY(pruneDockShown(window));
            QCOMPARE(window.analysisTabs()->currentWidget(), live);

            auto catalog = plugins::bundledCatalog();
            QVERIFY(catalog.ok());
            const engine::CatalogEntry* entry = (*catalog)->find(name);
            QVERIFY(entry);
            // A bundled retrained model is the session's state (the sparsity views and lane B);
            // without one the session stays as opened and lane B prunes it.
            if (entry->demo && plugins::demoModelPath(*entry).ok()) {
                QTRY_VERIFY_WITH_TIMEOUT(!window.session()->state().trainedModel.isEmpty(),
                                         kTimeoutMs);
                QCOMPARE(window.session()->state().trainedModel,
                         QString::fromStdString(*plugins::demoModelPath(*entry)));
            } else {
                QVERIFY(window.session()->state().trainedModel.isEmpty());
            }
            const QString photo = QString::fromStdString(cacheDir() + "/" + entry->sample);
            if (id == QStringLiteral("text-finder") &&
                !live->source().startsWith(QStringLiteral("camera:"))) {
                // The bundled video has no text in it: the text finder reads its photo.
                QCOMPARE(live->source(), photo);
            } else {
                QCOMPARE(live->source(), defaultSource);
            }
            // The fastest model: its frames show the demo really runs.
            if (id == QStringLiteral("face-back"))
                QTRY_VERIFY_WITH_TIMEOUT(live->framesShown() >= 1, kTimeoutMs);
        }
        QCOMPARE(failed.count(), 0);
        live->stop();
        QTRY_VERIFY_WITH_TIMEOUT(live->state() == views::LiveView::State::Idle, kTimeoutMs);
    }

    void openCardCallsTheFileChooser() {
        gui::MainWindow window(/*interactive=*/false);
        window.show();
        int asked = 0;
        QString answer;  // the first time: cancelled
        window.setFileChooser([&] {
            ++asked;
            return answer;
        });
        auto* card = window.startPage()->findChild<views::StartCard*>(QStringLiteral("openCard"));
        QVERIFY(card);
        // Anywhere on the card, not only its button.
        QTest::mouseClick(card, Qt::LeftButton, {}, QPoint(4, card->height() / 2));
        QCOMPARE(asked, 1);
        QCOMPARE(window.page(), Page::Start);

        answer = faceFrontFile();
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        auto* open = window.startPage()->findChild<QPushButton*>(QStringLiteral("openFile"));
        QVERIFY(open);
        QTest::mouseClick(open, Qt::LeftButton);
        QCOMPARE(asked, 2);
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(window.page(), Page::Workbench);
        QCOMPARE(window.session()->source(), answer);
    }

    // Qt hands a drop to the nearest widget that accepts drops: nothing on the start page may,
    // so a file dropped on a card reaches the window.
    void dropOnTheStartPageOpensTheFile() {
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1024, 768);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        views::StartPage* page = window.startPage();
        for (QWidget* w : page->findChildren<QWidget*>())
            QVERIFY2(!w->acceptDrops(), qPrintable(w->objectName()));
        QWidget* under = page->childAt(page->rect().center());
        QVERIFY(under);
        while (under && !under->acceptDrops()) under = under->parentWidget();
        QCOMPARE(under, &window);

        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(faceFrontFile())});
        const QPoint at = window.mapFromGlobal(page->mapToGlobal(page->rect().center()));
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &drop);
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(window.page(), Page::Workbench);
    }

    void recentProjectReopens() {
        QTemporaryDir dir;
        const QString project = dir.filePath(QStringLiteral("class.prunelab"));
        {
            gui::MainWindow first(/*interactive=*/false);
            QSignalSpy loaded(first.session(), &views::ModelSession::modelLoaded);
            first.openModel(QStringLiteral("face-front"));
            QVERIFY(loaded.wait(kTimeoutMs));
            QVERIFY(first.project()->save(project).ok());
        }
        const QString gone = dir.filePath(QStringLiteral("gone.onnx"));
        QSettings().setValue(QLatin1String(gui::kRecentFilesKey),
                             QStringList{project, QStringLiteral("face-back"), gone});

        // Interactive: a screenshot or test window lists nothing, whoever's settings it runs on.
        QVERIFY(gui::MainWindow(/*interactive=*/false).startPage()->recentButtons().isEmpty());
        gui::MainWindow window(/*interactive=*/true);
        window.show();
        const QList<QPushButton*> recent = window.startPage()->recentButtons();
        QCOMPARE(recent.size(), 3);
        QVERIFY(recent[0]->text().contains(QStringLiteral("class.prunelab")));
        QVERIFY(recent[1]->isEnabled());
        QVERIFY2(!recent[2]->isEnabled(), "a file that is gone is listed, not clickable");
        QSignalSpy opened(window.project(), &views::ProjectManager::opened);
        QTest::mouseClick(recent[0], Qt::LeftButton);
        QVERIFY(opened.wait(kTimeoutMs));
        QCOMPARE(window.project()->path(), project);
        QTRY_COMPARE(window.session()->source(), QStringLiteral("face-front"));
        QTRY_COMPARE(window.page(), Page::Workbench);

        // The cleared list empties the card the next time the page shows.
        QSettings().remove(QLatin1String(gui::kRecentFilesKey));
        QAction* startPage = findAction(&window, QStringLiteral("Start &Page"));
        QVERIFY(startPage);
        QCOMPARE(startPage->shortcut(), QKeySequence(QStringLiteral("Alt+Home")));
        QSignalSpy changed(&window, &gui::MainWindow::pageChanged);
        startPage->trigger();
        QCOMPARE(window.page(), Page::Start);
        QCOMPARE(changed.count(), 1);
        QVERIFY(window.startPage()->recentButtons().isEmpty());
        // The model stays open behind the cards; opening one goes back to the workbench.
        QVERIFY(window.session()->hasModel());
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.openModel(QStringLiteral("face-front"));
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(window.page(), Page::Workbench);
    }
};

QTEST_MAIN(TestStartPage)
#include "tst_start_page.moc"

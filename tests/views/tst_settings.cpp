// Edit > Settings, Help > Keyboard Shortcuts and the views under the dark palette: the dialog
// writes QSettings and the window applies each change at once (and a new window starts from
// them), every shortcut is listed and none is taken twice, and the views paint dark on dark.
#include <QAction>
#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QDir>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QThread>
#include <QtTest>

#include "app/gui/analysis_tabs.h"
#include "app/gui/appearance.h"
#include "app/gui/main_window.h"
#include "app/gui/settings_dialog.h"
#include "app/gui/shortcuts_dialog.h"
#include "views/compare/compare_view.h"
#include "views/kernels/cpp_highlighter.h"
#include "views/kernels/kernels_view.h"
#include "views/patterns/pattern_view.h"
#include "views/session/project.h"
#include "views/sparsity/density_strip.h"
#include "views/sparsity/sparsity_view.h"
#include "views/speed/speed_view.h"

using namespace prunelab;

namespace {

QAction* actionNamed(QWidget* window, const QString& name) {
    for (QAction* a : window->findChildren<QAction*>())
        if (gui::actionName(a) == name) return a;
    return nullptr;
}

// The mean lightness of a widget as drawn, over a grid of its pixels (text and lines are few).
int meanLightness(QWidget* widget) {
    widget->resize(400, 300);
    const QImage image = widget->grab().toImage();
    if (image.isNull()) return -1;
    long sum = 0, n = 0;
    for (int y = 2; y < image.height() - 2; y += 5)
        for (int x = 2; x < image.width() - 2; x += 5, ++n)
            sum += QColor(image.pixel(x, y)).lightness();
    return n ? static_cast<int>(sum / n) : -1;
}

// With PRUNELAB_VIEWS_DUMP=<folder> set, saves a picture of `widget` there for a person to look
// at without a display (as the other view tests do).
void dumpForReview(QWidget* widget, const QString& name) {
    const QString folder = qEnvironmentVariable("PRUNELAB_VIEWS_DUMP");
    if (folder.isEmpty()) return;
    QDir().mkpath(folder);
    widget->grab().save(QDir(folder).filePath(name + QStringLiteral(".png")));
}

}  // namespace

class TestSettings : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // Keeps the test's settings away from a person's own.
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_settings"));
        QSettings().clear();
    }

    void cleanup() {
        QSettings().clear();
        gui::applyAppearance({});
    }

    void dialogWritesAndWindowApplies() {
        gui::MainWindow window(/*interactive=*/false);
        // A screenshot or test window starts from the defaults, whatever QSettings holds.
        QCOMPARE(window.settings().measureThreads, 0);
        QCOMPARE(window.analysisTabs()->measureThreads(), std::max(1, QThread::idealThreadCount()));
        QCOMPARE(window.project()->autosaveInterval(), 30'000);

        gui::SettingsDialog* dialog = window.showSettingsDialog();
        QVERIFY(dialog && dialog->isVisible());
        QCOMPARE(window.showSettingsDialog(), dialog);  // one per window

        dialog->threadsBox()->setValue(3);
        QCOMPARE(QSettings().value(QStringLiteral("measure/threads")).toInt(), 3);
        QCOMPARE(window.analysisTabs()->measureThreads(), 3);
        dialog->runsBox()->setValue(7);
        QCOMPARE(QSettings().value(QStringLiteral("measure/runs")).toInt(), 7);
        QCOMPARE(window.analysisTabs()->measureRuns(), 7);
        dialog->autosaveBox()->setValue(12);
        QCOMPARE(QSettings().value(QStringLiteral("project/autosaveSeconds")).toInt(), 12);
        QCOMPARE(window.project()->autosaveInterval(), 12'000);

        QAction* darkAction = actionNamed(&window, QStringLiteral("Dark Palette"));
        QVERIFY(darkAction);
        QVERIFY(!darkAction->isChecked());
        dialog->darkBox()->setChecked(true);
        QVERIFY(QSettings().value(QStringLiteral("appearance/dark")).toBool());
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 128);
        QVERIFY(gui::currentAppearance().dark);
        QVERIFY(darkAction->isChecked());  // the View menu follows the dialog
        // ... and the dialog the View menu.
        darkAction->setChecked(false);
        QVERIFY(!dialog->darkBox()->isChecked());
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 128);
        dumpForReview(dialog, QStringLiteral("settings_dialog"));
        dialog->projectorBox()->setChecked(true);
        QVERIFY(gui::currentAppearance().projector);
        QVERIFY(QSettings().value(QStringLiteral("appearance/projector")).toBool());

        // 0 threads: one per core.
        dialog->threadsBox()->setValue(0);
        QCOMPARE(window.analysisTabs()->measureThreads(), std::max(1, QThread::idealThreadCount()));
        dialog->threadsBox()->setValue(2);

        // A person's window starts from what was saved.
        gui::MainWindow next(/*interactive=*/true);
        QCOMPARE(next.settings().measureThreads, 2);
        QCOMPARE(next.analysisTabs()->measureThreads(), 2);
        QCOMPARE(next.analysisTabs()->measureRuns(), 7);
        QCOMPARE(next.project()->autosaveInterval(), 12'000);
    }

    void clearRecentFiles() {
        QSettings().setValue(QLatin1String(gui::kRecentFilesKey),
                             QStringList{QStringLiteral("/tmp/a.onnx")});
        gui::MainWindow window(/*interactive=*/false);
        QMenu* openRecent = nullptr;
        for (QMenu* m : window.findChildren<QMenu*>())
            if (m->title() == QStringLiteral("Open &Recent")) openRecent = m;
        QVERIFY(openRecent);
        QVERIFY(openRecent->isEnabled());
        window.showSettingsDialog()->clearRecentButton()->click();
        QVERIFY(QSettings().value(QLatin1String(gui::kRecentFilesKey)).toStringList().isEmpty());
        QVERIFY(!openRecent->isEnabled());
    }

    void outOfRangeValuesAreClamped() {
        QSettings stored;
        stored.setValue(QStringLiteral("measure/runs"), 0);
        stored.setValue(QStringLiteral("measure/threads"), -4);
        stored.setValue(QStringLiteral("project/autosaveSeconds"), 1);
        const gui::WorkbenchSettings s = gui::loadSettings();
        QCOMPARE(s.measureRuns, gui::WorkbenchSettings::kMinRuns);
        QCOMPARE(s.measureThreads, 0);
        QCOMPARE(s.autosaveSeconds, gui::WorkbenchSettings::kMinAutosaveSeconds);
    }

    void shortcutsListedAndUnique() {
        gui::MainWindow window(/*interactive=*/false);
        const QList<QAction*> listed = gui::actionsWithShortcuts(&window);
        // Every action of the window with a shortcut, found independently of the dialog's walk.
        QSet<QAction*> all;
        for (QAction* a : window.findChildren<QAction*>())
            if (!a->shortcuts().isEmpty()) all.insert(a);
        QCOMPARE(QSet<QAction*>(listed.begin(), listed.end()), all);

        const QList<QShortcut*> viewShortcuts = gui::namedShortcuts(&window);
        QVERIFY(!viewShortcuts.isEmpty());  // the sparsity map's zoom keys
        QHash<QString, QString> owner;      // key -> action name
        auto claim = [&owner](const QList<QKeySequence>& keys, const QString& name) {
            for (const QKeySequence& k : keys) {
                const QString key = k.toString(QKeySequence::PortableText);
                if (owner.contains(key))
                    return QStringLiteral("%1 is both %2 and %3").arg(key, owner.value(key), name);
                owner.insert(key, name);
            }
            return QString();
        };
        for (QAction* a : listed) {
            const QString clash = claim(a->shortcuts(), gui::actionName(a));
            QVERIFY2(clash.isEmpty(), qPrintable(clash));
        }
        for (QShortcut* s : viewShortcuts) {
            const QString clash = claim(s->keys(), s->whatsThis());
            QVERIFY2(clash.isEmpty(), qPrintable(clash));
        }
        // The ones the workbench promises.
        for (const char* key : {"Ctrl+O", "Ctrl+S", "Ctrl+Z", "Ctrl+Return", "Ctrl+R", "F5", "F11",
                                "Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5"}) {
            QVERIFY2(owner.contains(QString::fromLatin1(key)), key);
        }
        QVERIFY(actionNamed(&window, QStringLiteral("Settings")));
        QVERIFY(!actionNamed(&window, QStringLiteral("Settings"))->shortcut().isEmpty());
        QVERIFY(!actionNamed(&window, QStringLiteral("Save Project As"))->shortcut().isEmpty());
        QVERIFY(!actionNamed(&window, QStringLiteral("Redo"))->shortcut().isEmpty());

        gui::ShortcutsDialog* dialog = window.showShortcutsDialog();
        QTableWidget* table = dialog->table();
        dumpForReview(dialog, QStringLiteral("shortcuts_dialog"));
        QCOMPARE(table->rowCount(), static_cast<int>(listed.size() + viewShortcuts.size()));
        for (int row = 0; row < static_cast<int>(listed.size()); ++row) {
            const QAction* a = listed[row];
            QCOMPARE(table->item(row, 0)->text(), gui::actionName(a));
            QVERIFY(table->item(row, 1)->text().contains(
                a->shortcut().toString(QKeySequence::NativeText)));
        }
        const int last = table->rowCount() - 1;
        QCOMPARE(table->item(last, 0)->text(), viewShortcuts.back()->whatsThis());
        dialog->close();
    }

    void tabShortcutSwitchesTab() {
        gui::MainWindow window(/*interactive=*/false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
        QCOMPARE(window.analysisTabs()->currentIndex(), 2);
        QTest::keyClick(&window, Qt::Key_1, Qt::ControlModifier);
        QCOMPARE(window.analysisTabs()->currentIndex(), 0);
    }

    void viewsFollowThePalette() {
        gui::MainWindow window(/*interactive=*/false);
        gui::AnalysisTabs* tabs = window.analysisTabs();
        QList<QPair<const char*, QWidget*>> views = {
            {"sparsity map viewport", tabs->sparsityView()->map()->viewport()},
            {"density strip", tabs->densityStrip()},
            {"pattern view", tabs->layerPatternView()},
            {"speed view", tabs->speedView()},
            {"compare chart", tabs->compareView()->chartView()},
            {"kernels source", tabs->kernelsView()->sourceEdit()->viewport()},
        };
        for (bool dark : {true, false}) {
            gui::applyAppearance({.dark = dark, .projector = false});
            QCoreApplication::processEvents();
            for (const auto& [name, widget] : views) {
                const int lightness = meanLightness(widget);
                QVERIFY2(
                    dark ? lightness < 100 : lightness > 150,
                    qPrintable(QStringLiteral("%1 in the %2 palette: mean lightness %3")
                                   .arg(QString::fromLatin1(name),
                                        dark ? QStringLiteral("dark") : QStringLiteral("light"))
                                   .arg(lightness)));
            }
            QCOMPARE(tabs->kernelsView()->highlighter()->darkBackground(), dark);
        }
    }
};

QTEST_MAIN(TestSettings)
#include "tst_settings.moc"

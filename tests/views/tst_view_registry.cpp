// The view list (app/gui/view_registry.h) is the one place views are named: every entry makes
// its tab in list order, the View menu and --view follow it, and every view the lessons name
// is shown by the lesson player.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QMenuBar>
#include <QProcess>
#include <QSet>
#include <QStandardPaths>
#include <QtTest>
#include <algorithm>

#include "app/gui/analysis_tabs.h"
#include "app/gui/lesson_bridge.h"
#include "app/gui/main_window.h"
#include "app/gui/view_registry.h"
#include "engine/lessons/lesson.h"

using namespace prunelab;

namespace {

// Every "view" value in `json` (show-view actions, view-shown checks), at any depth.
void collectViews(const QJsonValue& json, QSet<QString>& views) {
    if (json.isArray()) {
        for (const QJsonValue& v : json.toArray()) collectViews(v, views);
    } else if (json.isObject()) {
        const QJsonObject o = json.toObject();
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (it.key() == QLatin1String("view") && it.value().isString())
                views.insert(it.value().toString());
            collectViews(it.value(), views);
        }
    }
}

QList<const gui::ViewInfo*> tabViews() {
    QList<const gui::ViewInfo*> tabs;
    for (const gui::ViewInfo& v : gui::workbenchViews())
        if (v.place == gui::ViewPlace::Tab) tabs << &v;
    return tabs;
}

}  // namespace

class TestViewRegistry : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void namesAreUniqueAndEachTabHasAFactory() {
        QSet<QString> names;
        for (const gui::ViewInfo& v : gui::workbenchViews()) {
            const QString name = QString::fromLatin1(v.name);
            QVERIFY2(!names.contains(name), qPrintable(name + " is listed twice"));
            names.insert(name);
            QVERIFY2(!gui::viewTitle(v).isEmpty(), v.name);
            // Tabs are made from the list; the table and the dock are the window's own.
            QCOMPARE(v.make != nullptr, v.place == gui::ViewPlace::Tab);
            QCOMPARE(gui::findView(name), &v);
        }
        QCOMPARE(gui::viewNames().size(), names.size());
        QCOMPARE(gui::findView(QStringLiteral("nowhere")), nullptr);
    }

    // Every entry makes its widget in the window, and the tabs are the list's, in its order.
    void theWindowsTabsAreTheList() {
        gui::MainWindow window(/*interactive=*/false);
        for (const QString& name : gui::viewNames())
            QVERIFY2(window.namedView(name), qPrintable(name));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        const QList<const gui::ViewInfo*> list = tabViews();
        QCOMPARE(tabs->count(), list.size());
        for (int i = 0; i < list.size(); ++i) {
            const QString name = QString::fromLatin1(list[i]->name);
            QCOMPARE(tabs->widget(i), tabs->page(name));
            QCOMPARE(window.namedView(name), tabs->page(name));
            QCOMPARE(tabs->tabText(i), gui::viewTitle(*list[i]));
        }
    }

    // View > "<Title> Tab", Ctrl+1.. in list order, each showing its tab.
    void theViewMenuFollowsTheList() {
        gui::MainWindow window(/*interactive=*/false);
        QMenu* menu = nullptr;
        for (QAction* a : window.menuBar()->actions())
            if (a->text() == QLatin1String("&View")) menu = a->menu();
        QVERIFY(menu);
        const QList<QAction*> actions = menu->actions();
        const QList<const gui::ViewInfo*> list = tabViews();
        QVERIFY(actions.size() > list.size());
        gui::AnalysisTabs* tabs = window.analysisTabs();
        for (int i = list.size() - 1; i >= 0; --i) {  // backwards: each trigger moves the tab
            QCOMPARE(actions[i]->text(), gui::viewTitle(*list[i]) + QStringLiteral(" Tab"));
            if (i < 9)
                QCOMPARE(actions[i]->shortcut(),
                         QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
            actions[i]->trigger();
            QCOMPARE(tabs->currentWidget(), tabs->page(QString::fromLatin1(list[i]->name)));
        }
        QVERIFY(actions[list.size()]->isSeparator());
    }

    // Every view a lesson in lessons/ names is one the lessons' schema takes and one the
    // player can show.
    void everyViewTheLessonsNameIsShown() {
        const QDir root(QStringLiteral(PRUNELAB_SOURCE_DIR "/lessons"));
        QSet<QString> named;
        for (const QString& folder : root.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            QFile file(root.filePath(folder + QStringLiteral("/lesson.json")));
            if (!file.open(QIODevice::ReadOnly)) continue;
            const QJsonDocument doc = QJsonDocument::fromJson(file.readAll());
            QVERIFY2(!doc.isNull(), qPrintable(file.fileName()));
            collectViews(doc.object(), named);
        }
        QVERIFY2(!named.isEmpty(), "no lesson in lessons/ names a view");
        const auto& schema = engine::lessons::viewNames();
        gui::MainWindow window(/*interactive=*/false);
        engine::lessons::Lesson lesson;
        for (const QString& view : named) {
            QVERIFY2(std::find(schema.begin(), schema.end(), view.toStdString()) != schema.end(),
                     qPrintable(view));
            engine::lessons::Action show;
            show.kind = engine::lessons::Action::Kind::ShowView;
            show.view = view.toStdString();
            const engine::Status shown = window.lessons()->perform(lesson, show, false);
            QVERIFY2(shown.ok(), qPrintable(view));
            QCOMPARE(QString::fromStdString(window.lessons()->state().view), view);
        }
    }

    // --view takes the list's names; an unknown one is an error that lists them all.
    void anUnknownViewIsAnErrorListingTheNames() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                {QStringLiteral("face-front"), QStringLiteral("--view"), QStringLiteral("nowhere"),
                 QStringLiteral("--screenshot"), QDir::temp().filePath(QStringLiteral("x.png"))});
        QVERIFY(p.waitForFinished(60'000));
        QVERIFY(p.exitCode() != 0);
        const QString error = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(error.contains(QStringLiteral("'nowhere'")), qPrintable(error));
        QVERIFY2(error.contains(gui::viewNames().join(QStringLiteral(", "))), qPrintable(error));

        p.start(QStringLiteral(PRUNELAB_GUI_BINARY), {QStringLiteral("--help")});
        QVERIFY(p.waitForFinished(60'000));
        const QString help = QString::fromUtf8(p.readAllStandardOutput()).simplified();
        QVERIFY2(help.contains(gui::viewNames().join(QStringLiteral(", "))), qPrintable(help));
    }
};

QTEST_MAIN(TestViewRegistry)
#include "tst_view_registry.moc"

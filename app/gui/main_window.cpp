// The workbench window (see main_window.h).
#include "app/gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScreen>
#include <QScrollBar>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabBar>
#include <QTableView>
#include <QTimer>
#include <QUndoStack>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/gui/analysis_tabs.h"
#include "app/gui/appearance.h"
#include "app/gui/lesson_bridge.h"
#include "app/gui/model_opener.h"
#include "app/gui/shortcuts_dialog.h"
#include "app/gui/view_registry.h"
#include "plugins/model-files/demo_models.h"
#include "plugins/model-files/model_loader.h"
#include "views/classroom/classroom_view.h"
#include "views/common/engine_text.h"
#include "views/live/live_view.h"
#include "views/model/layer_table_model.h"
#include "views/prune/prune_panel.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/session/project.h"
#include "views/start/start_page.h"
#include "views/train/retrain_panel.h"

namespace prunelab::gui {

namespace {

constexpr int kMaxRecent = 8;
const char* const kCleanExitKey = "lastCleanExit";
const char* const kGeometryKey = "windowGeometry";  // where and how large it was last closed

// Set on the table's splitter once a person drags it: their width is kept from then on.
const char* const kTableSizedByHand = "tableSizedByHand";

// What a person reads first beside each name, the scheme (with why a layer is dense) and the
// density, right after it; the shapes and counts follow. Again after each model: a reset of the
// model resets the header's order.
void putReadFirstColumnsFirst(QTableView* table) {
    using Column = views::LayerTableModel::Column;
    QHeaderView* header = table->horizontalHeader();
    header->moveSection(header->visualIndex(Column::Scheme), 1);
    header->moveSection(header->visualIndex(Column::Density), 2);
}

// Gives the layer table the width of its row numbers, names, schemes and densities in its
// splitter, as far as the tabs beside it keep every tab's title in view; nothing once a person
// sized it. The splitter keeps minimum sizes, so on a small screen the table scrolls sideways.
void fitLayerTable(QTableView* table) {
    auto* split = qobject_cast<QSplitter*>(table->parentWidget());
    if (!split || split->count() != 2 || split->property(kTableSizedByHand).toBool()) return;
    using Column = views::LayerTableModel::Column;
    int wanted = table->verticalHeader()->sizeHint().width() + 2 * table->frameWidth() +
                 table->verticalScrollBar()->sizeHint().width();
    for (int column : {Column::Name, Column::Scheme, Column::Density})
        wanted += table->columnWidth(column);
    QWidget* beside = split->widget(1);
    int besideNeeds = beside->minimumSizeHint().width();
    if (auto* tabs = qobject_cast<QTabWidget*>(beside))
        besideNeeds = std::max(besideNeeds, tabs->tabBar()->sizeHint().width() + 8);
    const QList<int> sizes = split->sizes();
    // Before the window is first shown the splitter has no width yet: the sizes it was given.
    const int total = split->testAttribute(Qt::WA_Resized) ? split->width() - split->handleWidth()
                                                           : sizes.value(0) + sizes.value(1);
    const int width = std::clamp(total - besideNeeds, 0, wanted);
    if (sizes.value(0) != width) split->setSizes({width, std::max(0, total - width)});
}

// Fits the table again whenever its splitter changes size (the window shown, resized,
// maximised), until a person drags the splitter.
class TableFitter : public QObject {
  public:
    TableFitter(QTableView* table, QObject* parent) : QObject(parent), m_table(table) {}
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Resize) fitLayerTable(m_table);
        return QObject::eventFilter(watched, event);
    }

  private:
    QTableView* m_table;
};

// The platform's key for a standard action, or `fallback` where the platform has none (the
// generic Linux theme binds no Preferences key, for one).
QKeySequence standardKey(QKeySequence::StandardKey key, const char* fallback) {
    const QKeySequence sequence(key);
    return sequence.isEmpty() ? QKeySequence(QString::fromLatin1(fallback)) : sequence;
}

// The bundled catalog's entry `id`; nullptr when the catalog cannot be read or has no such id.
const engine::CatalogEntry* bundledEntry(const QString& id) {
    auto catalog = plugins::bundledCatalog();
    return catalog.ok() ? (*catalog)->find(id.toStdString()) : nullptr;
}

// The picture a catalog model is shown on, in the asset cache; empty when it has none.
QString samplePhoto(const engine::CatalogEntry& entry) {
    if (entry.sample.empty()) return {};
    return QString::fromStdString(plugins::assetCacheDir() + "/" + entry.sample);
}

}  // namespace

MainWindow::MainWindow(bool interactive, QWidget* parent)
    : QMainWindow(parent),
      m_interactive(interactive),
      m_settings(interactive ? loadSettings() : WorkbenchSettings{}),
      m_session(new views::ModelSession(workbenchOpener(), this)),
      m_experiments(new views::ExperimentLog(m_session, this)),
      m_project(new views::ProjectManager(m_session, m_experiments, this)),
      m_layerModel(new views::LayerTableModel(m_session, this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_table(new QTableView(this)),
      m_prunePanel(new views::PrunePanel(this)),
      m_tabs(new AnalysisTabs(m_session, m_experiments, this)) {
    setWindowTitle(tr("PruneLab"));
    setAcceptDrops(true);

    m_proxy->setSourceModel(m_layerModel);
    m_proxy->setSortRole(views::LayerTableModel::kSortRole);
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    // Model order (the order data flows) until a person sorts by a column.
    m_table->sortByColumn(-1, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setTextElideMode(Qt::ElideLeft);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    auto* central = new QSplitter(Qt::Horizontal, this);
    central->addWidget(m_table);
    central->addWidget(m_tabs);
    // The table gets the width of what is read first in it (fitLayerTable, once a model is in)
    // and keeps it; the maps take whatever the window gains.
    central->setStretchFactor(0, 0);
    central->setStretchFactor(1, 1);
    central->setSizes({400, 600});
    connect(central, &QSplitter::splitterMoved, central,
            [central] { central->setProperty(kTableSizedByHand, true); });
    central->installEventFilter(new TableFitter(m_table, central));
    // Pages (see Page): this workbench, and the start page shown until a model opens.
    m_pages = new QStackedWidget(this);
    setCentralWidget(m_pages);
    addPage(Page::Workbench, central);
    // The tabs made them from the view list (view_registry.cpp).
    m_retrainPanel = qobject_cast<views::RetrainPanel*>(m_tabs->page(QStringLiteral("retrain")));
    m_liveView = qobject_cast<views::LiveView*>(m_tabs->page(QStringLiteral("live")));
    connect(this, &MainWindow::layerSelected, m_retrainPanel, &views::RetrainPanel::setWatchLayer);
    connect(m_retrainPanel, &views::RetrainPanel::finished, this,
            [this](bool ok, const QString& message) {
                if (ok) statusBar()->showMessage(message);
            });

    auto* dock = new QDockWidget(tr("Prune"), this);
    dock->setObjectName(QStringLiteral("pruneDock"));
    dock->setWidget(m_prunePanel);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    for (const ViewInfo& view : workbenchViews()) {
        const QString name = QString::fromLatin1(view.name);
        QWidget* widget = view.place == ViewPlace::Table  ? static_cast<QWidget*>(m_table)
                          : view.place == ViewPlace::Dock ? m_prunePanel
                                                          : m_tabs->page(name);
        if (widget) m_views.insert(name, widget);
    }
    m_pruneDock = dock;
    m_liveDefaultSource = m_liveView->source();
    buildStartPage();
    const std::string video = plugins::assetCacheDir() + "/video/vtest.avi";
    buildClassroomPage(QString::fromStdString(video));
    m_lessons = new LessonBridge(this, m_interactive);
    m_startPage->setLessonsContent(m_lessons->makeStartCardContent(m_startPage));

    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (!current.isValid()) {
                    emit layerSelected(-1, QString());
                    return;
                }
                const QModelIndex source = m_proxy->mapToSource(current);
                const QString name = m_layerModel->index(source.row(), 0)
                                         .data(views::LayerTableModel::kFullNameRole)
                                         .toString();
                emit layerSelected(source.row(), name);
            });
    connect(this, &MainWindow::layerSelected, m_tabs,
            [this](int layer) { m_tabs->selectLayer(layer); });
    connect(m_tabs, &AnalysisTabs::layerClicked, this, &MainWindow::selectLayer);
    // Through the log, so each applied plan becomes an experiment.
    connect(m_prunePanel, &views::PrunePanel::applyRequested, m_experiments,
            [this](const engine::prune::PruningPlan& plan) { m_experiments->applyPlan(plan); });
    connect(m_tabs, &AnalysisTabs::measured, m_experiments,
            [this](double compiledMs, double denseMs) {
                m_experiments->setLatency(compiledMs, denseMs);
            });
    connect(m_prunePanel, &views::PrunePanel::resetRequested, m_session,
            &views::ModelSession::resetPlan);
    connect(m_prunePanel, &views::PrunePanel::invalidPlan, this, &MainWindow::showError);
    connect(m_session, &views::ModelSession::failed, this, &MainWindow::showError);
    connect(m_project, &views::ProjectManager::failed, this, &MainWindow::showError);
    connect(m_project, &views::ProjectManager::opened, this, [this](const QString& path) {
        if (m_project->path().isEmpty()) {
            setWindowTitle(tr("PruneLab - %1 (recovered, unsaved)").arg(m_session->source()));
            statusBar()->showMessage(tr("Restored unsaved work from %1").arg(path));
            return;
        }
        setWindowTitle(tr("PruneLab - %1").arg(QFileInfo(path).fileName()));
        statusBar()->showMessage(tr("Opened the project %1").arg(path));
    });
    connect(m_project, &views::ProjectManager::saved, this, [this](const QString& path) {
        setWindowTitle(tr("PruneLab - %1").arg(QFileInfo(path).fileName()));
        statusBar()->showMessage(tr("Saved the project %1").arg(path));
    });
    connect(m_session, &views::ModelSession::busyChanged, this, [this](bool busy) {
        m_prunePanel->setActionsEnabled(!busy && m_session->hasModel());
        m_applyAction->setEnabled(!busy && m_session->hasModel());
        m_resetAction->setEnabled(!busy && m_session->hasModel());
        if (busy) statusBar()->showMessage(tr("Working..."));
    });
    connect(m_session, &views::ModelSession::modelLoaded, this, [this] {
        setWindowTitle(tr("PruneLab - %1").arg(m_session->source()));
        m_table->resizeColumnsToContents();
        // The names show without their shared prefix; a longer one elides on the left, keeping
        // its distinctive end (the tooltip has it all).
        const int maxNameWidth = m_table->fontMetrics().averageCharWidth() * 36;
        if (m_table->columnWidth(views::LayerTableModel::Name) > maxNameWidth)
            m_table->setColumnWidth(views::LayerTableModel::Name, maxNameWidth);
        putReadFirstColumnsFirst(m_table);
        fitLayerTable(m_table);
        rememberRecent(m_session->source());
    });
    connect(m_session, &views::ModelSession::planApplied, this, [this] {
        // Whatever applied it (--plan, a .plab, a project, undo), the panel shows the plan
        // that is in, so Apply re-applies what is on screen.
        if (auto plan = m_session->currentPlan()) m_prunePanel->showPlan(*plan);
        // Scheme names are longer than "dense", which the column was sized for.
        m_table->resizeColumnToContents(views::LayerTableModel::Scheme);
        fitLayerTable(m_table);
        updateSummary();
    });
    // Whatever opened it (a demo, a file, a project, a recovery), a model is worked on in the
    // workbench; a demo goes on to its retrained model and the Live tab.
    connect(m_session, &views::ModelSession::modelLoaded, this, [this] {
        showPage(Page::Workbench);
        // Queued: the session follows modelLoaded with planApplied, which stops the Live tab;
        // the demo starts after every slot of this open has run.
        QTimer::singleShot(0, this, [this] {
            if (m_demoStep == DemoStep::Loading && m_session->source() == m_demo) continueDemo();
        });
    });
    connect(m_session, &views::ModelSession::planApplied, this, [this] {
        if (m_demoStep == DemoStep::Adopting) startDemoLive();
    });
    connect(m_session, &views::ModelSession::failed, this, [this] {
        // The retrained model not taken (the window said why): the demo still runs, lane B
        // pruning the model as it opened.
        if (m_demoStep == DemoStep::Adopting) {
            startDemoLive();
        } else {
            m_demoStep = DemoStep::None;
        }
    });

    buildMenus();
    // main() applied the look before the window existed (--dark for a screenshot included).
    m_settings.appearance = currentAppearance();
    applySettings(m_settings);
    statusBar()->showMessage(tr("Open a model: File > Open, a catalog model, or drop a file here"));
    showPage(Page::Start);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open..."), this, &MainWindow::chooseFile);
    open->setShortcut(standardKey(QKeySequence::Open, "Ctrl+O"));
    QAction* catalog =
        file->addAction(tr("Open &Catalog Model..."), this, &MainWindow::chooseCatalogModel);
    catalog->setShortcut(QKeySequence(tr("Ctrl+Shift+O")));
    file->addAction(tr("Open &Project..."), this, &MainWindow::chooseProjectToOpen);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    updateRecentMenu();
    // Alt+Home as in web browsers; Ctrl+Home is the table's first row.
    QAction* start = file->addAction(tr("Start &Page"), this, [this] { showPage(Page::Start); });
    start->setShortcut(QKeySequence(tr("Alt+Home")));
    file->addSeparator();
    QAction* save = file->addAction(tr("&Save Project"), this, [this] { saveProject(false); });
    save->setShortcut(standardKey(QKeySequence::Save, "Ctrl+S"));
    QAction* saveAs =
        file->addAction(tr("Save Project &As..."), this, [this] { saveProject(true); });
    saveAs->setShortcut(standardKey(QKeySequence::SaveAs, "Ctrl+Shift+S"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(standardKey(QKeySequence::Quit, "Ctrl+Q"));

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_session->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(standardKey(QKeySequence::Undo, "Ctrl+Z"));
    QAction* redo = m_session->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(standardKey(QKeySequence::Redo, "Ctrl+Shift+Z"));
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    QAction* settings = edit->addAction(tr("Se&ttings..."), this, [this] { showSettingsDialog(); });
    settings->setShortcut(standardKey(QKeySequence::Preferences, "Ctrl+,"));
    settings->setMenuRole(QAction::PreferencesRole);

    // The prune panel's buttons and the Speed tab's Measure, reachable without the mouse. The
    // buttons' click() does nothing while they are disabled (no model, a job running).
    QMenu* prune = menuBar()->addMenu(tr("&Prune"));
    auto clickPanel = [this](const char* name) {
        if (auto* button = m_prunePanel->findChild<QPushButton*>(QString::fromLatin1(name)))
            button->click();
    };
    m_applyAction =
        prune->addAction(tr("&Apply Plan"), this, [clickPanel] { clickPanel("apply"); });
    m_applyAction->setShortcut(QKeySequence(tr("Ctrl+Return")));
    m_resetAction = prune->addAction(tr("&Reset to the Model as Opened"), this,
                                     [clickPanel] { clickPanel("reset"); });
    m_resetAction->setShortcut(QKeySequence(tr("Ctrl+R")));
    m_applyAction->setEnabled(false);
    m_resetAction->setEnabled(false);
    prune->addSeparator();
    m_measureAction = prune->addAction(tr("&Measure Speed"), this, [this] {
        if (QWidget* speed = m_tabs->page(QStringLiteral("speed"))) m_tabs->setCurrentWidget(speed);
        if (m_tabs->canMeasure()) {
            m_tabs->measure(m_settings.measureRuns);
        } else {
            statusBar()->showMessage(
                tr("Nothing to measure yet: apply a plan and wait for the compile, or for the "
                   "running measure to end."));
        }
    });
    // F5, not QKeySequence::Refresh: that is Ctrl+R (Reset) on some platforms.
    m_measureAction->setShortcut(QKeySequence(Qt::Key_F5));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    // Ctrl+1.. in the view list's order (the tabs'): a view added to the list gets the next key.
    int key = 1;
    for (const ViewInfo& info : workbenchViews()) {
        QWidget* page =
            info.place == ViewPlace::Tab ? m_tabs->page(QString::fromLatin1(info.name)) : nullptr;
        if (!page) continue;
        QAction* tab = view->addAction(tr("%1 Tab").arg(viewTitle(info)), this,
                                       [this, page] { m_tabs->setCurrentWidget(page); });
        if (key <= 9) tab->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(key++)));
    }
    view->addSeparator();
    m_darkAction = view->addAction(tr("&Dark Palette"));
    m_darkAction->setCheckable(true);
    m_darkAction->setShortcut(QKeySequence(tr("Ctrl+Shift+D")));
    m_projectorAction = view->addAction(tr("&Projector Mode (Larger Text)"));
    m_projectorAction->setCheckable(true);
    m_projectorAction->setShortcut(QKeySequence(tr("F11")));
    view->addAction(m_lessons->dock()->toggleViewAction());
    m_classroomAction = view->addAction(tr("&Classroom Mode"));
    m_classroomAction->setCheckable(true);
    m_classroomAction->setShortcut(classroomKeys());
    // On the window too: the mode hides the menu bar, and the keys of its actions with it.
    addAction(m_classroomAction);
    connect(m_classroomAction, &QAction::toggled, this, &MainWindow::setClassroomMode);
    auto apply = [this] {
        WorkbenchSettings s = m_settings;
        s.appearance.dark = m_darkAction->isChecked();
        s.appearance.projector = m_projectorAction->isChecked();
        applySettings(s);
        // Screenshots and tests must not change what a person's next session looks like.
        if (m_interactive) saveAppearance(s.appearance);
    };
    connect(m_darkAction, &QAction::toggled, this, apply);
    connect(m_projectorAction, &QAction::toggled, this, apply);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys =
        help->addAction(tr("&Keyboard Shortcuts..."), this, [this] { showShortcutsDialog(); });
    keys->setShortcut(QKeySequence(tr("Ctrl+/")));
}

void MainWindow::applySettings(const WorkbenchSettings& settings) {
    m_settings = settings;
    const Appearance now = currentAppearance();
    // applyAppearance resets the style; only when the look changed.
    if (now.dark != settings.appearance.dark || now.projector != settings.appearance.projector)
        applyAppearance(settings.appearance);
    m_tabs->setMeasureSettings(settings.effectiveMeasureThreads(), settings.measureRuns);
    m_project->setAutosaveInterval(settings.autosaveSeconds * 1000);
    {
        const QSignalBlocker blockDark(m_darkAction), blockProjector(m_projectorAction);
        m_darkAction->setChecked(settings.appearance.dark);
        m_projectorAction->setChecked(settings.appearance.projector);
    }
    if (m_settingsDialog) m_settingsDialog->showSettings(settings);
}

SettingsDialog* MainWindow::showSettingsDialog() {
    if (!m_settingsDialog) {
        m_settingsDialog = new SettingsDialog(this);
        connect(m_settingsDialog, &SettingsDialog::settingsChanged, this,
                &MainWindow::applySettings);
        connect(m_settingsDialog, &SettingsDialog::recentFilesCleared, this,
                &MainWindow::updateRecentMenu);
    }
    // What the window runs with, which for a screenshot or test window is not QSettings'.
    m_settingsDialog->showSettings(m_settings);
    m_settingsDialog->show();
    m_settingsDialog->raise();
    m_settingsDialog->activateWindow();
    return m_settingsDialog;
}

ShortcutsDialog* MainWindow::showShortcutsDialog() {
    auto* dialog = new ShortcutsDialog(this, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void MainWindow::openModel(const QString& source) {
    m_demoStep = DemoStep::None;  // a person's own choice replaces a demo still opening
    if (source.endsWith(QLatin1String(".prunelab"), Qt::CaseInsensitive)) {
        openProject(source);
        return;
    }
    if (!confirmUnsaved(tr("Save the changes to this session before opening %1?").arg(source)))
        return;
    statusBar()->showMessage(tr("Opening %1...").arg(source));
    m_session->openModel(source);
}

void MainWindow::openProject(const QString& path) {
    m_demoStep = DemoStep::None;
    if (!confirmUnsaved(tr("Save the changes to this session before opening %1?").arg(path)))
        return;
    statusBar()->showMessage(tr("Opening the project %1...").arg(path));
    m_project->open(path);
}

// ---- Pages and the start page's demos ----

void MainWindow::addPage(Page page, QWidget* widget) {
    m_pages->addWidget(widget);
    m_pageWidgets.insert(page, widget);
}

void MainWindow::showPage(Page page) {
    QWidget* widget = m_pageWidgets.value(page, nullptr);
    if (!widget) return;
    // The classroom keeps the screen until the teacher leaves it; a page asked for meanwhile
    // (opening a model asks for the workbench) is shown then.
    if (m_classroom && page != Page::Classroom) {
        m_pageAfterClassroom = page;
        return;
    }
    const bool changed = m_pages->currentWidget() != widget;
    m_pages->setCurrentWidget(widget);
    // The Prune dock acts on the workbench's model; beside the cards it is clutter.
    m_pruneDock->setVisible(page == Page::Workbench);
    if (page == Page::Start) {
        // Nothing runs behind the cards: a demo left running takes the cores the next one needs.
        m_liveView->stop();
        m_startPage->refreshRecent();
    }
    if (changed) emit pageChanged(page);
}

MainWindow::Page MainWindow::page() const {
    return m_pageWidgets.key(m_pages->currentWidget(), Page::Workbench);
}

void MainWindow::buildStartPage() {
    views::StartSetup setup;
    // `photo`: a picture in the cache that shows the idea better than the model's sample (the
    // kite is a speck in a zoom card's strip; a butterfly's wings show blocky against sharp).
    struct Words {
        QString id, title, sentence, photo;
        bool blocky;
    };
    const Words words[] = {
        {QStringLiteral("zoom-x2"), tr("Zoom and enhance, with a smaller brain"),
         tr("A video grows twice as big, made by the whole network and by one with most of its "
            "connections removed."),
         QStringLiteral("photos/butterfly.jpg"), true},
        {QStringLiteral("face-back"), tr("Find the faces"),
         tr("A face finder puts a box around every face it sees, the big brain beside the "
            "small one."),
         QString(), false},
        {QStringLiteral("text-finder"), tr("Find the text"),
         tr("A text finder boxes each line of words in a picture, and the small brain races the "
            "big one."),
         QString(), false},
    };
    for (const Words& w : words) {
        const engine::CatalogEntry* entry = bundledEntry(w.id);
        if (!entry) continue;  // a catalog without it cannot open it either
        views::StartDemo demo;
        demo.id = w.id;
        demo.title = w.title;
        demo.sentence = w.sentence;
        demo.blockyLeftHalf = w.blocky;
        const QString photo =
            QString::fromStdString(plugins::assetCacheDir()) + QLatin1Char('/') + w.photo;
        demo.picture = !w.photo.isEmpty() && QFileInfo::exists(photo) ? photo : samplePhoto(*entry);
        demo.note = entry->demo
                        ? tr("Small brain: %1").arg(QString::fromStdString(entry->demo->words))
                        : tr("Small brain: pruned as it opens, not retrained yet");
        demo.details = tr("%1 (%2): %3\nPruned lane: %4")
                           .arg(QString::fromStdString(entry->name), w.id,
                                QString::fromStdString(entry->research),
                                entry->demo ? QString::fromStdString(entry->demo->plan)
                                            : tr("the patdnn-8 preset applied when it starts, "
                                                 "not retrained"));
        setup.demos << demo;
    }
    setup.openDemo = [this](const QString& id) { openDemo(id); };
    setup.chooseFile = [this] { chooseFile(); };
    setup.chooseCatalogModel = [this] { chooseCatalogModel(); };
    setup.openRecent = [this](const QString& source) { openModel(source); };
    setup.recent = [this] {
        QList<views::StartRecent> out;
        // A screenshot or test window shows what a first run shows, whoever takes it.
        if (!m_interactive) return out;
        for (const QString& source :
             QSettings().value(QLatin1String(kRecentFilesKey)).toStringList()) {
            views::StartRecent r;
            r.source = source;
            const QFileInfo info(source);
            // rememberRecent keeps files by absolute path; anything else is a catalog id.
            if (info.isAbsolute()) {
                r.name = info.fileName();
                r.kind = source.endsWith(QLatin1String(".prunelab"), Qt::CaseInsensitive)
                             ? tr("project")
                             : tr("model");
                r.missing = !info.exists();
            } else {
                const engine::CatalogEntry* entry = bundledEntry(source);
                r.name = entry ? QString::fromStdString(entry->name) : source;
                r.kind = tr("bundled model %1").arg(source);
            }
            out << r;
        }
        return out;
    };
    m_startPage = new views::StartPage(std::move(setup), m_pages);
    m_startPage->setObjectName(QStringLiteral("startPage"));
    addPage(Page::Start, m_startPage);
}

void MainWindow::openDemo(const QString& catalogId) {
    if (!confirmUnsaved(tr("Save the changes to this session before starting the demo?"))) return;
    m_demo = catalogId;
    m_demoStep = DemoStep::Loading;
    statusBar()->showMessage(tr("Opening the demo %1...").arg(catalogId));
    m_session->openModel(catalogId);
}

void MainWindow::continueDemo() {
    m_demoStep = DemoStep::None;
    const engine::CatalogEntry* entry = bundledEntry(m_demo);
    if (!entry || !entry->demo) {
        startDemoLive();  // no retrained model yet: lane B prunes the model as it opened
        return;
    }
    auto demo = plugins::loadDemoModel(*entry, m_session->originalGraph());
    if (!demo.ok()) {
        // A missing or damaged demo file is a fault to report, not to hide; the demo still runs.
        showError(tr("The demo's retrained model could not be used, so the small brain is "
                     "pruned without retraining: %1")
                      .arg(views::errorText(demo.error())));
        startDemoLive();
        return;
    }
    const QString path = QString::fromStdString(
        (std::filesystem::path(plugins::demoBaseDir()) / entry->demo->file).string());
    m_demoStep = DemoStep::Adopting;
    m_session->adoptTrained(demo->graph, demo->plan, path,
                            tr("Demo: %1").arg(QString::fromStdString(entry->demo->words)));
}

void MainWindow::startDemoLive() {
    m_demoStep = DemoStep::None;
    showPage(Page::Workbench);
    if (m_classroom) return;  // the classroom page runs the demo itself, once the model is in
    m_tabs->setCurrentWidget(m_liveView);
    QString source = m_liveDefaultSource;
    // The bundled video has no text in it, and its people are far-off figures a selfie model was
    // not made for: without a camera, a text finder or a person cut-out reads its own photo.
    const engine::CatalogEntry* entry = bundledEntry(m_demo);
    const bool ownPhoto = entry && (entry->task == engine::Task::TextDetection ||
                                    entry->task == engine::Task::Segmentation);
    if (ownPhoto && !source.startsWith(QLatin1String("camera:"))) {
        const QString photo = samplePhoto(*entry);
        if (QFileInfo::exists(photo)) source = photo;
    }
    m_liveView->setSource(source);
    if (m_liveView->state() == views::LiveView::State::Idle) {
        m_liveView->start();
        return;
    }
    // The demo before it stops after its current frame (opening this model stopped it).
    auto once = std::make_shared<QMetaObject::Connection>();
    *once = connect(m_liveView, &views::LiveView::stateChanged, this,
                    [this, once](views::LiveView::State state) {
                        if (state != views::LiveView::State::Idle) return;
                        disconnect(*once);
                        m_liveView->start();
                    });
}

// ---- Classroom mode ----

QKeySequence MainWindow::classroomKeys() {
    return QKeySequence(tr("Ctrl+Shift+Q"));
}

void MainWindow::buildClassroomPage(const QString& bundledVideo) {
    // Lane A is PruneLab's dense runtime there: the mode offers no researcher's choices.
    views::LiveSetup live;
    live.entryFor = catalogEntryFor;
    live.bundledVideo = bundledVideo;
    live.demoFor = plugins::loadDemoModel;
    m_classroomView = new views::ClassroomView(m_session, std::move(live), m_pages);
    m_classroomView->setExitKeys(classroomKeys().toString(QKeySequence::NativeText));
    addPage(Page::Classroom, m_classroomView);
}

void MainWindow::setClassroomMode(bool on) {
    if (on == m_classroom) return;
    {
        const QSignalBlocker block(m_classroomAction);
        m_classroomAction->setChecked(on);
    }
    if (on) {
        m_pageAfterClassroom = page();
        // An open dialog would stay over the classroom: Settings can clear the recent files.
        for (QDialog* dialog : findChildren<QDialog*>()) dialog->close();
        m_liveView->stop();  // one demo at a time: the page runs its own
        showPage(Page::Classroom);
        m_classroom = true;
        // A hidden, disabled menu bar takes its actions' keys (open, save, export) with it.
        menuBar()->hide();
        menuBar()->setEnabled(false);
        statusBar()->hide();
        m_classroomView->setActive(true);
        m_lessons->setClassroom(true);
        if (!m_session->hasModel() && !m_session->isBusy()) openDemo(QStringLiteral("zoom-x2"));
    } else {
        m_classroom = false;
        m_classroomView->setActive(false);
        m_lessons->setClassroom(false);
        menuBar()->setEnabled(true);
        menuBar()->show();
        statusBar()->show();
        showPage(m_pageAfterClassroom == Page::Classroom ? Page::Workbench : m_pageAfterClassroom);
    }
    // Screenshots and tests must not change what a person's next session starts in.
    if (m_interactive) saveClassroomMode(on);
}

MainWindow::UnsavedChoice MainWindow::askUnsaved(const QString& question) {
    if (!m_project->isDirty()) return UnsavedChoice::Discard;
    UnsavedChoice choice = UnsavedChoice::Discard;
    if (m_unsavedPrompt) {
        choice = m_unsavedPrompt(question);
    } else if (m_interactive) {
        const auto button = QMessageBox::question(
            this, tr("PruneLab"), question,
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
        choice = button == QMessageBox::Save      ? UnsavedChoice::Save
                 : button == QMessageBox::Discard ? UnsavedChoice::Discard
                                                  : UnsavedChoice::Cancel;
    }
    if (choice != UnsavedChoice::Save) return choice;
    saveProject(false);
    // A cancelled file dialog or a failed write leaves it unsaved: keep the work open.
    return m_project->isDirty() ? UnsavedChoice::Cancel : UnsavedChoice::Save;
}

bool MainWindow::confirmUnsaved(const QString& question) {
    const UnsavedChoice choice = askUnsaved(question);
    // Discarded from the project file, still kept in the recovery file.
    if (choice == UnsavedChoice::Discard) m_project->flushAutosave(true);
    return choice != UnsavedChoice::Cancel;
}

bool MainWindow::recoveryIsNewer(const QString& recoveryFile, const QDateTime& lastCleanExit) {
    const QFileInfo info(recoveryFile);
    if (!info.isFile()) return false;
    return !lastCleanExit.isValid() || info.lastModified() > lastCleanExit;
}

bool MainWindow::offerRecovery() {
    const QString path = views::recoveryPath();
    if (!recoveryIsNewer(path, QSettings().value(kCleanExitKey).toDateTime())) return false;
    if (!m_recoveryBar) {
        // A bar, not a question: the window opens as asked and the person decides when ready.
        m_recoveryBar = new QWidget(this);
        m_recoveryBar->setObjectName(QStringLiteral("recoveryBar"));
        auto* row = new QHBoxLayout(m_recoveryBar);
        row->setContentsMargins(0, 0, 0, 0);
        row->addWidget(new QLabel(tr("Unsaved work from a session that did not close"), this));
        auto* restore = new QPushButton(tr("Restore"), m_recoveryBar);
        restore->setObjectName(QStringLiteral("restore"));
        auto* dismiss = new QPushButton(tr("Dismiss"), m_recoveryBar);
        dismiss->setObjectName(QStringLiteral("dismiss"));
        row->addWidget(restore);
        row->addWidget(dismiss);
        connect(restore, &QPushButton::clicked, this, &MainWindow::restoreRecovery);
        connect(dismiss, &QPushButton::clicked, m_recoveryBar, &QWidget::hide);
        statusBar()->addPermanentWidget(m_recoveryBar);
    }
    m_recoveryBar->show();
    return true;
}

void MainWindow::restoreRecovery() {
    if (m_recoveryBar) m_recoveryBar->hide();
    // Not confirmUnsaved: its discard would overwrite the very file being restored.
    if (askUnsaved(tr("Save the changes to this session before restoring the unsaved work?")) ==
        UnsavedChoice::Cancel)
        return;
    statusBar()->showMessage(tr("Restoring unsaved work..."));
    m_project->openRecovery(views::recoveryPath());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_classroom && m_project->isDirty()) {
        // A child may be the one closing: nothing is asked (Save could overwrite a file), the
        // work goes to the recovery file, and with no clean exit recorded it is offered back.
        m_project->flushAutosave(true);
        event->accept();
        return;
    }
    // Saved, or discarded from the project file but flushed to the recovery file: a pending
    // autosave never dies with the window.
    if (!confirmUnsaved(tr("Save the changes to this session before closing?"))) {
        event->ignore();
        return;
    }
    // After the flush: a recovery file older than this exit holds nothing to offer.
    if (m_interactive) QSettings().setValue(kCleanExitKey, QDateTime::currentDateTimeUtc());
    if (m_interactive) QSettings().setValue(QLatin1String(kGeometryKey), saveGeometry());
    event->accept();
}

void MainWindow::showFitted(QSize size, bool restoreLast) {
    if (restoreLast && m_interactive &&
        restoreGeometry(QSettings().value(QLatin1String(kGeometryKey)).toByteArray())) {
        // restoreGeometry moves and shrinks a window that would leave today's screen.
        show();
        return;
    }
    const QScreen* screen = this->screen();
    const QRect available = screen ? screen->availableGeometry() : QRect();
    // size() leaves out the title bar and borders the window manager adds: room for them.
    const QSize frame(16, 48);
    if (available.isValid() && (size.width() + frame.width() > available.width() ||
                                size.height() + frame.height() > available.height())) {
        resize(size.boundedTo(available.size() - frame));
        showMaximized();
        return;
    }
    resize(size);
    show();
}

void MainWindow::chooseProjectToOpen() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a project"), QString(),
                                                      tr("PruneLab projects (*.prunelab)"));
    if (!path.isEmpty()) openProject(path);
}

void MainWindow::saveProject(bool askPath) {
    if (!m_session->hasModel()) {
        showError(tr("Open a model first: a project saves a model's plans and experiments."));
        return;
    }
    QString path = m_project->path();
    if (askPath || path.isEmpty()) {
        path = QFileDialog::getSaveFileName(this, tr("Save the project"),
                                            path.isEmpty() ? tr("untitled.prunelab") : path,
                                            tr("PruneLab projects (*.prunelab)"));
        if (path.isEmpty()) return;
        if (!path.endsWith(QLatin1String(".prunelab"))) path += QLatin1String(".prunelab");
    }
    const engine::Status saved = m_project->save(path);
    if (!saved.ok()) showError(views::errorText(saved.error()));
}

void MainWindow::selectLayer(int layer) {
    if (layer < 0 || layer >= m_layerModel->rowCount()) {
        m_table->selectionModel()->clearCurrentIndex();
        m_table->clearSelection();
        return;
    }
    const QModelIndex index = m_proxy->mapFromSource(m_layerModel->index(layer, 0));
    m_table->selectionModel()->setCurrentIndex(
        index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_table->scrollTo(index);
}

void MainWindow::chooseFile() {
    const QString path = m_fileChooser ? m_fileChooser()
                                       : QFileDialog::getOpenFileName(
                                             this, tr("Open a model"), QString(),
                                             QString::fromStdString(plugins::modelFileFilter(
                                                 "PruneLab projects", "*.prunelab")) +
                                                 tr(";;All files (*)"));
    if (!path.isEmpty()) openModel(path);
}

void MainWindow::chooseCatalogModel() {
    auto choices = catalogChoices();
    if (!choices.ok()) {
        showError(
            tr("Could not read the model catalog: %1").arg(views::errorText(choices.error())));
        return;
    }
    QStringList names;
    for (const CatalogChoice& c : *choices) names << QStringLiteral("%1 (%2)").arg(c.name, c.id);
    bool ok = false;
    const QString picked = QInputDialog::getItem(this, tr("Open a catalog model"),
                                                 tr("Bundled models:"), names, 0, false, &ok);
    if (!ok) return;
    const auto i = names.indexOf(picked);
    if (i >= 0) openModel((*choices)[static_cast<size_t>(i)].id);
}

void MainWindow::rememberRecent(const QString& source) {
    if (!m_interactive) return;
    QSettings settings;
    QStringList recent = settings.value(QLatin1String(kRecentFilesKey)).toStringList();
    // A file is remembered by its absolute path, so it reopens from any working directory.
    const QFileInfo info(source);
    const QString key = info.exists() ? info.absoluteFilePath() : source;
    recent.removeAll(key);
    recent.prepend(key);
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings.setValue(QLatin1String(kRecentFilesKey), recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QLatin1String(kRecentFilesKey)).toStringList();
    for (const QString& source : recent) {
        QAction* a = m_recentMenu->addAction(QFileInfo(source).fileName(), this,
                                             [this, source] { openModel(source); });
        a->setToolTip(source);
    }
    m_recentMenu->setEnabled(!recent.isEmpty());
    if (m_startPage) m_startPage->refreshRecent();
}

void MainWindow::showError(const QString& message) {
    statusBar()->showMessage(message);
    if (m_interactive) {
        QMessageBox::warning(this, tr("PruneLab"), message);
    } else {
        std::fprintf(stderr, "prunelab: %s\n", qPrintable(message));
    }
}

void MainWindow::updateSummary() {
    if (!m_session->hasModel()) return;
    const auto& s = m_session->state().stats;
    statusBar()->showMessage(
        tr("%1: %2 prunable layers, density %3 %, MACs %4 of %5 kept")
            .arg(m_session->source())
            .arg(m_session->layers().size())
            .arg(s.density() * 100, 0, 'f', 1)
            .arg(views::countText(s.keptModelMacs), views::countText(s.modelMacs)));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (m_classroom) return;  // a file dropped in the classroom would replace the work
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.front().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() != 1 || !urls.front().isLocalFile()) return;
    event->acceptProposedAction();
    openModel(urls.front().toLocalFile());
}

}  // namespace prunelab::gui

// The workbench window: the start page (demos one click away) until a model opens, File menu
// (open, catalog models, recent files, start page), drag and drop, the layer table, the analysis
// tabs on its selected layer, the prune panel, undo, the View menu's palette and projector mode,
// Edit > Settings and Help > Keyboard Shortcuts. Errors from the engine become messages; a bad file
// never closes the window, and unsaved work is asked about, autosaved on close and offered back.
#pragma once

#include <QDateTime>
#include <QKeySequence>
#include <QMainWindow>
#include <QMap>
#include <functional>

#include "app/gui/settings_dialog.h"

namespace prunelab::views {
class ExperimentLog;
class LayerTableModel;
class ModelSession;
class ProjectManager;
class PrunePanel;
class LiveView;
class RetrainPanel;
class StartPage;
class ClassroomView;
}  // namespace prunelab::views

class QAction;
class QDockWidget;
class QStackedWidget;
class QMenu;
class QSortFilterProxyModel;
class QTableView;

namespace prunelab::gui {

class AnalysisTabs;
class LessonBridge;
class ShortcutsDialog;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    // What to do with unsaved work before it would be closed or replaced.
    enum class UnsavedChoice { Save, Discard, Cancel };
    // Asked with the question to show; the default asks with a message box when interactive
    // and answers Discard otherwise (discarded work still goes to the recovery file).
    using UnsavedPrompt = std::function<UnsavedChoice(const QString& question)>;

    // `interactive` false (screenshots, tests): errors go to stderr and the status bar instead
    // of a modal box, nothing is added to the recent files, and the settings start from the
    // defaults (the look from what main() applied) instead of QSettings, so a gallery picture
    // does not depend on who took it.
    explicit MainWindow(bool interactive = true, QWidget* parent = nullptr);

    // Shows the window at the size and place it had when last closed (interactive windows, when
    // `restoreLast`), else at `size`; either way within the screen's available area, maximised
    // where the screen is smaller (a 1280x720 projector, a 1366x768 laptop).
    void showFitted(QSize size, bool restoreLast);

    // The central area is a stack of pages: the start page (cards: demos, lessons, open, recent;
    // shown until a model opens, and on File > Start Page) and the workbench (layer table,
    // analysis tabs, the Prune dock). Opening any model switches to the workbench. To add a
    // page: an enumerator here, then in the constructor `addPage(Page::X, widget)`; showPage
    // shows the Prune dock on the workbench only.
    enum class Page { Start, Workbench, Classroom };
    void showPage(Page page);
    Page page() const;
    views::StartPage* startPage() const { return m_startPage; }
    // Classroom (K-12) mode (View > Classroom Mode, prunelab --classroom, remembered for the
    // next session when interactive): the classroom page alone, large, with no menu bar, dock or
    // status bar, so nothing a child does opens, saves or records a file. It stops the Live tab
    // (the page runs its own demo), opens the zoom-x2 demo when no model is open or opening,
    // and stays on screen until classroomKeys() (named on the page) leaves it. Closing the
    // window in the mode asks nothing and keeps unsaved work in the recovery file.
    void setClassroomMode(bool on);
    bool classroomMode() const { return m_classroom; }
    views::ClassroomView* classroomView() const { return m_classroomView; }
    static QKeySequence classroomKeys();
    // The start page's demos: opens catalog model `catalogId` with no dialog, adopts its bundled
    // pruned-and-retrained model when it has one (plugins/model-files/demo_models.h), then shows
    // the Live tab and starts it (a camera when there is one, else the bundled video; for the
    // text finder, the bundled text photo instead of the video, which has no text in it).
    void openDemo(const QString& catalogId);
    // Asks for a model file to open (File > Open, the start page's Open card); returns the path,
    // empty when cancelled. The default is a file dialog; tests inject their own.
    using FileChooser = std::function<QString()>;
    void setFileChooser(FileChooser chooser) { m_fileChooser = std::move(chooser); }

    views::ModelSession* session() const { return m_session; }
    // Every plan applied in this window, with its measured times (the Compare tab's rows).
    views::ExperimentLog* experiments() const { return m_experiments; }
    // Save, open and autosave of .prunelab projects.
    views::ProjectManager* project() const { return m_project; }
    // A view of the view list (view_registry.h) by name ("layers"); nullptr when unknown.
    QWidget* namedView(const QString& name) const { return m_views.value(name, nullptr); }
    AnalysisTabs* analysisTabs() const { return m_tabs; }
    views::RetrainPanel* retrainPanel() const { return m_retrainPanel; }
    views::LiveView* liveView() const { return m_liveView; }
    // The lessons (issue 17): the dock with the lesson player, the state its checks read and
    // the executor of its "Show me" actions (View > Lessons, the start page's Lessons card).
    LessonBridge* lessons() const { return m_lessons; }
    QTableView* layerTable() const { return m_table; }
    // A model file or catalog id; a .prunelab file opens as a project.
    void openModel(const QString& source);
    void openProject(const QString& path);
    // Selects prunable layer `layer` (prunableLayers() order) in the table, which every view
    // follows; -1 clears the selection.
    void selectLayer(int layer);

    // Replaces the Save / Discard / Cancel question (tests answer it without a box).
    void setUnsavedPrompt(UnsavedPrompt prompt) { m_unsavedPrompt = std::move(prompt); }
    // True when the work may be closed or replaced: nothing unsaved, or the person saved it or
    // chose to discard it (a pending autosave then goes to the recovery file, never lost).
    bool confirmUnsaved(const QString& question);
    // A recovery file written after the last clean exit means a session ended without closing
    // the window: its work is only there. `lastCleanExit` invalid: any recovery file counts.
    static bool recoveryIsNewer(const QString& recoveryFile, const QDateTime& lastCleanExit);
    // Shows a non-modal bar offering to restore recoveryPath() when it is newer than the last
    // clean exit (QSettings); returns whether it did. Never called for screenshots.
    bool offerRecovery();
    // Opens recoveryPath() as unsaved work and hides the bar.
    void restoreRecovery();
    QWidget* recoveryBar() const { return m_recoveryBar; }

    // What the window runs with now (Edit > Settings).
    const WorkbenchSettings& settings() const { return m_settings; }
    // Applies every setting at once: the look (applyAppearance), the Measure button's threads
    // and runs, the autosave interval; the View menu and an open Settings dialog follow.
    // Saves nothing (the dialog saves what a person changes).
    void applySettings(const WorkbenchSettings& settings);
    // Opens Edit > Settings (non-modal, one per window) and returns it.
    SettingsDialog* showSettingsDialog();
    // Opens Help > Keyboard Shortcuts, built from the actions as they are now.
    ShortcutsDialog* showShortcutsDialog();

  signals:
    // The layer selected in the table, by its index in prunableLayers() order and its name;
    // -1 and empty when the selection is cleared.
    void layerSelected(int layer, const QString& name);
    void pageChanged(Page page);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

  private:
    // Asks (or the injected prompt answers); Save saves and turns into Cancel when the work is
    // still unsaved after it. Discard when nothing is unsaved.
    UnsavedChoice askUnsaved(const QString& question);
    void buildMenus();
    void chooseFile();
    void addPage(Page page, QWidget* widget);
    void buildStartPage();
    // The demo's next step once its model is in: adopt the bundled retrained model, or start.
    void continueDemo();
    void startDemoLive();
    void buildClassroomPage(const QString& bundledVideo);
    void chooseCatalogModel();
    void chooseProjectToOpen();
    void saveProject(bool askPath);
    void rememberRecent(const QString& source);
    void updateRecentMenu();
    void showError(const QString& message);
    void updateSummary();

    bool m_interactive;
    WorkbenchSettings m_settings;
    views::ModelSession* m_session;
    views::ExperimentLog* m_experiments;
    views::ProjectManager* m_project;
    views::LayerTableModel* m_layerModel;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_table;
    views::PrunePanel* m_prunePanel;
    views::RetrainPanel* m_retrainPanel = nullptr;
    views::LiveView* m_liveView = nullptr;
    AnalysisTabs* m_tabs;
    QMenu* m_recentMenu = nullptr;
    QMap<QString, QWidget*> m_views;
    QStackedWidget* m_pages = nullptr;
    QMap<Page, QWidget*> m_pageWidgets;
    views::StartPage* m_startPage = nullptr;
    QDockWidget* m_pruneDock = nullptr;
    FileChooser m_fileChooser;
    // The demo being opened (a catalog id) and where it is: waiting for the model, or for the
    // retrained demo model to be adopted. Any other open clears it.
    QString m_demo;
    enum class DemoStep { None, Loading, Adopting } m_demoStep = DemoStep::None;
    QString m_liveDefaultSource;  // what the Live tab chose at start: a camera, else the video
    views::ClassroomView* m_classroomView = nullptr;
    LessonBridge* m_lessons = nullptr;
    QAction* m_classroomAction = nullptr;
    bool m_classroom = false;
    Page m_pageAfterClassroom = Page::Workbench;  // what leaving the mode shows
    UnsavedPrompt m_unsavedPrompt;
    QWidget* m_recoveryBar = nullptr;
    SettingsDialog* m_settingsDialog = nullptr;
    QAction* m_darkAction = nullptr;
    QAction* m_projectorAction = nullptr;
    QAction* m_measureAction = nullptr;
    QAction* m_applyAction = nullptr;
    QAction* m_resetAction = nullptr;
};

}  // namespace prunelab::gui

// The workbench window: File menu (open, catalog models, recent files), drag and drop, the
// layer table, the analysis tabs on its selected layer, the prune panel, undo, and the View
// menu's palette and projector mode. Errors from the
// engine become messages; a bad file never closes the window.
#pragma once

#include <QMainWindow>
#include <QMap>

namespace prunelab::views {
class ExperimentLog;
class LayerTableModel;
class ModelSession;
class ProjectManager;
class PrunePanel;
}  // namespace prunelab::views

class QMenu;
class QSortFilterProxyModel;
class QTableView;

namespace prunelab::gui {

class AnalysisTabs;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    // `interactive` false (screenshots, tests): errors go to stderr and the status bar instead
    // of a modal box, and nothing is added to the recent files.
    explicit MainWindow(bool interactive = true, QWidget* parent = nullptr);

    views::ModelSession* session() const { return m_session; }
    // Every plan applied in this window, with its measured times (the Compare tab's rows).
    views::ExperimentLog* experiments() const { return m_experiments; }
    // Save, open and autosave of .prunelab projects.
    views::ProjectManager* project() const { return m_project; }
    // A view by the name --view uses ("layers"); nullptr when unknown.
    QWidget* namedView(const QString& name) const { return m_views.value(name, nullptr); }
    QStringList viewNames() const { return m_views.keys(); }
    AnalysisTabs* analysisTabs() const { return m_tabs; }
    QTableView* layerTable() const { return m_table; }
    // A model file or catalog id; a .prunelab file opens as a project.
    void openModel(const QString& source);
    void openProject(const QString& path);
    // Selects prunable layer `layer` (prunableLayers() order) in the table, which every view
    // follows; -1 clears the selection.
    void selectLayer(int layer);

  signals:
    // The layer selected in the table, by its index in prunableLayers() order and its name;
    // -1 and empty when the selection is cleared.
    void layerSelected(int layer, const QString& name);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    void buildMenus();
    void chooseFile();
    void chooseCatalogModel();
    void chooseProjectToOpen();
    void saveProject(bool askPath);
    void rememberRecent(const QString& source);
    void updateRecentMenu();
    void showError(const QString& message);
    void updateSummary();

    bool m_interactive;
    views::ModelSession* m_session;
    views::ExperimentLog* m_experiments;
    views::ProjectManager* m_project;
    views::LayerTableModel* m_layerModel;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_table;
    views::PrunePanel* m_prunePanel;
    AnalysisTabs* m_tabs;
    QMenu* m_recentMenu = nullptr;
    QMap<QString, QWidget*> m_views;
};

}  // namespace prunelab::gui

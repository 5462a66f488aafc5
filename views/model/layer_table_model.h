// A table of the opened model's prunable layers (engine/ir/layer_view.h) with their pruning
// statistics (engine/prune/stats.h), following a ModelSession: rows reset when a model opens,
// the scheme / density / kept-MACs cells update when a plan is applied, reset or undone.
#pragma once

#include <QAbstractTableModel>
#include <map>
#include <string>

namespace prunelab::views {

class ModelSession;

class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT

  public:
    enum Column { Name, Op, Weight, Output, Params, Macs, Scheme, Density, KeptMacs, ColumnCount };
    // Numbers for sorting (a QSortFilterProxyModel with this sort role), names for text.
    static constexpr int kSortRole = Qt::UserRole;

    // The session must outlive the model.
    explicit LayerTableModel(const ModelSession* session, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    void onModelLoaded();
    void onPlanApplied();

    const ModelSession* m_session;
    int m_rows = 0;
    // Layer name -> index into the session state's stats.layers (rebuilt with each state).
    std::map<std::string, size_t> m_statsRow;
};

}  // namespace prunelab::views

// A table of the opened model's prunable layers (engine/ir/layer_view.h) with their pruning
// statistics (engine/prune/stats.h), following a ModelSession: rows reset when a model opens,
// the scheme / density / kept-MACs cells update when a plan is applied, reset or undone. Names
// show without the prefix every layer shares (the full name is the tooltip and kFullNameRole),
// and a layer the plan kept dense says why in its scheme cell.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <map>
#include <string>

namespace prunelab::views {

class ModelSession;

class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT

  public:
    enum Column { Name, Op, Weight, Output, Params, Macs, Scheme, Density, KeptMacs, ColumnCount };
    // Numbers for sorting (a QSortFilterProxyModel with this sort role), names for text.
    // The scheme column sorts by the scheme's name ("dense", "pattern", ...).
    static constexpr int kSortRole = Qt::UserRole;
    // The layer's full name, in any column (the Name column shows it shortened).
    static constexpr int kFullNameRole = Qt::UserRole + 1;

    // The session must outlive the model.
    explicit LayerTableModel(const ModelSession* session, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    // The prefix the Name column drops ("" when the names share none).
    QString sharedPrefix() const { return m_prefix; }

  private:
    void onModelLoaded();
    void onPlanApplied();

    const ModelSession* m_session;
    int m_rows = 0;
    QString m_prefix;
    // Layer name -> index into the session state's stats.layers (rebuilt with each state).
    std::map<std::string, size_t> m_statsRow;
};

}  // namespace prunelab::views

// The layer table (see layer_table_model.h).
#include "views/model/layer_table_model.h"

#include <string>
#include <vector>

#include "engine/ir/op_kind.h"
#include "views/common/engine_text.h"
#include "views/model/layer_text.h"
#include "views/session/model_session.h"

namespace prunelab::views {

namespace {

QString weightText(const engine::Layer& l) {
    // The [out][in/g][kh][kw] view the schemes prune, as the CLI's info prints it.
    QString text = QStringLiteral("%1x%2").arg(l.outChannels).arg(l.inPerGroup);
    if (l.kh * l.kw > 1) text += QStringLiteral("x%1x%2").arg(l.kh).arg(l.kw);
    if (l.groups > 1) text += QStringLiteral(" g%1").arg(l.groups);
    return text;
}

}  // namespace

LayerTableModel::LayerTableModel(const ModelSession* session, QObject* parent)
    : QAbstractTableModel(parent), m_session(session) {
    connect(session, &ModelSession::modelLoaded, this, &LayerTableModel::onModelLoaded);
    connect(session, &ModelSession::planApplied, this, &LayerTableModel::onPlanApplied);
    if (session->hasModel()) onModelLoaded();
}

void LayerTableModel::onModelLoaded() {
    beginResetModel();
    m_rows = static_cast<int>(m_session->layers().size());
    std::vector<std::string> names;
    for (const engine::Layer& l : m_session->layers()) names.push_back(l.name);
    m_prefix = sharedNamePrefix(names);
    m_statsRow.clear();
    const auto& stats = m_session->state().stats.layers;
    for (size_t i = 0; i < stats.size(); ++i) m_statsRow[stats[i].name] = i;
    endResetModel();
}

void LayerTableModel::onPlanApplied() {
    if (!m_session->hasModel()) return;
    m_statsRow.clear();
    const auto& stats = m_session->state().stats.layers;
    for (size_t i = 0; i < stats.size(); ++i) m_statsRow[stats[i].name] = i;
    if (m_rows > 0) emit dataChanged(index(0, Scheme), index(m_rows - 1, KeptMacs));
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_rows;
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const engine::Layer& l = m_session->layers()[static_cast<size_t>(index.row())];
    const engine::prune::LayerStats* s = nullptr;
    if (auto it = m_statsRow.find(l.name); it != m_statsRow.end())
        s = &m_session->state().stats.layers[it->second];
    const int column = index.column();
    const bool keptDense = s && s->scheme == "dense" && !keptDenseShort(s->reason).isEmpty();

    if (role == kFullNameRole) return QString::fromStdString(l.name);
    if (role == Qt::TextAlignmentRole) {
        const bool number =
            column == Params || column == Macs || column == Density || column == KeptMacs;
        return QVariant::fromValue(number ? Qt::AlignRight | Qt::AlignVCenter
                                          : Qt::AlignLeft | Qt::AlignVCenter);
    }
    if (role == Qt::ToolTipRole) {
        if (column == Name) return QString::fromStdString(l.name);
        if (column == Scheme && keptDense) {
            // The sentence for a class, the plan's own words for a researcher.
            return QStringLiteral("%1\n(%2)")
                .arg(keptDenseSentence(s->reason), QString::fromStdString(s->reason));
        }
        if (column == Scheme && s && !s->reason.empty()) return QString::fromStdString(s->reason);
        if (column == Params) return QString::number(l.params);
        if (column == Macs) return QString::number(l.macs);
        if (column == KeptMacs && s) return QString::number(s->keptMacs);
        return {};
    }
    if (role != Qt::DisplayRole && role != kSortRole) return {};
    const bool sort = role == kSortRole;
    switch (column) {
        case Name:
            return shortLayerName(l.name, m_prefix);
        case Op:
            return QString::fromStdString(std::string(engine::opName(l.op)));
        case Weight:
            return sort ? QVariant(
                              static_cast<qlonglong>(l.outChannels * l.inPerGroup * l.kh * l.kw))
                        : QVariant(weightText(l));
        case Output:
            return shapeText(l.outputShape);
        case Params:
            return sort ? QVariant(static_cast<qlonglong>(l.params))
                        : QVariant(countText(l.params));
        case Macs:
            return sort ? QVariant(static_cast<qlonglong>(l.macs)) : QVariant(countText(l.macs));
        case Scheme:
            if (!s) return QString();
            if (keptDense && !sort) return tr("dense: %1").arg(keptDenseShort(s->reason));
            return QString::fromStdString(s->scheme);
        case Density:
            if (!s) return {};
            return sort ? QVariant(s->density)
                        : QVariant(QStringLiteral("%1 %").arg(s->density * 100, 0, 'f', 1));
        case KeptMacs:
            if (!s) return {};
            return sort ? QVariant(static_cast<qlonglong>(s->keptMacs))
                        : QVariant(countText(s->keptMacs));
        default:
            return {};
    }
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role == Qt::ToolTipRole && orientation == Qt::Horizontal && section == Name &&
        !m_prefix.isEmpty())
        return tr("Names without the prefix every layer shares: %1").arg(m_prefix);
    if (role != Qt::DisplayRole) return {};
    if (orientation == Qt::Vertical) return section;
    switch (section) {
        case Name:
            return tr("Layer");
        case Op:
            return tr("Op");
        case Weight:
            return tr("Weight");
        case Output:
            return tr("Output");
        case Params:
            return tr("Params");
        case Macs:
            return tr("MACs");
        case Scheme:
            return tr("Scheme");
        case Density:
            return tr("Density");
        case KeptMacs:
            return tr("Kept MACs");
        default:
            return {};
    }
}

}  // namespace prunelab::views

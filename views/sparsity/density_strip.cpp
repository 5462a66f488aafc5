// The density strip: bars share the width evenly (a model of 200 layers still fits), dense
// layers are grey so the eye goes to what pruning changed.
#include "views/sparsity/density_strip.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>

#include "views/model/layer_text.h"
#include "views/sparsity/colour_map.h"

namespace prunelab::views {

DensityStripData densityStripFromStats(const engine::prune::ModelStats& stats) {
    DensityStripData d;
    for (const engine::prune::LayerStats& s : stats.layers)
        d.bars.push_back({s.name, s.scheme, s.density, s.weights, s.kept});
    return d;
}

DensityStrip::DensityStrip(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void DensityStrip::setData(DensityStripData data) {
    m_data = std::move(data);
    std::vector<std::string> names;
    for (const auto& bar : m_data.bars) names.push_back(bar.name);
    m_prefix = sharedNamePrefix(names);
    if (m_selected >= barCount()) m_selected = -1;
    update();
}

QSize DensityStrip::sizeHint() const {
    return QSize(std::max(200, barCount() * 8), fontMetrics().height() * 2 + 80);
}

QSize DensityStrip::minimumSizeHint() const {
    return QSize(100, fontMetrics().height() * 2 + 40);
}

QRect DensityStrip::plotArea() const {
    // Room for the 100% label on the left and the selected layer's name below.
    const int left = fontMetrics().horizontalAdvance(QStringLiteral("100%")) + 8;
    return QRect(left, 4, std::max(1, width() - left - 4),
                 std::max(1, height() - fontMetrics().height() - 12));
}

QRect DensityStrip::barSlot(int index) const {
    if (index < 0 || index >= barCount()) return {};
    const QRect area = plotArea();
    const int n = barCount();
    const int x0 = area.left() + static_cast<int>(static_cast<int64_t>(area.width()) * index / n);
    const int x1 =
        area.left() + static_cast<int>(static_cast<int64_t>(area.width()) * (index + 1) / n);
    return QRect(x0, area.top(), std::max(1, x1 - x0), area.height());
}

int DensityStrip::barAt(QPoint pos) const {
    const QRect area = plotArea();
    if (!area.contains(pos) || barCount() == 0) return -1;
    const int index =
        static_cast<int>(static_cast<int64_t>(pos.x() - area.left()) * barCount() / area.width());
    return std::clamp(index, 0, barCount() - 1);
}

void DensityStrip::setSelectedLayer(int index) {
    m_selected = index >= 0 && index < barCount() ? index : -1;
    update();
}

void DensityStrip::select(int index) {
    if (index < 0 || index >= barCount()) return;
    setSelectedLayer(index);
    emit layerSelected(index);
}

void DensityStrip::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return;
    select(barAt(event->position().toPoint()));
}

void DensityStrip::keyPressEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_Left)
        select(std::max(0, m_selected - 1));
    else if (event->key() == Qt::Key_Right)
        select(std::min(barCount() - 1, m_selected + 1));
    else
        QWidget::keyPressEvent(event);
}

bool DensityStrip::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int index = barAt(help->pos());
        if (index < 0) {
            QToolTip::hideText();
        } else {
            const auto& bar = m_data.bars[static_cast<size_t>(index)];
            QToolTip::showText(help->globalPos(),
                               QStringLiteral("Layer %1: %2\n%3\nkept %4 of %5 weights (%6%)")
                                   .arg(index)
                                   .arg(QString::fromStdString(bar.name))
                                   .arg(QString::fromStdString(bar.scheme))
                                   .arg(bar.kept)
                                   .arg(bar.weights)
                                   .arg(100 * bar.density, 0, 'f', 1),
                               this);
        }
        return true;
    }
    return QWidget::event(event);
}

void DensityStrip::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QRect area = plotArea();
    const QFontMetrics fm = fontMetrics();
    painter.fillRect(area, palette().base());
    painter.setPen(palette().mid().color());
    for (double level : {0.25, 0.5, 0.75}) {
        const int y = area.bottom() - static_cast<int>(level * area.height());
        painter.drawLine(area.left(), y, area.right(), y);
    }
    painter.setPen(palette().windowText().color());
    painter.drawText(QPoint(2, area.top() + fm.ascent()), QStringLiteral("100%"));
    painter.drawText(QPoint(2, area.bottom()), QStringLiteral("0%"));
    for (int i = 0; i < barCount(); ++i) {
        const auto& bar = m_data.bars[static_cast<size_t>(i)];
        const QRect slot = barSlot(i);
        if (i == m_selected) painter.fillRect(slot, palette().highlight().color().lighter(170));
        const int h = std::max(1, static_cast<int>(bar.density * slot.height() + 0.5));
        // A gap between bars once they are wide enough to spare one.
        const QRect r(slot.left(), slot.bottom() - h + 1,
                      std::max(1, slot.width() - (slot.width() > 3)), h);
        const QColor colour = bar.scheme == "dense" ? QColor(160, 160, 160) : viridis(bar.density);
        painter.fillRect(r, colour);
    }
    painter.setPen(palette().windowText().color());
    painter.drawRect(area.adjusted(0, 0, -1, -1));
    const QString caption =
        m_selected >= 0
            ? QStringLiteral("Layer %1: %2, %3% kept")
                  .arg(m_selected)
                  .arg(shortLayerName(m_data.bars[static_cast<size_t>(m_selected)].name, m_prefix))
                  .arg(100 * m_data.bars[static_cast<size_t>(m_selected)].density, 0, 'f', 1)
            : QStringLiteral("Density per layer (click a bar to show the layer)");
    painter.drawText(QRect(area.left(), area.bottom() + 4, area.width(), fm.height() + 4),
                     Qt::AlignLeft | Qt::AlignVCenter,
                     fm.elidedText(caption, Qt::ElideRight, area.width()));
}

}  // namespace prunelab::views

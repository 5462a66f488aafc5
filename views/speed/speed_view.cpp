// The speed view: SpeedData from the measure pass, the painted per-layer bars, and the panel
// that explains the selected layer (its numbers and the compiler's decision in words).
#include "views/speed/speed_view.h"

#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QVBoxLayout>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "views/common/engine_text.h"
#include "views/model/layer_text.h"

namespace prunelab::views {

namespace cg = engine::codegen;

namespace {

constexpr int kMargin = 8;
constexpr int kLabelWidth = 190;
constexpr int kStatsWidth = 300;

QString msText(double ms) {
    return ms > 0 ? QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 1 ? 3 : 2) : QStringLiteral("-");
}

}  // namespace

double SpeedLayer::speedup() const {
    return measured() ? denseMs / compiledMs : 0;
}

double SpeedLayer::idealSpeedup() const {
    return keptMacs > 0 ? static_cast<double>(denseMacs) / static_cast<double>(keptMacs) : 0;
}

double SpeedLayer::gflops() const {
    return compiledMs > 0 ? 2e-6 * static_cast<double>(keptMacs) / compiledMs : 0;
}

SpeedData speedDataFromMeasure(const cg::SparseModel& model) {
    SpeedData d;
    std::map<int, std::pair<double, double>> times;  // index -> (dense, compiled)
    if (model.measured) {
        for (const cg::MeasuredLayer& m : model.measured->layers)
            times[m.index] = {m.denseMs, m.sparseMs};
        d.compiledTotalMs = model.measured->wholeSparseMs;
        d.denseTotalMs = model.measured->wholeDenseMs;
        d.source = "the compiler's measure pass (medians of profiled runs on this machine)";
    } else {
        d.source = "not measured: run the measured decision (compile with measurement)";
    }
    for (const cg::LayerCode& l : model.layers) {
        SpeedLayer s;
        s.index = l.index;
        s.name = l.name;
        s.kind = cg::kernelKindName(l.kind);
        if (auto it = times.find(l.index); it != times.end())
            std::tie(s.denseMs, s.compiledMs) = it->second;
        s.denseMacs = l.denseMacs;
        s.keptMacs = l.keptMacs;
        s.decision = l.decision;
        d.layers.push_back(std::move(s));
    }
    return d;
}

// ---- SpeedBars ----

SpeedBars::SpeedBars(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setMouseTracking(false);
}

void SpeedBars::setData(const SpeedData* data) {
    m_data = data;
    m_selected = -1;
    std::vector<std::string> names;
    if (m_data)
        for (const SpeedLayer& l : m_data->layers) names.push_back(l.name);
    m_prefix = sharedNamePrefix(names);
    // The scroll area sizes a resizable widget no smaller than its minimum: every row.
    setMinimumHeight(2 * kMargin + rowCount() * rowHeight());
    updateGeometry();
    update();
}

void SpeedBars::setSelectedRow(int row) {
    m_selected = row >= 0 && row < rowCount() ? row : -1;
    update();
}

int SpeedBars::rowCount() const {
    return m_data ? static_cast<int>(m_data->layers.size()) : 0;
}

int SpeedBars::rowHeight() const {
    return fontMetrics().height() * 2 + 6;
}

QRect SpeedBars::rowRect(int row) const {
    return QRect(0, kMargin + row * rowHeight(), width(), rowHeight());
}

int SpeedBars::rowAt(const QPoint& point) const {
    if (point.y() < kMargin) return -1;
    const int row = (point.y() - kMargin) / rowHeight();
    return row < rowCount() ? row : -1;
}

QSize SpeedBars::sizeHint() const {
    return QSize(kLabelWidth + kStatsWidth + 300, 2 * kMargin + rowCount() * rowHeight());
}

void SpeedBars::mousePressEvent(QMouseEvent* event) {
    const int row = rowAt(event->position().toPoint());
    if (row < 0) return;
    setSelectedRow(row);
    emit rowClicked(row);
}

void SpeedBars::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    if (!m_data) return;
    const QFontMetrics fm = fontMetrics();
    const QColor text = palette().text().color();
    double scale = 0;
    for (const SpeedLayer& l : m_data->layers) scale = std::max({scale, l.denseMs, l.compiledMs});
    const int barLeft = kLabelWidth + kMargin;
    const int barWidth = std::max(20, width() - barLeft - kStatsWidth - kMargin);
    const int barHeight = std::max(4, (rowHeight() - 6) / 2);
    for (int r = 0; r < rowCount(); ++r) {
        const SpeedLayer& l = m_data->layers[static_cast<size_t>(r)];
        const QRect row = rowRect(r);
        if (r == m_selected)
            painter.fillRect(row, palette().highlight().color().lighter(170));
        else if (r % 2)
            painter.fillRect(row, palette().alternateBase());
        painter.setPen(text);
        const QString label =
            QStringLiteral("#%1 %2").arg(l.index).arg(QString::fromStdString(l.kind));
        painter.drawText(QRect(kMargin, row.top(), kLabelWidth, fm.height() + 2),
                         Qt::AlignLeft | Qt::AlignVCenter, label);
        // Node names are long paths: without the shared prefix, and keeping the distinguishing
        // end when still too long.
        painter.drawText(
            QRect(kMargin, row.top() + fm.height() + 2, kLabelWidth, fm.height()),
            Qt::AlignLeft | Qt::AlignVCenter,
            fm.elidedText(shortLayerName(l.name, m_prefix), Qt::ElideLeft, kLabelWidth - 4));
        auto length = [&](double ms) {
            return scale > 0 ? std::max(1, static_cast<int>(barWidth * ms / scale)) : 0;
        };
        const int top = row.top() + 3;
        if (l.denseMs > 0)
            painter.fillRect(QRect(barLeft, top, length(l.denseMs), barHeight),
                             QColor(150, 150, 150));
        if (l.compiledMs > 0) {
            const QColor c = l.compiledMs <= l.denseMs ? QColor(46, 139, 87) : QColor(230, 126, 34);
            painter.fillRect(QRect(barLeft, top + barHeight, length(l.compiledMs), barHeight), c);
        }
        QString stats;
        if (l.measured())
            stats = QStringLiteral("%1 / %2   %3x of %4x ideal\n%5 GFLOP/s, %6 MACs kept")
                        .arg(msText(l.denseMs), msText(l.compiledMs))
                        .arg(l.speedup(), 0, 'f', 2)
                        .arg(l.idealSpeedup(), 0, 'f', 2)
                        .arg(l.gflops(), 0, 'f', 1)
                        .arg(countText(l.keptMacs));
        else
            stats = tr("not measured\n%1 MACs kept").arg(countText(l.keptMacs));
        painter.setPen(text);
        painter.drawText(QRect(barLeft + barWidth + kMargin, row.top(), kStatsWidth, row.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, stats);
    }
}

// ---- SpeedView ----

SpeedView::SpeedView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    m_totals = new QLabel(this);
    m_totals->setWordWrap(true);
    auto* legend =
        new QLabel(tr("Grey: the dense kernel. Green: the compiled kernel, faster; orange: slower. "
                      "Ideal: dense MACs / kept MACs, the speedup if time followed the MACs."),
                   this);
    legend->setWordWrap(true);
    m_bars = new SpeedBars(this);
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_bars);
    m_scroll->setWidgetResizable(true);
    m_details = new QLabel(this);
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_decision = new QLabel(this);
    m_decision->setWordWrap(true);
    m_decision->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont big = m_decision->font();
    big.setPointSizeF(big.pointSizeF() * 1.2);
    m_decision->setFont(big);
    m_gpuFallbacks = new QLabel(this);
    m_gpuFallbacks->setObjectName(QStringLiteral("speedGpuFallbacks"));
    m_gpuFallbacks->setWordWrap(true);
    m_gpuFallbacks->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_gpuFallbacks->hide();
    layout->addWidget(m_totals);
    layout->addWidget(legend);
    layout->addWidget(m_scroll, 1);
    layout->addWidget(m_details);
    layout->addWidget(m_decision);
    layout->addWidget(m_gpuFallbacks);
    connect(m_bars, &SpeedBars::rowClicked, this, [this](int row) {
        showRow(row);
        emit layerSelected(m_data.layers[static_cast<size_t>(row)].index);
    });
    setData({});
}

void SpeedView::setGpuFallbacks(const QString& text, const QString& details) {
    m_gpuFallbacks->setText(text);
    m_gpuFallbacks->setToolTip(details);
    m_gpuFallbacks->setVisible(!text.isEmpty());
    fitLabels();
}

QString SpeedView::gpuFallbacksText() const {
    return m_gpuFallbacks->text();
}

void SpeedView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitLabels();
}

void SpeedView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    fitLabels();
}

void SpeedView::fitLabels() {
    // A wrapped label's minimum height does not follow its width in a layout: give each the
    // height its text needs at the current width, so no line is cut off. The old minimum goes
    // first: QLabel's heightForWidth never answers less than it, so once narrow the view would
    // never get shorter again. Hidden (another tab is current), the view may be handed any
    // width, e.g. while the window is grabbed: minimum heights from that would make the whole
    // window taller than the screen.
    if (!isVisible()) return;
    const QMargins m = layout()->contentsMargins();
    const int w = std::max(50, width() - m.left() - m.right());
    for (QLabel* label : findChildren<QLabel*>()) {
        if (!label->wordWrap()) continue;
        label->setMinimumHeight(0);
        label->setMinimumHeight(std::max(0, label->heightForWidth(w)));
    }
}

void SpeedView::setData(SpeedData data) {
    m_data = std::move(data);
    m_bars->setData(&m_data);
    if ((m_data.denseTotalMs > 0 || m_data.compiledTotalMs > 0) && !m_data.partsTimed) {
        // The measure pass times layers and whole runs only: no invented zeros for the rest.
        m_totals->setText(
            tr("Whole model: dense %1 ms, compiled %2 ms (%3x); the difference beyond the layers "
               "is the layout changes and the steps between them. Times: %4.")
                .arg(m_data.denseTotalMs, 0, 'f', 3)
                .arg(m_data.compiledTotalMs, 0, 'f', 3)
                .arg(
                    m_data.compiledTotalMs > 0 ? m_data.denseTotalMs / m_data.compiledTotalMs : 0.0,
                    0, 'f', 2)
                .arg(QString::fromStdString(m_data.source)));
    } else if (m_data.denseTotalMs > 0 || m_data.compiledTotalMs > 0) {
        // Here 0 is a measured nothing (no layout change), not a missing time.
        auto msText = [](double ms) { return QStringLiteral("%1 ms").arg(ms, 0, 'f', 3); };
        m_totals->setText(
            tr("Whole model: dense %1, compiled %2 (%3x). Layout changes: dense %4, compiled %5. "
               "Steps that are not compiled layers: dense %6, compiled %7. Times: %8.")
                .arg(msText(m_data.denseTotalMs), msText(m_data.compiledTotalMs))
                .arg(
                    m_data.compiledTotalMs > 0 ? m_data.denseTotalMs / m_data.compiledTotalMs : 0.0,
                    0, 'f', 2)
                .arg(msText(m_data.denseReorderMs), msText(m_data.compiledReorderMs),
                     msText(m_data.otherDenseMs), msText(m_data.otherCompiledMs),
                     QString::fromStdString(m_data.source)));
    } else {
        m_totals->setText(tr("Times: %1.").arg(QString::fromStdString(m_data.source)));
    }
    fitLabels();
    showRow(-1);
}

int SpeedView::barCount() const {
    return m_bars->rowCount();
}

int SpeedView::selectedIndex() const {
    const int row = m_bars->selectedRow();
    return row < 0 ? -1 : m_data.layers[static_cast<size_t>(row)].index;
}

QString SpeedView::decisionText() const {
    return m_decision->text();
}

QString SpeedView::detailsText() const {
    return m_details->text();
}

QString SpeedView::totalsText() const {
    return m_totals->text();
}

void SpeedView::selectLayer(int index) {
    int row = -1;
    for (size_t i = 0; i < m_data.layers.size(); ++i)
        if (m_data.layers[i].index == index) row = static_cast<int>(i);
    showRow(row);
}

void SpeedView::showRow(int row) {
    m_bars->setSelectedRow(row);
    if (row < 0) {
        m_details->setText(tr("Click a layer's bars to see why it is (not) faster."));
        m_decision->clear();
        fitLabels();
        return;
    }
    const SpeedLayer& l = m_data.layers[static_cast<size_t>(row)];
    m_scroll->ensureVisible(0, m_bars->rowRect(row).center().y(), 0, m_bars->rowRect(row).height());
    if (l.measured()) {
        m_details->setText(
            tr("Layer %1 (%2), %3 kernel: dense %4, compiled %5: %6x, ideal %7x (%8 of %9 MACs "
               "kept); the compiled kernel ran at %10 GFLOP/s.")
                .arg(l.index)
                .arg(QString::fromStdString(l.name), QString::fromStdString(l.kind),
                     msText(l.denseMs), msText(l.compiledMs))
                .arg(l.speedup(), 0, 'f', 2)
                .arg(l.idealSpeedup(), 0, 'f', 2)
                .arg(countText(l.keptMacs), countText(l.denseMacs))
                .arg(l.gflops(), 0, 'f', 1));
    } else {
        m_details->setText(tr("Layer %1 (%2), %3 kernel: not measured; %4 of %5 MACs kept.")
                               .arg(l.index)
                               .arg(QString::fromStdString(l.name), QString::fromStdString(l.kind),
                                    countText(l.keptMacs), countText(l.denseMacs)));
    }
    m_decision->setText(QString::fromStdString(l.decision));
    fitLabels();
}

}  // namespace prunelab::views

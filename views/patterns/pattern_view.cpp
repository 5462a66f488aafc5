// The pattern view: one row per pattern (glyph, id, count, bar), rows grow with the widget so a
// projector shows them as large as the window allows, and shrink to a readable minimum.
#include "views/patterns/pattern_view.h"

#include <QLocale>
#include <QPainter>

#include <algorithm>
#include <map>

#include "views/sparsity/colour_map.h"

namespace prunelab::views {

namespace {

constexpr int kMinRow = 44, kMaxRow = 150;
constexpr int kMargin = 12;

void sortEntries(std::vector<PatternData::Entry>& entries) {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        if (a.count != b.count) return a.count > b.count;
        if (a.id != b.id) return a.id < b.id;
        return a.mask < b.mask;
    });
}

}  // namespace

int64_t PatternData::keptKernels() const {
    int64_t n = 0;
    for (const Entry& e : entries) n += e.count;
    return n;
}

int64_t PatternData::countOf(engine::prune::Pattern mask) const {
    for (const Entry& e : entries)
        if (e.mask == mask) return e.count;
    return 0;
}

PatternData patternDataFromLayer(const engine::prune::LayerStats& stats,
                                 const engine::prune::LayerProjection& projection) {
    PatternData d;
    d.title = stats.name;
    d.kernels = stats.kernels;
    d.kernelsRemoved = stats.kernelsRemoved;
    d.connectivity = !projection.patternSet.empty();
    std::map<engine::prune::Pattern, int64_t> histogram = stats.patternHistogram;
    for (size_t k = 0; k < projection.patternSet.size(); ++k) {
        const engine::prune::Pattern mask = projection.patternSet[k];
        d.entries.push_back({mask, static_cast<int32_t>(k), histogram[mask]});
        histogram.erase(mask);
    }
    // Patterns outside the set: a layer read from its zeros (no scheme record).
    for (const auto& [mask, count] : histogram) d.entries.push_back({mask, -1, count});
    sortEntries(d.entries);
    return d;
}

PatternData patternDataFromModel(const engine::prune::ModelStats& stats,
                                 const engine::prune::PrunedModel& model) {
    PatternData d;
    d.title = "whole model";
    std::map<engine::prune::Pattern, int64_t> histogram;
    for (const engine::prune::LayerStats& s : stats.layers) {
        // Only the pattern layers: connectivity pruning is theirs, and a 1x1 or dense layer's
        // kernels would inflate "removed N of M" (BlazeFace patdnn-8: 78,210 of 89,650).
        if (s.patternHistogram.empty()) continue;
        d.kernels += s.kernels;
        d.kernelsRemoved += s.kernelsRemoved;
        for (const auto& [mask, count] : s.patternHistogram) histogram[mask] += count;
    }
    const std::vector<engine::prune::Pattern>* shared = nullptr;
    bool oneSet = true;
    for (const engine::prune::LayerPruning& layer : model.layers) {
        const auto& set = layer.projection.patternSet;
        if (set.empty()) continue;
        d.connectivity = true;
        if (!shared)
            shared = &set;
        else if (*shared != set)
            oneSet = false;
    }
    for (const auto& [mask, count] : histogram) {
        int32_t id = -1;
        if (shared && oneSet) {
            auto it = std::find(shared->begin(), shared->end(), mask);
            if (it != shared->end()) id = static_cast<int32_t>(it - shared->begin());
        }
        d.entries.push_back({mask, id, count});
    }
    sortEntries(d.entries);
    return d;
}

PatternView::PatternView(QWidget* parent) : QWidget(parent) {
    // Large by default: this view is shown to a room.
    QFont f = font();
    f.setPointSizeF(std::max(14.0, f.pointSizeF() * 1.4));
    setFont(f);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Expanding);
}

void PatternView::setData(PatternData data) {
    m_data = std::move(data);
    updateGeometry();
    update();
}

QStringList PatternView::headerLines() const {
    const QLocale locale;
    const double removedShare = m_data.kernels
                                    ? 100.0 * static_cast<double>(m_data.kernelsRemoved) /
                                          static_cast<double>(m_data.kernels)
                                    : 0.0;
    return {QStringLiteral("%1 patterns, %2 kernels kept")
                .arg(m_data.entries.size())
                .arg(locale.toString(static_cast<qlonglong>(m_data.keptKernels()))),
            QStringLiteral("%1 removed %2 of %3 kernels (%4%)")
                .arg(m_data.connectivity ? QStringLiteral("Connectivity pruning")
                                         : QStringLiteral("Pruning"))
                .arg(locale.toString(static_cast<qlonglong>(m_data.kernelsRemoved)))
                .arg(locale.toString(static_cast<qlonglong>(m_data.kernels)))
                .arg(removedShare, 0, 'f', 1)};
}

QRect PatternView::headerLineRect(const QString& line, int top, int viewWidth) const {
    // Wrapped rather than cut: on a narrow tab the line ends in the number that matters.
    const int textWidth = std::max(10, viewWidth - 2 * kMargin);
    return fontMetrics().boundingRect(QRect(kMargin, top, textWidth, 100000),
                                      Qt::AlignLeft | Qt::TextWordWrap, line);
}

int PatternView::headerHeight(int viewWidth) const {
    int y = kMargin + fontMetrics().height();  // the title
    for (const QString& line : headerLines()) y += headerLineRect(line, y, viewWidth).height();
    return y + fontMetrics().height();  // and a blank line
}

int PatternView::rowHeight() const {
    const int n = std::max<int>(1, static_cast<int>(m_data.entries.size()));
    return std::clamp((height() - headerHeight()) / n, kMinRow, kMaxRow);
}

int PatternView::shownEntries() const {
    const int n = static_cast<int>(m_data.entries.size());
    const int fit = std::max(0, (height() - headerHeight()) / rowHeight());
    // When not all fit, the last row becomes the "and k more" line.
    return fit >= n ? n : std::max(0, fit - 1);
}

QSize PatternView::sizeHint() const {
    const int n = std::max<int>(1, static_cast<int>(m_data.entries.size()));
    constexpr int kWidth = 640;
    return QSize(kWidth, headerHeight(kWidth) + n * 80);
}

QSize PatternView::minimumSizeHint() const {
    constexpr int kMinWidth = 320;
    return QSize(kMinWidth, headerHeight(kMinWidth) + kMinRow * 2);
}

void PatternView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());
    const QFontMetrics fm = fontMetrics();
    const QLocale locale;
    const int margin = kMargin;
    const QColor text = palette().text().color();

    // Header: what is shown and what connectivity pruning removed.
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    painter.setPen(text);
    // Layer names run long ("StatefulPartitionedCall/.../depthwise_conv2d_15/depthwise"): the
    // middle goes, the distinguishing end stays.
    const int textWidth = std::max(10, width() - 2 * margin);
    painter.drawText(QPoint(margin, margin + fm.ascent()),
                     QFontMetrics(bold).elidedText(QString::fromStdString(m_data.title),
                                                   Qt::ElideMiddle, textWidth));
    painter.setFont(font());
    int top = margin + fm.height();
    for (const QString& line : headerLines()) {
        const QRect r = headerLineRect(line, top, width());
        painter.drawText(r, Qt::AlignLeft | Qt::TextWordWrap, line);
        top += r.height();
    }
    if (m_data.entries.empty()) {
        painter.drawText(QPoint(margin, top + fm.ascent()),
                         QStringLiteral("No 3x3 pattern structure in this selection."));
        return;
    }

    const int row = rowHeight();
    const int shown = shownEntries();
    const int64_t maxCount = std::max<int64_t>(1, m_data.entries.front().count);
    const int64_t total = std::max<int64_t>(1, m_data.keptKernels());
    const int labelWidth = fm.horizontalAdvance(QStringLiteral("P00  "));
    const int countWidth = fm.horizontalAdvance(QStringLiteral("000,000  (100.0%)  "));
    int y = headerHeight();
    for (int k = 0; k < shown; ++k) {
        const PatternData::Entry& e = m_data.entries[static_cast<size_t>(k)];
        const int glyph = row - 10;
        const double cell = glyph / 3.0;
        const QRectF box(margin, y + 5, glyph, glyph);
        for (int cy = 0; cy < 3; ++cy) {
            for (int cx = 0; cx < 3; ++cx) {
                const QRectF c(box.left() + cx * cell + 1, box.top() + cy * cell + 1, cell - 2,
                               cell - 2);
                const bool on = e.mask & (1u << (cy * 3 + cx));
                painter.setPen(QPen(text, 1));
                painter.setBrush(on ? QBrush(viridis(0.35)) : QBrush(Qt::NoBrush));
                painter.drawRect(c);
            }
        }
        int x = margin + glyph + 14;
        painter.setPen(text);
        const QRect line(x, y, labelWidth, row);
        painter.drawText(line, Qt::AlignVCenter | Qt::AlignLeft,
                         e.id >= 0 ? QStringLiteral("P%1").arg(e.id) : QStringLiteral("-"));
        x += labelWidth;
        painter.drawText(
            QRect(x, y, countWidth, row), Qt::AlignVCenter | Qt::AlignLeft,
            QStringLiteral("%1  (%2%)")
                .arg(locale.toString(static_cast<qlonglong>(e.count)))
                .arg(100.0 * static_cast<double>(e.count) / static_cast<double>(total), 0, 'f', 1));
        x += countWidth;
        const int barSpace = std::max(10, width() - x - margin);
        const int barLength =
            static_cast<int>(static_cast<double>(barSpace) * static_cast<double>(e.count) /
                             static_cast<double>(maxCount));
        painter.setPen(Qt::NoPen);
        painter.setBrush(viridis(0.6));
        painter.drawRect(QRect(x, y + row / 4, std::max(1, barLength), row / 2));
        y += row;
    }
    if (shown < static_cast<int>(m_data.entries.size())) {
        int64_t rest = 0;
        for (size_t k = static_cast<size_t>(shown); k < m_data.entries.size(); ++k)
            rest += m_data.entries[k].count;
        painter.setPen(text);
        const int more = static_cast<int>(m_data.entries.size()) - shown;
        const QString kernels = locale.toString(static_cast<qlonglong>(rest));
        const int room = width() - 2 * margin;
        // The short form when the long one does not fit (the whole-model pane at 1280x720).
        QString line =
            QStringLiteral("... and %1 more patterns (%2 kernels)").arg(more).arg(kernels);
        if (painter.fontMetrics().horizontalAdvance(line) > room)
            line = QStringLiteral("+%1 more (%2 kernels)").arg(more).arg(kernels);
        line = painter.fontMetrics().elidedText(line, Qt::ElideRight, room);
        painter.drawText(QRect(margin, y, room, row), Qt::AlignVCenter | Qt::AlignLeft, line);
    }
}

}  // namespace prunelab::views

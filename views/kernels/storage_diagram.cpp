// Drawing the three storages. Each fits the widget: FKW draws as many filters as rows fit and
// says how many it left out; CSR and tiles scale the whole matrix into the area.
#include "views/kernels/storage_diagram.h"

#include <QLocale>
#include <QPainter>

#include <algorithm>

#include "views/sparsity/colour_map.h"

namespace prunelab::views {

namespace cg = engine::codegen;

namespace {

constexpr int kMargin = 8;
constexpr int kCell = 6;               // one pattern position in a kernel glyph
constexpr int kGlyph = 3 * kCell + 3;  // a glyph and its gap
constexpr int kLabelWidth = 120;       // "out 63  (17)" left of each filter row

// Patterns keep distinct colours across the layer's set; viridis keeps them readable in grey.
QColor patternColour(int id, int patterns) {
    return viridis(patterns > 1 ? 0.1 + 0.8 * id / (patterns - 1.0) : 0.5);
}

void drawGlyph(QPainter& painter, QPoint topLeft, engine::prune::Pattern mask, QColor kept,
               QColor empty) {
    for (int p = 0; p < 9; ++p) {
        const QRect cell(topLeft.x() + (p % 3) * kCell, topLeft.y() + (p / 3) * kCell, kCell - 1,
                         kCell - 1);
        painter.fillRect(cell, (mask >> p) & 1 ? kept : empty);
    }
}

int64_t gemmColumns(const cg::LayerCode& l) {
    const int64_t group = std::max<int64_t>(1, l.conv.group);
    return l.conv.inChannels / group * l.conv.kernelH * l.conv.kernelW;
}

}  // namespace

StorageDiagram::StorageDiagram(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void StorageDiagram::setLayer(cg::LayerCode layer) {
    m_layer = std::move(layer);
    m_summary = {};
    const cg::FkwWeights& f = m_layer.fkw;
    switch (m_layer.kind) {
        case cg::KernelKind::Pattern:
            m_summary.filters = static_cast<int64_t>(f.filterOrder.size());
            for (size_t i = 0; i + 1 < f.kernelStart.size(); ++i)
                m_summary.kernels += f.kernelStart[i + 1] - f.kernelStart[i];
            m_summary.patterns = static_cast<int64_t>(f.patterns.size());
            break;
        case cg::KernelKind::Csr:
            m_summary.filters = m_layer.csr.rowStart.empty()
                                    ? 0
                                    : static_cast<int64_t>(m_layer.csr.rowStart.size()) - 1;
            m_summary.nonzeros = static_cast<int64_t>(m_layer.csr.values.size());
            m_summary.columns = gemmColumns(m_layer);
            break;
        case cg::KernelKind::TileWise:
            m_summary.filters = m_layer.conv.outChannels;
            m_summary.columns = gemmColumns(m_layer);
            m_summary.tiles = static_cast<int64_t>(m_layer.tiles.rows.size());
            m_summary.nonzeros = static_cast<int64_t>(m_layer.tiles.blocks.size());
            for (const auto& r : m_layer.tiles.rows)
                m_summary.keptRowSegments += static_cast<int64_t>(r.size());
            for (const auto& c : m_layer.tiles.columns)
                m_summary.keptColumns += static_cast<int64_t>(c.size());
            break;
        case cg::KernelKind::Dense:
            break;
    }
    updateGeometry();
    update();
}

const StorageDiagram::Summary& StorageDiagram::summary() const {
    m_summary.shownFilters = m_layer.kind == cg::KernelKind::Pattern ? fittingFilters() : 0;
    return m_summary;
}

QString StorageDiagram::caption() const {
    const QLocale locale;
    switch (m_layer.kind) {
        case cg::KernelKind::Pattern:
            return tr("FKW: %1 filters, %2 kernels (4 weights each), %3 patterns")
                .arg(locale.toString(m_summary.filters), locale.toString(m_summary.kernels))
                .arg(m_summary.patterns);
        case cg::KernelKind::Csr: {
            const double cells = static_cast<double>(m_summary.filters * m_summary.columns);
            return tr("CSR: %1 rows x %2 columns, %3 nonzeros (%4 %)")
                .arg(locale.toString(m_summary.filters), locale.toString(m_summary.columns),
                     locale.toString(m_summary.nonzeros))
                .arg(cells > 0 ? 100.0 * static_cast<double>(m_summary.nonzeros) / cells : 0.0, 0,
                     'f', 1);
        }
        case cg::KernelKind::TileWise:
            return tr("Tiles: %1 tiles of %2 columns over %3 rows x %4 columns; %5 kept row "
                      "segments, %6 kept columns, %7 stored weights")
                .arg(m_summary.tiles)
                .arg(m_layer.tiles.tileWidth)
                .arg(locale.toString(m_summary.filters), locale.toString(m_summary.columns),
                     locale.toString(m_summary.keptRowSegments),
                     locale.toString(m_summary.keptColumns), locale.toString(m_summary.nonzeros));
        case cg::KernelKind::Dense:
            break;
    }
    return tr(
        "Dense: the runtime's dense kernel reads the weights as they are; no sparse "
        "storage");
}

int StorageDiagram::rowHeight() const {
    return std::max(kGlyph + 2, fontMetrics().height() + 2);
}

int StorageDiagram::headerHeight() const {
    // Caption (two lines when wrapped) and, for FKW, the pattern legend.
    const int legend = m_layer.kind == cg::KernelKind::Pattern ? kGlyph * 2 + 8 : 0;
    return kMargin + fontMetrics().height() * 2 + 6 + legend;
}

int StorageDiagram::fittingFilters() const {
    const int64_t filters = static_cast<int64_t>(m_layer.fkw.filterOrder.size());
    const int fit = std::max(0, (height() - headerHeight() - kMargin) / rowHeight());
    if (fit >= filters) return static_cast<int>(filters);
    // The last row says how many filters are left out.
    return std::max(0, fit - 1);
}

QSize StorageDiagram::sizeHint() const {
    return QSize(460, 420);
}

QSize StorageDiagram::minimumSizeHint() const {
    return QSize(240, headerHeight() + rowHeight() * 3);
}

void StorageDiagram::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    painter.setPen(palette().text().color());
    const QRect captionRect(kMargin, kMargin, width() - 2 * kMargin,
                            fontMetrics().height() * 2 + 4);
    painter.drawText(captionRect, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, caption());
    const QRect area(kMargin, captionRect.bottom() + 4, width() - 2 * kMargin,
                     height() - captionRect.bottom() - 4 - kMargin);
    if (area.width() <= 0 || area.height() <= 0) return;
    switch (m_layer.kind) {
        case cg::KernelKind::Pattern:
            paintFkw(painter, area);
            break;
        case cg::KernelKind::Csr:
            paintCsr(painter, area);
            break;
        case cg::KernelKind::TileWise:
            paintTiles(painter, area);
            break;
        case cg::KernelKind::Dense:
            break;
    }
}

void StorageDiagram::paintFkw(QPainter& painter, QRect area) {
    const cg::FkwWeights& f = m_layer.fkw;
    const int patterns = static_cast<int>(f.patterns.size());
    const QColor text = palette().text().color();
    const QColor empty = palette().alternateBase().color().darker(115);
    const QFontMetrics fm = fontMetrics();

    // Legend: every pattern of the set with its id, so a glyph's colour names its pattern.
    int x = area.left();
    const int legendY = area.top();
    for (int id = 0; id < patterns; ++id) {
        const QString label = QString::number(id);
        if (x + kGlyph + fm.horizontalAdvance(label) + 8 > area.right()) break;
        drawGlyph(painter, QPoint(x, legendY + 2), f.patterns[static_cast<size_t>(id)],
                  patternColour(id, patterns), empty);
        painter.setPen(text);
        painter.drawText(QPoint(x + kGlyph, legendY + fm.ascent()), label);
        x += kGlyph + fm.horizontalAdvance(label) + 8;
    }

    const int shown = fittingFilters();
    const int row = rowHeight();
    int y = headerHeight();
    const int glyphsPerRow = std::max(1, (area.right() - area.left() - kLabelWidth - 40) / kGlyph);
    for (int r = 0; r < shown; ++r, y += row) {
        const size_t fi = static_cast<size_t>(r);
        const int32_t begin = f.kernelStart[fi], end = f.kernelStart[fi + 1];
        painter.setPen(text);
        painter.drawText(QRect(area.left(), y, kLabelWidth, row), Qt::AlignLeft | Qt::AlignVCenter,
                         tr("out %1  (%2)").arg(f.filterOrder[fi]).arg(end - begin));
        int gx = area.left() + kLabelWidth;
        const int gy = y + (row - 3 * kCell) / 2;
        const int drawn = std::min(end - begin, glyphsPerRow);
        for (int k = begin; k < begin + drawn; ++k, gx += kGlyph) {
            const int id = f.patternId[static_cast<size_t>(k)];
            drawGlyph(painter, QPoint(gx, gy), f.patterns[static_cast<size_t>(id)],
                      patternColour(id, patterns), empty);
        }
        if (end - begin > drawn) {
            painter.setPen(text);
            painter.drawText(QRect(gx + 2, y, area.right() - gx, row),
                             Qt::AlignLeft | Qt::AlignVCenter,
                             QStringLiteral("+%1").arg(end - begin - drawn));
        }
    }
    const int64_t left = static_cast<int64_t>(f.filterOrder.size()) - shown;
    if (left > 0) {
        int64_t kernels = 0;
        for (size_t i = static_cast<size_t>(shown); i + 1 < f.kernelStart.size(); ++i)
            kernels += f.kernelStart[i + 1] - f.kernelStart[i];
        painter.setPen(text);
        painter.drawText(QRect(area.left(), y, area.width(), row), Qt::AlignLeft | Qt::AlignVCenter,
                         tr("... %1 more filters, %2 kernels").arg(left).arg(kernels));
    }
}

void StorageDiagram::paintCsr(QPainter& painter, QRect area) {
    const cg::CsrWeights& c = m_layer.csr;
    const int64_t rows = m_summary.filters, cols = m_summary.columns;
    if (rows <= 0 || cols <= 0) return;
    // Spy plot on the left, each row's density as a bar on the right.
    const int barWidth = std::min(120, area.width() / 4);
    const QRect spy(area.left(), area.top(), area.width() - barWidth - 8, area.height());
    const QRect bars(spy.right() + 8, area.top(), barWidth, area.height());
    painter.fillRect(spy, palette().alternateBase());
    const QColor ink = viridis(0.25);
    const double sx = spy.width() / static_cast<double>(cols);
    const double sy = spy.height() / static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r) {
        const int y = spy.top() + static_cast<int>(r * sy);
        const int h = std::max(1, static_cast<int>(sy));
        for (int32_t k = c.rowStart[static_cast<size_t>(r)];
             k < c.rowStart[static_cast<size_t>(r) + 1]; ++k) {
            const int x = spy.left() + static_cast<int>(c.column[static_cast<size_t>(k)] * sx);
            painter.fillRect(QRect(x, y, std::max(1, static_cast<int>(sx)), h), ink);
        }
        const double density =
            (c.rowStart[static_cast<size_t>(r) + 1] - c.rowStart[static_cast<size_t>(r)]) /
            static_cast<double>(cols);
        painter.fillRect(
            QRect(bars.left(), y, std::max(1, static_cast<int>(density * bars.width())), h),
            viridis(density));
    }
}

void StorageDiagram::paintTiles(QPainter& painter, QRect area) {
    const cg::TileWeights& t = m_layer.tiles;
    const int64_t rows = m_summary.filters, cols = m_summary.columns;
    if (rows <= 0 || cols <= 0 || t.rows.empty()) return;
    const QFontMetrics fm = fontMetrics();
    // A label row above the grid: each tile's kept rows x kept columns.
    const int labelHeight = fm.height() + 4;
    const QRect grid(area.left(), area.top() + labelHeight, area.width(),
                     area.height() - labelHeight);
    painter.fillRect(grid, palette().alternateBase());
    const double sx = grid.width() / static_cast<double>(cols);
    const double sy = grid.height() / static_cast<double>(rows);
    const int tiles = static_cast<int>(t.rows.size());
    for (int i = 0; i < tiles; ++i) {
        const int64_t first = i * t.tileWidth;
        const int64_t width = std::min<int64_t>(t.tileWidth, cols - first);
        const QRect band(grid.left() + static_cast<int>(first * sx), grid.top(),
                         std::max(1, static_cast<int>(width * sx)), grid.height());
        const auto& keptCols = t.columns[static_cast<size_t>(i)];
        const double share =
            width > 0 ? static_cast<double>(keptCols.size()) / static_cast<double>(width) : 0;
        // A kept row segment shades the tile's kept columns in that row.
        const QColor fill = viridis(0.3 + 0.6 * share);
        for (int32_t r : t.rows[static_cast<size_t>(i)]) {
            const int y = grid.top() + static_cast<int>(r * sy);
            for (int32_t col : keptCols) {
                const int x = grid.left() + static_cast<int>(col * sx);
                painter.fillRect(QRect(x, y, std::max(1, static_cast<int>(sx)),
                                       std::max(1, static_cast<int>(sy))),
                                 fill);
            }
        }
        painter.setPen(palette().mid().color());
        painter.drawRect(band.adjusted(0, 0, -1, -1));
        const QString label =
            QStringLiteral("%1x%2").arg(t.rows[static_cast<size_t>(i)].size()).arg(keptCols.size());
        if (fm.horizontalAdvance(label) + 2 <= band.width()) {
            painter.setPen(palette().text().color());
            painter.drawText(QRect(band.left(), area.top(), band.width(), labelHeight),
                             Qt::AlignCenter, label);
        }
    }
}

}  // namespace prunelab::views

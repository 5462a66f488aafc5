// The sparsity map: the layer is drawn once into an image of one pixel per unit (setData), and
// painting scales only the visible part of that image, so a 512x512 3x3 layer (2048 x 2048
// units) pans and zooms as fast as a small one.
#include "views/sparsity/sparsity_view.h"

#include <QBoxLayout>
#include <QEvent>
#include <QFile>
#include <QFileInfo>
#include <QHelpEvent>
#include <QLabel>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>
#include <QShortcut>
#include <QSvgGenerator>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

#include "views/model/layer_text.h"
#include "views/sparsity/colour_map.h"

namespace prunelab::views {

// ---- data ----

int64_t SparsityData::keptCount() const {
    int64_t n = 0;
    for (uint8_t k : kept) n += k != 0;
    return n;
}

int64_t SparsityData::gridColumns() const {
    if (!wrapsFilters()) return mode == Mode::Gemm ? gemmColumns() : inPerGroup;
    return static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(outChannels))));
}

int64_t SparsityData::gridRows() const {
    if (!wrapsFilters()) return outChannels;
    const int64_t columns = gridColumns();
    return (outChannels + columns - 1) / columns;
}

int SparsityData::keptInKernel(int64_t filter, int64_t channel) const {
    const int64_t size = kernelSize();
    const int64_t base = (filter * inPerGroup + channel) * size;
    int n = 0;
    for (int64_t p = 0; p < size; ++p) n += kept[static_cast<size_t>(base + p)] != 0;
    return n;
}

SparsityData sparsityDataFromLayer(const engine::prune::LayerProjection& projection,
                                   const std::string& name) {
    SparsityData d;
    d.layerName = name;
    const engine::Tensor& w = projection.weights;
    if (w.rank() < 2 || w.dtype() != engine::DataType::Float32 ||
        projection.mask.shape() != w.shape() || projection.mask.dtype() != engine::DataType::UInt8)
        return d;  // nothing to draw: the view shows an empty map rather than guessing
    d.outChannels = w.dim(0);
    d.inPerGroup = w.dim(1);
    d.kh = w.rank() == 4 ? w.dim(2) : 1;
    d.kw = w.rank() == 4 ? w.dim(3) : 1;
    const auto values = w.span<float>();
    const auto mask = projection.mask.span<uint8_t>();
    d.magnitude.resize(values.size());
    d.kept.assign(mask.begin(), mask.end());
    for (size_t k = 0; k < values.size(); ++k) {
        d.magnitude[k] = std::abs(values[k]);
        if (mask[k]) d.maxMagnitude = std::max(d.maxMagnitude, d.magnitude[k]);
    }
    d.patternSet = projection.patternSet;
    d.kernelPattern = projection.kernelPattern;
    d.tiles = projection.tiles;
    if (d.tiles.tileWidth > 0)
        d.mode = SparsityData::Mode::Gemm;
    else if (d.kh == 3 && d.kw == 3)
        d.mode = SparsityData::Mode::Kernels3x3;
    else
        d.mode = SparsityData::Mode::KernelDensity;
    return d;
}

SparsityData sparsityDataFromLayer(const engine::prune::LayerPruning& layer,
                                   const QString& sharedPrefix) {
    SparsityData d = sparsityDataFromLayer(layer.projection, layer.layer.name);
    d.shortName = shortLayerName(layer.layer.name, sharedPrefix).toStdString();
    d.note = layerPruningNote(layer).toStdString();
    return d;
}

// ---- the map ----

SparsityMap::SparsityMap(QWidget* parent) : QAbstractScrollArea(parent) {
    setMouseTracking(true);
    viewport()->setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    m_blank = blankFor(palette());
    m_gap = gapFor(palette());
    // Named (whatsThis) so Help > Keyboard Shortcuts lists them beside the menus' actions.
    auto shortcut = [this](const QKeySequence& keys, void (SparsityMap::*slot)()) {
        auto* s = new QShortcut(keys, this);
        s->setContext(Qt::WidgetWithChildrenShortcut);
        s->setWhatsThis(slot == &SparsityMap::zoomIn    ? tr("Zoom in (sparsity map)")
                        : slot == &SparsityMap::zoomOut ? tr("Zoom out (sparsity map)")
                                                        : tr("Fit the layer (sparsity map)"));
        connect(s, &QShortcut::activated, this, slot);
    };
    // Ctrl+= as well as Ctrl++: on most keyboards "+" needs Shift, and people press "=".
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_Equal), &SparsityMap::zoomIn);
    shortcut(QKeySequence::ZoomIn, &SparsityMap::zoomIn);
    shortcut(QKeySequence::ZoomOut, &SparsityMap::zoomOut);
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_0), &SparsityMap::zoomToFit);
}

bool SparsityMap::isDark(const QPalette& palette) {
    return palette.color(QPalette::Window).lightness() < 128;
}

void SparsityMap::changeEvent(QEvent* event) {
    QAbstractScrollArea::changeEvent(event);
    if (event->type() != QEvent::PaletteChange) return;
    const QRgb blank = blankFor(palette()), gap = gapFor(palette());
    if (blank == m_blank && gap == m_gap) return;
    m_blank = blank;
    m_gap = gap;
    rebuildImage();
    viewport()->update();
}

int SparsityMap::unitsPerKernelX() const {
    switch (m_data.mode) {
        case SparsityData::Mode::Kernels3x3:
            return 4;
        case SparsityData::Mode::KernelDensity:
            return 1;
        case SparsityData::Mode::Gemm:
            return static_cast<int>(m_data.kernelSize());
    }
    return 1;
}

int SparsityMap::unitsPerKernelY() const {
    return m_data.mode == SparsityData::Mode::Kernels3x3 ? 4 : 1;
}

QSize SparsityMap::unitSize() const {
    const int64_t columns =
        m_data.mode == SparsityData::Mode::Gemm ? m_data.inPerGroup : m_data.gridColumns();
    return QSize(static_cast<int>(columns * unitsPerKernelX()),
                 static_cast<int>(m_data.gridRows() * unitsPerKernelY()));
}

QPoint SparsityMap::gridPosition(int64_t filter, int64_t channel) const {
    if (!m_data.wrapsFilters()) return QPoint(static_cast<int>(channel), static_cast<int>(filter));
    const int64_t columns = m_data.gridColumns();
    return QPoint(static_cast<int>(filter % columns), static_cast<int>(filter / columns));
}

bool SparsityMap::kernelAtGrid(int64_t gx, int64_t gy, int64_t& filter, int64_t& channel) const {
    if (m_data.wrapsFilters()) {
        filter = gy * m_data.gridColumns() + gx;
        channel = 0;
    } else {
        filter = gy;
        channel = gx;
    }
    return filter >= 0 && filter < m_data.outChannels && channel >= 0 &&
           channel < m_data.inPerGroup;
}

void SparsityMap::setData(SparsityData data) {
    m_data = std::move(data);
    m_columnTile.clear();
    m_rowKeptInTile.clear();
    if (m_data.mode == SparsityData::Mode::Gemm) {
        const auto& t = m_data.tiles;
        m_columnTile.assign(static_cast<size_t>(m_data.gemmColumns()), -1);
        // Tiles cut the kept columns in their order (engine/prune/tile_wise.cpp), so tile t
        // holds kept columns t * width ... (t + 1) * width - 1.
        for (size_t k = 0; k < t.keptColumns.size(); ++k) {
            const auto c = static_cast<size_t>(t.keptColumns[k]);
            if (c < m_columnTile.size())
                m_columnTile[c] = static_cast<int32_t>(static_cast<int64_t>(k) / t.tileWidth);
        }
        for (const auto& rows : t.keptRows) {
            std::vector<uint8_t> keptRow(static_cast<size_t>(m_data.outChannels), 0);
            for (int32_t r : rows)
                if (r >= 0 && r < m_data.outChannels) keptRow[static_cast<size_t>(r)] = 1;
            m_rowKeptInTile.push_back(std::move(keptRow));
        }
    }
    rebuildImage();
    zoomToFit();
    viewport()->update();
}

QRgb SparsityMap::cellColour(int64_t filter, int64_t channel, int y, int x) const {
    const int64_t k = filter * m_data.inPerGroup + channel;
    const double top = m_data.maxMagnitude > 0 ? m_data.maxMagnitude : 1.0;
    const bool wholeKernel = m_data.mode == SparsityData::Mode::KernelDensity;
    if (wholeKernel && m_data.kernelSize() > 1) {
        const int kept = m_data.keptInKernel(filter, channel);
        if (kept == 0) return m_blank;
        return viridis(static_cast<double>(kept) / static_cast<double>(m_data.kernelSize())).rgb();
    }
    const auto w = static_cast<size_t>(k * m_data.kernelSize() + y * m_data.kw + x);
    if (m_data.mode == SparsityData::Mode::Gemm) {
        const auto column = static_cast<size_t>(channel * m_data.kernelSize() + y * m_data.kw + x);
        const int32_t tile = m_columnTile[column];
        if (tile < 0) return kPrunedColumn;
        if (static_cast<size_t>(tile) < m_rowKeptInTile.size() &&
            !m_rowKeptInTile[static_cast<size_t>(tile)][static_cast<size_t>(filter)])
            return kPrunedRow;
    }
    if (!m_data.kept[w]) return m_blank;
    return viridis(m_data.magnitude[w] / top).rgb();
}

void SparsityMap::rebuildImage() {
    const QSize size = unitSize();
    if (size.isEmpty() || m_data.kept.size() != static_cast<size_t>(m_data.weightCount())) {
        m_unitImage = QImage();
        return;
    }
    m_unitImage = QImage(size, QImage::Format_RGB32);
    m_unitImage.fill(m_gap);
    for (int64_t o = 0; o < m_data.outChannels; ++o) {
        for (int64_t i = 0; i < m_data.inPerGroup; ++i) {
            const QPoint g = gridPosition(o, i);
            switch (m_data.mode) {
                case SparsityData::Mode::Kernels3x3:
                    for (int y = 0; y < 3; ++y) {
                        auto* line = reinterpret_cast<QRgb*>(m_unitImage.scanLine(g.y() * 4 + y));
                        for (int x = 0; x < 3; ++x) line[g.x() * 4 + x] = cellColour(o, i, y, x);
                    }
                    break;
                case SparsityData::Mode::KernelDensity:
                    reinterpret_cast<QRgb*>(m_unitImage.scanLine(g.y()))[g.x()] =
                        cellColour(o, i, 0, 0);
                    break;
                case SparsityData::Mode::Gemm: {
                    auto* line = reinterpret_cast<QRgb*>(m_unitImage.scanLine(static_cast<int>(o)));
                    for (int y = 0; y < m_data.kh; ++y)
                        for (int x = 0; x < m_data.kw; ++x)
                            line[i * m_data.kernelSize() + y * m_data.kw + x] =
                                cellColour(o, i, y, x);
                    break;
                }
            }
        }
    }
}

// ---- geometry ----

QRectF SparsityMap::weightUnitRect(int64_t filter, int64_t channel, int y, int x) const {
    const QPoint g = gridPosition(filter, channel);
    switch (m_data.mode) {
        case SparsityData::Mode::Kernels3x3:
            return QRectF(g.x() * 4 + x, g.y() * 4 + y, 1, 1);
        case SparsityData::Mode::KernelDensity:
            return QRectF(g.x(), g.y(), 1, 1);
        case SparsityData::Mode::Gemm:
            return QRectF(static_cast<double>(channel * m_data.kernelSize() + y * m_data.kw + x),
                          static_cast<double>(filter), 1, 1);
    }
    return {};
}

QRect SparsityMap::weightRect(int64_t filter, int64_t channel, int y, int x) const {
    const QRectF u = weightUnitRect(filter, channel, y, x);
    const QPointF offset(horizontalScrollBar()->value(), verticalScrollBar()->value());
    const QRectF px(u.topLeft() * m_zoom - offset, u.size() * m_zoom);
    return px.toAlignedRect();
}

void SparsityMap::scrollToWeight(int64_t filter, int64_t channel, int y, int x) {
    const QPointF centre = weightUnitRect(filter, channel, y, x).center() * m_zoom;
    horizontalScrollBar()->setValue(static_cast<int>(centre.x()) - viewport()->width() / 2);
    verticalScrollBar()->setValue(static_cast<int>(centre.y()) - viewport()->height() / 2);
    viewport()->update();
}

SparsityCell SparsityMap::cellAtUnit(double ux, double uy) const {
    SparsityCell cell;
    const QSize size = unitSize();
    if (m_unitImage.isNull() || ux < 0 || uy < 0 || ux >= size.width() || uy >= size.height())
        return cell;
    const auto cx = static_cast<int64_t>(ux), cy = static_cast<int64_t>(uy);
    const int64_t kernel = m_data.kernelSize();
    switch (m_data.mode) {
        case SparsityData::Mode::Kernels3x3:
            if (cx % 4 == 3 || cy % 4 == 3) return cell;  // the gap between kernels
            if (!kernelAtGrid(cx / 4, cy / 4, cell.filter, cell.channel)) return {};
            cell.y = static_cast<int>(cy % 4);
            cell.x = static_cast<int>(cx % 4);
            break;
        case SparsityData::Mode::KernelDensity:
            if (!kernelAtGrid(cx, cy, cell.filter, cell.channel)) return {};
            if (kernel == 1) cell.y = cell.x = 0;
            break;
        case SparsityData::Mode::Gemm:
            cell.filter = cell.row = cy;
            cell.column = cx;
            cell.channel = cx / kernel;
            cell.y = static_cast<int>((cx % kernel) / m_data.kw);
            cell.x = static_cast<int>((cx % kernel) % m_data.kw);
            cell.tile = m_columnTile[static_cast<size_t>(cx)];
            cell.columnPruned = cell.tile < 0;
            cell.rowPrunedInTile =
                !cell.columnPruned && static_cast<size_t>(cell.tile) < m_rowKeptInTile.size() &&
                !m_rowKeptInTile[static_cast<size_t>(cell.tile)][static_cast<size_t>(cy)];
            break;
    }
    cell.valid = true;
    cell.keptWeights = m_data.keptInKernel(cell.filter, cell.channel);
    cell.kernelRemoved = cell.keptWeights == 0;
    if (cell.y >= 0) {
        const auto w =
            static_cast<size_t>((cell.filter * m_data.inPerGroup + cell.channel) * kernel +
                                cell.y * m_data.kw + cell.x);
        cell.weightKept = m_data.kept[w] != 0;
        cell.magnitude = m_data.magnitude[w];
    } else {
        cell.weightKept = !cell.kernelRemoved;
    }
    cell.hasPatterns = !m_data.patternSet.empty();
    const auto k = static_cast<size_t>(cell.filter * m_data.inPerGroup + cell.channel);
    if (cell.hasPatterns && k < m_data.kernelPattern.size())
        cell.patternId = m_data.kernelPattern[k];
    return cell;
}

SparsityCell SparsityMap::cellAt(QPoint viewportPos) const {
    const double ux = (viewportPos.x() + horizontalScrollBar()->value()) / m_zoom;
    const double uy = (viewportPos.y() + verticalScrollBar()->value()) / m_zoom;
    return cellAtUnit(ux, uy);
}

QString SparsityMap::describe(const SparsityCell& cell, const SparsityData& data) {
    if (!cell.valid) return {};
    QStringList lines;
    lines << QStringLiteral("Filter %1, input channel %2").arg(cell.filter).arg(cell.channel);
    if (data.mode == SparsityData::Mode::Gemm) {
        lines << QStringLiteral("GEMM row %1, column %2 (tap %3,%4)")
                     .arg(cell.row)
                     .arg(cell.column)
                     .arg(cell.y)
                     .arg(cell.x);
        if (cell.columnPruned)
            lines << QStringLiteral("Column pruned (in every row)");
        else if (cell.rowPrunedInTile)
            lines << QStringLiteral("Tile %1: this row is pruned in the tile").arg(cell.tile);
        else
            lines << QStringLiteral("Tile %1").arg(cell.tile);
    }
    if (cell.kernelRemoved) {
        lines << (cell.hasPatterns ? QStringLiteral("Kernel removed by connectivity pruning")
                                   : QStringLiteral("Kernel removed: every weight pruned"));
        return lines.join('\n');
    }
    if (cell.hasPatterns) {
        const auto id = static_cast<size_t>(std::max(cell.patternId, 0));
        const int bits = id < data.patternSet.size() ? data.patternSet[id] : 0;
        lines << QStringLiteral("Pattern id %1 (mask %2)")
                     .arg(cell.patternId)
                     .arg(bits, 9, 2, QLatin1Char('0'));
    }
    lines << QStringLiteral("Kept weights: %1 of %2").arg(cell.keptWeights).arg(data.kernelSize());
    if (cell.y >= 0) {
        lines << (cell.weightKept
                      ? QStringLiteral("Weight (%1,%2): kept, |w| = %3")
                            .arg(cell.y)
                            .arg(cell.x)
                            .arg(static_cast<double>(cell.magnitude), 0, 'g', 4)
                      : QStringLiteral("Weight (%1,%2): pruned").arg(cell.y).arg(cell.x));
    }
    return lines.join('\n');
}

QString SparsityMap::describeAt(QPoint viewportPos) const {
    return describe(cellAt(viewportPos), m_data);
}

// ---- zoom and scrolling ----

void SparsityMap::setZoom(double pixelsPerUnit, QPoint anchor) {
    const double zoom = std::clamp(pixelsPerUnit, kMinZoom, kMaxZoom);
    if (anchor.x() < 0) anchor = viewport()->rect().center();
    const QPointF unit((anchor.x() + horizontalScrollBar()->value()) / m_zoom,
                       (anchor.y() + verticalScrollBar()->value()) / m_zoom);
    m_zoom = zoom;
    updateScrollBars();
    horizontalScrollBar()->setValue(static_cast<int>(std::lround(unit.x() * m_zoom)) - anchor.x());
    verticalScrollBar()->setValue(static_cast<int>(std::lround(unit.y() * m_zoom)) - anchor.y());
    viewport()->update();
    emit zoomChanged(m_zoom);
}

void SparsityMap::zoomIn() {
    setZoom(m_zoom * 1.25);
}
void SparsityMap::zoomOut() {
    setZoom(m_zoom / 1.25);
}

void SparsityMap::zoomToFit() {
    const QSize units = unitSize();
    if (units.isEmpty()) return;
    // Fit the whole layer, but never below a pixel per cell when a few screens of scrolling
    // would show every cell instead of a blur (a pixel is the least a cell can be seen at).
    const double fit = std::min(viewport()->width() / static_cast<double>(units.width()),
                                viewport()->height() / static_cast<double>(units.height()));
    setZoom(std::clamp(fit, 1.0, 16.0), QPoint(0, 0));
    horizontalScrollBar()->setValue(0);
    verticalScrollBar()->setValue(0);
}

void SparsityMap::updateScrollBars() {
    const QSize units = unitSize();
    const int w = static_cast<int>(std::ceil(units.width() * m_zoom));
    const int h = static_cast<int>(std::ceil(units.height() * m_zoom));
    const QSize view = viewport()->size();
    horizontalScrollBar()->setRange(0, std::max(0, w - view.width()));
    verticalScrollBar()->setRange(0, std::max(0, h - view.height()));
    horizontalScrollBar()->setPageStep(view.width());
    verticalScrollBar()->setPageStep(view.height());
    horizontalScrollBar()->setSingleStep(std::max(1, static_cast<int>(m_zoom * 4)));
    verticalScrollBar()->setSingleStep(std::max(1, static_cast<int>(m_zoom * 4)));
}

void SparsityMap::resizeEvent(QResizeEvent* event) {
    QAbstractScrollArea::resizeEvent(event);
    updateScrollBars();
}

void SparsityMap::wheelEvent(QWheelEvent* event) {
    // The wheel zooms about the pointer; Shift+wheel scrolls (the scroll bars and dragging
    // with the mouse also pan).
    if (event->modifiers() & Qt::ShiftModifier) {
        QAbstractScrollArea::wheelEvent(event);
        return;
    }
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0) return;
    setZoom(m_zoom * std::pow(1.25, steps), event->position().toPoint());
    event->accept();
}

void SparsityMap::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        m_panning = true;
        m_panStart = event->position().toPoint();
        viewport()->setCursor(Qt::ClosedHandCursor);
    }
}

void SparsityMap::mouseMoveEvent(QMouseEvent* event) {
    if (!m_panning) return;
    const QPoint now = event->position().toPoint();
    const QPoint delta = now - m_panStart;
    m_panStart = now;
    horizontalScrollBar()->setValue(horizontalScrollBar()->value() - delta.x());
    verticalScrollBar()->setValue(verticalScrollBar()->value() - delta.y());
}

void SparsityMap::mouseReleaseEvent(QMouseEvent*) {
    m_panning = false;
    viewport()->unsetCursor();
}

bool SparsityMap::viewportEvent(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString text = describeAt(help->pos());
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, viewport());
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

// ---- painting and export ----

void SparsityMap::paintUnits(QPainter& painter, const QRect& units, double scale,
                             bool vector) const {
    if (m_unitImage.isNull() || units.isEmpty()) return;
    if (vector) {
        // Runs of one colour along a row become one rectangle: an SVG of a pruned layer stays
        // a few rectangles per kernel row instead of one per weight.
        painter.setPen(Qt::NoPen);
        for (int uy = units.top(); uy <= units.bottom(); ++uy) {
            const auto* line = reinterpret_cast<const QRgb*>(m_unitImage.constScanLine(uy));
            int start = units.left();
            for (int ux = units.left(); ux <= units.right() + 1; ++ux) {
                if (ux <= units.right() && line[ux] == line[start]) continue;
                if (line[start] != m_blank)
                    painter.fillRect(QRectF(start * scale, uy * scale, (ux - start) * scale, scale),
                                     QColor::fromRgb(line[start]));
                start = ux;
            }
        }
    } else {
        // Nearest-neighbour when enlarging keeps cells crisp; smoothing when shrinking averages
        // cells instead of dropping them.
        painter.setRenderHint(QPainter::SmoothPixmapTransform, scale < 1);
        painter.drawImage(QRectF(units.x() * scale, units.y() * scale, units.width() * scale,
                                 units.height() * scale),
                          m_unitImage, QRectF(units));
    }
    paintTileLines(painter, units, scale);
}

void SparsityMap::paintTileLines(QPainter& painter, const QRect& units, double scale) const {
    // Below 4 pixels a cell cannot spare the line's width: it would hide a whole column of
    // weights. The tiles still show there, as the change in which rows are pruned.
    if (m_data.mode != SparsityData::Mode::Gemm || m_data.tiles.tileWidth <= 0 || scale < 4) return;
    QPen pen(QColor::fromRgb(kTileLine));
    pen.setWidthF(std::max(1.0, scale / 4));
    painter.setPen(pen);
    const auto& kept = m_data.tiles.keptColumns;
    for (size_t k = static_cast<size_t>(m_data.tiles.tileWidth); k < kept.size();
         k += static_cast<size_t>(m_data.tiles.tileWidth)) {
        const int c = kept[k];
        if (c < units.left() || c > units.right() + 1) continue;
        painter.drawLine(QPointF(c * scale, units.top() * scale),
                         QPointF(c * scale, (units.bottom() + 1) * scale));
    }
}

void SparsityMap::paintEvent(QPaintEvent* event) {
    QPainter painter(viewport());
    painter.fillRect(event->rect(), palette().window());
    const QPoint offset(horizontalScrollBar()->value(), verticalScrollBar()->value());
    const QRectF exposed = QRectF(event->rect().translated(offset));
    const QRect units = QRect(QPoint(static_cast<int>(std::floor(exposed.left() / m_zoom)),
                                     static_cast<int>(std::floor(exposed.top() / m_zoom))),
                              QPoint(static_cast<int>(std::ceil(exposed.right() / m_zoom)),
                                     static_cast<int>(std::ceil(exposed.bottom() / m_zoom))))
                            .intersected(QRect(QPoint(0, 0), unitSize()));
    painter.translate(-offset);
    paintUnits(painter, units, m_zoom, false);
}

QImage SparsityMap::renderImage(double pixelsPerUnit) const {
    const QSize units = unitSize();
    if (units.isEmpty() || m_unitImage.isNull()) return {};
    const double limit = 16384.0 / std::max(units.width(), units.height());
    const double scale = std::min(pixelsPerUnit, limit);
    QImage image(QSize(static_cast<int>(std::ceil(units.width() * scale)),
                       static_cast<int>(std::ceil(units.height() * scale))),
                 QImage::Format_RGB32);
    image.fill(m_blank);
    QPainter painter(&image);
    paintUnits(painter, QRect(QPoint(0, 0), units), scale, false);
    return image;
}

bool SparsityMap::exportPng(const QString& path) const {
    const QSize units = unitSize();
    if (units.isEmpty()) return false;
    // Cells of a few pixels: readable when the picture is shown whole on a slide.
    const double scale = std::clamp(4096.0 / std::max(units.width(), units.height()), 1.0, 8.0);
    const QImage image = renderImage(std::floor(scale));
    return !image.isNull() && image.save(path, "PNG");
}

bool SparsityMap::exportSvg(const QString& path) const {
    const QSize units = unitSize();
    if (units.isEmpty() || m_unitImage.isNull()) return false;
    constexpr double kScale = 4;
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(units * kScale);
    svg.setViewBox(QRectF(QPointF(0, 0), QSizeF(units) * kScale));
    svg.setTitle(QString::fromStdString(m_data.layerName));
    svg.setDescription(QStringLiteral("PruneLab sparsity map"));
    QPainter painter;
    if (!painter.begin(&svg)) return false;
    painter.fillRect(QRectF(QPointF(0, 0), QSizeF(units) * kScale), QColor::fromRgb(m_blank));
    // Rectangles stay sharp at any zoom; past a few hundred thousand cells the file would be
    // too large for a browser, so big layers embed the picture instead.
    const bool vector = static_cast<int64_t>(units.width()) * units.height() <= 300000;
    paintUnits(painter, QRect(QPoint(0, 0), units), kScale, vector);
    painter.end();
    return QFile::exists(path) && QFileInfo(path).size() > 0;
}

// ---- legend ----

SparsityLegend::SparsityLegend(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Preferred);
}

void SparsityLegend::setData(const SparsityData& data) {
    m_max = data.maxMagnitude;
    m_mode = data.mode;
    m_fraction = data.mode == SparsityData::Mode::KernelDensity && data.kernelSize() > 1;
    update();
}

QSize SparsityLegend::sizeHint() const {
    return QSize(fontMetrics().horizontalAdvance(QStringLiteral("pruned in tile ")) + 40, 300);
}

void SparsityLegend::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height();
    const int barWidth = 18;
    const QString title = m_fraction ? QStringLiteral("kept") : QStringLiteral("|w|");
    // QPainter's default pen is black whatever the palette.
    painter.setPen(palette().windowText().color());
    painter.drawText(QPoint(4, line), title);
    // Swatches for what is not on the colour scale, at the bottom.
    QStringList names{QStringLiteral("pruned")};
    QList<QRgb> colours{SparsityMap::blankFor(palette())};
    if (m_mode == SparsityData::Mode::Gemm) {
        names << QStringLiteral("pruned column") << QStringLiteral("pruned in tile");
        colours << SparsityMap::kPrunedColumn << SparsityMap::kPrunedRow;
    }
    const int swatches = static_cast<int>(names.size()) * (line + 4);
    const QRect bar(4, line + 8, barWidth, std::max(40, height() - 2 * line - 16 - swatches));
    for (int y = 0; y < bar.height(); ++y) {
        painter.setPen(viridis(1.0 - static_cast<double>(y) / std::max(1, bar.height() - 1)));
        painter.drawLine(bar.left(), bar.top() + y, bar.right(), bar.top() + y);
    }
    painter.setPen(palette().windowText().color());
    painter.drawRect(bar.adjusted(0, 0, -1, -1));
    const QString top =
        m_fraction ? QStringLiteral("100%") : QString::number(static_cast<double>(m_max), 'g', 3);
    const QString bottom = m_fraction ? QStringLiteral("0%") : QStringLiteral("0");
    painter.drawText(QPoint(bar.right() + 6, bar.top() + fm.ascent()), top);
    painter.drawText(QPoint(bar.right() + 6, bar.bottom()), bottom);
    int y = bar.bottom() + 8;
    for (qsizetype k = 0; k < names.size(); ++k) {
        const QRect swatch(4, y, barWidth, line);
        painter.fillRect(swatch, QColor::fromRgb(colours[k]));
        painter.drawRect(swatch.adjusted(0, 0, -1, -1));
        painter.drawText(QPoint(swatch.right() + 6, y + fm.ascent()), names[k]);
        y += line + 4;
    }
}

// ---- the composite view ----

SparsityView::SparsityView(QWidget* parent) : QWidget(parent) {
    m_title = new QLabel(this);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Wrapped: one line of shape and counts is wider than the tab on a 1024-pixel screen.
    m_title->setWordWrap(true);
    m_note = new QLabel(this);
    m_note->setObjectName(QStringLiteral("layerNote"));
    m_note->setWordWrap(true);
    m_note->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_note->setFrameShape(QFrame::StyledPanel);
    m_note->setMargin(4);
    m_note->hide();
    m_map = new SparsityMap(this);
    m_legend = new SparsityLegend(this);
    auto* row = new QHBoxLayout;
    row->addWidget(m_map, 1);
    row->addWidget(m_legend);
    auto* column = new QVBoxLayout(this);
    column->addWidget(m_title);
    column->addWidget(m_note);
    column->addLayout(row, 1);
}

void SparsityView::setData(SparsityData data) {
    const int64_t kept = data.keptCount(), total = data.weightCount();
    QString shape;
    switch (data.mode) {
        case SparsityData::Mode::Kernels3x3:
            shape = QStringLiteral("3x3 kernels");
            break;
        case SparsityData::Mode::KernelDensity:
            shape = QStringLiteral("%1x%2 kernels, coloured by %3")
                        .arg(data.kh)
                        .arg(data.kw)
                        .arg(data.kernelSize() > 1 ? QStringLiteral("kept fraction")
                                                   : QStringLiteral("magnitude"));
            break;
        case SparsityData::Mode::Gemm:
            shape = QStringLiteral("GEMM view, tiles of %1 columns").arg(data.tiles.tileWidth);
            break;
    }
    if (data.wrapsFilters())
        shape += QStringLiteral(" (depthwise: filters left to right, %1 per row)")
                     .arg(data.gridColumns());
    const std::string& name = data.shortName.empty() ? data.layerName : data.shortName;
    m_title->setToolTip(QString::fromStdString(data.layerName));
    m_title->setText(
        QStringLiteral("<b>%1</b><br>%2 filters x %3 input channels, %4; "
                       "kept %5 of %6 weights (%7%)")
            .arg(QString::fromStdString(name).toHtmlEscaped())
            .arg(data.outChannels)
            .arg(data.inPerGroup)
            .arg(shape)
            .arg(kept)
            .arg(total)
            .arg(total ? 100.0 * static_cast<double>(kept) / static_cast<double>(total) : 0.0, 0,
                 'f', 1));
    m_note->setText(QString::fromStdString(data.note));
    m_note->setVisible(!data.note.empty());
    m_legend->setData(data);
    m_map->setData(std::move(data));
}

}  // namespace prunelab::views

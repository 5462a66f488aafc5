// The sparsity map of one pruned layer: every kernel of its out x in grid, kept weights coloured
// by magnitude, pattern ids on hover, and for tile-wise layers the GEMM matrix with its tiles.
// Built from a plain SparsityData (no session needed), zoomable, paints only what is visible.
#pragma once

#include <QAbstractScrollArea>
#include <QColor>
#include <QImage>
#include <QPoint>
#include <QRect>
#include <QString>
#include <QWidget>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/prune/plan.h"
#include "engine/prune/scheme.h"

class QLabel;

namespace prunelab::views {

// What the map shows of one layer, copied out of the engine's LayerProjection (so the view owns
// it and the model may change underneath). Weights in the layer view's order
// [out][in/groups][kh][kw]; Gemm/MatMul layers are [out][in][1][1].
struct SparsityData {
    // Kernels3x3: each 3x3 kernel as 9 cells. KernelDensity: one cell per kernel (kept fraction,
    // or the magnitude for 1x1 kernels). Gemm: tile-wise layers as the [out] x [in*kh*kw] matrix.
    enum class Mode { Kernels3x3, KernelDensity, Gemm };

    std::string layerName;
    // What the title calls the layer (the layer table's shortened name; the full one is the
    // title's tooltip); "" means layerName.
    std::string shortName;
    // Why the layer looks as it does, under the title: why the plan kept it dense, or that its
    // scheme's fallback pruned it (views/model/layer_text.h); "" when pruned as planned.
    std::string note;
    Mode mode = Mode::KernelDensity;
    int64_t outChannels = 0, inPerGroup = 0, kh = 1, kw = 1;
    std::vector<float> magnitude;  // |weight|, one per weight
    std::vector<uint8_t> kept;     // the mask: 1 kept, 0 pruned
    float maxMagnitude = 0;        // over kept weights; the top of the colour scale
    // Pattern layers: the set (9-bit masks) and per kernel the index into it, -1 = removed by
    // connectivity pruning. Empty for other schemes.
    std::vector<engine::prune::Pattern> patternSet;
    std::vector<int32_t> kernelPattern;
    engine::prune::TileStructure tiles;  // tileWidth 0 unless tile-wise

    int64_t kernelSize() const { return kh * kw; }
    int64_t gemmColumns() const { return inPerGroup * kh * kw; }
    int64_t weightCount() const { return outChannels * gemmColumns(); }
    // Kernels per row and rows of the map: the out x in grid, except for depthwise layers (one
    // input channel per filter), whose filters wrap row by row into a near-square grid instead
    // of one column a screen tall. The Gemm view is always [out] x [in*kh*kw].
    bool wrapsFilters() const { return mode != Mode::Gemm && inPerGroup == 1 && outChannels > 4; }
    int64_t gridColumns() const;
    int64_t gridRows() const;
    int64_t keptCount() const;
    int keptInKernel(int64_t filter, int64_t channel) const;
};

// Copies one layer's projection; the mode follows from its shape and tile structure.
SparsityData sparsityDataFromLayer(const engine::prune::LayerProjection& projection,
                                   const std::string& name);
// The same for a layer of an applied plan, with the note on why it is as it is and its name
// without `sharedPrefix` (views::sharedNamePrefix of the model's layer names).
SparsityData sparsityDataFromLayer(const engine::prune::LayerPruning& layer,
                                   const QString& sharedPrefix = {});

// What lies under a point of the map. Kernel fields are set in every mode; in Gemm mode a cell
// is one weight, row = filter, column = channel * kh * kw + y * kw + x.
struct SparsityCell {
    bool valid = false;  // false outside the map or in the gap between kernels
    int64_t filter = -1, channel = -1;
    int y = -1, x = -1;             // position in the kernel; -1 when the cell is the whole kernel
    bool weightKept = false;        // the weight under the point (the kernel's any, when whole)
    float magnitude = 0;            // |weight| (0 when the cell is a whole kernel larger than 1x1)
    int keptWeights = 0;            // in the kernel
    bool kernelRemoved = false;     // every weight of the kernel pruned
    int32_t patternId = -1;         // index into the pattern set, -1 when removed or no patterns
    bool hasPatterns = false;       // the layer has a pattern set
    int64_t row = -1, column = -1;  // Gemm view position
    int tile = -1;                  // Gemm: the column's tile, -1 when the column is pruned
    bool columnPruned = false, rowPrunedInTile = false;
};

// The zoomable, scrollable map. Coordinates: one "unit" is one weight cell; a 3x3 kernel takes
// 4 x 4 units (3 cells and a 1-unit gap). zoom() is pixels per unit.
class SparsityMap : public QAbstractScrollArea {
    Q_OBJECT
  public:
    // The blank of pruned weights, the gaps between kernels, and in the GEMM view the marks of
    // pruned columns and of rows pruned inside a tile (public so tests read what is drawn).
    static constexpr QRgb kBlank = 0xffffffff;
    static constexpr QRgb kGap = 0xffd4d4d4;
    static constexpr QRgb kPrunedColumn = 0xfff2c4c4;
    static constexpr QRgb kPrunedRow = 0xffc9dcf2;
    static constexpr QRgb kTileLine = 0xff202020;
    // Under a dark palette the blank and the gaps go dark too, so a mostly pruned layer is not
    // a white sheet in a dark window (the data colours stay).
    static constexpr QRgb kBlankDark = 0xff1e1e20;
    static constexpr QRgb kGapDark = 0xff48484c;
    static bool isDark(const QPalette& palette);
    static QRgb blankFor(const QPalette& palette) { return isDark(palette) ? kBlankDark : kBlank; }
    static QRgb gapFor(const QPalette& palette) { return isDark(palette) ? kGapDark : kGap; }
    static constexpr double kMinZoom = 0.125, kMaxZoom = 48;

    explicit SparsityMap(QWidget* parent = nullptr);

    void setData(SparsityData data);
    const SparsityData& data() const { return m_data; }

    double zoom() const { return m_zoom; }
    // Keeps the map point under `anchor` (viewport pixels; default: the centre) in place.
    void setZoom(double pixelsPerUnit, QPoint anchor = QPoint(-1, -1));
    void zoomIn();
    void zoomOut();
    void zoomToFit();
    // The blank of pruned weights as drawn now (kBlank, or kBlankDark under a dark palette).
    QRgb blank() const { return m_blank; }

    // The whole map in units.
    QSize unitSize() const;
    // One weight's cell in units (in KernelDensity mode, its kernel's cell).
    QRectF weightUnitRect(int64_t filter, int64_t channel, int y = 0, int x = 0) const;
    // The same in viewport pixels (may lie outside the viewport).
    QRect weightRect(int64_t filter, int64_t channel, int y = 0, int x = 0) const;
    // Scrolls so that the weight's cell is in the middle of the viewport.
    void scrollToWeight(int64_t filter, int64_t channel, int y = 0, int x = 0);

    // The hover query; `viewportPos` in viewport pixels.
    SparsityCell cellAt(QPoint viewportPos) const;
    // The tooltip text for a point: filter, input channel, pattern id, kept weights; "" outside.
    QString describeAt(QPoint viewportPos) const;
    static QString describe(const SparsityCell& cell, const SparsityData& data);

    // The whole map at `pixelsPerUnit` (clamped so neither side exceeds 16384 pixels). Tile lines
    // are drawn from 4 pixels per unit up; below, every pixel is a weight's colour or mark.
    QImage renderImage(double pixelsPerUnit) const;
    // The whole map; false (and nothing written) when the file cannot be written.
    bool exportPng(const QString& path) const;
    bool exportSvg(const QString& path) const;

  signals:
    void zoomChanged(double pixelsPerUnit);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    bool viewportEvent(QEvent* event) override;
    void changeEvent(QEvent* event) override;

  private:
    int unitsPerKernelX() const;
    // The grid cell of kernel (filter, channel), and back (false outside every kernel).
    QPoint gridPosition(int64_t filter, int64_t channel) const;
    bool kernelAtGrid(int64_t gx, int64_t gy, int64_t& filter, int64_t& channel) const;
    int unitsPerKernelY() const;
    SparsityCell cellAtUnit(double ux, double uy) const;
    QRgb cellColour(int64_t filter, int64_t channel, int y, int x) const;
    // Paints the units in `units` (a unit rectangle) at `scale` pixels per unit, with the map's
    // origin at the painter's origin. Large areas come from the one-pixel-per-unit image.
    void paintUnits(QPainter& painter, const QRect& units, double scale, bool vector) const;
    void paintTileLines(QPainter& painter, const QRect& units, double scale) const;
    void rebuildImage();
    void updateScrollBars();

    SparsityData m_data;
    QImage m_unitImage;                   // one pixel per unit, built once per setData
    QRgb m_blank = kBlank, m_gap = kGap;  // from the palette
    std::vector<int32_t> m_columnTile;    // Gemm: tile of each column, -1 pruned
    std::vector<std::vector<uint8_t>> m_rowKeptInTile;  // Gemm: [tile][row]
    double m_zoom = 4;
    bool m_panning = false;
    QPoint m_panStart;
};

// The colour scale beside the map: the colour map from 0 to the layer's largest kept
// magnitude, and the meaning of blank and marked cells.
class SparsityLegend : public QWidget {
    Q_OBJECT
  public:
    explicit SparsityLegend(QWidget* parent = nullptr);
    void setData(const SparsityData& data);
    QSize sizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    float m_max = 0;
    bool m_fraction = false;  // KernelDensity of kernels larger than 1x1: the kept fraction
    SparsityData::Mode m_mode = SparsityData::Mode::KernelDensity;
};

// The view the main window hosts: a title line, the map and the legend.
class SparsityView : public QWidget {
    Q_OBJECT
  public:
    explicit SparsityView(QWidget* parent = nullptr);
    void setData(SparsityData data);
    SparsityMap* map() const { return m_map; }
    // The line under the title saying why the layer is dense (hidden when there is nothing to say).
    QLabel* note() const { return m_note; }
    bool exportPng(const QString& path) const { return m_map->exportPng(path); }
    bool exportSvg(const QString& path) const { return m_map->exportSvg(path); }

  private:
    QLabel* m_title = nullptr;
    QLabel* m_note = nullptr;
    SparsityMap* m_map = nullptr;
    SparsityLegend* m_legend = nullptr;
};

}  // namespace prunelab::views

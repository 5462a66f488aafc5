// A picture of one compiled layer's storage: FKW as rows of filters with a pattern glyph per
// kernel, CSR as a spy plot with each row's density, tiles as the tile grid with the rows and
// columns each tile keeps. Counts come from the storage arrays themselves, so tests can check
// the picture against the compiler.
#pragma once

#include <QWidget>

#include <cstdint>

#include "engine/codegen/sparse_ir.h"

namespace prunelab::views {

class StorageDiagram : public QWidget {
    Q_OBJECT
  public:
    // What the diagram counted in the storage it draws (not copied from the compiler's report).
    struct Summary {
        int64_t filters = 0;          // FKW: stored filters; CSR / tiles: rows of the GEMM view
        int64_t kernels = 0;          // FKW: sum of every filter's kernel count
        int64_t patterns = 0;         // FKW: the pattern set's size
        int64_t nonzeros = 0;         // CSR: stored values; tiles: stored block weights
        int64_t columns = 0;          // CSR / tiles: columns of the GEMM view
        int64_t tiles = 0;            // tiles: tile count
        int64_t keptRowSegments = 0;  // tiles: sum of kept rows over tiles
        int64_t keptColumns = 0;      // tiles: sum of kept columns over tiles
        int shownFilters = 0;         // FKW: filter rows drawn at the current size
    };

    explicit StorageDiagram(QWidget* parent = nullptr);

    void setLayer(engine::codegen::LayerCode layer);
    const Summary& summary() const;  // shownFilters follows the current size
    // The caption above the drawing ("FKW: 64 filters, 1210 kernels, 8 patterns").
    QString caption() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    int rowHeight() const;
    int headerHeight() const;
    int fittingFilters() const;
    void paintFkw(QPainter& painter, QRect area);
    void paintCsr(QPainter& painter, QRect area);
    void paintTiles(QPainter& painter, QRect area);

    engine::codegen::LayerCode m_layer;
    mutable Summary m_summary;
};

}  // namespace prunelab::views

// The whole model at a glance: one bar per prunable layer, its height the layer's density, in
// model order; clicking a bar selects that layer (the main window then shows it in the other
// views). Built from a plain DensityStripData.
#pragma once

#include <QRect>
#include <QString>
#include <QWidget>

#include <string>
#include <vector>

#include "engine/prune/stats.h"

namespace prunelab::views {

struct DensityStripData {
    struct Bar {
        std::string name;
        std::string scheme;  // "dense" or the scheme that projected it
        double density = 1;  // kept / weights, in [0, 1]
        int64_t weights = 0, kept = 0;
    };
    std::vector<Bar> bars;  // one per prunable layer, in the engine's layer order
};

DensityStripData densityStripFromStats(const engine::prune::ModelStats& stats);

class DensityStrip : public QWidget {
    Q_OBJECT
  public:
    explicit DensityStrip(QWidget* parent = nullptr);

    void setData(DensityStripData data);
    const DensityStripData& data() const { return m_data; }
    int barCount() const { return static_cast<int>(m_data.bars.size()); }
    int selectedLayer() const { return m_selected; }

    // The full-height slot of bar `index` (clicks anywhere in it select the layer), in widget
    // pixels; the bar is drawn in its lower part.
    QRect barSlot(int index) const;
    // The bar under a point, -1 when none.
    int barAt(QPoint pos) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  public slots:
    // Highlights the layer without emitting layerSelected (the main window echoes selections
    // made elsewhere); -1 clears it.
    void setSelectedLayer(int index);

  signals:
    // A person clicked a bar (or moved the selection with the arrow keys).
    void layerSelected(int index);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    bool event(QEvent* event) override;

  private:
    QRect plotArea() const;
    void select(int index);

    DensityStripData m_data;
    QString m_prefix;  // the names' shared prefix, left out of the caption (not the tooltip)
    int m_selected = -1;
};

}  // namespace prunelab::views

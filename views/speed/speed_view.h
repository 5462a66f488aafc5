// The "why isn't it faster?" view: per compiled layer, dense ms against compiled ms as bars,
// with kept MACs, achieved GFLOP/s, the speedup against the ideal one, and the compiler's
// decision in words for the selected layer. Built from a plain SpeedData (see
// app/gui/speed_from_profile.h for bench --compare's profile; speedDataFromMeasure for the measure
// pass).
#pragma once

#include <QWidget>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"

class QLabel;
class QScrollArea;

namespace prunelab::views {

struct SpeedLayer {
    int index = 0;          // LayerCode::index
    std::string name;       // the node, as the profile names it
    std::string kind;       // kernelKindName of the kernel that runs it
    double denseMs = 0;     // its step in the dense executor; 0 when not measured
    double compiledMs = 0;  // its step with the compiled (sparse) kernel; 0 when not measured
    int64_t denseMacs = 0, keptMacs = 0;
    std::string decision;  // LayerCode::decision

    bool measured() const { return denseMs > 0 && compiledMs > 0; }
    double speedup() const;       // denseMs / compiledMs; 0 when not measured
    double idealSpeedup() const;  // denseMacs / keptMacs: what removing MACs alone would give
    // What the compiled kernel achieved on the MACs it kept: 2 * keptMacs FLOPs in compiledMs,
    // in GFLOP/s (2e-6 * keptMacs / ms); 0 when not measured.
    double gflops() const;
};

struct SpeedData {
    std::vector<SpeedLayer> layers;  // in compile order
    // Whole runs, and what layout changes and the steps that are not compiled layers took;
    // 0 when the source did not measure them.
    double denseTotalMs = 0, compiledTotalMs = 0;
    double denseReorderMs = 0, compiledReorderMs = 0;
    double otherDenseMs = 0, otherCompiledMs = 0;
    // The source timed the layout changes and the other steps (a profile does; the compiler's
    // measure pass times only layers and whole runs, so its zeros there mean "not timed").
    bool partsTimed = false;
    std::string source;  // where the times come from, shown under the bars
};

// From a SparseModel the measured decision (cpu::keepFasterKernels) ran on: each layer's times
// are read from the "measure" PassRecord's "layer <i>: measured <kind> X ms vs dense Y ms"
// lines, the whole model's from its "whole model X ms sparse vs Y ms dense" line. Layers the
// measure pass did not time (dense from the start) have no times. No "measure" record: no times.
SpeedData speedDataFromMeasure(const engine::codegen::SparseModel& model);

// The painted bars: one row per layer, dense (grey) above compiled (green when faster, orange
// when slower), on one ms scale. Clicking a row emits its row number.
class SpeedBars : public QWidget {
    Q_OBJECT
  public:
    explicit SpeedBars(QWidget* parent = nullptr);
    void setData(const SpeedData* data);  // borrowed: the SpeedView owns it
    void setSelectedRow(int row);
    int selectedRow() const { return m_selected; }
    int rowCount() const;
    QRect rowRect(int row) const;          // where a row is drawn (tests click its centre)
    int rowAt(const QPoint& point) const;  // -1 outside every row
    QSize sizeHint() const override;

  signals:
    void rowClicked(int row);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

  private:
    int rowHeight() const;
    const SpeedData* m_data = nullptr;
    QString m_prefix;  // the names' shared prefix, left out as in the layer table
    int m_selected = -1;
};

class SpeedView : public QWidget {
    Q_OBJECT
  public:
    explicit SpeedView(QWidget* parent = nullptr);

    void setData(SpeedData data);
    const SpeedData& data() const { return m_data; }

    int barCount() const;
    int selectedIndex() const;     // LayerCode::index of the selected layer; -1 when none
    QString decisionText() const;  // the selected layer's decision, as shown
    QString detailsText() const;   // the selected layer's numbers, as shown
    QString totalsText() const;    // the whole model line, as shown
    // What the GPU backend would leave to the CPU, with its reasons (the kernel report's), shown
    // under the bars: `text` in the view, `details` (every node) as its tooltip. Empty: hidden.
    void setGpuFallbacks(const QString& text, const QString& details = {});
    QString gpuFallbacksText() const;
    SpeedBars* bars() const { return m_bars; }

  public slots:
    // Selects the layer with LayerCode::index `index` (the main window keeps the views on one
    // layer); an index no row has clears the selection. Emits nothing.
    void selectLayer(int index);

  signals:
    // A person clicked a layer's bars: its LayerCode::index.
    void layerSelected(int index);

  protected:
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;

  private:
    void showRow(int row);
    // Only while shown: a hidden tab's width is no width a person reads it at.
    void fitLabels();

    SpeedData m_data;
    QLabel* m_totals = nullptr;
    QScrollArea* m_scroll = nullptr;
    SpeedBars* m_bars = nullptr;
    QLabel* m_details = nullptr;
    QLabel* m_decision = nullptr;
    QLabel* m_gpuFallbacks = nullptr;
};

}  // namespace prunelab::views

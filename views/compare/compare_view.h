// The Compare tab: every experiment of the session side by side, as a table and as a scatter of
// cost against quality with the Pareto front drawn, so a person sees which plans are worth
// keeping; exports CSV and PNG.
#pragma once

#include <QAbstractTableModel>
#include <QPointF>
#include <QString>
#include <QWidget>
#include <vector>

#include "views/session/experiment.h"

class QChart;
class QChartView;
class QLabel;
class QTableView;

namespace prunelab::views {

// The indices of the points no other point beats: a point beats another when its x is no larger
// and its y no smaller, one of them strictly (x is a cost, y a quality). Sorted by x. Points that
// are equal are all on the front. Non-finite points are ignored.
std::vector<int> paretoFront(const std::vector<QPointF>& points);

// What the scatter plots: x is the measured latency when every experiment has one, else kept
// MACs; y is accuracy when every experiment has one, else PSNR when every one has it, else
// density (at equal cost, the plan that keeps more weights keeps more of the model).
struct CompareAxes {
    enum class X { LatencyMs, KeptMacs } x = X::KeptMacs;
    enum class Y { Accuracy, PsnrDb, Density } y = Y::Density;
    QString xTitle() const;
    QString yTitle() const;
};
CompareAxes chooseAxes(const std::vector<Experiment>& experiments);
// The experiments as points on `axes` (MACs in millions, density and accuracy in percent).
std::vector<QPointF> comparePoints(const std::vector<Experiment>& experiments,
                                   const CompareAxes& axes);

// One row per experiment, one column per measure (plain numbers in Qt::EditRole for sorting and
// export, formatted text in Qt::DisplayRole).
class CompareModel : public QAbstractTableModel {
    Q_OBJECT

  public:
    enum Column {
        Name,
        Plan,
        Scheme,
        Density,
        KeptMacs,
        Size,
        Latency,
        DenseLatency,
        Quality,
        ColumnCount
    };
    explicit CompareModel(ExperimentLog* log, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    ExperimentLog* m_log;
};

// CSV of the experiments: a header line, then one line per experiment (RFC 4180 quoting; the
// plan as compact one-line JSON; unset metrics empty).
QString compareCsv(const std::vector<Experiment>& experiments);

class CompareView : public QWidget {
    Q_OBJECT

  public:
    explicit CompareView(ExperimentLog* log, QWidget* parent = nullptr);

    CompareModel* model() const { return m_model; }
    QChartView* chartView() const { return m_chartView; }
    QTableView* table() const { return m_table; }
    const CompareAxes& axes() const { return m_axes; }
    // The experiment ids on the drawn front, in x order.
    const std::vector<int>& frontIds() const { return m_frontIds; }
    // Write atomically (QSaveFile); false with `error` set naming the file on failure.
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    bool exportPng(const QString& path, QString* error = nullptr);

  protected:
    // A palette change (light / dark) re-themes the chart, which does not follow palettes.
    void changeEvent(QEvent* event) override;

  private:
    void rebuildChart();
    // ChartThemeDark on a dark window colour, else ChartThemeLight; the series are restyled.
    void followPalette();
    void chooseCsv();
    void choosePng();

    ExperimentLog* m_log;
    CompareModel* m_model;
    QTableView* m_table;
    QChart* m_chart;
    QChartView* m_chartView;
    QLabel* m_note;
    CompareAxes m_axes;
    std::vector<int> m_frontIds;
};

}  // namespace prunelab::views

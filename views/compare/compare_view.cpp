// The Compare tab (see compare_view.h).
#include "views/compare/compare_view.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSaveFile>
#include <QScatterSeries>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "views/common/engine_text.h"

namespace prunelab::views {

std::vector<int> paretoFront(const std::vector<QPointF>& points) {
    std::vector<int> order;
    for (int i = 0; i < static_cast<int>(points.size()); ++i) {
        const QPointF& p = points[static_cast<size_t>(i)];
        if (std::isfinite(p.x()) && std::isfinite(p.y())) order.push_back(i);
    }
    // By cost, best quality first: a point is on the front when its quality beats every cheaper
    // (or equally cheap, better) point's; equal points share their fate.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const QPointF &pa = points[static_cast<size_t>(a)], &pb = points[static_cast<size_t>(b)];
        return pa.x() != pb.x() ? pa.x() < pb.x() : pa.y() > pb.y();
    });
    std::vector<int> front;
    bool any = false;
    QPointF last;  // the last point put on the front
    double bestY = 0;
    for (int i : order) {
        const QPointF& p = points[static_cast<size_t>(i)];
        if (!any || p.y() > bestY || p == last) {
            front.push_back(i);
            bestY = any ? std::max(bestY, p.y()) : p.y();
            last = p;
            any = true;
        }
    }
    return front;
}

QString CompareAxes::xTitle() const {
    return x == X::LatencyMs ? QObject::tr("Latency (ms, compiled)")
                             : QObject::tr("Kept MACs (millions)");
}

QString CompareAxes::yTitle() const {
    switch (y) {
        case Y::Accuracy:
            return QObject::tr("Accuracy (%)");
        case Y::PsnrDb:
            return QObject::tr("PSNR (dB)");
        case Y::Density:
            break;
    }
    return QObject::tr("Density (% kept)");
}

CompareAxes chooseAxes(const std::vector<Experiment>& experiments) {
    // An axis needs the value on every point: a plot mixing measured and unmeasured plans would
    // silently drop some of them from the comparison.
    auto all = [&](auto member) {
        return !experiments.empty() &&
               std::all_of(experiments.begin(), experiments.end(),
                           [&](const Experiment& e) { return (e.*member).has_value(); });
    };
    CompareAxes axes;
    if (all(&Experiment::latencyMs)) axes.x = CompareAxes::X::LatencyMs;
    if (all(&Experiment::accuracy)) {
        axes.y = CompareAxes::Y::Accuracy;
    } else if (all(&Experiment::psnrDb)) {
        axes.y = CompareAxes::Y::PsnrDb;
    }
    return axes;
}

std::vector<QPointF> comparePoints(const std::vector<Experiment>& experiments,
                                   const CompareAxes& axes) {
    std::vector<QPointF> points;
    for (const Experiment& e : experiments) {
        const double x = axes.x == CompareAxes::X::LatencyMs
                             ? e.latencyMs.value_or(NAN)
                             : static_cast<double>(e.keptMacs) / 1e6;
        double y = e.density * 100;
        if (axes.y == CompareAxes::Y::Accuracy) y = e.accuracy.value_or(NAN) * 100;
        if (axes.y == CompareAxes::Y::PsnrDb) y = e.psnrDb.value_or(NAN);
        points.emplace_back(x, y);
    }
    return points;
}

// ---- the table ----

namespace {

// The plan on one line, keys in planToJson's order (QJsonDocument would sort them): whitespace
// outside strings is dropped.
QString compactJson(const QString& json) {
    QString out;
    out.reserve(json.size());
    bool inString = false, escaped = false;
    for (const QChar c : json) {
        if (inString) {
            out += c;
            if (escaped) {
                escaped = false;
            } else if (c == QLatin1Char('\\')) {
                escaped = true;
            } else if (c == QLatin1Char('"')) {
                inString = false;
            }
            continue;
        }
        if (c.isSpace()) continue;
        if (c == QLatin1Char('"')) inString = true;
        out += c;
    }
    return out;
}

}  // namespace

CompareModel::CompareModel(ExperimentLog* log, QObject* parent)
    : QAbstractTableModel(parent), m_log(log) {
    // The log changes by whole lists or single values; a reset keeps the model simple and the
    // table is a few dozen rows at most.
    connect(log, &ExperimentLog::changed, this, [this] {
        beginResetModel();
        endResetModel();
    });
}

int CompareModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_log->experiments().size());
}

int CompareModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

namespace {

QString msText(const std::optional<double>& ms) {
    return ms ? QStringLiteral("%1 ms").arg(*ms, 0, 'f', 2) : QString();
}

QString bytesText(int64_t bytes) {
    return QStringLiteral("%1 KiB").arg(static_cast<double>(bytes) / 1024.0, 0, 'f', 1);
}

QString qualityText(const Experiment& e) {
    QStringList parts;
    if (e.accuracy) parts << QStringLiteral("%1 %").arg(*e.accuracy * 100, 0, 'f', 2);
    if (e.psnrDb) parts << QStringLiteral("%1 dB").arg(*e.psnrDb, 0, 'f', 2);
    return parts.join(QStringLiteral(", "));
}

QVariant optionalValue(const std::optional<double>& v) {
    return v ? QVariant(*v) : QVariant();
}

}  // namespace

QVariant CompareModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
    const Experiment& e = m_log->experiments()[static_cast<size_t>(index.row())];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Name:
                return e.name;
            case Plan:
                return compactJson(e.plan);
            case Scheme:
                return e.scheme;
            case Density:
                return QStringLiteral("%1 %").arg(e.density * 100, 0, 'f', 1);
            case KeptMacs:
                return QStringLiteral("%1 of %2")
                    .arg(countText(e.keptMacs), countText(e.denseMacs));
            case Size:
                return QStringLiteral("%1 of %2")
                    .arg(bytesText(e.storageBytes), bytesText(e.denseBytes));
            case Latency:
                return msText(e.latencyMs);
            case DenseLatency:
                return msText(e.denseLatencyMs);
            case Quality:
                return qualityText(e);
            default:
                return {};
        }
    }
    if (role == Qt::EditRole) {
        switch (index.column()) {
            case Name:
                return e.name;
            case Plan:
                return e.plan;
            case Scheme:
                return e.scheme;
            case Density:
                return e.density;
            case KeptMacs:
                return static_cast<qlonglong>(e.keptMacs);
            case Size:
                return static_cast<qlonglong>(e.storageBytes);
            case Latency:
                return optionalValue(e.latencyMs);
            case DenseLatency:
                return optionalValue(e.denseLatencyMs);
            case Quality:
                return e.accuracy ? optionalValue(e.accuracy) : optionalValue(e.psnrDb);
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Plan) return e.plan;
    if (role == Qt::ToolTipRole && index.column() == Quality && !e.accuracy && !e.psnrDb)
        return tr("Retrain the plan to measure its accuracy or PSNR.");
    if (role == Qt::ToolTipRole && index.column() == Latency && !e.latencyMs)
        return tr("Press Measure in the Speed tab with this plan applied.");
    if (role == Qt::TextAlignmentRole && index.column() >= Density)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    return {};
}

QVariant CompareModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role != Qt::DisplayRole) return {};
    if (orientation == Qt::Vertical) return section + 1;
    switch (section) {
        case Name:
            return tr("Experiment");
        case Plan:
            return tr("Plan");
        case Scheme:
            return tr("Scheme");
        case Density:
            return tr("Density");
        case KeptMacs:
            return tr("Kept MACs");
        case Size:
            return tr("Size");
        case Latency:
            return tr("Latency");
        case DenseLatency:
            return tr("Dense latency");
        case Quality:
            return tr("Accuracy / PSNR");
        default:
            return {};
    }
}

// ---- CSV ----

namespace {

QString csvField(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString csvNumber(const std::optional<double>& v) {
    return v ? QString::number(*v, 'g', 10) : QString();
}

}  // namespace

QString compareCsv(const std::vector<Experiment>& experiments) {
    QString csv = QStringLiteral(
        "id,name,model,scheme,density,kept_macs,dense_macs,storage_bytes,dense_bytes,"
        "latency_ms,dense_latency_ms,accuracy,psnr_db,plan\n");
    for (const Experiment& e : experiments) {
        const QString plan = compactJson(e.plan);
        const QStringList fields = {QString::number(e.id),
                                    csvField(e.name),
                                    csvField(e.model),
                                    csvField(e.scheme),
                                    QString::number(e.density, 'g', 10),
                                    QString::number(e.keptMacs),
                                    QString::number(e.denseMacs),
                                    QString::number(e.storageBytes),
                                    QString::number(e.denseBytes),
                                    csvNumber(e.latencyMs),
                                    csvNumber(e.denseLatencyMs),
                                    csvNumber(e.accuracy),
                                    csvNumber(e.psnrDb),
                                    csvField(plan)};
        csv += fields.join(QLatin1Char(',')) + QLatin1Char('\n');
    }
    return csv;
}

// ---- the view ----

CompareView::CompareView(ExperimentLog* log, QWidget* parent)
    : QWidget(parent),
      m_log(log),
      m_model(new CompareModel(log, this)),
      m_table(new QTableView(this)),
      m_chart(new QChart()),
      m_chartView(new QChartView(m_chart, this)),
      m_note(new QLabel(this)) {
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setWordWrap(false);
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_note->setWordWrap(true);
    followPalette();

    auto* csv = new QPushButton(tr("Export CSV..."), this);
    auto* png = new QPushButton(tr("Export PNG..."), this);
    connect(csv, &QPushButton::clicked, this, &CompareView::chooseCsv);
    connect(png, &QPushButton::clicked, this, &CompareView::choosePng);
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_note, 1);
    bar->addWidget(csv);
    bar->addWidget(png);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_chartView);
    split->addWidget(m_table);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(split, 1);

    connect(log, &ExperimentLog::changed, this, &CompareView::rebuildChart);
    rebuildChart();
}

void CompareView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) followPalette();
}

void CompareView::followPalette() {
    const QChart::ChartTheme theme = palette().color(QPalette::Window).lightness() < 128
                                         ? QChart::ChartThemeDark
                                         : QChart::ChartThemeLight;
    // setTheme restyles every series and axis: only when the theme really changes.
    if (m_chart->theme() != theme) m_chart->setTheme(theme);
}

void CompareView::rebuildChart() {
    const std::vector<Experiment>& experiments = m_log->experiments();
    m_chart->removeAllSeries();
    for (QAbstractAxis* axis : m_chart->axes()) {
        m_chart->removeAxis(axis);
        delete axis;
    }
    m_axes = chooseAxes(experiments);
    m_frontIds.clear();
    if (experiments.empty()) {
        m_note->setText(tr("Apply plans to the model: each one becomes a row here."));
        m_chart->setTitle(QString());
        return;
    }
    const std::vector<QPointF> points = comparePoints(experiments, m_axes);
    const std::vector<int> front = paretoFront(points);

    auto* all = new QScatterSeries;
    all->setName(tr("Experiments"));
    all->setMarkerSize(10);
    auto* best = new QScatterSeries;
    best->setName(tr("Pareto front"));
    best->setMarkerSize(14);
    best->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    auto* line = new QLineSeries;
    line->setName(tr("Front"));
    double minX = INFINITY, maxX = -INFINITY, minY = INFINITY, maxY = -INFINITY;
    for (const QPointF& p : points) {
        if (!std::isfinite(p.x()) || !std::isfinite(p.y())) continue;
        all->append(p);
        minX = std::min(minX, p.x());
        maxX = std::max(maxX, p.x());
        minY = std::min(minY, p.y());
        maxY = std::max(maxY, p.y());
    }
    for (int i : front) {
        best->append(points[static_cast<size_t>(i)]);
        line->append(points[static_cast<size_t>(i)]);
        m_frontIds.push_back(experiments[static_cast<size_t>(i)].id);
    }
    m_chart->addSeries(line);
    m_chart->addSeries(all);
    m_chart->addSeries(best);
    auto* x = new QValueAxis;
    auto* y = new QValueAxis;
    x->setTitleText(m_axes.xTitle());
    y->setTitleText(m_axes.yTitle());
    // A margin so points on the edge are not cut, and a single point still has a range.
    const double padX = std::max((maxX - minX) * 0.08, std::max(std::abs(maxX) * 0.05, 1e-3));
    const double padY = std::max((maxY - minY) * 0.08, std::max(std::abs(maxY) * 0.05, 1e-3));
    x->setRange(std::max(0.0, minX - padX), maxX + padX);
    y->setRange(std::max(0.0, minY - padY), maxY + padY);
    m_chart->addAxis(x, Qt::AlignBottom);
    m_chart->addAxis(y, Qt::AlignLeft);
    for (QAbstractSeries* s : m_chart->series()) {
        s->attachAxis(x);
        s->attachAxis(y);
    }
    m_chart->setTitle(tr("%1 against %2").arg(m_axes.yTitle(), m_axes.xTitle()));

    QStringList missing;
    if (m_axes.x == CompareAxes::X::KeptMacs)
        missing << tr("measure every plan (Speed tab) to plot latency");
    if (m_axes.y == CompareAxes::Y::Density)
        missing << tr("retrain to plot accuracy or PSNR instead of density");
    QStringList names;
    for (int id : m_frontIds)
        if (const Experiment* e = m_log->find(id)) names << e->name;
    m_note->setText(tr("Pareto front (nothing beats them on both axes): %1.%2")
                        .arg(names.join(QStringLiteral("; ")),
                             missing.isEmpty()
                                 ? QString()
                                 : QStringLiteral(" ") +
                                       tr("To compare more: %1.").arg(missing.join(tr("; ")))));
}

bool CompareView::exportCsv(const QString& path, QString* error) const {
    QSaveFile file(path);
    const QByteArray bytes = compareCsv(m_log->experiments()).toUtf8();
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        if (error) *error = tr("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool CompareView::exportPng(const QString& path, QString* error) {
    const QPixmap picture = m_chartView->grab();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !picture.save(&file, "PNG") || !file.commit()) {
        if (error) *error = tr("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void CompareView::chooseCsv() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export experiments"), QStringLiteral("experiments.csv"), tr("CSV (*.csv)"));
    QString error;
    if (!path.isEmpty() && !exportCsv(path, &error)) m_note->setText(error);
}

void CompareView::choosePng() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export the chart"), QStringLiteral("experiments.png"), tr("PNG (*.png)"));
    QString error;
    if (!path.isEmpty() && !exportPng(path, &error)) m_note->setText(error);
}

}  // namespace prunelab::views

// The retrain panel (see retrain_panel.h): the form, the worker run and the live charts.
#include "views/train/retrain_panel.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTextStream>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "engine/onnx/plab_file.h"
#include "engine/prune/pruned_model.h"
#include "views/common/engine_text.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/train/admm_animation.h"

namespace prunelab::views {

using engine::train::RetrainMethod;

// Shared by the panel and the worker: Stop, Pause and the throttle of progress messages.
struct RetrainPanel::Control {
    std::atomic<bool> cancel{false};
    std::mutex mutex;
    std::condition_variable resumed;
    bool paused = false;
    std::chrono::steady_clock::time_point lastPost{};
};

namespace {

// A step can take a millisecond on LeNet-5: posting every one would flood the event loop.
constexpr auto kProgressInterval = std::chrono::milliseconds(50);

double norm(const std::vector<double>& parts) {
    double sum = 0;
    for (double v : parts) sum += v * v;
    return std::sqrt(sum);
}

// Grows an axis to take `v` (value axes only; the log axes are sized in onRecord).
void extend(QValueAxis* axis, double v, bool& first) {
    if (first) {
        axis->setRange(v, v + 1e-9);
        first = false;
        return;
    }
    axis->setRange(std::min(axis->min(), v), std::max(axis->max(), v));
}

QChart* makeChart(const QString& title) {
    auto* chart = new QChart();
    chart->setTitle(title);
    chart->legend()->setVisible(true);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    return chart;
}

QLineSeries* addSeries(QChart* chart, const QString& name, QAbstractAxis* x, QAbstractAxis* y) {
    auto* s = new QLineSeries(chart);
    s->setName(name);
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    return s;
}

// The trainer's own names (retrainMethodName lives with libtorch, which the views never link).
QString methodName(RetrainMethod m) {
    switch (m) {
        case RetrainMethod::Admm:
            return QStringLiteral("admm");
        case RetrainMethod::OneShot:
            return QStringLiteral("one-shot");
        case RetrainMethod::Gradual:
            return QStringLiteral("gradual");
    }
    return QStringLiteral("admm");
}

// The charts two by two where the tab is wide enough for two at their minimum widths, else one
// above the other (the panel scrolls): beside the layer table on a 1024-pixel screen the tab is
// about 480 pixels wide.
class ChartGrid : public QWidget {
  public:
    explicit ChartGrid(QWidget* parent) : QWidget(parent), m_grid(new QGridLayout(this)) {
        m_grid->setContentsMargins(0, 0, 0, 0);
    }
    void add(QWidget* cell) {
        m_cells.push_back(cell);
        place(2, true);
    }
    // One column is the narrowest it can be.
    QSize minimumSizeHint() const override {
        QSize size(0, 0);
        for (QWidget* cell : m_cells) {
            const QSize m = minimumOf(cell);
            size.setWidth(std::max(size.width(), m.width()));
            size.rheight() += m.height() + m_grid->verticalSpacing();
        }
        return size;
    }

  protected:
    void resizeEvent(QResizeEvent* event) override {
        int left = 0, right = 0;
        for (size_t i = 0; i < m_cells.size(); ++i) {
            int& column = i % 2 ? right : left;
            column = std::max(column, minimumOf(m_cells[i]).width());
        }
        place(width() >= left + right + m_grid->horizontalSpacing() ? 2 : 1, false);
        QWidget::resizeEvent(event);
    }

  private:
    static QSize minimumOf(const QWidget* cell) {
        return cell->minimumSizeHint().expandedTo(cell->minimumSize());
    }
    void place(int columns, bool force) {
        if (columns == m_columns && !force) return;
        m_columns = columns;
        for (QWidget* cell : m_cells) m_grid->removeWidget(cell);
        for (size_t i = 0; i < m_cells.size(); ++i) {
            const int at = static_cast<int>(i);
            m_grid->addWidget(m_cells[i], at / columns, at % columns);
        }
    }

    QGridLayout* m_grid;
    std::vector<QWidget*> m_cells;
    int m_columns = 2;
};

QString formatSeconds(double s) {
    if (!(s >= 0) || !std::isfinite(s)) return QStringLiteral("?");
    const int total = static_cast<int>(std::lround(s));
    if (total < 60) return QObject::tr("%1 s").arg(total);
    return QObject::tr("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

RetrainPanel::RetrainPanel(ModelSession* session, ExperimentLog* experiments,
                           RetrainFunction retrainer, QWidget* parent)
    : QWidget(parent),
      m_session(session),
      m_experiments(experiments),
      m_retrainer(std::move(retrainer)),
      m_runsFolder(QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
                       .filePath(QStringLiteral("runs"))) {
    buildForm();
    connect(session, &ModelSession::modelLoaded, this, [this] {
        m_lastRequest.reset();  // a checkpoint of another model cannot be resumed into this one
        m_animation->clear();
        updateEnabled();
    });
    connect(session, &ModelSession::planApplied, this, &RetrainPanel::updateEnabled);
    connect(session, &ModelSession::busyChanged, this, &RetrainPanel::updateEnabled);
    updateEnabled();
}

RetrainPanel::~RetrainPanel() {
    if (m_control) {
        m_control->cancel = true;
        {
            const std::lock_guard lock(m_control->mutex);
            m_control->paused = false;
        }
        m_control->resumed.notify_all();
    }
    // The worker calls back into this panel through queued calls only, which Qt drops once the
    // panel is gone; waiting keeps the trainer from outliving the data it was given.
    for (QFutureWatcherBase* watcher : findChildren<QFutureWatcherBase*>()) {
        watcher->disconnect(this);
        watcher->waitForFinished();
    }
}

void RetrainPanel::buildForm() {
    // Scrolls where the window is short (a 720-pixel projector): the form and four charts need
    // more height than the tab has there; on a tall screen the charts take the rest.
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto* scroll = new QScrollArea(this);
    m_scroll = scroll;
    scroll->setObjectName(QStringLiteral("retrainScroll"));
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* content = new QWidget(scroll);
    scroll->setWidget(content);
    outer->addWidget(scroll);
    // The content's height is known only once laid out (a hidden tab has none yet), and its
    // children are placed after the range changes: scroll once they are.
    connect(scroll->verticalScrollBar(), &QScrollBar::rangeChanged, this, [this] {
        if (!m_followRun) return;
        QTimer::singleShot(0, this, [this] {
            if (m_followRun) scrollToRun();
        });
    });
    connect(scroll->verticalScrollBar(), &QScrollBar::actionTriggered, this,
            [this] { m_followRun = false; });
    auto* layout = new QVBoxLayout(content);
    m_unavailable = new QLabel(this);
    m_unavailable->setWordWrap(true);
    layout->addWidget(m_unavailable);

    auto* form = new QFormLayout;
    // Numbers need a few digits, not the window's width; the charts below take that. Only the
    // combos (Expanding) grow.
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    m_data = new QComboBox(this);
    m_data->setObjectName(QStringLiteral("retrainData"));
    m_data->addItem(tr("Fashion-MNIST (with labels)"), QStringLiteral("fashion-mnist"));
    m_data->addItem(tr("MNIST digits (with labels)"), QStringLiteral("mnist"));
    m_data->addItem(tr("Video frames (no labels: learn from the dense model)"),
                    QStringLiteral("frames:"));
    m_data->addItem(tr("Image folder (one sub-folder per class)..."), QStringLiteral("folder:"));
    m_data->addItem(tr("Video file (no labels)..."), QStringLiteral("pick-video"));
    connect(m_data, &QComboBox::activated, this, [this](int index) {
        const QString spec = m_data->itemData(index).toString();
        if (spec == QLatin1String("folder:")) chooseFolder(QStringLiteral("folder"));
        if (spec == QLatin1String("pick-video")) chooseFolder(QStringLiteral("video"));
    });
    // The combos take the form's width, down to 24 characters on a narrow tab (their long
    // entries then elide, and show in full when open).
    auto mayElide = [](QComboBox* combo) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(24);
        combo->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    };
    mayElide(m_data);
    form->addRow(tr("&Data"), m_data);

    m_method = new QComboBox(this);
    m_method->addItem(tr("ADMM (train toward the constraint, then prune)"),
                      static_cast<int>(RetrainMethod::Admm));
    m_method->addItem(tr("One-shot prune + fine-tune"), static_cast<int>(RetrainMethod::OneShot));
    m_method->addItem(tr("Gradual pruning"), static_cast<int>(RetrainMethod::Gradual));
    mayElide(m_method);
    form->addRow(tr("&Method"), m_method);

    auto spin = [this](int lo, int hi, int value, const QString& special = {}) {
        auto* s = new QSpinBox(this);
        s->setRange(lo, hi);
        s->setValue(value);
        if (!special.isEmpty()) s->setSpecialValueText(special);
        return s;
    };
    auto dspin = [this](double lo, double hi, double value, int decimals, double step) {
        auto* s = new QDoubleSpinBox(this);
        s->setDecimals(decimals);
        s->setRange(lo, hi);
        s->setSingleStep(step);
        s->setValue(value);
        return s;
    };
    m_epochs = spin(1, 1000, 3);
    m_fineTune = spin(0, 1000, 1);
    auto* epochs = new QHBoxLayout;
    epochs->addWidget(m_epochs);
    epochs->addWidget(new QLabel(tr("of which fine-tune"), this));
    epochs->addWidget(m_fineTune);
    epochs->addStretch();
    auto* epochsLabel = new QLabel(tr("&Epochs"), this);
    epochsLabel->setBuddy(m_epochs);
    form->addRow(epochsLabel, epochs);
    m_steps = spin(0, 1000000, 0, tr("all"));
    form->addRow(tr("&Steps per epoch"), m_steps);
    m_limit = spin(0, 100000000, 0, tr("all"));
    form->addRow(tr("Training &examples"), m_limit);
    m_batch = spin(1, 4096, 64);
    form->addRow(tr("&Batch"), m_batch);
    m_lr = dspin(1e-6, 1, 1e-3, 6, 1e-4);
    form->addRow(tr("&Learning rate"), m_lr);
    // ADMM's schedule starts from the trainer's own defaults (the CLI's too): one set of numbers.
    const engine::train::RetrainOptions admm;
    m_rho = dspin(1e-6, 10, admm.rho, 6, 1e-4);
    m_rho->setObjectName(QStringLiteral("retrainRho"));
    m_rho->setToolTip(
        tr("rho at the start of each stage, per unit of each layer's mean squared weight: how "
           "hard the W-step pulls W towards Z at first. Small: W first follows the loss."));
    // 0 is "auto"; below 1 rho would shrink, which the trainer refuses.
    m_rhoMul = dspin(0, 10, admm.rhoMultiplier, 2, 0.1);
    m_rhoMul->setObjectName(QStringLiteral("retrainRhoGrowth"));
    m_rhoMul->setSpecialValueText(tr("auto"));
    // Stepping up from auto goes to 1 (no growth), down from 1 to auto, never in between.
    connect(m_rhoMul, &QDoubleSpinBox::valueChanged, this,
            [this, last = admm.rhoMultiplier](double v) mutable {
                if (v > 0 && v < 1) v = last > 0 ? 0.0 : 1.0;
                last = v;
                if (v != m_rhoMul->value()) m_rhoMul->setValue(v);
            });
    m_rhoMul->setToolTip(
        tr("rho's growth after each Z/U update, up to the ceiling (1 or more). auto: the growth "
           "that reaches the ceiling at each stage's last update. rho restarts at every stage."));
    m_rhoMax = dspin(1e-6, 100, admm.rhoMax, 4, 0.01);
    m_rhoMax->setObjectName(QStringLiteral("retrainRhoMax"));
    m_rhoMax->setToolTip(
        tr("The largest rho. By the last update W must sit on Z, so the hard "
           "prune that follows removes almost nothing W still needs."));
    auto* rho = new QHBoxLayout;
    rho->addWidget(m_rho);
    rho->addWidget(new QLabel(tr("x"), this));
    rho->addWidget(m_rhoMul);
    rho->addWidget(new QLabel(tr("per update"), this));
    rho->addStretch();
    auto* rhoLabel = new QLabel(tr("&Rho"), this);
    rhoLabel->setBuddy(m_rho);
    rhoLabel->setToolTip(m_rho->toolTip());
    form->addRow(rhoLabel, rho);
    // Rows of their own: on one line with rho the form was wider than the tab on a small screen.
    form->addRow(tr("Rho &ceiling"), m_rhoMax);
    m_updates = spin(0, 1000, admm.admmUpdatesPerEpoch, tr("auto (~200 steps)"));
    m_updates->setObjectName(QStringLiteral("retrainUpdates"));
    m_updates->setToolTip(
        tr("Z/U updates per epoch. auto: one every ~200 optimiser steps (W-steps long enough to "
           "reach Z), 4 to 10 a stage."));
    form->addRow(tr("&Updates per epoch"), m_updates);
    m_stages = spin(0, 10, admm.admmStages, tr("auto"));
    m_stages->setObjectName(QStringLiteral("retrainStages"));
    m_stages->setToolTip(
        tr("Progressive ADMM: each stage a whole ADMM at a higher rate, the last at the plan's; "
           "rho restarts at each stage (the marks on the rho curve). auto: one stage per 20x the "
           "plan removes (95%: 1, 98%: 2)."));
    form->addRow(tr("S&tages"), m_stages);
    layout->addLayout(form);

    auto* buttons = new QHBoxLayout;
    m_start = new QPushButton(tr("Start"), this);
    m_pause = new QPushButton(tr("Pause"), this);
    m_stop = new QPushButton(tr("Stop"), this);
    m_resume = new QPushButton(tr("Resume from Checkpoint"), this);
    m_resume->setToolTip(tr("Continue the last run that was stopped, from its last checkpoint"));
    for (QPushButton* b : {m_start, m_pause, m_stop, m_resume}) buttons->addWidget(b);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(m_start, &QPushButton::clicked, this, &RetrainPanel::start);
    connect(m_pause, &QPushButton::clicked, this, &RetrainPanel::pause);
    connect(m_stop, &QPushButton::clicked, this, &RetrainPanel::stop);
    connect(m_resume, &QPushButton::clicked, this, &RetrainPanel::resume);

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    layout->addWidget(m_progress);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    // The metric per record and residuals and rho per ADMM update first (on a 720-pixel screen
    // they are what shows below the buttons), then the loss per step and W, Z, U.
    auto* charts = new ChartGrid(content);
    auto addView = [&](QChart* chart) {
        auto* view = new QChartView(chart, charts);
        view->setRenderHint(QPainter::Antialiasing);
        view->setMinimumHeight(180);
        charts->add(view);
        return view;
    };
    m_metricChart = makeChart(tr("Accuracy"));
    auto* metricX = new QValueAxis(m_metricChart);
    metricX->setTitleText(tr("step"));
    metricX->setLabelFormat(QStringLiteral("%d"));
    auto* metricY = new QValueAxis(m_metricChart);
    m_metricChart->addAxis(metricX, Qt::AlignBottom);
    m_metricChart->addAxis(metricY, Qt::AlignLeft);
    m_metric = addSeries(m_metricChart, tr("held-out"), metricX, metricY);
    addView(m_metricChart);

    m_admmChart = makeChart(tr("ADMM residuals and rho"));
    auto* admmX = new QValueAxis(m_admmChart);
    admmX->setTitleText(tr("update"));
    admmX->setLabelFormat(QStringLiteral("%d"));
    // One tick per update: the default five ticks label 1..2 as "1 1 2".
    admmX->setTickType(QValueAxis::TicksDynamic);
    admmX->setTickAnchor(1);
    admmX->setTickInterval(1);
    auto* residualY = new QLogValueAxis(m_admmChart);
    residualY->setTitleText(tr("||.|| (log)"));
    residualY->setLabelFormat(QStringLiteral("%.2g"));
    auto* rhoY = new QLogValueAxis(m_admmChart);
    rhoY->setTitleText(tr("rho (log)"));
    rhoY->setLabelFormat(QStringLiteral("%.1g"));
    m_admmChart->addAxis(admmX, Qt::AlignBottom);
    m_admmChart->addAxis(residualY, Qt::AlignLeft);
    m_admmChart->addAxis(rhoY, Qt::AlignRight);
    m_primal = addSeries(m_admmChart, tr("primal ||W - Z||"), admmX, residualY);
    m_dual = addSeries(m_admmChart, tr("dual ||Z - Z_prev||"), admmX, residualY);
    m_rhoSeries = addSeries(m_admmChart, tr("rho"), admmX, rhoY);
    // Progressive ADMM restarts rho at each stage: a mark says the drop is by design.
    m_stageStarts = new QScatterSeries(m_admmChart);
    m_stageStarts->setName(tr("new stage: rho restarts"));
    m_stageStarts->setMarkerShape(QScatterSeries::MarkerShapeTriangle);
    m_stageStarts->setMarkerSize(11);
    m_admmChart->addSeries(m_stageStarts);
    m_stageStarts->attachAxis(admmX);
    m_stageStarts->attachAxis(rhoY);
    m_stageStarts->setColor(m_rhoSeries->color());
    addView(m_admmChart)
        ->setToolTip(tr(
            "At each Z/U update: how far W is from the constraint set (primal ||W - Z||, falling "
            "as W converges) and how much Z moved (dual). rho grows on its schedule to the "
            "ceiling; with several stages it restarts at each one (marked)."));

    m_lossChart = makeChart(tr("Training loss"));
    auto* lossX = new QValueAxis(m_lossChart);
    lossX->setTitleText(tr("step"));
    lossX->setLabelFormat(QStringLiteral("%d"));
    auto* lossY = new QValueAxis(m_lossChart);
    m_lossChart->addAxis(lossX, Qt::AlignBottom);
    m_lossChart->addAxis(lossY, Qt::AlignLeft);
    m_loss = addSeries(m_lossChart, tr("loss"), lossX, lossY);
    addView(m_lossChart);

    auto* animationBox = new QGroupBox(tr("W, Z and U of the selected layer"), this);
    auto* animationLayout = new QVBoxLayout(animationBox);
    m_animation = new AdmmAnimation(animationBox);
    animationLayout->addWidget(m_animation);
    charts->add(animationBox);
    layout->addWidget(charts, 1);
    clearCharts();
}

void RetrainPanel::setDefaultVideo(const QString& path) {
    m_defaultVideo = path;
    const int index =
        m_data->findData(QStringLiteral("frames:"), Qt::UserRole, Qt::MatchStartsWith);
    if (index >= 0) {
        m_data->setItemData(index, QStringLiteral("frames:") + path);
        m_data->setItemData(index, path, Qt::ToolTipRole);
    }
}

void RetrainPanel::setWatchLayer(int layer) {
    m_watchLayer = layer;
}

void RetrainPanel::setData(const QString& spec) {
    int index = m_data->findData(spec);
    if (index < 0) {
        m_data->addItem(spec, spec);
        index = m_data->count() - 1;
    }
    m_data->setCurrentIndex(index);
}

QString RetrainPanel::data() const {
    return m_data->currentData().toString();
}

void RetrainPanel::setMethod(RetrainMethod method) {
    m_method->setCurrentIndex(m_method->findData(static_cast<int>(method)));
}

void RetrainPanel::setEpochs(int epochs, int fineTuneEpochs) {
    m_epochs->setValue(epochs);
    m_fineTune->setValue(fineTuneEpochs);
}

void RetrainPanel::setStepsPerEpoch(int steps) {
    m_steps->setValue(steps);
}

void RetrainPanel::setTrainingLimit(int examples) {
    m_limit->setValue(examples);
}

void RetrainPanel::setRho(double rho, double multiplier, double max, int updatesPerEpoch) {
    m_rho->setValue(rho);
    m_rhoMul->setValue(multiplier);
    m_rhoMax->setValue(max);
    m_updates->setValue(updatesPerEpoch);
}

void RetrainPanel::setAdmmStages(int stages) {
    m_stages->setValue(stages);
}

void RetrainPanel::chooseFolder(const QString& kind) {
    const QString path =
        kind == QLatin1String("folder")
            ? QFileDialog::getExistingDirectory(this, tr("Image folder (one sub-folder per class)"))
            : QFileDialog::getOpenFileName(this, tr("Video for label-free retraining"), {},
                                           tr("Videos (*.avi *.mp4 *.mkv *.mov *.webm)"));
    if (path.isEmpty()) {
        m_data->setCurrentIndex(0);
        return;
    }
    setData(
        (kind == QLatin1String("folder") ? QStringLiteral("folder:") : QStringLiteral("frames:")) +
        path);
}

int RetrainPanel::lossPoints() const {
    return m_loss->count();
}
int RetrainPanel::metricPoints() const {
    return m_metric->count();
}
int RetrainPanel::residualPoints() const {
    return m_primal->count();
}
int RetrainPanel::stageStarts() const {
    return m_stageStarts->count();
}

bool RetrainPanel::canResume() const {
    return m_state == State::Idle && m_lastRequest && !m_runFolder.isEmpty() &&
           QFile::exists(QString::fromStdString(m_lastRequest->options.checkpointPath));
}

std::optional<RetrainRequest> RetrainPanel::requestFromForm(QString* why) const {
    if (!m_retrainer) {
        *why = tr("This build of PruneLab has no trainer (it was built without libtorch).");
        return std::nullopt;
    }
    if (!m_session->hasModel()) {
        *why = tr("Open a model first.");
        return std::nullopt;
    }
    const auto plan = m_session->currentPlan();
    if (!plan) {
        *why = tr("Apply a pruning plan first: retraining recovers what a plan removed.");
        return std::nullopt;
    }
    const QString spec = data();
    if (spec == QLatin1String("frames:") || spec == QLatin1String("folder:") ||
        spec == QLatin1String("pick-video")) {
        *why = tr("Choose the data's folder or video first.");
        return std::nullopt;
    }
    RetrainRequest r;
    r.model = m_session->source().toStdString();
    r.plan = *plan;
    r.data = spec.toStdString();
    r.limit = static_cast<size_t>(m_limit->value());
    r.options.epochs = m_epochs->value();
    r.options.batchSize = m_batch->value();
    r.options.learningRate = m_lr->value();
    r.options.maxStepsPerEpoch = static_cast<size_t>(m_steps->value());
    r.retrain.method = static_cast<RetrainMethod>(m_method->currentData().toInt());
    r.retrain.fineTuneEpochs = std::min(m_fineTune->value(), m_epochs->value());
    r.retrain.rho = m_rho->value();
    r.retrain.rhoMultiplier = m_rhoMul->value();
    r.retrain.rhoMax = std::max(m_rhoMax->value(), m_rho->value());
    r.retrain.admmUpdatesPerEpoch = m_updates->value();
    r.retrain.admmStages = m_stages->value();
    return r;
}

void RetrainPanel::start() {
    if (m_state != State::Idle) return;
    QString why;
    auto request = requestFromForm(&why);
    if (!request) {
        m_lastError = why;
        m_status->setText(why);
        emit finished(false, why);
        return;
    }
    // Each run keeps its checkpoint, history and result together, never over an earlier run.
    m_runFolder =
        QDir(m_runsFolder)
            .filePath(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss-zzz")));
    if (!QDir().mkpath(m_runFolder)) {
        m_lastError = tr("Cannot create the run folder %1").arg(m_runFolder);
        m_status->setText(m_lastError);
        emit finished(false, m_lastError);
        return;
    }
    request->options.checkpointPath =
        QDir(m_runFolder).filePath(QStringLiteral("checkpoint.pt")).toStdString();
    clearCharts();
    run(std::move(*request), false);
    m_followRun = true;
    scrollToRun();
}

void RetrainPanel::scrollToRun() {
    // The buttons at the top: below them the progress and the charts the run fills.
    if (QLayout* layout = m_scroll->widget()->layout()) layout->activate();
    const int top = m_start->mapTo(m_scroll->widget(), QPoint(0, 0)).y();
    m_scroll->verticalScrollBar()->setValue(std::max(0, top - 6));
}

void RetrainPanel::resume() {
    if (!canResume()) return;
    clearCharts();  // the checkpoint's history comes back through onRecord
    run(*m_lastRequest, true);
    m_followRun = true;
    scrollToRun();
}

void RetrainPanel::pause() {
    if (!m_control || (m_state != State::Running && m_state != State::Paused)) return;
    bool paused = false;
    {
        const std::lock_guard lock(m_control->mutex);
        m_control->paused = !m_control->paused;
        paused = m_control->paused;
    }
    m_control->resumed.notify_all();
    setState(paused ? State::Paused : State::Running);
}

void RetrainPanel::stop() {
    if (!m_control || m_state == State::Idle) return;
    m_control->cancel = true;
    {
        const std::lock_guard lock(m_control->mutex);
        m_control->paused = false;
    }
    m_control->resumed.notify_all();
    setState(State::Stopping);
}

void RetrainPanel::run(RetrainRequest request, bool resume) {
    m_lastRequest = request;
    m_lastError.clear();
    auto control = std::make_shared<Control>();
    m_control = control;
    const bool distilling = request.data.rfind("frames:", 0) == 0;
    m_metricChart->setTitle(distilling ? tr("PSNR against the dense model (dB)")
                                       : tr("Accuracy (held-out)"));
    QString layerName;
    if (m_watchLayer >= 0 && m_watchLayer < static_cast<int>(m_session->layers().size()))
        layerName =
            QString::fromStdString(m_session->layers()[static_cast<size_t>(m_watchLayer)].name);

    // Callbacks run on the worker: they post to this panel, which Qt skips once it is gone.
    request.options.cancel = &control->cancel;
    request.options.progress = [this, control](const engine::train::TrainProgress& p) {
        {
            std::unique_lock lock(control->mutex);
            control->resumed.wait(lock, [&] { return !control->paused || control->cancel; });
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - control->lastPost < kProgressInterval && p.step != p.steps) return;
        control->lastPost = now;
        QMetaObject::invokeMethod(
            this, [this, p] { onProgress(p); }, Qt::QueuedConnection);
    };
    request.options.onRecord = [this](const engine::train::IterationRecord& r) {
        QMetaObject::invokeMethod(
            this, [this, r] { onRecord(r); }, Qt::QueuedConnection);
    };
    request.options.watchLayer = m_watchLayer;
    request.options.onAdmmUpdate = [this, layerName](const engine::train::AdmmSnapshot& s) {
        QMetaObject::invokeMethod(
            this, [this, s, layerName] { m_animation->addSnapshot(s, layerName); },
            Qt::QueuedConnection);
    };
    request.resume = resume;

    auto* watcher = new QFutureWatcher<std::shared_ptr<engine::Result<RetrainOutcome>>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, resume] {
        watcher->deleteLater();
        onDone(watcher->result(), resume);
    });
    m_status->setText(resume ? tr("Resuming from the checkpoint...") : tr("Opening the data..."));
    m_progress->setValue(0);
    setState(State::Running);
    watcher->setFuture(QtConcurrent::run([fn = m_retrainer, request = std::move(request)] {
        return std::make_shared<engine::Result<RetrainOutcome>>(fn(request));
    }));
}

void RetrainPanel::onProgress(const engine::train::TrainProgress& p) {
    const double done = p.steps ? static_cast<double>(p.step) / static_cast<double>(p.steps) : 0;
    m_progress->setValue(static_cast<int>(done * 1000));
    const double left = done > 0 ? p.secondsElapsed * (1 - done) / done : -1;
    if (m_state == State::Running) {
        m_status->setText(tr("%1: epoch %2 of %3, step %4 of %5, loss %6, %7 left")
                              .arg(QString::fromStdString(p.phase))
                              .arg(p.epoch + 1)
                              .arg(p.epochs)
                              .arg(p.step)
                              .arg(p.steps)
                              .arg(p.loss, 0, 'g', 4)
                              .arg(formatSeconds(left)));
    }
    if (std::isfinite(p.loss)) {
        auto* x = qobject_cast<QValueAxis*>(m_loss->attachedAxes().at(0));
        auto* y = qobject_cast<QValueAxis*>(m_loss->attachedAxes().at(1));
        bool first = m_loss->count() == 0;
        bool firstY = first;
        extend(x, static_cast<double>(p.step), first);
        extend(y, p.loss, firstY);
        m_loss->append(static_cast<double>(p.step), p.loss);
    }
}

void RetrainPanel::onRecord(const engine::train::IterationRecord& r) {
    if (std::isfinite(r.metric) && r.metric != 0) {
        auto* x = qobject_cast<QValueAxis*>(m_metric->attachedAxes().at(0));
        auto* y = qobject_cast<QValueAxis*>(m_metric->attachedAxes().at(1));
        bool first = m_metric->count() == 0;
        bool firstY = first;
        extend(x, static_cast<double>(r.step), first);
        extend(y, r.metric, firstY);
        m_metric->append(static_cast<double>(r.step), r.metric);
    }
    if (r.admmIteration < 0) return;
    const double primal = norm(r.primal), dual = norm(r.dual);
    const double x = r.admmIteration + 1;
    // Log axes cannot show zero: the first dual residual (no previous Z) is left out.
    if (primal > 0) m_primal->append(x, primal);
    if (dual > 0) m_dual->append(x, dual);
    if (r.rho > 0) {
        // Within a stage rho only grows: a fall is the next stage starting over.
        if (m_rhoSeries->count() > 0 &&
            r.rho < m_rhoSeries->at(m_rhoSeries->count() - 1).y() * 0.999) {
            m_stageStarts->append(x, r.rho);
            for (QLegendMarker* marker : m_admmChart->legend()->markers(m_stageStarts))
                marker->setVisible(true);
        }
        m_rhoSeries->append(x, r.rho);
    }
    auto* xAxis = qobject_cast<QValueAxis*>(m_primal->attachedAxes().at(0));
    xAxis->setRange(1, std::max(2.0, x));
    // About ten labelled ticks however many updates (20 would overlap on a narrow chart).
    xAxis->setTickInterval(std::max(1.0, std::ceil(x / 10)));
    double lo = 0, hi = 0;
    for (QLineSeries* s : {m_primal, m_dual}) {
        for (const QPointF& pt : s->points()) {
            lo = lo == 0 ? pt.y() : std::min(lo, pt.y());
            hi = std::max(hi, pt.y());
        }
    }
    if (hi > 0) m_primal->attachedAxes().at(1)->setRange(lo / 2, hi * 2);
    if (r.rho > 0) {
        double rlo = r.rho, rhi = r.rho;
        for (const QPointF& pt : m_rhoSeries->points()) {
            rlo = std::min(rlo, pt.y());
            rhi = std::max(rhi, pt.y());
        }
        m_rhoSeries->attachedAxes().at(1)->setRange(rlo / 2, rhi * 2);
    }
}

void RetrainPanel::onDone(std::shared_ptr<engine::Result<RetrainOutcome>> outcome, bool resumed) {
    const bool cancelled = m_control && m_control->cancel;
    m_control.reset();
    setState(State::Idle);
    if (!outcome->ok()) {
        const engine::Error& e = outcome->error();
        m_lastError = cancelled ? tr("Stopped. Resume continues from the last checkpoint.")
                                : tr("Retraining failed: %1").arg(errorText(e));
        m_status->setText(m_lastError);
        updateEnabled();
        emit finished(false, m_lastError);
        return;
    }
    const RetrainOutcome& o = outcome->value();
    const RetrainRequest request = *m_lastRequest;
    // The weights are what the person made: save them with the run before anything else.
    const QString plab = QDir(m_runFolder).filePath(QStringLiteral("retrained.plab"));
    auto pruned = engine::prune::applyPlan(o.result.model, request.plan);
    engine::Status saved = pruned.ok()
                               ? engine::prune::savePlabFile(pruned.value(), plab.toStdString())
                               : engine::Status(pruned.error());
    if (!saved.ok()) {
        m_lastError =
            tr("Retrained, but could not save %1: %2").arg(plab, errorText(saved.error()));
        m_status->setText(m_lastError);
        updateEnabled();
        emit finished(false, m_lastError);
        return;
    }
    QFile csv(QDir(m_runFolder).filePath(QStringLiteral("history.csv")));
    if (csv.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        QTextStream out(&csv);
        out << "phase,epoch,step,admm_iteration,loss,metric,rho,density,primal,dual\n";
        for (const auto& r : o.result.history) {
            out << QString::fromStdString(r.phase) << ',' << r.epoch << ',' << r.step << ','
                << r.admmIteration << ',' << r.loss << ',' << r.metric << ',' << r.rho << ','
                << r.density << ',' << norm(r.primal) << ',' << norm(r.dual) << '\n';
        }
    }
    const QString method = methodName(request.retrain.method);
    std::optional<double> accuracy, psnr;
    const bool measured = !o.result.history.empty() && o.result.metric != 0;
    if (measured) (o.distilled ? psnr : accuracy) = o.result.metric;
    m_experiments->adoptRetrained(o.result.model, request.plan, method, plab, accuracy, psnr);
    m_progress->setValue(1000);
    const QString metric =
        !measured     ? tr("no held-out data to measure on")
        : o.distilled ? tr("PSNR against the dense model %1 dB").arg(o.result.metric, 0, 'f', 2)
                      : tr("held-out accuracy %1%").arg(100 * o.result.metric, 0, 'f', 2);
    m_status->setText(tr("%1%2: %3 steps in %4; %5. Saved to %6")
                          .arg(method, resumed ? tr(" (resumed)") : QString())
                          .arg(o.result.steps)
                          .arg(formatSeconds(o.result.seconds), metric, plab));
    m_lastRequest.reset();  // finished: nothing left to resume
    updateEnabled();
    emit finished(true, m_status->text());
}

void RetrainPanel::clearCharts() {
    for (QXYSeries* s : std::initializer_list<QXYSeries*>{m_loss, m_metric, m_primal, m_dual,
                                                          m_rhoSeries, m_stageStarts})
        s->clear();
    // The legend names the stage mark only in runs that have one.
    for (QLegendMarker* marker : m_admmChart->legend()->markers(m_stageStarts))
        marker->setVisible(false);
    m_animation->clear();
}

void RetrainPanel::setState(State state) {
    if (m_state == state) return;
    m_state = state;
    m_pause->setText(state == State::Paused ? tr("Continue") : tr("Pause"));
    if (state == State::Paused) m_status->setText(tr("Paused."));
    if (state == State::Stopping) m_status->setText(tr("Stopping after this step..."));
    updateEnabled();
    emit stateChanged(state);
}

void RetrainPanel::updateEnabled() {
    const bool idle = m_state == State::Idle;
    m_unavailable->setVisible(!m_retrainer);
    if (!m_retrainer)
        m_unavailable->setText(
            tr("Retraining needs libtorch, and this build of PruneLab was made without it."));
    const bool ready =
        m_retrainer && m_session->hasModel() && m_session->currentPlan() && !m_session->isBusy();
    m_start->setEnabled(idle && ready);
    m_pause->setEnabled(m_state == State::Running || m_state == State::Paused);
    m_stop->setEnabled(m_state == State::Running || m_state == State::Paused);
    m_resume->setEnabled(canResume() && ready);
    for (QWidget* w : std::initializer_list<QWidget*>{m_data, m_method, m_epochs, m_fineTune,
                                                      m_steps, m_limit, m_batch, m_lr, m_rho,
                                                      m_rhoMul, m_rhoMax, m_updates, m_stages})
        w->setEnabled(idle && m_retrainer);
    if (idle && m_retrainer && m_session->hasModel() && !m_session->currentPlan() &&
        m_lastError.isEmpty())
        m_status->setText(tr("Apply a pruning plan, then retrain to win back what it removed."));
}

}  // namespace prunelab::views

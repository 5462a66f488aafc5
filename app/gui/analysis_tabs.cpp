// The window's analysis tabs (see analysis_tabs.h).
#include "app/gui/analysis_tabs.h"

#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "app/gui/view_registry.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/compile.h"
#include "views/common/engine_text.h"
#include "views/compare/compare_view.h"
#include "views/kernels/kernels_view.h"
#include "views/model/layer_text.h"
#include "views/patterns/pattern_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/sparsity/density_strip.h"
#include "views/sparsity/sparsity_view.h"
#include "views/speed/speed_view.h"

namespace prunelab::gui {

namespace cg = engine::codegen;

namespace {

// Page 0 of every tab: what to do to see something, instead of a dense model's empty pictures.
QLabel* placeholder(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setAlignment(Qt::AlignCenter);
    label->setWordWrap(true);
    label->setMargin(24);
    return label;
}

// Two views side by side where the tab is wide enough for both at their minimum widths, one
// above the other where it is not (beside the layer table on a 1024-pixel screen).
class SideBySideOrStacked : public QSplitter {
  public:
    using QSplitter::QSplitter;

    // Stacked is the smallest it can be: no wider than its widest view.
    QSize minimumSizeHint() const override {
        QSize size(0, 0);
        for (int i = 0; i < count(); ++i) {
            const QSize m = widget(i)->minimumSizeHint();
            size.setWidth(std::max(size.width(), m.width()));
            size.rheight() += m.height() + (i > 0 ? handleWidth() : 0);
        }
        return size;
    }

  protected:
    void resizeEvent(QResizeEvent* event) override {
        int sideBySide = 0;
        for (int i = 0; i < count(); ++i)
            sideBySide += widget(i)->minimumSizeHint().width() + (i > 0 ? handleWidth() : 0);
        const Qt::Orientation fits = width() >= sideBySide ? Qt::Horizontal : Qt::Vertical;
        if (orientation() != fits) {
            setOrientation(fits);
            // Halves: the widths kept as heights would follow the views' size hints instead.
            setSizes(QList<int>(count(), 1 << 16));
        }
        QSplitter::resizeEvent(event);
    }
};

// What a compile or measure job hands back: the model and which kernels it was decided with,
// or why there is none, as text the tab shows (errors are read on the UI thread, after the job).
struct CompileResult {
    std::shared_ptr<const cg::SparseModel> model;
    QString kernels;
    QString error;
};

// The one compile pipeline on the CPU backend (the workbench times this machine), as the job's
// result.
CompileResult compileOnCpu(const engine::prune::PrunedModel& pruned,
                           const engine::CompileForOptions& options) {
    CompileResult r;
    auto compiled = engine::compileFor(engine::defaultBackend(), pruned, options);
    if (compiled.ok()) {
        r.model = compiled->model;
        r.kernels = QString::fromStdString(compiled->kernels);
    } else {
        r.error = views::errorText(compiled.error());
    }
    return r;
}

}  // namespace

struct AnalysisTabs::GpuKernels {
    QString device;                 // "GPU through Vulkan: <device>"; empty when there is none
    QString unavailable;            // why there is no GPU code at all (no GPU here, prepare failed)
    std::vector<std::string> glsl;  // per graph node: the shader that computes it ("": none)
    std::vector<QString> why;       // per graph node without a shader: why, in words
    std::vector<std::pair<QString, QString>> fallbacks;  // (node, reason): what the CPU runs
};

namespace {

// Prepares the compiled model on the GPU backend (which compiles its shaders: seconds on a CPU
// emulation) to read what it would run where. Any thread; reads only its arguments.
AnalysisTabs::GpuKernels gpuKernelsOf(const engine::Graph& graph,
                                      std::shared_ptr<const cg::SparseModel> sparse) {
    AnalysisTabs::GpuKernels g;
    auto backend = engine::findBackend("vulkan");
    if (!backend.ok()) {
        g.unavailable = AnalysisTabs::tr("This build has no GPU backend: %1")
                            .arg(views::errorText(backend.error()));
        return g;
    }
    const engine::Status ok = (*backend)->available();
    if (!ok.ok()) {
        g.unavailable = AnalysisTabs::tr("No GPU here (the layer runs on the CPU): %1")
                            .arg(QString::fromStdString(ok.error().message));
        return g;
    }
    const std::string_view title = (*backend)->title();
    g.device = QStringLiteral("%1: %2").arg(
        QString::fromUtf8(title.data(), static_cast<qsizetype>(title.size())),
        QString::fromStdString((*backend)->describe().device));
    engine::PrepareOptions options;
    options.sparse = std::move(sparse);
    auto exec = (*backend)->prepare(graph, options);
    if (!exec.ok()) {
        g.unavailable = AnalysisTabs::tr("The GPU's shaders could not be prepared: %1")
                            .arg(views::errorText(exec.error()));
        return g;
    }
    std::map<std::string, size_t> nodeOf;
    for (size_t i = 0; i < graph.nodes.size(); ++i) nodeOf.emplace(graph.describeNode(i), i);
    g.glsl.resize(graph.nodes.size());
    g.why.resize(graph.nodes.size());
    for (auto& [node, source] : (*exec)->kernelSources()) {
        auto it = nodeOf.find(node);
        if (it != nodeOf.end()) g.glsl[it->second] = std::move(source);
    }
    for (const engine::KernelChoice& k : (*exec)->kernelReport()) {
        auto it = nodeOf.find(k.node);
        if (it == nodeOf.end() || !g.glsl[it->second].empty()) continue;
        const std::string fused = "fused into ";
        if (k.kernel.rfind(fused, 0) == 0) {
            g.why[it->second] = AnalysisTabs::tr(
                                    "The GPU computes this node inside the shader of "
                                    "%1 (select that layer to read it).")
                                    .arg(QString::fromStdString(k.kernel.substr(fused.size())));
        } else {
            g.why[it->second] = AnalysisTabs::tr("This node runs on the CPU, not the GPU: %1.")
                                    .arg(QString::fromStdString(k.reason));
            g.fallbacks.emplace_back(QString::fromStdString(k.node),
                                     QString::fromStdString(k.reason));
        }
    }
    return g;
}

}  // namespace

// The newest progress of a running measure's compile (engine::CompileForOptions::onProgress).
struct AnalysisTabs::MeasureProgress {
    int runs = 0, threads = 0;  // what the measure times with, for the line
    std::mutex mutex;
    std::optional<engine::CompileProgress> latest;
};

AnalysisTabs::AnalysisTabs(views::ModelSession* session, views::ExperimentLog* log, QWidget* parent)
    : QTabWidget(parent),
      m_session(session),
      m_sparsityStack(new QStackedWidget(this)),
      m_patternsStack(new QStackedWidget(this)),
      m_kernelsStack(new QStackedWidget(this)),
      m_speedStack(new QStackedWidget(this)),
      m_kernelsWaiting(placeholder(QString(), this)),
      m_sparsity(new views::SparsityView(this)),
      m_strip(new views::DensityStrip(this)),
      m_layerPatterns(new views::PatternView(this)),
      m_modelPatterns(new views::PatternView(this)),
      m_kernels(new views::KernelsView(this)),
      m_speed(new views::SpeedView(this)),
      m_measureButton(new QPushButton(tr("Measure"), this)),
      m_measureBusy(new QProgressBar(this)),
      m_measureStatus(new QLabel(this)) {
    m_measurePoll = new QTimer(this);
    m_measurePoll->setInterval(100);
    connect(m_measurePoll, &QTimer::timeout, this, &AnalysisTabs::showMeasureProgress);
    // The pages, from the view list in its order (each factory builds one of the makers below).
    const ViewHost host{this, session, log};
    for (const ViewInfo& view : workbenchViews()) {
        if (view.place != ViewPlace::Tab) continue;
        if (QWidget* page = view.make(host)) {
            m_pages.insert(QString::fromLatin1(view.name), page);
            addTab(page, viewTitle(view));
        }
    }

    connect(m_strip, &views::DensityStrip::layerSelected, this, &AnalysisTabs::layerClicked);
    connect(m_speed, &views::SpeedView::layerSelected, this, [this](int index) {
        if (!m_compiled) return;
        for (const cg::LayerCode& code : m_compiled->layers) {
            if (code.index != index) continue;
            const int layer = prunableOfNode(code.node);
            if (layer >= 0) emit layerClicked(layer);
        }
    });
    connect(m_measureButton, &QPushButton::clicked, this, [this] { measure(m_measureRuns); });
    connect(m_session, &views::ModelSession::planApplied, this, &AnalysisTabs::planChanged);
    connect(m_session, &views::ModelSession::modelLoaded, this, [this] {
        m_layer = -1;  // the table's rows are a new model's
        planChanged();
    });
}

// Page 0 of a tab's stack: what to do to see `what`.
QLabel* AnalysisTabs::applyPlanFirst(const QString& what) {
    return placeholder(tr("Apply a plan (the Prune panel) to see %1.").arg(what), this);
}

QWidget* AnalysisTabs::makeSparsityPage() {
    auto* sparsityPage = new QWidget(this);
    auto* sparsityLayout = new QVBoxLayout(sparsityPage);
    sparsityLayout->setContentsMargins(0, 0, 0, 0);
    sparsityLayout->addWidget(m_sparsity, 1);
    sparsityLayout->addWidget(m_strip);
    m_sparsityStack->addWidget(applyPlanFirst(tr("which weights each layer keeps")));
    m_sparsityStack->addWidget(sparsityPage);
    return m_sparsityStack;
}

QWidget* AnalysisTabs::makePatternsPage() {
    auto* patterns = new SideBySideOrStacked(Qt::Horizontal, this);
    patterns->addWidget(m_layerPatterns);
    patterns->addWidget(m_modelPatterns);
    m_patternsStack->addWidget(applyPlanFirst(tr("the kernel patterns it uses")));
    m_patternsStack->addWidget(patterns);
    return m_patternsStack;
}

QWidget* AnalysisTabs::makeKernelsPage() {
    m_kernelsStack->addWidget(applyPlanFirst(tr("what the sparse compiler makes")));
    m_kernelsStack->addWidget(m_kernelsWaiting);
    m_kernelsStack->addWidget(m_kernels);
    return m_kernelsStack;
}

QWidget* AnalysisTabs::makeSpeedPage() {
    auto* speedPage = new QWidget(this);
    auto* speedLayout = new QVBoxLayout(speedPage);
    speedLayout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    m_measureBusy->setRange(0, 0);  // busy, not progress: the measure reports no steps
    m_measureBusy->setMaximumWidth(160);
    m_measureBusy->hide();
    m_measureStatus->setText(
        tr("Timings take a while: press Measure to time every compiled layer on this machine."));
    m_measureStatus->setWordWrap(true);  // one line is wider than the tab on a small screen
    bar->addWidget(m_measureButton);
    bar->addWidget(m_measureBusy);
    bar->addWidget(m_measureStatus, 1);
    speedLayout->addLayout(bar);
    speedLayout->addWidget(m_speed, 1);
    m_speedStack->addWidget(applyPlanFirst(tr("whether the pruned layers run faster")));
    m_speedStack->addWidget(speedPage);
    return m_speedStack;
}

QWidget* AnalysisTabs::makeComparePage(views::ExperimentLog* log) {
    m_compare = new views::CompareView(log, this);
    return m_compare;
}

AnalysisTabs::~AnalysisTabs() {
    if (m_measureCancel) m_measureCancel->store(true);
}

QString AnalysisTabs::measureStatus() const {
    return m_measureStatus->text();
}

void AnalysisTabs::setMeasureSettings(int threads, int runs) {
    m_measureThreads = std::max(1, threads);
    m_measureRuns = std::max(1, runs);
}

bool AnalysisTabs::canMeasure() const {
    return m_compiled && m_session->hasModel() && m_session->state().pruned && m_measureJobs == 0;
}

QWidget* AnalysisTabs::page(const QString& name) const {
    return m_pages.value(name, nullptr);
}

int AnalysisTabs::prunableOfNode(int node) const {
    const auto& layers = m_session->layers();
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i].node == node) return static_cast<int>(i);
    return -1;
}

const cg::LayerCode* AnalysisTabs::codeOf(int layer) const {
    if (!m_compiled || layer < 0 || layer >= static_cast<int>(m_session->layers().size()))
        return nullptr;
    const int node = m_session->layers()[static_cast<size_t>(layer)].node;
    for (const cg::LayerCode& code : m_compiled->layers)
        if (code.node == node) return &code;
    return nullptr;
}

void AnalysisTabs::jobDone(int& counter) {
    --counter;
    if (!isBusy()) emit idle();
}

void AnalysisTabs::planChanged() {
    ++m_planGeneration;
    m_compiled.reset();
    ++m_gpuRequest;  // a GPU job still running is for the old plan
    m_gpu.reset();
    const bool pruned = m_session->hasModel() && m_session->state().pruned.has_value();
    const int page = pruned ? 1 : 0;
    m_sparsityStack->setCurrentIndex(page);
    m_patternsStack->setCurrentIndex(page);
    m_kernelsStack->setCurrentIndex(page);
    m_speedStack->setCurrentIndex(page);
    m_measureButton->setEnabled(false);
    m_speed->setData({});
    // The running measure is an older plan's: stop its compilers; its result is dropped.
    if (m_measureCancel) m_measureCancel->store(true);
    if (!isMeasuring()) {
        m_measureStatus->setText(tr(
            "Timings take a while: press Measure to time every compiled layer on this machine."));
    }
    if (!pruned) {
        showLayer();
        return;
    }
    const views::PruneState& state = m_session->state();
    m_strip->setData(views::densityStripFromStats(state.stats));
    m_modelPatterns->setData(views::patternDataFromModel(state.stats, *state.pruned));
    m_kernelsWaiting->setText(tr("Compiling the pruned model..."));
    showLayer();

    const quint64 generation = m_planGeneration;
    auto* watcher = new QFutureWatcher<CompileResult>(this);
    connect(watcher, &QFutureWatcher<CompileResult>::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        const CompileResult r = watcher->result();
        if (generation == m_planGeneration) {
            if (r.model) {
                m_compiled = r.model;
                m_speed->setData(views::speedDataFromMeasure(*m_compiled));
                m_measureButton->setEnabled(true);
                showLayer();
                startGpuKernels();
            } else {
                m_kernelsWaiting->setText(tr("The sparse compiler failed: %1").arg(r.error));
            }
        }
        jobDone(m_compileJobs);
    });
    ++m_compileJobs;
    // A PrunedModel copy shares its graph's tensors; the session's state is never touched from
    // the worker, and undo may drop it meanwhile.
    // The pipeline's first steps only (analyse -> choose -> pack -> reorder): quick, and what
    // the Kernels tab shows until a measure replaces it with the decision on this machine.
    engine::CompileForOptions options;
    options.generate = false;
    options.measure = false;
    watcher->setFuture(QtConcurrent::run(
        [pruned = *state.pruned, options] { return compileOnCpu(pruned, options); }));
}

void AnalysisTabs::selectLayer(int layer) {
    if (layer == m_layer) return;
    m_layer = layer;
    showLayer();
}

void AnalysisTabs::showLayer() {
    ++m_kernelsRequest;
    const bool pruned = m_session->hasModel() && m_session->state().pruned.has_value();
    const int count = pruned ? static_cast<int>(m_session->state().pruned->layers.size()) : 0;
    if (!pruned || m_layer < 0 || m_layer >= count) {
        m_strip->setSelectedLayer(-1);
        m_sparsity->setData({});
        m_layerPatterns->setData({});
        if (pruned) {
            m_kernelsWaiting->setText(tr("Select a layer in the table or the density strip."));
            m_kernelsStack->setCurrentIndex(1);
        }
        return;
    }
    const views::PruneState& state = m_session->state();
    const auto& lp = state.pruned->layers[static_cast<size_t>(m_layer)];
    m_strip->setSelectedLayer(m_layer);
    // The names as the layer table shows them: without the prefix every layer shares.
    std::vector<std::string> names;
    for (const auto& layer : state.pruned->layers) names.push_back(layer.layer.name);
    const QString prefix = views::sharedNamePrefix(names);
    m_sparsity->setData(views::sparsityDataFromLayer(lp, prefix));
    fitMaps();
    // By name: the statistics need not list the layers in the same order.
    for (const engine::prune::LayerStats& stats : state.stats.layers) {
        if (stats.name == lp.layer.name) {
            views::PatternData patterns = views::patternDataFromLayer(stats, lp.projection);
            patterns.title = views::shortLayerName(stats.name, prefix).toStdString();
            m_layerPatterns->setData(std::move(patterns));
            break;
        }
    }
    if (!m_compiled) {
        m_kernelsStack->setCurrentIndex(1);  // the compile's message stays
        return;
    }
    const cg::LayerCode* code = codeOf(m_layer);
    if (!code) {
        m_kernelsWaiting->setText(
            tr("%1 is not among the compiled layers.").arg(QString::fromStdString(lp.layer.name)));
        m_kernelsStack->setCurrentIndex(1);
        m_speed->selectLayer(-1);
        return;
    }
    m_speed->selectLayer(code->index);
    startKernels(*code);
}

void AnalysisTabs::startKernels(const cg::LayerCode& code) {
    m_kernelsWaiting->setText(
        tr("Generating the code of %1...").arg(QString::fromStdString(code.name)));
    m_kernelsStack->setCurrentIndex(1);
    const quint64 request = m_kernelsRequest;
    auto* watcher = new QFutureWatcher<std::shared_ptr<views::KernelsData>>(this);
    connect(watcher, &QFutureWatcher<std::shared_ptr<views::KernelsData>>::finished, this,
            [this, watcher, request] {
                watcher->deleteLater();
                if (request == m_kernelsRequest) {
                    m_kernels->setData(std::move(*watcher->result()));
                    showGpuKernels();
                    m_kernelsStack->setCurrentIndex(2);
                }
                jobDone(m_kernelsJobs);
            });
    ++m_kernelsJobs;
    // The model is shared, so a newer plan replacing m_compiled cannot free the layer under us.
    watcher->setFuture(QtConcurrent::run([model = m_compiled, layer = &code] {
        return std::make_shared<views::KernelsData>(
            views::kernelsDataFromLayer(*layer, model->passes));
    }));
}

void AnalysisTabs::startGpuKernels() {
    if (!m_compiled || !m_session->state().pruned) return;
    const quint64 request = ++m_gpuRequest;
    m_gpu.reset();
    showGpuKernels();
    auto* watcher = new QFutureWatcher<std::shared_ptr<const GpuKernels>>(this);
    connect(watcher, &QFutureWatcher<std::shared_ptr<const GpuKernels>>::finished, this,
            [this, watcher, request] {
                watcher->deleteLater();
                if (request == m_gpuRequest) {
                    m_gpu = watcher->result();
                    showGpuKernels();
                }
                jobDone(m_gpuJobs);
            });
    ++m_gpuJobs;
    // Copies: the graph shares its tensors, the model is shared; the session may move on.
    watcher->setFuture(
        QtConcurrent::run([graph = m_session->state().pruned->graph, model = m_compiled] {
            return std::shared_ptr<const GpuKernels>(
                std::make_shared<GpuKernels>(gpuKernelsOf(graph, model)));
        }));
}

void AnalysisTabs::showGpuKernels() {
    views::KernelsGpu gpu;
    QString fallbacks, details;
    if (!m_gpu) {
        gpu.noSource = tr("Preparing the GPU's shaders for this model...").toStdString();
    } else if (!m_gpu->unavailable.isEmpty()) {
        gpu.noSource = m_gpu->unavailable.toStdString();
    } else {
        gpu.device = m_gpu->device.toStdString();
        const int node = m_kernels->data().layer.node;
        if (node >= 0 && static_cast<size_t>(node) < m_gpu->glsl.size()) {
            gpu.source = m_gpu->glsl[static_cast<size_t>(node)];
            gpu.noSource = m_gpu->why[static_cast<size_t>(node)].toStdString();
        }
        const size_t count = m_gpu->fallbacks.size();
        if (count == 0) {
            fallbacks = tr("On the %1, every node runs on the GPU.").arg(m_gpu->device);
        } else {
            // The first few in the view (a long list would push the bars away), all in the
            // tooltip.
            QStringList shown;
            for (size_t i = 0; i < count; ++i) {
                const auto& [where, reason] = m_gpu->fallbacks[i];
                const QString line = tr("%1 (%2)").arg(where, reason);
                if (i < 3) shown << line;
                details += line + QLatin1Char('\n');
            }
            if (count > 3) shown << tr("and %1 more (hover for all)").arg(count - 3);
            fallbacks = tr("On the %1, %2 node(s) run on the CPU instead: %3.")
                            .arg(m_gpu->device)
                            .arg(count)
                            .arg(shown.join(QStringLiteral("; ")));
        }
    }
    m_kernels->setGpu(std::move(gpu));
    m_speed->setGpuFallbacks(fallbacks, details.trimmed());
}

void AnalysisTabs::fitMaps() {
    m_sparsity->map()->zoomToFit();
}

void AnalysisTabs::measure(int runs) {
    if (!m_compiled || !m_session->state().pruned) return;
    if (m_measureJobs > 0) {
        // A cancelled measure ends when its compiler or timing step notices.
        m_measureStatus->setText(
            tr("Still timing (an earlier plan's measure may be ending); "
               "press Measure again when it ends."));
        return;
    }
    m_measureButton->setEnabled(false);
    m_measureBusy->show();
    m_measureStatus->setText(tr("Compiling the pruned model for this machine, then timing it "
                                "(%1 runs, %2 threads); the window stays usable.")
                                 .arg(runs)
                                 .arg(m_measureThreads));
    const quint64 generation = m_planGeneration;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto progress = std::make_shared<MeasureProgress>();
    progress->runs = runs;
    progress->threads = m_measureThreads;
    m_measureCancel = cancel;
    m_measureProgress = progress;
    m_measurePoll->start();
    auto* watcher = new QFutureWatcher<CompileResult>(this);
    connect(watcher, &QFutureWatcher<CompileResult>::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        m_measurePoll->stop();
        m_measureCancel.reset();
        m_measureProgress.reset();
        m_measureBusy->hide();
        const CompileResult r = watcher->result();
        if (generation == m_planGeneration) {
            m_measureButton->setEnabled(true);
            if (r.model) {
                // The measured decision is what runs: the Kernels tab shows it too.
                m_compiled = r.model;
                const views::SpeedData speed = views::speedDataFromMeasure(*r.model);
                m_speed->setData(speed);
                showLayer();
                startGpuKernels();
                m_measureStatus->setText(
                    tr("Measured on this machine with the %1; Measure again to retime.")
                        .arg(r.kernels));
                emit measured(speed.compiledTotalMs, speed.denseTotalMs);
            } else {
                m_measureStatus->setText(tr("The measure failed: %1").arg(r.error));
            }
        }
        jobDone(m_measureJobs);
    });
    ++m_measureJobs;
    engine::CompileForOptions options;
    options.generate = m_measureGenerated;
    options.measure = true;
    options.measureThreads = m_measureThreads;
    options.measureRuns = runs;
    options.kernelCache = m_kernelCache;
    options.cancel = cancel.get();
    options.onProgress = [progress](const engine::CompileProgress& p) {
        const std::lock_guard lock(progress->mutex);
        progress->latest = p;
    };
    // The job holds `cancel` (options.onProgress holds `progress`): the tabs may go, or start
    // another measure, before it ends.
    watcher->setFuture(QtConcurrent::run([pruned = *m_session->state().pruned, options, cancel] {
        (void)cancel;
        return compileOnCpu(pruned, options);
    }));
}

void AnalysisTabs::showMeasureProgress() {
    if (!m_measureProgress) return;
    std::optional<engine::CompileProgress> p;
    {
        const std::lock_guard lock(m_measureProgress->mutex);
        p = m_measureProgress->latest;
    }
    if (!p) return;
    if (p->step == engine::CompileProgress::Step::Compiling) {
        m_measureStatus->setText(tr("Building the generated kernels: %1 of %2 layers ready (%3 "
                                    "compiled, the others cached)...")
                                     .arg(p->done)
                                     .arg(p->total)
                                     .arg(p->built));
    } else {
        m_measureStatus->setText(tr("Timing the dense and the compiled model on this machine "
                                    "(%1 runs, %2 threads)...")
                                     .arg(m_measureProgress->runs)
                                     .arg(m_measureProgress->threads));
    }
}

}  // namespace prunelab::gui

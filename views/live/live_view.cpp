// The Live tab (see live_view.h): the engine's live pipeline on a worker thread, its newest
// frame shown by a timer, lane B rebuilt off the UI thread when the rate slider moves.
#include "views/live/live_view.h"

#include <algorithm>

#include <QApplication>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent>
#include <thread>

#include <pthread.h>

#include "engine/live/live_recorder.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/remote/adb.h"
#include "engine/runtime/remote/remote_backend.h"
#include "views/common/engine_text.h"
#include "views/live/live_pane.h"
#include "views/session/model_session.h"

namespace prunelab::views {

namespace live = engine::live;

namespace {

// The Target box's items. Whether a backend can run here is probed on a worker when the tab is
// built (opening a GPU takes 0.1 s or more); an available backend's tooltip is its device, from
// describe(), made the first time the tooltip is asked for (hovering over the list).
class TargetModel : public QStandardItemModel {
  public:
    using QStandardItemModel::QStandardItemModel;

    QVariant data(const QModelIndex& index, int role) const override {
        QVariant value = QStandardItemModel::data(index, role);
        if (role != Qt::ToolTipRole || value.isValid() || !index.isValid()) return value;
        const QString name = QStandardItemModel::data(index, Qt::UserRole).toString();
        auto it = m_described.find(name);
        if (it == m_described.end()) {
            auto backend = engine::findBackend(name.toStdString());
            // An unavailable backend's item carries its reason already; one not probed yet has
            // none to describe.
            if (!backend.ok() || !(flags(index) & Qt::ItemIsEnabled)) return value;
            it = m_described.insert(name, QString::fromStdString((*backend)->describe().device));
        }
        return *it;
    }

  private:
    mutable QHash<QString, QString> m_described;
};

constexpr int kPollMs = 30;
constexpr int kRateDebounceMs = 400;

QImage toQImage(const engine::Image& image) {
    if (image.empty()) return {};
    return QImage(image.rgb.data(), image.width, image.height, image.width * 3,
                  QImage::Format_RGB888)
        .copy();
}

bool isImageTask(engine::Task task) {
    return task == engine::Task::SuperResolution || task == engine::Task::Denoise;
}

QString fromView(std::string_view text) {
    return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

// The device a backend names, as a word in a sentence: "CPU", "GPU" (the first word of its
// title: "CPU (this computer)", "GPU through Vulkan"), "phone", "agent".
QString deviceWord(const engine::Backend& backend) {
    const QString first = fromView(backend.title()).section(QLatin1Char(' '), 0, 0);
    return first == first.toUpper() ? first : first.toLower();
}

// Where a lane runs, in the words its pane's title ends with, short enough for a pane on a small
// screen: "on the CPU", "on the GPU", "on the phone".
QString onDevice(const engine::Backend& backend) {
    return QObject::tr("on the %1").arg(deviceWord(backend));
}

// One phone adb sees, as a Target item: "Phone (Pixel 7)", phone:SERIAL, and why it cannot run
// (empty when it can).
struct PhoneTarget {
    QString title, name, why;
};

// What the worker finds about each backend (in backends() order): empty when it can run here,
// else why not; and each phone adb sees, for the phone backend's place in the list.
struct TargetProbe {
    QStringList why;
    QList<PhoneTarget> phones;
};

TargetProbe probeBackends() {
    TargetProbe probe;
    for (const engine::Backend* backend : engine::backends()) {
        const engine::Status ok = backend->available();
        probe.why << (ok.ok() ? QString() : QString::fromStdString(ok.error().message));
        if (backend->name() != engine::remote::phoneBackend().name()) continue;
        // Each phone by its model's name, so a class sees which phone runs; with none (or no
        // adb) the phone backend's own item says why.
        auto adb = engine::remote::findAdb();
        auto list = adb.ok() ? engine::remote::listPhones(*adb)
                             : engine::Result<engine::remote::PhoneList>(adb.error());
        if (!list.ok()) continue;
        for (const engine::remote::Phone& phone : list->phones) {
            if (phone.serial.empty()) continue;  // adb cannot pick it: see `prunelab-cli phones`
            PhoneTarget t;
            t.name = QStringLiteral("phone:%1").arg(QString::fromStdString(phone.serial));
            t.title = QObject::tr("Phone (%1)").arg(QString::fromStdString(phone.title()));
            auto one = engine::findBackend(t.name.toStdString());
            const engine::Status can = one.ok() ? (*one)->available() : engine::Status(one.error());
            if (!can.ok()) t.why = QString::fromStdString(can.error().message);
            probe.phones << t;
        }
    }
    return probe;
}

// A lane's numbers: its rate and latency; a remote lane's latency in its two parts, the device's
// own time and the link's ("phone 120 ms + link 8 ms").
QString laneNumbers(const live::LatencySummary& s, const live::LatencySummary& device,
                    const live::LatencySummary& link, const QString& word) {
    if (s.count == 0) return {};
    if (device.count > 0) {
        return QObject::tr("%1 fps · %2 %3 ms + link %4 ms")
            .arg(s.fps(), 0, 'f', 1)
            .arg(word)
            .arg(device.median, 0, 'f', 1)
            .arg(link.median, 0, 'f', 1);
    }
    return QObject::tr("%1 fps · %2 ms (p90 %3 ms)")
        .arg(s.fps(), 0, 'f', 1)
        .arg(s.median, 0, 'f', 1)
        .arg(s.p90, 0, 'f', 1);
}

}  // namespace

struct LiveView::Shown {
    QImage a, b, before;
    double aMs = 0, bMs = 0;
    live::LiveStats stats;
};

struct LiveView::Job {
    engine::CatalogEntry entry;
    engine::Graph dense;
    engine::Shape inputShape;
    // The session's pruned state (retrained weights included) or the bundled demo's, used when
    // the rate is its plan's own.
    std::optional<engine::prune::PrunedModel> pruned;
    bool demo = false;  // `pruned` is the bundled demo
    // Loads the demo on the worker when `pruned` is empty (LiveSetup::demoFor).
    std::function<engine::Result<engine::prune::PrunedModel>(const engine::CatalogEntry&,
                                                             const engine::Graph&)>
        demoFor;
    engine::prune::PruningPlan plan;
    double rate = -1;
    live::SourceSpec source;
    std::string bundled;
    int threads = 1;
    const engine::Backend* backend = nullptr;  // where PruneLab's lanes run; null: the CPU
    bool remote = false;      // `backend` runs on another device (a phone): its link may drop
    bool denseOnCpu = false;  // lane A on the CPU whatever the target: the CPU against the GPU
    bool generated = true, measured = true;
    std::string kernelCache;
    std::function<engine::Result<live::Lane>(const engine::Graph&, int)> reference;  // lane A

    // Lane B runs `pruned` (rather than the plan re-applied to the dense weights at `rate`).
    bool ownWeights() const {
        return pruned && (rate < 0 || std::abs(rate - live::planRate(plan)) < 1e-9);
    }
    // Lane A: ONNX Runtime, or PruneLab dense on the target (or on the CPU when asked); its name,
    // the pane's title, says where it runs (ONNX Runtime: the CPU).
    engine::Result<live::Lane> laneA() const {
        const engine::Backend& on =
            reference || denseOnCpu || !backend ? engine::defaultBackend() : *backend;
        auto a = reference ? reference(dense, threads) : live::denseLane(dense, threads, &on);
        if (a.ok())
            a->name = tr("%1 %2").arg(QString::fromStdString(a->name), onDevice(on)).toStdString();
        return a;
    }
    // Lane B's title, ending with where it runs.
    QString laneBTitle() const {
        return tr("%1 %2").arg(laneBName(),
                               onDevice(backend ? *backend : engine::defaultBackend()));
    }
    QString laneBName() const {
        if (ownWeights())
            return demo ? tr("Pruned and retrained (demo)") : tr("Pruned (the session's plan)");
        if (rate < 0) return tr("Pruned (patdnn-8, not retrained)");
        return demo ? tr("Pruned at %1% (not retrained)").arg(std::lround(rate * 100))
                    : tr("Pruned at %1%").arg(std::lround(rate * 100));
    }
    // Lane B at the job's rate: its own pruned weights when the rate is the plan's, else the
    // plan re-applied at that rate. Runs on the worker or a pool thread, twice at once when a
    // stand-in is built beside the generated lane: it only reads the job.
    static live::StagedLane::Build laneB(std::shared_ptr<const Job> job) {
        return [job](const live::CompiledLaneOptions& options) -> engine::Result<live::Lane> {
            if (job->ownWeights()) return live::compiledLane(*job->pruned, options);
            auto applied = engine::prune::applyPlan(
                job->dense, job->rate < 0 ? job->plan : live::planAtRate(job->plan, job->rate));
            if (!applied.ok()) return applied.error();
            return live::compiledLane(*applied, options);
        };
    }
    live::CompiledLaneOptions laneOptions(const std::atomic<bool>* cancel) const {
        live::CompiledLaneOptions options;
        options.compile.cancel = cancel;
        options.threads = threads;
        options.backend = backend;
        options.compile.generate = generated;
        options.compile.measure = measured;
        options.compile.kernelCache = kernelCache;
        return options;
    }
};

struct LiveView::Progress {
    bool active = false;
    QString stage;  // what is done before lane B compiles ("Loading the demo model…")
    std::optional<live::LaneProgress> lane;
    bool standIn = false;  // lane B runs on the generic kernels meanwhile
    int rebuildRate = -1;  // a slider rebuild to this rate (%), else -1
};

struct LiveView::Pending {
    std::shared_ptr<live::StagedLane> staged;
    std::shared_ptr<std::atomic<bool>> cancel;
    int generation = 0;
    QString title;
    // The device lane B runs on when it is not this computer ("phone"): what it waited for is
    // the measured decision there, which may find no layer faster sparse.
    QString remoteDevice;
};

LiveView::LiveView(ModelSession* session, LiveSetup setup, QWidget* parent)
    : QWidget(parent),
      m_session(session),
      m_setup(std::move(setup)),
      m_progress(std::make_unique<Progress>()) {
    buildUi();
    m_poll = new QTimer(this);
    m_poll->setInterval(kPollMs);
    connect(m_poll, &QTimer::timeout, this, &LiveView::poll);
    m_rateDebounce = new QTimer(this);
    m_rateDebounce->setSingleShot(true);
    m_rateDebounce->setInterval(kRateDebounceMs);
    connect(m_rateDebounce, &QTimer::timeout, this, &LiveView::rebuildLaneB);
    // A new model or plan: lane B would show the old one, so the demo stops and says why.
    auto changed = [this] {
        m_rate = -1;
        {
            std::lock_guard lock(m_mutex);
            m_demo.reset();  // another model's
        }
        if (m_session->hasModel() && m_session->state().pruned)
            showRate(live::planRate(m_session->state().pruned->plan));
        if (m_state != State::Idle) {
            stop();
            showMessage(tr("The model or plan changed: press Start to run the new one."));
        }
    };
    connect(m_session, &ModelSession::modelLoaded, this, changed);
    connect(m_session, &ModelSession::planApplied, this, changed);
}

LiveView::~LiveView() {
    m_stop = true;
    cancelBuilds();
    if (m_worker.joinable()) m_worker.join();
    for (QFuture<void>& f : m_rebuilds) f.waitForFinished();
    dropPending();
    std::lock_guard lock(m_mutex);
    if (m_recorder) (void)m_recorder->close();
}

void LiveView::buildUi() {
    auto* layout = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    m_sourceBox = new QComboBox(this);
    m_sourceBox->setObjectName(QStringLiteral("liveSource"));
    // Long names (a file's) elide rather than widen the window.
    m_sourceBox->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_sourceBox->setMinimumContentsLength(12);
    m_sourceBox->addItem(tr("Bundled video (vtest.avi)"), QStringLiteral("vtest.avi"));
    for (const live::CameraInfo& c : live::listCameras()) {
        m_sourceBox->addItem(tr("Camera %1 (%2, %3x%4)")
                                 .arg(c.index)
                                 .arg(QString::fromStdString(c.device))
                                 .arg(c.width)
                                 .arg(c.height),
                             QStringLiteral("camera:%1").arg(c.index));
    }
    m_sourceBox->addItem(tr("Video or picture file…"), QString());
    // A camera when there is one (the demo is about what the room sees), else the video.
    if (m_sourceBox->count() > 2) m_sourceBox->setCurrentIndex(1);
    connect(m_sourceBox, &QComboBox::activated, this, [this](int index) {
        if (!m_sourceBox->itemData(index).toString().isEmpty()) return;
        const QString file = QFileDialog::getOpenFileName(
            this, tr("Video or picture"), QString(),
            tr("Videos and pictures (*.avi *.mp4 *.mkv *.mov *.webm *.png *.jpg *.jpeg *.bmp);;"
               "All files (*)"));
        if (file.isEmpty()) {
            m_sourceBox->setCurrentIndex(0);
            return;
        }
        setSource(file);
    });
    auto* sourceLabel = new QLabel(tr("&Source"), this);
    sourceLabel->setBuddy(m_sourceBox);
    controls->addWidget(sourceLabel);
    controls->addWidget(m_sourceBox, 1);

    m_resolution = new QComboBox(this);
    m_resolution->setObjectName(QStringLiteral("liveResolution"));
    m_resolution->addItem(tr("Camera's own size"), QString());
    for (const char* size : {"320x240", "640x480", "1280x720"})
        m_resolution->addItem(QString::fromLatin1(size), QString::fromLatin1(size));
    m_resolution->setToolTip(
        tr("The size a camera captures at (videos and pictures keep theirs)."));
    auto cameraChosen = [this] {
        m_resolution->setEnabled(source().startsWith(QStringLiteral("camera:")));
    };
    connect(m_sourceBox, &QComboBox::currentIndexChanged, this, cameraChosen);
    cameraChosen();
    controls->addWidget(m_resolution);

    // The targets are the engine's backends (backend_list.inc); one that cannot run here is
    // listed greyed out with its reason, so a class sees what is coming.
    m_target = new QComboBox(this);
    m_target->setObjectName(QStringLiteral("liveTarget"));
    m_target->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_target->setMinimumContentsLength(8);
    m_target->setModel(new TargetModel(m_target));
    // Listed at once, every one but the default greyed out until the probe answers: asking a
    // backend (available()) may open a device, which must not stall the window's first paint.
    for (const engine::Backend* backend : engine::backends()) {
        const QString title = QString::fromUtf8(backend->title().data(),
                                                static_cast<qsizetype>(backend->title().size()));
        const QString name = QString::fromUtf8(backend->name().data(),
                                               static_cast<qsizetype>(backend->name().size()));
        m_target->addItem(title, name);
        if (backend == &engine::defaultBackend()) continue;
        if (auto* model = qobject_cast<QStandardItemModel*>(m_target->model())) {
            QStandardItem* item = model->item(m_target->count() - 1);
            item->setEnabled(false);
            item->setToolTip(tr("Checking whether it can run here..."));
        }
    }
    // The watcher is the tab's child: closed before the probe ends, nothing is posted back.
    auto* probe = new QFutureWatcher<TargetProbe>(this);
    connect(probe, &QFutureWatcher<TargetProbe>::finished, this, [this, probe] {
        probe->deleteLater();
        const TargetProbe found = probe->result();
        const QStringList& why = found.why;
        auto* model = qobject_cast<QStandardItemModel*>(m_target->model());
        auto mark = [this](QStandardItem* item, const QString& reason) {
            item->setEnabled(reason.isEmpty());
            // Available: no tooltip of its own, so TargetModel describes the device when asked.
            item->setData(reason.isEmpty() ? QVariant() : QVariant(reason), Qt::ToolTipRole);
            if (!reason.isEmpty()) item->setText(tr("%1: not available").arg(item->text()));
        };
        for (int i = 0; model && i < why.size() && i < m_target->count(); ++i)
            mark(model->item(i), why[i]);
        // The phones adb sees take the phone backend's place, one item each: "Phone (Pixel 7)".
        const int phone = m_target->findData(fromView(engine::remote::phoneBackend().name()));
        if (model && phone >= 0 && !found.phones.isEmpty()) {
            const QSignalBlocker block(m_target);
            model->removeRow(phone);
            for (int k = 0; k < found.phones.size(); ++k) {
                auto* item = new QStandardItem(found.phones[k].title);
                item->setData(found.phones[k].name, Qt::UserRole);
                model->insertRow(phone + k, item);
                mark(item, found.phones[k].why);
            }
        }
        m_targetsProbed = true;
        emit targetsProbed();
    });
    probe->setFuture(QtConcurrent::run(probeBackends));
    connect(m_target, &QComboBox::currentIndexChanged, this, [this] {
        if (m_state == State::Idle) return;
        stop();
        showMessage(tr("Target changed: press Start to run on it."));
    });
    m_reference = new QComboBox(this);
    m_reference->setObjectName(QStringLiteral("liveReference"));
    m_reference->addItem(tr("PruneLab dense"));
    m_reference->addItem(tr("ONNX Runtime dense"));
    m_reference->addItem(tr("PruneLab dense on the CPU"));
    m_reference->setToolTip(
        tr("The left lane: PruneLab's own dense runtime on the target, ONNX Runtime as an outside "
           "reference (to show the dense side is a fair baseline), or PruneLab dense on the CPU "
           "whatever the target (with the GPU as the target: the CPU against the GPU)."));
    if (!m_setup.onnxRuntimeLane) {
        if (auto* model = qobject_cast<QStandardItemModel*>(m_reference->model())) {
            model->item(1)->setEnabled(false);
            model->item(1)->setToolTip(tr("This build has no ONNX Runtime."));
        }
    }
    connect(m_reference, &QComboBox::currentIndexChanged, this, [this] {
        if (m_state == State::Idle) return;
        stop();
        showMessage(tr("Dense lane changed: press Start to run it."));
    });
    // The lanes' controls on a row of their own: beside the source they made the tab wider than
    // it is next to the layer table on a 1024-pixel screen.
    auto* laneControls = new QHBoxLayout;
    m_reference->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_reference->setMinimumContentsLength(8);
    auto* referenceLabel = new QLabel(tr("&Dense lane"), this);
    referenceLabel->setBuddy(m_reference);
    laneControls->addWidget(referenceLabel);
    laneControls->addWidget(m_reference, 1);

    auto* targetLabel = new QLabel(tr("&Target"), this);
    targetLabel->setBuddy(m_target);
    laneControls->addWidget(targetLabel);
    laneControls->addWidget(m_target, 1);

    m_threads = new QSpinBox(this);
    m_threads->setObjectName(QStringLiteral("liveThreads"));
    m_threads->setRange(1, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
    m_threads->setValue(std::min(2, m_threads->maximum()));
    m_threads->setToolTip(tr("Threads for each lane: both lanes always get the same number."));
    auto* threadsLabel = new QLabel(tr("T&hreads"), this);
    threadsLabel->setBuddy(m_threads);
    connect(m_threads, &QSpinBox::valueChanged, this, [this] {
        if (m_state == State::Idle) return;
        stop();
        showMessage(
            tr("Threads changed: press Start to run both lanes with %1.").arg(m_threads->value()));
    });
    laneControls->addWidget(threadsLabel);
    laneControls->addWidget(m_threads);

    m_startStop = new QPushButton(tr("Start"), this);
    m_startStop->setObjectName(QStringLiteral("liveStart"));
    connect(m_startStop, &QPushButton::clicked, this,
            [this] { m_state == State::Idle ? start() : stop(); });
    m_record = new QPushButton(tr("Record"), this);
    m_record->setObjectName(QStringLiteral("liveRecord"));
    m_record->setToolTip(tr("Save the side-by-side video and a CSV of every frame's timings."));
    m_record->setEnabled(false);
    connect(m_record, &QPushButton::clicked, this, &LiveView::onRecordClicked);
    m_fullScreen = new QPushButton(tr("Full Screen"), this);
    connect(m_fullScreen, &QPushButton::clicked, this, &LiveView::toggleFullScreen);
    layout->addLayout(controls);
    layout->addLayout(laneControls);

    auto* rateRow = new QHBoxLayout;
    m_rateSlider = new QSlider(Qt::Horizontal, this);
    m_rateSlider->setObjectName(QStringLiteral("liveRate"));
    m_rateSlider->setRange(0, 95);
    m_rateSlider->setValue(72);  // patdnn-8's connectivity, the default plan
    m_rateSlider->setToolTip(
        tr("How much lane B prunes. Moving it re-prunes and recompiles in the background; the "
           "video keeps running and the new model takes over when it is ready."));
    m_rateLabel = new QLabel(tr("%1%").arg(m_rateSlider->value()), this);
    m_rateLabel->setMinimumWidth(
        m_rateLabel->fontMetrics().horizontalAdvance(QStringLiteral("100%")));
    auto* rateLabel = new QLabel(tr("&Pruning rate"), this);
    rateLabel->setBuddy(m_rateSlider);
    connect(m_rateSlider, &QSlider::valueChanged, this, [this](int v) {
        m_rateLabel->setText(tr("%1%").arg(v));
        m_rate = v / 100.0;
        if (m_state == State::Running) m_rateDebounce->start();
    });
    // Two rows, so the tab fits beside the layer table on a 1280-pixel projector.
    rateRow->addWidget(m_startStop);
    rateRow->addWidget(m_record);
    rateRow->addWidget(m_fullScreen);
    rateRow->addSpacing(12);
    rateRow->addWidget(rateLabel);
    rateRow->addWidget(m_rateSlider, 1);
    rateRow->addWidget(m_rateLabel);
    layout->addLayout(rateRow);
    buildProgressRow(layout);

    auto* panes = new QHBoxLayout;
    m_paneA = new LivePane(tr("Dense"), this);
    m_paneB = new LivePane(tr("Pruned"), this);
    connect(m_paneA, &LivePane::splitMoved, m_paneB, &LivePane::setSplit);
    connect(m_paneB, &LivePane::splitMoved, m_paneA, &LivePane::setSplit);
    panes->addWidget(m_paneA);
    panes->addWidget(m_paneB);
    layout->addLayout(panes, 1);

    auto* numbers = new QHBoxLayout;
    m_speedup = new QLabel(this);
    m_speedup->setObjectName(QStringLiteral("liveSpeedup"));
    QFont big = m_speedup->font();
    big.setPointSizeF(big.pointSizeF() * 2.4);
    big.setBold(true);
    m_speedup->setFont(big);
    m_overhead = new QLabel(this);
    m_overhead->setWordWrap(true);
    numbers->addWidget(m_speedup);
    numbers->addWidget(m_overhead, 1);
    layout->addLayout(numbers);
    m_sparkline = new LatencySparkline(this);
    layout->addWidget(m_sparkline);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("liveStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);
    showMessage(
        tr("Press Start: the same frames go through the dense and the pruned model, one "
           "after the other, with the same threads."));
}

void LiveView::buildProgressRow(QVBoxLayout* layout) {
    // A wait of more than a second (the demo model loading, lane B's kernels compiling, the
    // measured decision) shows what is happening and how far it is; Stop cancels it.
    m_progressRow = new QWidget(this);
    m_progressRow->setObjectName(QStringLiteral("liveProgress"));
    auto* row = new QHBoxLayout(m_progressRow);
    row->setContentsMargins(0, 0, 0, 0);
    m_progressLabel = new QLabel(m_progressRow);
    m_progressLabel->setWordWrap(true);
    m_progressBar = new QProgressBar(m_progressRow);
    m_progressBar->setTextVisible(false);
    m_progressBar->setMaximumWidth(220);
    row->addWidget(m_progressLabel, 1);
    row->addWidget(m_progressBar);
    m_progressRow->hide();
    layout->addWidget(m_progressRow);
}

void LiveView::setSource(const QString& spec) {
    int index = m_sourceBox->findData(spec);
    if (index < 0) {
        m_sourceBox->insertItem(m_sourceBox->count() - 1, QFileInfo(spec).fileName(), spec);
        index = m_sourceBox->count() - 2;
    }
    m_sourceBox->setCurrentIndex(index);
}

QString LiveView::source() const {
    return m_sourceBox->currentData().toString();
}

void LiveView::setCameraResolution(const QString& wxh) {
    const int index = m_resolution->findData(wxh);
    m_resolution->setCurrentIndex(index < 0 ? 0 : index);
}

void LiveView::setThreads(int threads) {
    m_threads->setValue(threads);
}

bool LiveView::setTarget(const QString& name) {
    int index = m_target->findData(name);
    const auto* model = qobject_cast<QStandardItemModel*>(m_target->model());
    // "phone": the phone adb sees, once the probe has listed it as phone:SERIAL.
    const QString phone = fromView(engine::remote::phoneBackend().name());
    for (int i = 0; index < 0 && name == phone && model && i < m_target->count(); ++i) {
        if (m_target->itemData(i).toString().startsWith(phone + QLatin1Char(':')) &&
            model->item(i)->isEnabled())
            index = i;
    }
    if (index < 0 || !model || !model->item(index)->isEnabled()) return false;
    m_target->setCurrentIndex(index);
    return true;
}

void LiveView::setDenseLane(int choice) {
    if (choice == 1 && !m_setup.onnxRuntimeLane) choice = 0;
    m_reference->setCurrentIndex(std::clamp(choice, 0, m_reference->count() - 1));
}

void LiveView::setOnnxRuntimeReference(bool on) {
    m_reference->setCurrentIndex(on && m_setup.onnxRuntimeLane ? 1 : 0);
}

int LiveView::threads() const {
    return m_threads->value();
}

void LiveView::setPruningRate(double rate) {
    m_rateSlider->setValue(static_cast<int>(std::lround(std::clamp(rate, 0.0, 0.95) * 100)));
    m_rate = m_rateSlider->value() / 100.0;
}

double LiveView::pruningRate() const {
    return m_rateSlider->value() / 100.0;
}

live::LiveStats LiveView::stats() const {
    std::lock_guard lock(m_mutex);
    return m_pipeline ? m_pipeline->stats() : live::LiveStats{};
}

bool LiveView::isRecording() const {
    std::lock_guard lock(m_mutex);
    return m_recorder != nullptr;
}

QString LiveView::message() const {
    return m_status->text();
}

void LiveView::setState(State state) {
    if (m_state == state) return;
    m_state = state;
    m_startStop->setText(state == State::Idle ? tr("Start") : tr("Stop"));
    m_record->setEnabled(state == State::Running);
    m_sourceBox->setEnabled(state == State::Idle);
    m_reference->setEnabled(state == State::Idle);
    m_resolution->setEnabled(state == State::Idle &&
                             source().startsWith(QStringLiteral("camera:")));
    // Polled while preparing too: the progress of the compile shows as it goes.
    state == State::Idle ? m_poll->stop() : m_poll->start();
    if (state == State::Idle) {
        setProgress({});
        showProgress();
    }
    emit stateChanged(state);
}

void LiveView::showMessage(const QString& text) {
    m_status->setText(text);
}

std::optional<LiveView::Job> LiveView::makeJob(QString* why) const {
    if (!m_session->hasModel()) {
        *why = tr("Open a model first (File > Open, or a catalog model).");
        return std::nullopt;
    }
    std::optional<engine::CatalogEntry> entry =
        m_setup.entryFor ? m_setup.entryFor(m_session->source()) : std::nullopt;
    if (!entry) {
        *why = tr("%1 is not a catalog model, so the demo does not know how to feed it pictures "
                  "and draw its results. Open one from the catalog.")
                   .arg(QFileInfo(m_session->source()).fileName());
        return std::nullopt;
    }
    Job job;
    job.entry = *entry;
    job.dense = m_session->originalGraph();
    if (job.dense.inputs.size() != 1) {
        *why = tr("The live demo runs models with one picture input.");
        return std::nullopt;
    }
    job.inputShape = job.dense.value(job.dense.inputs[0]).shape;
    std::shared_ptr<const engine::prune::PrunedModel> demo;
    {
        std::lock_guard lock(m_mutex);
        demo = m_demo;
    }
    if (m_session->state().pruned) {
        job.pruned = m_session->state().pruned;
        job.plan = job.pruned->plan;
    } else if (m_setup.demoFor && entry->demo && demo) {
        job.pruned = *demo;
        job.plan = demo->plan;
        job.demo = true;
    } else {
        // The bundled retrained model is loaded on the worker the first time (a file read and
        // a checksum), then reused by the slider's rebuilds; patdnn-8 when there is none.
        if (m_setup.demoFor && entry->demo) job.demoFor = m_setup.demoFor;
        auto preset = engine::prune::presetPlan("patdnn-8");
        if (!preset.ok()) {
            *why = errorText(preset.error());
            return std::nullopt;
        }
        job.plan = *preset;
    }
    job.rate = m_rate;
    auto spec = live::parseSource(source().toStdString(), m_setup.bundledVideo.toStdString());
    if (!spec.ok()) {
        *why = errorText(spec.error());
        return std::nullopt;
    }
    job.source = *spec;
    const QStringList size = m_resolution->currentData().toString().split(QLatin1Char('x'));
    if (size.size() == 2) {
        job.source.width = size[0].toInt();
        job.source.height = size[1].toInt();
    }
    job.bundled = m_setup.bundledVideo.toStdString();
    job.threads = m_threads->value();
    auto backend = engine::findBackend(m_target->currentData().toString().toStdString());
    if (!backend.ok()) {
        *why = errorText(backend.error());
        return std::nullopt;
    }
    job.backend = *backend;
    job.remote = live::runsElsewhere(**backend);
    if (m_reference->currentIndex() == 1 && m_setup.onnxRuntimeLane)
        job.reference = m_setup.onnxRuntimeLane;
    job.denseOnCpu = m_reference->currentIndex() == 2;
    job.generated = m_generated;
    job.measured = m_measured;
    job.kernelCache = m_kernelCache;
    return job;
}

void LiveView::start() {
    if (m_state != State::Idle || m_worker.joinable()) return;
    QString why;
    std::optional<Job> job = makeJob(&why);
    if (!job) {
        showMessage(why);
        emit failed(why);
        return;
    }
    m_stop = false;
    m_framesShown = 0;
    m_swapsSeen = 0;
    m_sparkline->clear();
    const bool imageTask = isImageTask(job->entry.task);
    m_paneA->setSplitEnabled(imageTask);
    m_paneB->setSplitEnabled(imageTask);
    m_runDevice = job->backend && job->backend != &engine::defaultBackend()
                      ? onDevice(*job->backend)
                      : QString();
    m_runWord = job->backend ? deviceWord(*job->backend) : QString();
    m_paneA->setTitle(m_reference->currentText());
    m_paneB->setTitle(
        job->demoFor ? tr("Pruned and retrained (demo) %1")
                           .arg(onDevice(job->backend ? *job->backend : engine::defaultBackend()))
                     : job->laneBTitle());
    m_speedup->clear();
    m_overhead->clear();
    showMessage(tr("Preparing both lanes for %1 thread(s)…").arg(job->threads));
    setState(State::Preparing);
    auto shared = std::make_shared<Job>(std::move(*job));
    m_worker = std::thread([this, shared] {
        pthread_setname_np(pthread_self(), "pl-live");
        const QString error = runJob(shared);
        m_stop = true;  // the run is over: a rebuild still in flight swaps nothing in
        QMetaObject::invokeMethod(
            this, [this, error] { finishRun(error); }, Qt::QueuedConnection);
    });
}

QString LiveView::runJob(const std::shared_ptr<Job>& shared) {
    Job& j = *shared;
    if (j.demoFor && !j.pruned) {
        Progress loading;
        loading.active = true;
        loading.stage = tr("Loading the retrained demo model…");
        setProgress(loading);
        auto demo = j.demoFor(j.entry, j.dense);
        if (m_stop) return {};
        if (demo.ok()) {
            auto kept = std::make_shared<const engine::prune::PrunedModel>(std::move(*demo));
            j.pruned = *kept;
            j.plan = kept->plan;
            j.demo = true;
            const double rate = live::planRate(kept->plan);
            std::lock_guard lock(m_mutex);
            m_demo = kept;
            QMetaObject::invokeMethod(
                this, [this, rate] { showRate(rate); }, Qt::QueuedConnection);
        } else {
            std::lock_guard lock(m_mutex);
            m_messages << tr("The retrained demo model could not be loaded (%1); lane B runs "
                             "patdnn-8 without retraining.")
                              .arg(errorText(demo.error()));
        }
    }
    Progress dense;
    dense.active = true;
    dense.stage = tr("Preparing the dense lane…");
    setProgress(dense);
    // A phone that cannot be reached (unplugged since the probe, its agent failing to start):
    // the lanes run on this computer's CPU, and the message says why, rather than no demo.
    QString fellBack;
    auto toCpu = [&](const engine::Error& why) {
        fellBack = tr("The %1 could not be reached (%2): running on this computer's CPU.")
                       .arg(deviceWord(*j.backend), errorText(why));
        switchToCpu(j);
    };
    auto a = j.laneA();
    if (!a.ok() && j.remote && a.error().code != engine::ErrorCode::Cancelled && !m_stop) {
        toCpu(a.error());
        a = j.laneA();
    }
    if (!a.ok()) return errorText(a.error());
    if (m_stop) return {};

    // The source first: a missing file or camera is said at once, not after a compile.
    auto source = live::openSource(j.source);
    if (!source.ok()) return errorText(source.error());
    const std::string bundled = j.bundled;
    const bool pace = j.source.pace;
    live::FrameGrabber grabber(std::move(*source), [bundled, pace] {
        auto spec = live::parseSource("vtest.avi", bundled);
        if (!spec.ok()) return engine::Result<std::unique_ptr<live::FrameSource>>(spec.error());
        spec->pace = pace;
        return live::openSource(*spec);
    });

    Progress compiling;
    compiling.active = true;
    compiling.stage = tr("Preparing the pruned model…");
    setProgress(compiling);
    std::shared_ptr<std::atomic<bool>> cancel = newBuildCancel();
    live::CompiledLaneOptions options = j.laneOptions(cancel.get());
    options.compile.onProgress = [this](const live::LaneProgress& p) {
        std::lock_guard lock(m_mutex);
        m_progress->active = true;
        m_progress->lane = p;
    };
    auto staged = std::make_shared<live::StagedLane>(Job::laneB(shared), options);
    auto b = staged->start();
    if (m_stop) return {};  // stopped (or closed) while compiling: not an error
    if (!b.ok() && j.remote && b.error().code != engine::ErrorCode::Cancelled) {
        const bool aRemote = a->remote;
        toCpu(b.error());
        if (aRemote) {
            a = j.laneA();
            if (!a.ok()) return errorText(a.error());
        }
        cancel = newBuildCancel();  // switchToCpu cancelled the builds for the phone
        auto progress = std::move(options.compile.onProgress);
        options = j.laneOptions(cancel.get());
        options.compile.onProgress = std::move(progress);
        staged = std::make_shared<live::StagedLane>(Job::laneB(shared), options);
        b = staged->start();
        if (m_stop) return {};
    }
    if (!b.ok()) return errorText(b.error());
    auto pipeline =
        std::make_shared<live::LivePipeline>(j.entry, j.inputShape, std::move(*a), std::move(*b));
    const QString title = j.laneBTitle();
    {
        std::lock_guard lock(m_mutex);
        m_pipeline = pipeline;
        if (staged->pending()) {
            m_progress->standIn = true;
            m_pending =
                std::make_unique<Pending>(Pending{staged, cancel, m_rebuildGeneration, title,
                                                  j.remote ? deviceWord(*j.backend) : QString()});
        } else {
            *m_progress = {};
        }
    }
    staged.reset();  // m_pending holds it while it compiles
    const QString sourceName = QString::fromStdString(grabber.sourceName());
    const QString laneB = QString::fromStdString(pipeline->stats().laneB);
    QMetaObject::invokeMethod(
        this,
        [this, sourceName, laneB, title, fellBack] {
            setState(State::Running);
            m_paneB->setTitle(title);
            const QString running = tr("Running on %1. Lane B: %2").arg(sourceName, laneB);
            showMessage(fellBack.isEmpty() ? running : fellBack + QLatin1Char('\n') + running);
        },
        Qt::QueuedConnection);
    live::LiveRunOptions run;
    run.stop = &m_stop;
    if (j.remote) {
        run.onLinkLost = [this, shared](const engine::Error& lost) {
            return linkLost(shared, lost);
        };
    }
    run.onFrame = [this, &pipeline](const live::LiveFrame& f, const live::LiveStats& stats) {
        auto shown = std::make_unique<Shown>();
        shown->a = toQImage(f.a.drawn);
        shown->b = toQImage(f.b.drawn);
        shown->before = toQImage(f.before);
        // Both lanes on a phone: the sparkline follows the phone's own times, as the speedup
        // does; the panes give the link's apart.
        const bool onDevice = f.a.deviceMs && f.b.deviceMs;
        shown->aMs = onDevice ? *f.a.deviceMs : f.a.ms;
        shown->bMs = onDevice ? *f.b.deviceMs : f.b.ms;
        shown->stats = stats;
        {
            std::lock_guard lock(m_mutex);
            m_shown = std::move(shown);  // an unshown older frame is simply replaced
            if (m_recorder) {
                engine::Status added = m_recorder->add(f, stats);
                if (!added.ok()) {
                    m_messages << errorText(added.error());
                    (void)m_recorder->close();
                    m_recorder.reset();
                }
            }
        }
        takeReadyLaneB(*pipeline);
        return true;
    };
    run.onMessage = [this](const std::string& m) {
        std::lock_guard lock(m_mutex);
        m_messages << QString::fromStdString(m);
    };
    auto summary = live::runLive(grabber, *pipeline, nullptr, run);
    grabber.stop();
    dropPending();  // a compile still running is for a run that is over
    return summary.ok() ? QString() : errorText(summary.error());
}

void LiveView::switchToCpu(Job& j) {
    j.backend = nullptr;
    j.remote = false;
    // A rebuild for the lost target (the slider's) would swap a lane on it back in: stale now.
    (void)newBuildCancel();
    {
        std::lock_guard lock(m_mutex);
        ++m_rebuildGeneration;
    }
    const QString title = j.laneBTitle();
    // The Target box says where the lanes run now; changing it must not stop the demo.
    QMetaObject::invokeMethod(
        this,
        [this, title] {
            const QSignalBlocker block(m_target);
            m_target->setCurrentIndex(
                std::max(0, m_target->findData(fromView(engine::defaultBackend().name()))));
            m_runDevice.clear();
            m_runWord.clear();
            m_paneB->setTitle(title);
            m_sparkline->clear();  // the phone's times and the CPU's are not one series
        },
        Qt::QueuedConnection);
}

engine::Result<live::LaneFallback> LiveView::linkLost(const std::shared_ptr<Job>& shared,
                                                      const engine::Error& lost) {
    Job& j = *shared;
    const QString word = deviceWord(*j.backend);
    switchToCpu(j);
    PL_TRY_ASSIGN(live::Lane a, j.laneA());
    // Lane B as at the start: the generic kernels at once when the generated ones take a while
    // (they swap in when ready, as after a Start).
    const std::shared_ptr<std::atomic<bool>> cancel = newBuildCancel();
    auto staged =
        std::make_shared<live::StagedLane>(Job::laneB(shared), j.laneOptions(cancel.get()));
    PL_TRY_ASSIGN(live::Lane b, staged->start());
    std::unique_ptr<Pending> replaced;  // destroyed outside the lock
    {
        std::lock_guard lock(m_mutex);
        replaced = std::move(m_pending);
        if (staged->pending()) {
            m_progress->active = true;
            m_progress->standIn = true;
            m_pending = std::make_unique<Pending>(
                Pending{staged, cancel, m_rebuildGeneration, j.laneBTitle(), QString()});
        }
    }
    const QString message = tr("The %1's link dropped (%2): running on this computer's CPU.")
                                .arg(word, errorText(lost));
    return live::LaneFallback{std::move(a), std::move(b), message.toStdString()};
}

void LiveView::takeReadyLaneB(live::LivePipeline& pipeline) {
    std::unique_ptr<Pending> done;  // destroyed outside the lock (its build is over)
    std::lock_guard lock(m_mutex);
    if (!m_pending) return;
    std::optional<engine::Result<live::Lane>> ready = m_pending->staged->takeReady();
    if (!ready) return;
    done = std::move(m_pending);
    if (done->generation != m_rebuildGeneration) return;  // the slider moved on: stale
    *m_progress = {};
    if (!ready->ok()) {
        if (ready->error().code != engine::ErrorCode::Cancelled) {
            m_messages << tr("The fast kernels could not be built (%1); lane B keeps the "
                             "generic ones.")
                              .arg(errorText(ready->error()));
        }
        return;
    }
    m_swapTitle = done->title;
    const QString lane =
        QString::fromStdString(ready->value().name + " (" + ready->value().detail + ")");
    m_swapNote =
        done->remoteDevice.isEmpty()
            ? tr("Fast kernels ready: lane B now runs %1").arg(lane)
            : tr("Lane B measured on the %1: it now runs %2").arg(done->remoteDevice, lane);
    pipeline.replaceLaneB(std::move(ready->value()));
}

std::shared_ptr<std::atomic<bool>> LiveView::newBuildCancel() {
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(m_mutex);
    if (m_buildCancel) *m_buildCancel = true;  // superseded
    m_buildCancel = cancel;
    return cancel;
}

void LiveView::cancelBuilds() {
    std::lock_guard lock(m_mutex);
    if (m_buildCancel) *m_buildCancel = true;
    if (m_pending) *m_pending->cancel = true;
}

void LiveView::dropPending() {
    std::unique_ptr<Pending> pending;
    {
        std::lock_guard lock(m_mutex);
        pending = std::move(m_pending);
    }
    if (!pending) return;
    *pending->cancel = true;
    pending.reset();  // waits for the cancelled build: the compilers are killed at once
}

void LiveView::setProgress(const Progress& progress) {
    std::lock_guard lock(m_mutex);
    *m_progress = progress;
}

void LiveView::showProgress() {
    Progress p;
    {
        std::lock_guard lock(m_mutex);
        p = *m_progress;
    }
    if (!p.active) {
        m_progressRow->hide();
        m_progressLabel->clear();
        return;
    }
    const QString model = m_prunedWords.isEmpty() ? tr("the pruned model") : m_prunedWords;
    QString text = p.stage;
    if (p.lane && p.lane->step == live::LaneProgress::Step::Measuring) {
        text =
            m_runDevice.isEmpty()
                ? tr("Measuring which layers of %1 run faster pruned on this computer…").arg(model)
                : tr("Measuring which layers of %1 run faster pruned %2…").arg(model, m_runDevice);
        m_progressBar->setRange(0, 0);  // busy: the measure does not count its steps
    } else if (p.lane && p.lane->total > 0) {
        text = tr("Compiling fast kernels for %1: %2 of %3 layers…")
                   .arg(model)
                   .arg(p.lane->done)
                   .arg(p.lane->total);
        // Busy until the first layer is done: an empty bar reads as a stuck one.
        m_progressBar->setRange(0, p.lane->done > 0 ? p.lane->total : 0);
        m_progressBar->setValue(p.lane->done);
    } else {
        m_progressBar->setRange(0, 0);
    }
    if (p.rebuildRate >= 0)
        text = tr("Pruning at %1%: %2 The video keeps running.").arg(p.rebuildRate).arg(text);
    // Another backend (the GPU) generates its kernels as it prepares: its stand-in is the same
    // code, every pruned layer sparse, before the measured decision.
    if (p.standIn)
        text += QLatin1Char(' ') +
                (m_runDevice.isEmpty()
                     ? tr("Until they are ready, lane B runs on the generic sparse kernels "
                          "(slower).")
                     : tr("Until then, lane B runs every pruned layer sparse."));
    m_progressLabel->setText(text);
    m_progressRow->show();
}

void LiveView::showRate(double rate) {
    if (rate < 0) return;
    const QSignalBlocker block(m_rateSlider);
    m_rateSlider->setValue(static_cast<int>(std::lround(rate * 100)));
    m_rateLabel->setText(tr("%1%").arg(m_rateSlider->value()));
}

QString LiveView::progressText() const {
    return m_progressRow->isHidden() ? QString() : m_progressLabel->text();
}

bool LiveView::laneBOnStandIn() const {
    std::lock_guard lock(m_mutex);
    return m_pending != nullptr && m_progress->standIn;
}

int64_t LiveView::recordedFrames() const {
    std::lock_guard lock(m_mutex);
    return m_recorder ? m_recorder->frames() : 0;
}

void LiveView::stop() {
    if (m_state == State::Idle) return;
    m_stop = true;
    cancelBuilds();  // a compile in progress is killed, not waited for
    m_rateDebounce->stop();
    // The worker ends after its current frame (or compile) and reports through finishRun.
    m_startStop->setEnabled(false);
    showMessage(tr("Stopping after the current frame…"));
}

void LiveView::finishRun(const QString& error) {
    if (m_worker.joinable()) m_worker.join();
    poll();  // the last frame and messages
    stopRecording();
    {
        std::lock_guard lock(m_mutex);
        m_shown.reset();
    }
    m_startStop->setEnabled(true);
    setState(State::Idle);
    if (!error.isEmpty()) {
        showMessage(tr("Stopped: %1").arg(error));
        emit failed(error);
    } else {
        const live::LiveStats s = stats();
        showMessage(tr("Stopped after %1 frames.").arg(s.frames));
    }
}

void LiveView::poll() {
    std::unique_ptr<Shown> shown;
    QStringList messages;
    QString swapTitle, swapNote;
    {
        std::lock_guard lock(m_mutex);
        shown = std::move(m_shown);
        messages = std::exchange(m_messages, {});
        if (shown && shown->stats.laneBSwaps > m_swapsSeen) {
            swapTitle = std::exchange(m_swapTitle, {});
            swapNote = std::exchange(m_swapNote, {});
        }
    }
    if (!messages.isEmpty()) showMessage(messages.join(QLatin1Char('\n')));
    if (m_state != State::Idle) showProgress();
    if (!shown) return;
    const live::LiveStats& s = shown->stats;
    const bool split = !shown->before.isNull();  // image models: before | after
    m_paneA->setFrame(shown->a, split ? shown->before : QImage());
    m_paneB->setFrame(shown->b, split ? shown->before : QImage());
    m_paneA->setNumbers(laneNumbers(s.a, s.aDevice, s.aLink, m_runWord));
    m_paneB->setNumbers(laneNumbers(s.b, s.bDevice, s.bLink, m_runWord));
    m_paneA->setTitle(QString::fromStdString(s.laneA));
    m_sparkline->add(shown->aMs, shown->bMs);
    // While the generic kernels stand in for the pruned model's (the progress line says so)
    // and over the first frames, no "slower" that would teach the wrong lesson.
    const bool measured = std::min(s.a.count, s.b.count) >= kSpeedFrames;
    m_speedup->setText(speedupText(measured ? s.speedup() : 0, laneBOnStandIn(), s.speedupNoise()));
    const double frameB = s.b.median + s.overhead.median;
    // Threads are the CPU's: a GPU lane has none to match.
    // On a phone the speedup is the phone's own: dense there against pruned there, by its
    // clock, the link (the same for both, and no model's doing) left out.
    const QString same =
        s.speedupOnDevice()
            ? tr("Speedup on the %1's own clock, dense there against pruned there (the link left "
                 "out). Same frames")
                  .arg(m_runWord)
        : m_runDevice.isEmpty() ? tr("Same frames, same %1 thread(s)").arg(m_threads->value())
                                : tr("Same frames");
    m_overhead->setText(
        tr("%1, lanes one after the other. Overhead (capture, "
           "pre- and post-processing, drawing): %2 ms per frame, %3% of the pruned lane's "
           "frame time. %4 frames, medians over the last %5.")
            .arg(same)
            .arg(s.overhead.median, 0, 'f', 1)
            .arg(frameB > 0 ? 100.0 * s.overhead.median / frameB : 0.0, 0, 'f', 1)
            .arg(s.frames)
            .arg(s.a.count));
    if (s.laneBSwaps > m_swapsSeen) {
        m_swapsSeen = static_cast<int>(s.laneBSwaps);
        if (!swapTitle.isEmpty()) m_paneB->setTitle(swapTitle);
        showMessage(swapNote.isEmpty()
                        ? tr("Lane B swapped in: %1").arg(QString::fromStdString(s.laneB))
                        : swapNote);
        emit laneSwapped();
    }
    ++m_framesShown;
    emit frameShown();
}

void LiveView::rebuildLaneB() {
    if (m_state != State::Running || !m_session->hasModel()) return;
    QString why;
    std::optional<Job> job = makeJob(&why);
    std::shared_ptr<live::LivePipeline> pipeline;
    {
        std::lock_guard lock(m_mutex);
        pipeline = m_pipeline;
    }
    if (!job || !pipeline) return;
    int generation = 0;
    const std::shared_ptr<std::atomic<bool>> cancel = newBuildCancel();
    {
        std::lock_guard lock(m_mutex);
        generation = ++m_rebuildGeneration;
    }
    Progress rebuilding;
    rebuilding.active = true;
    rebuilding.stage = tr("re-pruning and compiling in the background.");
    rebuilding.rebuildRate = m_rateSlider->value();
    setProgress(rebuilding);
    showProgress();
    // Rebuilds may overlap when the slider moves again; only the newest one swaps its lane in
    // (an older one's compile is cancelled by newBuildCancel). Its generated kernels may take a
    // while: the generic ones stand in meanwhile, as at the start.
    m_rebuilds.removeIf([](const QFuture<void>& f) { return f.isFinished(); });
    auto shared = std::make_shared<const Job>(std::move(*job));
    m_rebuilds << QtConcurrent::run([this, shared, pipeline, generation, cancel] {
        if (*cancel) return;
        live::CompiledLaneOptions options = shared->laneOptions(cancel.get());
        const int rate = static_cast<int>(std::lround(shared->rate * 100));
        options.compile.onProgress = [this, generation, rate](const live::LaneProgress& p) {
            std::lock_guard lock(m_mutex);
            if (generation != m_rebuildGeneration) return;
            m_progress->active = true;
            m_progress->lane = p;
            m_progress->rebuildRate = rate;
        };
        auto staged = std::make_shared<live::StagedLane>(Job::laneB(shared), options);
        auto b = staged->start();
        std::unique_ptr<Pending> replaced;  // destroyed outside the lock
        std::lock_guard lock(m_mutex);
        if (m_stop || generation != m_rebuildGeneration) return;  // stopped, or superseded
        if (!b.ok()) {
            *m_progress = {};
            if (b.error().code != engine::ErrorCode::Cancelled)
                m_messages << tr("Could not rebuild lane B: %1").arg(errorText(b.error()));
            return;
        }
        const QString title = shared->laneBTitle();
        m_swapTitle = title;
        m_swapNote = tr("Lane B swapped in: %1 (%2)")
                         .arg(QString::fromStdString(b->name), QString::fromStdString(b->detail));
        pipeline->replaceLaneB(std::move(*b));
        replaced = std::move(m_pending);
        if (staged->pending()) {
            m_progress->standIn = true;
            m_pending = std::make_unique<Pending>(
                Pending{staged, cancel, generation, title,
                        shared->remote ? deviceWord(*shared->backend) : QString()});
        } else {
            *m_progress = {};
        }
    });
}

void LiveView::startRecording(const QString& clipPath, const QString& csvPath) {
    auto recorder = live::LiveRecorder::open(clipPath.toStdString(), csvPath.toStdString(), 10);
    if (!recorder.ok()) {
        showMessage(tr("Cannot record: %1").arg(errorText(recorder.error())));
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_recorder = std::move(*recorder);
        m_recordPath = clipPath;
    }
    m_record->setText(tr("Stop Recording"));
    showMessage(tr("Recording to %1").arg(clipPath));
}

void LiveView::stopRecording() {
    std::unique_ptr<live::LiveRecorder> recorder;
    QString path;
    {
        std::lock_guard lock(m_mutex);
        recorder = std::move(m_recorder);
        path = m_recordPath;
    }
    m_record->setText(tr("Record"));
    if (!recorder) return;
    const engine::Status closed = recorder->close();
    showMessage(closed.ok() ? tr("Saved %1 frames to %2").arg(recorder->frames()).arg(path)
                            : tr("Recording failed: %1").arg(errorText(closed.error())));
}

void LiveView::onRecordClicked() {
    if (isRecording()) {
        stopRecording();
        return;
    }
    const QString clip = QFileDialog::getSaveFileName(this, tr("Record the demo"),
                                                      QStringLiteral("prunelab-live.avi"),
                                                      tr("Motion-JPEG video (*.avi)"));
    if (clip.isEmpty()) return;
    QString csv = clip;
    csv.replace(QRegularExpression(QStringLiteral("\\.avi$")), QString());
    startRecording(clip, csv + QStringLiteral(".csv"));
}

void LiveView::toggleFullScreen() {
    QWidget* w = window();
    w->setWindowState(w->windowState() ^ Qt::WindowFullScreen);
    m_fullScreen->setText(w->windowState() & Qt::WindowFullScreen ? tr("Exit Full Screen")
                                                                  : tr("Full Screen"));
}

void LiveView::setClassroomPresentation(const QString& titleA, const QString& titleB) {
    const bool on = !titleA.isEmpty();
    m_classroomTitleA = titleA;
    m_classroomTitleB = on && titleB.isEmpty() ? titleA : titleB;
    if (on && m_classroomHidden.isEmpty()) {
        // Every child but the panes and what holds them, so controls added later hide too.
        for (QWidget* w : findChildren<QWidget*>(Qt::FindDirectChildrenOnly)) {
            if (w->isHidden() || w == m_paneA || w == m_paneB || w->isAncestorOf(m_paneA) ||
                w->isAncestorOf(m_paneB))
                continue;
            w->hide();
            m_classroomHidden << w;
        }
    } else if (!on) {
        for (QWidget* w : std::exchange(m_classroomHidden, {})) w->show();
        m_paneA->setTitle(tr("Dense"));
        m_paneB->setTitle(tr("Pruned"));
    }
    // The tab sets its researcher titles and numbers as frames come; the words follow each time.
    if (on && !m_classroomHooked) {
        m_classroomHooked = true;
        connect(this, &LiveView::frameShown, this, &LiveView::applyClassroomWords);
        connect(this, &LiveView::stateChanged, this, &LiveView::applyClassroomWords);
        connect(this, &LiveView::laneSwapped, this, &LiveView::applyClassroomWords);
    }
    applyClassroomWords();
}

void LiveView::applyClassroomWords() {
    if (!isClassroomPresentation()) return;
    m_paneA->setTitle(m_classroomTitleA);
    m_paneB->setTitle(m_classroomTitleB);
    const live::LiveStats s = stats();
    auto words = [this](const live::LatencySummary& lane) {
        return lane.count == 0 ? QString() : tr("%1 pictures a second").arg(lane.fps(), 0, 'f', 1);
    };
    m_paneA->setNumbers(words(s.a));
    m_paneB->setNumbers(words(s.b));
}

}  // namespace prunelab::views

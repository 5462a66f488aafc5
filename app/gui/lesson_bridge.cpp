// The workbench side of the lessons (see lesson_bridge.h).
#include "app/gui/lesson_bridge.h"

#include <QAction>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/view_registry.h"
#include "engine/prune/plan.h"
#include "engine/prune/scheme.h"
#include "engine/prune/sensitivity.h"
#include "engine/runtime/backend_list.h"
#include "engine/train/data.h"
#include "engine/train/trainer.h"
#include "plugins/model-files/model_loader.h"
#include "views/classroom/classroom_view.h"
#include "views/common/engine_text.h"
#include "views/kernels/kernels_view.h"
#include "views/lessons/lesson_player.h"
#include "views/live/live_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/speed/speed_view.h"
#include "views/train/retrain_panel.h"

namespace prunelab::gui {

namespace lessons = engine::lessons;
using engine::ErrorCode;
using engine::makeError;
using Page = MainWindow::Page;

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

// Where each lesson view name (engine::lessons::viewNames()) is: a page of the window, or on
// the workbench a tab of the view list (view_registry.h). "layers" is the table with the
// sparsity map beside it; "tiles" is the same map, which draws tile-wise structure.
struct LessonPlace {
    Page page = Page::Workbench;
    QString tab;
};
std::optional<LessonPlace> placeOf(const QString& view) {
    if (view == QLatin1String("start")) return LessonPlace{Page::Start, {}};
    if (view == QLatin1String("classroom")) return LessonPlace{Page::Classroom, {}};
    if (view == QLatin1String("layers") || view == QLatin1String("tiles"))
        return LessonPlace{Page::Workbench, QStringLiteral("sparsity")};
    const ViewInfo* info = findView(view);
    if (info && info->place == ViewPlace::Tab) return LessonPlace{Page::Workbench, view};
    return std::nullopt;
}

std::optional<engine::train::RetrainMethod> methodOf(const std::string& name) {
    using engine::train::RetrainMethod;
    if (name == "admm") return RetrainMethod::Admm;
    if (name == "one-shot") return RetrainMethod::OneShot;
    if (name == "gradual") return RetrainMethod::Gradual;
    return std::nullopt;
}

// The scheme a lesson names ("non-structured" as people write it, or the id "non_structured").
const engine::prune::Scheme* schemeOf(std::string name) {
    std::replace(name.begin(), name.end(), '-', '_');
    return engine::prune::findScheme(name);
}

// Top-1 accuracy of output 0 of `graph` on `data`, on PruneLab's own CPU runtime (no torch: a
// build without the trainer sweeps too). Stops early with Cancelled when `cancel` is set.
engine::Result<double> accuracyOn(const engine::Graph& graph, const engine::train::Dataset& data,
                                  const std::atomic<bool>& cancel) {
    engine::PrepareOptions options;
    options.threads = 1;  // the window and a live demo keep the other cores
    PL_TRY_ASSIGN(auto exec, engine::defaultBackend().prepare(graph, options));
    const engine::Shape inputShape = graph.value(graph.inputs.front()).shape;
    size_t right = 0, seen = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        if (cancel.load()) return makeError(ErrorCode::Cancelled, "the sweep was cancelled");
        PL_TRY_ASSIGN(engine::train::Example example, data.get(i));
        if (example.label < 0) {
            return makeError(ErrorCode::InvalidArgument,
                             "a sweep measures accuracy, and this data has no labels",
                             data.describe());
        }
        const engine::Tensor input = example.input.reshaped(inputShape);
        PL_TRY_ASSIGN(std::vector<engine::Tensor> outputs,
                      exec->run(std::span<const engine::Tensor>(&input, 1)));
        const auto scores = outputs.front().span<float>();
        const auto best = std::max_element(scores.begin(), scores.end()) - scores.begin();
        right += best == example.label ? 1 : 0;
        ++seen;
    }
    if (seen == 0)
        return makeError(ErrorCode::InvalidArgument, "no examples to measure on", data.describe());
    return static_cast<double>(right) / static_cast<double>(seen);
}

}  // namespace

LessonBridge::LessonBridge(MainWindow* window, bool interactive)
    : QObject(window), m_window(window) {
    views::LessonSetup setup;
    setup.root = q(lessons::defaultLessonsRoot());
    setup.state = [this] { return state(); };
    setup.perform = [this](const lessons::Lesson& lesson, const lessons::Action& action,
                           bool testBudget) { return perform(lesson, action, testBudget); };
    // A screenshot or a test must not change a person's progress.
    if (interactive) {
        setup.progressFolder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                               QStringLiteral("/lessons");
    }
    m_player = new views::LessonPlayer(std::move(setup));
    m_player->setObjectName(QStringLiteral("lessonPlayer"));
    m_dock = new QDockWidget(tr("Lessons"), window);
    m_dock->setObjectName(QStringLiteral("lessonDock"));
    m_dock->setWidget(m_player);
    m_dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                        QDockWidget::DockWidgetClosable);
    window->addDockWidget(Qt::RightDockWidgetArea, m_dock);
    m_dock->hide();
    QAction* toggle = m_dock->toggleViewAction();
    // Beside the Prune panel, a tab each (a 1024-pixel screen has no room for two columns),
    // from the first time it shows: tabified while hidden, the group's tab bar is left
    // unplaced outside the window.
    connect(toggle, &QAction::toggled, this, [this](bool on) {
        if (on) placeDock();
    });
    toggle->setText(tr("&Lessons"));
    toggle->setShortcut(QKeySequence(tr("Ctrl+Shift+L")));
    // On the window too: classroom mode hides the menu bar, and its keys with it.
    window->addAction(toggle);
    connect(this, &LessonBridge::failed, window,
            [this](const QString& message) { m_window->statusBar()->showMessage(message); });
    connect(this, &LessonBridge::failed, m_player, &views::LessonPlayer::showMeFailed);
    connectSignals();
}

LessonBridge::~LessonBridge() {
    if (m_sweepCancel) m_sweepCancel->store(true);
    m_sweepFuture.waitForFinished();
}

void LessonBridge::connectSignals() {
    auto notify = [this] { emit changed(); };
    views::ModelSession* session = m_window->session();
    connect(session, &views::ModelSession::modelLoaded, this, notify);
    connect(session, &views::ModelSession::planApplied, this, notify);
    connect(session, &views::ModelSession::busyChanged, this, notify);
    connect(m_window->experiments(), &views::ExperimentLog::changed, this, notify);
    AnalysisTabs* tabs = m_window->analysisTabs();
    connect(tabs, &QTabWidget::currentChanged, this, notify);
    connect(tabs, &AnalysisTabs::idle, this, notify);
    // A measure of the current plan ended; a plan where every layer stays dense has no times
    // to show, and it was measured all the same.
    connect(tabs, &AnalysisTabs::measured, this, [this] {
        m_measured = true;
        emit changed();
    });
    connect(session, &views::ModelSession::planApplied, this, [this] { m_measured = false; });
    connect(session, &views::ModelSession::modelLoaded, this, [this] { m_measured = false; });
    connect(m_window, &MainWindow::layerSelected, this, notify);
    connect(m_window, &MainWindow::pageChanged, this, notify);
    connect(m_window->retrainPanel(), &views::RetrainPanel::stateChanged, this, notify);
    connect(m_window->retrainPanel(), &views::RetrainPanel::finished, this, notify);
    for (views::LiveView* live : {m_window->liveView(), m_window->classroomView()->liveView()}) {
        connect(live, &views::LiveView::frameShown, this, notify);
        connect(live, &views::LiveView::stateChanged, this, notify);
        connect(live, &views::LiveView::laneSwapped, this, notify);
        // The Live tab's rate slider has no signal of its own on the view.
        for (QSlider* slider : live->findChildren<QSlider*>())
            connect(slider, &QSlider::valueChanged, this, notify);
    }
    connect(m_window->classroomView()->slider(), &QSlider::valueChanged, this, notify);
    connect(this, &LessonBridge::changed, m_player, &views::LessonPlayer::stateChanged);
    connect(m_window->session(), &views::ModelSession::modelLoaded, this, [this] {
        // A sweep belongs to the model it measured.
        if (m_sweepCancel) m_sweepCancel->store(true);
        m_sweepRunning = false;
        m_sweep.clear();
    });
}

void LessonBridge::placeDock() {
    if (m_dockPlaced) return;
    m_dockPlaced = true;
    if (auto* prune = m_window->findChild<QDockWidget*>(QStringLiteral("pruneDock")))
        m_window->tabifyDockWidget(prune, m_dock);
}

bool LessonBridge::showLessons(const QString& id) {
    placeDock();
    m_dock->show();
    m_dock->raise();
    if (id.isEmpty()) return true;
    return m_player->openLesson(id);
}

void LessonBridge::setClassroom(bool on) {
    m_player->setClassroom(on);
}

QWidget* LessonBridge::makeStartCardContent(QWidget* parent) {
    auto* content = new QWidget(parent);
    auto* layout = new QVBoxLayout(content);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* words = new QLabel(content);
    words->setObjectName(QStringLiteral("lessonsWords"));
    words->setWordWrap(true);
    layout->addWidget(words);
    // Counted again whenever the lessons are read again.
    auto count = [this, words] {
        int k12 = 0, lab = 0, research = 0;
        for (const lessons::LessonEntry& entry : m_player->entries()) {
            if (!entry.lesson) continue;
            const lessons::Audience a = entry.lesson->audience;
            ++(a == lessons::Audience::K12 ? k12 : a == lessons::Audience::Lab ? lab : research);
        }
        words->setText(k12 + lab + research == 0
                           ? tr("No lessons were found in %1.").arg(m_player->root())
                           : tr("Short guided labs: each step says what to do and why, can "
                                "show you, and ticks when it is done. %1 for school classes, "
                                "%2 student labs, %3 for research.")
                                 .arg(k12)
                                 .arg(lab)
                                 .arg(research));
    };
    count();
    connect(m_player, &views::LessonPlayer::lessonsRead, words, count);
    auto* open = new QPushButton(tr("▶ Open the lessons"), content);
    open->setObjectName(QStringLiteral("openLessons"));
    open->setToolTip(tr("The Lessons panel: pick a lesson, then follow its steps"));
    // As the page's other cards' buttons (views/start): larger, bold, taller.
    QFont font = open->font();
    if (font.pointSizeF() > 0) font.setPointSizeF(font.pointSizeF() * 1.15);
    font.setBold(true);
    open->setFont(font);
    open->setMinimumHeight(open->sizeHint().height() * 5 / 4);
    connect(open, &QPushButton::clicked, this, [this] { showLessons(); });
    layout->addWidget(open);
    return content;
}

// ---- The state the checks read ----

QString LessonBridge::currentViewName() const {
    if (m_window->classroomMode()) return QStringLiteral("classroom");
    switch (m_window->page()) {
        case Page::Start:
            return QStringLiteral("start");
        case Page::Classroom:
            return QStringLiteral("classroom");
        case Page::Workbench:
            break;
    }
    AnalysisTabs* tabs = m_window->analysisTabs();
    for (const ViewInfo& view : workbenchViews()) {
        const QString name = QString::fromLatin1(view.name);
        if (view.place != ViewPlace::Tab || tabs->page(name) != tabs->currentWidget()) continue;
        if (name == QLatin1String("sparsity"))
            return m_shownView == QLatin1String("tiles") ? m_shownView : QStringLiteral("layers");
        return name;
    }
    return QStringLiteral("layers");
}

lessons::State LessonBridge::state() const {
    lessons::State s;
    s.view = currentViewName().toStdString();
    s.sweep = m_sweep;
    const bool classroom = m_window->classroomMode();
    views::LiveView* live =
        classroom ? m_window->classroomView()->liveView() : m_window->liveView();
    s.live.running = live->state() == views::LiveView::State::Running;
    s.live.frames = live->framesShown();
    // A stand-in's speed is not the pruned model's own (views/live): no speedup until then.
    const double speedup = live->stats().speedup();
    if (speedup > 0 && !live->laneBOnStandIn()) s.live.speedup = speedup;
    s.rate = classroom ? m_window->classroomView()->removeShare() : live->pruningRate();

    for (const views::Experiment& e : m_window->experiments()->experiments()) {
        lessons::ExperimentState x;
        x.scheme = e.scheme.toStdString();
        x.method = e.retrainMethod.toStdString();
        x.density = e.density;
        x.accuracy = e.accuracy;
        x.psnrDb = e.psnrDb;
        x.latencyMs = e.latencyMs;
        x.denseLatencyMs = e.denseLatencyMs;
        s.experiments.push_back(std::move(x));
    }

    views::ModelSession* session = m_window->session();
    if (!session->hasModel()) return s;
    s.model = session->source().toStdString();
    if (auto catalog = plugins::bundledCatalog(); catalog.ok() && (*catalog)->find(s.model)) {
        s.catalogId = s.model;
    } else if (auto it = session->originalGraph().metadata.find(plugins::kCatalogIdKey);
               it != session->originalGraph().metadata.end()) {
        s.catalogId = it->second;  // a pruned copy of a catalog model
    }
    const std::vector<engine::Layer>& layers = session->layers();
    AnalysisTabs* tabs = m_window->analysisTabs();
    const int selected = tabs->selectedLayer();
    if (selected >= 0 && selected < static_cast<int>(layers.size()))
        s.selectedLayer = layers[static_cast<size_t>(selected)].name;

    const views::PruneState& pruneState = session->state();
    const engine::prune::ModelStats& stats = pruneState.stats;
    s.density = stats.density();
    s.keptMacs = stats.keptModelMacs;
    s.denseMacs = stats.modelMacs;
    if (auto plan = session->currentPlan()) {
        s.planApplied = true;
        s.planScheme = views::mainScheme(*plan).toStdString();
    }
    s.physicallySmaller = pruneState.pruned && pruneState.pruned->shrunk.has_value();

    // The Speed view's times, by compiled layer: its rows are LayerCode indices.
    const engine::codegen::SparseModel* compiled = tabs->compiled();
    const views::SpeedData& speed = tabs->speedView()->data();
    s.speedMeasured = m_measured;
    for (const views::SpeedLayer& row : speed.layers)
        if (row.measured() || speed.compiledTotalMs > 0) s.speedMeasured = true;
    for (size_t i = 0; i < layers.size(); ++i) {
        lessons::LayerState layer;
        layer.name = layers[i].name;
        layer.scheme = "dense";
        if (pruneState.pruned && i < pruneState.pruned->layers.size()) {
            const engine::prune::LayerPruning& lp = pruneState.pruned->layers[i];
            if (lp.how != engine::prune::LayerPruning::How::Dense) layer.scheme = lp.scheme;
        }
        for (const engine::prune::LayerStats& ls : stats.layers) {
            if (ls.name != layer.name) continue;
            layer.density = ls.density;
            layer.patterns = static_cast<int>(ls.patternHistogram.size());
        }
        if (compiled) {
            for (const engine::codegen::LayerCode& code : compiled->layers) {
                if (code.node != layers[i].node) continue;
                for (const views::SpeedLayer& row : speed.layers) {
                    if (row.index != code.index || !row.measured()) continue;
                    layer.denseMs = row.denseMs;
                    layer.sparseMs = row.compiledMs;
                }
            }
        }
        s.layers.push_back(std::move(layer));
    }
    // Shown: the Kernels view on screen, with the selected layer's generated source in it.
    const views::KernelsView* kernels = tabs->kernelsView();
    s.kernelsShown = selected >= 0 && selected < static_cast<int>(layers.size()) &&
                     kernels->isVisible() && !kernels->data().source.empty() &&
                     kernels->data().layer.node == layers[static_cast<size_t>(selected)].node;
    return s;
}

// ---- Show me ----

engine::Result<QString> LessonBridge::resolveModel(const lessons::Lesson& lesson,
                                                   const std::string& model) const {
    if (auto catalog = plugins::bundledCatalog(); catalog.ok() && (*catalog)->find(model))
        return q(model);
    namespace fs = std::filesystem;
    fs::path path;
    if (model.rfind("assets/", 0) == 0) {
        path = fs::path(plugins::defaultCatalogPath()).parent_path() / model.substr(7);
    } else {
        path = fs::path(lesson.folder) / model;
    }
    if (!fs::exists(path))
        return makeError(ErrorCode::NotFound,
                         "no catalog model by that name and no such file: " + path.string(), model);
    return q(path.lexically_normal().string());
}

void LessonBridge::whenIdle(std::function<void()> fn) {
    views::ModelSession* session = m_window->session();
    if (!session->isBusy()) {
        fn();
        return;
    }
    auto once = std::make_shared<QMetaObject::Connection>();
    *once = connect(session, &views::ModelSession::busyChanged, this, [once, fn](bool busy) {
        if (busy) return;
        QObject::disconnect(*once);
        fn();
    });
}

engine::Status LessonBridge::perform(const lessons::Lesson& lesson, const lessons::Action& a,
                                     bool testBudget) {
    using Kind = lessons::Action::Kind;
    views::ModelSession* session = m_window->session();
    AnalysisTabs* tabs = m_window->analysisTabs();
    // Whether a model is open, or one is opening (a Show me right after opening one waits).
    auto needModel = [session]() -> engine::Status {
        if (!session->hasModel() && !session->isBusy())
            return makeError(ErrorCode::InvalidArgument,
                             "open a model first (an earlier step opens one)");
        return {};
    };
    auto showTab = [this, tabs](const QString& name) {
        m_window->showPage(Page::Workbench);
        if (QWidget* page = tabs->page(name)) tabs->setCurrentWidget(page);
    };
    auto fail = [this](const QString& message) { emit failed(message); };

    switch (a.kind) {
        case Kind::OpenModel: {
            PL_TRY_ASSIGN(QString source, resolveModel(lesson, a.model));
            m_window->openModel(source);
            return {};
        }
        case Kind::ApplyPreset:
        case Kind::ApplyPlan: {
            PL_TRY(needModel());
            auto plan = a.kind == Kind::ApplyPreset
                            ? engine::prune::presetPlan(a.preset)
                            : engine::prune::loadPlanFile(
                                  (std::filesystem::path(lesson.folder) / a.plan).string());
            if (!plan.ok()) return plan.error();
            // What the Prune panel's Apply does: through the log, so it becomes an experiment.
            whenIdle([this, plan = *plan] {
                if (m_window->session()->hasModel()) m_window->experiments()->applyPlan(plan);
            });
            return {};
        }
        case Kind::SelectLayer: {
            PL_TRY(needModel());
            const std::string layer = a.layer;
            whenIdle([this, layer, fail] {
                const auto& layers = m_window->session()->layers();
                int index = -1;
                if (layer.size() > 1 && layer[0] == '#') {
                    index = std::atoi(layer.c_str() + 1);
                } else {
                    for (size_t i = 0; i < layers.size(); ++i)
                        if (layers[i].name == layer) index = static_cast<int>(i);
                }
                if (index < 0 || index >= static_cast<int>(layers.size())) {
                    fail(tr("The lesson asks for the layer %1, which this model does not have "
                            "(%2 prunable layers).")
                             .arg(q(layer))
                             .arg(layers.size()));
                    return;
                }
                m_window->selectLayer(index);
            });
            return {};
        }
        case Kind::ShowView: {
            const QString view = q(a.view);
            const std::optional<LessonPlace> place = placeOf(view);
            if (!place)
                return makeError(ErrorCode::InvalidArgument, "no view named '" + a.view + "'");
            m_shownView = view;
            if (place->page == Page::Classroom) {
                m_window->setClassroomMode(true);
            } else if (place->page == Page::Start) {
                m_window->showPage(Page::Start);
            } else {
                showTab(place->tab);
            }
            emit changed();  // "tiles" and "layers" are one tab: no signal of the tabs says so
            return {};
        }
        case Kind::Retrain: {
            PL_TRY(needModel());
            const std::optional<engine::train::RetrainMethod> method = methodOf(a.method);
            if (!method)
                return makeError(ErrorCode::InvalidArgument, "no retraining method '" + a.method +
                                                                 "' (admm, one-shot, gradual)");
            views::RetrainPanel* panel = m_window->retrainPanel();
            if (panel->state() != views::RetrainPanel::State::Idle)
                return makeError(ErrorCode::InvalidArgument,
                                 "a retraining is running: stop it or wait for it first");
            const int epochs = testBudget && a.testEpochs ? *a.testEpochs : a.epochs;
            const int fineTune =
                testBudget && a.testFineTuneEpochs ? *a.testFineTuneEpochs : a.fineTuneEpochs;
            const int limit = testBudget && a.testLimit ? *a.testLimit : a.limit;
            const std::string data = a.data;
            showTab(QStringLiteral("retrain"));
            whenIdle([this, panel, method, epochs, fineTune, limit, data, fail] {
                if (!m_window->session()->currentPlan()) {
                    fail(tr("Retraining keeps a plan's zeros: apply a plan first."));
                    return;
                }
                // The form, set as a person would set it, then its Start button.
                if (!data.empty()) panel->setData(q(data));
                panel->setMethod(*method);
                if (epochs > 0) panel->setEpochs(epochs, fineTune);
                panel->setTrainingLimit(limit);
                panel->start();
                if (panel->state() == views::RetrainPanel::State::Idle)
                    fail(tr("The retraining did not start: %1").arg(panel->lastError()));
            });
            return {};
        }
        case Kind::Measure: {
            PL_TRY(needModel());
            showTab(QStringLiteral("speed"));
            // The Prune menu's Measure Speed, once the plan is in and compiled.
            auto measure = [this, tabs, fail] {
                if (!m_window->session()->hasModel() || !m_window->session()->state().pruned) {
                    fail(tr("Measure times the pruned model: apply a plan first."));
                    return;
                }
                if (tabs->isMeasuring()) return;  // its times are on their way
                if (tabs->canMeasure()) {
                    tabs->measure(m_window->settings().measureRuns);
                    return;
                }
                if (!tabs->isBusy()) {
                    fail(
                        tr("Nothing to measure: the sparse compiler did not compile this plan "
                           "(the Kernels tab says why)."));
                    return;
                }
                auto once = std::make_shared<QMetaObject::Connection>();
                *once = connect(tabs, &AnalysisTabs::idle, this, [this, tabs, once, fail] {
                    QObject::disconnect(*once);
                    if (tabs->canMeasure()) {
                        tabs->measure(m_window->settings().measureRuns);
                    } else if (!tabs->isMeasuring()) {
                        fail(
                            tr("Nothing to measure: the sparse compiler did not compile this "
                               "plan (the Kernels tab says why)."));
                    }
                });
            };
            whenIdle(measure);
            return {};
        }
        case Kind::Sweep:
            PL_TRY(needModel());
            return startSweep(a, testBudget);
        case Kind::StartLive: {
            QString model;
            if (!a.model.empty()) {
                PL_TRY_ASSIGN(model, resolveModel(lesson, a.model));
            } else {
                PL_TRY(needModel());
            }
            startLive(model);
            return {};
        }
        case Kind::SetRate:
            if (a.rate < 0 || a.rate >= 1)
                return makeError(ErrorCode::InvalidArgument, "a rate is in [0, 1)");
            // The classroom's big slider there; the Live tab's lane B slider elsewhere.
            if (m_window->classroomMode()) {
                m_window->classroomView()->setRemoveShare(a.rate);
            } else {
                m_window->liveView()->setPruningRate(a.rate);
            }
            emit changed();
            return {};
    }
    return makeError(ErrorCode::InvalidArgument, "unknown action");
}

void LessonBridge::startLive(const QString& model) {
    // After whatever is opening now (the classroom opens its demo by itself): the model asked
    // for may be the one coming.
    whenIdle([this, model] {
        views::ModelSession* session = m_window->session();
        if (!model.isEmpty() && (!session->hasModel() || session->source() != model)) {
            if (!QFileInfo(model).isAbsolute()) {
                // A catalog id: the start page's demo card (the model, its bundled retrained
                // small brain, and the Live tab started; the classroom page starts its own).
                m_window->openDemo(model);
                return;
            }
            m_window->openModel(model);
            whenIdle([this] { startLiveTab(); });
            return;
        }
        startLiveTab();
    });
}

void LessonBridge::startLiveTab() {
    if (m_window->classroomMode()) return;  // the classroom page runs the demo itself
    if (!m_window->session()->hasModel()) return;
    m_window->showPage(Page::Workbench);
    views::LiveView* live = m_window->liveView();
    m_window->analysisTabs()->setCurrentWidget(live);
    if (live->state() == views::LiveView::State::Running) return;
    if (live->state() == views::LiveView::State::Idle) {
        live->start();  // the tab's Start button
        return;
    }
    // Still stopping an earlier demo (opening a model stops it): start when it has.
    auto once = std::make_shared<QMetaObject::Connection>();
    *once = connect(live, &views::LiveView::stateChanged, this,
                    [live, once](views::LiveView::State state) {
                        if (state != views::LiveView::State::Idle) return;
                        QObject::disconnect(*once);
                        live->start();
                    });
}

// ---- The sensitivity sweep ----

engine::Status LessonBridge::startSweep(const lessons::Action& a, bool testBudget) {
    const engine::prune::Scheme* scheme = schemeOf(a.scheme.empty() ? "non_structured" : a.scheme);
    if (!scheme)
        return makeError(ErrorCode::InvalidArgument, "no pruning scheme '" + a.scheme + "'");
    PL_TRY_ASSIGN(const std::string rateKey, engine::prune::rateKeyFor(*scheme));
    if (a.rates.empty()) return makeError(ErrorCode::InvalidArgument, "a sweep needs rates");
    if (a.data.empty())
        return makeError(ErrorCode::InvalidArgument,
                         "a sweep measures accuracy: it needs labelled data (e.g. fashion-mnist)");
    if (m_sweepRunning)
        return makeError(ErrorCode::InvalidArgument, "a sweep is running: wait for it first");
    const int limit = testBudget && a.testLimit ? *a.testLimit : a.limit;
    const std::string schemeId(scheme->id());
    const std::vector<double> rates = a.rates;
    const std::string data = a.data;
    whenIdle([this, schemeId, rateKey, rates, data, limit] {
        views::ModelSession* session = m_window->session();
        if (!session->hasModel()) {
            emit failed(tr("A sweep needs a model: open one first."));
            return;
        }
        if (m_sweepCancel) m_sweepCancel->store(true);
        m_sweepFuture.waitForFinished();
        m_sweep.clear();
        m_sweepRunning = true;
        m_sweepCancel = std::make_shared<std::atomic<bool>>(false);
        m_window->statusBar()->showMessage(
            tr("Sweep: pruning the whole model with %1 at %2 rates, accuracy on %3…")
                .arg(q(schemeId))
                .arg(rates.size())
                .arg(q(data)));
        emit changed();
        // Copies: the session may open another model meanwhile (the sweep is then cancelled).
        m_sweepFuture = QtConcurrent::run([this, graph = session->originalGraph(), schemeId,
                                           rateKey, rates, data, limit, cancel = m_sweepCancel] {
            auto report = [this, cancel, total = rates.size()](
                              std::optional<lessons::SweepPoint> point, QString error, bool last) {
                QMetaObject::invokeMethod(
                    this,
                    [this, cancel, point, error, last, total] {
                        if (cancel->load()) return;  // superseded: another model, a new sweep
                        if (point) m_sweep.push_back(*point);
                        if (last) m_sweepRunning = false;
                        if (!error.isEmpty()) {
                            emit failed(error);
                        } else if (point) {
                            m_window->statusBar()->showMessage(
                                tr("Sweep: %1 % removed, %2 % right (%3 of %4)")
                                    .arg(point->rate * 100, 0, 'f', 0)
                                    .arg(point->accuracy * 100, 0, 'f', 1)
                                    .arg(m_sweep.size())
                                    .arg(total));
                        }
                        emit changed();
                    },
                    Qt::QueuedConnection);
            };
            const engine::train::PictureOptions picture = engine::train::pictureOptionsFor(graph);
            const std::string testSpec = engine::train::testSpecOf(data);
            auto test = engine::train::openDataset(testSpec.empty() ? data : testSpec, picture,
                                                   limit > 0 ? static_cast<size_t>(limit) : 0);
            if (!test.ok()) {
                report(std::nullopt, tr("The sweep's data: %1").arg(views::errorText(test.error())),
                       true);
                return;
            }
            if (auto fits = engine::train::checkInputShape(graph, **test); !fits.ok()) {
                report(std::nullopt, tr("The sweep's data: %1").arg(views::errorText(fits.error())),
                       true);
                return;
            }
            for (size_t i = 0; i < rates.size(); ++i) {
                engine::prune::ParamValues params;
                params.set(rateKey, rates[i]);
                engine::prune::PruningPlan plan;
                plan.defaultEntry = engine::prune::PlanEntry::make(schemeId, params);
                auto pruned = engine::prune::applyPlan(graph, plan);
                if (!pruned.ok()) {
                    report(std::nullopt, views::errorText(pruned.error()), true);
                    return;
                }
                auto accuracy = accuracyOn(pruned->graph, **test, *cancel);
                if (!accuracy.ok()) {
                    report(std::nullopt,
                           accuracy.error().code == ErrorCode::Cancelled
                               ? QString()
                               : tr("The sweep: %1").arg(views::errorText(accuracy.error())),
                           true);
                    return;
                }
                report(lessons::SweepPoint{schemeId, rates[i], *accuracy}, QString(),
                       i + 1 == rates.size());
            }
        });
    });
    return {};
}

// ---- Running steps for a picture ----

void LessonBridge::runSteps(int count, bool testBudget, int stepTimeoutMs,
                            std::function<void(const QString& error)> done) {
    struct Run {
        int next = 0, count = 0;
        bool testBudget = false;
        QTimer* timeout = nullptr;
        QMetaObject::Connection progress;
        std::function<void(const QString&)> done;
    };
    auto run = std::make_shared<Run>();
    run->count = count;
    run->testBudget = testBudget;
    run->done = std::move(done);
    run->timeout = new QTimer(this);
    run->timeout->setSingleShot(true);
    run->timeout->setInterval(stepTimeoutMs);
    auto finish = [run](const QString& error) {
        QObject::disconnect(run->progress);
        run->timeout->stop();
        run->timeout->deleteLater();
        if (run->done) std::exchange(run->done, nullptr)(error);
    };
    auto step = std::make_shared<std::function<void()>>();
    *step = [this, run, finish] {
        const lessons::Lesson* lesson = m_player->lesson();
        if (!lesson) {
            finish(tr("no lesson is open"));
            return;
        }
        const int total = std::min(run->count, static_cast<int>(lesson->steps.size()));
        // Past the steps already done (a reading step is done when shown).
        while (run->next < total && m_player->mark(run->next) != lessons::Mark::Todo) ++run->next;
        if (run->next >= total) {
            finish(QString());
            return;
        }
        // Before Show me: a step it passes at once (a view shown) is marked within the call.
        run->timeout->start();
        if (lesson->steps[static_cast<size_t>(run->next)].showMe) {
            engine::Status started = m_player->showMe(run->next, run->testBudget);
            if (!started.ok()) {
                finish(tr("step %1: %2").arg(run->next + 1).arg(views::errorText(started.error())));
                return;
            }
        } else {
            m_player->setCurrentStep(run->next);
        }
    };
    // Any change of progress (the current step moving too): on only once this step is marked.
    run->progress =
        connect(m_player, &views::LessonPlayer::progressChanged, this, [this, run, step] {
            if (!run->timeout->isActive() || m_player->mark(run->next) == lessons::Mark::Todo)
                return;
            run->timeout->stop();
            // Queued: the player is still inside its own evaluation.
            QTimer::singleShot(0, this, [step] { (*step)(); });
        });
    connect(run->timeout, &QTimer::timeout, this, [this, run, finish] {
        finish(tr("step %1 did not pass within %2 s: %3")
                   .arg(run->next + 1)
                   .arg(run->timeout->interval() / 1000)
                   .arg(q(m_player->evaluateStep(run->next).why)));
    });
    (*step)();
}

}  // namespace prunelab::gui

// prunelab: the Qt workbench. `prunelab [MODEL]` opens MODEL (a file, a catalog id or a
// .prunelab project; the start page when none); `prunelab MODEL [--plan P.json | --preset NAME]...
// [--view NAME] [--layer N] [--dark] --screenshot OUT.png` renders the window (or one view) with
// that model, plans (each one an experiment, the last one shown) and layer, writes the PNG and
// exits; `prunelab --screenshot OUT.png` renders the start page; `prunelab --lesson ID
// [--lesson-steps N] [--screenshot OUT.png]` opens the Lessons panel on lesson ID and, for its
// first N steps, presses "Show me".
#include <fcntl.h>
#include <unistd.h>

#include <QAbstractNativeEventFilter>
#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QSocketNotifier>
#include <QStatusBar>
#include <QTimer>
#include <csignal>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

#include "app/gui/analysis_tabs.h"
#include "app/gui/appearance.h"
#include "app/gui/lesson_bridge.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "app/gui/view_registry.h"
#include "engine/io/image.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "engine/train/blas_env.h"
#include "plugins/model-files/model_files.h"
#include "views/classroom/classroom_view.h"
#include "views/common/engine_text.h"
#include "views/lessons/lesson_player.h"
#include "views/live/live_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/train/retrain_panel.h"

using namespace prunelab;

namespace {

int die(const QString& message) {
    std::fprintf(stderr, "prunelab: %s\n", qPrintable(message));
    return 1;
}

// SIGTERM and SIGINT (a desktop session ending, Ctrl+C in the terminal) quit through the event
// loop, so the window's views stop their threads (the Live tab's capture and compiles) and the
// process ends cleanly within a second or two, instead of dying mid-frame. The handler only
// writes to a pipe; the event loop reads it.
void quitOnTermination() {
    static int pipeFds[2] = {-1, -1};
    if (::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action = {};
    action.sa_handler = [](int) {
        const char byte = 1;
        [[maybe_unused]] const ssize_t n = ::write(pipeFds[1], &byte, 1);
    };
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    auto* notifier = new QSocketNotifier(pipeFds[0], QSocketNotifier::Read, qApp);
    QObject::connect(notifier, &QSocketNotifier::activated, qApp, [] {
        char byte = 0;
        while (::read(pipeFds[0], &byte, 1) > 0) {
        }
        QApplication::quit();
    });
}

// A window destroyed from outside (a window manager's force-close, `xdotool windowclose`, a
// remote desktop dropping it) gets no close event: Qt ran on with no window and the Live tab's
// threads kept reading frames. On X11 the window's DestroyNotify quits as SIGTERM does.
class QuitWhenDestroyedOutside : public QAbstractNativeEventFilter {
  public:
    explicit QuitWhenDestroyedOutside(const QWidget* window) : m_window(window) {}
    bool nativeEventFilter(const QByteArray& type, void* message, qintptr*) override {
        // xcb_destroy_notify_event_t, spelled out: the app does not build against libxcb.
        struct DestroyNotify {
            uint8_t responseType, pad;
            uint16_t sequence;
            uint32_t event, window;
        };
        constexpr uint8_t kDestroyNotify = 17;  // XCB_DESTROY_NOTIFY
        if (type != "xcb_generic_event_t") return false;
        const auto* e = static_cast<const DestroyNotify*>(message);
        // Qt's own destroys come after the widget let go of its window, so a visible window
        // still holding the destroyed id was destroyed by someone else.
        if ((e->responseType & 0x7f) == kDestroyNotify && m_window->isVisible() &&
            m_window->internalWinId() == e->window) {
            QMetaObject::invokeMethod(qApp, &QCoreApplication::quit, Qt::QueuedConnection);
        }
        return false;
    }

  private:
    const QWidget* m_window;
};

// Whether one of `names` is among the arguments (before a "--"), alone or as "NAME=VALUE". Read
// before QApplication exists: creating it on Qt's default xcb platform aborts where there is no
// display (ssh, CI), so what needs none must be known first.
bool hasArgument(int argc, char** argv, std::initializer_list<std::string_view> names) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") break;
        for (std::string_view name : names)
            if (arg == name || (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
                                arg[name.size()] == '='))
                return true;
    }
    return false;
}

// --help and --version only print: they run on the offscreen platform, which needs no display.
// Without a display a screenshot renders off screen too, and the window says plainly that it
// needs one where Qt would abort with a plugin error. A platform a person chose is left alone.
bool chooseDisplay(int argc, char** argv) {
    if (qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) return true;
    if (hasArgument(argc, argv, {"-h", "-?", "--help", "--help-all", "-v", "--version"})) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
        return true;
    }
#if defined(__linux__)
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        if (hasArgument(argc, argv, {"--screenshot"})) {
            qputenv("QT_QPA_PLATFORM", "offscreen");
            return true;
        }
        std::fprintf(stderr,
                     "prunelab: no display to open the window on (DISPLAY and WAYLAND_DISPLAY "
                     "are not set). Run it on a desktop, take a picture with --screenshot, or use "
                     "prunelab-cli.\n");
        return false;
    }
#endif
    return true;
}

// The layer --layer names, or the first one the plan pruned (a dense layer's map says little).
int layerToShow(const views::ModelSession& session, int requested) {
    if (requested >= 0) return requested;
    if (session.hasModel() && session.state().pruned) {
        const auto& layers = session.state().pruned->layers;
        for (size_t i = 0; i < layers.size(); ++i)
            if (layers[i].how != engine::prune::LayerPruning::How::Dense)
                return static_cast<int>(i);
    }
    return 0;
}

// Applies `plans` one after the other once the first model is in (each becomes an experiment in
// the Compare tab), then calls `done`; `done` alone when there are none. Each waits for the one
// before it to land, so the experiments keep the order given. Models opened later, undo and
// reset are the person's: nothing here runs again.
void applyInTurn(gui::MainWindow& window, std::vector<engine::prune::PruningPlan> plans,
                 std::function<void()> done) {
    struct Turn {
        std::vector<engine::prune::PruningPlan> plans;
        size_t next = 0;
        bool started = false, finished = false;
    };
    gui::MainWindow* w = &window;
    auto turn = std::make_shared<Turn>();
    turn->plans = std::move(plans);
    auto applyNext = [w, turn, done] {
        if (turn->next >= turn->plans.size()) {
            turn->finished = true;
            done();
            return;
        }
        w->experiments()->applyPlan(turn->plans[turn->next++]);
    };
    QObject::connect(w->session(), &views::ModelSession::modelLoaded, w, [w, turn, applyNext] {
        if (turn->started) return;
        turn->started = true;
        QTimer::singleShot(0, w, applyNext);
    });
    QObject::connect(w->session(), &views::ModelSession::planApplied, w, [w, turn, applyNext] {
        if (turn->next == 0 || turn->finished || !w->session()->currentPlan()) return;
        QTimer::singleShot(0, w, applyNext);
    });
}

// What --retrain and --live ask for once the plans are in: data to retrain on and steps per
// epoch; frames of the Live tab to show before a screenshot.
struct RetrainStart {
    QString data;
    int stepsPerEpoch = 0;
    int liveFrames = 0;
    QString liveTarget;  // the Live tab's Target ("vulkan"); empty: the default, the CPU
    int denseLane = 0;   // the Live tab's dense lane (LiveView::setDenseLane)
};

// Starts the Retrain tab's run when --retrain gave data, and the Live tab with --live; a
// refusal is an error like any other.
void startRetrain(gui::MainWindow& window, const RetrainStart& retrain) {
    // The classroom page starts its own demo once the model is in.
    if (retrain.liveFrames > 0 && !window.classroomMode()) {
        views::LiveView* live = window.liveView();
        live->setDenseLane(retrain.denseLane);
        if (retrain.liveTarget.isEmpty()) {
            live->start();
        } else {
            // The Target box learns what can run here on a worker: pick the target once it has.
            // One that cannot run here (no phone plugged in, no GPU driver) is said, and the
            // demo runs on the CPU: a class still sees it.
            auto pick = [live, target = retrain.liveTarget] {
                if (!live->setTarget(target)) {
                    auto why = engine::findBackend(target.toStdString());
                    std::fprintf(stderr,
                                 "prunelab: --live-target %s: %s; running on this computer's "
                                 "CPU\n",
                                 qPrintable(target),
                                 why.ok() ? "not offered by the Live tab here"
                                          : why.error().message.c_str());
                    live->setTarget(QStringLiteral("cpu"));
                }
                live->start();
            };
            if (live->targetsKnown())
                pick();
            else
                QObject::connect(live, &views::LiveView::targetsProbed, live, pick,
                                 Qt::SingleShotConnection);
        }
    }
    if (retrain.data.isEmpty()) return;
    views::RetrainPanel* panel = window.retrainPanel();
    panel->setData(retrain.data);
    panel->setStepsPerEpoch(retrain.stepsPerEpoch);
    panel->start();
}

// Renders the window, or its view `viewName` alone, at `size` into `out` and exits.
void captureNow(gui::MainWindow* w, const QString& out, const QString& viewName, QSize size) {
    QWidget* target = w;
    if (!viewName.isEmpty()) {
        target = w->namedView(viewName);
        // Rendered alone at the requested size: the exit follows, so the window's layout
        // losing it does not matter.
        target->setParent(nullptr);
    }
    // Twice: the speed view's wrapped labels take their minimum heights from the width the
    // view had hidden; the first resize gives it its real width, the second its height.
    for (int i = 0; i < 2; ++i) {
        target->resize(size);
        target->show();
        QApplication::processEvents();
    }
    w->analysisTabs()->fitMaps();
    QApplication::processEvents();
    const QPixmap shot = target->grab();
    // Back under the window, so destroying it stops the view's threads (the Live tab's pipeline
    // runs a frame) before the libraries unload at exit; alone, it was never destroyed and the
    // exit crashed one run in four.
    if (target != w) target->setParent(w);
    // Quality 0 is zlib's strongest compression: the gallery's pictures live in the repo.
    if (shot.isNull() || !shot.save(out, "PNG", /*quality=*/0)) {
        QApplication::exit(die(QStringLiteral("could not write the screenshot %1").arg(out)));
        return;
    }
    QApplication::exit(0);
}

// Takes the screenshot once the model (and the plans, when given) are in and the tabs'
// background jobs (compile, generated source, and for the speed view a measure) are done.
void captureWhenReady(gui::MainWindow& window, const QString& out, const QString& viewName,
                      QSize size, std::vector<engine::prune::PruningPlan> plans, int requestedLayer,
                      const RetrainStart& retrain) {
    views::ModelSession* session = window.session();
    gui::MainWindow* w = &window;
    gui::AnalysisTabs* tabs = window.analysisTabs();
    auto capture = [w, out, viewName, size] { captureNow(w, out, viewName, size); };
    // Polled rather than chained on signals: the jobs start one another (compile, then the
    // selected layer's source), and only an idle session and idle tabs mean all are done.
    auto* poll = new QTimer(w);
    poll->setInterval(50);
    auto measured = std::make_shared<bool>(false);
    QObject::connect(poll, &QTimer::timeout, w, [=] {
        if (session->isBusy() || tabs->isBusy()) return;
        if (w->retrainPanel()->state() != views::RetrainPanel::State::Idle) return;
        if (views::ClassroomView* room = w->classroomMode() ? w->classroomView() : nullptr) {
            // The classroom's own demo, its speed meter and its picture of what was removed.
            if (room->steadyFrames() < std::max(1, retrain.liveFrames) ||
                room->thumbnailsMade() < 1 || room->speedMeter()->speedup() <= 0)
                return;
        } else if (w->liveView()->framesShown() < retrain.liveFrames) {
            return;
        }
        if (viewName == QStringLiteral("speed") && tabs->compiled() && !*measured) {
            *measured = true;
            tabs->measure(2);  // few runs: a picture of the view, not a benchmark
            return;
        }
        poll->stop();
        capture();
    });
    auto select = [=] {
        const int layer = layerToShow(*session, requestedLayer);
        if (layer >= static_cast<int>(session->layers().size())) {
            QApplication::exit(die(QStringLiteral("--layer %1: the model has %2 prunable layers")
                                       .arg(layer)
                                       .arg(session->layers().size())));
            return;
        }
        w->selectLayer(layer);
        if (QWidget* page = tabs->page(viewName)) tabs->setCurrentWidget(page);
        startRetrain(*w, retrain);
        poll->start();
    };
    QObject::connect(session, &views::ModelSession::failed, &window,
                     [] { QApplication::exit(1); });  // the window printed the message
    for (views::LiveView* live : {window.liveView(), window.classroomView()->liveView()}) {
        QObject::connect(live, &views::LiveView::failed, &window,
                         [](const QString& message) { QApplication::exit(die(message)); });
    }
    QObject::connect(window.retrainPanel(), &views::RetrainPanel::finished, &window,
                     [](bool ok, const QString& message) {
                         if (!ok) QApplication::exit(die(message));
                     });
    applyInTurn(window, std::move(plans), select);
}

// A lesson's first `steps` steps through "Show me", each waiting for its tick (the lesson's test
// budget: a picture, not a class), then the window once nothing is busy. The window is shown
// from the start: the checks read what is on screen (the Kernels view showing code).
void captureLessonWhenReady(gui::MainWindow& window, const QString& out, QSize size, int steps) {
    gui::MainWindow* w = &window;
    window.resize(size);
    window.show();
    auto ready = std::make_shared<bool>(false);
    // Ten minutes a step: a retraining step on a busy machine is slow, a stuck one still ends.
    window.lessons()->runSteps(steps, /*testBudget=*/true, 600'000, [ready](const QString& error) {
        if (!error.isEmpty()) {
            QApplication::exit(die(QStringLiteral("the lesson: %1").arg(error)));
            return;
        }
        *ready = true;
    });
    auto* poll = new QTimer(w);
    poll->setInterval(50);
    QObject::connect(poll, &QTimer::timeout, w, [=] {
        if (!*ready || w->session()->isBusy() || w->analysisTabs()->isBusy()) return;
        if (w->retrainPanel()->state() != views::RetrainPanel::State::Idle) return;
        if (w->lessons()->sweepRunning()) return;
        poll->stop();
        // The last tick's words are in after the next evaluation.
        w->lessons()->player()->evaluateNow();
        captureNow(w, out, QString(), size);
    });
    poll->start();
}

}  // namespace

int main(int argc, char** argv) {
    engine::runOpenCvOnCallingThread();  // before any image work: see engine/io/image.h
    // The Retrain tab runs libtorch in this process: OpenBLAS must see its settings at load.
    prunelab::engine::train::ensureBlasSettings(argv);
    if (!chooseDisplay(argc, argv)) return 1;
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("PruneLab"));
    QApplication::setApplicationName(QStringLiteral("PruneLab"));
    QApplication::setApplicationVersion(QStringLiteral(PRUNELAB_VERSION));
    quitOnTermination();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("PruneLab: a workbench for DNN weight pruning"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        QStringLiteral("model"),
        QStringLiteral("A model file (%1), a catalog id or a .prunelab project (none: the "
                       "start page, with its demos one click away)")
            .arg(QString::fromStdString(prunelab::plugins::modelFormatsText())));
    const QCommandLineOption planOption(
        QStringLiteral("plan"),
        QStringLiteral("Apply this pruning plan (JSON). Give it again for more experiments (the "
                       "Compare tab); the last one is shown."),
        QStringLiteral("PLAN.json"));
    const QCommandLineOption presetOption(
        QStringLiteral("preset"),
        QStringLiteral("Apply this preset plan (e.g. patdnn-8). Give it again for more "
                       "experiments (the Compare tab); the last one is shown."),
        QStringLiteral("NAME"));
    const QCommandLineOption viewOption(
        QStringLiteral("view"),
        QStringLiteral("Show this view; with --screenshot, only it (%1).")
            .arg(gui::viewNames().join(QStringLiteral(", "))),
        QStringLiteral("NAME"));
    const QCommandLineOption shotOption(QStringLiteral("screenshot"),
                                        QStringLiteral("Write a PNG of the window and exit."),
                                        QStringLiteral("OUT.png"));
    const QCommandLineOption sizeOption(QStringLiteral("size"),
                                        QStringLiteral("Screenshot or window size (default "
                                                       "1280x800, within the screen)."),
                                        QStringLiteral("WxH"), QStringLiteral("1280x800"));
    const QCommandLineOption layerOption(
        QStringLiteral("layer"),
        QStringLiteral("Select this prunable layer (0-based; default the first pruned one)."),
        QStringLiteral("N"));
    const QCommandLineOption darkOption(QStringLiteral("dark"),
                                        QStringLiteral("Use the dark palette."));
    const QCommandLineOption projectorOption(
        QStringLiteral("projector"), QStringLiteral("Projector mode: text 1.5 times larger."));
    const QCommandLineOption retrainOption(
        QStringLiteral("retrain"),
        QStringLiteral("Retrain under the (last) plan once it is in: fashion-mnist, mnist, "
                       "folder:DIR or frames:VIDEO. With --screenshot, the picture waits for it."),
        QStringLiteral("DATA"));
    const QCommandLineOption retrainStepsOption(
        QStringLiteral("retrain-steps"),
        QStringLiteral("Steps per epoch for --retrain (default: the whole data set)."),
        QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption liveOption(
        QStringLiteral("live"),
        QStringLiteral("Start the Live tab once the plans are in (the bundled video through the "
                       "dense and the pruned model). With --screenshot, the picture is taken "
                       "after N frames."),
        QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption liveTargetOption(
        QStringLiteral("live-target"),
        QStringLiteral("With --live: run the Live tab's PruneLab lanes on this backend (its "
                       "Target box: cpu, vulkan)."),
        QStringLiteral("NAME"));
    const QCommandLineOption liveDenseOption(
        QStringLiteral("live-dense"),
        QStringLiteral("With --live: the dense lane: target (PruneLab dense on the target), "
                       "onnxruntime, or cpu (PruneLab dense on the CPU, to compare the CPU "
                       "against the target)."),
        QStringLiteral("LANE"), QStringLiteral("target"));
    const QCommandLineOption classroomOption(
        QStringLiteral("classroom"),
        QStringLiteral(
            "Classroom (K-12) mode: one big slider, the speed and the two brains, large; "
            "with no model, the zoom-x2 demo. With --screenshot, the picture waits for "
            "the demo's frames (--live N) and its picture of what was removed."));
    const QCommandLineOption lessonOption(
        QStringLiteral("lesson"),
        QStringLiteral("Open the Lessons panel on this lesson (a folder name in lessons/, e.g. "
                       "01-smaller-robot-brain)."),
        QStringLiteral("ID"));
    const QCommandLineOption lessonStepsOption(
        QStringLiteral("lesson-steps"),
        QStringLiteral("With --lesson: press Show me for its first N steps, each after the one "
                       "before it is ticked (with --screenshot, on the lesson's test budget)."),
        QStringLiteral("N"), QStringLiteral("0"));
    parser.addOptions({planOption, presetOption, viewOption, shotOption, sizeOption, layerOption,
                       darkOption, projectorOption, retrainOption, retrainStepsOption, liveOption,
                       liveTargetOption, liveDenseOption, classroomOption, lessonOption,
                       lessonStepsOption});
    parser.process(app);

    const QStringList args = parser.positionalArguments();
    if (args.size() > 1) return die(QStringLiteral("one model at a time; got %1").arg(args.size()));
    const QString model = args.isEmpty() ? QString() : args.front();
    const bool screenshot = parser.isSet(shotOption);
    // Remembered from a person's last session; a screenshot only when asked.
    const bool classroom =
        parser.isSet(classroomOption) || (!screenshot && gui::loadClassroomMode());

    std::vector<engine::prune::PruningPlan> plans;
    if (parser.isSet(planOption) && parser.isSet(presetOption))
        return die(QStringLiteral("give --plan or --preset, not both"));
    for (const QString& file : parser.values(planOption)) {
        auto loaded = engine::prune::loadPlanFile(file.toStdString());
        if (!loaded.ok()) return die(views::errorText(loaded.error()));
        plans.push_back(std::move(loaded).value());
    }
    for (const QString& name : parser.values(presetOption)) {
        auto preset = engine::prune::presetPlan(name.toStdString());
        if (!preset.ok()) return die(views::errorText(preset.error()));
        plans.push_back(std::move(preset).value());
    }
    const QStringList wh = parser.value(sizeOption).split(QLatin1Char('x'));
    const QSize size(wh.size() == 2 ? wh[0].toInt() : 0, wh.size() == 2 ? wh[1].toInt() : 0);
    if (size.width() < 64 || size.height() < 64 || size.width() > 8192 || size.height() > 8192)
        return die(QStringLiteral("--size must be WxH between 64 and 8192, e.g. 1280x800"));

    RetrainStart retrain;
    retrain.data = parser.value(retrainOption);
    bool stepsOk = false;
    retrain.stepsPerEpoch = parser.value(retrainStepsOption).toInt(&stepsOk);
    if (!stepsOk || retrain.stepsPerEpoch < 0)
        return die(QStringLiteral("--retrain-steps must be 0 (all) or more"));
    bool liveOk = false;
    retrain.liveFrames = parser.value(liveOption).toInt(&liveOk);
    if (!liveOk || retrain.liveFrames < 0 || retrain.liveFrames > 100000)
        return die(QStringLiteral("--live must be a number of frames, e.g. --live 20"));
    if (parser.isSet(liveOption) && retrain.liveFrames == 0) retrain.liveFrames = 1;
    retrain.liveTarget = parser.value(liveTargetOption);
    const QStringList denseLanes{QStringLiteral("target"), QStringLiteral("onnxruntime"),
                                 QStringLiteral("cpu")};
    retrain.denseLane = static_cast<int>(denseLanes.indexOf(parser.value(liveDenseOption)));
    if (retrain.denseLane < 0)
        return die(QStringLiteral("--live-dense must be target, onnxruntime or cpu"));
    if (!retrain.data.isEmpty() && plans.empty())
        return die(QStringLiteral("--retrain needs a plan to retrain under (--plan or --preset)"));

    int layer = -1;
    if (parser.isSet(layerOption)) {
        bool ok = false;
        layer = parser.value(layerOption).toInt(&ok);
        if (!ok || layer < 0)
            return die(QStringLiteral("--layer must be a layer index, 0 or more"));
    }
    // Without a model the window shows the start page: there is nothing to prune, show or run.
    if (model.isEmpty() && !classroom &&
        (!plans.empty() || parser.isSet(viewOption) || parser.isSet(layerOption) ||
         parser.isSet(liveOption) || !retrain.data.isEmpty())) {
        return die(
            QStringLiteral("--plan, --preset, --view, --layer, --live and --retrain need a "
                           "model, e.g. prunelab face-front --preset patdnn-8"));
    }

    const QString view = parser.value(viewOption);
    if (!view.isEmpty() && !gui::findView(view)) {
        return die(QStringLiteral("no view named '%1' (views: %2)")
                       .arg(view, gui::viewNames().join(QStringLiteral(", "))));
    }

    const QString lessonId = parser.value(lessonOption);
    bool lessonStepsOk = false;
    const int lessonSteps = parser.value(lessonStepsOption).toInt(&lessonStepsOk);
    if (!lessonStepsOk || lessonSteps < 0)
        return die(QStringLiteral("--lesson-steps must be a number of steps, 0 or more"));
    if (parser.isSet(lessonStepsOption) && lessonId.isEmpty())
        return die(QStringLiteral("--lesson-steps needs --lesson ID"));
    if (!lessonId.isEmpty() &&
        (!plans.empty() || parser.isSet(viewOption) || parser.isSet(layerOption) ||
         parser.isSet(liveOption) || !retrain.data.isEmpty())) {
        return die(
            QStringLiteral("--lesson does what its steps say: give it without --plan, "
                           "--preset, --view, --layer, --live and --retrain"));
    }

    // The remembered palette and font size for a person; screenshots stay in the default look
    // unless asked, so the gallery does not depend on who took it.
    gui::Appearance appearance = screenshot ? gui::Appearance{} : gui::loadAppearance();
    if (parser.isSet(darkOption)) appearance.dark = true;
    if (parser.isSet(projectorOption)) appearance.projector = true;
    gui::applyAppearance(appearance);

    gui::MainWindow window(!screenshot);
    if (!lessonId.isEmpty() && !window.lessons()->showLessons(lessonId)) {
        return die(QStringLiteral("no lesson '%1' in %2 (lessons: %3)")
                       .arg(lessonId, window.lessons()->player()->root(),
                            window.lessons()->player()->listedIds().join(QStringLiteral(", "))));
    }
    if (screenshot && !lessonId.isEmpty()) {
        captureLessonWhenReady(window, parser.value(shotOption), size, lessonSteps);
    } else if (screenshot && model.isEmpty() && !classroom) {
        QTimer::singleShot(0, &window, [w = &window, out = parser.value(shotOption), size] {
            captureNow(w, out, QString(), size);
        });
    } else if (screenshot) {
        captureWhenReady(window, parser.value(shotOption), view, size, std::move(plans), layer,
                         retrain);
    } else {
        gui::MainWindow* w = &window;
        auto select = [w, layer, view, retrain] {
            w->selectLayer(layerToShow(*w->session(), layer));
            if (QWidget* page = w->analysisTabs()->page(view))
                w->analysisTabs()->setCurrentWidget(page);
            startRetrain(*w, retrain);
        };
        applyInTurn(window, std::move(plans), select);
        // --size asks for a size; without it the window comes back as it was left.
        window.showFitted(size, !parser.isSet(sizeOption));
        if (lessonSteps > 0) {
            window.lessons()->runSteps(lessonSteps, /*testBudget=*/false, 3'600'000,
                                       [w](const QString& error) {
                                           if (!error.isEmpty()) w->statusBar()->showMessage(error);
                                       });
        }
        // Screenshots never offer: nothing may wait on a person there.
        window.offerRecovery();
    }
    if (!model.isEmpty()) window.openModel(model);
    // After the model began to open: the mode opens its zoom-x2 demo only when none is coming.
    if (classroom) window.setClassroomMode(true);
    QuitWhenDestroyedOutside destroyedOutside(&window);
    app.installNativeEventFilter(&destroyedOutside);
    return QApplication::exec();
}

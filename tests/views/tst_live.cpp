// The Live tab on real parts: BlazeFace (back) from the catalog pruned with patdnn-8, vtest.avi
// frames through both lanes on the tab's worker thread, the rate slider swapping lane B in while
// the video runs, recording a clip, a source that fails mid-stream switching to the bundled
// video, lane B on the generic kernels while its generated ones compile (a slow stand-in
// compiler makes the wait observable), the demo model by default, and closing promptly (the tab
// and the real app); the phone target through a FAKE adb running local agents (no phone: the
// fake is a script named as such), its device/link split and its fallback to the CPU.
// Offscreen; generic sparse kernels keep the other compiles short.
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <opencv2/videoio.hpp>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "plugins/model-files/demo_models.h"
#include "plugins/refrt/ort_lane.h"
#include "tests/slow_compiler.h"
#include "tests/test_cache.h"
#include "views/live/live_pane.h"
#include "views/live/live_view.h"
#include "views/session/model_session.h"

using namespace prunelab;
using views::LiveView;

namespace {

constexpr int kTimeoutMs = 120'000;

using prunelab::testing::cacheDir;
using prunelab::testing::ScopedCompiler;

views::LiveSetup setup() {
    views::LiveSetup s;
    s.entryFor = gui::catalogEntryFor;
    s.bundledVideo = QString::fromStdString(cacheDir() + "/video/vtest.avi");
    return s;
}

// The names of a process's threads (the Live tab names its own: pl-live, pl-capture).
QStringList threadNames(qint64 pid) {
    QStringList names;
    const QString tasks = QStringLiteral("/proc/%1/task").arg(pid);
    for (const QString& task : QDir(tasks).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks + QLatin1Char('/') + task + QStringLiteral("/comm"));
        if (comm.open(QIODevice::ReadOnly)) names << QString::fromUtf8(comm.readAll()).trimmed();
    }
    return names;
}

// The fake-adb phone for one test (tests/engine/remote/fake-adb.sh): adb's listing of a ready
// Pixel 7 and an unauthorized phone, or of none; each agent it "starts on the phone" is this
// machine's prunelab-agent, through a wrapper that notes its pid (exec keeps it) so the test can
// kill one as a dropped link would.
class FakePhone {
  public:
    explicit FakePhone(bool withPhones) {
        m_pids = m_dir.filePath(QStringLiteral("agents.pid"));
        const QString wrapper = m_dir.filePath(QStringLiteral("agent-noting-its-pid.sh"));
        QFile w(wrapper);
        if (w.open(QIODevice::WriteOnly)) {
            w.write(QStringLiteral("#!/bin/sh\necho $$ >> '%1'\nexec '%2' \"$@\"\n")
                        .arg(m_pids, QStringLiteral(PRUNELAB_AGENT))
                        .toUtf8());
            w.close();
            w.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        }
        set("PRUNELAB_ADB", PRUNELAB_FAKE_ADB);
        set("FAKE_ADB_DEVICES", withPhones ? PRUNELAB_SOURCE_DIR
                                    "/tests/engine/remote/adb-devices-two-phones.txt"
                                           : "");
        set("FAKE_ADB_AGENT", wrapper.toStdString());
        set("PRUNELAB_PHONE_AGENT", PRUNELAB_AGENT);
    }
    ~FakePhone() {
        for (const char* name : kNames) qunsetenv(name);
    }
    static void set(const char* name, const std::string& value) {
        qputenv(name, QByteArray::fromStdString(value));
    }
    // The agents started so far, in order.
    QList<qint64> agents() const {
        QFile f(m_pids);
        QList<qint64> pids;
        if (!f.open(QIODevice::ReadOnly)) return pids;
        for (const QByteArray& line : f.readAll().split('\n'))
            if (!line.trimmed().isEmpty()) pids << line.trimmed().toLongLong();
        return pids;
    }

  private:
    static constexpr const char* kNames[] = {"PRUNELAB_ADB", "FAKE_ADB_DEVICES", "FAKE_ADB_AGENT",
                                             "PRUNELAB_PHONE_AGENT", "FAKE_ADB_FAIL"};
    QTemporaryDir m_dir;
    QString m_pids;
};

}  // namespace

class TestLive : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QVERIFY2(std::filesystem::exists(cacheDir() + "/video/vtest.avi"),
                 "vtest.avi is missing: run ./prunelab setup");
    }

    void init() {
        m_session = std::make_unique<views::ModelSession>(gui::workbenchOpener());
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(QStringLiteral("face-back"));
        QVERIFY2(loaded.wait(kTimeoutMs), "BlazeFace (face-back) did not open");
        QSignalSpy applied(m_session.get(), &views::ModelSession::planApplied);
        m_session->applyPlan(engine::prune::presetPlan("patdnn-8").value());
        QVERIFY2(applied.wait(kTimeoutMs), "patdnn-8 was not applied");
        m_view = std::make_unique<LiveView>(m_session.get(), setup());
        m_view->setGenerated(false);
        m_view->setMeasured(false);  // keep the sparse layers: the lane under test
        m_view->setThreads(1);
    }

    void cleanup() {
        m_view.reset();  // stops and joins the worker
        m_session.reset();
    }

    void bothLanesShowFramesAndStopCleanly() {
        QSignalSpy states(m_view.get(), &LiveView::stateChanged);
        m_view->start();
        QCOMPARE(m_view->state(), LiveView::State::Preparing);
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 5, kTimeoutMs);
        QCOMPARE(m_view->state(), LiveView::State::Running);
        QVERIFY(m_view->paneA()->hasFrame());
        QVERIFY(m_view->paneB()->hasFrame());
        QVERIFY2(m_view->paneA()->numbers().contains(QStringLiteral("fps")),
                 qPrintable(m_view->paneA()->numbers()));
        QVERIFY(m_view->paneB()->numbers().contains(QStringLiteral("ms")));
        QVERIFY(m_view->sparkline()->points() >= 5);
        const auto stats = m_view->stats();
        QVERIFY(stats.frames >= 5);
        QVERIFY(stats.a.median > 0 && stats.b.median > 0);
        QVERIFY2(QString::fromStdString(stats.laneB).contains(QStringLiteral("layers sparse")),
                 stats.laneB.c_str());
        QVERIFY(m_view->message().contains(QStringLiteral("vtest.avi")));

        m_view->stop();
        QTRY_COMPARE_WITH_TIMEOUT(m_view->state(), LiveView::State::Idle, 30'000);
        QVERIFY2(m_view->message().contains(QStringLiteral("Stopped after")),
                 qPrintable(m_view->message()));
        // Idle -> Preparing -> Running -> Idle.
        QCOMPARE(states.count(), 3);
        // And it starts again.
        m_view->start();
        const int before = m_view->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= before + 3, kTimeoutMs);
    }

    // The Target box is the engine's backend list: every backend in its order, the ones that
    // cannot run here greyed out with the backend's own reason once the probe (on a worker: it
    // may open a GPU) has answered, and the CPU chosen.
    void targetBoxListsTheEnginesBackends() {
        auto* target = m_view->findChild<QComboBox*>(QStringLiteral("liveTarget"));
        QVERIFY(target);
        const auto backends = engine::backends();
        QCOMPARE(target->count(), static_cast<int>(backends.size()));
        auto* model = qobject_cast<QStandardItemModel*>(target->model());
        QVERIFY(model);
        if (!m_view->targetsKnown()) {
            // Until the probe answers only the default is offered, and the others say why.
            for (int i = 0; i < target->count(); ++i) {
                const bool isDefault =
                    backends[static_cast<size_t>(i)] == &engine::defaultBackend();
                QCOMPARE(model->item(i)->isEnabled(), isDefault);
                if (!isDefault) QVERIFY(model->item(i)->toolTip().startsWith("Checking"));
            }
        }
        QTRY_VERIFY_WITH_TIMEOUT(m_view->targetsKnown(), 60'000);
        // ctest's tst_live_no_vulkan_driver points the Vulkan loader at no driver: then the GPU
        // must be the greyed-out item whose tooltip says why (the loop below checks the words).
        if (qEnvironmentVariableIsSet("PRUNELAB_EXPECT_NO_VULKAN")) {
            const int gpu = target->findData(QStringLiteral("vulkan"));
            QVERIFY2(gpu >= 0, "this build lists no vulkan backend");
            QVERIFY(!model->item(gpu)->isEnabled());
            QVERIFY2(model->item(gpu)->toolTip().contains(QStringLiteral("no Vulkan driver")),
                     qPrintable(model->item(gpu)->toolTip()));
        }
        for (int i = 0; i < target->count(); ++i) {
            const engine::Backend* b = backends[static_cast<size_t>(i)];
            QCOMPARE(target->itemData(i).toString(),
                     QString::fromLatin1(b->name().data(), b->name().size()));
            const engine::Status ok = b->available();
            QCOMPARE(model->item(i)->isEnabled(), ok.ok());
            if (!ok.ok()) {
                QCOMPARE(model->item(i)->toolTip(), QString::fromStdString(ok.error().message));
                QVERIFY(target->itemText(i).endsWith(QStringLiteral(": not available")));
                continue;
            }
            // The device is described when its tooltip is first asked for, not at start-up.
            QVERIFY(model->item(i)->toolTip().isEmpty());
            QCOMPARE(target->itemData(i, Qt::ToolTipRole).toString(),
                     QString::fromStdString(b->describe().device));
        }
        QCOMPARE(target->currentData().toString(), QStringLiteral("cpu"));
    }

    // The phone as the target, through the fake adb: "Phone (Pixel 7)" in the Target box (the
    // unauthorized one greyed with adb's advice), both lanes on the phone with each pane showing
    // the phone's time and the link's apart; then the agent of one lane killed mid-run: both
    // lanes go on on the CPU, with one message saying why, and the session is kept.
    void phoneTargetShowsTheSplitAndFallsBackToTheCpuWhenTheLinkDrops() {
        m_view.reset();
        FakePhone phone(true);
        makeView(setup());
        QTRY_VERIFY_WITH_TIMEOUT(m_view->targetsKnown(), 60'000);
        auto* target = m_view->findChild<QComboBox*>(QStringLiteral("liveTarget"));
        QVERIFY(target);
        auto* model = qobject_cast<QStandardItemModel*>(target->model());
        const int pixel = target->findData(QStringLiteral("phone:2A291FDH3005ZK"));
        QVERIFY2(pixel >= 0, "the ready phone is not in the Target box");
        QCOMPARE(target->itemText(pixel), QStringLiteral("Phone (Pixel 7)"));
        QVERIFY(model->item(pixel)->isEnabled());
        const int other = target->findData(QStringLiteral("phone:R58M12ABCDE"));
        QVERIFY(other >= 0);
        QVERIFY(!model->item(other)->isEnabled());
        QVERIFY2(model->item(other)->toolTip().contains(QStringLiteral("USB debugging prompt")),
                 qPrintable(model->item(other)->toolTip()));

        QVERIFY(m_view->setTarget(QStringLiteral("phone:2A291FDH3005ZK")));
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 3, kTimeoutMs);
        for (views::LivePane* pane : {m_view->paneA(), m_view->paneB()}) {
            QVERIFY2(pane->title().endsWith(QStringLiteral("on the phone")),
                     qPrintable(pane->title()));
            QTRY_VERIFY_WITH_TIMEOUT(pane->numbers().contains(QStringLiteral(" ms + link ")), 5000);
            QVERIFY2(pane->numbers().contains(QStringLiteral("phone ")),
                     qPrintable(pane->numbers()));
        }
        QVERIFY(m_view->stats().speedupOnDevice());
        const QList<qint64> agents = phone.agents();
        QCOMPARE(agents.size(), 2);  // one per lane: an agent serves one client

        ::kill(static_cast<pid_t>(agents.back()), SIGKILL);
        QTRY_VERIFY_WITH_TIMEOUT(m_view->message().contains(QStringLiteral("link dropped")),
                                 60'000);
        QVERIFY2(m_view->message().contains(QStringLiteral("running on this computer's CPU")),
                 qPrintable(m_view->message()));
        QCOMPARE(m_view->state(), LiveView::State::Running);
        const int shown = m_view->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= shown + 3, kTimeoutMs);
        QCOMPARE(target->currentData().toString(), QStringLiteral("cpu"));
        for (views::LivePane* pane : {m_view->paneA(), m_view->paneB()}) {
            QVERIFY2(pane->title().endsWith(QStringLiteral("on the CPU")),
                     qPrintable(pane->title()));
            QTRY_VERIFY_WITH_TIMEOUT(!pane->numbers().contains(QStringLiteral("link")), 5000);
        }
        QVERIFY(!m_view->stats().speedupOnDevice());
        QVERIFY(m_session->state().pruned);  // the session is untouched
        m_view->stop();
        QTRY_COMPARE_WITH_TIMEOUT(m_view->state(), LiveView::State::Idle, 30'000);
    }

    // No phone: the phone's item is greyed with adb's clear words and the CPU runs; a phone whose
    // agent cannot start at Start runs the demo on the CPU, saying why.
    void noPhoneSaysSoAndTheCpuRuns() {
        m_view.reset();
        FakePhone phone(false);
        // The phone backend asks adb at most every 2 s: a listing from another test is let go.
        QTest::qWait(2100);
        makeView(setup());
        QTRY_VERIFY_WITH_TIMEOUT(m_view->targetsKnown(), 60'000);
        auto* target = m_view->findChild<QComboBox*>(QStringLiteral("liveTarget"));
        auto* model = qobject_cast<QStandardItemModel*>(target->model());
        const int item = target->findData(QStringLiteral("phone"));
        QVERIFY(item >= 0);
        QVERIFY(!model->item(item)->isEnabled());
        QVERIFY2(model->item(item)->toolTip().contains(QStringLiteral("no phone is connected")),
                 qPrintable(model->item(item)->toolTip()));
        QVERIFY(!m_view->setTarget(QStringLiteral("phone")));
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QVERIFY(m_view->paneB()->title().endsWith(QStringLiteral("on the CPU")));
        m_view->stop();
        QTRY_COMPARE_WITH_TIMEOUT(m_view->state(), LiveView::State::Idle, 30'000);

        // A phone listed, whose agent then fails to start.
        m_view.reset();
        FakePhone listed(true);
        QTest::qWait(2100);
        makeView(setup());
        QTRY_VERIFY_WITH_TIMEOUT(m_view->targetsKnown(), 60'000);
        QVERIFY(m_view->setTarget(QStringLiteral("phone")));  // the one ready phone
        FakePhone::set("FAKE_ADB_FAIL", "agent");
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QVERIFY2(m_view->message().contains(QStringLiteral("The phone could not be reached")),
                 qPrintable(m_view->message()));
        QVERIFY2(m_view->message().contains(QStringLiteral("Permission denied")),
                 qPrintable(m_view->message()));
        QVERIFY(m_view->paneA()->title().endsWith(QStringLiteral("on the CPU")));
        QVERIFY(m_view->paneB()->title().endsWith(QStringLiteral("on the CPU")));
    }

    // The GPU as the target: both PruneLab lanes run there and their titles say so; with the
    // dense lane on the CPU, the class compares the CPU against the GPU.
    void gpuTargetRunsBothLanesAndTheTitlesNameTheDevice() {
        QTRY_VERIFY_WITH_TIMEOUT(m_view->targetsKnown(), 60'000);
        auto vulkan = engine::findBackend("vulkan");
        if (!vulkan.ok()) QSKIP("SKIPPED LOUDLY: this build has no Vulkan backend");
        if (const engine::Status ok = (*vulkan)->available(); !ok.ok())
            QSKIP(qPrintable("SKIPPED LOUDLY: no Vulkan device: " +
                             QString::fromStdString(ok.error().message)));
        QVERIFY(m_view->setTarget(QStringLiteral("vulkan")));
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QVERIFY(m_view->paneA()->hasFrame());
        QVERIFY(m_view->paneB()->hasFrame());
        QVERIFY(m_view->stats().a.count >= 2 && m_view->stats().b.count >= 2);
        QVERIFY2(m_view->paneA()->title().endsWith(QStringLiteral("on the GPU")),
                 qPrintable(m_view->paneA()->title()));
        QVERIFY2(m_view->paneB()->title().endsWith(QStringLiteral("on the GPU")),
                 qPrintable(m_view->paneB()->title()));
        m_view->stop();
        QTRY_COMPARE_WITH_TIMEOUT(m_view->state(), LiveView::State::Idle, 30'000);

        m_view->setDenseLane(2);  // PruneLab dense on the CPU
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QVERIFY2(m_view->paneA()->title().endsWith(QStringLiteral("on the CPU")),
                 qPrintable(m_view->paneA()->title()));
        QVERIFY2(m_view->paneB()->title().endsWith(QStringLiteral("on the GPU")),
                 qPrintable(m_view->paneB()->title()));
    }

    void rateSliderSwapsLaneBWhileTheVideoRuns() {
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 3, kTimeoutMs);
        QSignalSpy swapped(m_view.get(), &LiveView::laneSwapped);
        m_view->setPruningRate(0.5);
        QTRY_COMPARE_WITH_TIMEOUT(m_view->laneSwaps(), 1, kTimeoutMs);
        QCOMPARE(m_view->state(), LiveView::State::Running);  // never stopped
        QCOMPARE(swapped.count(), 1);
        const int at = m_view->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= at + 3, kTimeoutMs);
        QCOMPARE(m_view->stats().laneBSwaps, 1);
    }

    void recordsAPlayableClipAndACsv() {
        QTemporaryDir dir;
        const QString clip = dir.filePath(QStringLiteral("demo.avi"));
        const QString csv = dir.filePath(QStringLiteral("demo.csv"));
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->state() == LiveView::State::Running, kTimeoutMs);
        m_view->startRecording(clip, csv);
        QVERIFY(m_view->isRecording());
        // On what the recorder took, not on frames shown: the frame waiting to be shown when
        // recording starts was made before it, so six shown frames may hold only five recorded
        // (on a busy machine the UI thread polls late and that frame waits longer).
        QTRY_VERIFY_WITH_TIMEOUT(m_view->recordedFrames() >= 6, kTimeoutMs);
        m_view->stopRecording();
        QVERIFY(!m_view->isRecording());
        QVERIFY2(m_view->message().startsWith(QStringLiteral("Saved")),
                 qPrintable(m_view->message()));

        std::ifstream in(csv.toStdString());
        std::string line;
        int rows = -1;  // the header
        while (std::getline(in, line)) ++rows;
        QVERIFY(rows >= 6);
        cv::VideoCapture played(clip.toStdString(), cv::CAP_FFMPEG);
        QVERIFY(played.isOpened());
        int frames = 0;
        cv::Mat frame;
        while (played.read(frame)) ++frames;
        QCOMPARE(frames, rows);  // every recorded frame is in both files
    }

    void sourceFailingMidStreamSwitchesToTheBundledVideo() {
        QTemporaryDir dir;
        const std::string cut = dir.filePath(QStringLiteral("cut.avi")).toStdString();
        {
            std::ifstream in(cacheDir() + "/video/vtest.avi", std::ios::binary);
            std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
            bytes.resize(bytes.size() / 20);  // a few dozen frames, then the file ends
            std::ofstream(cut, std::ios::binary)
                .write(bytes.data(), static_cast<long>(bytes.size()));
        }
        m_view->setSource(QString::fromStdString(cut));
        QCOMPARE(m_view->source(), QString::fromStdString(cut));
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->message().contains(QStringLiteral("showing vtest.avi")),
                                 kTimeoutMs);
        QVERIFY2(m_view->message().contains(QStringLiteral("cut.avi")),
                 qPrintable(m_view->message()));
        QCOMPARE(m_view->state(), LiveView::State::Running);
        const int at = m_view->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= at + 3, kTimeoutMs);
    }

    void aModelWithoutACatalogEntrySaysWhy() {
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(QString::fromStdString(
            cacheDir() + "/models/blazeface/face_detection_back_256x256_barracuda.onnx"));
        QVERIFY(loaded.wait(kTimeoutMs));
        QSignalSpy failed(m_view.get(), &LiveView::failed);
        m_view->start();
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failed.at(0).at(0).toString().contains(QStringLiteral("catalog")),
                 qPrintable(failed.at(0).at(0).toString()));
        QCOMPARE(m_view->state(), LiveView::State::Idle);
    }

    void onnxRuntimeCanBeTheDenseLane() {
        m_view->setOnnxRuntimeReference(true);  // not offered by this setup: stays PruneLab
        m_view.reset();
        views::LiveSetup withOrt = setup();
        withOrt.onnxRuntimeLane = [](const engine::Graph& graph, int threads) {
            return refrt::onnxRuntimeLane(graph, threads, "BlazeFace");
        };
        m_view = std::make_unique<LiveView>(m_session.get(), withOrt);
        m_view->setGenerated(false);
        m_view->setMeasured(false);
        m_view->setThreads(1);
        m_view->setOnnxRuntimeReference(true);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 3, kTimeoutMs);
        QCOMPARE(QString::fromStdString(m_view->stats().laneA),
                 QStringLiteral("ONNX Runtime dense on the CPU"));
        QVERIFY(m_view->stats().a.median > 0);
    }

    // Closing the tab while lane B's kernels compile kills the compile instead of waiting for
    // it (a first Real-ESRGAN compile takes minutes). The compiler is a fake that takes 30 s a
    // layer, given through $CXX as a person would give another compiler.
    void closingWhileCompilingDoesNotWait() {
        QTemporaryDir dir;
        const ScopedCompiler cxx(prunelab::testing::writeSlowCompiler(dir.path().toStdString()));
        m_view->setKernelCache(dir.filePath(QStringLiteral("kernels")));
        m_view->setGenerated(true);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->laneBOnStandIn(), kTimeoutMs);  // well into the compile
        QElapsedTimer timer;
        timer.start();
        m_view.reset();
        const qint64 ms = timer.elapsed();
        QVERIFY2(ms < 10'000, qPrintable(QStringLiteral("closing took %1 ms").arg(ms)));
    }

    // No silent wait: while lane B's generated kernels compile, the video runs with lane B on
    // the generic sparse kernels and a progress line says what is compiling; the generated lane
    // then swaps in without stopping the video. The real compiler at -O0, after half a second
    // a layer, into an empty kernel cache.
    void laneBStartsOnGenericKernelsAndSwapsToGeneratedOnes() {
        QTemporaryDir dir;
        const ScopedCompiler cxx(
            prunelab::testing::writeSlowCompiler(dir.path().toStdString(), "0.5", "c++"));
        m_view->setKernelCache(dir.filePath(QStringLiteral("kernels")));
        m_view->setGenerated(true);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->state() == LiveView::State::Running, kTimeoutMs);
        QVERIFY(m_view->laneBOnStandIn());
        QVERIFY2(QString::fromStdString(m_view->stats().laneB)
                     .contains(QStringLiteral("generic sparse kernels")),
                 m_view->stats().laneB.c_str());
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);  // the video runs
        const QString progress = m_view->progressText();
        QVERIFY2(progress.contains(QStringLiteral("Compiling fast kernels")) &&
                     progress.contains(QStringLiteral("layers")) &&
                     progress.contains(QStringLiteral("generic")),
                 qPrintable(progress));
        QVERIFY2(m_view->findChild<QWidget*>(QStringLiteral("liveProgress"))->isVisible() ||
                     !m_view->isVisible(),
                 "the progress row is shown");
        QTRY_VERIFY_WITH_TIMEOUT(m_view->laneSwaps() >= 1, 4 * kTimeoutMs);
        QCOMPARE(m_view->state(), LiveView::State::Running);  // never stopped
        QVERIFY(!m_view->laneBOnStandIn());
        QVERIFY2(QString::fromStdString(m_view->stats().laneB)
                     .contains(QStringLiteral("generated kernels")),
                 m_view->stats().laneB.c_str());
        QVERIFY2(m_view->message().contains(QStringLiteral("Fast kernels ready")),
                 qPrintable(m_view->message()));
        QVERIFY2(m_view->progressText().isEmpty(), qPrintable(m_view->progressText()));
        const int at = m_view->framesShown();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= at + 3, kTimeoutMs);
    }

    // Stop during the compile cancels it: the tab is idle again in seconds, not after it.
    void stopCancelsTheCompile() {
        QTemporaryDir dir;
        const ScopedCompiler cxx(prunelab::testing::writeSlowCompiler(dir.path().toStdString()));
        m_view->setKernelCache(dir.filePath(QStringLiteral("kernels")));
        m_view->setGenerated(true);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->laneBOnStandIn(), kTimeoutMs);
        QVERIFY(!m_view->progressText().isEmpty());
        QElapsedTimer timer;
        timer.start();
        m_view->stop();
        QTRY_COMPARE_WITH_TIMEOUT(m_view->state(), LiveView::State::Idle, 30'000);
        QVERIFY2(timer.elapsed() < 10'000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY(m_view->progressText().isEmpty());
        QVERIFY2(m_view->message().contains(QStringLiteral("Stopped after")),
                 qPrintable(m_view->message()));
    }

    // Closing the window while the tab runs must end the app within 2 s: the tab's part.
    void destroyingARunningViewReturnsWithinTwoSeconds() {
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 3, kTimeoutMs);
        QElapsedTimer timer;
        timer.start();
        m_view.reset();
        const qint64 ms = timer.elapsed();
        QVERIFY2(ms < 2'000, qPrintable(QStringLiteral("closing took %1 ms").arg(ms)));
    }

    // With no plan of the session's, lane B is the catalog's bundled pruned-and-retrained model
    // and says so. The demo here is the plan at 60% (the view cannot tell; it loads what it is
    // given on its worker); a demo that fails to load leaves patdnn-8, and the tab says why.
    void theDemoModelIsLaneBByDefault() {
        openWithoutPlan();
        views::LiveSetup withDemo = setup();
        withDemo.entryFor = [](const QString& source) {
            auto entry = gui::catalogEntryFor(source);
            if (entry)
                entry->demo = engine::CatalogDemo{"demo/fake.plab", "", "patdnn-8 at 60%",
                                                  "a test's demo", "tst_live"};
            return entry;
        };
        auto loads = std::make_shared<std::atomic<int>>(0);
        withDemo.demoFor =
            [loads](const engine::CatalogEntry&,
                    const engine::Graph& dense) -> engine::Result<engine::prune::PrunedModel> {
            ++*loads;
            auto plan = engine::prune::presetPlan("patdnn-8");
            if (!plan.ok()) return plan.error();
            return engine::prune::applyPlan(dense, engine::live::planAtRate(*plan, 0.6));
        };
        makeView(withDemo);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QCOMPARE(m_view->paneB()->title(),
                 QStringLiteral("Pruned and retrained (demo) on the CPU"));
        QCOMPARE(m_view->pruningRate(), 0.6);  // the slider shows the demo's rate
        QCOMPARE(loads->load(), 1);
        // Moving the slider prunes the dense weights anew, and says they are not retrained.
        m_view->setPruningRate(0.5);
        QTRY_COMPARE_WITH_TIMEOUT(m_view->laneSwaps(), 1, kTimeoutMs);
        QCOMPARE(m_view->paneB()->title(),
                 QStringLiteral("Pruned at 50% (not retrained) on the CPU"));
        QCOMPARE(loads->load(), 1);  // loaded once, on the worker

        views::LiveSetup broken = withDemo;
        broken.demoFor = [](const engine::CatalogEntry&,
                            const engine::Graph&) -> engine::Result<engine::prune::PrunedModel> {
            return engine::makeError(engine::ErrorCode::Corrupt, "checksum mismatch",
                                     "demo/fake.plab");
        };
        makeView(broken);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QCOMPARE(m_view->paneB()->title(),
                 QStringLiteral("Pruned (patdnn-8, not retrained) on the CPU"));
    }

    // The real thing: the catalog's bundled demo through plugins::loadDemoModel, as the app
    // wires it, when this checkout has one for face-back.
    void theBundledDemoRunsWhenTheCatalogHasOne() {
        openWithoutPlan();
        const auto entry = gui::catalogEntryFor(QStringLiteral("face-back"));
        QVERIFY(entry.has_value());
        if (!entry->demo || !plugins::demoModelPath(*entry).ok())
            QSKIP("SKIPPED: no bundled demo model for face-back in this checkout yet");
        views::LiveSetup withDemo = setup();
        withDemo.demoFor = plugins::loadDemoModel;
        makeView(withDemo);
        m_view->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_view->framesShown() >= 2, kTimeoutMs);
        QCOMPARE(m_view->paneB()->title(),
                 QStringLiteral("Pruned and retrained (demo) on the CPU"));
    }

    // The whole app: `prunelab face-front --live 1000` asked to close (SIGTERM, as a session
    // ending sends it) while the Live tab runs ends within 5 s, cleanly. Idle it ends in about
    // 0.2 s (joining the lanes' current frame, then freeing); a close that waited for a compile
    // or a measurement would take far longer. Under ctest -j2 beside the training tests a
    // starved 0.2 s once took 2.1 s, so the bound is not 2 s.
    void theAppEndsWithinFiveSecondsOfACloseWhileLiveRuns() {
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        app.setProcessEnvironment(env);
        app.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        app.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                  {QStringLiteral("face-front"), QStringLiteral("--live"), QStringLiteral("1000"),
                   QStringLiteral("--size"), QStringLiteral("1024x768")});
        QVERIFY2(app.waitForStarted(30'000), qPrintable(app.errorString()));
        // Running: its capture thread is up (the lanes are built before it starts).
        QTRY_VERIFY_WITH_TIMEOUT(
            threadNames(app.processId()).contains(QStringLiteral("pl-capture")) ||
                app.state() == QProcess::NotRunning,
            kTimeoutMs);
        QVERIFY2(app.state() == QProcess::Running, "prunelab ended before its live demo ran");
        QTest::qWait(500);  // frames going through both lanes
        QElapsedTimer timer;
        timer.start();
        app.terminate();  // SIGTERM
        const bool ended = app.waitForFinished(30'000);
        const qint64 ms = timer.elapsed();
        if (!ended) app.kill();
        QVERIFY2(ended, "prunelab did not end within 30 s of SIGTERM");
        QVERIFY2(ms < 5'000, qPrintable(QStringLiteral("prunelab took %1 ms to end").arg(ms)));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        QCOMPARE(app.exitCode(), 0);
    }

    void theWindowHasALiveTab() {
        gui::MainWindow window(false);
        QVERIFY(window.liveView() != nullptr);
        QCOMPARE(window.analysisTabs()->page(QStringLiteral("live")), window.liveView());
        // A classroom projector is often 1280 pixels wide: the tab must not widen the window.
        QVERIFY2(window.minimumSizeHint().width() <= 1280,
                 qPrintable(QString::number(window.minimumSizeHint().width())));
    }

    // The same when the window is destroyed from outside under X11 (a window manager's
    // force-close; here `xdotool windowclose` on Xvfb): Qt gives no close event for it, and the
    // app used to run on with no window, its capture thread still reading frames.
    void theAppEndsWithinTwoSecondsOfItsWindowDestroyedFromOutside() {
        const QString xvfb = QStandardPaths::findExecutable(QStringLiteral("Xvfb"));
        const QString xdotool = QStandardPaths::findExecutable(QStringLiteral("xdotool"));
        if (xvfb.isEmpty() || xdotool.isEmpty())
            QSKIP("SKIPPED: needs Xvfb and xdotool (apt-get install xvfb xdotool)");
        // A display of its own, numbered apart from a person's and from other test runs.
        const int display = 90 + static_cast<int>(QCoreApplication::applicationPid() % 300);
        const QString name = QStringLiteral(":%1").arg(display);
        QProcess server;
        server.start(xvfb, {name, QStringLiteral("-screen"), QStringLiteral("0"),
                            QStringLiteral("1280x800x24"), QStringLiteral("-nolisten"),
                            QStringLiteral("tcp")});
        QVERIFY2(server.waitForStarted(30'000), qPrintable(server.errorString()));
        const QString socket = QStringLiteral("/tmp/.X11-unix/X%1").arg(display);
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(socket) || server.state() == QProcess::NotRunning,
                                 30'000);
        QVERIFY2(server.state() == QProcess::Running, "Xvfb did not start");

        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));
        env.insert(QStringLiteral("DISPLAY"), name);
        QProcess app;
        app.setProcessEnvironment(env);
        app.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        app.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                  {QStringLiteral("face-front"), QStringLiteral("--live"), QStringLiteral("1000"),
                   QStringLiteral("--size"), QStringLiteral("1024x768")});
        QVERIFY2(app.waitForStarted(30'000), qPrintable(app.errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(
            threadNames(app.processId()).contains(QStringLiteral("pl-capture")) ||
                app.state() == QProcess::NotRunning,
            kTimeoutMs);
        QVERIFY2(app.state() == QProcess::Running, "prunelab ended before its live demo ran");
        auto windowId = [&] {
            QProcess search;
            search.setProcessEnvironment(env);
            search.start(xdotool, {QStringLiteral("search"), QStringLiteral("--name"),
                                   QStringLiteral("^PruneLab - ")});
            search.waitForFinished(30'000);
            return QString::fromUtf8(search.readAllStandardOutput())
                .section(QLatin1Char('\n'), 0, 0);
        };
        QString window;
        QTRY_VERIFY_WITH_TIMEOUT(!(window = windowId()).isEmpty(), 30'000);
        QElapsedTimer timer;
        timer.start();
        QProcess close;
        close.setProcessEnvironment(env);
        close.start(xdotool, {QStringLiteral("windowclose"), window});
        const bool ended = app.waitForFinished(30'000);
        const qint64 ms = timer.elapsed();
        if (!ended) app.kill();
        close.waitForFinished(10'000);
        server.terminate();
        server.waitForFinished(10'000);
        QVERIFY2(ended, "prunelab ran on for 30 s with its window destroyed");
        QVERIFY2(ms < 2'000, qPrintable(QStringLiteral("prunelab took %1 ms to end").arg(ms)));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
    }

  private:
    // The session on face-back with no plan applied (init() applies patdnn-8).
    void openWithoutPlan() {
        m_view.reset();
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(QStringLiteral("face-back"));
        QVERIFY2(loaded.wait(kTimeoutMs), "BlazeFace (face-back) did not open");
        QVERIFY(!m_session->state().pruned);
    }
    void makeView(const views::LiveSetup& s) {
        m_view = std::make_unique<LiveView>(m_session.get(), s);
        m_view->setGenerated(false);
        m_view->setMeasured(false);
        m_view->setThreads(1);
    }

    std::unique_ptr<views::ModelSession> m_session;
    std::unique_ptr<LiveView> m_view;
};

QTEST_MAIN(TestLive)
#include "tst_live.moc"

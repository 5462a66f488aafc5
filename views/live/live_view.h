// The Live tab: the same frames through the dense model and the compiled pruned model, side by
// side with their FPS, the speedup, a latency sparkline, a pruning-rate slider that recompiles
// lane B in the background without stopping the video, recording and fullscreen. The engine's
// live pipeline runs on a worker thread; the tab polls its newest frame, so a slow model never
// queues work on the UI thread.
#pragma once

#include <QFuture>
#include <QImage>
#include <QList>
#include <QString>
#include <QWidget>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/live/live_pipeline.h"

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTimer;
class QVBoxLayout;

namespace prunelab::engine::live {
class LiveRecorder;
}

namespace prunelab::views {

class LatencySparkline;
class LivePane;
class ModelSession;

struct LiveSetup {
    // How to feed and draw the session's model (its catalog entry); nullopt: the tab says the
    // model needs one.
    std::function<std::optional<engine::CatalogEntry>(const QString& source)> entryFor;
    QString bundledVideo;  // the default source, and the fallback when a source fails
    // ONNX Runtime as lane A (views do not link the plugins); empty: only PruneLab dense.
    std::function<engine::Result<engine::live::Lane>(const engine::Graph&, int threads)>
        onnxRuntimeLane;
    // The catalog entry's bundled pruned-and-retrained model on `dense` (plugins::loadDemoModel;
    // views link no plugins). Lane B runs it when the session has no pruned state and the entry
    // has a demo; empty, or when it fails: the patdnn-8 preset, not retrained, as the tab says.
    std::function<engine::Result<engine::prune::PrunedModel>(const engine::CatalogEntry&,
                                                             const engine::Graph& dense)>
        demoFor;
};

class LiveView : public QWidget {
    Q_OBJECT

  public:
    enum class State { Idle, Preparing, Running };

    LiveView(ModelSession* session, LiveSetup setup, QWidget* parent = nullptr);
    // Stops the pipeline, cancels lane B's compiles and waits for them (a capture thread
    // blocked on a device is let go): it returns in well under 2 s.
    ~LiveView() override;

    // "vtest.avi", a file, or "camera:N" (engine::live::parseSource).
    void setSource(const QString& spec);
    QString source() const;
    // A camera's capture size, e.g. 640x480; empty: the camera's own.
    void setCameraResolution(const QString& wxh);
    void setThreads(int threads);  // both lanes; restarts a running demo
    // Lane A: PruneLab's dense runtime (false) or ONNX Runtime (true, when the app offers it).
    void setOnnxRuntimeReference(bool on);
    int threads() const;
    // Lane B's pruning rate; while running, lane B is re-pruned and recompiled in the
    // background and swapped in at the next frame.
    void setPruningRate(double rate);
    double pruningRate() const;
    // Generated (host-compiled) kernels, and the measured decision; both on by default.
    void setGenerated(bool on) { m_generated = on; }
    void setMeasured(bool on) { m_measured = on; }
    // Where lane B's generated kernels are cached; empty (the default): the user's kernel cache.
    void setKernelCache(const QString& dir) { m_kernelCache = dir.toStdString(); }
    // How the progress line names lane B's model: "the pruned model" (empty), or a classroom's
    // "the small brain".
    void setPrunedModelWords(const QString& words) { m_prunedWords = words; }

    State state() const { return m_state; }
    // The Target box has its answers (each backend's available(), asked on a worker).
    bool targetsKnown() const { return m_targetsProbed; }
    // Picks the Target box's backend by name ("cpu", "vulkan"); false when it is not listed or
    // cannot run here (or the probe has not answered yet).
    bool setTarget(const QString& name);
    // Lane A: 0 PruneLab dense on the target, 1 ONNX Runtime, 2 PruneLab dense on the CPU.
    void setDenseLane(int choice);
    engine::live::LiveStats stats() const;
    int framesShown() const { return m_framesShown; }
    int laneSwaps() const { return m_swapsSeen; }
    bool isRecording() const;
    int64_t recordedFrames() const;  // in the clip being recorded (0 when none)
    QString message() const;
    // The progress line of a wait (loading, compiling lane B's kernels, measuring); empty when
    // nothing is being waited for.
    QString progressText() const;
    // Lane B runs on the generic sparse kernels while its generated ones compile.
    bool laneBOnStandIn() const;
    LivePane* paneA() const { return m_paneA; }
    LivePane* paneB() const { return m_paneB; }
    LatencySparkline* sparkline() const { return m_sparkline; }

  public slots:
    void start();
    void stop();
    // The side-by-side clip (.avi) and, when csvPath is not empty, per-frame timings.
    void startRecording(const QString& clipPath, const QString& csvPath);
    void stopRecording();
    void toggleFullScreen();

  signals:
    void stateChanged(State state);
    void frameShown();
    void laneSwapped();
    void targetsProbed();
    // The demo stopped on an error (named); the session is untouched.
    void failed(const QString& message);

  private:
    struct Shown;     // the newest frame, converted for painting, waiting for the timer
    struct Job;       // what the worker needs, copied from the session on the UI thread
    struct Progress;  // what is being waited for, set by any thread, shown by poll()
    struct Pending;   // lane B's generated kernels compiling while a stand-in runs

    void buildUi();
    void buildProgressRow(QVBoxLayout* layout);
    void setState(State state);
    void showMessage(const QString& text);
    void poll();
    void rebuildLaneB();
    void finishRun(const QString& error);
    std::optional<Job> makeJob(QString* why) const;
    QString runJob(const std::shared_ptr<Job>& job);  // the worker; the error, or empty
    // Lane B's swap when a pending build is done (the pipeline's thread, after each frame).
    void takeReadyLaneB(engine::live::LivePipeline& pipeline);
    // The job's lanes on this computer's CPU from now on (its remote target lost): the Target
    // box follows, and rebuilds for the lost target are cancelled. The worker's thread.
    void switchToCpu(Job& job);
    // A remote lane's link dropped mid-run: both lanes on the CPU, and the message saying so.
    engine::Result<engine::live::LaneFallback> linkLost(const std::shared_ptr<Job>& job,
                                                        const engine::Error& lost);
    // A new lane B build: cancels the previous one (superseded) and returns its own flag.
    std::shared_ptr<std::atomic<bool>> newBuildCancel();
    void cancelBuilds();
    void dropPending();
    void setProgress(const Progress& progress);  // any thread
    void showProgress();                         // UI thread
    void showRate(double rate);                  // the slider at `rate` (0..1), without a rebuild
    void onRecordClicked();

    ModelSession* m_session;
    LiveSetup m_setup;
    State m_state = State::Idle;
    bool m_generated = true, m_measured = true;
    bool m_targetsProbed = false;
    QString m_runDevice;  // the running target's words ("on the GPU"); empty: the CPU
    QString m_runWord;    // its device in one word ("phone"), for a remote lane's numbers
    std::string m_kernelCache;
    QString m_prunedWords;
    double m_rate = -1;  // -1: the plan's own
    int m_framesShown = 0, m_swapsSeen = 0;

    std::thread m_worker;
    std::atomic<bool> m_stop{false};
    mutable std::mutex m_mutex;  // guards the members below it
    std::shared_ptr<engine::live::LivePipeline> m_pipeline;
    std::unique_ptr<Shown> m_shown;
    std::unique_ptr<engine::live::LiveRecorder> m_recorder;
    QString m_recordPath;
    QStringList m_messages;
    QList<QFuture<void>> m_rebuilds;  // lane B rebuilds in flight (UI thread only)
    int m_rebuildGeneration = 0;
    std::shared_ptr<std::atomic<bool>> m_buildCancel;  // the newest lane B build's
    std::unique_ptr<Pending> m_pending;
    std::unique_ptr<Progress> m_progress;
    QString m_swapTitle, m_swapNote;  // for lane B's next swap: its pane's title and a message
    // The bundled demo model, loaded once per opened model (the slider's rebuilds reuse it).
    std::shared_ptr<const engine::prune::PrunedModel> m_demo;

    QComboBox* m_sourceBox;
    QComboBox* m_target;
    QComboBox* m_reference;   // lane A
    QComboBox* m_resolution;  // cameras only
    QSpinBox* m_threads;
    QSlider* m_rateSlider;
    QLabel* m_rateLabel;
    QPushButton* m_startStop;
    QPushButton* m_record;
    QPushButton* m_fullScreen;
    LivePane* m_paneA;
    LivePane* m_paneB;
    QLabel* m_speedup;
    QLabel* m_overhead;
    QLabel* m_status;
    QWidget* m_progressRow;
    QLabel* m_progressLabel;
    QProgressBar* m_progressBar;
    LatencySparkline* m_sparkline;
    QTimer* m_poll;
    QTimer* m_rateDebounce;

  public:
    // Classroom mode (views/classroom): only the two pictures, titled `titleA` (dense) and
    // `titleB` (pruned), with their pictures a second in words; every control, number and
    // message of the researcher's tab is hidden. Empty titles: the researcher's tab again.
    void setClassroomPresentation(const QString& titleA, const QString& titleB);
    bool isClassroomPresentation() const { return !m_classroomTitleA.isEmpty(); }

  private:
    void applyClassroomWords();
    QString m_classroomTitleA, m_classroomTitleB;
    QList<QWidget*> m_classroomHidden;  // what the presentation hid (children), to show again
    bool m_classroomHooked = false;
};

}  // namespace prunelab::views

// The retrain panel: data, method, epochs and ADMM's schedule (rho, its growth, updates, stages;
// defaults from engine::train::RetrainOptions); Start, Pause, Stop and Resume from the run's
// checkpoint; a progress bar with time left; live charts of loss, accuracy or PSNR, ADMM
// residuals and rho (stage starts marked); and W, Z, U of the selected layer at each update.
// The trainer runs on a worker thread; its callbacks reach the widgets through queued calls.
#pragma once

#include <QString>
#include <QWidget>
#include <memory>
#include <optional>

#include "engine/train/trainer.h"
#include "views/train/retrain_job.h"

class QChart;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QScatterSeries;
class QSpinBox;
class QChartView;

namespace prunelab::views {

class AdmmAnimation;
class ExperimentLog;
class ModelSession;

class RetrainPanel : public QWidget {
    Q_OBJECT

  public:
    enum class State { Idle, Running, Paused, Stopping };

    // `retrainer` empty: the panel explains that this build cannot train and stays disabled.
    RetrainPanel(ModelSession* session, ExperimentLog* experiments, RetrainFunction retrainer,
                 QWidget* parent = nullptr);
    ~RetrainPanel() override;  // stops a running training and waits for it

    // Where each run keeps its checkpoint, history and retrained model (default: the app's data
    // folder, runs/). Tests point it at a temporary folder.
    void setRunsFolder(const QString& folder) { m_runsFolder = folder; }
    // The video offered for label-free retraining (the bundled clip).
    void setDefaultVideo(const QString& path);
    // The layer whose W, Z and U are animated (prunableLayers() order); follows the selection.
    void setWatchLayer(int layer);

    // The choices, as the form shows them (tests and the lessons set them).
    void setData(const QString& spec);  // "fashion-mnist", "mnist", "folder:P", "frames:P"
    QString data() const;
    void setMethod(engine::train::RetrainMethod method);
    void setEpochs(int epochs, int fineTuneEpochs);
    void setStepsPerEpoch(int steps);  // 0: the whole data set
    void setTrainingLimit(int examples);
    // multiplier 0 and updatesPerEpoch 0 are RetrainOptions' "automatic" (the form says "auto").
    void setRho(double rho, double multiplier, double max, int updatesPerEpoch);
    void setAdmmStages(int stages);  // 0: automatic (one per 20x the plan removes)

    State state() const { return m_state; }
    bool canResume() const;
    QString lastError() const { return m_lastError; }
    QString runFolder() const { return m_runFolder; }
    AdmmAnimation* animation() const { return m_animation; }
    // Points on the charts: loss per step, the metric per record, residuals per ADMM update.
    int lossPoints() const;
    int metricPoints() const;
    int residualPoints() const;
    int stageStarts() const;  // marks where a new ADMM stage restarted rho

  public slots:
    void start();
    void pause();  // or continue when paused
    void stop();
    void resume();  // the last run, from its checkpoint

  signals:
    void stateChanged(State state);
    // The run ended: retrained weights are in the session (ok) or `message` says why not.
    void finished(bool ok, const QString& message);

  private:
    struct Control;
    void buildForm();
    void run(RetrainRequest request, bool resume);
    void setState(State state);
    void updateEnabled();
    void onProgress(const engine::train::TrainProgress& p);
    void onRecord(const engine::train::IterationRecord& r);
    void onDone(std::shared_ptr<engine::Result<RetrainOutcome>> outcome, bool resumed);
    void clearCharts();
    void scrollToRun();
    void chooseFolder(const QString& kind);
    std::optional<RetrainRequest> requestFromForm(QString* why) const;

    ModelSession* m_session;
    ExperimentLog* m_experiments;
    RetrainFunction m_retrainer;
    QString m_runsFolder, m_runFolder, m_defaultVideo, m_lastError;
    State m_state = State::Idle;
    std::shared_ptr<Control> m_control;
    std::optional<RetrainRequest> m_lastRequest;  // what Resume continues
    int m_watchLayer = -1;

    QScrollArea* m_scroll = nullptr;
    // Set by Start: the view keeps the buttons, progress and charts in sight (the form is
    // disabled while a run lasts) until the person scrolls.
    bool m_followRun = false;
    QComboBox* m_data = nullptr;
    QComboBox* m_method = nullptr;
    QSpinBox *m_epochs = nullptr, *m_fineTune = nullptr, *m_steps = nullptr, *m_limit = nullptr;
    QSpinBox *m_batch = nullptr, *m_updates = nullptr, *m_stages = nullptr;
    QDoubleSpinBox *m_lr = nullptr, *m_rho = nullptr, *m_rhoMul = nullptr, *m_rhoMax = nullptr;
    QPushButton *m_start = nullptr, *m_pause = nullptr, *m_stop = nullptr, *m_resume = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel *m_status = nullptr, *m_unavailable = nullptr;
    QChart *m_lossChart = nullptr, *m_metricChart = nullptr, *m_admmChart = nullptr;
    QLineSeries *m_loss = nullptr, *m_metric = nullptr, *m_primal = nullptr, *m_dual = nullptr,
                *m_rhoSeries = nullptr;
    QScatterSeries* m_stageStarts = nullptr;
    AdmmAnimation* m_animation = nullptr;
};

}  // namespace prunelab::views

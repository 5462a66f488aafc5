// Experiments: one record per plan a person applied in the session, with what it cost and saved
// (density, MACs, bytes) and, once measured or retrained, its latency and accuracy or PSNR. The
// compare view and the project file read them; ExperimentLog records them from a ModelSession.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QString>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"

namespace prunelab::views {

class ModelSession;

struct Experiment {
    int id = 0;            // unique in the session, from 1, in the order they were recorded
    QString name;          // "patdnn-8 on face-front"
    QString model;         // the model reference: a path or a catalog id, as opened
    QString plan;          // engine::prune::planToJson text
    QString scheme;        // the main scheme: the plan's default entry's (or the most used one)
    double density = 1.0;  // kept weights / weights of the prunable layers
    int64_t keptMacs = 0, denseMacs = 0;       // whole model (ModelStats keptModelMacs, modelMacs)
    int64_t storageBytes = 0, denseBytes = 0;  // ModelStats bestBytes, denseBytes
    // Whole-model times of the measure pass (Speed tab's Measure), in ms.
    std::optional<double> latencyMs, denseLatencyMs;
    std::optional<double> accuracy;  // in [0, 1]; set by retraining
    std::optional<double> psnrDb;    // against the dense model, when retrained without labels
    // A retrained experiment: how ("admm", "one-shot", "gradual") and the .plab file holding
    // its weights (the plan alone cannot reproduce them). Empty for a plain projection.
    QString retrainMethod, trainedModel;

    bool operator==(const Experiment& other) const = default;
};

// JSON for the project file. fromJson checks every field's type and range; errors say which.
QJsonObject experimentToJson(const Experiment& e);
engine::Result<Experiment> experimentFromJson(const QJsonObject& object);

// The experiment's name: "<plan's preset name or scheme> on <model's file name or id>".
QString experimentName(const engine::prune::PruningPlan& plan, const QString& model,
                       const QString& label = {});
// A plan's short name: its preset's name when it is one, else its main scheme.
QString planLabel(const engine::prune::PruningPlan& plan);
// The main scheme of a plan: the default entry's, else the one most layers name, else "dense".
QString mainScheme(const engine::prune::PruningPlan& plan);

// Records an Experiment each time a plan requested through applyPlan() lands in the session (not
// on undo, redo or reset, which show an earlier state), and follows the session's current state,
// so a measure updates the experiment on screen. Owned by the window beside the session.
class ExperimentLog : public QObject {
    Q_OBJECT

  public:
    explicit ExperimentLog(ModelSession* session, QObject* parent = nullptr);

    // Applies `plan` through the session and records the result as an experiment named after
    // `label` (a preset's name) or the plan's main scheme.
    void applyPlan(const engine::prune::PruningPlan& plan, const QString& label = {});

    const std::vector<Experiment>& experiments() const { return m_experiments; }
    // The experiment of the session's current state; -1 when it is dense or not one recorded.
    int currentId() const { return m_currentId; }
    const Experiment* find(int id) const;
    // Sets the measured whole-model times of experiment `id` (the current one when -1).
    void setLatency(double compiledMs, double denseMs, int id = -1);
    void setAccuracy(int id, std::optional<double> accuracy, std::optional<double> psnrDb);
    // Puts retrained weights into the session (undoable) and records them as an experiment
    // with its method, metric and the .plab file they were saved to.
    void adoptRetrained(const engine::Graph& trained, const engine::prune::PruningPlan& plan,
                        const QString& method, const QString& trainedModel,
                        std::optional<double> accuracy, std::optional<double> psnrDb);
    // Replaces every experiment (a project being opened); ids continue after the largest.
    void setExperiments(std::vector<Experiment> experiments);

  signals:
    // Any experiment added, changed or the list replaced.
    void changed();

  private:
    void stateChanged();

    ModelSession* m_session;
    std::vector<Experiment> m_experiments;
    struct Pending {
        engine::prune::PruningPlan plan;
        QString label;
        QString trainedModel, retrainMethod;  // retrained weights (adoptRetrained)
        std::optional<double> accuracy, psnrDb;
    };
    std::deque<Pending> m_pending;  // applies requested and not landed yet, oldest first
    int m_nextId = 1, m_currentId = -1;
};

}  // namespace prunelab::views

// The workbench's state: the opened model, the plan applied to it and the pruned result with
// its statistics. Opening and applying run on the global thread pool; results are taken on the
// UI thread, so every getter is safe to call from slots. Applying and resetting are undoable.
#pragma once

#include <QObject>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/layer_view.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"
#include "engine/prune/stats.h"

class QUndoStack;

namespace prunelab::views {

// Turns a file path or a catalog id into a graph. Views see only the engine, so the app passes
// the plugins' loader in. Called on a worker thread: it must not touch shared state.
using ModelOpener = std::function<engine::Result<engine::Graph>(const QString& source)>;

// One applied state of the model. No plan: `pruned` is empty and `stats` come from the graph's
// own zeros. A .plab opens with its stored pruning in `pruned` (its graph is then the opened
// one), and so does a model pruned before it came here (prune::prunedModelFromZeros). States are
// immutable and shared, so undo restores the very same tensors.
struct PruneState {
    std::optional<engine::prune::PrunedModel> pruned;
    engine::prune::ModelStats stats;
    QString trainedModel;  // retrained weights: the .plab they were saved to; else empty
};

class ModelSession : public QObject {
    Q_OBJECT

  public:
    explicit ModelSession(ModelOpener opener, QObject* parent = nullptr);
    // Waits for running jobs: they hold copies of the graph, never pointers into the session.
    ~ModelSession() override;

    // Opens in the background: modelLoaded() or failed(); on failure the current model stays.
    void openModel(const QString& source);
    // Applies to the opened model in the background: planApplied() or failed(). No-op without
    // a model. Pushes an undo command.
    void applyPlan(const engine::prune::PruningPlan& plan);
    // Back to the model as opened (undoable): dense, or a .plab file's own pruning.
    void resetPlan();
    // Makes retrained weights under `plan` the current state (undoable, named `text`), in the
    // background: planApplied() or failed(). `trained` must have the opened model's layers.
    void adoptTrained(const engine::Graph& trained, const engine::prune::PruningPlan& plan,
                      const QString& trainedModel, const QString& text);

    bool hasModel() const { return m_graph.has_value(); }
    bool isBusy() const { return m_jobs > 0; }
    QString source() const { return m_source; }                      // as given to openModel()
    const engine::Graph& originalGraph() const { return *m_graph; }  // requires hasModel()
    // The pruned graph when a plan is applied, else the original (for a .plab, the same).
    const engine::Graph& currentGraph() const;
    const std::vector<engine::Layer>& layers() const { return m_layers; }
    const PruneState& state() const { return *m_state; }  // requires hasModel()
    // The plan of the current state (a .plab's own when opened); nullopt when dense.
    std::optional<engine::prune::PruningPlan> currentPlan() const;
    QUndoStack* undoStack() const { return m_undo; }

  signals:
    void modelLoaded();
    // The applied state changed: a plan applied, reset, undone or redone.
    void planApplied();
    // A message a person can act on, naming the file (or plan) and the problem.
    void failed(const QString& message);
    void busyChanged(bool busy);

  private:
    friend class SetStateCommand;
    class JobGuard;
    void setState(std::shared_ptr<const PruneState> state);
    void pushState(std::shared_ptr<const PruneState> state, const QString& text);
    void jobStarted();
    void jobFinished();

    ModelOpener m_opener;
    QUndoStack* m_undo = nullptr;
    QString m_source;
    std::optional<engine::Graph> m_graph;
    std::vector<engine::Layer> m_layers;
    std::shared_ptr<const PruneState> m_state;
    std::shared_ptr<const PruneState> m_openedState;  // as opened; what Reset goes back to
    // Bumped by every open request and every loaded model: a result that arrives for an older
    // request or model is dropped instead of overwriting newer state.
    quint64 m_openRequest = 0, m_modelGeneration = 0;
    int m_jobs = 0;
};

}  // namespace prunelab::views

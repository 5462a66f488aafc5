// The workbench's state and its background jobs (see model_session.h).
#include "views/session/model_session.h"

#include <QFileInfo>
#include <QFutureWatcher>
#include <QUndoCommand>
#include <QUndoStack>
#include <QtConcurrent/QtConcurrentRun>

#include "engine/prune/pruned_model.h"
#include "views/common/engine_text.h"

namespace prunelab::views {

namespace {

// What a worker hands back; shared_ptr because engine::Result has no default constructor,
// which QFuture's result store needs.
struct LoadResult {
    engine::Result<engine::Graph> graph = engine::makeError(engine::ErrorCode::Internal, "");
    std::vector<engine::Layer> layers;
    engine::prune::ModelStats stats;
    std::optional<engine::prune::PrunedModel> plab;  // a .plab's own pruning
};
struct ApplyResult {
    engine::Result<engine::prune::PrunedModel> pruned =
        engine::makeError(engine::ErrorCode::Internal, "");
    engine::prune::ModelStats stats;
};

QString sourceName(const QString& source) {
    // A path shows as its file name (the folder is in the tooltip of the recent list); a catalog
    // id as itself.
    return QFileInfo(source).fileName().isEmpty() ? source : QFileInfo(source).fileName();
}

}  // namespace

// Switches between two applied states; both are kept alive by the command itself.
class SetStateCommand : public QUndoCommand {
  public:
    SetStateCommand(ModelSession* session, std::shared_ptr<const PruneState> before,
                    std::shared_ptr<const PruneState> after, const QString& text)
        : QUndoCommand(text),
          m_session(session),
          m_before(std::move(before)),
          m_after(std::move(after)) {}
    void undo() override { m_session->setState(m_before); }
    void redo() override { m_session->setState(m_after); }

  private:
    ModelSession* m_session;
    std::shared_ptr<const PruneState> m_before, m_after;
};

ModelSession::ModelSession(ModelOpener opener, QObject* parent)
    : QObject(parent), m_opener(std::move(opener)), m_undo(new QUndoStack(this)) {}

ModelSession::~ModelSession() {
    // The jobs hold only their own copies, but one still running at exit would use the engine
    // while its statics are destroyed. Only our own jobs: the pool is shared.
    for (QFutureWatcherBase* watcher : findChildren<QFutureWatcherBase*>()) {
        watcher->disconnect(this);
        watcher->waitForFinished();
    }
}

const engine::Graph& ModelSession::currentGraph() const {
    if (m_state && m_state->pruned) return m_state->pruned->graph;
    return *m_graph;
}

std::optional<engine::prune::PruningPlan> ModelSession::currentPlan() const {
    if (m_state && m_state->pruned) return m_state->pruned->plan;
    return std::nullopt;
}

// Ends a job when a result handler returns, whichever way: busyChanged(false) then comes after
// the new state is in place, so its listeners see it.
class ModelSession::JobGuard {
  public:
    explicit JobGuard(ModelSession* session) : m_session(session) {}
    ~JobGuard() { m_session->jobFinished(); }
    JobGuard(const JobGuard&) = delete;
    JobGuard& operator=(const JobGuard&) = delete;

  private:
    ModelSession* m_session;
};

void ModelSession::jobStarted() {
    if (m_jobs++ == 0) emit busyChanged(true);
}

void ModelSession::jobFinished() {
    if (--m_jobs == 0) emit busyChanged(false);
}

void ModelSession::openModel(const QString& source) {
    const quint64 request = ++m_openRequest;
    auto* watcher = new QFutureWatcher<std::shared_ptr<LoadResult>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, request, source] {
        watcher->deleteLater();
        const JobGuard guard(this);
        std::shared_ptr<LoadResult> r = watcher->result();
        if (request != m_openRequest) return;  // a newer open request wins
        if (!r->graph.ok()) {
            emit failed(
                tr("Could not open %1: %2").arg(sourceName(source), errorText(r->graph.error())));
            return;
        }
        m_source = source;
        m_graph = std::move(r->graph).value();
        m_layers = std::move(r->layers);
        ++m_modelGeneration;
        m_undo->clear();
        auto opened = std::make_shared<PruneState>();
        opened->pruned = std::move(r->plab);
        opened->stats = std::move(r->stats);
        m_openedState = opened;
        m_state = std::move(opened);
        emit modelLoaded();
        emit planApplied();
    });
    jobStarted();
    ModelOpener opener = m_opener;
    watcher->setFuture(QtConcurrent::run([opener, source] {
        auto r = std::make_shared<LoadResult>();
        r->graph = opener(source);
        if (!r->graph.ok()) return r;
        const engine::Graph& graph = r->graph.value();
        r->layers = engine::prunableLayers(graph);
        if (engine::prune::isPlabGraph(graph)) {
            // A .plab keeps its plan, schemes and masks: show them as `prunelab-cli stats` does.
            auto pruned = engine::prune::prunedModelFromGraph(graph);
            if (!pruned.ok()) {
                r->graph = pruned.error();
                return r;
            }
            r->stats = engine::prune::modelStats(pruned.value());
            r->plab = std::move(pruned).value();
        } else {
            // A pruned ONNX file shows its own density: the masks are its zeros. A model pruned
            // before it came here (MediaPipe's sparse face model) is shown as pruned, so the
            // sparsity map and the compiler read its own zeros without a plan applied.
            r->stats = engine::prune::modelStats(graph);
            r->plab = engine::prune::prunedModelFromZeros(graph);
        }
        return r;
    }));
}

void ModelSession::applyPlan(const engine::prune::PruningPlan& plan) {
    if (!hasModel()) return;
    const quint64 generation = m_modelGeneration;
    auto* watcher = new QFutureWatcher<std::shared_ptr<ApplyResult>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        const JobGuard guard(this);
        std::shared_ptr<ApplyResult> r = watcher->result();
        if (generation != m_modelGeneration) return;  // applied to a model since replaced
        if (!r->pruned.ok()) {
            emit failed(tr("Could not apply the plan to %1: %2")
                            .arg(sourceName(m_source), errorText(r->pruned.error())));
            return;
        }
        auto state = std::make_shared<PruneState>();
        state->pruned = std::move(r->pruned).value();
        state->stats = std::move(r->stats);
        pushState(std::move(state), tr("Apply plan"));
    });
    jobStarted();
    // Graph copies share tensor storage and applyPlan writes into fresh tensors, so the copy is
    // cheap and the session's weights are never touched from the worker.
    watcher->setFuture(QtConcurrent::run([graph = *m_graph, plan] {
        auto r = std::make_shared<ApplyResult>();
        r->pruned = engine::prune::applyPlan(graph, plan);
        if (r->pruned.ok()) r->stats = engine::prune::modelStats(r->pruned.value());
        return r;
    }));
}

void ModelSession::adoptTrained(const engine::Graph& trained,
                                const engine::prune::PruningPlan& plan, const QString& trainedModel,
                                const QString& text) {
    if (!hasModel()) return;
    const quint64 generation = m_modelGeneration;
    auto* watcher = new QFutureWatcher<std::shared_ptr<ApplyResult>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this,
            [this, watcher, generation, trainedModel, text] {
                watcher->deleteLater();
                const JobGuard guard(this);
                std::shared_ptr<ApplyResult> r = watcher->result();
                if (generation != m_modelGeneration) return;
                if (!r->pruned.ok()) {
                    emit failed(tr("Could not take the retrained weights of %1: %2")
                                    .arg(sourceName(m_source), errorText(r->pruned.error())));
                    return;
                }
                auto state = std::make_shared<PruneState>();
                state->pruned = std::move(r->pruned).value();
                state->stats = std::move(r->stats);
                state->trainedModel = trainedModel;
                pushState(std::move(state), text);
            });
    jobStarted();
    // The trained weights already satisfy the plan, so projecting them again changes nothing
    // and gives the masks and statistics every view reads. A model whose layers differ from the
    // opened one (another file) would leave the views describing weights that are not there.
    watcher->setFuture(QtConcurrent::run([trained, plan, layers = m_layers] {
        auto r = std::make_shared<ApplyResult>();
        std::vector<engine::Layer> got = engine::prunableLayers(trained);
        bool same = got.size() == layers.size();
        for (size_t i = 0; same && i < got.size(); ++i)
            same = got[i].name == layers[i].name && got[i].node == layers[i].node &&
                   got[i].outChannels == layers[i].outChannels &&
                   got[i].inPerGroup == layers[i].inPerGroup;
        if (!same) {
            r->pruned = engine::makeError(
                engine::ErrorCode::InvalidArgument,
                "the retrained model's layers are not the opened model's (" +
                    std::to_string(got.size()) + " vs " + std::to_string(layers.size()) + ")");
            return r;
        }
        r->pruned = engine::prune::applyPlan(trained, plan);
        if (r->pruned.ok()) r->stats = engine::prune::modelStats(r->pruned.value());
        return r;
    }));
}

void ModelSession::resetPlan() {
    if (!hasModel() || m_state == m_openedState) return;
    pushState(m_openedState, tr("Reset"));
}

void ModelSession::pushState(std::shared_ptr<const PruneState> state, const QString& text) {
    m_undo->push(new SetStateCommand(this, m_state, std::move(state), text));
}

void ModelSession::setState(std::shared_ptr<const PruneState> state) {
    m_state = std::move(state);
    emit planApplied();
}

}  // namespace prunelab::views

// Experiments and the log that records them from the session (see experiment.h).
#include "views/session/experiment.h"

#include <QFileInfo>
#include <QJsonValue>
#include <algorithm>
#include <cmath>
#include <map>

#include "engine/prune/stats.h"
#include "views/session/model_session.h"

namespace prunelab::views {

namespace {

engine::Error fieldError(const QString& field, const char* what) {
    return engine::makeError(engine::ErrorCode::InvalidArgument,
                             QStringLiteral("experiment field '%1' %2")
                                 .arg(field, QString::fromLatin1(what))
                                 .toStdString());
}

// A count stored as a JSON number: doubles hold integers exactly up to 2^53, far above any
// model's MACs or bytes.
bool readCount(const QJsonObject& o, const char* key, int64_t& out) {
    const QJsonValue v = o.value(QLatin1String(key));
    if (!v.isDouble()) return false;
    const double d = v.toDouble();
    if (!(d >= 0 && d <= 9.007199254740992e15) || std::floor(d) != d) return false;
    out = static_cast<int64_t>(d);
    return true;
}

// An optional metric: absent or null is unset; anything else must be a finite number.
bool readOptional(const QJsonObject& o, const char* key, std::optional<double>& out) {
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull()) {
        out.reset();
        return true;
    }
    if (!v.isDouble() || !std::isfinite(v.toDouble())) return false;
    out = v.toDouble();
    return true;
}

void writeOptional(QJsonObject& o, const char* key, const std::optional<double>& value) {
    if (value) o.insert(QLatin1String(key), *value);
}

}  // namespace

QJsonObject experimentToJson(const Experiment& e) {
    QJsonObject o;
    o.insert(QStringLiteral("id"), e.id);
    o.insert(QStringLiteral("name"), e.name);
    o.insert(QStringLiteral("model"), e.model);
    o.insert(QStringLiteral("plan"), e.plan);
    o.insert(QStringLiteral("scheme"), e.scheme);
    o.insert(QStringLiteral("density"), e.density);
    o.insert(QStringLiteral("keptMacs"), static_cast<double>(e.keptMacs));
    o.insert(QStringLiteral("denseMacs"), static_cast<double>(e.denseMacs));
    o.insert(QStringLiteral("storageBytes"), static_cast<double>(e.storageBytes));
    o.insert(QStringLiteral("denseBytes"), static_cast<double>(e.denseBytes));
    writeOptional(o, "latencyMs", e.latencyMs);
    writeOptional(o, "denseLatencyMs", e.denseLatencyMs);
    writeOptional(o, "accuracy", e.accuracy);
    writeOptional(o, "psnrDb", e.psnrDb);
    if (!e.trainedModel.isEmpty()) {
        o.insert(QStringLiteral("retrainMethod"), e.retrainMethod);
        o.insert(QStringLiteral("trainedModel"), e.trainedModel);
    }
    return o;
}

engine::Result<Experiment> experimentFromJson(const QJsonObject& o) {
    Experiment e;
    const QJsonValue id = o.value(QStringLiteral("id"));
    if (!id.isDouble() || id.toDouble() < 1 || id.toDouble() > 1e9 ||
        std::floor(id.toDouble()) != id.toDouble())
        return fieldError(QStringLiteral("id"), "must be a whole number from 1");
    e.id = id.toInt();
    const std::pair<const char*, QString*> texts[] = {
        {"name", &e.name}, {"model", &e.model}, {"plan", &e.plan}, {"scheme", &e.scheme}};
    for (const auto& [key, out] : texts) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isString()) return fieldError(QString::fromLatin1(key), "must be text");
        *out = v.toString();
    }
    // The plan must parse: a project whose plan cannot be re-applied would show numbers that
    // nothing can reproduce.
    auto plan = engine::prune::parsePlanJson(e.plan.toStdString(), "experiment plan");
    if (!plan.ok())
        return fieldError(QStringLiteral("plan"),
                          ("is not a valid plan: " + plan.error().message).c_str());
    const QJsonValue density = o.value(QStringLiteral("density"));
    if (!density.isDouble() || !(density.toDouble() >= 0 && density.toDouble() <= 1))
        return fieldError(QStringLiteral("density"), "must be a number in [0, 1]");
    e.density = density.toDouble();
    const std::pair<const char*, int64_t*> counts[] = {{"keptMacs", &e.keptMacs},
                                                       {"denseMacs", &e.denseMacs},
                                                       {"storageBytes", &e.storageBytes},
                                                       {"denseBytes", &e.denseBytes}};
    for (const auto& [key, out] : counts)
        if (!readCount(o, key, *out))
            return fieldError(QString::fromLatin1(key), "must be a whole number >= 0");
    const std::pair<const char*, std::optional<double>*> metrics[] = {
        {"latencyMs", &e.latencyMs},
        {"denseLatencyMs", &e.denseLatencyMs},
        {"accuracy", &e.accuracy},
        {"psnrDb", &e.psnrDb}};
    for (const auto& [key, out] : metrics)
        if (!readOptional(o, key, *out))
            return fieldError(QString::fromLatin1(key), "must be a number or absent");
    const std::pair<const char*, QString*> retrained[] = {{"retrainMethod", &e.retrainMethod},
                                                          {"trainedModel", &e.trainedModel}};
    for (const auto& [key, out] : retrained) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined()) continue;
        if (!v.isString()) return fieldError(QString::fromLatin1(key), "must be text or absent");
        *out = v.toString();
    }
    return e;
}

QString mainScheme(const engine::prune::PruningPlan& plan) {
    if (!plan.defaultEntry.dense) return QString::fromStdString(plan.defaultEntry.scheme);
    std::map<std::string, int> uses;
    for (const auto& [name, entry] : plan.layers)
        if (!entry.dense) ++uses[entry.scheme];
    if (uses.empty()) return QStringLiteral("dense");
    const auto most = std::max_element(
        uses.begin(), uses.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return QString::fromStdString(most->first);
}

QString planLabel(const engine::prune::PruningPlan& plan) {
    // A preset is named by its preset name, which says more than its scheme alone.
    for (const std::string& name : engine::prune::presetNames()) {
        auto preset = engine::prune::presetPlan(name);
        if (preset.ok() && preset.value() == plan) return QString::fromStdString(name);
    }
    return mainScheme(plan);
}

QString experimentName(const engine::prune::PruningPlan& plan, const QString& model,
                       const QString& label) {
    const QString what = label.isEmpty() ? planLabel(plan) : label;
    const QString file = QFileInfo(model).fileName();
    return QStringLiteral("%1 on %2").arg(what, file.isEmpty() ? model : file);
}

ExperimentLog::ExperimentLog(ModelSession* session, QObject* parent)
    : QObject(parent), m_session(session) {
    connect(session, &ModelSession::planApplied, this, &ExperimentLog::stateChanged);
    connect(session, &ModelSession::modelLoaded, this, [this] { m_pending.clear(); });
    // A failed apply never lands. When the session is idle no apply is in flight (its result
    // handler has run before busyChanged), so whatever still waits was refused or dropped.
    connect(session, &ModelSession::busyChanged, this, [this](bool busy) {
        if (!busy) m_pending.clear();
    });
}

void ExperimentLog::applyPlan(const engine::prune::PruningPlan& plan, const QString& label) {
    if (!m_session->hasModel()) return;
    m_pending.push_back({plan, label});
    m_session->applyPlan(plan);
}

const Experiment* ExperimentLog::find(int id) const {
    for (const Experiment& e : m_experiments)
        if (e.id == id) return &e;
    return nullptr;
}

void ExperimentLog::adoptRetrained(const engine::Graph& trained,
                                   const engine::prune::PruningPlan& plan, const QString& method,
                                   const QString& trainedModel, std::optional<double> accuracy,
                                   std::optional<double> psnrDb) {
    if (!m_session->hasModel()) return;
    m_pending.push_back({plan, QStringLiteral("%1, %2-retrained").arg(planLabel(plan), method),
                         trainedModel, method, accuracy, psnrDb});
    m_session->adoptTrained(trained, plan, trainedModel, tr("Retrain (%1)").arg(method));
}

void ExperimentLog::stateChanged() {
    const auto plan = m_session->currentPlan();
    m_currentId = -1;
    if (!plan) return;
    const QString origin = m_session->state().trainedModel;
    // An apply lands with its own plan; undo, redo and reset bring back a state whose plan no
    // request is waiting for, so they only move the current experiment.
    // Applies run concurrently and may land in any order.
    const auto pending = std::find_if(m_pending.begin(), m_pending.end(), [&](const Pending& p) {
        return p.plan == *plan && p.trainedModel == origin;
    });
    if (pending != m_pending.end()) {
        const Pending request = std::move(*pending);
        m_pending.erase(pending);
        const engine::prune::ModelStats& s = m_session->state().stats;
        Experiment e;
        e.id = m_nextId++;
        e.model = m_session->source();
        e.name = experimentName(*plan, e.model, request.label);
        e.plan = QString::fromStdString(engine::prune::planToJson(*plan));
        e.scheme = mainScheme(*plan);
        e.density = s.density();
        e.keptMacs = s.keptModelMacs;
        e.denseMacs = s.modelMacs;
        e.storageBytes = s.bestBytes;
        e.denseBytes = s.denseBytes;
        e.accuracy = request.accuracy;
        e.psnrDb = request.psnrDb;
        e.retrainMethod = request.retrainMethod;
        e.trainedModel = request.trainedModel;
        m_experiments.push_back(std::move(e));
        m_currentId = m_experiments.back().id;
        emit changed();
        return;
    }
    const QString text = QString::fromStdString(engine::prune::planToJson(*plan));
    for (auto it = m_experiments.rbegin(); it != m_experiments.rend(); ++it) {
        if (it->plan == text && it->model == m_session->source() && it->trainedModel == origin) {
            m_currentId = it->id;
            return;
        }
    }
}

void ExperimentLog::setLatency(double compiledMs, double denseMs, int id) {
    if (id < 0) id = m_currentId;
    for (Experiment& e : m_experiments) {
        if (e.id != id) continue;
        e.latencyMs = compiledMs > 0 ? std::optional<double>(compiledMs) : std::nullopt;
        e.denseLatencyMs = denseMs > 0 ? std::optional<double>(denseMs) : std::nullopt;
        emit changed();
        return;
    }
}

void ExperimentLog::setAccuracy(int id, std::optional<double> accuracy,
                                std::optional<double> psnrDb) {
    for (Experiment& e : m_experiments) {
        if (e.id != id) continue;
        e.accuracy = accuracy;
        e.psnrDb = psnrDb;
        emit changed();
        return;
    }
}

void ExperimentLog::setExperiments(std::vector<Experiment> experiments) {
    m_experiments = std::move(experiments);
    m_nextId = 1;
    for (const Experiment& e : m_experiments) m_nextId = std::max(m_nextId, e.id + 1);
    m_currentId = -1;
    stateChanged();
    emit changed();
}

}  // namespace prunelab::views

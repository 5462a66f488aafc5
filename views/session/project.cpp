// .prunelab projects and their save, open and autosave (see project.h).
#include "views/session/project.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTimer>
#include <set>

#include "engine/prune/plan.h"
#include "views/common/engine_text.h"
#include "views/session/model_session.h"

namespace prunelab::views {

namespace {

const char* const kFormat = "prunelab-project";
constexpr int kDefaultAutosaveMs = 30'000;

engine::Error corrupt(const QString& fileName, const QString& message) {
    return engine::makeError(engine::ErrorCode::Corrupt, message.toStdString(),
                             fileName.toStdString());
}

// A plan stored in a project must be one this build can apply again.
engine::Status checkPlan(const QString& text, const QString& where, const QString& fileName) {
    auto plan = engine::prune::parsePlanJson(text.toStdString(), where.toStdString());
    if (!plan.ok())
        return corrupt(fileName, QStringLiteral("%1 is not a valid plan: %2")
                                     .arg(where, QString::fromStdString(plan.error().message)));
    return {};
}

}  // namespace

QByteArray projectToJson(const Project& project) {
    QJsonObject root;
    root.insert(QStringLiteral("format"), QString::fromLatin1(kFormat));
    root.insert(QStringLiteral("version"), kProjectVersion);
    root.insert(QStringLiteral("model"), project.model);
    QJsonArray history;
    for (const QString& plan : project.history) history.append(plan);
    root.insert(QStringLiteral("history"), history);
    root.insert(QStringLiteral("current"),
                project.current ? QJsonValue(*project.current) : QJsonValue(QJsonValue::Null));
    QJsonArray experiments;
    for (const Experiment& e : project.experiments) experiments.append(experimentToJson(e));
    root.insert(QStringLiteral("experiments"), experiments);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

engine::Result<Project> parseProject(const QByteArray& bytes, const QString& fileName) {
    if (bytes.size() > kMaxProjectBytes)
        return corrupt(fileName, QStringLiteral("is %1 bytes, more than a project can be (%2)")
                                     .arg(bytes.size())
                                     .arg(kMaxProjectBytes));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return corrupt(fileName, QStringLiteral("is not valid JSON at byte %1: %2 (truncated or "
                                                "not a PruneLab project)")
                                     .arg(parseError.offset)
                                     .arg(parseError.errorString()));
    if (!doc.isObject()) return corrupt(fileName, QStringLiteral("is not a JSON object"));
    const QJsonObject root = doc.object();
    if (root.value(QStringLiteral("format")).toString() != QLatin1String(kFormat))
        return corrupt(fileName, QStringLiteral("is not a PruneLab project (no \"format\": \"%1\")")
                                     .arg(QLatin1String(kFormat)));
    const QJsonValue version = root.value(QStringLiteral("version"));
    if (!version.isDouble() || version.toDouble() < 1)
        return corrupt(fileName, QStringLiteral("has no valid \"version\""));
    if (version.toDouble() > kProjectVersion)
        return engine::makeError(engine::ErrorCode::Unsupported,
                                 QStringLiteral("is project version %1; this PruneLab reads up "
                                                "to version %2: update PruneLab")
                                     .arg(version.toDouble())
                                     .arg(kProjectVersion)
                                     .toStdString(),
                                 fileName.toStdString());
    Project p;
    const QJsonValue model = root.value(QStringLiteral("model"));
    if (!model.isString() || model.toString().isEmpty())
        return corrupt(fileName, QStringLiteral("\"model\" must name a model file or catalog id"));
    p.model = model.toString();

    const QJsonValue history = root.value(QStringLiteral("history"));
    if (!history.isArray()) return corrupt(fileName, QStringLiteral("\"history\" must be a list"));
    const QJsonArray plans = history.toArray();
    for (qsizetype i = 0; i < plans.size(); ++i) {
        if (!plans[i].isString())
            return corrupt(fileName,
                           QStringLiteral("history[%1] must be a plan's JSON text").arg(i));
        const engine::Status ok =
            checkPlan(plans[i].toString(), QStringLiteral("history[%1]").arg(i), fileName);
        if (!ok.ok()) return ok.error();
        p.history.push_back(plans[i].toString());
    }

    const QJsonValue current = root.value(QStringLiteral("current"));
    if (current.isString()) {
        const engine::Status ok =
            checkPlan(current.toString(), QStringLiteral("\"current\""), fileName);
        if (!ok.ok()) return ok.error();
        p.current = current.toString();
    } else if (!current.isNull()) {
        return corrupt(fileName, QStringLiteral("\"current\" must be a plan's JSON text or null"));
    }

    const QJsonValue experiments = root.value(QStringLiteral("experiments"));
    if (!experiments.isArray())
        return corrupt(fileName, QStringLiteral("\"experiments\" must be a list"));
    std::set<int> ids;
    const QJsonArray list = experiments.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        if (!list[i].isObject())
            return corrupt(fileName, QStringLiteral("experiments[%1] must be an object").arg(i));
        auto e = experimentFromJson(list[i].toObject());
        if (!e.ok())
            return corrupt(fileName, QStringLiteral("experiments[%1]: %2")
                                         .arg(i)
                                         .arg(QString::fromStdString(e.error().message)));
        if (!ids.insert(e->id).second)
            return corrupt(
                fileName, QStringLiteral("experiments[%1]: id %2 is used twice").arg(i).arg(e->id));
        p.experiments.push_back(std::move(e).value());
    }
    return p;
}

engine::Result<Project> readProject(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return engine::makeError(engine::ErrorCode::Io, file.errorString().toStdString(),
                                 path.toStdString());
    // One byte over the limit is enough to tell a too-large file without reading it all.
    return parseProject(file.read(kMaxProjectBytes + 1), path);
}

engine::Status writeProject(const QString& path, const Project& project) {
    QSaveFile file(path);
    const QByteArray bytes = projectToJson(project);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
        return engine::makeError(
            engine::ErrorCode::Io,
            QStringLiteral("could not write the project: %1").arg(file.errorString()).toStdString(),
            path.toStdString());
    return {};
}

QString recoveryPath() {
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
        .filePath(QStringLiteral("recovery.prunelab"));
}

ProjectManager::ProjectManager(ModelSession* session, ExperimentLog* log, QObject* parent)
    : QObject(parent), m_session(session), m_log(log), m_autosave(new QTimer(this)) {
    m_autosave->setSingleShot(true);
    m_autosave->setInterval(kDefaultAutosaveMs);
    connect(m_autosave, &QTimer::timeout, this, &ProjectManager::autosave);
    connect(log, &ExperimentLog::changed, this, &ProjectManager::markDirty);
    connect(session, &ModelSession::planApplied, this, [this] {
        if (m_opening) {
            // The open is complete when the project's own plan (or dense) is on screen; other
            // states on the way (the model as opened) are not changes of the person's.
            if (m_restoring && currentPlanText() == m_opening->current) finishOpen();
            return;
        }
        if (m_modelJustOpened) {
            // The model as opened (dense, or a .plab's own plan) is no change of the person's.
            m_modelJustOpened = false;
            return;
        }
        markDirty();
    });
    connect(session, &ModelSession::modelLoaded, this, [this] {
        if (m_opening) {
            if (!m_restoring) restore();
            return;
        }
        // Another model, not a project: a new, unsaved piece of work that must not autosave
        // over the previous project's file.
        m_path.clear();
        m_dirty = false;
        m_autosave->stop();
        m_modelJustOpened = true;
    });
    connect(session, &ModelSession::failed, this, [this](const QString& message) {
        if (!m_opening) return;
        const QString path = m_openingPath;
        m_opening.reset();
        m_restoring = false;
        emit failed(tr("Could not open the project %1: %2").arg(path, message));
    });
}

Project ProjectManager::snapshot() const {
    Project p;
    p.model = m_session->hasModel() ? m_session->source() : QString();
    for (const Experiment& e : m_log->experiments()) p.history.push_back(e.plan);
    p.current = currentPlanText();
    p.experiments = m_log->experiments();
    return p;
}

engine::Status ProjectManager::save(const QString& path) {
    if (!m_session->hasModel())
        return engine::makeError(engine::ErrorCode::InvalidArgument,
                                 "no model is open: there is nothing to save", path.toStdString());
    engine::Status written = writeProject(path, snapshot());
    if (!written.ok()) return written;
    m_path = path;
    m_dirty = false;
    m_autosave->stop();
    emit saved(path);
    return {};
}

void ProjectManager::open(const QString& path) {
    auto project = readProject(path);
    if (!project.ok()) {
        // Nothing has been touched yet: the open work stays as it is. The error's context is
        // this path, already in the sentence.
        emit failed(tr("Could not open the project %1: %2")
                        .arg(path, QString::fromStdString(project.error().message)));
        return;
    }
    m_opening = std::move(project).value();
    m_openingPath = path;
    m_restoring = false;
    m_openingRecovery = false;
    m_session->openModel(m_opening->model);
}

void ProjectManager::openRecovery(const QString& path) {
    open(path);
    if (m_opening) m_openingRecovery = true;
}

void ProjectManager::flushAutosave(bool toRecovery) {
    m_autosave->stop();
    if (!m_dirty || !m_session->hasModel()) return;
    if (!toRecovery) {
        autosave();
        return;
    }
    const QString path = recoveryPath();
    QDir().mkpath(QFileInfo(path).absolutePath());
    const engine::Status written = writeProject(path, snapshot());
    if (!written.ok()) {
        emit failed(tr("Autosave failed: %1").arg(errorText(written.error())));
        return;
    }
    emit autosaved(path);
}

std::optional<QString> ProjectManager::currentPlanText() const {
    if (auto plan = m_session->currentPlan())
        return QString::fromStdString(engine::prune::planToJson(*plan));
    return std::nullopt;
}

void ProjectManager::finishOpen() {
    const bool recovered = m_openingRecovery;
    m_path = recovered ? QString() : m_openingPath;
    const QString opened = m_openingPath;
    m_opening.reset();
    m_restoring = false;
    m_openingRecovery = false;
    // Recovered work was never saved by the person: it stays unsaved until they save it.
    m_dirty = recovered;
    m_autosave->stop();
    emit this->opened(opened);
}

void ProjectManager::restore() {
    m_restoring = true;
    m_log->setExperiments(m_opening->experiments);
    // The model as opened already shows the project's plan (dense, or a .plab's own): the
    // planApplied that follows modelLoaded completes the open.
    if (currentPlanText() == m_opening->current) return;
    // Checked when the file was read, so it parses; applied directly, not through the log:
    // it is an experiment the project already holds.
    auto plan = engine::prune::parsePlanJson(m_opening->current->toStdString());
    if (!plan.ok()) {
        const QString path = m_openingPath;
        m_opening.reset();
        m_restoring = false;
        emit failed(tr("Could not open the project %1: %2").arg(path, errorText(plan.error())));
        return;
    }
    m_session->applyPlan(plan.value());
}

void ProjectManager::setAutosaveInterval(int ms) {
    m_autosave->setInterval(ms);
}

int ProjectManager::autosaveInterval() const {
    return m_autosave->interval();
}

void ProjectManager::markDirty() {
    if (m_restoring || !m_session->hasModel()) return;
    m_dirty = true;
    if (!m_autosave->isActive()) m_autosave->start();
}

void ProjectManager::autosave() {
    if (!m_dirty || !m_session->hasModel()) return;
    const QString path = autosavePath();
    QDir().mkpath(QFileInfo(path).absolutePath());
    const engine::Status written = writeProject(path, snapshot());
    if (!written.ok()) {
        emit failed(tr("Autosave failed: %1").arg(errorText(written.error())));
        return;
    }
    // The project's own file is now current; the recovery file is only a safety copy.
    if (!m_path.isEmpty()) m_dirty = false;
    emit autosaved(path);
}

}  // namespace prunelab::views

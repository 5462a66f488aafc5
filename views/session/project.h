// A .prunelab project: the model reference, the plans applied in the session and their
// experiments, as JSON. Writes are atomic (QSaveFile), so a crash mid-save never leaves a corrupt
// project; ProjectManager saves, opens and autosaves a window's session and experiment log.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>
#include <optional>
#include <vector>

#include "engine/ir/result.h"
#include "views/session/experiment.h"

class QTimer;

namespace prunelab::views {

class ModelSession;

inline constexpr int kProjectVersion = 1;
// A project is a few plans and numbers; anything larger is not one of ours.
inline constexpr qint64 kMaxProjectBytes = 64ll << 20;

struct Project {
    QString model;                   // path or catalog id, as the session opened it
    std::vector<QString> history;    // planToJson of every applied plan, oldest first
    std::optional<QString> current;  // the plan applied when saved; nullopt: dense
    std::vector<Experiment> experiments;

    bool operator==(const Project& other) const = default;
};

// {"format": "prunelab-project", "version": 1, "model": ..., "history": [PLAN, ...],
//  "current": PLAN | null, "experiments": [{...}, ...]}; PLAN is the plan's JSON text.
QByteArray projectToJson(const Project& project);
// Checks everything: format and version, every field's type, every plan parses and validates,
// experiment ids are unique. Errors carry `fileName` as context.
engine::Result<Project> parseProject(const QByteArray& bytes, const QString& fileName);
engine::Result<Project> readProject(const QString& path);
// Atomic: the old file stays whole until the new one is complete.
engine::Status writeProject(const QString& path, const Project& project);

// Where an unsaved session autosaves: recovery.prunelab under QStandardPaths::AppDataLocation.
QString recoveryPath();

class ProjectManager : public QObject {
    Q_OBJECT

  public:
    // Both borrowed; they outlive the manager (the window owns all three).
    ProjectManager(ModelSession* session, ExperimentLog* log, QObject* parent = nullptr);

    // The session as a project: its model, the applied plans (the experiments' plans, in order)
    // and the current plan. Empty model when none is open.
    Project snapshot() const;
    // Saves to `path` and makes it the project's path (autosave goes there from now on).
    engine::Status save(const QString& path);
    // Reads and checks `path`, then opens its model, restores its experiments and applies its
    // current plan: opened() when done, failed() (naming the file) when the file is bad or the
    // model does not open; the open work is then untouched.
    void open(const QString& path);
    // Opens a recovery file like open(), but as unsaved work: path() stays empty and the
    // project is dirty, so the next save asks where to go instead of overwriting the copy.
    void openRecovery(const QString& path);
    // Writes a pending autosave now (on close: the 30 s wait would never end). `toRecovery`
    // writes to recoveryPath() even for a saved project, so discarded changes never overwrite
    // the person's file. Does nothing when there is nothing unsaved.
    void flushAutosave(bool toRecovery = false);

    // Empty until saved or opened; emptied when another model (not a project) opens.
    QString path() const { return m_path; }
    // Changed since the last save or open; an autosave to the recovery file does not clear it.
    bool isDirty() const { return m_dirty; }
    // Autosave waits this long after a change (default 30 s), then writes to path() or, for an
    // unsaved project, to recoveryPath(). The window sets it from Edit > Settings; a pending
    // autosave restarts its wait with the new interval.
    void setAutosaveInterval(int ms);
    int autosaveInterval() const;
    // Where the next autosave goes.
    QString autosavePath() const { return m_path.isEmpty() ? recoveryPath() : m_path; }

  signals:
    void opened(const QString& path);
    void saved(const QString& path);
    void autosaved(const QString& path);
    void failed(const QString& message);

  private:
    void markDirty();
    void autosave();
    void restore();
    void finishOpen();
    std::optional<QString> currentPlanText() const;  // planToJson of the session's plan

    ModelSession* m_session;
    ExperimentLog* m_log;
    QTimer* m_autosave;
    QString m_path;
    bool m_dirty = false;
    bool m_restoring = false;
    bool m_openingRecovery = false;
    bool m_modelJustOpened = false;  // the planApplied right after modelLoaded is no change
    // The project being opened, waiting for its model to load.
    std::optional<Project> m_opening;
    QString m_openingPath;
};

}  // namespace prunelab::views

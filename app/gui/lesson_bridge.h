// The workbench side of the lessons (issue 17): the State the checks read, filled from the
// window's real session, experiments, views and live demos; the executor that performs every
// "Show me" action through the code paths the window's own buttons use (the player's button and
// the tests call the same perform()); and the lesson dock: View > Lessons, the start page's
// Lessons card, K-12 lessons only and in large type in classroom mode.
#pragma once

#include <QFuture>
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "engine/ir/result.h"
#include "engine/lessons/lesson.h"

class QDockWidget;
class QWidget;

namespace prunelab::views {
class LessonPlayer;
}

namespace prunelab::gui {

class MainWindow;

class LessonBridge : public QObject {
    Q_OBJECT

  public:
    // Builds the player and its dock on `window` (which must have its pages, tabs and live views
    // already). `interactive` false (screenshots, tests): progress is not kept unless a folder is
    // given to the player.
    LessonBridge(MainWindow* window, bool interactive);
    ~LessonBridge() override;  // cancels a running sweep and waits for it

    views::LessonPlayer* player() const { return m_player; }
    QDockWidget* dock() const { return m_dock; }
    // Shows the dock (raised over the Prune panel), with lesson `id` open when given; false
    // when there is no such lesson (the list shows instead).
    bool showLessons(const QString& id = {});
    // Classroom mode: the player shows K-12 lessons only, in the classroom's large type.
    void setClassroom(bool on);
    // What the start page's Lessons card holds: how many lessons for whom, and an Open button.
    QWidget* makeStartCardContent(QWidget* parent);

    // A snapshot of the workbench for the checks.
    engine::lessons::State state() const;
    // Performs `action` of `lesson` as the window's buttons would. Returns at once: an error
    // when it cannot start (a file missing, an unknown name, nothing to act on); what it starts
    // (opening, applying, training, measuring, a sweep) runs on, and waits first when the
    // session is busy. A later failure is reported through failed() and the window's status.
    engine::Status perform(const engine::lessons::Lesson& lesson,
                           const engine::lessons::Action& action, bool testBudget);

    // The view name the lessons use for what is on screen ("layers", "kernels", "start", ...).
    QString currentViewName() const;
    // The points of the last sensitivity sweep, as they come in.
    const std::vector<engine::lessons::SweepPoint>& sweepPoints() const { return m_sweep; }
    bool sweepRunning() const { return m_sweepRunning; }

    // Shows "Show me" for steps 0..count-1 of the open lesson in turn, each after the one before
    // it is marked done; `done` gets "" or why it stopped (a refusal, or `stepTimeoutMs` passing
    // without a tick). For screenshots and demos, not a test: tests check each step themselves.
    void runSteps(int count, bool testBudget, int stepTimeoutMs,
                  std::function<void(const QString& error)> done);

  signals:
    // Anything a check reads may have changed.
    void changed();
    // A Show me that had started failed later (the sweep's data, a model that did not open).
    void failed(const QString& message);

  private:
    void connectSignals();
    void placeDock();
    // Runs `fn` now, or once the session is no longer busy (a model opening, a plan applying).
    void whenIdle(std::function<void()> fn);
    engine::Status startSweep(const engine::lessons::Action& action, bool testBudget);
    void startLive(const QString& model);
    void startLiveTab();
    // A model reference of a lesson as openModel takes it: a catalog id as it is, "assets/..."
    // under the folder of catalog.json, anything else relative to the lesson folder.
    engine::Result<QString> resolveModel(const engine::lessons::Lesson& lesson,
                                         const std::string& model) const;

    MainWindow* m_window;
    views::LessonPlayer* m_player = nullptr;
    QDockWidget* m_dock = nullptr;
    bool m_dockPlaced = false;
    QString m_shownView;
    bool m_measured = false;  // the Speed view's measure ran on the plan now applied  // the last
                              // view a lesson asked for ("tiles" is the Sparsity tab too)
    std::vector<engine::lessons::SweepPoint> m_sweep;
    bool m_sweepRunning = false;
    std::shared_ptr<std::atomic<bool>> m_sweepCancel;
    QFuture<void> m_sweepFuture;
};

}  // namespace prunelab::gui

// The lesson player: the lessons/ folder as a list grouped by audience (a broken lesson listed
// with its error), and the open lesson's steps with a tick each that turns green when the step's
// checks pass on the workbench's state, "Show me", hints, skip, reset, progress kept per lesson,
// and a printable handout. The app fills a LessonSetup with the state and the action executor:
// views link no app code, and the tests press the same showMe() the button presses.
#pragma once

#include <QString>
#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

#include "engine/ir/result.h"
#include "engine/lessons/lesson.h"

class QLabel;
class QListWidget;
class QPushButton;
class QStackedWidget;
class QTextBrowser;
class QTimer;
class QTreeWidget;

namespace prunelab::views {

struct LessonSetup {
    // The lessons/ folder (engine::lessons::defaultLessonsRoot() in the app).
    QString root;
    // A snapshot of the workbench now; called on the UI thread after every state change.
    std::function<engine::lessons::State()> state;
    // Performs a step's "Show me" (`testBudget`: the lesson's smaller "test" budget). Returns
    // at once: a refusal says why (no model open, a file missing); what it starts runs on and
    // the checks see its result. Empty: the player has no Show me buttons.
    std::function<engine::Status(const engine::lessons::Lesson&, const engine::lessons::Action&,
                                 bool testBudget)>
        perform;
    // Where progress is kept, one <id>.json per lesson; empty: not kept (screenshots).
    QString progressFolder;
};

class LessonPlayer : public QWidget {
    Q_OBJECT

  public:
    explicit LessonPlayer(LessonSetup setup, QWidget* parent = nullptr);

    // Reads the lessons again (from `root` when given); the open lesson closes.
    void reload(const QString& root = {});
    QString root() const { return m_setup.root; }
    void setProgressFolder(const QString& folder) { m_setup.progressFolder = folder; }
    QString progressFolder() const { return m_setup.progressFolder; }
    // The progress file of lesson `id` (empty when progress is not kept).
    QString progressFile(const QString& id) const;

    // Classroom mode: K-12 lessons only, in the classroom's large type, and no handout (it
    // asks where to write a file). Off: every lesson in the workbench's type.
    void setClassroom(bool on);
    bool classroom() const { return m_classroom; }

    // Every lesson folder as read, broken ones included (LessonEntry::error).
    const std::vector<engine::lessons::LessonEntry>& entries() const { return m_entries; }
    // The ids the list shows now (classroom: K-12 only), in list order; a broken lesson by its
    // folder's name.
    QStringList listedIds() const;
    // The list row of lesson `id` as shown: "Make the robot brain smaller · 10 min", or for a
    // broken lesson its folder's name and error.
    QString listedText(const QString& id) const;
    QTreeWidget* lessonList() const { return m_list; }

    // Opens lesson `id` on its saved progress; false (the list stays) when there is no such
    // lesson or it is broken.
    bool openLesson(const QString& id);
    // Back to the list.
    void closeLesson();
    const engine::lessons::Lesson* lesson() const;
    const engine::lessons::Progress& progress() const { return m_progress; }
    int currentStep() const { return m_progress.current; }
    void setCurrentStep(int step);
    engine::lessons::Mark mark(int step) const;
    // The checks of `step` on the state now: passed, or the first failure's words.
    engine::lessons::CheckResult evaluateStep(int step) const;
    // What the step pane shows: the Markdown text, the hint shown (empty until Hint), and the
    // checks' words ("Not yet: Apply a plan first").
    QString stepMarkdown() const;
    QString hintText() const;
    QString statusText() const;
    QTextBrowser* stepBrowser() const { return m_text; }
    QListWidget* stepList() const { return m_steps; }
    // The buttons by objectName: "showMe", "hint", "skip", "next", "back", "reset", "handout".
    QPushButton* button(const QString& name) const;
    // As wide as the Prune panel beside it, so the two share the dock area as tabs.
    QSize sizeHint() const override;

    // Writes the open lesson and its teacher.md as a PDF; empty on success, else the reason.
    QString printHandout(const QString& pdfPath) const;

  public slots:
    // The Show me of `step` (the button: the current step, the full budget).
    engine::Status showMe(int step, bool testBudget = false);
    // The next of the step's hints (again from the first after the last).
    void showHint();
    // Marks the current step skipped (it stays marked so) and moves to the next.
    void skipStep();
    // Clears the open lesson's progress and its file; back to step 1.
    void resetProgress();
    // The workbench changed: the checks run again shortly (many changes in a burst: once).
    void stateChanged();
    // Runs the checks now: a current (or earlier) step whose checks pass is marked done.
    void evaluateNow();
    // A Show me that had started failed later (the app reports it): shown with the step.
    void showMeFailed(const QString& message);

  signals:
    // A step was marked done, skipped or reset, or the current step moved.
    void progressChanged();
    void lessonOpened(const QString& id);
    // The lessons were read again (reload()).
    void lessonsRead();

  private:
    void buildUi();
    void fillList();
    void showLesson();
    void showStep();
    void updateMarks();
    void saveProgress();
    void loadProgress();
    void handoutInteractive();
    void applyFont();

    LessonSetup m_setup;
    std::vector<engine::lessons::LessonEntry> m_entries;
    int m_open = -1;  // index into m_entries of the open lesson
    engine::lessons::Progress m_progress;
    int m_hint = -1;  // index of the hint shown for the current step; -1: none
    QString m_showMeError;
    QString m_statusText;  // the step's status as plain text (the label shows it coloured)
    bool m_classroom = false;
    QFont m_baseFont;

    QStackedWidget* m_pages = nullptr;
    QTreeWidget* m_list = nullptr;
    QLabel* m_listNote = nullptr;
    QLabel* m_title = nullptr;
    QLabel* m_about = nullptr;
    QListWidget* m_steps = nullptr;
    QTextBrowser* m_text = nullptr;
    QLabel* m_hintLabel = nullptr;
    QLabel* m_status = nullptr;
    QTimer* m_debounce = nullptr;
};

}  // namespace prunelab::views

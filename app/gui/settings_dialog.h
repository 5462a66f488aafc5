// Edit > Settings: what a person may change about the workbench (palette, projector mode, the
// Measure button's threads and runs, how soon work autosaves, the recent files), kept in
// QSettings and applied as soon as a control changes, with no OK button to forget.
#pragma once

#include <QDialog>

#include "app/gui/appearance.h"

class QCheckBox;
class QPushButton;
class QSpinBox;

namespace prunelab::gui {

// Everything the dialog edits. Defaults are what a first run gets.
struct WorkbenchSettings {
    Appearance appearance;
    int measureThreads = 0;    // threads the Measure button times with; 0: one per core
    int measureRuns = 3;       // profiled runs of each executor per Measure (the medians decide)
    int autosaveSeconds = 30;  // after a change, before the project or recovery file is written

    static constexpr int kMaxThreads = 256, kMinRuns = 1, kMaxRuns = 50;
    static constexpr int kMinAutosaveSeconds = 5, kMaxAutosaveSeconds = 3600;
    // The thread count to hand the engine: measureThreads, or the cores when it is 0.
    int effectiveMeasureThreads() const;
};

// From QSettings, each value clamped to its range (a hand-edited file cannot set 0 runs).
WorkbenchSettings loadSettings();
void saveSettings(const WorkbenchSettings& settings);
// The recent files list under File > Open Recent (the key the window reads and writes).
inline constexpr const char* kRecentFilesKey = "recentFiles";

class SettingsDialog : public QDialog {
    Q_OBJECT

  public:
    explicit SettingsDialog(QWidget* parent = nullptr);

    // What the controls show now.
    WorkbenchSettings settings() const;
    // Shows `settings` in the controls; emits nothing and saves nothing (the window calls it
    // when the View menu changed the palette behind the dialog's back).
    void showSettings(const WorkbenchSettings& settings);

    // Named for tests.
    QCheckBox* darkBox() const { return m_dark; }
    QCheckBox* projectorBox() const { return m_projector; }
    QSpinBox* threadsBox() const { return m_threads; }
    QSpinBox* runsBox() const { return m_runs; }
    QSpinBox* autosaveBox() const { return m_autosave; }
    QPushButton* clearRecentButton() const { return m_clearRecent; }

  signals:
    // A control changed: the new settings, already saved to QSettings.
    void settingsChanged(const prunelab::gui::WorkbenchSettings& settings);
    // The recent files list was emptied (QSettings already cleared).
    void recentFilesCleared();

  private:
    void controlChanged();

    QCheckBox* m_dark;
    QCheckBox* m_projector;
    QSpinBox* m_threads;
    QSpinBox* m_runs;
    QSpinBox* m_autosave;
    QPushButton* m_clearRecent;
};

}  // namespace prunelab::gui

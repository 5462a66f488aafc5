// The workbench's look: a light or dark palette and projector mode (fonts 1.5x, for the back of
// a classroom), applied application-wide and remembered in QSettings between runs.
#pragma once

#include <QString>

namespace prunelab::gui {

struct Appearance {
    bool dark = false;
    bool projector = false;
};

Appearance loadAppearance();  // from QSettings; the defaults when never saved
void saveAppearance(const Appearance& appearance);
// Sets the Fusion style (the only one whose colours follow a palette everywhere), the palette
// and the font size on the running QApplication. Call on the UI thread; any number of times.
void applyAppearance(const Appearance& appearance);
// What applyAppearance last applied (the defaults before it ran).
Appearance currentAppearance();

// Classroom mode (MainWindow::setClassroomMode), remembered apart from the look: a person's
// next session starts in it until a teacher leaves it.
bool loadClassroomMode();
void saveClassroomMode(bool on);

}  // namespace prunelab::gui

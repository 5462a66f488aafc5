// A lesson as a printable handout: its steps (text, pictures, hints, what "Show me" does) and
// its teacher.md, as one QTextDocument written to PDF through Qt's printing support.
#pragma once

#include <QString>
#include <memory>

#include "engine/lessons/lesson.h"

class QTextDocument;

namespace prunelab::views {

// The handout: the student's part, then the teacher's notes on a new page (a note that the
// lesson has none when teacher.md is missing). Pictures are read from the lesson folder and
// scaled to at most `pictureWidth` points wide.
std::unique_ptr<QTextDocument> lessonHandout(const engine::lessons::Lesson& lesson,
                                             double pictureWidth = 360);

// One line on what a "Show me" does, for a person: "Opens the model zoom-x2".
QString actionText(const engine::lessons::Action& action);

// Writes the handout as an A4 PDF to `pdfPath`; empty on success, else the reason, naming the
// file.
QString writeLessonHandout(const engine::lessons::Lesson& lesson, const QString& pdfPath);

}  // namespace prunelab::views

// prunelab-cli's lesson commands: check-files (the validator the tests run on lessons/), list,
// and reference (the actions' and checks' tables lessons/README.md carries).
#pragma once

#include <string>

namespace prunelab::cli {

// Every lesson under `root` (default: engine::lessons::defaultLessonsRoot()), one line each:
// "ok  <id>  <audience>  <minutes> min  <n> steps" or "FAIL  <folder>  <error>". Returns 1 when
// any failed or there is none.
int cmdLessonCheckFiles(const std::string& root);
// The lessons by audience with their minutes and titles; broken ones with their error.
int cmdLessonList(const std::string& root);
// The Markdown tables of every action and check (engine::lessons::referenceMarkdown()).
int cmdLessonReference();

}  // namespace prunelab::cli

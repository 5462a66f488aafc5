// prunelab-cli lesson check-files / list / reference: the engine's lesson reader from the command
// line, so a lesson's author (and ctest) sees every broken lesson with its file and JSON path.
#include "app/cli/lesson_commands.h"

#include <cstdio>
#include <filesystem>

#include "engine/lessons/lesson.h"

namespace prunelab::cli {

using namespace prunelab::engine;
using namespace prunelab::engine::lessons;

namespace {

std::string rootOr(const std::string& root) {
    return root.empty() ? defaultLessonsRoot() : root;
}

std::string folderName(const std::string& folder) {
    return std::filesystem::path(folder).filename().string();
}

}  // namespace

int cmdLessonCheckFiles(const std::string& root) {
    std::string dir = rootOr(root);
    int ok = 0, failed = 0;
    for (const LessonEntry& e : loadLessons(dir)) {
        if (e.lesson) {
            const Lesson& l = *e.lesson;
            std::printf("ok  %s  %s  %d min  %zu step%s\n", l.id.c_str(), audienceName(l.audience),
                        l.minutes, l.steps.size(), l.steps.size() == 1 ? "" : "s");
            ++ok;
        } else if (e.error) {
            std::printf("FAIL  %s  %s\n", folderName(e.folder).c_str(),
                        e.error->toString().c_str());
            ++failed;
        }
    }
    if (ok + failed == 0) {
        std::printf("FAIL  no lesson folders in %s\n", dir.c_str());
        return 1;
    }
    std::printf("%d lessons in %s: %d ok, %d failed\n", ok + failed, dir.c_str(), ok, failed);
    return failed == 0 ? 0 : 1;
}

int cmdLessonList(const std::string& root) {
    std::string dir = rootOr(root);
    const char* group = nullptr;
    bool broken = false;
    for (const LessonEntry& e : loadLessons(dir)) {
        if (e.lesson) {
            const Lesson& l = *e.lesson;
            if (group == nullptr || std::string(group) != audienceName(l.audience)) {
                group = audienceName(l.audience);
                std::printf("%s\n", group);
            }
            std::printf("  %-32s %3d min  %s\n", l.id.c_str(), l.minutes, l.title.c_str());
        } else if (e.error) {
            if (!broken) std::printf("broken\n");
            broken = true;
            std::printf("  %-32s %s\n", folderName(e.folder).c_str(), e.error->toString().c_str());
        }
    }
    return broken ? 1 : 0;
}

int cmdLessonReference() {
    std::fputs(referenceMarkdown().c_str(), stdout);
    return 0;
}

}  // namespace prunelab::cli

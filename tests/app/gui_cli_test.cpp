// `prunelab --help` and `--version` with no display at all (ssh, CI, a fresh machine): they
// print and exit 0 instead of aborting in Qt's xcb plugin; a screenshot renders off screen, and
// opening the window without a display says why instead of crashing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/app/cli_runner.h"
#include "tests/test_cache.h"

namespace {

// The GUI binary with every way to a display removed from its environment.
prunelab::testing::CommandResult runWithoutDisplay(const std::string& args) {
    return prunelab::testing::runCommand(
        "env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM " PRUNELAB_GUI " " + args);
}

TEST(GuiCommandLine, HelpNeedsNoDisplay) {
    const auto r = runWithoutDisplay("--help");
    EXPECT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("--screenshot"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--version"), std::string::npos) << r.output;
}

TEST(GuiCommandLine, VersionIsTheProjectVersion) {
    const auto r = runWithoutDisplay("--version");
    EXPECT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("PruneLab " PRUNELAB_PROJECT_VERSION), std::string::npos) << r.output;
}

TEST(GuiCommandLine, AScreenshotNeedsNoDisplay) {
    if (!std::filesystem::exists(prunelab::testing::cacheDir() + "/models/blazeface"))
        GTEST_SKIP() << "face-front (BlazeFace) is not in the asset cache; run ./prunelab setup";
    const std::string out = (std::filesystem::temp_directory_path() /
                             ("prunelab-nodisplay-" + std::to_string(::getpid()) + ".png"))
                                .string();
    const auto r = runWithoutDisplay("face-front --size 640x480 --screenshot " + out);
    EXPECT_EQ(r.exitCode, 0) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out)) << r.output;
    std::filesystem::remove(out);
}

TEST(GuiCommandLine, NoDisplayIsAClearError) {
    const auto r = runWithoutDisplay("face-front");
    // 1 with a sentence, not a signal from Qt's abort().
    EXPECT_EQ(r.exitCode, 1) << r.output;
    EXPECT_NE(r.output.find("no display"), std::string::npos) << r.output;
}

}  // namespace

// Runs the real prunelab-cli binary (PRUNELAB_CLI) with arguments, or any command line, and
// captures its exit code and output, for the end-to-end tests of the CLI and the GUI binary.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace prunelab::testing {

struct CommandResult {
    int exitCode = -1;
    std::string output;  // stdout and stderr together
};

// Any shell command line (stderr joins stdout).
inline CommandResult runCommand(const std::string& commandLine) {
    CommandResult r;
    const std::string command = commandLine + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return r;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
    int status = pclose(pipe);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

#ifdef PRUNELAB_CLI
inline CommandResult runCli(const std::string& args) {
    return runCommand(std::string(PRUNELAB_CLI) + " " + args);
}
#endif

}  // namespace prunelab::testing

// A stand-in host compiler for the tests of waiting on the JIT (a time limit, a cancel, a demo
// that must not wait silently): it answers --version as a compiler does, then takes its time.
// And $CXX set for one scope, as a person would give another compiler.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace prunelab::testing {

// Writes `dir`/slow-c++: each compile sleeps `seconds`, then, when `real` names a compiler,
// compiles with it at -O0 (a quick real library), else builds nothing.
inline std::filesystem::path writeSlowCompiler(const std::filesystem::path& dir,
                                               const std::string& seconds = "30",
                                               const std::string& real = {}) {
    const std::filesystem::path script = dir / "slow-c++";
    {
        std::ofstream f(script);
        f << "#!/bin/sh\nif [ \"$1\" = --version ]; then echo slow-c++ 1.0; exit 0; fi\nsleep "
          << seconds << "\n";
        if (!real.empty()) f << "exec " << real << " \"$@\" -O0\n";
    }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    return script;
}

// $CXX set for one test's scope (the JIT reads it at each compile), restored after.
class ScopedCompiler {
  public:
    explicit ScopedCompiler(const std::filesystem::path& compiler) {
        if (const char* old = std::getenv("CXX")) m_saved = old;
        ::setenv("CXX", compiler.c_str(), 1);
    }
    ~ScopedCompiler() {
        if (m_saved) {
            ::setenv("CXX", m_saved->c_str(), 1);
        } else {
            ::unsetenv("CXX");
        }
    }
    ScopedCompiler(const ScopedCompiler&) = delete;
    ScopedCompiler& operator=(const ScopedCompiler&) = delete;

  private:
    std::optional<std::string> m_saved;
};

}  // namespace prunelab::testing

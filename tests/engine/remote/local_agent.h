// Test helpers for the remote backends: a real prunelab-agent of this machine on loopback (or
// another build of it, PRUNELAB_AGENT, run by PRUNELAB_AGENT_LAUNCHER: the aarch64 one under
// qemu), the backend that reaches it, and an environment variable set for one scope.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/runtime/backend.h"
#include "engine/runtime/remote/adb.h"

namespace prunelab::engine::remote::testing {

// PRUNELAB_AGENT when set, else the x86 agent this test was built with (PRUNELAB_AGENT define).
std::string agentPath();

// Sets `name` for the life of the object, then puts back what was there.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::string& value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* m_name;
    std::optional<std::string> m_old;
};

// One agent on 127.0.0.1:0 with a fresh token on its stdin, and the backend that reaches it, as
// --backend agent:127.0.0.1:PORT resolves it. A failure to start is a test failure (ADD_FAILURE)
// and started() is false.
class LocalAgent {
  public:
    LocalAgent();
    ~LocalAgent();

    bool started() const { return m_backend != nullptr; }
    const Backend* backend() const { return m_backend; }
    const std::string& port() const { return m_port; }
    ChildProcess& process() { return *m_child; }
    // SIGKILL, as a phone unplugged or an agent crashing: no BYE, the socket just closes. Returns
    // once it has ended (at most 10 s).
    void kill();

  private:
    std::unique_ptr<ChildProcess> m_child;
    const Backend* m_backend = nullptr;
    std::string m_port;
};

}  // namespace prunelab::engine::remote::testing

// A real agent process for the remote backends' tests (local_agent.h).
#include "tests/engine/remote/local_agent.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <regex>
#include <thread>
#include <vector>

#include "engine/runtime/backend_list.h"

namespace prunelab::engine::remote::testing {

std::string agentPath() {
    const char* env = std::getenv("PRUNELAB_AGENT");
    return env != nullptr && *env ? env : PRUNELAB_AGENT;
}

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    ::setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
    if (m_old)
        ::setenv(m_name, m_old->c_str(), 1);
    else
        ::unsetenv(m_name);
}

LocalAgent::LocalAgent() {
    auto token = randomHex(32);
    if (!token.ok()) {
        ADD_FAILURE() << token.error().toString();
        return;
    }
    std::vector<std::string> argv;
    if (const char* launcher = std::getenv("PRUNELAB_AGENT_LAUNCHER"); launcher && *launcher)
        argv.push_back(launcher);
    argv.insert(argv.end(), {agentPath(), "--listen", "127.0.0.1:0", "--token", "-", "--threads",
                             "1", "--idle-timeout", "120"});
    auto child = ChildProcess::start(argv, *token + "\n");
    if (!child.ok()) {
        ADD_FAILURE() << child.error().toString();
        return;
    }
    m_child = std::move(*child);
    const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string port;
    while (std::chrono::steady_clock::now() < until && port.empty()) {
        std::smatch m;
        const std::string out = m_child->output();
        if (std::regex_search(out, m, listening)) port = m[1].str();
        if (port.empty() && !m_child->running()) break;
        if (port.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (port.empty()) {
        ADD_FAILURE() << "the agent did not say where it listens: " << m_child->output();
        return;
    }
    // The token is read when the address is resolved; the backend keeps it.
    ScopedEnv tokenEnv("PRUNELAB_AGENT_TOKEN", *token);
    auto b = findBackend("agent:127.0.0.1:" + port);
    if (!b.ok()) {
        ADD_FAILURE() << b.error().toString();
        return;
    }
    m_backend = *b;
    m_port = port;
}

LocalAgent::~LocalAgent() {
    if (m_child) m_child->stop();
}

void LocalAgent::kill() {
    if (!m_child) return;
    ::kill(m_child->pid(), SIGKILL);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (m_child->running() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace prunelab::engine::remote::testing

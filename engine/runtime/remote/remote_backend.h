// The remote backends: a model prepared here runs on a prunelab-agent elsewhere. `phone[:SERIAL]`
// pushes the aarch64 agent to a tethered phone over adb and reaches it through adb's forward;
// `agent:HOST:PORT` reaches an agent already listening on this computer's loopback (tests, and
// the protocol-overhead bench). One executor is one agent session: the agent serves one client.
#pragma once

#include <optional>
#include <string>

#include "engine/runtime/backend.h"
#include "engine/runtime/remote/protocol.h"

namespace prunelab::engine::remote {

// `phone`: the only phone adb sees; phone:SERIAL through withArgument. In backend_list.inc.
const Backend& phoneBackend();
// `agent`: not offered in lists (it is for tests and benches); agent:HOST:PORT through
// withArgument, with the agent's session token, 64 hex digits, in PRUNELAB_AGENT_TOKEN.
const Backend& agentBackend();

// The aarch64 agent the phone backend pushes: PRUNELAB_PHONE_AGENT when set, else
// prunelab-agent-aarch64 beside this program (the build's bin/), else the installed one in
// /usr/lib/prunelab. NotFound says how to build it.
Result<std::string> findPhoneAgent();

// Where an executor of these backends runs, for views that show it ("Pixel 7: Kryo 585, 8
// threads"): nullopt for an executor of any other backend.
std::optional<DeviceInfo> remoteDevice(const Executor& executor);

}  // namespace prunelab::engine::remote

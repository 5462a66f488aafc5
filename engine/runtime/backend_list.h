// The backends of this build, listed once in backend_list.inc: what `--backend`, the Live tab's
// Target box and the conformance test offer. Its own target (prunelab_backends) sits above every
// backend, so a backend never reaches the list and an agent links only the backend it runs.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/runtime/backend.h"

namespace prunelab::engine {

// Every backend of backend_list.inc in its order, available here or not (each says why not).
std::span<const Backend* const> backends();
// The backend called `name`; an error listing the names when there is none, or saying why it
// is unavailable here.
Result<const Backend*> findBackend(std::string_view name);
// The backend every caller without a choice uses: the CPU.
const Backend& defaultBackend();
// "cpu, vulkan, phone": for help texts and errors (agent:HOST:PORT is taken, not listed).
std::string backendNames();

}  // namespace prunelab::engine

// The backend list (backend_list.inc) and the stand-in for a backend this version does not have,
// so every front end offers the same choices and says the same thing about the missing ones.
#include "engine/runtime/backend_list.h"

#include "engine/runtime/cpu/cpu_backend.h"
#include "engine/runtime/remote/remote_backend.h"
#if PRUNELAB_HAVE_VULKAN
#include "engine/runtime/vulkan/vulkan_backend.h"
#endif

namespace prunelab::engine {

namespace {

// A backend listed but not built into this version: it is offered, greyed out, with its reason.
class UnavailableBackend final : public Backend {
  public:
    UnavailableBackend(std::string_view name, std::string_view title, std::string reason)
        : m_name(name), m_title(title), m_reason(std::move(reason)) {}
    std::string_view name() const override { return m_name; }
    std::string_view title() const override { return m_title; }
    Status available() const override { return makeError(ErrorCode::Unsupported, m_reason); }
    BackendDescription describe(int) const override { return {"none: " + m_reason, 0, {}}; }
    std::optional<std::string> unsupported(const Graph&, const Node&) const override {
        return m_reason;
    }
    Result<std::unique_ptr<Executor>> prepare(const Graph&, const PrepareOptions&) const override {
        return makeError(ErrorCode::Unsupported,
                         "backend '" + std::string(m_name) + "': " + m_reason);
    }

  private:
    std::string_view m_name, m_title;
    std::string m_reason;
};

const Backend& vulkanBackend() {
#if PRUNELAB_HAVE_VULKAN
    return vulkan::vulkanBackend();
#else
    static const UnavailableBackend backend(
        "vulkan", "GPU through Vulkan",
        "this PruneLab was built without the Vulkan loader or glslang (./prunelab setup "
        "installs them)");
    return backend;
#endif
}

// Built on first use, so a caller's static initialiser never sees it half made.
std::span<const Backend* const> list() {
#define PL_BACKEND(name, getter) &getter(),
    static const Backend* const all[] = {
#include "engine/runtime/backend_list.inc"
    };
#undef PL_BACKEND
    return all;
}

// Backends --backend takes that no list offers: agent:HOST:PORT is for tests and benches.
const Backend* unlisted(std::string_view name) {
    if (name == remote::agentBackend().name()) return &remote::agentBackend();
    return nullptr;
}

}  // namespace

std::span<const Backend* const> backends() {
    return list();
}

const Backend& defaultBackend() {
    return *list().front();
}

std::string backendNames() {
    std::string names;
    for (const Backend* b : list()) names += (names.empty() ? "" : ", ") + std::string(b->name());
    return names;
}

Result<const Backend*> findBackend(std::string_view name) {
    // NAME:ARGUMENT picks a device of the backend NAME (phone:SERIAL, agent:HOST:PORT).
    const size_t colon = name.find(':');
    const std::string_view base = name.substr(0, colon);
    const Backend* found = unlisted(base);
    for (const Backend* b : list()) {
        if (b->name() == base) found = b;
    }
    if (found == nullptr) {
        return makeError(ErrorCode::InvalidArgument, "no backend '" + std::string(name) +
                                                         "' (backends: " + backendNames() + ")");
    }
    if (colon != std::string_view::npos) {
        PL_TRY_ASSIGN(found, found->withArgument(name.substr(colon + 1)));
    }
    if (Status ok = found->available(); !ok.ok()) {
        return makeError(ErrorCode::Unsupported, "backend '" + std::string(name) +
                                                     "' cannot run here: " + ok.error().message);
    }
    return found;
}

}  // namespace prunelab::engine

// The backend list (backend_list.inc) and the stand-in for a backend this version does not have,
// so every front end offers the same choices and says the same thing about the missing ones.
#include "engine/runtime/backend_list.h"

#include "engine/runtime/cpu/cpu_backend.h"
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

const Backend& remoteBackend() {
    static const UnavailableBackend backend(
        "remote", "Phone over adb",
        "the phone backend (a tethered phone over adb) is not built into this version of PruneLab");
    return backend;
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
    for (const Backend* b : list()) {
        if (b->name() != name) continue;
        if (Status ok = b->available(); !ok.ok()) {
            return makeError(
                ErrorCode::Unsupported,
                "backend '" + std::string(name) + "' cannot run here: " + ok.error().message);
        }
        return b;
    }
    return makeError(ErrorCode::InvalidArgument,
                     "no backend '" + std::string(name) + "' (backends: " + backendNames() + ")");
}

}  // namespace prunelab::engine

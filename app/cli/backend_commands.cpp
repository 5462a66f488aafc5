// `prunelab-cli backends` and --device (see backend_commands.h).
#include "app/cli/backend_commands.h"

#include <cstdio>

#include "engine/runtime/backend_list.h"
#if PRUNELAB_HAVE_VULKAN
#include "engine/runtime/vulkan/vulkan_device.h"
#endif

namespace prunelab::cli {

using namespace prunelab::engine;

int cmdBackends() {
    for (const Backend* b : backends()) {
        const Status ok = b->available();
        std::printf("%-8s %s: %s\n", std::string(b->name()).c_str(),
                    std::string(b->title()).c_str(),
                    ok.ok() ? "available" : ("not available: " + ok.error().message).c_str());
        if (!ok.ok()) continue;
        const BackendDescription d = b->describe();
        std::string features;
        for (const std::string& f : d.features) features += (features.empty() ? "" : ", ") + f;
        std::printf("         runs on %s%s%s\n", d.device.c_str(), features.empty() ? "" : "; ",
                    features.c_str());
#if PRUNELAB_HAVE_VULKAN
        if (b->name() != "vulkan") continue;
        auto devices = vulkan::listDevices();
        auto open = vulkan::processDevice();
        if (!devices.ok()) continue;
        for (const vulkan::DeviceInfo& v : *devices) {
            const bool used = open.ok() && (*open)->info().index == v.index;
            std::printf("         --device %d: %s (%s, %s)%s%s\n", v.index, v.name.c_str(),
                        v.type.c_str(), v.driver.c_str(), v.hasCompute ? "" : ", no compute queue",
                        used ? "  <- in use" : "");
        }
#endif
    }
    return 0;
}

Status chooseDevice(const std::string& backend, int index) {
    if (backend != "vulkan") {
        return makeError(ErrorCode::InvalidArgument,
                         "--device " + std::to_string(index) +
                             " picks a Vulkan device: it needs --backend vulkan (the backend here "
                             "is '" +
                             backend + "')");
    }
#if PRUNELAB_HAVE_VULKAN
    return vulkan::setDeviceIndex(index);
#else
    return makeError(ErrorCode::Unsupported,
                     "--device: this PruneLab was built without the Vulkan backend");
#endif
}

}  // namespace prunelab::cli

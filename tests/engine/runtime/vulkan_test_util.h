// What every Vulkan test file shares: the backend under test, and the loud skip on a machine with
// no Vulkan device at all (lavapipe gives every test machine one).
#pragma once

#include <gtest/gtest.h>

#include "engine/runtime/vulkan/vulkan_backend.h"

namespace prunelab::engine::testing {

inline const Backend& gpu() {
    return vulkan::vulkanBackend();
}

#define SKIP_WITHOUT_VULKAN()                                                \
    do {                                                                     \
        if (Status ok = gpu().available(); !ok.ok())                         \
            GTEST_SKIP() << "no Vulkan device here: " << ok.error().message; \
    } while (0)

}  // namespace prunelab::engine::testing

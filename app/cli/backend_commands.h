// prunelab-cli's backend commands: `backends` (every backend of this build, whether it runs here
// and on what; the Vulkan devices with the indices --device takes) and --device itself.
#pragma once

#include <string>

#include "engine/ir/result.h"

namespace prunelab::cli {

int cmdBackends();

// --device N for `backend`: picks the Vulkan device before anything opens it. InvalidArgument for
// another backend, an index out of range (naming the devices there are) or a build without Vulkan.
engine::Status chooseDevice(const std::string& backend, int index);

}  // namespace prunelab::cli

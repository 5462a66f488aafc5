// What the host's processor says about itself (/proc/cpuinfo), read in one place for the CPU
// backend's description, the kernel cache's key and the trainer's BLAS settings.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prunelab::engine {

// The first processor's entries in file order, keys and values trimmed ("model name", "AMD
// EPYC 7B13"). Empty where there is no /proc/cpuinfo (not Linux, a sandbox).
std::vector<std::pair<std::string, std::string>> firstProcessorInfo();
// The first processor's value for `key`; empty when there is none.
std::string processorInfo(std::string_view key);

}  // namespace prunelab::engine

// Reading /proc/cpuinfo (see host_cpu.h).
#include "engine/io/host_cpu.h"

#include <fstream>

namespace prunelab::engine {

namespace {

std::string trimmed(std::string_view s) {
    const size_t begin = s.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return {};
    const size_t end = s.find_last_not_of(" \t");
    return std::string(s.substr(begin, end - begin + 1));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> firstProcessorInfo() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::vector<std::pair<std::string, std::string>> entries;
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.empty()) {
            if (!entries.empty()) break;  // a blank line ends the first processor
            continue;
        }
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        entries.emplace_back(trimmed(std::string_view(line).substr(0, colon)),
                             trimmed(std::string_view(line).substr(colon + 1)));
    }
    return entries;
}

std::string processorInfo(std::string_view key) {
    for (auto& [k, v] : firstProcessorInfo()) {
        if (k == key) return v;
    }
    return {};
}

}  // namespace prunelab::engine

// The GPU backend through Vulkan: each node the GPU runs is a compute shader generated for it
// (shaders.h); the others run on the CPU with their reference kernel, and the kernel report
// says why. The device is opened once per process (PRUNELAB_VULKAN_DEVICE=N picks one).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/runtime/backend.h"

namespace prunelab::engine::vulkan {

const Backend& vulkanBackend();

class Device;
// An executor on `device` rather than the process's one (vulkan_device.h): for tests that need a
// device opened their own way (staging forced) next to the usual one.
Result<std::unique_ptr<Executor>> prepareOnDevice(std::shared_ptr<Device> device,
                                                  const Graph& graph,
                                                  const PrepareOptions& options = {});

// The barriers between dispatches a Vulkan executor recorded (-1 for another backend's): one
// only where a step reads what an unsynchronised dispatch wrote, for tests.
int recordedBarriers(const Executor& executor);

// The GLSL of every GPU step of `graph` as prepared, for the Kernels view and tests:
// (node description, shader text) in execution order.
Result<std::vector<std::pair<std::string, std::string>>> shaderSources(const Graph& graph);

}  // namespace prunelab::engine::vulkan

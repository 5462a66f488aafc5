// The Vulkan side of the GPU backend: the instance (with Khronos' validation layer when asked),
// the devices this machine has, one opened device with a compute queue, and host-visible
// buffers. Plain Vulkan through the loader, no vendor toolkit, so any desktop GPU and Mesa's
// lavapipe (a CPU Vulkan driver every test machine has) run the same code.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::vulkan {

struct DeviceInfo {
    int index = 0;       // what --device takes
    std::string name;    // "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string type;    // "discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"
    std::string driver;  // "Mesa 22.3.6"
    uint32_t apiVersion = 0;
    bool hasCompute = false;
};

// Validation (VK_LAYER_KHRONOS_validation) is on when PRUNELAB_VULKAN_VALIDATION=1: the tests
// set it, and every message of error severity is counted (validationErrors()) and logged.
bool validationRequested();

// Every device the loader reports, in its order; an error saying why when there is no Vulkan
// loader, no driver or no device.
Result<std::vector<DeviceInfo>> listDevices();

// The device the backend runs on: `index` >= 0 picks that one; -1 prefers a discrete GPU, then
// an integrated one, then any other with a compute queue (lavapipe last but not refused).
class Device {
  public:
    static Result<std::shared_ptr<Device>> open(int index = -1);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const DeviceInfo& info() const { return m_info; }
    VkDevice handle() const { return m_device; }
    uint32_t maxGroupsX() const { return m_maxGroupsX; }

    // A buffer the host maps once and the shaders read and write (host-visible, coherent):
    // simple and right on lavapipe and integrated GPUs; staging to device-local memory is the
    // next step for discrete ones.
    struct Buffer {
        VkBuffer buffer = VK_NULL_HANDLE;
        VkDeviceMemory memory = VK_NULL_HANDLE;
        void* mapped = nullptr;
        size_t bytes = 0;
    };
    Result<Buffer> createBuffer(size_t bytes);
    void destroyBuffer(Buffer& buffer);

    // SPIR-V -> a compute pipeline whose bindings are `buffers` storage buffers and whose push
    // constants are `pushBytes` bytes.
    struct Pipeline {
        VkShaderModule module = VK_NULL_HANDLE;
        VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
        VkPipelineLayout layout = VK_NULL_HANDLE;
        VkPipeline pipeline = VK_NULL_HANDLE;
    };
    Result<Pipeline> createPipeline(const std::vector<uint32_t>& spirv, uint32_t buffers,
                                    uint32_t pushBytes);
    void destroyPipeline(Pipeline& pipeline);

    VkDescriptorPool createDescriptorPool(uint32_t sets, uint32_t buffers);
    // Each executor records into its own pool (pools are not thread-safe), one buffer per
    // segment of GPU steps, recorded once at prepare.
    VkCommandPool createCommandPool();
    // Submits and waits: one submission per segment of GPU steps.
    Status submitAndWait(VkCommandBuffer cmd);

    // Messages of error severity from the validation layer since the process started.
    static int validationErrors();
    // With validation on, an error naming the first message once there has been one (sticky:
    // every later run fails too, so a test cannot pass over it); ok otherwise.
    static Status validationStatus();

  private:
    Device() = default;

    VkInstance m_instance = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT m_messenger = VK_NULL_HANDLE;
    VkPhysicalDevice m_physical = VK_NULL_HANDLE;
    VkDevice m_device = VK_NULL_HANDLE;
    VkQueue m_queue = VK_NULL_HANDLE;
    VkFence m_fence = VK_NULL_HANDLE;
    uint32_t m_queueFamily = 0;
    uint32_t m_maxGroupsX = 65535;
    VkPhysicalDeviceMemoryProperties m_memory{};
    DeviceInfo m_info;
    std::mutex m_submit;  // one queue and fence: submissions from several executors take turns
};

}  // namespace prunelab::engine::vulkan

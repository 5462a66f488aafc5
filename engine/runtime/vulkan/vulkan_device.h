// The Vulkan side of the GPU backend: the instance (with Khronos' validation layer when asked),
// the devices this machine has, one opened device with a compute queue, buffers (mapped directly
// where the device's memory allows, else device-local behind a staging copy), pipelines through a
// pipeline cache kept on disk, and submissions that report a lost device instead of crashing.
// Plain Vulkan through the loader, no vendor toolkit, so any desktop GPU and Mesa's lavapipe (a
// CPU Vulkan driver every test machine has) run the same code.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::vulkan {

struct DeviceInfo {
    int index = 0;       // what --device takes
    std::string name;    // "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string type;    // "discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"
    std::string driver;  // "Mesa 22.3.6", "NVIDIA 535.104.05": no word the name already says
    uint32_t apiVersion = 0;
    bool hasCompute = false;
};

// Validation (VK_LAYER_KHRONOS_validation) is on when PRUNELAB_VULKAN_VALIDATION=1: the tests
// set it, and every message of error severity is counted (validationErrors()) and logged.
bool validationRequested();

// Every device the loader reports, in its order; an error saying why when there is no Vulkan
// loader, no driver or no device.
Result<std::vector<DeviceInfo>> listDevices();

class Device;

// The process's device, opened on first use (the index setDeviceIndex chose, else
// PRUNELAB_VULKAN_DEVICE=N, else the preferred one) and deliberately never closed: destroying a
// Vulkan device from a static destructor races the loader's own teardown. Thread-safe.
Result<std::shared_ptr<Device>> processDevice();
// Picks the process's device (--device N). Must come before its first use: InvalidArgument naming
// the index and how many devices there are when out of range, and naming the open device when it
// is too late (asking again for the device already open is fine).
Status setDeviceIndex(int index);

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
    // What one shader may bind: storage buffers per stage (4 is all the spec promises) and bytes
    // per storage buffer. A plan over either runs on the CPU, saying so.
    uint32_t maxStorageBuffers() const { return m_maxStorageBuffers; }
    uint64_t maxStorageBufferBytes() const { return m_maxStorageBufferBytes; }
    // True when the device stores 16-bit floats in storage buffers and computes with them
    // (storageBuffer16BitAccess and shaderFloat16, both enabled at open): what fp16 storage
    // needs (withHalfStorage in shaders.h). Else why not, for the option's error.
    bool halfStorage() const { return m_halfStorage.empty(); }
    const std::string& whyNoHalfStorage() const { return m_halfStorage; }
    // Per-dispatch GPU timing: the compute queue's timestamps tick every timestampPeriodNs()
    // nanoseconds and only their timestampMask() bits count; 0 when the queue writes none (the
    // executor times the host's wall clock then).
    double timestampPeriodNs() const { return m_timestampMask ? m_timestampPeriodNs : 0; }
    uint64_t timestampMask() const { return m_timestampMask; }

    // A buffer the shaders read and write. Where the device has memory that is device-local,
    // host-visible and coherent in a heap of its main size (lavapipe, integrated GPUs, a discrete
    // GPU with resizable BAR) the host maps it directly (`mapped`); otherwise (a discrete GPU, or
    // PRUNELAB_VULKAN_STAGING=1 for tests) it is device-local and the host goes through a
    // host-visible twin (`staging`) that the run's command buffer copies to and from.
    struct Buffer {
        VkBuffer buffer = VK_NULL_HANDLE;
        VkDeviceMemory memory = VK_NULL_HANDLE;
        void* mapped = nullptr;  // null when device-local
        size_t bytes = 0;
        VkBuffer staging = VK_NULL_HANDLE;  // after enableHostAccess() on a device-local buffer
        VkDeviceMemory stagingMemory = VK_NULL_HANDLE;
        void* stagingMapped = nullptr;
        // Where the host writes a run's input before the submission and reads its output after:
        // the buffer itself or its twin (null before enableHostAccess() on a device-local one).
        void* host() const { return mapped ? mapped : stagingMapped; }
    };
    Result<Buffer> createBuffer(size_t bytes);
    void destroyBuffer(Buffer& buffer);
    // True when buffers are device-local behind staging copies.
    bool staging() const { return m_staging; }
    // Fills `buffer` once, now (constants and a plan's own data, at prepare): a copy into mapped
    // memory, or through a temporary staging buffer and a submission waited for.
    Status upload(Buffer& buffer, const void* data, size_t bytes);
    // Makes host() usable for a buffer the host reads or writes every run.
    Status enableHostAccess(Buffer& buffer);
    // Recorded into a run's command buffer around its dispatches: the host's writes copied in
    // (then a transfer -> compute barrier) before, and the shaders' results made readable by the
    // host after (compute -> transfer, the copies, transfer -> host; or compute -> host where
    // mapped directly: recordDownloads is needed even with nothing to copy).
    void recordUploads(VkCommandBuffer cmd, std::span<const Buffer* const> buffers) const;
    void recordDownloads(VkCommandBuffer cmd, std::span<const Buffer* const> buffers) const;

    // SPIR-V -> a compute pipeline whose bindings are `buffers` storage buffers and whose push
    // constants are `pushBytes` bytes, through the device's pipeline cache.
    struct Pipeline {
        VkShaderModule module = VK_NULL_HANDLE;
        VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
        VkPipelineLayout layout = VK_NULL_HANDLE;
        VkPipeline pipeline = VK_NULL_HANDLE;
    };
    Result<Pipeline> createPipeline(const std::vector<uint32_t>& spirv, uint32_t buffers,
                                    uint32_t pushBytes);
    void destroyPipeline(Pipeline& pipeline);

    // The pipeline cache on disk: <userCacheRoot()>/vulkan/pipelines/<vendor>-<device>-<driver
    // version>-<pipelineCacheUUID>.bin, read at open when its Vulkan header names this very device
    // and driver (another driver's is ignored), written (whole, renamed into place) by
    // savePipelineCache() after an executor creates its pipelines. PRUNELAB_VULKAN_NO_CACHE=1
    // turns it off. A failed save costs only time: the Status says why.
    Status savePipelineCache();
    const std::string& pipelineCachePath() const { return m_pipelineCachePath; }
    size_t pipelineCacheLoadedBytes() const { return m_pipelineCacheLoaded; }

    VkDescriptorPool createDescriptorPool(uint32_t sets, uint32_t buffers);
    // Each executor records into its own pool (pools are not thread-safe), one buffer per
    // segment of GPU steps, recorded once at prepare.
    VkCommandPool createCommandPool();
    // Submits and waits: one submission per segment of GPU steps. Any failure (a lost device
    // above all) is an error whose message begins "the GPU was lost during a run
    // (VK_ERROR_DEVICE_LOST ...)" or "the GPU failed during a run (...)": callers run the work
    // on the CPU instead. PRUNELAB_VULKAN_SIMULATE_LOST=N makes the process's N-th submission
    // (counting from 1, see submissions()) fail as lost without reaching the driver, for tests.
    Status submitAndWait(VkCommandBuffer cmd);
    // Waits until the queue has finished all work, taking turns with submissions (Vulkan wants
    // the queue externally synchronised): before an executor frees what its commands use.
    void waitIdle();
    // submitAndWait() calls since the process started.
    static int submissions();

    // Messages of error severity from the validation layer since the process started.
    static int validationErrors();
    // With validation on, an error naming the first message once there has been one (sticky:
    // every later run fails too, so a test cannot pass over it); ok otherwise.
    static Status validationStatus();

  private:
    Device() = default;
    Result<Buffer> allocate(size_t bytes, bool hostVisible);
    void openPipelineCache(const VkPhysicalDeviceProperties& props);

    VkInstance m_instance = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT m_messenger = VK_NULL_HANDLE;
    VkPhysicalDevice m_physical = VK_NULL_HANDLE;
    VkDevice m_device = VK_NULL_HANDLE;
    VkQueue m_queue = VK_NULL_HANDLE;
    VkFence m_fence = VK_NULL_HANDLE;
    uint32_t m_queueFamily = 0;
    uint32_t m_maxGroupsX = 65535;
    uint32_t m_maxStorageBuffers = 4;
    uint64_t m_maxStorageBufferBytes = 1u << 27;
    std::string m_halfStorage = "not asked yet";  // empty: fp16 storage works here
    double m_timestampPeriodNs = 0;               // timestamps: see timestampPeriodNs()
    uint64_t m_timestampMask = 0;
    VkPhysicalDeviceMemoryProperties m_memory{};
    bool m_staging = false;
    VkCommandPool m_uploadPool = VK_NULL_HANDLE;  // upload()'s, used under m_submit
    VkPipelineCache m_pipelineCache = VK_NULL_HANDLE;
    std::string m_pipelineCachePath;  // empty: no cache on disk
    size_t m_pipelineCacheLoaded = 0;
    std::mutex m_saving;
    DeviceInfo m_info;
    std::mutex m_submit;  // one queue and fence: submissions from several executors take turns
};

}  // namespace prunelab::engine::vulkan

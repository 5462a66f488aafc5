// Instance, device choice, buffers and pipelines (see vulkan_device.h).
#include "engine/runtime/vulkan/vulkan_device.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace prunelab::engine::vulkan {

namespace {

std::atomic<int> g_validationErrors{0};
std::mutex g_firstMessageLock;
std::string g_firstMessage;

std::string vkError(const char* what, VkResult r) {
    return std::string(what) + " failed (VkResult " + std::to_string(static_cast<int>(r)) + ")";
}

VKAPI_ATTR VkBool32 VKAPI_CALL onValidationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                   void*) {
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        {
            std::lock_guard<std::mutex> lock(g_firstMessageLock);
            if (g_firstMessage.empty() && data && data->pMessage) g_firstMessage = data->pMessage;
        }
        g_validationErrors.fetch_add(1);
        std::fprintf(stderr, "vulkan validation: %s\n",
                     data && data->pMessage ? data->pMessage : "");
    }
    return VK_FALSE;
}

bool layerPresent(const char* name) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> layers(n);
    vkEnumerateInstanceLayerProperties(&n, layers.data());
    for (const VkLayerProperties& l : layers) {
        if (std::strcmp(l.layerName, name) == 0) return true;
    }
    return false;
}

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

// An instance with validation when asked for (and installed: asked for but missing is an error,
// so a test never passes without the checks it meant to run).
Result<VkInstance> createInstance(bool validate) {
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "PruneLab";
    app.pEngineName = "PruneLab";
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pApplicationInfo = &app;
    const char* debugExt = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (validate) {
        if (!layerPresent(kValidationLayer)) {
            return makeError(ErrorCode::NotFound,
                             "PRUNELAB_VULKAN_VALIDATION=1 asks for the validation layer, which "
                             "is not installed (package vulkan-validationlayers)");
        }
        info.enabledLayerCount = 1;
        info.ppEnabledLayerNames = &kValidationLayer;
        info.enabledExtensionCount = 1;
        info.ppEnabledExtensionNames = &debugExt;
    }
    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = vkCreateInstance(&info, nullptr, &instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
        return makeError(ErrorCode::NotFound,
                         "no Vulkan driver is installed (for a CPU one: mesa-vulkan-drivers)");
    }
    if (r != VK_SUCCESS) return makeError(ErrorCode::NotFound, vkError("vkCreateInstance", r));
    return instance;
}

std::string typeName(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return "virtual GPU";
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return "CPU";
        default:
            return "other";
    }
}

// Lower is preferred.
int typeRank(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return 3;
        default:
            return 4;
    }
}

int computeFamily(VkPhysicalDevice pd) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> families(n);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families.data());
    for (uint32_t i = 0; i < n; ++i) {
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
    }
    return -1;
}

DeviceInfo describe(VkPhysicalDevice pd, int index) {
    VkPhysicalDeviceProperties p{};
    vkGetPhysicalDeviceProperties(pd, &p);
    DeviceInfo d;
    d.index = index;
    d.name = p.deviceName;
    d.type = typeName(p.deviceType);
    d.apiVersion = p.apiVersion;
    d.driver = "driver " + std::to_string(p.driverVersion);
    VkPhysicalDeviceDriverProperties driver{};
    driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &driver;
    if (VK_API_VERSION_MINOR(p.apiVersion) >= 2 || VK_API_VERSION_MAJOR(p.apiVersion) > 1) {
        vkGetPhysicalDeviceProperties2(pd, &p2);
        if (driver.driverName[0]) {
            d.driver = std::string(driver.driverName) + " " + driver.driverInfo;
        }
    }
    d.hasCompute = computeFamily(pd) >= 0;
    return d;
}

Result<std::vector<VkPhysicalDevice>> physicalDevices(VkInstance instance) {
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(instance, &n, nullptr);
    if (r != VK_SUCCESS) return makeError(ErrorCode::NotFound, vkError("listing devices", r));
    if (n == 0) return makeError(ErrorCode::NotFound, "Vulkan reports no device");
    std::vector<VkPhysicalDevice> devices(n);
    vkEnumeratePhysicalDevices(instance, &n, devices.data());
    return devices;
}

}  // namespace

bool validationRequested() {
    const char* v = std::getenv("PRUNELAB_VULKAN_VALIDATION");
    return v && std::strcmp(v, "1") == 0;
}

int Device::validationErrors() {
    return g_validationErrors.load();
}

Status Device::validationStatus() {
    if (g_validationErrors.load() == 0) return {};
    std::lock_guard<std::mutex> lock(g_firstMessageLock);
    return makeError(ErrorCode::Internal, "the Vulkan validation layer reported " +
                                              std::to_string(g_validationErrors.load()) +
                                              " error(s); the first: " + g_firstMessage);
}

Result<std::vector<DeviceInfo>> listDevices() {
    PL_TRY_ASSIGN(VkInstance instance, createInstance(false));
    auto devices = physicalDevices(instance);
    std::vector<DeviceInfo> out;
    if (devices.ok()) {
        for (size_t i = 0; i < devices->size(); ++i) {
            out.push_back(describe((*devices)[i], static_cast<int>(i)));
        }
    }
    vkDestroyInstance(instance, nullptr);
    if (!devices.ok()) return devices.error();
    return out;
}

Result<std::shared_ptr<Device>> Device::open(int index) {
    std::shared_ptr<Device> d(new Device());
    const bool validate = validationRequested();
    PL_TRY_ASSIGN(d->m_instance, createInstance(validate));
    if (validate) {
        VkDebugUtilsMessengerCreateInfoEXT m{};
        m.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
        m.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                            VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        m.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        m.pfnUserCallback = onValidationMessage;
        auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(d->m_instance, "vkCreateDebugUtilsMessengerEXT"));
        if (create) create(d->m_instance, &m, nullptr, &d->m_messenger);
    }
    PL_TRY_ASSIGN(std::vector<VkPhysicalDevice> devices, physicalDevices(d->m_instance));
    int pick = -1;
    if (index >= 0) {
        if (index >= static_cast<int>(devices.size())) {
            return makeError(ErrorCode::InvalidArgument,
                             "no Vulkan device " + std::to_string(index) + " (this machine has " +
                                 std::to_string(devices.size()) + ")");
        }
        if (computeFamily(devices[static_cast<size_t>(index)]) < 0) {
            return makeError(ErrorCode::Unsupported,
                             "Vulkan device " + std::to_string(index) + " has no compute queue");
        }
        pick = index;
    } else {
        int best = 1 << 30;
        for (size_t i = 0; i < devices.size(); ++i) {
            if (computeFamily(devices[i]) < 0) continue;
            VkPhysicalDeviceProperties p{};
            vkGetPhysicalDeviceProperties(devices[i], &p);
            if (typeRank(p.deviceType) < best)
                best = typeRank(p.deviceType), pick = static_cast<int>(i);
        }
        if (pick < 0) return makeError(ErrorCode::NotFound, "no Vulkan device has a compute queue");
    }
    d->m_physical = devices[static_cast<size_t>(pick)];
    d->m_info = describe(d->m_physical, pick);
    d->m_queueFamily = static_cast<uint32_t>(computeFamily(d->m_physical));
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(d->m_physical, &props);
    d->m_maxGroupsX = props.limits.maxComputeWorkGroupCount[0];
    vkGetPhysicalDeviceMemoryProperties(d->m_physical, &d->m_memory);

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{};
    queue.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue.queueFamilyIndex = d->m_queueFamily;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    VkResult r = vkCreateDevice(d->m_physical, &info, nullptr, &d->m_device);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Unsupported, vkError("vkCreateDevice", r));
    vkGetDeviceQueue(d->m_device, d->m_queueFamily, 0, &d->m_queue);
    VkFenceCreateInfo fence{};
    fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    r = vkCreateFence(d->m_device, &fence, nullptr, &d->m_fence);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Internal, vkError("vkCreateFence", r));
    return d;
}

Device::~Device() {
    if (m_device) {
        vkDeviceWaitIdle(m_device);
        if (m_fence) vkDestroyFence(m_device, m_fence, nullptr);
        vkDestroyDevice(m_device, nullptr);
    }
    if (m_messenger) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(m_instance, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy) destroy(m_instance, m_messenger, nullptr);
    }
    if (m_instance) vkDestroyInstance(m_instance, nullptr);
}

Result<Device::Buffer> Device::createBuffer(size_t bytes) {
    Buffer b;
    b.bytes = bytes;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = bytes ? bytes : 4;  // a zero-sized buffer is invalid; an empty tensor gets 4
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = vkCreateBuffer(m_device, &info, nullptr, &b.buffer);
    if (r != VK_SUCCESS) return makeError(ErrorCode::OutOfRange, vkError("vkCreateBuffer", r));
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(m_device, b.buffer, &req);
    const VkMemoryPropertyFlags want =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < m_memory.memoryTypeCount; ++i) {
        if ((req.memoryTypeBits & (1u << i)) &&
            (m_memory.memoryTypes[i].propertyFlags & want) == want) {
            type = i;
            break;
        }
    }
    if (type == UINT32_MAX) {
        vkDestroyBuffer(m_device, b.buffer, nullptr);
        return makeError(ErrorCode::Unsupported, "the device has no host-visible memory");
    }
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    r = vkAllocateMemory(m_device, &alloc, nullptr, &b.memory);
    if (r != VK_SUCCESS) {
        vkDestroyBuffer(m_device, b.buffer, nullptr);
        return makeError(ErrorCode::OutOfRange,
                         vkError(("allocating " + std::to_string(bytes) + " bytes").c_str(), r));
    }
    vkBindBufferMemory(m_device, b.buffer, b.memory, 0);
    r = vkMapMemory(m_device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    if (r != VK_SUCCESS) {
        destroyBuffer(b);
        return makeError(ErrorCode::Internal, vkError("vkMapMemory", r));
    }
    return b;
}

void Device::destroyBuffer(Buffer& b) {
    if (b.mapped) vkUnmapMemory(m_device, b.memory);
    if (b.buffer) vkDestroyBuffer(m_device, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(m_device, b.memory, nullptr);
    b = Buffer{};
}

Result<Device::Pipeline> Device::createPipeline(const std::vector<uint32_t>& spirv,
                                                uint32_t buffers, uint32_t pushBytes) {
    Pipeline p;
    VkShaderModuleCreateInfo module{};
    module.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    module.codeSize = spirv.size() * sizeof(uint32_t);
    module.pCode = spirv.data();
    VkResult r = vkCreateShaderModule(m_device, &module, nullptr, &p.module);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Internal, vkError("vkCreateShaderModule", r));
    std::vector<VkDescriptorSetLayoutBinding> bindings(buffers);
    for (uint32_t i = 0; i < buffers; ++i) {
        bindings[i].binding = i;
        bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo set{};
    set.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    set.bindingCount = buffers;
    set.pBindings = bindings.data();
    vkCreateDescriptorSetLayout(m_device, &set, nullptr, &p.setLayout);
    VkPushConstantRange push{};
    push.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    push.size = pushBytes;
    VkPipelineLayoutCreateInfo layout{};
    layout.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layout.setLayoutCount = 1;
    layout.pSetLayouts = &p.setLayout;
    layout.pushConstantRangeCount = pushBytes ? 1 : 0;
    layout.pPushConstantRanges = &push;
    vkCreatePipelineLayout(m_device, &layout, nullptr, &p.layout);
    VkComputePipelineCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = p.module;
    info.stage.pName = "main";
    info.layout = p.layout;
    r = vkCreateComputePipelines(m_device, VK_NULL_HANDLE, 1, &info, nullptr, &p.pipeline);
    if (r != VK_SUCCESS) {
        destroyPipeline(p);
        return makeError(ErrorCode::Internal, vkError("vkCreateComputePipelines", r));
    }
    return p;
}

void Device::destroyPipeline(Pipeline& p) {
    if (p.pipeline) vkDestroyPipeline(m_device, p.pipeline, nullptr);
    if (p.layout) vkDestroyPipelineLayout(m_device, p.layout, nullptr);
    if (p.setLayout) vkDestroyDescriptorSetLayout(m_device, p.setLayout, nullptr);
    if (p.module) vkDestroyShaderModule(m_device, p.module, nullptr);
    p = Pipeline{};
}

VkDescriptorPool Device::createDescriptorPool(uint32_t sets, uint32_t buffers) {
    VkDescriptorPoolSize size{};
    size.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    size.descriptorCount = buffers ? buffers : 1;
    VkDescriptorPoolCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    info.maxSets = sets ? sets : 1;
    info.poolSizeCount = 1;
    info.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    vkCreateDescriptorPool(m_device, &info, nullptr, &pool);
    return pool;
}

VkCommandPool Device::createCommandPool() {
    VkCommandPoolCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    info.queueFamilyIndex = m_queueFamily;
    VkCommandPool pool = VK_NULL_HANDLE;
    vkCreateCommandPool(m_device, &info, nullptr, &pool);
    return pool;
}

Status Device::submitAndWait(VkCommandBuffer cmd) {
    std::lock_guard<std::mutex> lock(m_submit);
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    VkResult r = vkQueueSubmit(m_queue, 1, &submit, m_fence);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Internal, vkError("vkQueueSubmit", r));
    r = vkWaitForFences(m_device, 1, &m_fence, VK_TRUE, UINT64_MAX);
    vkResetFences(m_device, 1, &m_fence);
    if (r != VK_SUCCESS) {
        return makeError(ErrorCode::Internal,
                         vkError("waiting for the GPU", r) + " (the device may have been lost)");
    }
    return {};
}

}  // namespace prunelab::engine::vulkan

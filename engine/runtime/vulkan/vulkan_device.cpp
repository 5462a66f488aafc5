// Instance, device choice, buffers and pipelines (see vulkan_device.h).
#include "engine/runtime/vulkan/vulkan_device.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/runtime/disk_cache.h"

namespace prunelab::engine::vulkan {

namespace {

std::atomic<int> g_validationErrors{0};
std::mutex g_firstMessageLock;
std::string g_firstMessage;

namespace fs = std::filesystem;

std::atomic<int> g_submissions{0};

std::string resultName(VkResult r) {
    switch (r) {
        case VK_ERROR_DEVICE_LOST:
            return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_OUT_OF_HOST_MEMORY:
            return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY:
            return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED:
            return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_TIMEOUT:
            return "VK_TIMEOUT";
        default:
            return "VkResult " + std::to_string(static_cast<int>(r));
    }
}

std::string vkError(const char* what, VkResult r) {
    return std::string(what) + " failed (" + resultName(r) + ")";
}

bool envIs(const char* name, const char* value) {
    const char* v = std::getenv(name);
    return v && std::strcmp(v, value) == 0;
}

bool containsNoCase(const std::string& text, const std::string& word) {
    auto lower = [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    return !word.empty() && lower(text).find(lower(word)) != std::string::npos;
}

// Written beside its final name and renamed into place, so a reader sees a whole file or none.
Status writeAtomically(const fs::path& path, const void* data, size_t bytes) {
    static std::atomic<uint64_t> counter{0};
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = path.parent_path() / ("tmp-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(counter.fetch_add(1)));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out.flush()) {
            out.close();
            fs::remove(tmp, ec);
            return makeError(ErrorCode::Io, "cannot write " + tmp.string());
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return makeError(ErrorCode::Io,
                         "cannot rename into " + path.string() + ": " + ec.message());
    }
    return {};
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
// True when `layer` provides the instance extension `name`.
bool layerHasExtension(const char* layer, const char* name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, nullptr) != VK_SUCCESS) return false;
    std::vector<VkExtensionProperties> all(n);
    if (vkEnumerateInstanceExtensionProperties(layer, &n, all.data()) != VK_SUCCESS) return false;
    for (const VkExtensionProperties& e : all) {
        if (std::strcmp(e.extensionName, name) == 0) return true;
    }
    return false;
}

Result<VkInstance> createInstance(bool validate) {
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "PruneLab";
    app.pEngineName = "PruneLab";
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pApplicationInfo = &app;
    const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
                                VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    if (validate) {
        if (!layerPresent(kValidationLayer)) {
            return makeError(ErrorCode::NotFound,
                             "PRUNELAB_VULKAN_VALIDATION=1 asks for the validation layer, which "
                             "is not installed (package vulkan-validationlayers)");
        }
        info.enabledLayerCount = 1;
        info.ppEnabledLayerNames = &kValidationLayer;
        info.enabledExtensionCount = 1;
        info.ppEnabledExtensionNames = extensions;
    }
    // Synchronisation validation too: a missing barrier between two dispatches is a race that
    // lavapipe may never show, but a real GPU will.
    const VkValidationFeatureEnableEXT sync =
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features{};
    features.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = &sync;
    if (validate &&
        layerHasExtension(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
        info.enabledExtensionCount = 2;
        info.pNext = &features;
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
        // lavapipe says driverName "llvmpipe", driverInfo "Mesa 22.3.6 (LLVM 15.0.6)" of a device
        // named "llvmpipe (LLVM 15.0.6, 256 bits)": keep what the name does not already say.
        std::string info = driver.driverInfo;
        const size_t paren = info.rfind(" (");
        if (paren != std::string::npos && info.back() == ')' &&
            containsNoCase(d.name, info.substr(paren + 2, info.size() - paren - 3))) {
            info.erase(paren);
        }
        const std::string name = driver.driverName;
        // A bare version ("535.104.05") needs its driver's name to mean anything.
        if (info.empty() || std::isdigit(static_cast<unsigned char>(info[0]))) {
            info = containsNoCase(info, name) ? info : (name + " " + info);
        }
        while (!info.empty() && info.back() == ' ') info.pop_back();
        if (!info.empty()) d.driver = info;
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

constexpr VkMemoryPropertyFlags kHostFlags =
    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
constexpr VkMemoryPropertyFlags kDirectFlags = kHostFlags | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;

// A memory type of `allowed` with every flag of `want`, preferring one with none of `avoid`;
// UINT32_MAX when there is none.
uint32_t memoryType(const VkPhysicalDeviceMemoryProperties& m, uint32_t allowed,
                    VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) {
    uint32_t fallback = UINT32_MAX;
    for (uint32_t i = 0; i < m.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags f = m.memoryTypes[i].propertyFlags;
        if (!(allowed & (1u << i)) || (f & want) != want) continue;
        if (!(f & avoid)) return i;
        if (fallback == UINT32_MAX) fallback = i;
    }
    return fallback;
}

// Whether shaders can use host-mapped memory at full speed for any size: a type that is
// device-local, host-visible and coherent, in a heap at least half the largest device-local one
// (one heap on lavapipe and integrated GPUs, the whole of VRAM with resizable BAR; a plain
// discrete GPU's 256 MiB window does not count).
bool hasDirectMemory(const VkPhysicalDeviceMemoryProperties& m) {
    VkDeviceSize largest = 0;
    for (uint32_t h = 0; h < m.memoryHeapCount; ++h) {
        if (m.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            largest = std::max(largest, m.memoryHeaps[h].size);
    }
    for (uint32_t i = 0; i < m.memoryTypeCount; ++i) {
        if ((m.memoryTypes[i].propertyFlags & kDirectFlags) == kDirectFlags &&
            2 * m.memoryHeaps[m.memoryTypes[i].heapIndex].size >= largest) {
            return true;
        }
    }
    return false;
}

// A saved pipeline cache is used only when Vulkan's own header (VkPipelineCacheHeaderVersionOne)
// names this device and driver: another driver's data is at best ignored, at worst trusted.
bool pipelineCacheMatches(const std::vector<char>& data, const VkPhysicalDeviceProperties& p) {
    VkPipelineCacheHeaderVersionOne h{};
    if (data.size() < sizeof h) return false;
    std::memcpy(&h, data.data(), sizeof h);
    return h.headerSize >= sizeof h && h.headerSize <= data.size() &&
           h.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && h.vendorID == p.vendorID &&
           h.deviceID == p.deviceID &&
           std::memcmp(h.pipelineCacheUUID, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

std::mutex g_processLock;
int g_processIndex = -2;  // -2: not chosen (PRUNELAB_VULKAN_DEVICE, else the preferred one)
const Result<std::shared_ptr<Device>>* g_processDevice = nullptr;

}  // namespace

Result<std::shared_ptr<Device>> processDevice() {
    std::lock_guard<std::mutex> lock(g_processLock);
    if (!g_processDevice) {
        int index = g_processIndex;
        if (index == -2) {
            const char* v = std::getenv("PRUNELAB_VULKAN_DEVICE");
            index = v && *v ? std::atoi(v) : -1;
        }
        g_processDevice = new Result<std::shared_ptr<Device>>(Device::open(index));
    }
    return *g_processDevice;
}

Status setDeviceIndex(int index) {
    std::lock_guard<std::mutex> lock(g_processLock);
    if (g_processDevice) {
        if (g_processDevice->ok() && (**g_processDevice)->info().index == index) return {};
        const std::string open =
            g_processDevice->ok() ? "device " + std::to_string((**g_processDevice)->info().index) +
                                        " (" + (**g_processDevice)->info().name + ") is open"
                                  : "opening it failed: " + g_processDevice->error().message;
        return makeError(ErrorCode::InvalidArgument,
                         "cannot choose Vulkan device " + std::to_string(index) +
                             ": the GPU is already in use (" + open +
                             "); choose the device before anything runs on it");
    }
    PL_TRY_ASSIGN(std::vector<DeviceInfo> devices, listDevices());
    if (index < 0 || index >= static_cast<int>(devices.size())) {
        std::string names;
        for (const DeviceInfo& d : devices) {
            names += (names.empty() ? "" : ", ") + std::to_string(d.index) + ": " + d.name;
        }
        return makeError(ErrorCode::InvalidArgument,
                         "no Vulkan device " + std::to_string(index) + ": this machine has " +
                             std::to_string(devices.size()) + " (" + names + ")");
    }
    g_processIndex = index;
    return {};
}

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
    d->m_maxStorageBuffers = props.limits.maxPerStageDescriptorStorageBuffers;
    // PRUNELAB_VULKAN_MAX_BUFFERS=N acts as a device that binds fewer (4 is the spec's minimum,
    // some phones' limit): the test of the fallback on desktops that allow many more.
    if (const char* v = std::getenv("PRUNELAB_VULKAN_MAX_BUFFERS"); v && std::atoi(v) > 0) {
        d->m_maxStorageBuffers =
            std::min(d->m_maxStorageBuffers, static_cast<uint32_t>(std::atoi(v)));
    }
    d->m_maxStorageBufferBytes = props.limits.maxStorageBufferRange;
    {
        // Timestamps: the compute family's valid bits (36..64, or 0 for none) decide;
        // timestampComputeAndGraphics only promises them on every such queue at once.
        uint32_t n = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(d->m_physical, &n, nullptr);
        std::vector<VkQueueFamilyProperties> families(n);
        vkGetPhysicalDeviceQueueFamilyProperties(d->m_physical, &n, families.data());
        const uint32_t bits = families[d->m_queueFamily].timestampValidBits;
        if (bits > 0 && props.limits.timestampPeriod > 0) {
            d->m_timestampMask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
            d->m_timestampPeriodNs = props.limits.timestampPeriod;
        }
    }
    vkGetPhysicalDeviceMemoryProperties(d->m_physical, &d->m_memory);

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{};
    queue.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue.queueFamilyIndex = d->m_queueFamily;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    // fp16 storage: 16-bit storage buffers (core in Vulkan 1.1) and float16 arithmetic (core in
    // 1.2), enabled when the device has both.
    VkPhysicalDeviceShaderFloat16Int8Features float16{};
    float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    VkPhysicalDevice16BitStorageFeatures storage16{};
    storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    storage16.pNext = &float16;
    const bool v12 =
        VK_API_VERSION_MAJOR(props.apiVersion) > 1 || VK_API_VERSION_MINOR(props.apiVersion) >= 2;
    if (v12) {
        VkPhysicalDeviceFeatures2 features{};
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
        features.pNext = &storage16;
        vkGetPhysicalDeviceFeatures2(d->m_physical, &features);
        if (!storage16.storageBuffer16BitAccess) {
            d->m_halfStorage = "the device has no 16-bit storage buffers";
        } else if (!float16.shaderFloat16) {
            d->m_halfStorage = "the device has no float16 arithmetic in shaders";
        } else {
            d->m_halfStorage.clear();
        }
    } else {
        d->m_halfStorage = "the device's Vulkan is older than 1.2";
    }
    // Enable only those two features (the queried structs hold others' answers too).
    VkPhysicalDeviceShaderFloat16Int8Features enable16{};
    enable16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    enable16.shaderFloat16 = VK_TRUE;
    VkPhysicalDevice16BitStorageFeatures enableStorage{};
    enableStorage.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    enableStorage.storageBuffer16BitAccess = VK_TRUE;
    enableStorage.pNext = &enable16;
    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    if (d->m_halfStorage.empty()) info.pNext = &enableStorage;
    VkResult r = vkCreateDevice(d->m_physical, &info, nullptr, &d->m_device);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Unsupported, vkError("vkCreateDevice", r));
    vkGetDeviceQueue(d->m_device, d->m_queueFamily, 0, &d->m_queue);
    VkFenceCreateInfo fence{};
    fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    r = vkCreateFence(d->m_device, &fence, nullptr, &d->m_fence);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Internal, vkError("vkCreateFence", r));
    d->m_uploadPool = d->createCommandPool();
    if (!d->m_uploadPool) return makeError(ErrorCode::Internal, "could not create a command pool");
    d->m_staging = envIs("PRUNELAB_VULKAN_STAGING", "1") || !hasDirectMemory(d->m_memory);
    d->openPipelineCache(props);
    return d;
}

Device::~Device() {
    if (m_device) {
        vkDeviceWaitIdle(m_device);
        if (m_pipelineCache) {
            (void)savePipelineCache();
            vkDestroyPipelineCache(m_device, m_pipelineCache, nullptr);
        }
        if (m_uploadPool) vkDestroyCommandPool(m_device, m_uploadPool, nullptr);
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

// One buffer with its own memory: host-visible (mapped; device-local too where that is the
// direct path) or device-local only.
Result<Device::Buffer> Device::allocate(size_t bytes, bool hostVisible) {
    Buffer b;
    b.bytes = bytes;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = bytes ? bytes : 4;  // a zero-sized buffer is invalid; an empty tensor gets 4
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = vkCreateBuffer(m_device, &info, nullptr, &b.buffer);
    if (r != VK_SUCCESS) return makeError(ErrorCode::OutOfRange, vkError("vkCreateBuffer", r));
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(m_device, b.buffer, &req);
    uint32_t type = UINT32_MAX;
    if (!hostVisible) {
        type = memoryType(m_memory, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    } else if (!m_staging) {
        type = memoryType(m_memory, req.memoryTypeBits, kDirectFlags, 0);
    }
    // A staging twin stays out of device-local memory (a small BAR window) where it can.
    if (type == UINT32_MAX) {
        type = memoryType(m_memory, req.memoryTypeBits, kHostFlags,
                          m_staging ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : 0);
    }
    if (type == UINT32_MAX) {
        vkDestroyBuffer(m_device, b.buffer, nullptr);
        return makeError(ErrorCode::Unsupported, "the device has no memory for a storage buffer");
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
    if (m_memory.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        r = vkMapMemory(m_device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
        if (r != VK_SUCCESS) {
            destroyBuffer(b);
            return makeError(ErrorCode::Internal, vkError("vkMapMemory", r));
        }
    }
    return b;
}

Result<Device::Buffer> Device::createBuffer(size_t bytes) {
    return allocate(bytes, !m_staging);
}

void Device::destroyBuffer(Buffer& b) {
    if (b.mapped) vkUnmapMemory(m_device, b.memory);
    if (b.buffer) vkDestroyBuffer(m_device, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(m_device, b.memory, nullptr);
    if (b.stagingMapped) vkUnmapMemory(m_device, b.stagingMemory);
    if (b.staging) vkDestroyBuffer(m_device, b.staging, nullptr);
    if (b.stagingMemory) vkFreeMemory(m_device, b.stagingMemory, nullptr);
    b = Buffer{};
}

Status Device::enableHostAccess(Buffer& b) {
    if (b.host()) return {};
    PL_TRY_ASSIGN(Buffer twin, allocate(b.bytes, true));
    if (!twin.mapped) {
        destroyBuffer(twin);
        return makeError(ErrorCode::Unsupported, "the device has no host-visible memory");
    }
    b.staging = twin.buffer;
    b.stagingMemory = twin.memory;
    b.stagingMapped = twin.mapped;
    return {};
}

Status Device::upload(Buffer& b, const void* data, size_t bytes) {
    if (bytes > b.bytes) {
        return makeError(ErrorCode::Internal, "uploading " + std::to_string(bytes) +
                                                  " bytes into a buffer of " +
                                                  std::to_string(b.bytes));
    }
    if (bytes == 0) return {};
    if (b.host()) {
        std::memcpy(b.host(), data, bytes);
        if (b.mapped) return {};
    }
    Buffer temp;
    if (!b.host()) {
        PL_TRY_ASSIGN(temp, allocate(bytes, true));
        std::memcpy(temp.mapped, data, bytes);
    }
    const VkBuffer from = temp.buffer ? temp.buffer : b.staging;
    std::lock_guard<std::mutex> lock(m_submit);
    VkCommandBufferAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc.commandPool = m_uploadPool;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkResult r = vkAllocateCommandBuffers(m_device, &alloc, &cmd);
    if (r == VK_SUCCESS) {
        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        vkBeginCommandBuffer(cmd, &begin);
        const VkBufferCopy region{0, 0, bytes};
        vkCmdCopyBuffer(cmd, from, b.buffer, 1, &region);
        // Later submissions' shaders read it: the copy's writes made visible to them.
        VkMemoryBarrier barrier{};
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, nullptr, 0,
                             nullptr);
        r = vkEndCommandBuffer(cmd);
    }
    if (r == VK_SUCCESS) {
        VkSubmitInfo submit{};
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &cmd;
        r = vkQueueSubmit(m_queue, 1, &submit, m_fence);
        if (r == VK_SUCCESS) {
            r = vkWaitForFences(m_device, 1, &m_fence, VK_TRUE, UINT64_MAX);
            vkResetFences(m_device, 1, &m_fence);
        }
    }
    if (cmd) vkFreeCommandBuffers(m_device, m_uploadPool, 1, &cmd);
    if (temp.buffer) destroyBuffer(temp);
    if (r != VK_SUCCESS) return makeError(ErrorCode::Internal, vkError("uploading to the GPU", r));
    return {};
}

void Device::recordUploads(VkCommandBuffer cmd, std::span<const Buffer* const> buffers) const {
    bool copied = false;
    for (const Buffer* b : buffers) {
        if (b->mapped || !b->staging || b->bytes == 0) continue;
        const VkBufferCopy region{0, 0, b->bytes};
        vkCmdCopyBuffer(cmd, b->staging, b->buffer, 1, &region);
        copied = true;
    }
    if (!copied) return;
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         0, 1, &barrier, 0, nullptr, 0, nullptr);
}

void Device::recordDownloads(VkCommandBuffer cmd, std::span<const Buffer* const> buffers) const {
    std::vector<const Buffer*> copies;
    for (const Buffer* b : buffers) {
        if (!b->mapped && b->staging && b->bytes) copies.push_back(b);
    }
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    if (copies.empty()) {
        // The host reads mapped memory after the fence.
        barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                             0, 1, &barrier, 0, nullptr, 0, nullptr);
        return;
    }
    barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         0, 1, &barrier, 0, nullptr, 0, nullptr);
    for (const Buffer* b : copies) {
        const VkBufferCopy region{0, 0, b->bytes};
        vkCmdCopyBuffer(cmd, b->buffer, b->staging, 1, &region);
    }
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &barrier, 0, nullptr, 0, nullptr);
}

void Device::openPipelineCache(const VkPhysicalDeviceProperties& p) {
    std::vector<char> data;
    if (!envIs("PRUNELAB_VULKAN_NO_CACHE", "1")) {
        char name[96];
        std::snprintf(name, sizeof name, "%08x-%08x-%08x-", p.vendorID, p.deviceID,
                      p.driverVersion);
        std::string file = name;
        for (uint8_t byte : p.pipelineCacheUUID) {
            char hex[3];
            std::snprintf(hex, sizeof hex, "%02x", byte);
            file += hex;
        }
        m_pipelineCachePath =
            (fs::path(userCacheRoot()) / "vulkan" / "pipelines" / (file + ".bin")).string();
        std::ifstream in(m_pipelineCachePath, std::ios::binary);
        if (in) data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (!pipelineCacheMatches(data, p)) data.clear();
    }
    VkPipelineCacheCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    info.initialDataSize = data.size();
    info.pInitialData = data.empty() ? nullptr : data.data();
    if (vkCreatePipelineCache(m_device, &info, nullptr, &m_pipelineCache) == VK_SUCCESS) {
        m_pipelineCacheLoaded = data.size();
        return;
    }
    // A driver that refuses the data it wrote: start empty rather than without a cache.
    info.initialDataSize = 0;
    info.pInitialData = nullptr;
    if (vkCreatePipelineCache(m_device, &info, nullptr, &m_pipelineCache) != VK_SUCCESS) {
        m_pipelineCache = VK_NULL_HANDLE;
    }
}

Status Device::savePipelineCache() {
    if (!m_pipelineCache || m_pipelineCachePath.empty()) return {};
    std::lock_guard<std::mutex> lock(m_saving);
    size_t size = 0;
    VkResult r = vkGetPipelineCacheData(m_device, m_pipelineCache, &size, nullptr);
    std::vector<char> data(size);
    if (r == VK_SUCCESS && size) {
        r = vkGetPipelineCacheData(m_device, m_pipelineCache, &size, data.data());
    }
    if (r != VK_SUCCESS) {
        return makeError(ErrorCode::Internal, vkError("vkGetPipelineCacheData", r));
    }
    data.resize(size);
    if (data.empty()) return {};
    return writeAtomically(m_pipelineCachePath, data.data(), data.size());
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
    r = vkCreateComputePipelines(m_device, m_pipelineCache, 1, &info, nullptr, &p.pipeline);
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

int Device::submissions() {
    return g_submissions.load();
}

void Device::waitIdle() {
    std::lock_guard<std::mutex> lock(m_submit);
    vkQueueWaitIdle(m_queue);
}

Status Device::submitAndWait(VkCommandBuffer cmd) {
    std::lock_guard<std::mutex> lock(m_submit);
    const int n = g_submissions.fetch_add(1) + 1;
    if (const char* lose = std::getenv("PRUNELAB_VULKAN_SIMULATE_LOST");
        lose && std::atoi(lose) == n) {
        return makeError(ErrorCode::Internal,
                         "the GPU was lost during a run (VK_ERROR_DEVICE_LOST from vkQueueSubmit, "
                         "simulated: PRUNELAB_VULKAN_SIMULATE_LOST=" +
                             std::to_string(n) + ")");
    }
    auto failed = [](const char* call, VkResult r) {
        return makeError(ErrorCode::Internal,
                         std::string("the GPU ") +
                             (r == VK_ERROR_DEVICE_LOST ? "was lost" : "failed") +
                             " during a run (" + resultName(r) + " from " + call + ")");
    };
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    VkResult r = vkQueueSubmit(m_queue, 1, &submit, m_fence);
    if (r != VK_SUCCESS) return failed("vkQueueSubmit", r);
    r = vkWaitForFences(m_device, 1, &m_fence, VK_TRUE, UINT64_MAX);
    vkResetFences(m_device, 1, &m_fence);
    if (r != VK_SUCCESS) return failed("vkWaitForFences", r);
    return {};
}

}  // namespace prunelab::engine::vulkan

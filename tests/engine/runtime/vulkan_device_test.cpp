// The Vulkan device side on this machine's device (lavapipe where there is no GPU), validation
// on: the SPIR-V and pipeline caches on disk, staging through device-local buffers, a lost device
// falling back to the CPU, compile errors that name their shader, and choosing the device.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "engine/runtime/reference_runner.h"
#include "engine/runtime/vulkan/glsl.h"
#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

namespace fs = std::filesystem;

// Skips without opening the process's device (setDeviceIndex must come before that).
#define SKIP_WITHOUT_VULKAN_DEVICES()                                       \
    do {                                                                    \
        if (auto d = vulkan::listDevices(); !d.ok())                        \
            GTEST_SKIP() << "no Vulkan device here: " << d.error().message; \
    } while (0)

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::string& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (m_old) {
            ::setenv(m_name, m_old->c_str(), 1);
        } else {
            ::unsetenv(m_name);
        }
    }

  private:
    const char* m_name;
    std::optional<std::string> m_old;
};

// A fresh cache folder (XDG_CACHE_HOME) for one test.
struct TempCache {
    explicit TempCache(const std::string& name)
        : dir(fs::temp_directory_path() /
              ("prunelab_vk_" + name + "_" + std::to_string(::getpid()))),
          env("XDG_CACHE_HOME", (fs::remove_all(dir), dir.string())) {}
    ~TempCache() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path dir;
    ScopedEnv env;
};

std::string shaderText(const std::string& tag) {
    // The tag makes the text (and so its cache entry) this test's own.
    return "#version 450\n// " + tag +
           "\nlayout(local_size_x = 64) in;\n"
           "layout(std430, binding = 0) buffer B { float v[]; };\n"
           "void main() {\n"
           "    uint i = gl_GlobalInvocationID.x;\n"
           "    if (i < 16u) v[i] = v[i] * 2.0;\n"
           "}\n";
}

TEST(VulkanSpirvCache, CompilesOnceThenReadsTheCache) {
    TempCache cache("spirv");
    const std::string glsl = shaderText("compiles once");
    const vulkan::SpirvCacheStats before = vulkan::spirvCacheStats();
    auto first = vulkan::compileComputeShader(glsl, "the test's shader");
    ASSERT_TRUE(first.ok()) << first.error().toString();
    const fs::path file = vulkan::spirvCachePath(glsl);
    EXPECT_EQ(file.string().rfind(cache.dir.string(), 0), 0u) << file;
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(vulkan::spirvCacheStats().compiled, before.compiled + 1);

    auto second = vulkan::compileComputeShader(glsl, "the test's shader");
    ASSERT_TRUE(second.ok()) << second.error().toString();
    EXPECT_EQ(*second, *first);
    EXPECT_EQ(vulkan::spirvCacheStats().hits, before.hits + 1);
    EXPECT_EQ(vulkan::spirvCacheStats().compiled, before.compiled + 1);
    // No temporary file is left beside the entry.
    int files = 0;
    for (const auto& e : fs::directory_iterator(file.parent_path())) files += e.is_regular_file();
    EXPECT_EQ(files, 1);
}

// Truncated, of a size no header fits, or altered inside: detected, compiled again, replaced.
TEST(VulkanSpirvCache, ADamagedEntryIsCompiledAgainAndReplaced) {
    TempCache cache("spirv_damaged");
    const std::string glsl = shaderText("damaged entries");
    auto good = vulkan::compileComputeShader(glsl);
    ASSERT_TRUE(good.ok()) << good.error().toString();
    const fs::path file = vulkan::spirvCachePath(glsl);
    const auto size = fs::file_size(file);
    ASSERT_GT(size, 64u);
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::vector<std::string> damaged = {
        bytes.substr(0, bytes.size() / 2),                        // truncated at a word
        bytes.substr(0, bytes.size() - 3),                        // not whole words
        bytes.substr(0, 7),                                       // not even a header
        bytes.substr(0, 16) + std::string(bytes.size() - 16, 0),  // no SPIR-V magic
        [&] {
            std::string s = bytes;
            s[s.size() - 9] ^= 0x5a;  // one bit pattern flipped inside
            return s;
        }(),
    };
    for (size_t i = 0; i < damaged.size(); ++i) {
        {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out << damaged[i];
        }
        const vulkan::SpirvCacheStats before = vulkan::spirvCacheStats();
        auto again = vulkan::compileComputeShader(glsl);
        ASSERT_TRUE(again.ok()) << "damage " << i << ": " << again.error().toString();
        EXPECT_EQ(*again, *good) << "damage " << i;
        EXPECT_EQ(vulkan::spirvCacheStats().damaged, before.damaged + 1) << "damage " << i;
        EXPECT_EQ(vulkan::spirvCacheStats().compiled, before.compiled + 1) << "damage " << i;
        EXPECT_EQ(fs::file_size(file), size) << "damage " << i << ": the entry is replaced";
    }
}

TEST(VulkanSpirvCache, AShaderThatDoesNotCompileIsNamedWithGlslangsLine) {
    TempCache cache("spirv_error");
    const std::string glsl =
        "#version 450\n"
        "layout(local_size_x = 1) in;\n"
        "void main() {\n"
        "    float x = undeclaredThing * 2.0;\n"
        "}\n";
    auto spirv = vulkan::compileComputeShader(glsl, "node 'conv_7' (Conv)");
    ASSERT_FALSE(spirv.ok());
    const std::string& m = spirv.error().message;
    EXPECT_NE(m.find("node 'conv_7' (Conv)"), std::string::npos) << m;
    EXPECT_NE(m.find("does not compile"), std::string::npos) << m;
    EXPECT_NE(m.find("0:4:"), std::string::npos) << "glslang's line number: " << m;
    EXPECT_NE(m.find("undeclaredThing"), std::string::npos) << m;
    EXPECT_NE(m.find("   4|     float x = undeclaredThing"), std::string::npos)
        << "the shader with numbered lines: " << m;
    EXPECT_FALSE(fs::exists(vulkan::spirvCachePath(glsl))) << "a failure is not cached";
}

TEST(VulkanPipelineCache, ASecondOpeningReadsWhatTheFirstSaved) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    TempCache cache("pipelines");
    std::string path;
    {
        auto device = vulkan::Device::open();
        ASSERT_TRUE(device.ok()) << device.error().toString();
        path = (*device)->pipelineCachePath();
        EXPECT_EQ(path.rfind(cache.dir.string(), 0), 0u) << path;
        EXPECT_EQ((*device)->pipelineCacheLoadedBytes(), 0u) << "a fresh cache folder";
        auto spirv = vulkan::compileComputeShader(shaderText("pipeline cache"));
        ASSERT_TRUE(spirv.ok()) << spirv.error().toString();
        auto pipeline = (*device)->createPipeline(*spirv, 1, 0);
        ASSERT_TRUE(pipeline.ok()) << pipeline.error().toString();
        (*device)->destroyPipeline(*pipeline);
        Status saved = (*device)->savePipelineCache();
        ASSERT_TRUE(saved.ok()) << saved.error().toString();
    }
    ASSERT_TRUE(fs::exists(path)) << path;
    const auto size = fs::file_size(path);
    EXPECT_GE(size, sizeof(VkPipelineCacheHeaderVersionOne));
    {
        auto device = vulkan::Device::open();
        ASSERT_TRUE(device.ok()) << device.error().toString();
        EXPECT_EQ((*device)->pipelineCachePath(), path);
        EXPECT_EQ((*device)->pipelineCacheLoadedBytes(), size);
    }
    // Another driver's cache under this name (a changed header) is ignored, not trusted.
    {
        std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(8);  // vendorID
        const uint32_t other = 0xdeadbeef;
        f.write(reinterpret_cast<const char*>(&other), sizeof other);
    }
    {
        auto device = vulkan::Device::open();
        ASSERT_TRUE(device.ok()) << device.error().toString();
        EXPECT_EQ((*device)->pipelineCacheLoadedBytes(), 0u);
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// Conv + bias, ReLU, a node the CPU may run between GPU steps, more GPU steps after it: values
// go up and down several times per run.
Graph stagingGraph() {
    GraphBuilder b;
    const ValueId x = b.input({1, 4, 7, 9});
    const ValueId c1 =
        b.op(OpKind::Conv, {x, b.randomConstant({6, 4, 3, 3}), b.randomConstant({6})},
             convAttrs({1, 1}, {1, 1, 1, 1}));
    const ValueId r = b.op(OpKind::Relu, {c1});
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.set("strides", std::vector<int64_t>{1, 1});
    pool.set("pads", std::vector<int64_t>{0, 0, 1, 1});
    pool.set("ceil_mode", int64_t{0});
    const ValueId p = b.op(OpKind::MaxPool, {r}, pool);
    const ValueId m = b.op(OpKind::Mul, {p, b.randomConstant({1, 6, 1, 1})});
    const ValueId s = b.op(OpKind::Sigmoid, {m});
    b.output(b.op(OpKind::Add, {s, c1}));
    return b.graph;
}

TEST(VulkanStaging, DeviceLocalBuffersGiveTheSameResultsAsMappedOnes) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    std::shared_ptr<vulkan::Device> staged;
    {
        ScopedEnv force("PRUNELAB_VULKAN_STAGING", "1");
        auto device = vulkan::Device::open();
        ASSERT_TRUE(device.ok()) << device.error().toString();
        staged = *device;
    }
    EXPECT_TRUE(staged->staging());
    auto usual = vulkan::processDevice();
    ASSERT_TRUE(usual.ok()) << usual.error().toString();

    const Graph graph = stagingGraph();
    auto a = vulkan::prepareOnDevice(staged, graph);
    ASSERT_TRUE(a.ok()) << a.error().toString();
    auto b = vulkan::prepareOnDevice(*usual, graph);
    ASSERT_TRUE(b.ok()) << b.error().toString();
    bool anyGpu = false;
    for (const KernelChoice& k : (*a)->kernelReport()) anyGpu |= k.kernel.rfind("gpu ", 0) == 0;
    EXPECT_TRUE(anyGpu) << "the graph should have GPU steps to stage";
    for (uint32_t seed : {3u, 4u}) {
        const std::vector<Tensor> inputs = randomInputs(graph, seed);
        auto viaStaging = (*a)->run(inputs);
        ASSERT_TRUE(viaStaging.ok()) << viaStaging.error().toString();
        auto mapped = (*b)->run(inputs);
        ASSERT_TRUE(mapped.ok()) << mapped.error().toString();
        auto reference = runGraphReference(graph, inputs);
        ASSERT_TRUE(reference.ok()) << reference.error().toString();
        ASSERT_EQ(viaStaging->size(), 1u);
        const Tensor& s = (*viaStaging)[0];
        const Tensor& m = (*mapped)[0];
        const Tensor& r = (*reference)[0];
        ASSERT_EQ(s.bytes(), m.bytes());
        for (int64_t i = 0; i < s.elements(); ++i) {
            ASSERT_EQ(s.data<float>()[i], m.data<float>()[i]) << "element " << i;
            ASSERT_NEAR(s.data<float>()[i], r.data<float>()[i], 1e-4f) << "element " << i;
        }
    }
    a->reset();
    b->reset();
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

// A shader that binds more storage buffers than the device allows (4 on some phones: the spec's
// minimum) runs on the CPU, saying how many it needs; the rest stays on the GPU.
TEST(VulkanLimits, AShaderOverTheBufferLimitRunsOnTheCpuAndSaysWhy) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    std::shared_ptr<vulkan::Device> small;
    {
        ScopedEnv limit("PRUNELAB_VULKAN_MAX_BUFFERS", "4");
        auto device = vulkan::Device::open();
        ASSERT_TRUE(device.ok()) << device.error().toString();
        small = *device;
    }
    EXPECT_EQ(small->maxStorageBuffers(), 4u);
    GraphBuilder b;
    std::vector<ValueId> parts;
    for (int i = 0; i < 5; ++i) parts.push_back(b.op(OpKind::Relu, {b.input({1, 2, 3, 3})}));
    Attributes axis;
    axis.set("axis", int64_t{1});
    b.output(b.op(OpKind::Sigmoid, {b.op(OpKind::Concat, parts, axis)}));
    auto exec = vulkan::prepareOnDevice(small, b.graph);
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    const std::vector<KernelChoice> report = (*exec)->kernelReport();
    ASSERT_EQ(report.size(), 7u);
    EXPECT_EQ(report[5].kernel, "cpu reference (fallback)") << report[5].node;
    EXPECT_NE(report[5].reason.find("binds 6 buffers; this GPU allows 4"), std::string::npos)
        << report[5].reason;
    EXPECT_EQ(report[6].kernel.rfind("gpu ", 0), 0u) << report[6].kernel;
    const std::vector<Tensor> inputs = randomInputs(b.graph, 5);
    auto got = (*exec)->run(inputs);
    ASSERT_TRUE(got.ok()) << got.error().toString();
    auto reference = runGraphReference(b.graph, inputs);
    ASSERT_TRUE(reference.ok()) << reference.error().toString();
    for (int64_t i = 0; i < (*reference)[0].elements(); ++i) {
        ASSERT_NEAR((*got)[0].data<float>()[i], (*reference)[0].data<float>()[i], 1e-5f) << i;
    }
    exec->reset();
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

TEST(VulkanDeviceLoss, ALostDeviceFallsBackToTheCpuAndSaysSo) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    auto device = vulkan::processDevice();
    ASSERT_TRUE(device.ok()) << device.error().toString();
    const Graph graph = stagingGraph();
    auto exec = vulkan::vulkanBackend().prepare(graph, {});
    ASSERT_TRUE(exec.ok()) << exec.error().toString();
    (*exec)->setProfiling(true);
    auto first = (*exec)->run(randomInputs(graph, 1));
    ASSERT_TRUE(first.ok()) << first.error().toString();
    {
        ScopedEnv lose("PRUNELAB_VULKAN_SIMULATE_LOST",
                       std::to_string(vulkan::Device::submissions() + 1));
        for (uint32_t seed : {2u, 3u}) {
            const std::vector<Tensor> inputs = randomInputs(graph, seed);
            auto out = (*exec)->run(inputs);
            ASSERT_TRUE(out.ok()) << out.error().toString();
            auto reference = runGraphReference(graph, inputs);
            ASSERT_TRUE(reference.ok()) << reference.error().toString();
            const Tensor& o = (*out)[0];
            const Tensor& r = (*reference)[0];
            ASSERT_EQ(o.elements(), r.elements());
            for (int64_t i = 0; i < o.elements(); ++i) {
                ASSERT_NEAR(o.data<float>()[i], r.data<float>()[i], 1e-4f) << "element " << i;
            }
            const std::vector<Executor::StepTime> times = (*exec)->lastStepTimes();
            ASSERT_FALSE(times.empty());
            EXPECT_NE(times[0].where.find("the GPU was lost during a run (VK_ERROR_DEVICE_LOST"),
                      std::string::npos)
                << times[0].where;
        }
    }
    for (const KernelChoice& k : (*exec)->kernelReport()) {
        EXPECT_EQ(k.kernel, "cpu reference (fallback)") << k.node;
        EXPECT_NE(k.reason.find("VK_ERROR_DEVICE_LOST"), std::string::npos) << k.reason;
        EXPECT_NE(k.reason.find("running every node on the CPU"), std::string::npos) << k.reason;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

TEST(VulkanDevices, DescriptionsSayTheDriverWithoutRepeatingTheName) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    auto devices = vulkan::listDevices();
    ASSERT_TRUE(devices.ok());
    for (const vulkan::DeviceInfo& d : *devices) {
        EXPECT_FALSE(d.driver.empty()) << d.name;
        if (d.name.rfind("llvmpipe", 0) == 0) {
            // "llvmpipe (LLVM 15.0.6, 256 bits)" with driver "Mesa 22.3.6".
            EXPECT_EQ(d.driver.find("llvmpipe"), std::string::npos) << d.driver;
            EXPECT_EQ(d.driver.find("LLVM"), std::string::npos) << d.driver;
            EXPECT_EQ(d.driver.rfind("Mesa ", 0), 0u) << d.driver;
        }
    }
}

// Out of range names the index and how many there are; once the device is open, another index
// is refused naming the open one, and the same index is fine.
TEST(VulkanDevices, SetDeviceIndexChecksTheRangeAndComesFirst) {
    SKIP_WITHOUT_VULKAN_DEVICES();
    auto devices = vulkan::listDevices();
    ASSERT_TRUE(devices.ok());
    const int count = static_cast<int>(devices->size());
    Status bad = vulkan::setDeviceIndex(count + 5);
    ASSERT_FALSE(bad.ok());
    const std::string& m = bad.error().message;
    EXPECT_NE(m.find("Vulkan device " + std::to_string(count + 5)), std::string::npos) << m;
    EXPECT_TRUE(m.find("this machine has " + std::to_string(count)) != std::string::npos ||
                m.find("already in use") != std::string::npos)
        << m;
    auto open = vulkan::processDevice();
    ASSERT_TRUE(open.ok()) << open.error().toString();
    Status late = vulkan::setDeviceIndex(count);
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.error().message.find("already in use"), std::string::npos)
        << late.error().message;
    EXPECT_NE(late.error().message.find((*open)->info().name), std::string::npos)
        << late.error().message;
    Status same = vulkan::setDeviceIndex((*open)->info().index);
    EXPECT_TRUE(same.ok()) << same.error().toString();
}

}  // namespace
}  // namespace prunelab::engine::testing

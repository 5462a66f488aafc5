// The Vulkan backend and its executor (see vulkan_backend.h). Steps run in graph order; runs of
// consecutive GPU steps are one command buffer, recorded once at prepare, with a barrier between
// dependent dispatches; the host copies values in and out only around them.
#include "engine/runtime/vulkan/vulkan_backend.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "engine/ir/half.h"
#include "engine/ops/op.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/measure.h"
#include "engine/runtime/reference_runner.h"
#include "engine/runtime/vulkan/glsl.h"
#include "engine/runtime/vulkan/shaders.h"
#include "engine/runtime/vulkan/vulkan_device.h"

namespace prunelab::engine::vulkan {

namespace {

struct Step {
    size_t node = 0;
    std::optional<ShaderPlan> shader;  // null: the CPU's reference kernel
    std::string reason;                // why the CPU runs it
    size_t fusedInto = SIZE_MAX;       // a step whose shader computes this node too
    Device::Pipeline pipeline;
    VkDescriptorSet set = VK_NULL_HANDLE;
    std::vector<Device::Buffer> data;  // the plan's own buffers (packed sparse weights)
};

// A run of steps on one side: GPU steps share one command buffer.
struct Segment {
    bool gpu = false;
    size_t first = 0, last = 0;  // steps [first, last]
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    std::vector<ValueId> uploads;    // read here, last written by the host
    std::vector<ValueId> downloads;  // written here, read later by the host or an output
    // Timestamp queries [firstQuery, firstQuery + queries): one before the first dispatch and
    // one after each, when the device has timestamps.
    uint32_t firstQuery = 0, queries = 0;
};

class VulkanExecutor final : public Executor {
  public:
    static Result<std::unique_ptr<VulkanExecutor>> create(std::shared_ptr<Device> device,
                                                          const Graph& graph,
                                                          const PrepareOptions& options) {
        if (options.halfStorage && !device->halfStorage()) {
            return makeError(ErrorCode::Unsupported, "fp16 storage on " + device->info().name +
                                                         ": " + device->whyNoHalfStorage());
        }
        std::unique_ptr<VulkanExecutor> e(
            new VulkanExecutor(std::move(device), graph, options.sparse, options.halfStorage));
        PL_TRY(e->plan());
        PL_TRY(Device::validationStatus());
        return e;
    }

    ~VulkanExecutor() override {
        VkDevice d = m_device->handle();
        m_device->waitIdle();  // under the submit lock: another executor may be submitting
        for (Step& s : m_steps) {
            m_device->destroyPipeline(s.pipeline);
            for (Device::Buffer& b : s.data) m_device->destroyBuffer(b);
        }
        if (m_descriptors) vkDestroyDescriptorPool(d, m_descriptors, nullptr);
        if (m_queries) vkDestroyQueryPool(d, m_queries, nullptr);
        if (m_commands) vkDestroyCommandPool(d, m_commands, nullptr);
        for (auto& [id, b] : m_buffers) m_device->destroyBuffer(b);
    }

    Result<std::vector<Tensor>> run(std::span<const Tensor> inputs) override {
        PL_TRY(checkGraphInputs(m_graph, inputs));
        for (size_t i = 0; i < inputs.size(); ++i) {
            m_host[static_cast<size_t>(m_graph.inputs[i])] = inputs[i];
        }
        m_times.clear();
        if (!m_lost.empty()) return runOnCpu();
        for (const Segment& seg : m_segments) {
            const auto start = std::chrono::steady_clock::now();
            if (seg.gpu) {
                for (ValueId id : seg.uploads) {
                    toBuffer(id);
                }
                if (Status ok = m_device->submitAndWait(seg.cmd); !ok.ok()) {
                    m_lost = ok.error().message + ": running every node on the CPU";
                    return runOnCpu();
                }
                for (ValueId id : seg.downloads) {
                    m_host[static_cast<size_t>(id)] = fromBuffer(id);
                }
            } else {
                PL_TRY(runNodeReference(m_graph, m_steps[seg.first].node, m_host));
            }
            if (m_profiling) {
                addTimes(seg, std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
            }
        }
        PL_TRY(Device::validationStatus());
        std::vector<Tensor> out;
        for (ValueId id : m_graph.outputs) out.push_back(m_host[static_cast<size_t>(id)]);
        return out;
    }

    // After the GPU failed (a lost device): every node on its reference kernel, this run and the
    // later ones, from the inputs and constants (what the GPU held for later steps is gone). The
    // one step time and every kernel report entry say why.
    Result<std::vector<Tensor>> runOnCpu() {
        const auto start = std::chrono::steady_clock::now();
        for (size_t k = 0; k < m_graph.nodes.size(); ++k) {
            PL_TRY(runNodeReference(m_graph, k, m_host));
        }
        m_times.clear();
        if (m_profiling) {
            m_times.push_back(
                {"cpu, every node: " + m_lost, false,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count()});
        }
        PL_TRY(Device::validationStatus());
        std::vector<Tensor> out;
        for (ValueId id : m_graph.outputs) out.push_back(m_host[static_cast<size_t>(id)]);
        return out;
    }

    void setProfiling(bool on) override { m_profiling = on; }
    std::vector<StepTime> lastStepTimes() const override { return m_times; }
    int threads() const override { return 1; }

    std::vector<KernelChoice> kernelReport() const override {
        std::vector<KernelChoice> report;
        for (const Step& s : m_steps) {
            const Node& node = m_graph.nodes[s.node];
            if (!m_lost.empty()) {
                report.push_back({m_graph.describeNode(node), "cpu reference (fallback)", m_lost});
            } else if (s.fusedInto != SIZE_MAX) {
                report.push_back({m_graph.describeNode(node),
                                  "fused into " + m_graph.describeNode(m_graph.nodes[s.fusedInto]),
                                  "its shader computes it"});
            } else if (s.shader) {
                report.push_back(
                    {m_graph.describeNode(node), s.shader->kernel, "on " + m_device->info().name});
            } else {
                report.push_back(
                    {m_graph.describeNode(node), "cpu reference (fallback)", s.reason});
            }
        }
        return report;
    }

    int barriers() const { return m_barriers; }

    MemoryReport memoryReport() const override {
        MemoryReport m;
        for (auto& [id, b] : m_buffers) m.arenaBytes += b.bytes;
        m.naiveBytes = m.arenaBytes;  // one buffer per value: reuse comes with the planner
        m.buffers = static_cast<int>(m_buffers.size());
        return m;
    }

    std::vector<std::pair<std::string, std::string>> kernelSources() const override {
        std::vector<std::pair<std::string, std::string>> out;
        for (const Step& s : m_steps) {
            if (s.shader)
                out.emplace_back(m_graph.describeNode(m_graph.nodes[s.node]), s.shader->glsl);
        }
        return out;
    }

  private:
    VulkanExecutor(std::shared_ptr<Device> device, const Graph& graph,
                   std::shared_ptr<const codegen::SparseModel> sparse, bool half)
        : m_device(std::move(device)),
          m_graph(graph),
          m_sparse(std::move(sparse)),
          m_half(half),
          m_host(graph.values.size()) {}

    // With fp16 storage every value the shaders write or the host passes in is stored in 16
    // bits; constants (weights) stay float32.
    bool halfValue(ValueId id) const { return m_half && !m_graph.value(id).isConstant(); }

    void toBuffer(ValueId id) {
        const Tensor& t = m_host[static_cast<size_t>(id)];
        const Device::Buffer& b = m_buffers.at(id);
        if (!halfValue(id)) {
            std::memcpy(b.host(), t.raw(), t.bytes());
            return;
        }
        const float* from = t.data<float>();
        auto* to = static_cast<uint16_t*>(b.host());
        for (int64_t i = 0; i < t.elements(); ++i) to[i] = floatToHalf(from[i]);
    }

    Tensor fromBuffer(ValueId id) const {
        const Value& v = m_graph.value(id);
        const Device::Buffer& b = m_buffers.at(id);
        Tensor t(v.dtype, v.shape);
        if (!halfValue(id)) {
            std::memcpy(t.raw(), b.host(), t.bytes());
            return t;
        }
        const auto* from = static_cast<const uint16_t*>(b.host());
        float* to = t.data<float>();
        for (int64_t i = 0; i < t.elements(); ++i) to[i] = halfToFloat(from[i]);
        return t;
    }

    std::string where(const Segment& seg) const {
        const std::string first = m_graph.describeNode(m_graph.nodes[m_steps[seg.first].node]);
        if (!seg.gpu || seg.first == seg.last) return (seg.gpu ? "gpu: " : "cpu: ") + first;
        return "gpu: " + first + " .. " +
               m_graph.describeNode(m_graph.nodes[m_steps[seg.last].node]) + " (" +
               std::to_string(seg.last - seg.first + 1) + " steps)";
    }

    // Profiling: one time per step, named like the CPU executor's (describeNode). A GPU step's is
    // read from the timestamps around its dispatch; what the segment's wall time adds (uploads,
    // submission, downloads) is one more entry marked as a layout change, the CPU's name for
    // moving data between the places kernels want it. Without timestamps the segment's wall time
    // is shared among its steps by their workgroups, an estimate.
    void addTimes(const Segment& seg, double wallMs) {
        if (!seg.gpu) {
            m_times.push_back({m_graph.describeNode(m_steps[seg.first].node), false, wallMs});
            return;
        }
        std::vector<size_t> steps;
        for (size_t k = seg.first; k <= seg.last; ++k) {
            if (m_steps[k].fusedInto == SIZE_MAX) steps.push_back(k);
        }
        std::vector<double> ms(steps.size(), 0.0);
        bool timed = false;
        if (m_queries && seg.queries == steps.size() + 1) {
            std::vector<uint64_t> t(seg.queries);
            timed = vkGetQueryPoolResults(
                        m_device->handle(), m_queries, seg.firstQuery, seg.queries,
                        t.size() * sizeof(uint64_t), t.data(), sizeof(uint64_t),
                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS;
            for (size_t j = 0; timed && j < steps.size(); ++j) {
                const uint64_t ticks = (t[j + 1] - t[j]) & m_device->timestampMask();
                ms[j] = static_cast<double>(ticks) * m_device->timestampPeriodNs() * 1e-6;
            }
        }
        if (!timed) {
            double groups = 0;
            for (size_t k : steps) {
                const auto& g = m_steps[k].shader->groups;
                groups += double(g[0]) * double(g[1]) * double(g[2]);
            }
            for (size_t j = 0; j < steps.size(); ++j) {
                const auto& g = m_steps[steps[j]].shader->groups;
                ms[j] = groups > 0 ? wallMs * double(g[0]) * double(g[1]) * double(g[2]) / groups
                                   : wallMs / double(steps.size());
            }
        }
        double gpu = 0;
        for (size_t j = 0; j < steps.size(); ++j) {
            m_times.push_back({m_graph.describeNode(m_steps[steps[j]].node), false, ms[j]});
            gpu += ms[j];
        }
        if (timed) {
            m_times.push_back(
                {"host <-> GPU around " + where(seg), true, std::max(0.0, wallMs - gpu)});
        }
    }

    Result<Device::Buffer*> bufferFor(ValueId id) {
        auto it = m_buffers.find(id);
        if (it != m_buffers.end()) return &it->second;
        const Value& v = m_graph.value(id);
        const size_t element = halfValue(id) ? sizeof(uint16_t) : dataTypeSize(v.dtype);
        PL_TRY_ASSIGN(Device::Buffer b,
                      m_device->createBuffer(element * static_cast<size_t>(elementCount(v.shape))));
        Device::Buffer& made = m_buffers.emplace(id, b).first->second;
        if (v.isConstant()) PL_TRY(m_device->upload(made, v.constant.raw(), v.constant.bytes()));
        return &made;
    }

    // Why `plan` cannot run on this device (more buffers than a stage may bind, or one larger than
    // a storage buffer may be), or nullopt.
    std::optional<std::string> exceedsLimits(const ShaderPlan& plan) const {
        if (plan.bindings.size() > m_device->maxStorageBuffers()) {
            return "its shader binds " + std::to_string(plan.bindings.size()) +
                   " buffers; this GPU allows " + std::to_string(m_device->maxStorageBuffers());
        }
        for (const ShaderBinding& b : plan.bindings) {
            uint64_t bytes = 0;
            if (b.value == kNoValue) {
                bytes = b.data->size() * sizeof(uint32_t);
            } else {
                const Value& v = m_graph.value(b.value);
                bytes = static_cast<uint64_t>(elementCount(v.shape)) *
                        (halfValue(b.value) ? sizeof(uint16_t) : dataTypeSize(v.dtype));
            }
            if (bytes > m_device->maxStorageBufferBytes()) {
                return "a buffer of " + std::to_string(bytes) +
                       " bytes; this GPU's storage buffers hold " +
                       std::to_string(m_device->maxStorageBufferBytes());
            }
        }
        return std::nullopt;
    }

    Status plan() {
        for (size_t i = 0; i < m_graph.values.size(); ++i) {
            if (m_graph.values[i].isConstant()) m_host[i] = m_graph.values[i].constant;
        }
        // Which nodes the GPU runs, and their shaders compiled to pipelines.
        uint32_t gpuSteps = 0, bindings = 0;
        const ShaderContext context{m_graph, m_sparse.get()};
        std::vector<size_t> fusedInto(m_graph.nodes.size(), SIZE_MAX);
        for (size_t k = 0; k < m_graph.nodes.size(); ++k) {
            Step s;
            s.node = k;
            s.fusedInto = fusedInto[k];
            if (s.fusedInto != SIZE_MAX) {
                m_steps.push_back(std::move(s));
                continue;
            }
            s.shader = planShader(context, k, s.reason);
            if (s.shader) {
                const auto& g = s.shader->groups;
                if (g[1] > 65535u || g[2] > 65535u) {
                    s.reason = "too many elements for one dispatch";
                    s.shader.reset();
                } else if (auto why = exceedsLimits(*s.shader)) {
                    s.reason = *why;
                    s.shader.reset();
                }
            }
            if (s.shader && m_half) {
                std::vector<bool> half;
                for (const ShaderBinding& b : s.shader->bindings) {
                    half.push_back(b.value != kNoValue && halfValue(b.value));
                }
                s.shader->glsl = withHalfStorage(s.shader->glsl, half);
            }
            if (s.shader) {
                for (size_t f : s.shader->fused) fusedInto[f] = k;
                PL_TRY_ASSIGN(
                    std::vector<uint32_t> spirv,
                    compileComputeShader(s.shader->glsl, m_graph.describeNode(m_graph.nodes[k])));
                for (const ShaderBinding& b : s.shader->bindings) {
                    if (b.value != kNoValue) continue;
                    PL_TRY_ASSIGN(Device::Buffer buf,
                                  m_device->createBuffer(b.data->size() * sizeof(uint32_t)));
                    s.data.push_back(buf);
                    PL_TRY(m_device->upload(s.data.back(), b.data->data(), buf.bytes));
                }
                PL_TRY_ASSIGN(s.pipeline,
                              m_device->createPipeline(
                                  spirv, static_cast<uint32_t>(s.shader->bindings.size()),
                                  static_cast<uint32_t>(s.shader->push.size() * sizeof(float))));
                ++gpuSteps;
                bindings += static_cast<uint32_t>(s.shader->bindings.size());
            }
            m_steps.push_back(std::move(s));
        }
        // Segments: runs of GPU steps, and each CPU step alone.
        for (size_t k = 0; k < m_steps.size(); ++k) {
            if (m_steps[k].fusedInto != SIZE_MAX) continue;  // runs within its step's shader
            const bool gpu = m_steps[k].shader.has_value();
            if (gpu && !m_segments.empty() && m_segments.back().gpu) {
                m_segments.back().last = k;
            } else {
                m_segments.push_back({gpu, k, k});
            }
        }
        if (gpuSteps == 0) return {};
        // The next process creates these pipelines from the driver's cache. Failing to save it
        // costs only time.
        (void)m_device->savePipelineCache();
        VkDevice d = m_device->handle();
        m_descriptors = m_device->createDescriptorPool(gpuSteps, bindings);
        m_commands = m_device->createCommandPool();
        if (!m_descriptors || !m_commands) {
            return makeError(ErrorCode::Internal, "could not create the Vulkan pools");
        }
        // PRUNELAB_VULKAN_NO_TIMESTAMPS=1 profiles as on a queue without timestamps: the test
        // of the wall-clock fallback on devices that have them.
        const char* noTimestamps = std::getenv("PRUNELAB_VULKAN_NO_TIMESTAMPS");
        if (m_device->timestampMask() && !(noTimestamps && std::strcmp(noTimestamps, "1") == 0)) {
            uint32_t queries = 0;
            for (Segment& seg : m_segments) {
                if (!seg.gpu) continue;
                seg.firstQuery = queries;
                seg.queries = 1;
                for (size_t k = seg.first; k <= seg.last; ++k) {
                    seg.queries += m_steps[k].fusedInto == SIZE_MAX ? 1 : 0;
                }
                queries += seg.queries;
            }
            VkQueryPoolCreateInfo info{};
            info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
            info.queryType = VK_QUERY_TYPE_TIMESTAMP;
            info.queryCount = queries;
            if (vkCreateQueryPool(d, &info, nullptr, &m_queries) != VK_SUCCESS) {
                m_queries = VK_NULL_HANDLE;  // profiling falls back to the wall clock
            }
        }
        // Where each value was last written: by the GPU (in a buffer) or the host.
        std::set<ValueId> onGpu;
        std::set<ValueId> readByHost(m_graph.outputs.begin(), m_graph.outputs.end());
        for (const Step& s : m_steps) {
            if (s.shader || s.fusedInto != SIZE_MAX) continue;
            for (ValueId id : m_graph.nodes[s.node].inputs) {
                if (id != kNoValue) readByHost.insert(id);
            }
        }
        for (Segment& seg : m_segments) {
            if (!seg.gpu) {
                for (ValueId id : m_graph.nodes[m_steps[seg.first].node].outputs) onGpu.erase(id);
                continue;
            }
            std::set<ValueId> written;
            for (size_t k = seg.first; k <= seg.last; ++k) {
                Step& s = m_steps[k];
                if (s.fusedInto != SIZE_MAX) continue;
                const std::vector<ShaderBinding>& b = s.shader->bindings;
                std::vector<VkDescriptorBufferInfo> infos(b.size());
                size_t data = 0;
                for (size_t j = 0; j < b.size(); ++j) {
                    const ValueId id = b[j].value;
                    if (id == kNoValue) {
                        infos[j] = {s.data[data++].buffer, 0, VK_WHOLE_SIZE};
                        continue;
                    }
                    PL_TRY_ASSIGN(Device::Buffer * buf, bufferFor(id));
                    infos[j] = {buf->buffer, 0, VK_WHOLE_SIZE};
                    const bool output = j + 1 == b.size();
                    if (output) {
                        written.insert(id);
                        onGpu.insert(id);
                    } else if (!m_graph.value(id).isConstant() && !onGpu.count(id) &&
                               !written.count(id)) {
                        seg.uploads.push_back(id);
                        onGpu.insert(id);  // uploaded once per run, then current
                    }
                }
                VkDescriptorSetAllocateInfo alloc{};
                alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
                alloc.descriptorPool = m_descriptors;
                alloc.descriptorSetCount = 1;
                alloc.pSetLayouts = &s.pipeline.setLayout;
                if (vkAllocateDescriptorSets(d, &alloc, &s.set) != VK_SUCCESS) {
                    return makeError(ErrorCode::Internal, "could not allocate a descriptor set");
                }
                std::vector<VkWriteDescriptorSet> writes(b.size());
                for (size_t j = 0; j < b.size(); ++j) {
                    writes[j].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
                    writes[j].dstSet = s.set;
                    writes[j].dstBinding = static_cast<uint32_t>(j);
                    writes[j].descriptorCount = 1;
                    writes[j].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
                    writes[j].pBufferInfo = &infos[j];
                }
                vkUpdateDescriptorSets(d, static_cast<uint32_t>(writes.size()), writes.data(), 0,
                                       nullptr);
            }
            for (ValueId id : written) {
                if (readByHost.count(id)) seg.downloads.push_back(id);
            }
            for (ValueId id : seg.uploads) PL_TRY(m_device->enableHostAccess(m_buffers.at(id)));
            for (ValueId id : seg.downloads) PL_TRY(m_device->enableHostAccess(m_buffers.at(id)));
            PL_TRY(record(seg));
        }
        return {};
    }

    Status record(Segment& seg) {
        VkCommandBufferAllocateInfo alloc{};
        alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        alloc.commandPool = m_commands;
        alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        alloc.commandBufferCount = 1;
        if (vkAllocateCommandBuffers(m_device->handle(), &alloc, &seg.cmd) != VK_SUCCESS) {
            return makeError(ErrorCode::Internal, "could not allocate a command buffer");
        }
        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        vkBeginCommandBuffer(seg.cmd, &begin);
        // The host's values copied in first where buffers are device-local (Device::Buffer).
        std::vector<const Device::Buffer*> in, out;
        for (ValueId id : seg.uploads) in.push_back(&m_buffers.at(id));
        for (ValueId id : seg.downloads) out.push_back(&m_buffers.at(id));
        m_device->recordUploads(seg.cmd, in);
        // Timestamps are written every run (one per dispatch, plus one) and read only when
        // profiling.
        if (m_queries) vkCmdResetQueryPool(seg.cmd, m_queries, seg.firstQuery, seg.queries);
        uint32_t query = seg.firstQuery;
        auto timestamp = [&] {
            if (!m_queries) return;
            // Bottom of the pipe: once everything recorded before has finished.
            vkCmdWriteTimestamp(seg.cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, m_queries, query++);
        };
        timestamp();
        // A barrier only before a step that reads what a dispatch since the last barrier wrote:
        // each value has its own buffer, written once per run, so reads after writes are the
        // only hazard, and independent branches (an SSD head's boxes and scores) may overlap.
        std::set<ValueId> unsynced;
        for (size_t k = seg.first; k <= seg.last; ++k) {
            const Step& s = m_steps[k];
            if (s.fusedInto != SIZE_MAX) continue;
            bool reads = false;
            for (const ShaderBinding& b : s.shader->bindings) {
                reads = reads || (b.value != kNoValue && unsynced.count(b.value) > 0);
            }
            if (reads) {
                unsynced.clear();
                ++m_barriers;
                VkMemoryBarrier barrier{};
                barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
                barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
                barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
                vkCmdPipelineBarrier(seg.cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0,
                                     nullptr, 0, nullptr);
            }
            vkCmdBindPipeline(seg.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline.pipeline);
            vkCmdBindDescriptorSets(seg.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline.layout, 0,
                                    1, &s.set, 0, nullptr);
            if (!s.shader->push.empty()) {
                vkCmdPushConstants(seg.cmd, s.pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                   static_cast<uint32_t>(s.shader->push.size() * sizeof(float)),
                                   s.shader->push.data());
            }
            vkCmdDispatch(seg.cmd, s.shader->groups[0], s.shader->groups[1], s.shader->groups[2]);
            unsynced.insert(s.shader->bindings.back().value);
            timestamp();
        }
        // The host reads the results after the fence (copied out of device-local buffers).
        m_device->recordDownloads(seg.cmd, out);
        if (vkEndCommandBuffer(seg.cmd) != VK_SUCCESS) {
            return makeError(ErrorCode::Internal, "could not record the GPU steps");
        }
        return {};
    }

    std::shared_ptr<Device> m_device;
    Graph m_graph;
    std::shared_ptr<const codegen::SparseModel> m_sparse;  // the compiled layers, if any
    bool m_half = false;         // fp16 storage (PrepareOptions::halfStorage)
    std::vector<Tensor> m_host;  // per value: its host copy (inputs, constants, CPU results)
    std::map<ValueId, Device::Buffer> m_buffers;
    std::vector<Step> m_steps;
    std::vector<Segment> m_segments;
    VkDescriptorPool m_descriptors = VK_NULL_HANDLE;
    VkCommandPool m_commands = VK_NULL_HANDLE;
    VkQueryPool m_queries = VK_NULL_HANDLE;  // per-dispatch timestamps; null without them
    bool m_profiling = false;
    int m_barriers = 0;  // recorded between dispatches, over all segments
    std::vector<StepTime> m_times;
    // Why every node runs on the CPU now (the GPU failed); empty while it works.
    std::string m_lost;
};

class VulkanBackend final : public Backend {
  public:
    std::string_view name() const override { return "vulkan"; }
    std::string_view title() const override { return "GPU through Vulkan"; }
    Status available() const override {
        auto device = processDevice();
        if (!device.ok()) return device.error();
        return {};
    }
    BackendDescription describe(int) const override {
        BackendDescription d;
        auto device = processDevice();
        if (!device.ok()) {
            d.device = "none: " + device.error().message;
            return d;
        }
        const DeviceInfo& info = (*device)->info();
        d.device = info.name + " (" + info.type + ", " + info.driver + ")";
        d.threads = 1;
        d.features.push_back("Vulkan " + std::to_string(VK_API_VERSION_MAJOR(info.apiVersion)) +
                             "." + std::to_string(VK_API_VERSION_MINOR(info.apiVersion)));
        d.features.emplace_back((*device)->halfStorage() ? "fp32, fp16 storage (--fp16)" : "fp32");
        // Which memory path runs (vulkan_device.h): worth knowing when a discrete GPU is slow.
        d.features.emplace_back((*device)->staging() ? "device-local buffers, staged"
                                                     : "host-mapped buffers");
        if (validationRequested()) d.features.emplace_back("validation");
        return d;
    }
    std::optional<std::string> unsupported(const Graph& graph, const Node& node) const override {
        // Every node runs: on the GPU, or on the CPU with the reason in the kernel report.
        return unboundOutput(graph, node);
    }
    Result<std::unique_ptr<Executor>> prepare(const Graph& graph,
                                              const PrepareOptions& options) const override {
        if (options.generated) {
            return makeError(ErrorCode::InvalidArgument,
                             "generated kernels made for the '" +
                                 std::string(options.generated->backend()) +
                                 "' backend cannot run on the GPU");
        }
        for (const Node& node : graph.nodes) {
            if (auto why = unsupported(graph, node)) {
                return makeError(ErrorCode::InvalidArgument, *why, graph.sourcePath);
            }
        }
        PL_TRY_ASSIGN(std::shared_ptr<Device> device, processDevice());
        PL_TRY_ASSIGN(std::unique_ptr<VulkanExecutor> exec,
                      VulkanExecutor::create(device, graph, options));
        return std::unique_ptr<Executor>(std::move(exec));
    }

    // No host code to build: each layer's GLSL is generated and compiled at prepare. The measured
    // decision runs on this device, sparse shaders against dense ones by their dispatches' GPU
    // times, so a layer stays sparse only where it is faster here.
    Status generateAndMeasure(const Graph& graph, codegen::SparseModel& model,
                              const CompileForOptions& options,
                              CompiledForBackend& out) const override {
        out.generated = nullptr;
        out.kernels = "generated GLSL per layer";
        if (!options.measure || (options.cancel && options.cancel->load())) return {};
        if (options.onProgress) options.onProgress({CompileProgress::Step::Measuring});
        MeasureOptions measure;
        measure.runs = options.measureRuns;
        measure.backend = this;
        PL_TRY_ASSIGN(model, keepFasterKernels(graph, std::move(model), measure));
        return {};
    }
};

}  // namespace

const Backend& vulkanBackend() {
    static const VulkanBackend backend;
    return backend;
}

Result<std::unique_ptr<Executor>> prepareOnDevice(std::shared_ptr<Device> device,
                                                  const Graph& graph,
                                                  const PrepareOptions& options) {
    PL_TRY_ASSIGN(std::unique_ptr<VulkanExecutor> exec,
                  VulkanExecutor::create(std::move(device), graph, options));
    return std::unique_ptr<Executor>(std::move(exec));
}

int recordedBarriers(const Executor& executor) {
    const auto* gpu = dynamic_cast<const VulkanExecutor*>(&executor);
    return gpu ? gpu->barriers() : -1;
}

Result<std::vector<std::pair<std::string, std::string>>> shaderSources(const Graph& graph) {
    PL_TRY_ASSIGN(std::shared_ptr<Device> device, processDevice());
    PL_TRY_ASSIGN(std::unique_ptr<VulkanExecutor> exec, VulkanExecutor::create(device, graph, {}));
    return exec->kernelSources();
}

}  // namespace prunelab::engine::vulkan

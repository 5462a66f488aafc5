// The CPU executor: owns the plan, the arena of reusable buffers and the dense library's (oneDNN's)
// engine; run()
// binds this call's inputs and fresh outputs to their slots and executes the steps in order.
#include "engine/runtime/cpu/cpu_executor.h"

#include <algorithm>
#include <chrono>

#include "engine/runtime/cpu/cpu_plan.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/reference_runner.h"

namespace prunelab::engine::cpu {

namespace {

class PlannedExecutor final : public CpuExecutor {
  public:
    PlannedExecutor(Graph signature, std::unique_ptr<ThreadPool> pool, DenseEngine engine,
                    Plan plan)
        : m_signature(std::move(signature)),
          m_pool(std::move(pool)),
          m_engine(std::move(engine)),
          m_plan(std::move(plan)) {
        for (size_t bytes : m_plan.blockBytes) {
            m_blocks.emplace_back(DataType::UInt8, Shape{static_cast<int64_t>(bytes)});
        }
        m_ptrs.resize(m_plan.slots.size(), nullptr);
        for (size_t i = 0; i < m_plan.slots.size(); ++i) {
            const Slot& s = m_plan.slots[i];
            if (s.kind == Slot::Kind::Arena && s.index >= 0) {
                m_ptrs[i] = m_blocks[static_cast<size_t>(s.index)].raw();
            } else if (s.kind == Slot::Kind::Constant) {
                m_ptrs[i] = const_cast<std::byte*>(s.constant.raw());
            }
        }
        // Per pool thread: a oneDNN stream and one scratchpad as large as any kernel needs
        // (kernels run one after another, so they share it).
        size_t scratch = 0;
        for (const Step& step : m_plan.steps)
            scratch = std::max(scratch, step.kernel->scratchpadBytes());
        for (int t = 0; t < m_pool->threads(); ++t) {
            m_streams.emplace_back(m_engine);
            m_scratch.emplace_back(DataType::UInt8,
                                   Shape{static_cast<int64_t>(std::max<size_t>(scratch, 64))});
        }
    }

    Result<std::vector<Tensor>> run(std::span<const Tensor> inputs) override {
        PL_TRY(checkGraphInputs(m_signature, inputs));
        std::vector<Tensor> outputs;
        for (int id : m_plan.outputSlots) {
            const Slot& s = m_plan.slots[static_cast<size_t>(id)];
            PL_TRY_ASSIGN(Tensor t, Tensor::make(s.dtype, s.shape));
            outputs.push_back(std::move(t));
        }
        for (size_t i = 0; i < m_plan.slots.size(); ++i) {
            const Slot& s = m_plan.slots[i];
            switch (s.kind) {
                case Slot::Kind::Input:
                    // Read-only: the planner never writes in place over an input.
                    m_ptrs[i] = const_cast<std::byte*>(inputs[static_cast<size_t>(s.index)].raw());
                    break;
                case Slot::Kind::Output:
                    m_ptrs[i] = outputs[static_cast<size_t>(s.index)].raw();
                    break;
                case Slot::Kind::Alias:
                    m_ptrs[i] = m_ptrs[static_cast<size_t>(s.index)];
                    break;
                default:
                    break;
            }
        }
        ThreadPool::Scope scope;
        ThreadPool::Hot hot(*m_pool);
        RunContext ctx{m_pool.get(), &m_streams, {}};
        for (Tensor& t : m_scratch) ctx.scratch.push_back(t.raw());
        std::vector<std::byte*> in;
        std::vector<std::byte*> out;
        if (m_profiling) m_times.assign(m_plan.steps.size(), {});
        for (size_t k = 0; k < m_plan.steps.size(); ++k) {
            Step& step = m_plan.steps[k];
            in.clear();
            out.clear();
            for (int id : step.in) in.push_back(id < 0 ? nullptr : m_ptrs[static_cast<size_t>(id)]);
            for (int id : step.out) out.push_back(m_ptrs[static_cast<size_t>(id)]);
            const auto start = std::chrono::steady_clock::now();
            Status st = step.kernel->run(in, out, ctx);
            if (!st.ok()) return st.error().within(step.where);
            if (m_profiling) {
                const std::chrono::duration<double, std::milli> ms =
                    std::chrono::steady_clock::now() - start;
                m_times[k] = {step.where, step.layoutChange, ms.count()};
            }
        }
        return outputs;
    }

    void setProfiling(bool on) override {
        m_profiling = on;
        m_times.clear();
    }
    std::vector<StepTime> lastStepTimes() const override { return m_times; }

    int threads() const override { return m_pool->threads(); }
    std::vector<KernelChoice> kernelReport() const override { return m_plan.report; }
    MemoryReport memoryReport() const override { return m_plan.memory; }

  private:
    Graph m_signature;  // the inputs' names, dtypes and shapes, for checkGraphInputs
    std::unique_ptr<ThreadPool> m_pool;
    DenseEngine m_engine;
    Plan m_plan;
    std::vector<DenseStream> m_streams;
    std::vector<Tensor> m_scratch;
    std::vector<Tensor> m_blocks;
    std::vector<std::byte*> m_ptrs;
    bool m_profiling = false;
    std::vector<StepTime> m_times;
};

// Just enough of the graph to validate inputs later: input values without constants.
Graph signatureOf(const Graph& graph) {
    Graph sig;
    sig.name = graph.name;
    sig.sourcePath = graph.sourcePath;
    for (ValueId id : graph.inputs) {
        const Value& v = graph.value(id);
        sig.inputs.push_back(sig.addValue(v.name, v.dtype, v.shape));
    }
    return sig;
}

}  // namespace

Result<std::unique_ptr<CpuExecutor>> CpuExecutor::create(const Graph& graph,
                                                         const CpuOptions& options) {
    if (options.threads < 0) {
        return makeError(
            ErrorCode::InvalidArgument,
            "thread count must be >= 0 (0 = one per core), got " + std::to_string(options.threads));
    }
    for (const Value& v : graph.values) {
        if (auto why = unboundDimension(v)) {
            return makeError(ErrorCode::InvalidArgument, *why + "; bind shapes before planning",
                             graph.sourcePath);
        }
    }
    if (options.generated && !dynamic_cast<const CompiledModule*>(options.generated.get())) {
        return makeError(ErrorCode::InvalidArgument, "generated kernels made for the '" +
                                                         std::string(options.generated->backend()) +
                                                         "' backend cannot run on the CPU");
    }
    auto pool = std::make_unique<ThreadPool>(options.threads);
    // Primitives are created single-threaded, as they will run (see thread_pool.h).
    ThreadPool::Scope scope;
#if PRUNELAB_CPU_ONEDNN
    try {
        dnnl::engine engine(dnnl::engine::kind::cpu, 0);
        auto plan = buildPlan(graph, options, engine, pool->threads());
        if (!plan.ok()) return plan.error().within(graph.sourcePath);
        return std::unique_ptr<CpuExecutor>(std::make_unique<PlannedExecutor>(
            signatureOf(graph), std::move(pool), std::move(engine), std::move(*plan)));
    } catch (const dnnl::error& e) {
        return dnnlError(e, "setting up the CPU runtime");
    }
#else
    // The pool's threads each call sgemm on their own piece: OpenBLAS's own threads would
    // oversubscribe the cores (as oneDNN's OpenMP would, see ThreadPool::Scope).
    setBlasSingleThreaded();
    DenseEngine engine;
    auto plan = buildPlan(graph, options, engine, pool->threads());
    if (!plan.ok()) return plan.error().within(graph.sourcePath);
    return std::unique_ptr<CpuExecutor>(std::make_unique<PlannedExecutor>(
        signatureOf(graph), std::move(pool), engine, std::move(*plan)));
#endif
}

}  // namespace prunelab::engine::cpu

// ThreadPool: std::thread workers, dynamic task claiming, spin-then-sleep idling.
#include "engine/runtime/cpu/thread_pool.h"

#include <omp.h>

#include <algorithm>

// A spin-wait hint to the core (not a yield to the OS): x86's pause, Arm's yield.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define PL_PAUSE() asm volatile("yield" ::: "memory")
#else
#define PL_PAUSE() std::this_thread::yield()
#endif

namespace prunelab::engine::cpu {

namespace {
constexpr int kIdleSpins = 2000;  // ~0.1 ms of pause before a worker sleeps
// Inside a Hot scope a worker yields its core once per this many pauses (~6 us), so a shared
// core (a compile job, another runtime) is handed over promptly; alone, yield returns at once.
constexpr int kHotSpinsPerYield = 128;
thread_local int tlsThreadIndex = 0;
}  // namespace

int ThreadPool::threadIndex() {
    return tlsThreadIndex;
}

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
    m_threads = std::max(1, threads);
    for (int i = 1; i < m_threads; ++i) {
        m_workers.emplace_back([this, i] {
            tlsThreadIndex = i;
            workerLoop();
        });
    }
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
        m_generation.fetch_add(1);
    }
    m_wake.notify_all();
    for (std::thread& t : m_workers) t.join();
}

bool ThreadPool::claim(uint32_t generation, int64_t& task) {
    uint64_t cur = m_next.load(std::memory_order_acquire);
    for (;;) {
        if (static_cast<uint32_t>(cur >> 32) != generation) return false;
        const auto index = static_cast<int64_t>(cur & 0xffffffffu);
        if (index >= m_tasks.load(std::memory_order_acquire)) return false;
        if (m_next.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) {
            task = index;
            return true;
        }
    }
}

void ThreadPool::work(uint32_t generation) {
    int64_t task = 0;
    while (claim(generation, task)) {
        (*m_fn.load(std::memory_order_acquire))(task);
        m_done.fetch_add(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::workerLoop() {
    // oneDNN primitives run here single-threaded, like on the caller (see Scope).
    omp_set_num_threads(1);
    uint32_t seen = m_generation.load();
    for (;;) {
        uint32_t gen = m_generation.load(std::memory_order_acquire);
        for (int i = 0; gen == seen; ++i) {
            if (i == kIdleSpins) {
                if (!m_hot.load(std::memory_order_relaxed)) break;
                std::this_thread::yield();
                i = kIdleSpins - kHotSpinsPerYield;
            }
            PL_PAUSE();
            gen = m_generation.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [&] { return m_generation.load() != seen || m_stop || m_hot; });
            gen = m_generation.load();
        }
        if (m_stop) return;
        if (gen == seen) continue;  // woken by Hot: spin for the first job
        seen = gen;
        work(gen);
    }
}

void ThreadPool::runTasks(int64_t tasks, const std::function<void(int64_t)>& fn) {
    if (tasks <= 0) return;
    if (tasks == 1 || m_workers.empty()) {
        for (int64_t t = 0; t < tasks; ++t) fn(t);
        return;
    }
    uint32_t gen = 0;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        gen = m_generation.load() + 1;
        // First close the old job for a worker still inside claim() (a new generation with an
        // exhausted index), then fill in the new job, then open it.
        m_next.store((static_cast<uint64_t>(gen) << 32) | 0xffffffffu, std::memory_order_release);
        m_fn.store(&fn, std::memory_order_release);
        m_tasks.store(tasks, std::memory_order_release);
        m_done.store(0);
        m_next.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
        m_generation.store(gen, std::memory_order_release);
    }
    m_wake.notify_all();
    work(gen);
    // Wait for tasks other threads claimed; yield now and then in case their core is shared.
    for (int spins = 0; m_done.load(std::memory_order_acquire) < tasks; ++spins) {
        if (spins < 4000) {
            PL_PAUSE();
        } else {
            std::this_thread::yield();
        }
    }
}

void ThreadPool::parallelFor(int64_t count, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) {
    if (count <= 0) return;
    grain = std::max<int64_t>(1, grain);
    // A few chunks per thread: enough to rebalance when a thread stalls, few enough to keep
    // the per-chunk overhead small.
    const int64_t chunks = std::min<int64_t>((count + grain - 1) / grain, 4 * m_threads);
    if (chunks <= 1) {
        fn(0, count);
        return;
    }
    runTasks(chunks, [&](int64_t c) { fn(count * c / chunks, count * (c + 1) / chunks); });
}

ThreadPool::Hot::Hot(ThreadPool& pool) : m_pool(pool) {
    if (m_pool.m_workers.empty()) return;
    {
        std::lock_guard<std::mutex> lock(m_pool.m_mutex);
        m_pool.m_hot.store(true);
    }
    m_pool.m_wake.notify_all();
}

ThreadPool::Hot::~Hot() {
    m_pool.m_hot.store(false);
}

ThreadPool::Scope::Scope() : m_previous(omp_get_max_threads()) {
    omp_set_num_threads(1);
}

ThreadPool::Scope::~Scope() {
    omp_set_num_threads(m_previous);
}

}  // namespace prunelab::engine::cpu

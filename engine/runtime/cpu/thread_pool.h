// ThreadPool: the CPU runtime's workers. parallelFor() splits a range into chunks that the
// caller and the workers claim dynamically, so a worker the OS has descheduled (another
// process, another runtime's spinning threads) delays the call by one chunk, not by its share.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace prunelab::engine::cpu {

// Why not OpenMP (which oneDNN here is built on): OpenMP splits work statically and waits at
// spinning barriers, so when a core is shared the whole step waits for the slowest thread;
// measured 3-10x slowdowns at 2 threads beside a compile job or ONNX Runtime's idle spinners.
// The executor therefore runs every oneDNN primitive single-threaded (Scope below) on chunks
// it schedules here, and OpenMP never starts a worker.
//
// Threading: parallelFor() may be called from one thread at a time (the executor's run());
// the callback runs concurrently on up to threads() threads, the caller included. Idle
// workers spin for ~0.1 ms, then sleep, so they do not steal a core between runs; inside a
// Hot scope (one executor run) they keep spinning instead, so the next parallel step does not
// pay a futex wake-up (tens of us here, more than a whole small step).
class ThreadPool {
  public:
    // threads <= 0 means std::thread::hardware_concurrency(). Starts threads - 1 workers.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const { return m_threads; }
    // 0 on any thread that is not one of a pool's workers, else 1..threads()-1: indexes
    // per-thread resources (oneDNN streams, scratchpads) inside parallelFor / runTasks.
    static int threadIndex();

    // Calls fn(begin, end) on disjoint chunks covering [0, count), in parallel. Chunks hold at
    // least `grain` items (amortises the per-chunk call); a range of one chunk runs inline.
    // fn must not throw.
    void parallelFor(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

    // Calls fn(task) for every task in [0, tasks), each on whichever thread claims it.
    void runTasks(int64_t tasks, const std::function<void(int64_t)>& fn);

    // Makes OpenMP (and so oneDNN) single-threaded on the calling thread until destroyed:
    // primitives must be created and run with the thread count they were planned for.
    class Scope {
      public:
        Scope();
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

      private:
        int m_previous;
    };

    // Keeps the workers awake from construction (it wakes them) to destruction: between the
    // parallel steps of one run they spin, yielding now and then, instead of sleeping. Not
    // nested; from the thread that calls parallelFor / runTasks.
    class Hot {
      public:
        explicit Hot(ThreadPool& pool);
        ~Hot();
        Hot(const Hot&) = delete;
        Hot& operator=(const Hot&) = delete;

      private:
        ThreadPool& m_pool;
    };

  private:
    void workerLoop();
    // Claims the next task of job `generation`, or returns false when none is left.
    bool claim(uint32_t generation, int64_t& task);
    void work(uint32_t generation);

    int m_threads = 1;
    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::atomic<bool> m_hot{false};  // see Hot
    // The current job: its generation in the high 32 bits of m_next, the next task below, so a
    // worker that wakes late can never claim a task of a newer job with a stale callback.
    std::atomic<uint64_t> m_next{0};
    std::atomic<uint32_t> m_generation{0};
    std::atomic<int64_t> m_done{0};
    std::atomic<int64_t> m_tasks{0};
    std::atomic<const std::function<void(int64_t)>*> m_fn{nullptr};
};

}  // namespace prunelab::engine::cpu

// ThreadPool: the CPU runtime's parallel_for. Its workers are the OpenMP team that oneDNN
// also runs on, so our loops and oneDNN's primitives share one set of threads per executor.
#pragma once

#include <cstdint>
#include <functional>

namespace prunelab::engine::cpu {

// Why OpenMP underneath and not std::thread workers: oneDNN here is built with the OpenMP
// runtime, whose idle workers spin for milliseconds after every primitive. A second pool of
// our own would compete with those spinning threads for the same cores (2 on the lab
// machines), making "2 threads" really 3-4 and every hand-off slow. One team = honest counts.
//
// Threading: parallelFor() must be called from one thread at a time (the executor's run());
// the callback runs concurrently on up to threads() threads, the caller included.
class ThreadPool {
  public:
    // threads <= 0 means std::thread::hardware_concurrency().
    explicit ThreadPool(int threads = 0);

    int threads() const { return m_threads; }

    // Calls fn(begin, end) on disjoint chunks covering [0, count), in parallel. Chunks hold at
    // least `grain` items (amortises the per-chunk call); small ranges run inline on the
    // caller. fn must not throw.
    void parallelFor(int64_t count, int64_t grain,
                     const std::function<void(int64_t, int64_t)>& fn) const;

    // Makes OpenMP (and so oneDNN) use this pool's thread count on the calling thread until
    // the guard is destroyed, then restores the previous setting.
    class Scope {
      public:
        explicit Scope(const ThreadPool& pool);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

      private:
        int m_previous;
    };

  private:
    int m_threads = 1;
};

}  // namespace prunelab::engine::cpu

// ThreadPool on the OpenMP runtime (see thread_pool.h for why OpenMP).
#include "engine/runtime/cpu/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <thread>

namespace prunelab::engine::cpu {

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
    m_threads = std::max(1, threads);
}

void ThreadPool::parallelFor(int64_t count, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) const {
    if (count <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int64_t maxChunks = (count + grain - 1) / grain;
    const int workers = static_cast<int>(std::min<int64_t>(m_threads, maxChunks));
    if (workers <= 1) {
        fn(0, count);
        return;
    }
    // One contiguous chunk per thread: the loops are uniform, so static splitting balances
    // them and keeps each thread on its own cache lines.
#pragma omp parallel num_threads(workers)
    {
        const int64_t t = omp_get_thread_num();
        const int64_t n = omp_get_num_threads();
        const int64_t begin = count * t / n;
        const int64_t end = count * (t + 1) / n;
        if (begin < end) fn(begin, end);
    }
}

ThreadPool::Scope::Scope(const ThreadPool& pool) : m_previous(omp_get_max_threads()) {
    omp_set_num_threads(pool.threads());
}

ThreadPool::Scope::~Scope() {
    omp_set_num_threads(m_previous);
}

}  // namespace prunelab::engine::cpu

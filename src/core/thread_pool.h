// A persistent pool. run(fn, n_parts) calls fn(part, n_parts) once for every part in
// [0, n_parts) and returns when all are done. Thread t (the caller is 0) takes part t first,
// so consecutive ops split the same way find their rows in the cache of the core that wrote
// them; the other parts are handed out dynamically, and a part whose thread the OS has not
// scheduled yet is taken by whichever thread is free, so an oversubscribed machine (parallel
// tests, a busy host) slows a step down instead of stalling it on a sleeping thread. Workers
// spin briefly before sleeping so back-to-back ops in a decode step do not pay a futex wake
// each time.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace autoglm {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: physical cores
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // n_parts <= 0: one part per thread.
  void run(const std::function<void(int ith, int nth)>& fn, int n_parts = 0);

  // [begin, end) of n items for part ith of nth, in contiguous chunks.
  static void split(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
    const int64_t per = (n + nth - 1) / nth;
    *begin = std::min<int64_t>(n, per * ith);
    *end = std::min<int64_t>(n, *begin + per);
  }

  static int default_threads();  // physical cores (logical / SMT siblings), at least 1

 private:
  void worker(int t);
  void work_parts(int t);

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job; written by run() only while no worker is inside a job.
  const std::function<void(int, int)>* job_ = nullptr;
  int n_parts_ = 0;
  std::atomic<int> next_part_{0};                   // the next of the parts past the threads' own
  std::unique_ptr<std::atomic<bool>[]> own_taken_;  // [n_threads]: part t is taken
  // (generation << 1) | open. A worker joins a job only while it is open; run() closes it
  // once all parts are taken and then waits only for workers that joined.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> active_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace autoglm

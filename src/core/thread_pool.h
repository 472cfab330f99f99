// A persistent pool. run(fn) calls fn(part, n) once for each of the n = size() parts and returns
// when all are done. Thread t (the caller is 0) runs part t, so consecutive ops split the same
// way find their rows in the cache of the core that wrote them. A part whose thread has not
// taken it by the time the caller finished its own (the OS has not scheduled that thread yet) is
// run by the caller, so an oversubscribed machine (parallel tests, a busy host) slows a step down
// instead of stalling it on a sleeping thread. Workers spin briefly before sleeping so
// back-to-back ops in a decode step do not pay a futex wake each time.
//
// A hand-off costs a few cache-line transfers between cores, which a decode step pays hundreds
// of times: the job's generation (one line, written by the caller) and each part's claim and
// completion (a line per part, written by whoever runs it).
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
  void run(const std::function<void(int ith, int nth)>& fn);

  // [begin, end) of n items for part ith of nth, in contiguous chunks.
  static void split(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
    const int64_t per = (n + nth - 1) / nth;
    *begin = std::min<int64_t>(n, per * ith);
    *end = std::min<int64_t>(n, *begin + per);
  }

  static int default_threads();  // physical cores (logical / SMT siblings), at least 1

 private:
  // Generations number the jobs from 1; a part's fields hold the last generation that reached
  // that state, so a stale claim (for a job already finished) always fails.
  struct alignas(64) Part {
    std::atomic<uint64_t> claimed{0};
    std::atomic<uint64_t> done{0};
  };

  void worker(int t);
  // Runs part t of job generation g if nobody has claimed it yet.
  void try_part(int t, uint64_t g);

  const int n_threads_;
  std::unique_ptr<Part[]> parts_;
  std::vector<std::thread> workers_;
  // The current job and its generation; written by run() only while no part is running.
  alignas(64) const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace autoglm

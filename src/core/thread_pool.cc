#include "core/thread_pool.h"

#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace autoglm {
namespace {

constexpr int kSpinIterations = 20000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

int ThreadPool::default_threads() {
  // Count distinct (physical id, core id) pairs: SMT siblings share a core's load/store units
  // and only slow a bandwidth-bound decode.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(in, line)) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) cores.emplace(phys, value());
  }
  const int logical = static_cast<int>(std::thread::hardware_concurrency());
  int n = cores.empty() ? logical : static_cast<int>(cores.size());
  if (logical > 0 && n > logical) n = logical;
  return n > 0 ? n : 1;
}

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads > 0 ? n_threads : default_threads()),
      own_taken_(new std::atomic<bool>[static_cast<size_t>(n_threads_)]) {
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    state_.fetch_add(2);  // a new generation wakes everyone to see stop_
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_parts(int t) {
  const int owned = std::min(n_threads_, n_parts_);
  if (t < owned && !own_taken_[t].exchange(true)) (*job_)(t, n_parts_);
  for (int i = next_part_.fetch_add(1); i < n_parts_; i = next_part_.fetch_add(1))
    (*job_)(i, n_parts_);
  for (int i = 0; i < owned; ++i) {  // the own parts of threads that have not come yet
    if (!own_taken_[i].exchange(true)) (*job_)(i, n_parts_);
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn, int n_parts) {
  if (n_parts <= 0) n_parts = n_threads_;
  if (n_threads_ == 1 || n_parts == 1) {
    for (int i = 0; i < n_parts; ++i) fn(i, n_parts);
    return;
  }
  job_ = &fn;
  n_parts_ = n_parts;
  for (int t = 0; t < n_threads_; ++t) own_taken_[t].store(false);
  next_part_.store(std::min(n_threads_, n_parts));
  const uint64_t open = ((state_.load() >> 1) + 1) << 1 | 1;
  state_.store(open);
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }
  work_parts(0);
  state_.store(open & ~uint64_t{1});  // closed: late workers will not join
  // Wait only for workers that joined and are finishing a part: spin, then yield so an
  // oversubscribed machine can run them.
  for (int spin = 0; active_.load() != 0; ++spin) {
    if (spin < kSpinIterations) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
}

void ThreadPool::worker(int t) {
  uint64_t seen = 0;  // the constructor's generation, even if this thread starts late
  for (;;) {
    uint64_t s = state_.load();
    for (int spin = 0; (s >> 1) == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      s = state_.load();
    }
    if ((s >> 1) == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(lock, [&] { return (state_.load() >> 1) != seen || stop_.load(); });
      sleepers_.fetch_sub(1);
      s = state_.load();
    }
    seen = s >> 1;
    if (stop_.load()) return;
    if (!(s & 1)) continue;  // already closed
    // Join, then confirm the job is still the open one (seq_cst pairs with run()'s close).
    active_.fetch_add(1);
    if (state_.load() == s) work_parts(t);
    active_.fetch_sub(1);
  }
}

}  // namespace autoglm

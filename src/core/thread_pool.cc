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
      parts_(new Part[static_cast<size_t>(n_threads_)]) {
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    gen_.fetch_add(1);  // a new generation wakes everyone to see stop_
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::try_part(int t, uint64_t g) {
  Part& p = parts_[static_cast<size_t>(t)];
  uint64_t c = p.claimed.load(std::memory_order_relaxed);
  if (c >= g || !p.claimed.compare_exchange_strong(c, g, std::memory_order_acquire)) return;
  (*job_)(t, n_threads_);
  p.done.store(g, std::memory_order_release);
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  const uint64_t g = gen_.load(std::memory_order_relaxed) + 1;
  gen_.store(g);  // seq_cst: ordered before the sleepers_ check below
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }
  try_part(0, g);
  for (int t = 1; t < n_threads_; ++t) try_part(t, g);  // the parts nobody has taken yet
  // Wait for parts that workers are finishing: spin, then yield so an oversubscribed machine
  // can run them.
  for (int t = 1; t < n_threads_; ++t) {
    const Part& p = parts_[static_cast<size_t>(t)];
    for (int spin = 0; p.done.load(std::memory_order_acquire) != g; ++spin) {
      if (spin < kSpinIterations) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
  job_ = nullptr;
}

void ThreadPool::worker(int t) {
  uint64_t seen = 0;  // the constructor's generation, even if this thread starts late
  for (;;) {
    uint64_t g = gen_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      g = gen_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(lock, [&] { return gen_.load() != seen || stop_.load(); });
      sleepers_.fetch_sub(1);
      g = gen_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    try_part(t, g);
  }
}

}  // namespace autoglm

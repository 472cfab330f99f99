// autoglm-membw: a STREAM-like probe of main-memory bandwidth, the ceiling of batch-1 decode.
//
// Two kernels over buffers far larger than the last-level cache, each thread on its own slice:
//   read   sum += a[i]            (bytes counted: 8 per element; what decode does with weights)
//   triad  a[i] = b[i] + s * c[i] (bytes counted: 24 per element, as STREAM; write-allocate
//                                  traffic is not counted)
// Each figure is the best of several passes (STREAM's rule: the fastest pass is the one least
// disturbed by other work on the machine). Prints a table, or one JSON object with --json.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  size_t mib = 1024;  // per array; 3 arrays for triad
  int passes = 5;
  std::vector<int> threads;
  bool json = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(
      stderr,
      "error: %s\nusage: autoglm-membw [--mib N] [--passes N] [--threads 1,2,..] [--json]\n"
      "  --mib     MiB per array (default 1024; keep it several times the LLC size)\n"
      "  --passes  timed passes per kernel, best one reported (default 5)\n"
      "  --threads thread counts to measure (default 1 and all hardware threads)\n",
      msg.c_str());
  std::exit(2);
}

int parse_positive(const char* flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > (1 << 20)) {
    usage_error(std::string(flag) + " wants a positive integer, got '" + text + "'");
  }
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--mib") {
      o.mib = static_cast<size_t>(parse_positive("--mib", value()));
    } else if (a == "--passes") {
      o.passes = parse_positive("--passes", value());
    } else if (a == "--threads") {
      std::string list = value();
      size_t pos = 0;
      while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        o.threads.push_back(parse_positive("--threads", list.substr(pos, comma - pos).c_str()));
        pos = comma + 1;
      }
    } else {
      usage_error("unknown argument '" + a + "'");
    }
  }
  if (o.threads.empty()) {
    const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    o.threads = hw > 1 ? std::vector<int>{1, hw} : std::vector<int>{1};
  }
  return o;
}

// Eight independent vector accumulators so the loop is bound by loads, not by the add latency.
// GCC vector types lower to SSE2 on any x86-64 (and NEON on ARM): no -march flags needed.
double read_slice(const double* a, size_t n) {
  using V2 = double __attribute__((vector_size(16)));
  V2 s[8] = {};
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 8; ++j) {
      V2 v;
      std::memcpy(&v, a + i + 2 * j, sizeof v);  // the vector may be only 8-byte aligned
      s[j] += v;
    }
  }
  double t = 0;
  for (; i < n; ++i) t += a[i];
  for (const V2& v : s) t += v[0] + v[1];
  return t;
}

void triad_slice(double* a, const double* b, const double* c, size_t n, double scale) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + scale * c[i];
}

struct Buffers {
  size_t n;  // elements per array
  std::vector<double> a, b, c;
};

// A reusable barrier that spins (yielding, for a busy machine). libstdc++ 12's std::barrier can
// release a waiter early, which made passes look microseconds long.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  void arrive_and_wait() {
    const int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      count_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      return;
    }
    while (gen_.load(std::memory_order_acquire) == gen) std::this_thread::yield();
  }

 private:
  const int n_;
  std::atomic<int> count_{0}, gen_{0};
};

// Runs body(thread, begin, end) on nth threads (the caller is thread 0), each on its own slice
// of [0, n); returns the best wall time of `passes` passes.
template <typename Body>
double best_seconds(int nth, size_t n, int passes, const Body& body) {
  SpinBarrier sync(nth);
  auto slice = [&](int t) {
    const size_t begin = n * static_cast<size_t>(t) / static_cast<size_t>(nth);
    const size_t end = n * static_cast<size_t>(t + 1) / static_cast<size_t>(nth);
    body(t, begin, end);
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < nth; ++t) {
    helpers.emplace_back([&, t] {
      for (int p = 0; p < passes; ++p) {
        sync.arrive_and_wait();
        slice(t);
        sync.arrive_and_wait();
      }
    });
  }
  double best = 1e30;
  for (int p = 0; p < passes; ++p) {
    sync.arrive_and_wait();
    const auto t0 = std::chrono::steady_clock::now();
    slice(0);
    sync.arrive_and_wait();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  for (auto& th : helpers) th.join();
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Buffers buf;
  buf.n = o.mib * (1 << 20) / sizeof(double);
  // Non-zero contents: a page that was never written may be backed by the shared zero page.
  buf.a.assign(buf.n, 1.0);
  buf.b.assign(buf.n, 2.0);
  buf.c.assign(buf.n, 0.5);

  struct Row {
    int threads;
    double read_gbs, triad_gbs;
  };
  std::vector<Row> rows;
  volatile double sink = 0;  // keeps the read loop from being optimized away
  for (int nth : o.threads) {
    std::vector<double> partial(static_cast<size_t>(nth) * 8);  // one cache line per thread
    const double read_s = best_seconds(nth, buf.n, o.passes, [&](int t, size_t b, size_t e) {
      partial[static_cast<size_t>(t) * 8] += read_slice(buf.a.data() + b, e - b);
    });
    for (double v : partial) sink = sink + v;
    const double triad_s = best_seconds(nth, buf.n, o.passes, [&](int, size_t b, size_t e) {
      triad_slice(buf.a.data() + b, buf.b.data() + b, buf.c.data() + b, e - b, 3.0);
    });
    const double bytes = static_cast<double>(buf.n) * sizeof(double);
    rows.push_back({nth, bytes / read_s / 1e9, 3 * bytes / triad_s / 1e9});
  }

  if (o.json) {
    std::printf("{\"array_mib\": %zu, \"passes\": %d, \"results\": [", o.mib, o.passes);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::printf("%s{\"threads\": %d, \"read_gb_s\": %.2f, \"triad_gb_s\": %.2f}", i ? ", " : "",
                  rows[i].threads, rows[i].read_gbs, rows[i].triad_gbs);
    }
    std::printf("]}\n");
  } else {
    std::printf("memory bandwidth, %zu MiB arrays, best of %d passes (GB/s = 1e9 bytes/s)\n", o.mib,
                o.passes);
    std::printf("threads  read GB/s  triad GB/s\n");
    for (const Row& r : rows)
      std::printf("%7d  %9.2f  %10.2f\n", r.threads, r.read_gbs, r.triad_gbs);
  }
  return 0;
}

// Row kernels at SmolLM2-135M shapes (n_embd 576, 9 heads of 64), for one decode token and a
// 512-token prefill. bytes = f32 inputs read + outputs written.
#include "backends/cpu/kernels/norm.h"
#include "backends/cpu/kernels/rope.h"
#include "backends/cpu/kernels/softmax.h"
#include "bench_util.h"

namespace autoglm::bench {
namespace {

constexpr int64_t kEmbd = 576, kHeads = 9, kHeadDim = 64;

void run_rms_norm(benchmark::State& state, int64_t rows) {
  const std::vector<float> x = random_floats(static_cast<size_t>(rows * kEmbd), 3);  // [rows, 576]
  std::vector<float> y(x.size());
  for (auto _ : state) {
    cpu::rms_norm(x.data(), y.data(), rows, kEmbd, 1e-5f, 0, 1);
    benchmark::ClobberMemory();
  }
  set_rates(state, 8.0 * static_cast<double>(x.size()), 3.0 * static_cast<double>(x.size()));
}

void run_rope(benchmark::State& state, int64_t n_tok) {
  // [n_tok, 9, 64]
  const std::vector<float> x = random_floats(static_cast<size_t>(n_tok * kHeads * kHeadDim), 5);
  std::vector<float> y(x.size());
  std::vector<int32_t> pos(static_cast<size_t>(n_tok));  // [n_tok]
  for (int64_t t = 0; t < n_tok; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(t + 100);
  const cpu::RopeParams p{static_cast<int>(kHeadDim), false, 100000.0f, 1.0f, nullptr};
  for (auto _ : state) {
    cpu::rope(x.data(), y.data(), n_tok, kHeads, kHeadDim, pos.data(), p, 0, 1);
    benchmark::ClobberMemory();
  }
  // One rotation per pair: 4 multiplies and 2 adds.
  set_rates(state, 8.0 * static_cast<double>(x.size()), 3.0 * static_cast<double>(x.size()));
}

void run_softmax(benchmark::State& state, int64_t rows, int64_t n) {
  const std::vector<float> x = random_floats(static_cast<size_t>(rows * n), 9);  // [rows, n]
  std::vector<float> y(x.size());
  for (auto _ : state) {
    cpu::softmax(x.data(), y.data(), rows, n, 0.125f, 0, 1);
    benchmark::ClobberMemory();
  }
  set_rates(state, 8.0 * static_cast<double>(x.size()), 4.0 * static_cast<double>(x.size()));
}

}  // namespace

void register_op_benchmarks(cpu::Isa isa) {
  register_at(isa, "rms_norm/1x576", [](benchmark::State& st) { run_rms_norm(st, 1); });
  register_at(isa, "rms_norm/512x576", [](benchmark::State& st) { run_rms_norm(st, 512); });
  register_at(isa, "rope/1x9x64", [](benchmark::State& st) { run_rope(st, 1); });
  register_at(isa, "rope/512x9x64", [](benchmark::State& st) { run_rope(st, 512); });
  // Attention score rows: 9 heads over 576 positions (decode), 9 heads x 512 queries (prefill).
  register_at(isa, "softmax/9x576", [](benchmark::State& st) { run_softmax(st, 9, 576); });
  register_at(isa, "softmax/4608x512", [](benchmark::State& st) { run_softmax(st, 4608, 512); });
}

}  // namespace autoglm::bench

#include "bench_util.h"

#include <random>
#include <utility>

namespace autoglm::bench {

std::vector<cpu::Isa> supported_isas() {
  std::vector<cpu::Isa> out;
  // set_isa_for_testing caps a request at the hardware's level, so the first level that does not
  // stick is past the best one.
  for (int level = 0;; ++level) {
    const auto isa = static_cast<cpu::Isa>(level);
    cpu::set_isa_for_testing(isa);
    if (cpu::active_isa() != isa) break;
    out.push_back(isa);
  }
  return out;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void set_rates(benchmark::State& state, double bytes, double flops) {
  using benchmark::Counter;
  state.counters["bytes"] = Counter(bytes, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  state.counters["FLOP"] = Counter(flops, Counter::kIsIterationInvariantRate, Counter::kIs1000);
}

void register_at(cpu::Isa isa, const std::string& name, std::function<void(benchmark::State&)> fn) {
  benchmark::RegisterBenchmark((name + "/" + cpu::isa_name(isa)).c_str(),
                               [fn = std::move(fn), isa](benchmark::State& state) {
                                 cpu::set_isa_for_testing(isa);
                                 fn(state);
                               })
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace autoglm::bench

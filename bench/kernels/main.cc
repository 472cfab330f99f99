// autoglm-kernel-bench: CPU kernel microbenchmarks at SmolLM2-135M shapes, once per ISA level.
// Counters: bytes = bytes the kernel must move per second (weights for matmul, inputs+outputs
// for element-wise ops), FLOP = floating-point (or integer multiply-add) operations per second.
// Google Benchmark flags apply, e.g. --benchmark_filter=gemv --benchmark_min_time=0.2.
#include <string>

#include "bench_util.h"

int main(int argc, char** argv) {
  using namespace autoglm;
  std::string levels;
  for (cpu::Isa isa : bench::supported_isas()) {
    bench::register_matmul_benchmarks(isa);
    bench::register_op_benchmarks(isa);
    bench::register_attention_benchmarks(isa);
    levels += std::string(levels.empty() ? "" : ",") + cpu::isa_name(isa);
  }
  benchmark::AddCustomContext("isa_levels", levels);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

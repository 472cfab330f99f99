// Shared pieces of the kernel microbenchmarks: ISA levels, inputs, rate counters.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backends/cpu/kernels/isa.h"

namespace autoglm::bench {

// Every level up to the best one this CPU runs, lowest first (found through the forcing hook, so
// levels added to the enum later are picked up without changes here).
std::vector<cpu::Isa> supported_isas();

// n floats, normal with mean 0 and the given standard deviation, the same for the same seed.
std::vector<float> random_floats(size_t n, uint32_t seed, float stddev = 1.0f);

// Reports bytes and floating-point operations per iteration as rates (printed as G/s, 1e9).
void set_rates(benchmark::State& state, double bytes, double flops);

// Registers fn under "name/isa"; fn runs with the kernels forced to that ISA level.
void register_at(cpu::Isa isa, const std::string& name, std::function<void(benchmark::State&)> fn);

void register_matmul_benchmarks(cpu::Isa isa);
void register_op_benchmarks(cpu::Isa isa);
void register_attention_benchmarks(cpu::Isa isa);

}  // namespace autoglm::bench

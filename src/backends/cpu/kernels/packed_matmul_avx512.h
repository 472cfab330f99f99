// The AVX-512 VNNI kernels over packed weights (packed_matmul.h). Plain-data arguments only: this
// file's implementation is compiled with AVX-512 flags and must not instantiate std templates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels/sum_order.h"
#include "core/dtype.h"

namespace autoglm::cpu::avx512 {

struct PackedArgs {
  DType wtype;
  const uint8_t* w;  // packed groups
  size_t group_bytes;
  int64_t n_out, k;
  const uint8_t* x;  // [n_tok, k] activations in matmul_activation_type(wtype)
  size_t xrb;        // activation row bytes
  float* y;          // [n_tok, n_out]
  int64_t ys;        // y row stride (floats)
  SumOrder order;
  // Lane order, chunks of several tokens: 64-byte aligned scratch for a group's unpacked weights
  // (k / 32 blocks of 512 bytes), or null to unpack each block per tile.
  void* unpacked;
};

// Output rows [16 * g0, 16 * g1) (clipped to n_out) for tokens [t0, t1).
void packed_matmul_range(const PackedArgs& a, int64_t g0, int64_t g1, int64_t t0, int64_t t1);

}  // namespace autoglm::cpu::avx512

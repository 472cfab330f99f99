// Quantized weights repacked once for the AVX-512 VNNI kernels: 16 output rows interleaved per
// block, so one vpdpbusd multiplies 4 elements of 16 rows by 4 broadcast activation bytes, each
// row in its own lane: weights are decoded once per block for all the tokens of a tile, and no
// sums cross lanes until a row's end. Results equal matmul()'s bit for bit (same integer group
// sums, same f32 operations), so they do not depend on the batch either; SumOrder::Blocks trades
// that equality for speed (sum_order.h), still batch-invariant.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels/sum_order.h"
#include "core/aligned.h"
#include "core/dtype.h"

namespace autoglm::cpu {

constexpr int64_t kPackRows = 16;  // rows interleaved per group

// Layout, per group of 16 rows (the last group padded with zero rows) and per block b of 32
// elements, in this order:
//   Q4_0/Q4_1: d[16] f16, (Q4_1: m[16] f16), then 4 x 64 bytes: byte 4*r + c of chunk i holds
//              row r's original qs[4i + c] (low nibble: element 4i + c, high: element 16 + 4i + c)
//   Q8_0:      d[16] f16, then 8 x 64 bytes: byte 4*r + c of chunk g is row r's element 4g + c,
//              stored + 128 (unsigned for vpdpbusd)
struct PackedWeight {
  DType dtype = DType::F32;
  int64_t n_out = 0, k = 0;
  size_t group_bytes = 0;  // one group of 16 rows over all blocks
  AlignedPtr data;
  SumOrder order = SumOrder::Lanes;  // how packed_matmul adds a row's products
};

// True when the active ISA runs the packed kernels and [n, k] weights of `wtype` have a packed
// layout (k a multiple of 32, at most kMaxPackedK).
constexpr int64_t kMaxPackedK = 2048 * 32;
bool packed_matmul_supports(DType wtype, int64_t k);
// True when the active ISA runs the packed kernels (AVX-512 VNNI).
bool packed_matmul_available();

// Bytes of one packed group for n_blocks blocks of 32.
size_t packed_group_bytes(DType wtype, int64_t n_blocks);

// Allocates the packed copy (data null when out of memory); pack_weight_groups fills groups
// [g0, g1) and may run in parallel over disjoint ranges.
PackedWeight alloc_packed_weight(DType wtype, int64_t n_out, int64_t k);
void pack_weight_groups(PackedWeight& p, const void* w, size_t w_row_bytes, int64_t g0, int64_t g1);

// y[t][n] = sum_i w[n][i] * x[t][i] from the packed weights, in p.order: with Lanes as matmul()
// computes it.
// xq: [n_tok, k] in matmul_activation_type(p.dtype); y: [n_tok, n_out], row stride y_stride.
void packed_matmul(const PackedWeight& p, const void* xq, int64_t n_tok, float* y, int64_t y_stride,
                   int ith, int nth);

}  // namespace autoglm::cpu

#include "backends/cpu/kernels/packed_matmul.h"

#include <algorithm>
#include <cstring>

#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/packed_matmul_avx512.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

// Bytes of one block (16 rows) in the packed layout: scales first, then the quants.
size_t packed_block_bytes(DType wtype) {
  switch (wtype) {
    case DType::Q4_0:
      return 2 * kPackRows + 4 * 64;
    case DType::Q4_1:
      return 4 * kPackRows + 4 * 64;
    case DType::Q8_0:
      return 2 * kPackRows + 8 * 64;
    default:
      return 0;
  }
}

// One block of 16 rows; rows at or past n_rows stay zero (d = 0: they add nothing).
void pack_block(DType wtype, const uint8_t* w, size_t w_row_bytes, int64_t n_rows, int64_t b,
                uint8_t* out) {
  auto* d = reinterpret_cast<uint16_t*>(out);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * w_row_bytes;
    switch (wtype) {
      case DType::Q4_0: {
        const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
        d[r] = blk.d;
        for (int i = 0; i < 4; ++i)
          std::memcpy(out + 2 * kPackRows + 64 * i + 4 * r, blk.qs + 4 * i, 4);
        break;
      }
      case DType::Q4_1: {
        const auto& blk = reinterpret_cast<const BlockQ4_1*>(row)[b];
        d[r] = blk.d;
        d[kPackRows + r] = blk.m;
        for (int i = 0; i < 4; ++i)
          std::memcpy(out + 4 * kPackRows + 64 * i + 4 * r, blk.qs + 4 * i, 4);
        break;
      }
      case DType::Q8_0: {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
        d[r] = blk.d;
        for (int g = 0; g < 8; ++g) {
          for (int c = 0; c < 4; ++c) {
            out[2 * kPackRows + 64 * g + 4 * r + c] =
                static_cast<uint8_t>(static_cast<int>(blk.qs[4 * g + c]) + 128);
          }
        }
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace

bool packed_matmul_available() {
#if defined(__x86_64__)
  const Isa isa = active_isa();
  return has_avx512(isa) && has_vnni(isa);
#else
  return false;
#endif
}

bool packed_matmul_supports(DType wtype, int64_t k) {
  return packed_matmul_available() && packed_block_bytes(wtype) != 0 && k > 0 && k % 32 == 0 &&
         k <= kMaxPackedK;
}

size_t packed_group_bytes(DType wtype, int64_t n_blocks) {
  return packed_block_bytes(wtype) * static_cast<size_t>(n_blocks);
}

PackedWeight alloc_packed_weight(DType wtype, int64_t n_out, int64_t k) {
  PackedWeight p;
  p.dtype = wtype;
  p.n_out = n_out;
  p.k = k;
  p.group_bytes = packed_group_bytes(wtype, k / 32);
  const int64_t groups = (n_out + kPackRows - 1) / kPackRows;
  p.data = aligned_alloc_bytes(p.group_bytes * static_cast<size_t>(groups));
  return p;
}

void pack_weight_groups(PackedWeight& p, const void* w, size_t w_row_bytes, int64_t g0,
                        int64_t g1) {
  const auto* src = static_cast<const uint8_t*>(w);
  auto* dst = static_cast<uint8_t*>(p.data.get());
  const size_t bb = packed_block_bytes(p.dtype);
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t r0 = g * kPackRows;
    const int64_t rows = std::min(kPackRows, p.n_out - r0);
    for (int64_t b = 0; b < p.k / 32; ++b) {
      pack_block(p.dtype, src + r0 * w_row_bytes, w_row_bytes, rows, b,
                 dst + g * p.group_bytes + b * bb);
    }
  }
}

void packed_matmul(const PackedWeight& p, const void* xq, int64_t n_tok, float* y, int64_t y_stride,
                   int ith, int nth) {
#if defined(__x86_64__)
  const int64_t groups = (p.n_out + kPackRows - 1) / kPackRows;
  // Groups per part; with fewer groups than parts (prefill of a narrow matrix), tokens split too.
  int64_t t_parts = 1;
  if (n_tok > 1 && groups < nth) t_parts = std::min<int64_t>((nth + groups - 1) / groups, n_tok);
  const int64_t g_parts = std::max<int64_t>(1, nth / t_parts);
  if (ith >= g_parts * t_parts) return;
  int64_t g0, g1, t0, t1;
  ThreadPool::split(groups, static_cast<int>(ith % g_parts), static_cast<int>(g_parts), &g0, &g1);
  ThreadPool::split(n_tok, static_cast<int>(ith / g_parts), static_cast<int>(t_parts), &t0, &t1);
  if (g0 >= g1 || t0 >= t1) return;
  avx512::PackedArgs a{};
  a.wtype = p.dtype;
  a.w = static_cast<const uint8_t*>(p.data.get());
  a.group_bytes = p.group_bytes;
  a.n_out = p.n_out;
  a.k = p.k;
  a.x = static_cast<const uint8_t*>(xq);
  a.xrb = dtype_row_bytes(matmul_activation_type(p.dtype), p.k);
  a.y = y;
  a.ys = y_stride;
  a.order = p.order;
  if (p.order == SumOrder::Lanes) {
    // For the lane-order kernels to unpack a group's weights into when they take several tokens
    // (packed_matmul_avx512.cc decides); per thread, grown to the largest k seen: 512 bytes per
    // block of 32.
    thread_local AlignedPtr scratch;
    thread_local size_t scratch_bytes = 0;
    const auto need = static_cast<size_t>(p.k / 32) * 512;
    if (need > scratch_bytes) {
      scratch = aligned_alloc_bytes(need);
      scratch_bytes = scratch ? need : 0;
    }
    a.unpacked = scratch.get();
  }
  avx512::packed_matmul_range(a, g0, g1, t0, t1);
#else
  (void)p, (void)xq, (void)n_tok, (void)y, (void)y_stride, (void)ith, (void)nth;
#endif
}

}  // namespace autoglm::cpu

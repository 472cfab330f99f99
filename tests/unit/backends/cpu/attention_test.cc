#include "backends/cpu/kernels/attention.h"
#include "backends/cpu/kernels/kv_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/softmax.h"
#include "core/half.h"
#include "core/quant.h"
#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

// A cache with spare bytes at the end of every row, as a paged or padded cache would have.
struct Cache {
  DType type;
  int64_t n_ctx, row_elems;
  size_t row_bytes;
  std::vector<uint8_t> bytes;

  Cache(DType t, int64_t ctx, int64_t elems)
      : type(t),
        n_ctx(ctx),
        row_elems(elems),
        row_bytes(dtype_row_bytes(t, elems) + 16),
        bytes(row_bytes * ctx, 0xab) {}

  float at(int64_t row, int64_t i) const {
    const uint8_t* p = bytes.data() + row * row_bytes;
    if (type == DType::Q8_0) {
      float block[kQK8_0];
      dequantize_row(type, p + (i / kQK8_0) * sizeof(BlockQ8_0), block, kQK8_0);
      return block[i % kQK8_0];
    }
    if (type == DType::F32) {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return fp16_to_fp32(h);
  }
};

class AttentionTest : public KernelTest {};

// A paged layout for tests: block i of a sequence lives in physical block table[i].
struct Paged {
  int64_t block_size;
  std::vector<int32_t> table;
  int32_t slot(int64_t pos) const {
    return static_cast<int32_t>(table[pos / block_size] * block_size + pos % block_size);
  }
};

TEST_P(AttentionTest, KvStoreWritesEachRowToItsSlot) {
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {
    Cache cache(t, 20, 3 * 64);
    const auto src = random_floats(5 * 192, 9);
    const std::vector<int32_t> slots = {7, 3, 12, 0, 19};
    run([&](int ith, int nth) {
      kv_store(src.data(), slots.data(), 5, 192, t, cache.bytes.data(), cache.row_bytes, nullptr,
               ith, nth);
    });
    for (int64_t r = 0; r < 20; ++r) {
      const uint8_t* row = cache.bytes.data() + r * cache.row_bytes;
      const auto it = std::find(slots.begin(), slots.end(), r);
      const bool stored = it != slots.end();
      const size_t first_untouched = stored ? dtype_row_bytes(t, 192) : 0;
      for (size_t b = first_untouched; b < cache.row_bytes; ++b) {
        ASSERT_EQ(row[b], 0xab) << "row " << r << " byte " << b;
      }
      if (!stored) continue;
      const int64_t i_src = it - slots.begin();
      if (t == DType::Q8_0) {
        // Every ISA writes the bytes of the scalar run-time quantizer.
        std::vector<uint8_t> want(dtype_row_bytes(t, 192));
        quantize_row_activation(t, &src[i_src * 192], want.data(), 192);
        ASSERT_EQ(std::memcmp(row, want.data(), want.size()), 0) << "row " << r;
        continue;
      }
      for (int64_t i = 0; i < 192; ++i) {
        const float v = src[i_src * 192 + i];
        ASSERT_EQ(cache.at(r, i), t == DType::F32 ? v : fp16_to_fp32(fp32_to_fp16(v)));
      }
    }
  }
}

// Two sequences in one call give exactly what each gives alone: batching never changes a
// row's arithmetic.
TEST_P(AttentionTest, SequencesInOneCallMatchSequencesAlone) {
  const int64_t n_head = 9, n_head_kv = 3, hd = 64, bs = 4, kv_elems = n_head_kv * hd;
  const Paged a{bs, {5, 1, 3}}, b{bs, {0, 4, 2, 6}};
  const int64_t len_a = 11, len_b = 14;  // positions already stored + the new ones
  Cache k(DType::F16, 7 * bs, kv_elems), v(DType::F16, 7 * bs, kv_elems);
  const auto kv_src = random_floats((len_a + len_b) * kv_elems, 3);
  std::vector<int32_t> slots;
  for (int64_t p = 0; p < len_a; ++p) slots.push_back(a.slot(p));
  for (int64_t p = 0; p < len_b; ++p) slots.push_back(b.slot(p));
  run([&](int ith, int nth) {
    kv_store(kv_src.data(), slots.data(), len_a + len_b, kv_elems, DType::F16, k.bytes.data(),
             k.row_bytes, nullptr, ith, nth);
    kv_store(kv_src.data(), slots.data(), len_a + len_b, kv_elems, DType::F16, v.bytes.data(),
             v.row_bytes, nullptr, ith, nth);
  });
  // Sequence a decodes its last position; b runs its last three as a prefill chunk.
  const std::vector<int32_t> positions = {10, 11, 12, 13}, tok_seq = {0, 1, 1, 1};
  std::vector<int32_t> tables(2 * 4, 0);
  std::copy(a.table.begin(), a.table.end(), tables.begin());
  std::copy(b.table.begin(), b.table.end(), tables.begin() + 4);
  const auto q = random_floats(4 * n_head * hd, 4);
  auto call = [&](int64_t first, int64_t n, const int32_t* seq, const int32_t* table) {
    AttentionParams p{};
    p.n_tok = n;
    p.n_head = n_head;
    p.n_head_kv = n_head_kv;
    p.head_dim = hd;
    p.scale = 0.125f;
    p.kv_type = DType::F16;
    p.k_row_bytes = k.row_bytes;
    p.v_row_bytes = v.row_bytes;
    p.positions = positions.data() + first;
    p.tok_seq = seq;
    p.block_tables = table;
    p.table_width = 4;
    p.block_size = bs;
    std::vector<float> out(static_cast<size_t>(n * n_head * hd));
    run([&](int ith, int nth) {
      attention(q.data() + first * n_head * hd, k.bytes.data(), v.bytes.data(), out.data(), p, ith,
                nth);
    });
    return out;
  };
  const std::vector<int32_t> zeros(4, 0);
  const auto both = call(0, 4, tok_seq.data(), tables.data());
  const auto alone_a = call(0, 1, zeros.data(), tables.data());
  const auto alone_b = call(1, 3, zeros.data(), tables.data() + 4);
  std::vector<float> alone(alone_a);
  alone.insert(alone.end(), alone_b.begin(), alone_b.end());
  ASSERT_EQ(both.size(), alone.size());
  for (size_t i = 0; i < both.size(); ++i) ASSERT_EQ(both[i], alone[i]) << i;
}

TEST_P(AttentionTest, CausalGqaMatchesDoubleReference) {
  struct Heads {
    int64_t n_head, n_head_kv, head_dim;
  };
  uint32_t seed = 1;
  for (DType kv_type : {DType::F16, DType::F32, DType::Q8_0}) {
    for (Heads hd : {Heads{9, 3, 64}, Heads{4, 1, 64}, Heads{2, 2, 40}, Heads{3, 1, 36}}) {
      if (kv_type == DType::Q8_0 && hd.head_dim % kQK8_0 != 0) continue;  // whole blocks only
      for (int64_t n_tok : {1, 3, 7}) {
        for (int64_t n_past : {0, 5, 37}) {
          for (float q_scale : {1.0f, 12.0f}) {  // 12: peaked softmax, tests max subtraction
            SCOPED_TRACE(::testing::Message()
                         << dtype_name(kv_type) << " heads=" << hd.n_head << "/" << hd.n_head_kv
                         << " dim=" << hd.head_dim << " n_tok=" << n_tok << " n_past=" << n_past
                         << " q_scale=" << q_scale);
            const int64_t n_kv = n_past + n_tok;
            const int64_t kv_elems = hd.n_head_kv * hd.head_dim;
            // Blocks of 8 rows in reverse physical order, plus one spare block first.
            const int64_t bs = 8, n_blocks = (n_kv + bs - 1) / bs;
            Paged pg{bs, {}};
            for (int64_t i = 0; i < n_blocks; ++i)
              pg.table.push_back(static_cast<int32_t>(n_blocks - i));
            Cache k(kv_type, (n_blocks + 1) * bs, kv_elems),
                v(kv_type, (n_blocks + 1) * bs, kv_elems);
            const auto k_src = random_floats(n_kv * kv_elems, seed++);
            const auto v_src = random_floats(n_kv * kv_elems, seed++);
            const auto q = random_floats(n_tok * hd.n_head * hd.head_dim, seed++, q_scale);
            std::vector<int32_t> slots, positions, tok_seq(static_cast<size_t>(n_tok), 0);
            for (int64_t j = 0; j < n_kv; ++j) slots.push_back(pg.slot(j));
            for (int64_t t = 0; t < n_tok; ++t)
              positions.push_back(static_cast<int32_t>(n_past + t));
            // Rows no position maps to hold garbage that must never be read.
            std::fill(k.bytes.begin(), k.bytes.end(), 0x7f);
            run([&](int ith, int nth) {
              kv_store(k_src.data(), slots.data(), n_kv, kv_elems, kv_type, k.bytes.data(),
                       k.row_bytes, nullptr, ith, nth);
              kv_store(v_src.data(), slots.data(), n_kv, kv_elems, kv_type, v.bytes.data(),
                       v.row_bytes, nullptr, ith, nth);
            });

            AttentionParams p{};
            p.n_tok = n_tok;
            p.n_head = hd.n_head;
            p.n_head_kv = hd.n_head_kv;
            p.head_dim = hd.head_dim;
            p.scale = 1.0f / std::sqrt(static_cast<float>(hd.head_dim));
            p.kv_type = kv_type;
            p.k_row_bytes = k.row_bytes;
            p.v_row_bytes = v.row_bytes;
            p.positions = positions.data();
            p.tok_seq = tok_seq.data();
            p.block_tables = pg.table.data();
            p.table_width = n_blocks;
            p.block_size = bs;
            std::vector<float> out(q.size(), -7.0f);
            run([&](int ith, int nth) {
              attention(q.data(), k.bytes.data(), v.bytes.data(), out.data(), p, ith, nth);
            });

            // An F16 cache meets F16 operands: q and the probabilities are rounded to F16.
            const bool f16 = kv_type == DType::F16;
            auto as_kv = [&](double x) {
              return f16 ? static_cast<double>(fp16_to_fp32(fp32_to_fp16(static_cast<float>(x))))
                         : x;
            };
            const int64_t group = hd.n_head / hd.n_head_kv;
            for (int64_t t = 0; t < n_tok; ++t) {
              for (int64_t h = 0; h < hd.n_head; ++h) {
                const float* qh = &q[(t * hd.n_head + h) * hd.head_dim];
                const int64_t off = (h / group) * hd.head_dim;
                const int64_t visible = n_past + t + 1;
                std::vector<double> s(visible);
                double max = -1e300;
                for (int64_t j = 0; j < visible; ++j) {
                  double dot = 0;
                  for (int64_t d = 0; d < hd.head_dim; ++d)
                    dot += as_kv(qh[d]) * static_cast<double>(k.at(pg.slot(j), off + d));
                  s[j] = dot * p.scale;
                  max = std::max(max, s[j]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - max));
                for (int64_t d = 0; d < hd.head_dim; ++d) {
                  double want = 0, v_abs = 0;
                  for (int64_t j = 0; j < visible; ++j) {
                    want += as_kv(s[j] / sum) * v.at(pg.slot(j), off + d);
                    v_abs =
                        std::max(v_abs, std::abs(static_cast<double>(v.at(pg.slot(j), off + d))));
                  }
                  // With an F16 cache a probability may round to the neighbouring F16 value when
                  // the platform's expf differs in its last bit: allow one F16 step (2^-11
                  // relative, p <= 1) of the largest |v| on top of the f32 rounding.
                  const double tol = 3e-5 * q_scale + (f16 ? v_abs / 2048.0 : 0.0);
                  ASSERT_NEAR(out[(t * hd.n_head + h) * hd.head_dim + d], want, tol)
                      << "t=" << t << " h=" << h << " d=" << d;
                }
              }
            }
          }
        }
      }
    }
  }
}

// A Q8_0 cache gives bit for bit what an F32 cache holding its dequantized rows gives: the
// kernels dequantize exactly (8-bit value times F16 scale) and share the F32 path's arithmetic.
TEST_P(AttentionTest, Q8_0MatchesF32OverDequantizedRowsExactly) {
  const int64_t n_head = 9, n_head_kv = 3, hd = 64, bs = 8, kv_elems = n_head_kv * hd;
  const int64_t n_past = 29, n_tok = 5, n_kv = n_past + n_tok, n_blocks = (n_kv + bs - 1) / bs;
  Paged pg{bs, {}};
  for (int64_t i = 0; i < n_blocks; ++i) pg.table.push_back(static_cast<int32_t>(n_blocks - i));
  std::vector<int32_t> slots, positions, tok_seq(static_cast<size_t>(n_tok), 0);
  for (int64_t j = 0; j < n_kv; ++j) slots.push_back(pg.slot(j));
  for (int64_t t = 0; t < n_tok; ++t) positions.push_back(static_cast<int32_t>(n_past + t));
  const int64_t n_slots = (n_blocks + 1) * bs;
  Cache k8(DType::Q8_0, n_slots, kv_elems), v8(DType::Q8_0, n_slots, kv_elems);
  Cache k32(DType::F32, n_slots, kv_elems), v32(DType::F32, n_slots, kv_elems);
  const auto k_src = random_floats(n_kv * kv_elems, 21, 3.0f);
  const auto v_src = random_floats(n_kv * kv_elems, 22);
  run([&](int ith, int nth) {
    kv_store(k_src.data(), slots.data(), n_kv, kv_elems, DType::Q8_0, k8.bytes.data(), k8.row_bytes,
             nullptr, ith, nth);
    kv_store(v_src.data(), slots.data(), n_kv, kv_elems, DType::Q8_0, v8.bytes.data(), v8.row_bytes,
             nullptr, ith, nth);
  });
  for (int32_t s : slots) {
    dequantize_row(DType::Q8_0, k8.bytes.data() + s * k8.row_bytes,
                   reinterpret_cast<float*>(k32.bytes.data() + s * k32.row_bytes), kv_elems);
    dequantize_row(DType::Q8_0, v8.bytes.data() + s * v8.row_bytes,
                   reinterpret_cast<float*>(v32.bytes.data() + s * v32.row_bytes), kv_elems);
  }
  const auto q = random_floats(n_tok * n_head * hd, 23, 2.0f);
  auto call = [&](const Cache& k, const Cache& v) {
    AttentionParams p{};
    p.n_tok = n_tok;
    p.n_head = n_head;
    p.n_head_kv = n_head_kv;
    p.head_dim = hd;
    p.scale = 0.125f;
    p.kv_type = k.type;
    p.k_row_bytes = k.row_bytes;
    p.v_row_bytes = v.row_bytes;
    p.positions = positions.data();
    p.tok_seq = tok_seq.data();
    p.block_tables = pg.table.data();
    p.table_width = n_blocks;
    p.block_size = bs;
    std::vector<float> out(q.size(), -7.0f);
    run([&](int ith, int nth) {
      attention(q.data(), k.bytes.data(), v.bytes.data(), out.data(), p, ith, nth);
    });
    return out;
  };
  const auto got = call(k8, v8), want = call(k32, v32);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
}

float round_f16(float x) {
  return fp16_to_fp32(fp32_to_fp16(x));
}

// Sum of 16 lanes in the tree order of a 512-bit horizontal add: halves, quarters, pairs.
float tree16(const float* lane) {
  float s4[4];
  for (int i = 0; i < 4; ++i) s4[i] = (lane[i] + lane[i + 8]) + (lane[i + 4] + lane[i + 12]);
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

// llama.cpp's AVX-512 expf (ggml_v_expf), one lane at a time.
float ggml_expf(float x) {
  const float r = 0x1.8p23f;
  const float n = std::fma(x, 0x1.715476p+0f, r) - r;
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : std::numeric_limits<float>::infinity();
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  return std::ldexp(j, static_cast<int>(n));
}

// llama.cpp's softmax of one score row (ggml_compute_forward_soft_max_f32 on AVX-512): 16-lane
// chunks of exponentials summed by tree16 into a double, then scaled by float(1 / sum).
void ggml_softmax(std::vector<float>& s, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  for (float& x : s) max = std::max(max, x *= scale);
  double sum = 0.0;
  for (size_t i = 0; i < s.size(); i += 16) {
    float lane[16] = {};
    for (size_t l = 0; l < 16 && i + l < s.size(); ++l)
      lane[l] = s[i + l] = ggml_expf(s[i + l] - max);
    sum += static_cast<double>(tree16(lane));
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (float& x : s) x *= inv;
}

// A dot product of n terms a(i) * b(i) in llama.cpp's order. Batched (its tinyBLAS F16 GEMM):
// lane i % 16 sums terms i, i+16, ... with fused multiply-adds, then tree16. Single token
// (ggml_vec_dot_f16): four such accumulators take terms 64 m + 16 c + l, added (0 + 2) + (1 + 3)
// before tree16; terms past the last full 64 follow in double, unless `padded` (positions,
// which llama.cpp pads with zeros to a multiple of 256).
template <typename A, typename B>
float ggml_dot(int64_t n, bool single, bool padded, A a, B b) {
  if (!single) {
    float lane[16] = {};
    for (int64_t i = 0; i < n; ++i) lane[i % 16] = std::fma(a(i), b(i), lane[i % 16]);
    return tree16(lane);
  }
  const int64_t np = padded ? n : n / 64 * 64;
  float acc[4][16] = {};
  for (int64_t i = 0; i < np; ++i)
    acc[i / 16 % 4][i % 16] = std::fma(a(i), b(i), acc[i / 16 % 4][i % 16]);
  float lane[16];
  for (int l = 0; l < 16; ++l) lane[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  double sum = tree16(lane);
  for (int64_t i = np; i < n; ++i) sum += static_cast<double>(a(i) * b(i));
  return static_cast<float>(sum);
}

// The F16 cache's arithmetic, one operation at a time, as llama.cpp's x86 F16 attention does
// it: q and the probabilities rounded to F16, q·k and p·V by ggml_dot (single for a sequence's
// only token in the call), softmax by ggml_softmax. out: [n_tok, n_head, head_dim].
std::vector<float> lanes16_reference(const float* q, const Cache& k, const Cache& v,
                                     const AttentionParams& p) {
  const int64_t hd = p.head_dim, group = p.n_head / p.n_head_kv;
  std::vector<float> out(static_cast<size_t>(p.n_tok * p.n_head * hd));
  for (int64_t t = 0; t < p.n_tok; ++t) {
    const int64_t n_kv = p.positions[t] + 1;
    const bool single = std::count(p.tok_seq, p.tok_seq + p.n_tok, p.tok_seq[t]) == 1;
    const int32_t* table = p.block_tables + p.tok_seq[t] * p.table_width;
    std::vector<int64_t> rows;  // [n_kv]: cache row of each visible position
    for (int64_t pos = 0; pos < n_kv; ++pos)
      rows.push_back(table[pos / p.block_size] * p.block_size + pos % p.block_size);
    for (int64_t h = 0; h < p.n_head; ++h) {
      const float* qh = q + (t * p.n_head + h) * hd;  // [head_dim]
      const int64_t off = (h / group) * hd;
      std::vector<float> s(static_cast<size_t>(n_kv));  // [n_kv]
      for (int64_t r = 0; r < n_kv; ++r) {
        s[r] = ggml_dot(
            hd, single, false, [&](int64_t d) { return round_f16(qh[d]); },
            [&](int64_t d) { return k.at(rows[r], off + d); });
      }
      ggml_softmax(s, p.scale);
      for (float& x : s) x = round_f16(x);
      for (int64_t d = 0; d < hd; ++d) {
        out[(t * p.n_head + h) * hd + d] = ggml_dot(
            n_kv, single, true, [&](int64_t r) { return s[r]; },
            [&](int64_t r) { return v.at(rows[r], off + d); });
      }
    }
  }
  return out;
}

// With an F16 cache and head_dim % 16 == 0 the x86 kernels give exactly lanes16_reference:
// however they group heads, positions and tokens, every output element sees the same f32
// operations in the same order. Sequences: a decodes, b runs a prefill chunk, c prefills from
// empty; their blocks are interleaved in the cache.
TEST_P(AttentionTest, F16Lanes16MatchesReferenceOrderBitForBit) {
#if defined(__x86_64__)
  if (!has_avx2(active_isa())) GTEST_SKIP() << "the 16-lane order is the AVX2 kernels'";
#else
  GTEST_SKIP() << "the 16-lane order is the x86 kernels'";
#endif
  struct Heads {
    int64_t n_head, n_head_kv, head_dim;
  };
  uint32_t seed = 100;
  for (Heads hd : {Heads{9, 3, 64}, Heads{4, 1, 64}, Heads{2, 2, 32}, Heads{10, 2, 48},
                   Heads{7, 1, 16}, Heads{16, 2, 128}, Heads{8, 8, 80}}) {
    for (int64_t len_a : {1, 16, 37, 150}) {
      SCOPED_TRACE(::testing::Message() << "heads=" << hd.n_head << "/" << hd.n_head_kv
                                        << " dim=" << hd.head_dim << " len_a=" << len_a);
      const int64_t bs = 8, width = 32, kv_elems = hd.n_head_kv * hd.head_dim;
      // Physical blocks: a uses 0, 3, 6, ...; b 1, 4, ...; c 2, 5, ...
      std::vector<int32_t> tables(3 * width);
      for (int32_t s = 0; s < 3; ++s)
        for (int32_t i = 0; i < width; ++i) tables[s * width + i] = 3 * (width - 1 - i) + s;
      const int64_t len[3] = {len_a, len_a + 21, 19};  // positions stored per sequence
      std::vector<int32_t> slots;
      for (int32_t s = 0; s < 3; ++s)
        for (int64_t pos = 0; pos < len[s]; ++pos)
          slots.push_back(tables[s * width + pos / bs] * bs + static_cast<int32_t>(pos % bs));
      Cache k(DType::F16, 3 * width * bs, kv_elems), v(DType::F16, 3 * width * bs, kv_elems);
      const auto k_src = random_floats(slots.size() * kv_elems, seed++);
      const auto v_src = random_floats(slots.size() * kv_elems, seed++);
      run([&](int ith, int nth) {
        kv_store(k_src.data(), slots.data(), static_cast<int64_t>(slots.size()), kv_elems,
                 DType::F16, k.bytes.data(), k.row_bytes, nullptr, ith, nth);
        kv_store(v_src.data(), slots.data(), static_cast<int64_t>(slots.size()), kv_elems,
                 DType::F16, v.bytes.data(), v.row_bytes, nullptr, ith, nth);
      });
      // a: its last position (a single token); b: its last 5; c: all 19.
      std::vector<int32_t> positions, tok_seq;
      for (int32_t s = 0; s < 3; ++s) {
        const int64_t first = s == 0 ? len[s] - 1 : s == 1 ? len[s] - 5 : 0;
        for (int64_t pos = first; pos < len[s]; ++pos) {
          positions.push_back(static_cast<int32_t>(pos));
          tok_seq.push_back(s);
        }
      }
      const auto n_tok = static_cast<int64_t>(positions.size());
      const auto q = random_floats(n_tok * hd.n_head * hd.head_dim, seed++, 4.0f);
      AttentionParams p{};
      p.n_tok = n_tok;
      p.n_head = hd.n_head;
      p.n_head_kv = hd.n_head_kv;
      p.head_dim = hd.head_dim;
      p.scale = 1.0f / std::sqrt(static_cast<float>(hd.head_dim));
      p.kv_type = DType::F16;
      p.k_row_bytes = k.row_bytes;
      p.v_row_bytes = v.row_bytes;
      p.positions = positions.data();
      p.tok_seq = tok_seq.data();
      p.block_tables = tables.data();
      p.table_width = width;
      p.block_size = bs;
      std::vector<float> out(q.size(), -7.0f);
      run([&](int ith, int nth) {
        attention(q.data(), k.bytes.data(), v.bytes.data(), out.data(), p, ith, nth);
      });
      const auto want = lanes16_reference(q.data(), k, v, p);
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(want[i]))
            << "element " << i << ": " << out[i] << " vs " << want[i];
      }
    }
  }
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(AttentionTest);

}  // namespace
}  // namespace autoglm::cpu

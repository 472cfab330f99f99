#include "backends/cpu/kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
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

TEST_P(AttentionTest, KvStoreConvertsRowsInPlace) {
  for (DType t : {DType::F32, DType::F16}) {
    Cache cache(t, 20, 3 * 64);
    const auto src = random_floats(5 * 192, 9);
    run([&](int ith, int nth) {
      kv_store(src.data(), 5, 192, t, cache.bytes.data(), cache.row_bytes, 7, ith, nth);
    });
    for (int64_t r = 0; r < 20; ++r) {
      const uint8_t* row = cache.bytes.data() + r * cache.row_bytes;
      const bool stored = r >= 7 && r < 12;
      const size_t first_untouched = stored ? dtype_row_bytes(t, 192) : 0;
      for (size_t b = first_untouched; b < cache.row_bytes; ++b) {
        ASSERT_EQ(row[b], 0xab) << "row " << r << " byte " << b;
      }
      if (!stored) continue;
      for (int64_t i = 0; i < 192; ++i) {
        const float v = src[(r - 7) * 192 + i];
        ASSERT_EQ(cache.at(r, i), t == DType::F32 ? v : fp16_to_fp32(fp32_to_fp16(v)));
      }
    }
  }
}

TEST_P(AttentionTest, CausalGqaMatchesDoubleReference) {
  struct Heads {
    int64_t n_head, n_head_kv, head_dim;
  };
  uint32_t seed = 1;
  for (DType kv_type : {DType::F16, DType::F32}) {
    for (Heads hd : {Heads{9, 3, 64}, Heads{4, 1, 64}, Heads{2, 2, 40}, Heads{3, 1, 36}}) {
      for (int64_t n_tok : {1, 3, 7}) {
        for (int64_t n_past : {0, 5, 37}) {
          for (float q_scale : {1.0f, 12.0f}) {  // 12: peaked softmax, tests max subtraction
            SCOPED_TRACE(::testing::Message()
                         << dtype_name(kv_type) << " heads=" << hd.n_head << "/" << hd.n_head_kv
                         << " dim=" << hd.head_dim << " n_tok=" << n_tok << " n_past=" << n_past
                         << " q_scale=" << q_scale);
            const int64_t n_kv = n_past + n_tok;
            const int64_t kv_elems = hd.n_head_kv * hd.head_dim;
            Cache k(kv_type, n_kv + 4, kv_elems), v(kv_type, n_kv + 4, kv_elems);
            const auto k_src = random_floats(n_kv * kv_elems, seed++);
            const auto v_src = random_floats(n_kv * kv_elems, seed++);
            const auto q = random_floats(n_tok * hd.n_head * hd.head_dim, seed++, q_scale);
            run([&](int ith, int nth) {
              kv_store(k_src.data(), n_kv, kv_elems, kv_type, k.bytes.data(), k.row_bytes, 0, ith,
                       nth);
              kv_store(v_src.data(), n_kv, kv_elems, kv_type, v.bytes.data(), v.row_bytes, 0, ith,
                       nth);
            });
            // A row past the visible range holding garbage must never be read.
            std::fill(k.bytes.begin() + n_kv * k.row_bytes, k.bytes.end(), 0x7f);

            const AttentionParams p{
                n_tok,       hd.n_head,   hd.n_head_kv,
                hd.head_dim, n_past,      1.0f / std::sqrt(static_cast<float>(hd.head_dim)),
                kv_type,     k.row_bytes, v.row_bytes};
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
                    dot += as_kv(qh[d]) * static_cast<double>(k.at(j, off + d));
                  s[j] = dot * p.scale;
                  max = std::max(max, s[j]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - max));
                for (int64_t d = 0; d < hd.head_dim; ++d) {
                  double want = 0;
                  for (int64_t j = 0; j < visible; ++j)
                    want += as_kv(s[j] / sum) * v.at(j, off + d);
                  ASSERT_NEAR(out[(t * hd.n_head + h) * hd.head_dim + d], want, 3e-5 * q_scale)
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

AUTOGLM_INSTANTIATE_KERNEL_TEST(AttentionTest);

}  // namespace
}  // namespace autoglm::cpu

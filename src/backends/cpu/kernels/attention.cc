// attention(): the jobs of each thread, the cache rows they see and the scratch they share; the
// head kernels are in attention_heads.h.
#include "backends/cpu/kernels/attention.h"

#include <algorithm>
#include <vector>

#include "backends/cpu/kernels/attention_heads.h"
#include "backends/cpu/kernels/rope.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

using attn::HeadFns;
using attn::HeadJob;
using attn::kMaxHeadsPerJob;

// The visible Q8_0 rows of one sequence, each kv head's slice dequantized once into f32: every
// query head of the GQA group and every later token of the sequence reuses it. A Q8_0 element
// is d * qs, an 8-bit integer times an F16 scale (at most 19 significant bits), so the f32 copy
// is exact and the result is exactly an F32 cache holding the dequantized rows.
class DequantizedRows {
 public:
  void reset(int64_t n_head_kv, int64_t head_dim) {
    hd_ = head_dim;
    k_.resize(static_cast<size_t>(n_head_kv));
    v_.resize(static_cast<size_t>(n_head_kv));
    done_.assign(static_cast<size_t>(n_head_kv), 0);
  }
  // Rows [0, n_kv) of kv head h; cache rows `rows`, the head's slice at head_off of each.
  void extend(int64_t h, int64_t n_kv, const int32_t* rows, const uint8_t* k, const uint8_t* v,
              const AttentionParams& p, size_t head_off) {
    const auto hs = static_cast<size_t>(h);
    std::vector<float>& kd = k_[hs];  // [n_kv, head_dim]
    std::vector<float>& vd = v_[hs];  // [n_kv, head_dim]
    if (kd.size() < static_cast<size_t>(n_kv * hd_)) {
      kd.resize(static_cast<size_t>(n_kv * hd_));
      vd.resize(static_cast<size_t>(n_kv * hd_));
    }
    for (int64_t r = done_[hs]; r < n_kv; ++r) {
      dequantize_row(DType::Q8_0, k + rows[r] * p.k_row_bytes + head_off, &kd[r * hd_], hd_);
      dequantize_row(DType::Q8_0, v + rows[r] * p.v_row_bytes + head_off, &vd[r * hd_], hd_);
    }
    done_[hs] = std::max(done_[hs], n_kv);
  }
  const uint8_t* k(int64_t h) const { return bytes(k_[static_cast<size_t>(h)]); }
  const uint8_t* v(int64_t h) const { return bytes(v_[static_cast<size_t>(h)]); }

 private:
  static const uint8_t* bytes(const std::vector<float>& x) {
    return reinterpret_cast<const uint8_t*>(x.data());
  }

  int64_t hd_ = 0;
  std::vector<std::vector<float>> k_, v_;  // per kv head
  std::vector<int64_t> done_;              // rows dequantized per kv head
};

// Pairs are (token j / n_head, head j % n_head); token t costs positions[t] + 1 rows per head.
// Returns the pair range [*j0, *j1) of thread ith, balanced by work.
void thread_pairs(const AttentionParams& p, int ith, int nth, int64_t* j0, int64_t* j1) {
  int64_t total = 0;
  for (int64_t t = 0; t < p.n_tok; ++t) total += p.positions[t] + 1;
  const int64_t lo = total * ith / nth, hi = total * (ith + 1) / nth;
  // The pair holding work unit u starts the range of the thread whose share begins at u.
  auto pair_at = [&](int64_t u) {
    int64_t before = 0;
    for (int64_t t = 0; t < p.n_tok; ++t) {
      const int64_t per_head = p.positions[t] + 1;
      if (u < before + per_head * p.n_head)
        return t * p.n_head + (u - before + per_head - 1) / per_head;
      before += per_head * p.n_head;
    }
    return p.n_tok * p.n_head;
  };
  *j0 = pair_at(lo * p.n_head);
  *j1 = pair_at(hi * p.n_head);
}

// Asks for a decode job's K and V rows (its kv head's slice of each) before its kernel reads
// them. A step of many sequences reads their caches from memory, and the kernel's own loads keep
// only a few rows in flight; these requests all are, so the rows arrive at the memory's
// bandwidth (a 16-stream decode step's attention: 3.2 ms without this, 2.2 ms with it). Inline
// assembly because GCC 12 deletes this loop of __builtin_prefetch calls as having no effect.
void prefetch_job_rows(const HeadJob& j, size_t head_bytes) {
#if defined(__x86_64__)
  for (int64_t r = 0; r < j.n_kv; ++r) {
    const uint8_t* k = j.k + j.rows[r] * j.k_row_bytes;
    const uint8_t* v = j.v + j.rows[r] * j.v_row_bytes;
    for (size_t o = 0; o < head_bytes; o += 64) {
      asm volatile("prefetcht0 %0" : : "m"(k[o]));
      asm volatile("prefetcht0 %0" : : "m"(v[o]));
    }
  }
#else
  (void)j, (void)head_bytes;
#endif
}

}  // namespace

void attention(const float* q, const void* k_cache, const void* v_cache, float* out,
               const AttentionParams& p, int ith, int nth) {
  int64_t j0, j1;
  thread_pairs(p, ith, nth, &j0, &j1);
  if (j0 >= j1) return;

  const size_t head_bytes = dtype_row_bytes(p.kv_type, p.head_dim);  // one kv head of a row
  const int64_t group = p.n_head / p.n_head_kv;
  const HeadFns head_fns = attn::pick_head_fns(p.kv_type, p.head_dim);
  const bool dequantized = head_fns.dequantized;  // Q8_0 rows read through an f32 copy

  // Scratch that only grows: scores [kMaxHeadsPerJob, n_kv] and the cache row of each position of
  // one sequence, extended as later tokens of the same sequence see further; for Q8_0 read
  // through a copy (no AVX-512) those rows dequantized, and the row index of each (0, 1, ...)
  // in that dense copy.
  thread_local std::vector<float> scores;
  thread_local std::vector<int32_t> rows, dense_rows, seq_tokens;
  thread_local std::vector<float> q_rotated;  // [n_q, head_dim] of the job, for p.q_rope
  thread_local DequantizedRows deq;
  int32_t rows_seq = -1;
  // Tokens of each sequence in this call.
  seq_tokens.clear();
  int64_t n_seqs = 0;
  for (int64_t t = 0; t < p.n_tok; ++t) {
    const auto sq = static_cast<size_t>(p.tok_seq[t]);
    if (seq_tokens.size() <= sq) seq_tokens.resize(sq + 1, 0);
    if (seq_tokens[sq]++ == 0) ++n_seqs;
  }
  // Prefetching pays when many sequences' caches stream from memory; one sequence's rows are
  // mostly still cached from the last step, and the requests then only cost time (10 % of
  // attention/decode_ctx512).
  const bool prefetch = !dequantized && n_seqs > 1;

  HeadJob job{};
  job.k_row_bytes = p.k_row_bytes;
  job.v_row_bytes = p.v_row_bytes;
  job.head_dim = p.head_dim;
  job.scale = p.scale;
  for (int64_t j = j0; j < j1;) {
    const int64_t t = j / p.n_head;
    const int64_t n_kv = p.positions[t] + 1;
    if (p.tok_seq[t] != rows_seq) {
      rows_seq = p.tok_seq[t];
      rows.clear();
      if (dequantized) deq.reset(p.n_head_kv, p.head_dim);
    }
    // Block by block: one multiply per block instead of a 64-bit division per position.
    const int32_t* table = p.block_tables + rows_seq * p.table_width;
    const auto have = static_cast<int64_t>(rows.size());
    if (have < n_kv) {
      rows.resize(static_cast<size_t>(n_kv));
      int32_t* row = rows.data();
      for (int64_t b = have / p.block_size; b * p.block_size < n_kv; ++b) {
        const auto first = static_cast<int32_t>(table[b] * p.block_size);
        for (int64_t pos = std::max(have, b * p.block_size);
             pos < std::min(n_kv, (b + 1) * p.block_size); ++pos) {
          row[pos] = first + static_cast<int32_t>(pos - b * p.block_size);
        }
      }
    }
    const size_t n_scores = static_cast<size_t>(kMaxHeadsPerJob * n_kv);
    if (scores.size() < n_scores) scores.resize(n_scores);
    const int64_t kvh = (j % p.n_head) / group;
    // This head and the next ones of its group, within the thread's range.
    const auto n_q = static_cast<int>(
        std::min<int64_t>({kMaxHeadsPerJob, (kvh + 1) * group - j % p.n_head, j1 - j}));
    const size_t head_off = static_cast<size_t>(kvh) * head_bytes;
    job.q = q + j * p.head_dim;
    if (p.q_rope) {
      if (q_rotated.size() < static_cast<size_t>(n_q * p.head_dim))
        q_rotated.resize(static_cast<size_t>(n_q * p.head_dim));
      rope(job.q, q_rotated.data(), 1, n_q, p.head_dim, p.positions + t, *p.q_rope, 0, 1);
      job.q = q_rotated.data();
    }
    job.out = out + j * p.head_dim;
    if (dequantized) {
      deq.extend(kvh, n_kv, rows.data(), static_cast<const uint8_t*>(k_cache),
                 static_cast<const uint8_t*>(v_cache), p, head_off);
      for (auto r = static_cast<int32_t>(dense_rows.size()); r < n_kv; ++r) dense_rows.push_back(r);
      job.k = deq.k(kvh);
      job.v = deq.v(kvh);
      job.rows = dense_rows.data();
      job.k_row_bytes = job.v_row_bytes = static_cast<size_t>(p.head_dim) * sizeof(float);
    } else {
      job.k = static_cast<const uint8_t*>(k_cache) + head_off;
      job.v = static_cast<const uint8_t*>(v_cache) + head_off;
      job.rows = rows.data();
    }
    job.scores = scores.data();
    job.single = seq_tokens[static_cast<size_t>(p.tok_seq[t])] == 1;
    job.n_kv = n_kv;
    job.n_q = n_q;
    // A decode token's rows come from memory once; a prefill chunk's tokens share theirs.
    if (job.single && prefetch) prefetch_job_rows(job, head_bytes);
    head_fns.fns[n_q - 1](job);
    j += n_q;
  }
}

}  // namespace autoglm::cpu

// Causal attention over an F16 KV cache at SmolLM2-135M shapes (9 query heads, 3 KV heads, head
// dim 64): one decode token over 128 or 512 cached positions, and a 512-token prefill from empty.
// The cache is paged in 16-position blocks (the runtime's block size), mapped in order.
#include <cmath>
#include <numeric>

#include "backends/cpu/kernels/attention.h"
#include "bench_util.h"
#include "core/quant.h"

namespace autoglm::bench {
namespace {

constexpr int64_t kHeads = 9, kHeadsKv = 3, kHeadDim = 64, kCtx = 512, kBlock = 16;

void run_attention(benchmark::State& state, int64_t n_tok, int64_t n_past) {
  const int64_t row = kHeadsKv * kHeadDim;
  const size_t row_bytes = dtype_row_bytes(DType::F16, row);
  // k, v: [kCtx, 3, 64] f16
  std::vector<uint8_t> k(row_bytes * kCtx), v(row_bytes * kCtx);
  const std::vector<float> kf = random_floats(static_cast<size_t>(kCtx * row), 13);
  const std::vector<float> vf = random_floats(static_cast<size_t>(kCtx * row), 17);
  quantize_row(DType::F16, kf.data(), k.data(), kCtx * row);
  quantize_row(DType::F16, vf.data(), v.data(), kCtx * row);
  // q, out: [n_tok, 9, 64]
  const std::vector<float> q = random_floats(static_cast<size_t>(n_tok * kHeads * kHeadDim), 19);
  std::vector<float> out(q.size());
  std::vector<int32_t> positions(static_cast<size_t>(n_tok));  // [n_tok]
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(n_past));
  const std::vector<int32_t> tok_seq(static_cast<size_t>(n_tok), 0);  // [n_tok]: one sequence
  std::vector<int32_t> table(static_cast<size_t>(kCtx / kBlock));     // [1, kCtx / kBlock]
  std::iota(table.begin(), table.end(), 0);
  cpu::AttentionParams p{};
  p.n_tok = n_tok;
  p.n_head = kHeads;
  p.n_head_kv = kHeadsKv;
  p.head_dim = kHeadDim;
  p.scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  p.kv_type = DType::F16;
  p.k_row_bytes = p.v_row_bytes = row_bytes;
  p.positions = positions.data();
  p.tok_seq = tok_seq.data();
  p.block_tables = table.data();
  p.table_width = static_cast<int64_t>(table.size());
  p.block_size = kBlock;
  for (auto _ : state) {
    cpu::attention(q.data(), k.data(), v.data(), out.data(), p, 0, 1);
    benchmark::ClobberMemory();
  }
  // Query token t sees n_past + t + 1 positions: a q·k and a p·v product (2 FLOP each) per dim.
  double pairs = 0;
  for (int64_t t = 0; t < n_tok; ++t) pairs += static_cast<double>(n_past + t + 1);
  const double kv_bytes =
      2.0 * static_cast<double>(row_bytes) * static_cast<double>(n_past + n_tok);
  set_rates(state, kv_bytes, 4.0 * kHeads * kHeadDim * pairs);
}

}  // namespace

void register_attention_benchmarks(cpu::Isa isa) {
  register_at(isa, "attention/decode_ctx128",
              [](benchmark::State& st) { run_attention(st, 1, 127); });
  register_at(isa, "attention/decode_ctx512",
              [](benchmark::State& st) { run_attention(st, 1, kCtx - 1); });
  register_at(isa, "attention/prefill512",
              [](benchmark::State& st) { run_attention(st, kCtx, 0); });
}

}  // namespace autoglm::bench

// Matmul at SmolLM2-135M shapes: GEMV (one token, decode), GEMM of 16 tokens (a batched decode
// step of 16 streams) and of 512 tokens (prefill) for each weight type, on plain and, where the
// level has them, packed weights in both sum orders (packed_matmul.h). Each iteration is the whole
// op: activation conversion, then the matmul.
#include <map>
#include <tuple>

#include "backends/cpu/kernels/matmul.h"
#include "backends/cpu/kernels/packed_matmul.h"
#include "bench_util.h"
#include "core/quant.h"

namespace autoglm::bench {
namespace {

struct Shape {
  const char* name;
  int64_t n_out, k;
};

// Decode reads every weight matrix once per token; these are the distinct matrix shapes.
constexpr Shape kGemvShapes[] = {
    {"attn_q_576x576", 576, 576},
    {"ffn_up_576x1536", 1536, 576},
    {"ffn_down_1536x576", 576, 1536},
    {"output_576x49152", 49152, 576},
};
constexpr Shape kGemmShapes[] = {
    {"ffn_up_576x1536", 1536, 576},
    {"ffn_down_1536x576", 576, 1536},
};
constexpr int64_t kBatchTokens = 16;
constexpr int64_t kPrefillTokens = 512;
constexpr DType kWeightTypes[] = {DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_1};

// Quantized weights are built once per (type, shape) and shared by every ISA level's run.
const std::vector<uint8_t>& weights(DType type, int64_t n_out, int64_t k) {
  static std::map<std::tuple<DType, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto [it, fresh] = cache.try_emplace({type, n_out, k});
  if (fresh) {
    const size_t row_bytes = dtype_row_bytes(type, k);
    const std::vector<float> w = random_floats(static_cast<size_t>(n_out * k), 7, 0.02f);
    it->second.resize(row_bytes * static_cast<size_t>(n_out));
    for (int64_t r = 0; r < n_out; ++r) {
      quantize_row(type, w.data() + r * k, it->second.data() + static_cast<size_t>(r) * row_bytes,
                   k);
    }
  }
  return it->second;
}

// The plain kernels, or the packed ones in either sum order.
enum class Kernel { Plain, PackedLanes, PackedBlocks };

void run_matmul(benchmark::State& state, DType type, const Shape& s, int64_t n_tok, Kernel kernel) {
  const std::vector<uint8_t>& w = weights(type, s.n_out, s.k);
  const bool packed = kernel != Kernel::Plain;
  cpu::PackedWeight pw;
  if (packed) {
    if (!cpu::packed_matmul_supports(type, s.k)) {
      state.SkipWithError("no packed kernels at this level");
      return;
    }
    pw = cpu::alloc_packed_weight(type, s.n_out, s.k);
    cpu::pack_weight_groups(pw, w.data(), dtype_row_bytes(type, s.k), 0,
                            (s.n_out + cpu::kPackRows - 1) / cpu::kPackRows);
    pw.order = kernel == Kernel::PackedBlocks ? cpu::SumOrder::Blocks : cpu::SumOrder::Lanes;
  }
  const DType act = cpu::matmul_activation_type(type);
  const std::vector<float> x = random_floats(static_cast<size_t>(n_tok * s.k), 11);  // [n_tok, k]
  std::vector<uint8_t> xq(dtype_row_bytes(act, s.k) * static_cast<size_t>(n_tok));
  std::vector<float> y(static_cast<size_t>(n_tok * s.n_out));  // [n_tok, n_out]
  for (auto _ : state) {
    cpu::convert_activations(x.data(), n_tok, s.k, act, xq.data(), 0, 1);
    if (packed) {
      cpu::packed_matmul(pw, xq.data(), n_tok, y.data(), s.n_out, 0, 1);
    } else {
      cpu::matmul(type, w.data(), dtype_row_bytes(type, s.k), xq.data(), n_tok, s.n_out, s.k,
                  y.data(), s.n_out, 0, 1);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, static_cast<double>(w.size()), 2.0 * static_cast<double>(n_tok * s.n_out * s.k));
}

}  // namespace

void register_matmul_benchmarks(cpu::Isa isa) {
  for (DType type : kWeightTypes) {
    const std::string t(dtype_name(type));
    const bool quantized = type != DType::F16;
    for (Kernel kernel : {Kernel::Plain, Kernel::PackedLanes, Kernel::PackedBlocks}) {
      if (kernel != Kernel::Plain && !quantized) continue;
      const std::string suffix = kernel == Kernel::Plain         ? "/"
                                 : kernel == Kernel::PackedLanes ? "_packed/"
                                                                 : "_packed_blocks/";
      for (const Shape& s : kGemvShapes) {
        register_at(isa, "gemv" + suffix + t + "/" + s.name,
                    [=](benchmark::State& st) { run_matmul(st, type, s, 1, kernel); });
      }
      for (const Shape& s : kGemmShapes) {
        for (int64_t n_tok : {kBatchTokens, kPrefillTokens}) {
          register_at(isa, "gemm" + std::to_string(n_tok) + suffix + t + "/" + s.name,
                      [=](benchmark::State& st) { run_matmul(st, type, s, n_tok, kernel); });
        }
      }
    }
  }
}

}  // namespace autoglm::bench

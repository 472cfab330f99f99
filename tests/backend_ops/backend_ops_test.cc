// Backend conformance: every op × dtype × shape (odd sizes included) on every device the
// registry offers (built-ins and plugins), compared with the CPU reference by normalized error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>

#include "backends/cpu/cpu_device.h"
#include "core/quant.h"
#include "graph/builder.h"
#include "op_runner.h"

#include "test_registry.h"

namespace autoglm::testing {
namespace {

using graph::Builder;
using graph::Dim;
using graph::Shape;
using graph::Value;

std::vector<std::string> device_names() {
  std::vector<std::string> out;
  for (const auto& b : all_backends().backends()) out.push_back(b.name);
  return out;
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

HostTensor f32_bytes(const std::vector<float>& v) {
  HostTensor t;
  t.bytes.resize(v.size() * sizeof(float));
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

HostTensor i32_bytes(const std::vector<int32_t>& v) {
  HostTensor t;
  t.bytes.resize(v.size() * sizeof(int32_t));
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

// rows × n random values stored as `type`, row by row.
std::vector<uint8_t> random_rows(std::mt19937& rng, DType type, int64_t rows, int64_t n) {
  std::vector<uint8_t> out(dtype_row_bytes(type, n) * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> x = random_floats(rng, static_cast<size_t>(n));
    quantize_row(type, x.data(), out.data() + r * dtype_row_bytes(type, n), n);
  }
  return out;
}

std::vector<float> as_floats(const HostTensor& t, DType type) {
  const int64_t n = static_cast<int64_t>(t.bytes.size() / dtype_info(type).type_size *
                                         dtype_info(type).block_size);
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(type, t.bytes.data(), out.data(), n);
  return out;
}

// ||a - b|| / ||b||; infinite when a has a NaN or the lengths differ.
double normalized_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
    num += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
    den += double{b[i]} * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// One op case: a graph whose single output is compared, its inputs, and the output's type.
struct Case {
  std::string label;
  std::unique_ptr<graph::Graph> g = std::make_unique<graph::Graph>();
  std::map<graph::NodeId, HostTensor> inputs;
  std::vector<std::vector<uint8_t>> weights;  // storage the Weight nodes point into
  DType out_type = DType::F32;
  double tolerance = 1e-5;
};

class BackendOps : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto dev = all_backends().create(GetParam(), {2});
    if (!dev.ok()) GTEST_SKIP() << GetParam() << " unavailable: " << dev.status().to_string();
    dev_ = std::move(*dev);
    cpu_ = std::make_unique<cpu::CpuDevice>(1);
  }

  // Runs c on the reference and the device under test; unsupported cases are counted, not run.
  void check(Case& c) {
    ASSERT_TRUE(graph::verify(*c.g).ok()) << c.label << ": " << graph::verify(*c.g).to_string();
    const graph::Node& out = c.g->node(c.g->outputs()[0]);
    if (!dev_->supports(*c.g, out)) {
      ++unsupported_;
      return;
    }
    ASSERT_TRUE(cpu_->supports(*c.g, out)) << c.label << ": the reference lacks this case";
    OpRunner runner(*c.g, std::move(c.inputs));
    auto want = runner.run(*cpu_);
    ASSERT_TRUE(want.ok()) << c.label << ": " << want.status().to_string();
    auto got = runner.run(*dev_);
    ASSERT_TRUE(got.ok()) << c.label << ": " << got.status().to_string();
    const double err =
        normalized_error(as_floats((*got)[0], c.out_type), as_floats((*want)[0], c.out_type));
    EXPECT_LE(err, c.tolerance) << c.label << " on " << GetParam();
    ++ran_;
  }

  void TearDown() override {
    if (dev_) {
      EXPECT_GT(ran_, 0) << GetParam() << " supports none of this op's cases";
    }
  }

  std::mt19937 rng_{1234};
  std::unique_ptr<hal::Device> dev_;
  std::unique_ptr<hal::Device> cpu_;
  int ran_ = 0, unsupported_ = 0;
};

Value input(Case& c, Builder& b, const char* name, std::vector<float> data, int64_t n,
            int64_t rows) {
  Value v = b.input(name, DType::F32, Shape::of({Dim::of(n), Dim::of(rows)}));
  c.inputs[v.id] = f32_bytes(data);
  return v;
}

Value row_input(Case& c, Builder& b, const char* name, std::vector<float> data) {
  Value v = b.input(name, DType::F32, Shape::of({Dim::of(static_cast<int64_t>(data.size()))}));
  c.inputs[v.id] = f32_bytes(data);
  return v;
}

Value ids_input(Case& c, Builder& b, const char* name, std::vector<int32_t> ids) {
  Value v = b.input(name, DType::I32, Shape::of({Dim::of(static_cast<int64_t>(ids.size()))}));
  c.inputs[v.id] = i32_bytes(ids);
  return v;
}

Value weight(Case& c, Builder& b, DType t, int64_t n, int64_t rows, std::mt19937& rng) {
  c.weights.push_back(random_rows(rng, t, rows, n));
  const TensorDesc d = TensorDesc::contiguous(t, {n, rows});
  return b.weight("w" + std::to_string(c.weights.size()), d, c.weights.back().data());
}

constexpr DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16,
                               DType::Q4_0, DType::Q4_1, DType::Q8_0};

TEST_P(BackendOps, GetRows) {
  for (DType t : kAllTypes) {
    for (int64_t n : {5, 32, 96}) {
      if (dtype_info(t).quantized && n % 32) continue;
      for (int n_ids : {1, 4}) {
        Case c;
        c.label = "get_rows " + std::string(dtype_name(t)) + " n=" + std::to_string(n);
        Builder b(*c.g);
        std::vector<int32_t> ids(n_ids);
        for (int32_t& id : ids) id = static_cast<int32_t>(rng_() % 7);
        Value out = b.get_rows(weight(c, b, t, n, 7, rng_), ids_input(c, b, "ids", ids), "out");
        c.g->set_outputs({out.id});
        check(c);
      }
    }
  }
}

TEST_P(BackendOps, RmsNorm) {
  for (int64_t n : {1, 7, 64, 577}) {
    for (int64_t rows : {1, 3}) {
      Case c;
      c.label = "rms_norm n=" + std::to_string(n) + " rows=" + std::to_string(rows);
      Builder b(*c.g);
      Value x = input(c, b, "x", random_floats(rng_, n * rows), n, rows);
      c.g->set_outputs({b.rms_norm(x, 1e-5f, "out").id});
      check(c);
    }
  }
}

TEST_P(BackendOps, MulAddSilu) {
  for (int64_t n : {1, 33, 576}) {
    for (int64_t rows : {1, 5}) {
      for (int64_t b_rows : {int64_t{1}, rows}) {
        for (int op = 0; op < 3; ++op) {
          Case c;
          c.label = std::string(op == 0   ? "mul"
                                : op == 1 ? "add"
                                          : "silu") +
                    " n=" + std::to_string(n) + " rows=" + std::to_string(rows) +
                    " b_rows=" + std::to_string(b_rows);
          Builder b(*c.g);
          Value x = input(c, b, "x", random_floats(rng_, n * rows, -4, 4), n, rows);
          Value y = input(c, b, "y", random_floats(rng_, n * b_rows), n, b_rows);
          Value out = op == 0   ? b.mul(x, y, "out")
                      : op == 1 ? b.add(x, y, "out")
                                : b.silu(x, "out");
          c.g->set_outputs({out.id});
          check(c);
        }
      }
    }
  }
}

TEST_P(BackendOps, FusedRmsNormMulAndSwiGlu) {
  for (int64_t n : {1, 7, 576, 1537}) {
    for (int64_t rows : {1, 3}) {
      for (bool norm : {true, false}) {
        Case c;
        c.label = std::string(norm ? "rms_norm_mul" : "swiglu") + " n=" + std::to_string(n) +
                  " rows=" + std::to_string(rows);
        Builder b(*c.g);
        Value x = input(c, b, "x", random_floats(rng_, n * rows, -4, 4), n, rows);
        Value out =
            norm ? b.rms_norm_mul(x, row_input(c, b, "w", random_floats(rng_, n)), 1e-5f, "out")
                 : b.swiglu(x, input(c, b, "up", random_floats(rng_, n * rows), n, rows), "out");
        c.g->set_outputs({out.id});
        check(c);
      }
    }
  }
}

TEST_P(BackendOps, Softmax) {
  for (int64_t n : {1, 7, 513}) {
    for (int64_t rows : {1, 4}) {
      Case c;
      c.label = "softmax n=" + std::to_string(n) + " rows=" + std::to_string(rows);
      Builder b(*c.g);
      Value x = input(c, b, "x", random_floats(rng_, n * rows, -8, 8), n, rows);
      c.g->set_outputs({b.softmax(x, 0.125f, "out").id});
      check(c);
    }
  }
}

TEST_P(BackendOps, Rope) {
  for (int head_dim : {6, 64}) {
    for (int n_rot : {head_dim, head_dim - 2}) {
      for (bool neox : {false, true}) {
        for (bool factors : {false, true}) {
          for (int64_t n_tok : {1, 5}) {
            Case c;
            c.label = "rope hd=" + std::to_string(head_dim) + " n_rot=" + std::to_string(n_rot) +
                      (neox ? " neox" : " normal") + (factors ? " factors" : "") +
                      " n_tok=" + std::to_string(n_tok);
            Builder b(*c.g);
            graph::OpParams p;
            p.n_head = 3;
            p.head_dim = head_dim;
            p.n_rot = n_rot;
            p.neox = neox;
            p.freq_base = 10000.0f;
            p.freq_scale = 0.5f;
            Value x =
                input(c, b, "x", random_floats(rng_, 3 * head_dim * n_tok), 3 * head_dim, n_tok);
            std::vector<int32_t> pos(n_tok);
            for (int32_t& q : pos) q = static_cast<int32_t>(rng_() % 1000);
            Value ff{-1};
            if (factors) {
              ff = b.input("ff", DType::F32, Shape::of({Dim::of(n_rot / 2)}));
              c.inputs[ff.id] = f32_bytes(random_floats(rng_, n_rot / 2, 1, 8));
            }
            Value out = b.rope(x, ids_input(c, b, "pos", pos), ff, p, "out");
            c.g->set_outputs({out.id});
            check(c);
          }
        }
      }
    }
  }
}

TEST_P(BackendOps, MatMul) {
  for (DType t : kAllTypes) {
    for (int64_t k : {5, 33, 32, 96, 576}) {
      if (dtype_info(t).quantized && k % 32) continue;
      for (int64_t n_out : {1, 7, 49}) {
        for (int64_t n_tok : {1, 3}) {
          Case c;
          c.label = "matmul " + std::string(dtype_name(t)) + " k=" + std::to_string(k) +
                    " n_out=" + std::to_string(n_out) + " n_tok=" + std::to_string(n_tok);
          c.tolerance = 1e-4;
          Builder b(*c.g);
          Value w = weight(c, b, t, k, n_out, rng_);
          Value x = input(c, b, "x", random_floats(rng_, k * n_tok), k, n_tok);
          c.g->set_outputs({b.matmul(w, x, "out").id});
          check(c);
        }
      }
    }
  }
}

TEST_P(BackendOps, KvStore) {
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {
    for (int64_t n_tok : {1, 5}) {
      Case c;
      c.label = "kv_store " + std::string(dtype_name(t)) + " n_tok=" + std::to_string(n_tok);
      Builder b(*c.g);
      // Q8_0 rows are whole blocks of 32.
      const int64_t row = t == DType::Q8_0 ? 2 * 64 : 2 * 40, n_slots = 16;
      Value cache = b.kv_cache("k", t, Shape::of({Dim::of(row), Dim::of(n_slots)}), 0);
      c.inputs[cache.id].bytes = random_rows(rng_, t, n_slots, row);
      std::vector<int32_t> slots(n_slots);
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng_);
      slots.resize(static_cast<size_t>(n_tok));
      Value src = input(c, b, "src", random_floats(rng_, row * n_tok), row, n_tok);
      c.g->set_outputs({b.kv_store(cache, src, ids_input(c, b, "slots", slots), "out").id});
      c.out_type = t;
      check(c);
    }
  }
}

TEST_P(BackendOps, PagedAttention) {
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {  // Q8_0: head_dim 64 only
    for (int head_dim : {40, 64}) {
      for (int n_head_kv : {1, 2}) {
        for (int64_t n_tok : {1, 6}) {
          Case c;
          c.label = "attention " + std::string(dtype_name(t)) + " hd=" + std::to_string(head_dim) +
                    " kv_heads=" + std::to_string(n_head_kv) + " n_tok=" + std::to_string(n_tok);
          c.tolerance = 1e-4;
          Builder b(*c.g);
          graph::OpParams p;
          p.n_head = 4;
          p.n_head_kv = n_head_kv;
          p.head_dim = head_dim;
          p.block_size = 4;
          p.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          const int64_t n_seqs = 2, width = 5, n_blocks = n_seqs * width;
          const int64_t row = int64_t{n_head_kv} * head_dim, n_slots = n_blocks * p.block_size;
          Value k = b.kv_cache("k", t, Shape::of({Dim::of(row), Dim::of(n_slots)}), 0);
          Value v = b.kv_cache("v", t, Shape::of({Dim::of(row), Dim::of(n_slots)}), 1);
          c.inputs[k.id].bytes = random_rows(rng_, t, n_slots, row);
          c.inputs[v.id].bytes = random_rows(rng_, t, n_slots, row);
          std::vector<int32_t> tables(static_cast<size_t>(n_blocks));
          std::iota(tables.begin(), tables.end(), 0);
          std::shuffle(tables.begin(), tables.end(), rng_);  // non-contiguous pages
          std::vector<int32_t> pos(n_tok), seq(n_tok);
          for (int64_t i = 0; i < n_tok; ++i) {
            seq[i] = static_cast<int32_t>(i % n_seqs);
            pos[i] = static_cast<int32_t>(rng_() % (width * p.block_size));
          }
          Value bt = b.input("tables", DType::I32, Shape::of({Dim::of(width), Dim::of(n_seqs)}));
          c.inputs[bt.id] = i32_bytes(tables);
          Builder::PagedView view{ids_input(c, b, "pos", pos), ids_input(c, b, "seq", seq), bt};
          Value q =
              input(c, b, "q", random_floats(rng_, 4 * head_dim * n_tok), 4 * head_dim, n_tok);
          c.g->set_outputs({b.attention(q, k, v, view, p, "out").id});
          check(c);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, BackendOps, ::testing::ValuesIn(device_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace autoglm::testing

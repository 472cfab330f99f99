// What `precision: int8` costs on the default model: the packed kernels add each block's integer
// products exactly before scaling, not in llama.cpp's lane order, so the logits move by rounding.
// Teacher-forced over the golden text against the default (lane-order) path and llama.cpp's
// top-1, and greedy continuations of the golden prompts against llama.cpp's.
#include <gtest/gtest.h>

#include <iostream>

#include "backends/cpu/cpu_device.h"
#include "default_model_test.h"

namespace autoglm::reference {
namespace {

// The floors of the 8-bit KV cache's test (kv_dtype_agreement_test.cc): this model has many
// near-ties, so any reordering of the sums moves a few top-1 tokens; a wrong scale, min or
// block offset lands far below them. Measured (AVX-512 VNNI, 651 positions): 624 / 651 top-1
// with the default path and with llama.cpp, |logit diff| mean 0.156; llama.cpp agrees with its own
// batched pass on 96.6 % when it runs one token at a time, so int8 moves the logits about as much
// as another kernel of llama.cpp does.
constexpr double kMinTop1Agreement = 0.94;
constexpr double kMaxMeanLogitDiff = 0.25;

class Int8Agreement : public DefaultModelTest {
 protected:
  void SetUp() override {
    DefaultModelTest::SetUp();
    if (!cpu::CpuDevice(1).props().int8_block_sums)
      GTEST_SKIP() << "precision int8 needs AVX-512 VNNI, which this CPU (or ISA level) lacks";
  }

  static std::unique_ptr<runtime::Session> session(bool int8, int64_t n_ctx) {
    runtime::SessionOptions o;
    o.n_ctx = n_ctx;
    o.int8_block_sums = int8;
    return DefaultModelTest::session(o);
  }
};

TEST_F(Int8Agreement, TeacherForcedTracksTheDefaultPathAndLlamaCpp) {
  const nlohmann::json g = load_golden("teacher_forced.json");
  ASSERT_FALSE(g.empty()) << "goldens/teacher_forced.json is missing: run scripts/make_goldens.sh";
  const auto ids = g.at("ids").get<std::vector<int32_t>>();
  const auto top1 = g.at("top1").get<std::vector<int32_t>>();
  ASSERT_GE(ids.size(), 512u);
  ASSERT_EQ(top1.size(), ids.size());
  const int64_t n_ctx = static_cast<int64_t>(ids.size()) + 16;
  auto lanes = session(false, n_ctx), blocks = session(true, n_ctx);
  ASSERT_TRUE(lanes && blocks);
  auto a = lanes->decode(ids, /*all_logits=*/true);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  const std::vector<float> ra(a->begin(), a->end());
  auto b = blocks->decode(ids, /*all_logits=*/true);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  const size_t nv = static_cast<size_t>(lanes->n_vocab());
  ASSERT_EQ(ra.size(), ids.size() * nv);
  ASSERT_EQ(b->size(), ra.size());
  const LogitDrift d = logit_drift(ra, *b, nv);
  const size_t llama = top1_matches(*b, top1, nv);
  const double n = static_cast<double>(ids.size());
  std::cout << "[ int8     ] top-1 agreement with the default path " << d.top1_agree << " / "
            << ids.size() << ", with llama.cpp " << llama << " / " << ids.size()
            << "; |logit diff| mean " << d.mean_abs << ", max " << d.max_abs << "\n";
  EXPECT_GE(static_cast<double>(d.top1_agree) / n, kMinTop1Agreement);
  EXPECT_GE(static_cast<double>(llama) / n, kMinTop1Agreement);
  EXPECT_LE(d.mean_abs, kMaxMeanLogitDiff);
}

// Reported, not required to match: a greedy continuation that parts at a near-tie stays parted.
// Each must still be text the model would write: its first token is llama.cpp's.
TEST_F(Int8Agreement, GreedyContinuationsStartAsLlamaCppDoes) {
  const nlohmann::json g = load_golden("greedy.json");
  ASSERT_FALSE(g.empty()) << "goldens/greedy.json is missing: run scripts/make_goldens.sh";
  const int n = g.at("n_predict").get<int>();
  int identical = 0, cases = 0;
  for (const auto& c : g.at("cases")) {
    ++cases;
    const auto prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    const auto expect = c.at("ids").get<std::vector<int32_t>>();
    auto s = session(true, 512);
    ASSERT_TRUE(s);
    const std::vector<int32_t> got = greedy(*s, prompt, n);
    ASSERT_FALSE(expect.empty() || got.empty());
    EXPECT_EQ(got.front(), expect.front()) << c.at("prompt");
    identical += got == expect;
  }
  std::cout << "[ int8     ] " << identical << " of " << cases
            << " greedy continuations identical to llama.cpp\n";
}

}  // namespace
}  // namespace autoglm::reference

// The serving engine on the default model: batch invariance (16 concurrent greedy requests give
// exactly the tokens each gives alone) and prefix reuse (a 256-token shared prefix is not
// recomputed and the output equals a cold run).
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/cpu/cpu_device.h"
#include "engine_fixture.h"
#include "reference_model.h"

namespace autoglm::serve {
namespace {

using testing::greedy;

class EngineModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = reference::model_path();
    if (!std::filesystem::exists(path)) return;
    loaded_ = new testing::Loaded(testing::load_model(path));
  }
  static void TearDownTestSuite() {
    delete loaded_;
    loaded_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(loaded_, nullptr) << reference::kFetchHint;
    ASSERT_NE(loaded_->model, nullptr);
  }
  static std::unique_ptr<Engine> engine(bool prefix_cache, bool int8 = false) {
    EngineOptions o;
    o.n_ctx = 512;
    o.kv_tokens = 16 * 512;
    o.prefix_cache = prefix_cache;
    o.int8_block_sums = int8;
    return testing::make_engine(*loaded_, o);
  }
  // 16 concurrent greedy requests give exactly the tokens each gives alone.
  void expect_batch_invariance(Engine& e);
  std::vector<int32_t> encode(const std::string& text) {
    return loaded_->tok->encode(text, loaded_->tok->add_bos(), false);
  }
  static testing::Loaded* loaded_;
};
testing::Loaded* EngineModel::loaded_ = nullptr;

void EngineModel::expect_batch_invariance(Engine& e) {
  const char* topics[] = {"the sea",      "a red fox",  "mountains", "the moon",
                          "bread",        "a library",  "rain",      "trains",
                          "an old clock", "bees",       "winter",    "a lighthouse",
                          "chess",        "the desert", "a violin",  "volcanoes"};
  std::vector<Request> reqs;
  for (int i = 0; i < 16; ++i) {
    // Prompt lengths differ so prefill chunks and decode tokens mix within steps.
    std::string text = "Write one sentence about " + std::string(topics[i]) + ".";
    for (int k = 0; k < i % 4; ++k) text += " Make it vivid and precise, please.";
    reqs.push_back(greedy(encode(text), 8));
  }
  const auto alone = testing::run_alone(e, reqs);
  const auto together = testing::run_together(e, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(alone[i].size(), 8u);
    EXPECT_EQ(together[i], alone[i]) << "request " << i << " (" << topics[i] << ")";
  }
}

TEST_F(EngineModel, SixteenConcurrentGreedyRequestsMatchAlone) {
  expect_batch_invariance(*engine(/*prefix_cache=*/false));
}

// precision int8 sums differently from llama.cpp but still per row, whatever shares the step.
TEST_F(EngineModel, SixteenConcurrentGreedyRequestsMatchAloneWithInt8) {
  if (!cpu::CpuDevice(1).props().int8_block_sums)
    GTEST_SKIP() << "precision int8 needs AVX-512 VNNI, which this CPU (or ISA level) lacks";
  expect_batch_invariance(*engine(/*prefix_cache=*/false, /*int8=*/true));
}

TEST_F(EngineModel, SharedPrefixPrefillsOnlyTheRestAndMatchesColdRun) {
  std::string doc;
  for (int i = 0; doc.size() < 4000; ++i) {
    doc += "Section " + std::to_string(i) +
           ": the engine batches many sequences into one step, reuses cached blocks of "
           "shared prefixes and preempts the youngest request when memory runs out. ";
  }
  auto prefix = encode(doc);
  ASSERT_GE(prefix.size(), 256u);
  prefix.resize(256);
  auto with = [&](const std::string& question) {
    auto p = prefix;
    const auto q = loaded_->tok->encode(question, false, false);
    p.insert(p.end(), q.begin(), q.end());
    return greedy(p, 12);
  };
  const Request first = with("\nQuestion: what is batched?\nAnswer:");
  const Request second = with("\nQuestion: what happens when memory runs out?\nAnswer:");

  auto cold = engine(/*prefix_cache=*/false);
  const auto cold_out = testing::drain(*testing::submit_ok(*cold, second));

  auto e = engine(/*prefix_cache=*/true);
  testing::drain(*testing::submit_ok(*e, first));
  const auto warm_out = testing::drain(*testing::submit_ok(*e, second));
  EXPECT_EQ(warm_out.last.cached_prompt_tokens, 256);
  EXPECT_EQ(e->stats().prefix_hits_tokens, 256);
  EXPECT_EQ(warm_out.tokens, cold_out.tokens);
  EXPECT_EQ(warm_out.text, cold_out.text);
}

}  // namespace
}  // namespace autoglm::serve

// The engine against llama.cpp on the default model: greedy continuations and teacher-forced
// next-token agreement (goldens from make_goldens.py through llama-cpp-python).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "default_model_test.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::reference {
namespace {

// The CPU path reproduces llama.cpp's arithmetic (batched and one-token steps alike), so the
// logits agree to the goldens' 5 decimals and the thresholds hold as written: greedy
// continuations identical for at least 4 of 5 prompts, teacher-forced top-1 at least 98 %.
// Where a continuation still parts (another CPU, another kernel), llama.cpp's token must be a
// near-tie for us: llama.cpp's own batched and one-token-at-a-time passes differ by up to 1.3
// logits on this model (see make_goldens.py).
constexpr float kNearTie = 0.5f;
constexpr int kMinIdenticalGreedy = 4;
constexpr double kMinTeacherForcedTop1 = 0.98;

class ModelAgreement : public DefaultModelTest {
 protected:
  static void SetUpTestSuite() {
    DefaultModelTest::SetUpTestSuite();
    if (model_ == nullptr) return;
    auto t = tokenizer::Tokenizer::from_gguf(model_->file());
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    tok_ = std::move(*t).release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    DefaultModelTest::TearDownTestSuite();
  }

  static std::unique_ptr<runtime::Session> session(int64_t n_ctx) {
    runtime::SessionOptions o;
    o.n_ctx = n_ctx;
    return DefaultModelTest::session(o);
  }

  static inline tokenizer::Tokenizer* tok_ = nullptr;
};

TEST_F(ModelAgreement, CapitalOfFranceIsParis) {
  auto s = session(256);
  const auto prompt = tok_->encode("The capital of France is", tok_->add_bos(), true);
  const auto ids = greedy(*s, prompt, 16);
  const std::string text = tok_->decode(ids);
  EXPECT_NE(text.find("Paris"), std::string::npos) << text;
}

TEST_F(ModelAgreement, GreedyContinuationsMatchLlamaCpp) {
  const nlohmann::json g = load_golden("greedy.json");
  ASSERT_FALSE(g.empty()) << "goldens/greedy.json is missing: run scripts/make_goldens.sh";
  const int n = g.at("n_predict").get<int>();
  int identical = 0, cases = 0;
  for (const auto& c : g.at("cases")) {
    ++cases;
    const auto prompt_ids = c.at("prompt_ids").get<std::vector<int32_t>>();
    const auto expect = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->encode(c.at("prompt").get<std::string>(), tok_->add_bos(), true), prompt_ids)
        << "tokenization differs for " << c.at("prompt");
    auto s = session(512);
    std::vector<float> gaps;
    const auto got = greedy(*s, prompt_ids, n, expect, &gaps);
    size_t first_diff = 0;
    while (first_diff < got.size() && first_diff < expect.size() &&
           got[first_diff] == expect[first_diff])
      ++first_diff;
    if (got == expect) {
      ++identical;
      continue;
    }
    std::cout << "[ diverged ] " << c.at("prompt") << " at token " << first_diff
              << " (llama.cpp's token is " << gaps[first_diff]
              << " below our best logit)\n  llama.cpp: " << c.at("text")
              << "\n  autoglm:   " << nlohmann::json(tok_->decode(got)) << "\n";
    // Where the engines part, llama.cpp's choice must be a near-tie for us, within the logit
    // noise the two engines show on the teacher-forced text.
    EXPECT_LT(gaps[first_diff], kNearTie) << c.at("prompt");
  }
  std::cout << "[ greedy   ] " << identical << " of " << cases
            << " continuations identical to llama.cpp\n";
  EXPECT_GE(cases, 5);
  EXPECT_GE(identical, kMinIdenticalGreedy) << "of " << cases;
}

TEST_F(ModelAgreement, TeacherForcedTop1AgreesWithLlamaCpp) {
  const nlohmann::json g = load_golden("teacher_forced.json");
  ASSERT_FALSE(g.empty()) << "goldens/teacher_forced.json is missing: run scripts/make_goldens.sh";
  const auto ids = g.at("ids").get<std::vector<int32_t>>();
  const auto top1 = g.at("top1").get<std::vector<int32_t>>();
  ASSERT_GE(top1.size(), 512u);
  auto s = session(static_cast<int64_t>(ids.size()) + 16);
  auto logits = s->decode(ids, /*all_logits=*/true);
  ASSERT_TRUE(logits.ok()) << logits.status().to_string();
  const size_t nv = static_cast<size_t>(s->n_vocab());
  const auto top5 = g.at("top5").get<std::vector<std::vector<int32_t>>>();
  const auto top5_logits = g.at("top5_logits").get<std::vector<std::vector<float>>>();
  size_t agree = 0;
  double sum_diff = 0, max_diff = 0;
  size_t n_diff = 0;
  for (size_t i = 0; i < top1.size(); ++i) {
    const auto row = logits->subspan(i * nv, nv);
    agree += runtime::argmax(row) == top1[i];
    for (size_t j = 0; j < top5[i].size(); ++j) {
      const double d = std::abs(row[static_cast<size_t>(top5[i][j])] - top5_logits[i][j]);
      sum_diff += d;
      max_diff = std::max(max_diff, d);
      ++n_diff;
    }
  }
  std::cout << "[ teacher  ] |logit - llama.cpp| on its top-5: mean "
            << sum_diff / static_cast<double>(n_diff) << ", max " << max_diff << "\n";
  const double rate = static_cast<double>(agree) / static_cast<double>(top1.size());
  // For scale: llama.cpp agrees with its own batched pass only this often when it evaluates one
  // token at a time (other kernels, other rounding).
  const double self = g.value("llama_cpp_self_top1", 1.0);
  std::cout << "[ teacher  ] top-1 agreement " << agree << " / " << top1.size() << " = "
            << rate * 100 << " % (llama.cpp against itself: " << self * 100 << " %, required "
            << kMinTeacherForcedTop1 * 100 << " %)\n";
  EXPECT_GE(rate, kMinTeacherForcedTop1);
}

}  // namespace
}  // namespace autoglm::reference

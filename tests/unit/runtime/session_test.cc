// The whole stack (model → graph → passes → scheduler → CPU device → kernels) on tiny random
// llamas, checked against a naive double-precision forward pass.
#include <gtest/gtest.h>

#include <cmath>

#include "naive_llama.h"
#include "runtime/session.h"
#include "tiny_model.h"

namespace autoglm::runtime {
namespace {

using testing::TinyLlama;

struct Built {
  TinyLlama cfg;
  testing::TinyLlamaWeights weights;
  std::unique_ptr<model::Model> model;
};

Built build(TinyLlama cfg) {
  Built b{cfg, {}, nullptr};
  auto m = model::Model::load(testing::tiny_llama_file(cfg, &b.weights));
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  b.model = std::move(*m);
  return b;
}

std::unique_ptr<Session> session(const model::Model& m, DType kv, int threads = 2,
                                 int64_t n_batch = 512) {
  SessionOptions o;
  o.kv_dtype = kv;
  o.threads = threads;
  o.n_batch = n_batch;
  auto s = Session::create(m, o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(*s);
}

// max |a - b| / max |b|
double rel_err(std::span<const float> a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return num / den;
}

const std::vector<int32_t> kPrompt = {5, 77, 259, 3, 100, 200, 261, 42, 9, 150, 11};

TEST(Session, MatchesNaiveForwardF32) {
  Built b = build({});
  auto s = session(*b.model, DType::F32);
  auto logits = s->decode(kPrompt, /*all_logits=*/true);
  ASSERT_TRUE(logits.ok()) << logits.status().to_string();
  const auto ref = testing::naive_llama_logits(b.cfg, b.weights, kPrompt);
  ASSERT_EQ(logits->size(), kPrompt.size() * testing::kTinyVocab);
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    EXPECT_LT(rel_err(logits->subspan(t * testing::kTinyVocab, testing::kTinyVocab), ref[t]), 2e-4)
        << "position " << t;
  }
}

TEST(Session, UntiedOutputAndGqaVariants) {
  for (auto [heads, kv_heads] : {std::pair{4, 4}, std::pair{4, 1}, std::pair{8, 2}}) {
    TinyLlama cfg;
    cfg.n_head = heads;
    cfg.n_head_kv = kv_heads;
    cfg.tied_output = false;
    cfg.seed = 7;
    Built b = build(cfg);
    auto s = session(*b.model, DType::F32);
    auto logits = s->decode(kPrompt, true);
    ASSERT_TRUE(logits.ok());
    const auto ref = testing::naive_llama_logits(cfg, b.weights, kPrompt);
    const size_t last = kPrompt.size() - 1;
    EXPECT_LT(rel_err(logits->subspan(last * testing::kTinyVocab, testing::kTinyVocab), ref[last]),
              2e-4)
        << heads << "/" << kv_heads;
  }
}

TEST(Session, IncrementalDecodeEqualsOnePass) {
  Built b = build({});
  auto whole = session(*b.model, DType::F16);
  auto all = whole->decode(kPrompt);
  ASSERT_TRUE(all.ok());
  const std::vector<float> expect(all->begin(), all->end());

  auto one = session(*b.model, DType::F16, 1);
  std::span<const float> last;
  for (int32_t t : kPrompt) {
    auto l = one->decode({&t, 1});
    ASSERT_TRUE(l.ok());
    last = *l;
  }
  EXPECT_LT(rel_err(last, expect), 1e-5);
  auto chunked = session(*b.model, DType::F16, 3, /*n_batch=*/4);
  auto c = chunked->decode(kPrompt);
  ASSERT_TRUE(c.ok());
  EXPECT_LT(rel_err(*c, expect), 1e-5);
}

TEST(Session, DecodeStepsReuseOnePlan) {
  Built b = build({});
  auto s = session(*b.model, DType::F16);
  ASSERT_TRUE(s->decode(kPrompt).ok());
  const size_t after_prefill = s->exec_stats().plans_built;
  for (int32_t t = 0; t < 20; ++t) ASSERT_TRUE(s->decode({&t, 1}).ok());
  EXPECT_EQ(s->exec_stats().plans_built, after_prefill + 1);  // one decode plan, built once
}

TEST(Session, QuantizedWeightsTrackTheReference) {
  // Activations are quantized to 8 bits for integer dot products, so agreement is close but
  // not exact; the reference uses the file's dequantized weights.
  for (DType dt : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    TinyLlama cfg;
    cfg.matrix_dtype = dt;
    Built b = build(cfg);
    auto s = session(*b.model, DType::F32);
    auto logits = s->decode(kPrompt);
    ASSERT_TRUE(logits.ok()) << dtype_name(dt);
    const auto ref = testing::naive_llama_logits(cfg, b.weights, kPrompt);
    EXPECT_LT(rel_err(*logits, ref.back()), dt == DType::F16 || dt == DType::BF16 ? 1e-2 : 5e-2)
        << dtype_name(dt);
  }
}

TEST(Session, ContextOverflowIsAClearError) {
  Built b = build({});
  SessionOptions o;
  o.n_ctx = 8;
  auto s = Session::create(*b.model, o);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->decode(kPrompt);
  EXPECT_EQ(r.status().code(), ErrorCode::OutOfRange);
  EXPECT_NE(r.status().message().find("context holds 8"), std::string::npos);
  // The session is still usable after the refusal.
  EXPECT_TRUE((*s)->decode(std::span(kPrompt).first(4)).ok());
}

TEST(Session, OutOfVocabularyTokenIsRejected) {
  Built b = build({});
  auto s = session(*b.model, DType::F16);
  const int32_t bad[] = {1, 99999};
  EXPECT_EQ(s->decode(bad).status().code(), ErrorCode::InvalidArgument);
}

// A Q8_0 cache stays close to the exact forward pass (8-bit K/V rows, f32 everywhere else).
TEST(Session, Q8_0KvStaysCloseToTheNaiveForward) {
  TinyLlama cfg;
  cfg.n_embd = 128;  // head_dim 32: whole Q8_0 blocks per head
  Built b = build(cfg);
  auto s = session(*b.model, DType::Q8_0);
  auto logits = s->decode(kPrompt, /*all_logits=*/true);
  ASSERT_TRUE(logits.ok()) << logits.status().to_string();
  const auto ref = testing::naive_llama_logits(b.cfg, b.weights, kPrompt);
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    const double err =
        rel_err(logits->subspan(t * testing::kTinyVocab, testing::kTinyVocab), ref[t]);
    EXPECT_LT(err, 2e-2) << "position " << t;
    EXPECT_GT(err, 0.0) << "position " << t << ": the cache is not quantized";
  }
}

TEST(Session, Q8_0KvNeedsWholeBlocksPerHead) {
  Built b = build({});  // head_dim 16
  SessionOptions o;
  o.kv_dtype = DType::Q8_0;
  auto s = Session::create(*b.model, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(s.status().message().find("multiple of 32"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace autoglm::runtime

// The serving engine on tiny random llamas: results, batch invariance, priorities, deadlines,
// cancellation, overload, stop strings, logprobs, prefix reuse and preemption.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "engine_fixture.h"
#include "tiny_model.h"

namespace autoglm::serve {
namespace {

using namespace std::chrono_literals;
using testing::drain;
using testing::greedy;
using testing::submit_ok;

// One tiny model per context length, shared by the tests of this file.
const testing::Loaded& tiny(int64_t n_ctx = 1024) {
  static std::map<int64_t, testing::Loaded> models;
  auto it = models.find(n_ctx);
  if (it == models.end()) {
    autoglm::testing::TinyLlama cfg;
    cfg.n_ctx = n_ctx;
    cfg.seed = 3;
    it = models.emplace(n_ctx, testing::load_model(autoglm::testing::tiny_llama_file(cfg))).first;
  }
  return it->second;
}

EngineOptions small_opts() {
  EngineOptions o;
  o.threads = 1;
  return o;
}

std::vector<int32_t> random_prompt(std::mt19937& rng, int n) {
  std::uniform_int_distribution<int32_t> d(0, 255);  // byte tokens
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = d(rng);
  return p;
}

TEST(Engine, CompletesAndAccounts) {
  auto e = testing::make_engine(tiny(), small_opts());
  auto h = submit_ok(*e, greedy({5, 77, 100, 3, 9, 150, 11, 42, 8, 1}, 8));
  auto o = drain(*h);
  EXPECT_EQ(o.last.finish, FinishReason::Length);
  EXPECT_TRUE(o.last.status.ok());
  EXPECT_EQ(o.tokens.size(), 8u);
  EXPECT_EQ(o.last.prompt_tokens, 10);
  EXPECT_EQ(o.last.completion_tokens, 8);
  EXPECT_GE(o.last.total_ms, o.last.ttft_ms);
  EXPECT_TRUE(h->finished());
  EXPECT_FALSE(h->next(1ms).has_value());  // after the final event: nothing, at once

  tokenizer::StreamDecoder dec(*tiny().tok);
  std::string text;
  for (int32_t t : o.tokens) text += dec.push(t);
  EXPECT_EQ(o.text, text + dec.flush());

  ASSERT_TRUE(e->wait_idle(5s));
  const EngineStats s = e->stats();
  EXPECT_EQ(s.requests_finished, 1);
  EXPECT_EQ(s.generated_tokens, 8);
  EXPECT_EQ(s.prompt_tokens, 10);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.kv_blocks_free + s.kv_blocks_cached, s.kv_blocks_total);
  const LatencySamples ls = e->take_samples();
  EXPECT_EQ(ls.ttft_ms.size(), 1u);
  EXPECT_EQ(ls.itl_ms.size(), 7u);
  EXPECT_EQ(ls.queue_ms.size(), 1u);
  EXPECT_EQ(ls.request_ms.size(), 1u);
  EXPECT_TRUE(e->take_samples().ttft_ms.empty());  // each sample is returned once
}

// Profiling: with kernel_timing the stats carry kernel time by op kind; without, none.
TEST(Engine, KernelTimingFillsTheTimeByOp) {
  for (bool timing : {false, true}) {
    EngineOptions o = small_opts();
    o.kernel_timing = timing;
    auto e = testing::make_engine(tiny(), o);
    drain(*submit_ok(*e, greedy({5, 77, 100, 3}, 4)));
    ASSERT_TRUE(e->wait_idle(5s));
    const auto by_op = e->stats().kernel_seconds_by_op;
    EXPECT_EQ(by_op.empty(), !timing);
    for (const auto& [op, s] : by_op) EXPECT_GE(s, 0.0) << op;
    if (timing) {
      EXPECT_TRUE(by_op.count("RmsNormMul") || by_op.count("RmsNorm"));
    }
  }
}

TEST(Engine, RejectsBadRequestsWithClearCodes) {
  auto e = testing::make_engine(tiny(128), small_opts());
  EXPECT_EQ(e->submit(greedy({}, 4)).status().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(e->submit(greedy({1, 9999}, 4)).status().code(), ErrorCode::InvalidArgument);
  Request r = greedy({1, 2}, 4);
  r.top_logprobs = 21;
  EXPECT_EQ(e->submit(r).status().code(), ErrorCode::InvalidArgument);
  r = greedy({1, 2}, 0);
  EXPECT_EQ(e->submit(r).status().code(), ErrorCode::InvalidArgument);
  r = greedy({1, 2}, 4);
  r.sampling.top_p = 2.0f;
  EXPECT_FALSE(e->submit(r).ok());
  auto st = e->submit(greedy(std::vector<int32_t>(100, 7), 29)).status();
  EXPECT_EQ(st.code(), ErrorCode::OutOfRange);
  EXPECT_NE(st.message().find("max_tokens"), std::string::npos) << st.message();
  e->stop_admission();
  EXPECT_EQ(e->submit(greedy({1, 2}, 4)).status().code(), ErrorCode::Unavailable);
}

// Chunk budgets small enough that prompts are split differently alone and together.
TEST(Engine, ConcurrentRequestsMatchAlone) {
  EngineOptions o = small_opts();
  o.max_step_tokens = 24;
  auto e = testing::make_engine(tiny(), o);
  std::mt19937 rng(11);
  std::vector<Request> reqs;
  for (int i = 0; i < 16; ++i) {
    Request r = greedy(random_prompt(rng, 5 + 7 * i), 12);
    if (i % 2 == 1) {  // seeded sampling must be invariant too
      r.sampling.temperature = 0.9f;
      r.sampling.seed = 100 + static_cast<uint64_t>(i);
    }
    reqs.push_back(r);
  }
  const auto alone = testing::run_alone(*e, reqs);
  const auto together = testing::run_together(*e, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(alone[i].size(), 12u);
    EXPECT_EQ(together[i], alone[i]) << "request " << i;
  }
  EXPECT_GT(e->stats().steps, 0);
}

TEST(Engine, HigherPriorityRunsFirstFifoWithinLevel) {
  EngineOptions o = small_opts();
  o.max_batch = 1;  // one at a time: admission order is completion order
  auto e = testing::make_engine(tiny(), o);
  auto blocker = submit_ok(*e, greedy({1, 2, 3}, 200));
  ASSERT_TRUE(blocker->next(10s).has_value());  // running now
  const int prio[] = {0, 5, 5, -1, 5, 0};
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (int p : prio) {
    Request r = greedy({4, 5, 6}, 2);
    r.priority = p;
    hs.push_back(submit_ok(*e, r));
  }
  std::vector<double> queued;
  for (auto& h : hs) queued.push_back(drain(*h).last.queue_ms);
  drain(*blocker);
  // Admission order: the three 5s in submission order, then the 0s, then -1.
  const int expected[] = {1, 2, 4, 0, 5, 3};
  for (int i = 1; i < 6; ++i) {
    EXPECT_LT(queued[expected[i - 1]], queued[expected[i]]) << "position " << i;
  }
}

TEST(Engine, QueueTimeoutAndTotalTimeoutAreDistinct) {
  EngineOptions o = small_opts();
  o.max_batch = 1;
  auto e = testing::make_engine(tiny(), o);
  auto blocker = submit_ok(*e, greedy({1, 2, 3}, 1000));
  ASSERT_TRUE(blocker->next(10s).has_value());

  Request q = greedy({4, 5}, 4);
  q.queue_timeout = 5ms;
  auto hq = submit_ok(*e, q);
  Request t = greedy({4, 5}, 4);
  t.total_timeout = 5ms;
  auto ht = submit_ok(*e, t);
  auto oq = drain(*hq), ot = drain(*ht);
  EXPECT_EQ(oq.last.finish, FinishReason::Timeout);
  EXPECT_EQ(oq.last.status.code(), ErrorCode::QueueTimeout);
  EXPECT_EQ(ot.last.finish, FinishReason::Timeout);
  EXPECT_EQ(ot.last.status.code(), ErrorCode::DeadlineExceeded);
  EXPECT_GE(oq.last.total_ms, 5.0);
  blocker->cancel();
  auto ob = drain(*blocker);
  EXPECT_EQ(ob.last.finish, FinishReason::Cancelled);

  // A running request past its total timeout stops mid-decode.
  Request r = greedy({1, 2, 3}, 1000);
  r.total_timeout = 30ms;
  auto hr = submit_ok(*e, r);
  auto orr = drain(*hr);
  EXPECT_EQ(orr.last.finish, FinishReason::Timeout);
  EXPECT_EQ(orr.last.status.code(), ErrorCode::DeadlineExceeded);
  EXPECT_LT(orr.last.completion_tokens, 1000);
  ASSERT_TRUE(e->wait_idle(5s));
  EXPECT_EQ(e->stats().requests_timed_out, 3);
  EXPECT_EQ(e->stats().kv_blocks_used, 0);
}

TEST(Engine, CancelAndDroppedHandlesFreeEverything) {
  auto e = testing::make_engine(tiny(), small_opts());
  auto a = submit_ok(*e, greedy({1, 2, 3}, 1000));
  ASSERT_TRUE(a->next(10s).has_value());
  e->cancel(a->id());
  auto oa = drain(*a);
  EXPECT_EQ(oa.last.finish, FinishReason::Cancelled);
  EXPECT_EQ(oa.last.status.code(), ErrorCode::Cancelled);
  a->cancel();  // harmless after the end

  {
    auto b = submit_ok(*e, greedy({1, 2, 3}, 1000));
    ASSERT_TRUE(b->next(10s).has_value());
  }  // dropped mid-decode
  ASSERT_TRUE(e->wait_idle(10s));
  const EngineStats s = e->stats();
  EXPECT_EQ(s.requests_cancelled, 2);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.open_handles, 1);  // `a` only
}

TEST(Engine, FullQueueFailsFastAndDropsNothingAdmitted) {
  EngineOptions o = small_opts();
  o.max_batch = 1;
  o.max_queue = 3;
  auto e = testing::make_engine(tiny(), o);
  auto blocker = submit_ok(*e, greedy({1, 2, 3}, 300));
  ASSERT_TRUE(blocker->next(10s).has_value());
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(submit_ok(*e, greedy({4, 5, 6}, 3)));
  auto full = e->submit(greedy({4, 5, 6}, 3));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), ErrorCode::QueueFull);
  EXPECT_EQ(e->stats().requests_rejected, 1);
  EXPECT_EQ(e->stats().waiting, 3);
  EXPECT_EQ(drain(*blocker).last.finish, FinishReason::Length);
  for (auto& h : hs) {
    auto out = drain(*h);
    EXPECT_EQ(out.last.finish, FinishReason::Length);
    EXPECT_EQ(out.tokens.size(), 3u);
  }
}

TEST(Engine, StopStringSplitAcrossTokensIsCut) {
  auto e = testing::make_engine(tiny(), small_opts());
  const Request base = greedy({10, 60, 61, 62, 63, 64}, 60);
  const auto full = drain(*submit_ok(*e, base));
  // Two ASCII characters from two byte tokens: the stop string crosses a token boundary.
  size_t i = 1;
  while (i + 1 < full.text.size() && !(static_cast<unsigned char>(full.text[i]) < 0x80 &&
                                       static_cast<unsigned char>(full.text[i + 1]) < 0x80)) {
    ++i;
  }
  ASSERT_LT(i + 1, full.text.size()) << "the model produced no two ASCII bytes in a row";
  const std::string stop = full.text.substr(i, 2);
  Request r = base;
  r.stop = {stop};
  const auto cut = drain(*submit_ok(*e, r));
  EXPECT_EQ(cut.last.finish, FinishReason::Stop);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_LT(cut.tokens.size(), full.tokens.size());
}

TEST(Engine, LogprobsAreLogSoftmaxOfTheRawLogits) {
  auto e = testing::make_engine(tiny(), small_opts());
  Request r = greedy({7, 8, 9}, 5);
  r.top_logprobs = 4;
  const auto o = drain(*submit_ok(*e, r));
  ASSERT_EQ(o.logprobs.size(), 5u);
  ASSERT_EQ(o.top_logprobs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(o.logprobs[i].token, o.tokens[i]);
    ASSERT_EQ(o.top_logprobs[i].size(), 4u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_EQ(o.top_logprobs[i][0].token, o.tokens[i]);
    EXPECT_FLOAT_EQ(o.top_logprobs[i][0].logprob, o.logprobs[i].logprob);
    double mass = 0;
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_LE(o.top_logprobs[i][k].logprob, 0.0f);
      if (k > 0) {
        EXPECT_LE(o.top_logprobs[i][k].logprob, o.top_logprobs[i][k - 1].logprob);
      }
      mass += std::exp(o.top_logprobs[i][k].logprob);
    }
    EXPECT_LE(mass, 1.0 + 1e-5);
  }
  Request none = greedy({7, 8, 9}, 2);
  EXPECT_TRUE(drain(*submit_ok(*e, none)).logprobs.empty());
}

TEST(Engine, SharedPrefixIsReusedAndGivesTheColdOutput) {
  std::mt19937 rng(5);
  const auto prefix = random_prompt(rng, 256);
  auto with = [&](std::vector<int32_t> tail) {
    auto p = prefix;
    p.insert(p.end(), tail.begin(), tail.end());
    return greedy(p, 16);
  };
  const Request first = with({1, 2, 3, 4, 5}), second = with({9, 8, 7, 6, 5, 4, 3});

  EngineOptions cold_opts = small_opts();
  cold_opts.prefix_cache = false;
  auto cold = testing::make_engine(tiny(), cold_opts);
  const auto cold_tokens = drain(*submit_ok(*cold, second)).tokens;

  auto e = testing::make_engine(tiny(), small_opts());
  const auto o1 = drain(*submit_ok(*e, first));
  EXPECT_EQ(o1.last.cached_prompt_tokens, 0);
  const auto o2 = drain(*submit_ok(*e, second));
  EXPECT_EQ(o2.last.cached_prompt_tokens, 256);
  EXPECT_EQ(o2.tokens, cold_tokens);
  const EngineStats s = e->stats();
  EXPECT_EQ(s.prefix_hits_tokens, 256);
  EXPECT_EQ(s.prefix_queries_tokens, 261 + 263);
  EXPECT_GT(s.kv_blocks_cached, 0);
  EXPECT_EQ(s.kv_blocks_used, 0);
}

TEST(Engine, PreemptionRecomputesAndLosesNothing) {
  std::mt19937 rng(9);
  std::vector<Request> reqs;
  for (int i = 0; i < 4; ++i) reqs.push_back(greedy(random_prompt(rng, 6 + i), 100));
  auto big = testing::make_engine(tiny(128), small_opts());
  const auto alone = testing::run_alone(*big, reqs);

  EngineOptions o = small_opts();
  o.kv_tokens = 128;  // 8 blocks of 16: one full-length sequence's worth
  auto e = testing::make_engine(tiny(128), o);
  const auto together = testing::run_together(*e, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(together[i], alone[i]) << "request " << i;
  const EngineStats s = e->stats();
  EXPECT_GT(s.preemptions, 0);
  EXPECT_EQ(s.requests_finished, 4);
  EXPECT_EQ(s.kv_blocks_used, 0);
}

TEST(Engine, DestroyingTheEngineFinishesOpenRequests) {
  std::shared_ptr<RequestHandle> running, waiting;
  {
    EngineOptions o = small_opts();
    o.max_batch = 1;
    auto e = testing::make_engine(tiny(), o);
    running = submit_ok(*e, greedy({1, 2}, 1000));
    waiting = submit_ok(*e, greedy({1, 2}, 10));
    ASSERT_TRUE(running->next(10s).has_value());
  }
  EXPECT_TRUE(running->finished());
  EXPECT_TRUE(waiting->finished());
  EXPECT_EQ(drain(*waiting).last.finish, FinishReason::Cancelled);
}

// --kv-memory sizes the pool in bytes: whole blocks of the cache type's rows, so a Q8_0 cache
// (68 bytes a row here against F16's 128) holds ~1.9x the tokens of an F16 one.
TEST(Engine, KvMemoryHoldsTheTokensItsRowTypeFits) {
  autoglm::testing::TinyLlama cfg;
  cfg.n_embd = 128;  // head_dim 32: whole Q8_0 blocks per head
  cfg.n_ctx = 512;
  cfg.seed = 5;
  const testing::Loaded l = testing::load_model(autoglm::testing::tiny_llama_file(cfg));
  ASSERT_TRUE(l.model);
  const int64_t row = cfg.n_head_kv * (cfg.n_embd / cfg.n_head);
  std::map<DType, int64_t> tokens;
  for (DType t : {DType::F16, DType::F32, DType::Q8_0}) {
    EngineOptions o = small_opts();
    o.kv_dtype = t;
    o.kv_memory = size_t{1} << 20;
    auto e = testing::make_engine(l, o);
    ASSERT_TRUE(e);
    const size_t per_token = 2 * static_cast<size_t>(cfg.n_layer) * dtype_row_bytes(t, row);
    tokens[t] = e->stats().kv_blocks_total * o.block_size;
    EXPECT_EQ(tokens[t], static_cast<int64_t>(o.kv_memory / per_token) / 16 * 16) << dtype_name(t);
    // Greedy output stays sensible with a quantized cache: it completes and accounts.
    const testing::Outcome out = drain(*submit_ok(*e, greedy({1, 2, 3}, 8)));
    EXPECT_EQ(out.last.finish, FinishReason::Length) << dtype_name(t);
  }
  EXPECT_GT(static_cast<double>(tokens[DType::Q8_0]),
            1.8 * static_cast<double>(tokens[DType::F16]));

  EngineOptions small = small_opts();
  small.kv_dtype = DType::Q8_0;
  small.kv_memory = 4096;  // not one context of 512 tokens
  auto too_small = Engine::create(*l.model, *l.tok, small);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(too_small.status().message().find("raise kv_memory"), std::string::npos)
      << too_small.status().message();
  small.kv_memory = size_t{1} << 20;
  small.kv_tokens = 1024;
  EXPECT_FALSE(Engine::create(*l.model, *l.tok, small).ok()) << "kv_tokens and kv_memory both set";
}

}  // namespace
}  // namespace autoglm::serve

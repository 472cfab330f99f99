// Randomized load on a tiny KV pool: completions, cancellations mid-prefill and mid-decode,
// dropped handles, queue and total timeouts and preemptions. Afterwards every block is free or
// cached, every handle got its final event and the counters add up.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine_fixture.h"
#include "tiny_model.h"

namespace autoglm::serve {
namespace {

using namespace std::chrono_literals;

TEST(EngineStress, RandomLoadLeaksNothing) {
  autoglm::testing::TinyLlama cfg;
  cfg.n_ctx = 256;
  cfg.seed = 21;
  const auto loaded = testing::load_model(autoglm::testing::tiny_llama_file(cfg));
  EngineOptions o;
  o.threads = 1;
  o.block_size = 8;
  o.kv_tokens = 256;  // 32 blocks: preemptions are certain
  o.max_step_tokens = 64;
  o.max_queue = 64;
  auto e = testing::make_engine(loaded, o);
  ASSERT_NE(e, nullptr);

  std::mt19937 rng(1234);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  // A few shared prefixes so the prefix cache is exercised too.
  std::vector<std::vector<int32_t>> prefixes(3);
  for (auto& p : prefixes) {
    for (int i = 0; i < 40; ++i) p.push_back(uni(0, 261));
  }

  constexpr int kRequests = 120;
  std::vector<std::shared_ptr<RequestHandle>> kept;
  int rejected = 0, ended_early = 0;
  for (int i = 0; i < kRequests; ++i) {
    Request r;
    if (uni(0, 1) == 1) r.prompt = prefixes[static_cast<size_t>(uni(0, 2))];
    for (int n = uni(1, 60); n > 0; --n) r.prompt.push_back(uni(0, 261));
    r.max_tokens = uni(1, 100);
    r.sampling.temperature = uni(0, 1) == 1 ? 0.0f : 0.8f;
    r.sampling.seed = static_cast<uint64_t>(i);
    r.ignore_eos = uni(0, 3) > 0;
    r.priority = uni(-2, 2);
    if (uni(0, 9) == 0) r.queue_timeout = std::chrono::milliseconds(uni(1, 20));
    if (uni(0, 9) == 0) r.total_timeout = std::chrono::milliseconds(uni(1, 50));
    if (uni(0, 9) == 0) r.stop = {"a", "\n"};
    auto h = e->submit(r);
    if (!h.ok()) {
      ASSERT_EQ(h.status().code(), ErrorCode::QueueFull) << h.status().to_string();
      ++rejected;
      continue;
    }
    switch (uni(0, 9)) {
      case 0:  // cancel at once (often mid-prefill or still waiting)
        (*h)->cancel();
        kept.push_back(*h);
        break;
      case 1: {  // cancel after its first token (mid-decode), unless that already ended it
        auto first = (*h)->next(5s);
        ASSERT_TRUE(first.has_value());
        if (first->finish != FinishReason::None) {
          ++ended_early;
          break;
        }
        e->cancel((*h)->id());
        kept.push_back(*h);
        break;
      }
      case 2:  // dropped: the handle's destructor cancels
        break;
      default:
        kept.push_back(*h);
    }
    if (uni(0, 3) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(uni(0, 3)));
  }

  int finished = 0;
  for (auto& h : kept) {
    auto out = testing::drain(*h);
    if (!out.finished) continue;
    ++finished;
    const Event& last = out.last;
    switch (last.finish) {
      case FinishReason::Timeout:
        EXPECT_TRUE(last.status.code() == ErrorCode::QueueTimeout ||
                    last.status.code() == ErrorCode::DeadlineExceeded);
        break;
      case FinishReason::Cancelled:
      case FinishReason::Stop:
      case FinishReason::Length:
        break;
      default:
        ADD_FAILURE() << "unexpected finish " << finish_reason_name(last.finish) << ": "
                      << last.status.to_string();
    }
  }
  EXPECT_EQ(finished, static_cast<int>(kept.size()));
  EXPECT_GT(finished + ended_early, 0);
  ASSERT_TRUE(e->wait_idle(60s));
  const EngineStats s = e->stats();
  EXPECT_EQ(s.running, 0);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.kv_blocks_free + s.kv_blocks_cached, s.kv_blocks_total);
  EXPECT_EQ(s.requests_rejected, rejected);
  EXPECT_EQ(s.requests_finished + s.requests_cancelled + s.requests_timed_out,
            kRequests - rejected);
  EXPECT_GT(s.preemptions, 0);
  for (auto& h : kept) EXPECT_TRUE(h->finished());
  kept.clear();
  EXPECT_EQ(e->stats().open_handles, 0);
}

}  // namespace
}  // namespace autoglm::serve

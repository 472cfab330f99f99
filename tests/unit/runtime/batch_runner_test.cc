// BatchRunner: many sequences in one graph step over the paged KV cache.
#include "runtime/batch_runner.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>

#include "tiny_model.h"

namespace autoglm::runtime {
namespace {

std::unique_ptr<model::Model> tiny() {
  auto m = model::Model::load(testing::tiny_llama_file({}));
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return std::move(*m);
}

std::unique_ptr<BatchRunner> runner(const model::Model& m, bool fuse = true) {
  RunnerOptions o;
  o.block_size = 4;
  o.n_blocks = 16;
  o.max_blocks_per_seq = 6;
  o.threads = 2;
  o.fuse = fuse;
  auto r = BatchRunner::create(m, o);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(*r);
}

std::vector<float> run(BatchRunner& r, const std::vector<SeqChunk>& chunks) {
  auto out = r.step(chunks);
  EXPECT_TRUE(out.ok()) << out.status().to_string();
  return out.ok() ? std::vector<float>(out->begin(), out->end()) : std::vector<float>{};
}

const std::vector<int32_t> kA = {5, 77, 259, 3, 100, 200, 261};
const std::vector<int32_t> kB = {42, 9, 150, 11, 8};
const std::vector<int32_t> kBlocksA = {3, 0, 7}, kBlocksB = {12, 1};

// Each sequence's prefill, then one decode step, alone and side by side in one step: the rows
// are bit-identical, whichever blocks hold them.
TEST(BatchRunner, SequencesInOneStepMatchSequencesAlone) {
  auto m = tiny();
  auto alone = runner(*m);
  const auto a = run(*alone, {{kA, 0, kBlocksA, 1}});
  const auto b = run(*alone, {{kB, 0, kBlocksB, 1}});
  const int32_t next_a = 17, next_b = 23;
  const auto a2 = run(*alone, {{{&next_a, 1}, 7, kBlocksA, 1}});
  const auto b2 = run(*alone, {{{&next_b, 1}, 5, kBlocksB, 1}});

  auto both = runner(*m);
  const auto ab = run(*both, {{kA, 0, kBlocksA, 1}, {kB, 0, kBlocksB, 1}});
  const auto ab2 = run(*both, {{{&next_a, 1}, 7, kBlocksA, 1}, {{&next_b, 1}, 5, kBlocksB, 1}});
  const size_t v = static_cast<size_t>(both->n_vocab());
  ASSERT_EQ(ab.size(), 2 * v);
  ASSERT_EQ(ab2.size(), 2 * v);
  for (size_t i = 0; i < v; ++i) {
    ASSERT_EQ(ab[i], a[i]) << i;
    ASSERT_EQ(ab[v + i], b[i]) << i;
    ASSERT_EQ(ab2[i], a2[i]) << i;
    ASSERT_EQ(ab2[v + i], b2[i]) << i;
  }
}

TEST(BatchRunner, FusedGraphGivesTheUnfusedLogits) {
  auto m = tiny();
  auto fused = runner(*m, true);
  auto plain = runner(*m, false);
  size_t n_fused = 0;
  for (const auto& n : fused->graph().graph.nodes())
    n_fused += n.op == graph::OpKind::RmsNormMul || n.op == graph::OpKind::SwiGlu;
  EXPECT_GT(n_fused, 0u);
  EXPECT_LT(fused->graph().graph.nodes().size(), plain->graph().graph.nodes().size());
  EXPECT_EQ(run(*fused, {{kA, 0, kBlocksA, 3}}), run(*plain, {{kA, 0, kBlocksA, 3}}));
}

// Kernel time accrues only while timing is on, and never exceeds the steps' wall time.
TEST(BatchRunner, KernelTimingCountsOnlyWhileOn) {
  auto m = tiny();
  auto r = runner(*m);
  run(*r, {{kA, 0, kBlocksA, 1}});
  EXPECT_EQ(r->kernel_seconds(), 0.0);
  r->set_kernel_timing(true);
  const auto t0 = std::chrono::steady_clock::now();
  run(*r, {{kB, 0, kBlocksB, 1}});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double on = r->kernel_seconds();
  EXPECT_GT(on, 0.0);
  EXPECT_LE(on, wall);
  // The same time by op kind: every kind the model runs, adding up to the total.
  const auto by_op = r->kernel_seconds_by_op();
  double sum = 0;
  for (const auto& [op, s] : by_op) sum += s;
  EXPECT_NEAR(sum, on, 1e-9 + 1e-6 * on);
  EXPECT_TRUE(by_op.count("RmsNormMul") || by_op.count("RmsNorm")) << by_op.size();
  EXPECT_TRUE(std::any_of(by_op.begin(), by_op.end(),
                          [](const auto& kv) { return kv.first.rfind("MatMul ", 0) == 0; }));
  r->set_kernel_timing(false);
  const int32_t next = 17;
  run(*r, {{{&next, 1}, 7, kBlocksA, 1}});
  EXPECT_EQ(r->kernel_seconds(), on);
  EXPECT_EQ(r->kernel_seconds_by_op(), by_op);
}

TEST(BatchRunner, BadChunksAreRefusedBeforeRunning) {
  auto m = tiny();
  auto r = runner(*m);
  const std::vector<int32_t> too_few = {3};  // 7 tokens need 2 blocks of 4
  const std::vector<int32_t> outside = {3, 99};
  const std::vector<int32_t> bad_token = {1, 1 << 20};
  EXPECT_EQ(r->step(std::vector<SeqChunk>{{kA, 0, too_few, 1}}).status().code(),
            ErrorCode::OutOfRange);
  EXPECT_EQ(r->step(std::vector<SeqChunk>{{kA, 0, outside, 1}}).status().code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(r->step(std::vector<SeqChunk>{{bad_token, 0, kBlocksB, 1}}).status().code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(r->step(std::vector<SeqChunk>{}).status().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace autoglm::runtime

// KV block allocator and prefix cache: ref counts, tables, chain hashing, reuse limits, LRU
// eviction order and TTL.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>

#include "serve/block_manager.h"
#include "serve/prefix_cache.h"

namespace autoglm::serve {
namespace {

std::vector<int32_t> iota_tokens(int n, int32_t from = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(BlockManager, GrowIsAllOrNothingAndReleaseFreesEverything) {
  BlockManager bm(/*n_blocks=*/4, /*block_size=*/4, nullptr);
  BlockTable a, b;
  ASSERT_TRUE(bm.grow(a, 5));  // 2 blocks
  EXPECT_EQ(a.blocks, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(bm.grow(a, 8));  // still 2 blocks
  EXPECT_EQ(a.blocks.size(), 2u);
  EXPECT_FALSE(bm.grow(b, 9));  // needs 3, 2 left: nothing taken
  EXPECT_TRUE(b.blocks.empty());
  EXPECT_EQ(bm.stats().free, 2);
  ASSERT_TRUE(bm.grow(b, 8));
  EXPECT_EQ(bm.available(), 0);
  EXPECT_EQ(bm.stats().used, 4);
  bm.release(a);
  EXPECT_TRUE(a.blocks.empty());
  EXPECT_EQ(bm.stats().free, 2);
  bm.release(b);
  const BlockStats s = bm.stats();
  EXPECT_EQ(s.total, 4);
  EXPECT_EQ(s.free, 4);
  EXPECT_EQ(s.used, 0);
  EXPECT_EQ(s.cached, 0);
}

TEST(PrefixHash, ChainsParentAndTokens) {
  const auto t = iota_tokens(4);
  const uint64_t h = block_hash(kRootBlockHash, t);
  EXPECT_EQ(h, block_hash(kRootBlockHash, t));
  EXPECT_NE(h, block_hash(h, t));  // same tokens, other parent
  auto u = t;
  u[3] = 99;
  EXPECT_NE(h, block_hash(kRootBlockHash, u));
  auto swapped = t;
  std::swap(swapped[0], swapped[1]);
  EXPECT_NE(h, block_hash(kRootBlockHash, swapped));
}

TEST(PrefixCache, ReusesFullBlocksButNeverTheLastToken) {
  PrefixCache cache(4, 8, {});
  BlockManager bm(8, 4, &cache);
  const auto prompt = iota_tokens(12);  // exactly 3 full blocks
  BlockTable a;
  ASSERT_TRUE(bm.grow(a, 12));
  bm.publish(a, prompt, 12);
  EXPECT_EQ(cache.size(), 3);

  // The same 12 tokens: the third block holds the last token, so only 2 blocks are reused.
  BlockTable b;
  EXPECT_EQ(bm.reuse_prefix(b, prompt), 8);
  EXPECT_EQ(b.blocks, (std::vector<int32_t>{a.blocks[0], a.blocks[1]}));
  EXPECT_EQ(bm.ref_count(a.blocks[0]), 2);
  // A longer prompt sharing 10 tokens: 2 blocks.
  auto longer = iota_tokens(20);
  longer[10] = 500;
  BlockTable c;
  EXPECT_EQ(bm.reuse_prefix(c, longer), 8);
  // A prompt differing in the first block shares nothing even if later blocks match.
  auto other = prompt;
  other[0] = 77;
  BlockTable d;
  EXPECT_EQ(bm.reuse_prefix(d, other), 0);
  EXPECT_EQ(cache.queried_tokens(), 12 + 20 + 12);
  EXPECT_EQ(cache.hit_tokens(), 16);

  bm.release(a);
  bm.release(b);
  bm.release(c);
  bm.release(d);
  const BlockStats s = bm.stats();
  EXPECT_EQ(s.used, 0);
  EXPECT_EQ(s.cached, 3);  // idle but indexed
  EXPECT_EQ(s.free, 5);
}

TEST(PrefixCache, OnlyComputedFullBlocksArePublished) {
  PrefixCache cache(4, 4, {});
  BlockManager bm(4, 4, &cache);
  const auto t = iota_tokens(10);
  BlockTable a;
  ASSERT_TRUE(bm.grow(a, 10));
  bm.publish(a, t, 3);
  EXPECT_EQ(cache.size(), 0);
  bm.publish(a, t, 7);
  EXPECT_EQ(cache.size(), 1);
  bm.publish(a, t, 10);
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(a.n_published, 2);
}

TEST(PrefixCache, DuplicateBlocksStayPrivate) {
  PrefixCache cache(4, 4, {});
  BlockManager bm(4, 4, &cache);
  const auto t = iota_tokens(5);
  BlockTable a, b;
  ASSERT_TRUE(bm.grow(a, 5));
  ASSERT_TRUE(bm.grow(b, 5));
  bm.publish(a, t, 5);
  bm.publish(b, t, 5);  // same content computed twice concurrently
  EXPECT_EQ(cache.size(), 1);
  bm.release(b);
  EXPECT_EQ(bm.stats().free, 2);  // b's copy and its partial block
  bm.release(a);
  EXPECT_EQ(bm.stats().cached, 1);
}

TEST(PrefixCache, EvictsLeastRecentlyUsedIdleBlocksTailFirst) {
  PrefixCache cache(2, 6, {});
  BlockManager bm(6, 2, &cache);
  const auto p = iota_tokens(5, 0);    // blocks [0 1] [2 3] + partial
  const auto q = iota_tokens(5, 100);  // blocks [100 101] [102 103] + partial
  BlockTable a, b;
  ASSERT_TRUE(bm.grow(a, 5));
  bm.publish(a, p, 5);
  ASSERT_TRUE(bm.grow(b, 5));
  bm.publish(b, q, 5);
  const std::vector<int32_t> ablocks = a.blocks, bblocks = b.blocks;
  bm.release(a);  // a's tail goes idle before its head
  bm.release(b);
  EXPECT_EQ(bm.stats().cached, 4);
  EXPECT_EQ(bm.stats().free, 2);

  // Allocation uses the free list first, then idle cached blocks in LRU order.
  BlockTable c;
  ASSERT_TRUE(bm.grow(c, 2 * 2));
  EXPECT_EQ(cache.size(), 4);
  ASSERT_TRUE(bm.grow(c, 3 * 2));
  EXPECT_EQ(c.blocks.back(), ablocks[1]);  // a's second block: released first
  ASSERT_TRUE(bm.grow(c, 4 * 2));
  EXPECT_EQ(c.blocks.back(), ablocks[0]);
  EXPECT_EQ(cache.size(), 2);
  // Touching q again makes it most recent; nothing of p is left to reuse.
  BlockTable d;
  EXPECT_EQ(bm.reuse_prefix(d, q), 4);
  BlockTable e;
  EXPECT_EQ(bm.reuse_prefix(e, p), 0);
  EXPECT_FALSE(bm.grow(e, 2));  // everything is in use
  bm.release(c);
  bm.release(d);
  EXPECT_EQ(bm.stats().used, 0);
}

TEST(PrefixCache, ReferencedBlocksAreNeverEvicted) {
  PrefixCache cache(2, 2, {});
  BlockManager bm(2, 2, &cache);
  const auto p = iota_tokens(3);
  BlockTable a;
  ASSERT_TRUE(bm.grow(a, 3));
  bm.publish(a, p, 3);
  bm.release(a);
  BlockTable b;
  EXPECT_EQ(bm.reuse_prefix(b, p), 2);  // holds the cached block
  EXPECT_EQ(bm.available(), 1);
  BlockTable c;
  EXPECT_FALSE(bm.grow(c, 4));
  EXPECT_EQ(cache.size(), 1);
  bm.release(b);
}

TEST(PrefixCache, TtlExpiresIdleBlocks) {
  PrefixCache cache(2, 4, std::chrono::milliseconds(20));
  BlockManager bm(4, 2, &cache);
  const auto p = iota_tokens(5);
  BlockTable a;
  ASSERT_TRUE(bm.grow(a, 5));
  bm.publish(a, p, 5);
  bm.release(a);
  const auto released = Clock::now();
  bm.expire(released);
  EXPECT_EQ(bm.stats().cached, 2);
  bm.expire(released + std::chrono::milliseconds(25));
  EXPECT_EQ(bm.stats().cached, 0);
  EXPECT_EQ(bm.stats().free, 4);
  BlockTable b;
  EXPECT_EQ(bm.reuse_prefix(b, p), 0);
}

}  // namespace
}  // namespace autoglm::serve

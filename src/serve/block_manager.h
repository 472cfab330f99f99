// Fixed-size KV blocks of a shared pool: a free list, reference counts, per-sequence block
// tables, and (optionally) a prefix cache whose idle blocks are reclaimed LRU when the free list
// runs dry. Not thread-safe: the engine thread owns it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "serve/prefix_cache.h"

namespace autoglm::serve {

// The blocks one sequence holds: block i covers positions [i*block_size, (i+1)*block_size).
struct BlockTable {
  std::vector<int32_t> blocks;
  int64_t n_published = 0;              // leading full blocks already offered to the prefix cache
  uint64_t last_hash = kRootBlockHash;  // chain hash of those blocks
};

struct BlockStats {
  int64_t total = 0, used = 0, free = 0, cached = 0;  // cached: idle, kept for prefix reuse
};

class BlockManager {
 public:
  // cache may be null (no prefix reuse); it must have been built for the same pool.
  BlockManager(int64_t n_blocks, int64_t block_size, PrefixCache* cache);

  int64_t block_size() const { return block_size_; }
  int64_t n_blocks() const { return static_cast<int64_t>(ref_.size()); }
  // Blocks a new allocation could get: free ones plus idle cached ones.
  int64_t available() const;
  int64_t blocks_for(int64_t n_tokens) const { return (n_tokens + block_size_ - 1) / block_size_; }

  // Starts an empty table with the longest cached prefix of `tokens` (shared, read-only full
  // blocks); returns the tokens it covers.
  int64_t reuse_prefix(BlockTable& t, std::span<const int32_t> tokens);
  // Grows the table to cover n_tokens positions; all or nothing: false when the pool is short.
  bool grow(BlockTable& t, int64_t n_tokens);
  // Offers the table's full blocks among tokens[0, n_computed) (K/V written) to the prefix cache.
  void publish(BlockTable& t, std::span<const int32_t> tokens, int64_t n_computed);
  // Drops the table's references, tail first so a prefix's tail is evicted before its head.
  void release(BlockTable& t);
  // Returns idle cached blocks past their TTL to the free list.
  void expire(Clock::time_point now);

  BlockStats stats() const;
  int32_t ref_count(int32_t block) const { return ref_[static_cast<size_t>(block)]; }

 private:
  int32_t take();  // a free block, or the LRU idle cached one; the caller checked available()

  int64_t block_size_;
  PrefixCache* cache_;
  std::vector<int32_t> ref_;   // per block
  std::vector<int32_t> free_;  // stack of unreferenced, unindexed blocks
};

}  // namespace autoglm::serve

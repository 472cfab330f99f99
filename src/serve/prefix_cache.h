// Automatic prefix caching: full KV blocks indexed by a hash of (parent block hash, the block's
// token ids), so a new sequence reuses every block of its longest cached prefix. Blocks nobody
// references stay indexed on an LRU list until the allocator needs them (or their TTL passes).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace autoglm::serve {

using Clock = std::chrono::steady_clock;

// The chain hash of the empty prefix: the parent of a sequence's first block.
inline constexpr uint64_t kRootBlockHash = 0x9e3779b97f4a7c15ull;

// Hash of a full block given its parent's hash.
uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens);

struct PrefixMatch {
  std::vector<int32_t> blocks;  // physical blocks of the matched prefix, in order
  uint64_t last_hash = kRootBlockHash;
};

class PrefixCache {
 public:
  // ttl 0: idle cached blocks live until evicted for space.
  PrefixCache(int64_t block_size, int64_t n_blocks, std::chrono::milliseconds ttl);

  // The longest cached prefix of `tokens` in full blocks, never covering the last token (its
  // logits must be computed, so at most (size - 1) / block_size blocks). Counts the query.
  // Takes no references: the caller adopts the blocks at once.
  PrefixMatch lookup(std::span<const int32_t> tokens);

  // Indexes a freshly computed full block; false (nothing changes) when an equal block is
  // already indexed or this block already is.
  bool insert(uint64_t parent, std::span<const int32_t> tokens, int32_t block);
  bool indexed(int32_t block) const { return entry_of_[static_cast<size_t>(block)] != nullptr; }

  // An indexed block lost its last reference: it becomes evictable (most recently used last).
  void park(int32_t block, Clock::time_point now);
  // A parked block is referenced again.
  void unpark(int32_t block);
  // Drops the least recently used idle block from the index and hands it back; nullopt when
  // none is idle.
  std::optional<int32_t> evict();
  // Drops idle blocks parked longer than the TTL; returns them (empty without a TTL).
  std::vector<int32_t> expire(Clock::time_point now);

  int64_t idle() const { return static_cast<int64_t>(lru_.size()); }
  int64_t size() const { return static_cast<int64_t>(index_.size()); }
  int64_t queried_tokens() const { return queried_tokens_; }
  int64_t hit_tokens() const { return hit_tokens_; }

 private:
  struct Entry {
    uint64_t hash, parent;
    std::vector<int32_t> tokens;  // compared on lookup: a hash collision never shares K/V
    int32_t block;
  };
  struct Idle {
    int32_t block;
    Clock::time_point since;
  };
  const Entry* find(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const;
  void drop(int32_t block);

  int64_t block_size_;
  std::chrono::milliseconds ttl_;
  std::unordered_multimap<uint64_t, Entry> index_;
  std::vector<const Entry*> entry_of_;  // per physical block; null when not indexed
  std::list<Idle> lru_;                 // front: least recently used
  std::vector<std::list<Idle>::iterator> lru_pos_;
  std::vector<bool> parked_;
  int64_t queried_tokens_ = 0, hit_tokens_ = 0;
};

}  // namespace autoglm::serve

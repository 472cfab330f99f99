#include "serve/block_manager.h"

#include <algorithm>

namespace autoglm::serve {

BlockManager::BlockManager(int64_t n_blocks, int64_t block_size, PrefixCache* cache)
    : block_size_(block_size), cache_(cache), ref_(static_cast<size_t>(n_blocks), 0) {
  free_.reserve(static_cast<size_t>(n_blocks));
  // Highest id at the bottom: blocks come out 0, 1, 2, ... which keeps tests readable.
  for (int64_t b = n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

int64_t BlockManager::available() const {
  return static_cast<int64_t>(free_.size()) + (cache_ != nullptr ? cache_->idle() : 0);
}

int32_t BlockManager::take() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    b = *cache_->evict();
  }
  ref_[static_cast<size_t>(b)] = 1;
  return b;
}

int64_t BlockManager::reuse_prefix(BlockTable& t, std::span<const int32_t> tokens) {
  if (cache_ == nullptr || !t.blocks.empty()) return 0;
  PrefixMatch m = cache_->lookup(tokens);
  for (int32_t b : m.blocks) {
    if (ref_[static_cast<size_t>(b)]++ == 0) cache_->unpark(b);
  }
  t.blocks = std::move(m.blocks);
  t.n_published = static_cast<int64_t>(t.blocks.size());
  t.last_hash = m.last_hash;
  return t.n_published * block_size_;
}

bool BlockManager::grow(BlockTable& t, int64_t n_tokens) {
  const int64_t need = blocks_for(n_tokens) - static_cast<int64_t>(t.blocks.size());
  if (need <= 0) return true;
  if (need > available()) return false;
  for (int64_t i = 0; i < need; ++i) t.blocks.push_back(take());
  return true;
}

void BlockManager::publish(BlockTable& t, std::span<const int32_t> tokens, int64_t n_computed) {
  if (cache_ == nullptr) return;
  const int64_t full = std::min<int64_t>(n_computed / block_size_, t.blocks.size());
  for (; t.n_published < full; ++t.n_published) {
    auto block = tokens.subspan(static_cast<size_t>(t.n_published * block_size_),
                                static_cast<size_t>(block_size_));
    // A duplicate of an indexed block stays private and is freed normally; the chain hash is
    // the same either way, so later blocks still chain.
    cache_->insert(t.last_hash, block, t.blocks[static_cast<size_t>(t.n_published)]);
    t.last_hash = block_hash(t.last_hash, block);
  }
}

void BlockManager::release(BlockTable& t) {
  const auto now = Clock::now();
  for (auto it = t.blocks.rbegin(); it != t.blocks.rend(); ++it) {
    const int32_t b = *it;
    if (--ref_[static_cast<size_t>(b)] > 0) continue;
    if (cache_ != nullptr && cache_->indexed(b)) {
      cache_->park(b, now);
    } else {
      free_.push_back(b);
    }
  }
  t = BlockTable{};
}

void BlockManager::expire(Clock::time_point now) {
  if (cache_ == nullptr) return;
  for (int32_t b : cache_->expire(now)) free_.push_back(b);
}

BlockStats BlockManager::stats() const {
  BlockStats s;
  s.total = n_blocks();
  s.free = static_cast<int64_t>(free_.size());
  s.cached = cache_ != nullptr ? cache_->idle() : 0;
  s.used = s.total - s.free - s.cached;
  return s;
}

}  // namespace autoglm::serve

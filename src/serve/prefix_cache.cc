#include "serve/prefix_cache.h"

#include <algorithm>
#include <cstring>

namespace autoglm::serve {
namespace {

// splitmix64 finalizer: a cheap mix with full avalanche.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix(parent ^ tokens.size());
  for (int32_t t : tokens) h = mix(h ^ static_cast<uint32_t>(t));
  return h;
}

PrefixCache::PrefixCache(int64_t block_size, int64_t n_blocks, std::chrono::milliseconds ttl)
    : block_size_(block_size),
      ttl_(ttl),
      entry_of_(static_cast<size_t>(n_blocks), nullptr),
      lru_pos_(static_cast<size_t>(n_blocks)),
      parked_(static_cast<size_t>(n_blocks), false) {}

const PrefixCache::Entry* PrefixCache::find(uint64_t hash, uint64_t parent,
                                            std::span<const int32_t> tokens) const {
  auto [lo, hi] = index_.equal_range(hash);
  for (auto it = lo; it != hi; ++it) {
    const Entry& e = it->second;
    if (e.parent == parent &&
        std::equal(e.tokens.begin(), e.tokens.end(), tokens.begin(), tokens.end())) {
      return &e;
    }
  }
  return nullptr;
}

PrefixMatch PrefixCache::lookup(std::span<const int32_t> tokens) {
  PrefixMatch m;
  const auto n = static_cast<int64_t>(tokens.size());
  queried_tokens_ += n;
  const int64_t max_blocks = n > 0 ? (n - 1) / block_size_ : 0;
  for (int64_t i = 0; i < max_blocks; ++i) {
    auto block =
        tokens.subspan(static_cast<size_t>(i * block_size_), static_cast<size_t>(block_size_));
    const uint64_t h = block_hash(m.last_hash, block);
    const Entry* e = find(h, m.last_hash, block);
    if (e == nullptr) break;
    m.blocks.push_back(e->block);
    m.last_hash = h;
  }
  hit_tokens_ += static_cast<int64_t>(m.blocks.size()) * block_size_;
  return m;
}

bool PrefixCache::insert(uint64_t parent, std::span<const int32_t> tokens, int32_t block) {
  if (indexed(block)) return false;
  const uint64_t h = block_hash(parent, tokens);
  if (find(h, parent, tokens) != nullptr) return false;
  auto it = index_.emplace(h, Entry{h, parent, {tokens.begin(), tokens.end()}, block});
  entry_of_[static_cast<size_t>(block)] = &it->second;
  return true;
}

void PrefixCache::park(int32_t block, Clock::time_point now) {
  const auto b = static_cast<size_t>(block);
  if (entry_of_[b] == nullptr || parked_[b]) return;
  lru_pos_[b] = lru_.insert(lru_.end(), Idle{block, now});
  parked_[b] = true;
}

void PrefixCache::unpark(int32_t block) {
  const auto b = static_cast<size_t>(block);
  if (!parked_[b]) return;
  lru_.erase(lru_pos_[b]);
  parked_[b] = false;
}

void PrefixCache::drop(int32_t block) {
  const auto b = static_cast<size_t>(block);
  unpark(block);
  const Entry* e = entry_of_[b];
  auto [lo, hi] = index_.equal_range(e->hash);
  for (auto it = lo; it != hi; ++it) {
    if (&it->second == e) {
      index_.erase(it);
      break;
    }
  }
  entry_of_[b] = nullptr;
}

std::optional<int32_t> PrefixCache::evict() {
  if (lru_.empty()) return std::nullopt;
  const int32_t block = lru_.front().block;
  drop(block);
  return block;
}

std::vector<int32_t> PrefixCache::expire(Clock::time_point now) {
  std::vector<int32_t> out;
  if (ttl_.count() <= 0) return out;
  while (!lru_.empty() && now - lru_.front().since >= ttl_) {
    out.push_back(lru_.front().block);
    drop(out.back());
  }
  return out;
}

}  // namespace autoglm::serve

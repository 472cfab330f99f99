// Aligned host memory: kernels rely on 64-byte alignment for vector loads.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace autoglm {

constexpr size_t kDefaultAlignment = 64;

struct AlignedDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedPtr = std::unique_ptr<void, AlignedDeleter>;

// Zero-initialised; returns nullptr when the allocation fails (callers turn that into a Status).
AlignedPtr aligned_alloc_bytes(size_t bytes, size_t alignment = kDefaultAlignment);

inline size_t align_up(size_t n, size_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

}  // namespace autoglm

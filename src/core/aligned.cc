#include "core/aligned.h"

#include <cstring>

namespace autoglm {

AlignedPtr aligned_alloc_bytes(size_t bytes, size_t alignment) {
  const size_t size = align_up(bytes == 0 ? alignment : bytes, alignment);
  void* p = std::aligned_alloc(alignment, size);
  if (p) std::memset(p, 0, size);
  return AlignedPtr(p);
}

}  // namespace autoglm

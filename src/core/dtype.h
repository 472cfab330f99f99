// Element types, including GGUF's quantized block types (layouts match GGUF/ggml byte for byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace autoglm {

// Values are GGUF's ggml_type ids so a file's type field maps directly.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

struct DTypeInfo {
  std::string_view name;  // "q4_1"
  int64_t block_size;     // elements per block (1 for plain types)
  size_t type_size;       // bytes per block
  bool quantized;
};

// nullopt for an id this build does not know (e.g. a K-quant); callers report it.
std::optional<DType> dtype_from_gguf(uint32_t id);
const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) {
  return dtype_info(t).name;
}
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes of n elements (n must be a multiple of the block size).
inline size_t dtype_row_bytes(DType t, int64_t n) {
  const DTypeInfo& i = dtype_info(t);
  return static_cast<size_t>(n / i.block_size) * i.type_size;
}

constexpr int kQK4_0 = 32;
constexpr int kQK4_1 = 32;
constexpr int kQK8_0 = 32;
constexpr int kQK8_1 = 32;

// d: scale (fp16 bits). Element i = d * (nibble - 8); low nibbles hold 0..15, high 16..31.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};
// Element i = d * nibble + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK4_1 / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
// s = d * sum(qs): lets a Q4_1 dot product fold in the weight minimum cheaply.
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK8_1];
};
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);

}  // namespace autoglm

#include "core/dtype.h"

#include <array>

namespace autoglm {
namespace {

struct Entry {
  DType type;
  DTypeInfo info;
};

constexpr std::array kTypes = {
    Entry{DType::F32, {"f32", 1, 4, false}},    Entry{DType::F16, {"f16", 1, 2, false}},
    Entry{DType::Q4_0, {"q4_0", 32, 18, true}}, Entry{DType::Q4_1, {"q4_1", 32, 20, true}},
    Entry{DType::Q5_0, {"q5_0", 32, 22, true}}, Entry{DType::Q5_1, {"q5_1", 32, 24, true}},
    Entry{DType::Q8_0, {"q8_0", 32, 34, true}}, Entry{DType::Q8_1, {"q8_1", 32, 36, true}},
    Entry{DType::I8, {"i8", 1, 1, false}},      Entry{DType::I16, {"i16", 1, 2, false}},
    Entry{DType::I32, {"i32", 1, 4, false}},    Entry{DType::I64, {"i64", 1, 8, false}},
    Entry{DType::F64, {"f64", 1, 8, false}},    Entry{DType::BF16, {"bf16", 1, 2, false}},
};

}  // namespace

std::optional<DType> dtype_from_gguf(uint32_t id) {
  for (const auto& e : kTypes) {
    if (static_cast<uint32_t>(e.type) == id) return e.type;
  }
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType t) {
  for (const auto& e : kTypes) {
    if (e.type == t) return e.info;
  }
  static const DTypeInfo kUnknown{"unknown", 1, 0, false};
  return kUnknown;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kTypes) {
    if (e.info.name == name) return e.type;
  }
  return std::nullopt;
}

}  // namespace autoglm

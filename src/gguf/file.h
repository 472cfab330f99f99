// GGUF v2/v3 reader: the file is memory-mapped and tensors are zero-copy views into it. Every
// count, offset, string length and tensor extent is checked against the file size, so a
// truncated or hostile file yields a CorruptFile status, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/tensor_desc.h"

namespace autoglm::gguf {

// GGUF metadata value types (gguf_type).
enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

struct Value;
using Array = std::vector<Value>;

// A metadata value. Integers of every width are stored widened; `type` keeps the file's type.
struct Value {
  ValueType type = ValueType::U32;
  ValueType elem_type = ValueType::U8;  // for arrays
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<Array>> v;

  bool is_array() const { return type == ValueType::Array; }
  bool is_string() const { return type == ValueType::String; }
  bool is_integer() const;
  bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
  int64_t as_int() const;   // any integer or bool type
  double as_float() const;  // float or integer types
  const std::string& as_string() const;
  const Array& as_array() const;
  std::string to_string(size_t max_items = 8) const;  // for `inspect`
};

const char* value_type_name(ValueType t);

struct TensorInfo {
  std::string name;
  TensorDesc desc;                // contiguous desc of the stored tensor
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // points into the mapping
  size_t bytes = 0;
};

class File {
 public:
  // Maps and validates the file. Errors: NotFound, IoError, CorruptFile, Unsupported (dtype).
  static Result<std::unique_ptr<File>> open(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  uint32_t version() const { return version_; }
  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  size_t alignment() const { return alignment_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;
  // Typed getters: NotFound when absent, InvalidArgument (naming the key) on a type mismatch.
  Result<std::string> get_string(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  // Defaults for optional keys; a present key of the wrong type is still an error.
  Result<int64_t> get_int_or(std::string_view key, int64_t fallback) const;
  Result<double> get_float_or(std::string_view key, double fallback) const;
  // String array (e.g. tokenizer.ggml.tokens); InvalidArgument if not an array of strings.
  Result<std::vector<std::string>> get_string_array(std::string_view key) const;
  // Numeric array as int64 / float (e.g. token_type, scores).
  Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
  Result<std::vector<float>> get_float_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  File() = default;
  Status parse();

  std::string path_;
  int fd_ = -1;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  std::vector<std::pair<std::string, Value>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace autoglm::gguf

// GGUF v3 writer, used by tests and tools to make small models (e.g. random-weight llamas).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor_desc.h"
#include "gguf/file.h"

namespace autoglm::gguf {

class Writer {
 public:
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  // dims innermost first; data must hold dtype_row_bytes(dtype, dims[0]) * rows bytes.
  void add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& dims,
                  std::vector<uint8_t> data);

  Status write(const std::string& path, uint32_t alignment = 32) const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace autoglm::gguf

// Shape and memory description of a tensor. dims[0] is the innermost (contiguous) dimension, as
// in GGUF; strides are in bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace autoglm {

constexpr int kMaxDims = 4;

enum class Layout : uint8_t {
  RowMajor = 0,  // dims[0] contiguous
};

struct TensorDesc {
  DType dtype = DType::F32;
  int n_dims = 1;
  std::array<int64_t, kMaxDims> dims{1, 1, 1, 1};
  std::array<int64_t, kMaxDims> strides{0, 0, 0, 0};  // bytes; strides[0] is the block/element size
  Layout layout = Layout::RowMajor;

  // Contiguous tensor of the given dims (innermost first).
  static TensorDesc contiguous(DType dtype, std::initializer_list<int64_t> dims);
  static TensorDesc contiguous(DType dtype, const int64_t* dims, int n_dims);

  int64_t elements() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
  int64_t rows() const { return dims[1] * dims[2] * dims[3]; }
  size_t row_bytes() const { return dtype_row_bytes(dtype, dims[0]); }
  size_t bytes() const;              // extent of the tensor's memory
  std::string shape_string() const;  // "[576, 49152]"
};

}  // namespace autoglm

#include "core/tensor_desc.h"

namespace autoglm {

TensorDesc TensorDesc::contiguous(DType dtype, const int64_t* dims, int n_dims) {
  TensorDesc d;
  d.dtype = dtype;
  d.n_dims = n_dims;
  for (int i = 0; i < n_dims; ++i) d.dims[i] = dims[i];
  const DTypeInfo& info = dtype_info(dtype);
  d.strides[0] = static_cast<int64_t>(info.type_size);
  d.strides[1] = static_cast<int64_t>(dtype_row_bytes(dtype, d.dims[0]));
  for (int i = 2; i < kMaxDims; ++i) d.strides[i] = d.strides[i - 1] * d.dims[i - 1];
  return d;
}

TensorDesc TensorDesc::contiguous(DType dtype, std::initializer_list<int64_t> dims) {
  return contiguous(dtype, dims.begin(), static_cast<int>(dims.size()));
}

size_t TensorDesc::bytes() const {
  size_t extent = row_bytes();
  for (int i = 1; i < kMaxDims; ++i) extent += static_cast<size_t>((dims[i] - 1) * strides[i]);
  return extent;
}

std::string TensorDesc::shape_string() const {
  std::string s = "[";
  for (int i = 0; i < n_dims; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace autoglm

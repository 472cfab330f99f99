#include "gguf/writer.h"

#include <cstdio>
#include <cstring>
#include <memory>

namespace autoglm::gguf {
namespace {

Value scalar(ValueType t, uint64_t u) {
  Value v;
  v.type = t;
  v.v = u;
  return v;
}

class Out {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    buf_.insert(buf_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void pad_to(size_t alignment) {
    buf_.resize((buf_.size() + alignment - 1) / alignment * alignment, 0);
  }
  std::vector<uint8_t>& bytes() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

void put_value(Out& o, const Value& v) {
  switch (v.type) {
    case ValueType::U8:
      o.put<uint8_t>(static_cast<uint8_t>(v.as_int()));
      break;
    case ValueType::I8:
      o.put<int8_t>(static_cast<int8_t>(v.as_int()));
      break;
    case ValueType::U16:
      o.put<uint16_t>(static_cast<uint16_t>(v.as_int()));
      break;
    case ValueType::I16:
      o.put<int16_t>(static_cast<int16_t>(v.as_int()));
      break;
    case ValueType::U32:
      o.put<uint32_t>(static_cast<uint32_t>(v.as_int()));
      break;
    case ValueType::I32:
      o.put<int32_t>(static_cast<int32_t>(v.as_int()));
      break;
    case ValueType::U64:
      o.put<uint64_t>(static_cast<uint64_t>(v.as_int()));
      break;
    case ValueType::I64:
      o.put<int64_t>(v.as_int());
      break;
    case ValueType::F32:
      o.put<float>(static_cast<float>(v.as_float()));
      break;
    case ValueType::F64:
      o.put<double>(v.as_float());
      break;
    case ValueType::Bool:
      o.put<uint8_t>(v.as_int() ? 1 : 0);
      break;
    case ValueType::String:
      o.put_string(v.as_string());
      break;
    case ValueType::Array: {
      o.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
      o.put<uint64_t>(v.as_array().size());
      for (const Value& e : v.as_array()) put_value(o, e);
      break;
    }
  }
}

template <typename T, typename F>
Value make_array(ValueType et, const std::vector<T>& items, F make) {
  Value v;
  v.type = ValueType::Array;
  v.elem_type = et;
  auto arr = std::make_shared<Array>();
  for (const T& x : items) arr->push_back(make(x));
  v.v = std::move(arr);
  return v;
}

}  // namespace

void Writer::set_u32(const std::string& key, uint32_t v) {
  kv_.emplace_back(key, scalar(ValueType::U32, v));
}
void Writer::set_bool(const std::string& key, bool v) {
  kv_.emplace_back(key, scalar(ValueType::Bool, v));
}

void Writer::set_i32(const std::string& key, int32_t v) {
  Value x;
  x.type = ValueType::I32;
  x.v = int64_t{v};
  kv_.emplace_back(key, std::move(x));
}

void Writer::set_f32(const std::string& key, float v) {
  Value x;
  x.type = ValueType::F32;
  x.v = double{v};
  kv_.emplace_back(key, std::move(x));
}

void Writer::set_string(const std::string& key, const std::string& v) {
  Value x;
  x.type = ValueType::String;
  x.v = v;
  kv_.emplace_back(key, std::move(x));
}

void Writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
  kv_.emplace_back(key, make_array(ValueType::String, v, [](const std::string& s) {
                     Value e;
                     e.type = ValueType::String;
                     e.v = s;
                     return e;
                   }));
}

void Writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  kv_.emplace_back(key, make_array(ValueType::I32, v, [](int32_t i) {
                     Value e;
                     e.type = ValueType::I32;
                     e.v = int64_t{i};
                     return e;
                   }));
}

void Writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
  kv_.emplace_back(key, make_array(ValueType::F32, v, [](float f) {
                     Value e;
                     e.type = ValueType::F32;
                     e.v = double{f};
                     return e;
                   }));
}

void Writer::add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& dims,
                        std::vector<uint8_t> data) {
  tensors_.push_back({name, dtype, dims, std::move(data)});
}

Status Writer::write(const std::string& path, uint32_t alignment) const {
  Out o;
  o.put<uint32_t>(0x46554747);
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors_.size());
  const bool custom_alignment = alignment != 32;
  o.put<uint64_t>(kv_.size() + (custom_alignment ? 1 : 0));
  for (const auto& [key, v] : kv_) {
    o.put_string(key);
    o.put<uint32_t>(static_cast<uint32_t>(v.type));
    put_value(o, v);
  }
  if (custom_alignment) {
    o.put_string("general.alignment");
    o.put<uint32_t>(static_cast<uint32_t>(ValueType::U32));
    o.put<uint32_t>(alignment);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    int64_t d[kMaxDims] = {1, 1, 1, 1};
    for (size_t i = 0; i < t.dims.size() && i < kMaxDims; ++i) d[i] = t.dims[i];
    const size_t expected =
        TensorDesc::contiguous(t.dtype, d, static_cast<int>(t.dims.size())).bytes();
    if (t.data.size() != expected) {
      return error(ErrorCode::InvalidArgument, "tensor '" + t.name + "' has " +
                                                   std::to_string(t.data.size()) +
                                                   " bytes, expected " + std::to_string(expected));
    }
    o.put_string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t dim : t.dims) o.put<uint64_t>(static_cast<uint64_t>(dim));
    o.put<uint32_t>(static_cast<uint32_t>(t.dtype));
    o.put<uint64_t>(offset);
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }
  o.pad_to(alignment);
  for (const auto& t : tensors_) {
    o.bytes().insert(o.bytes().end(), t.data.begin(), t.data.end());
    o.pad_to(alignment);
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return error(ErrorCode::IoError, "cannot create '" + path + "': " + std::strerror(errno));
  if (std::fwrite(o.bytes().data(), 1, o.bytes().size(), f.get()) != o.bytes().size()) {
    return error(ErrorCode::IoError, "short write to '" + path + "'");
  }
  return {};
}

}  // namespace autoglm::gguf

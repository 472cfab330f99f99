#include "gguf/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace autoglm::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
// Hostile-file guards: no real model comes near these, and they keep a forged count from
// turning into a huge allocation before the bounds checks can reject it.
constexpr uint64_t kMaxStringLen = 1ull << 30;
constexpr uint64_t kMaxArrayDepth = 4;

// Sequential bounds-checked reader over the mapping.
class Cursor {
 public:
  Cursor(const uint8_t* base, size_t size) : base_(base), size_(size) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  Status read(T* out, const char* what) {
    if (remaining() < sizeof(T)) return truncated(what);
    std::memcpy(out, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return {};
  }
  Status read_string(std::string* out, const char* what) {
    uint64_t len = 0;
    AUTOGLM_RETURN_IF_ERROR(read(&len, what));
    if (len > kMaxStringLen || len > remaining()) {
      return error(ErrorCode::CorruptFile, std::string("string length ") + std::to_string(len) +
                                               " for " + what + " at offset " +
                                               std::to_string(pos_ - 8) + " exceeds the file");
    }
    out->assign(reinterpret_cast<const char*>(base_ + pos_), len);
    pos_ += len;
    return {};
  }
  Status truncated(const char* what) const {
    return error(ErrorCode::CorruptFile, std::string("file is truncated: reading ") + what +
                                             " at offset " + std::to_string(pos_) + " of " +
                                             std::to_string(size_) + " bytes");
  }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
};

size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::Bool:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
      return 8;
    default:
      return 0;
  }
}

Status read_value(Cursor& c, ValueType type, Value* out, const std::string& key, int depth);

template <typename Stored, typename T>
Status read_as(Cursor& c, Value* out, const char* what) {
  T v{};
  AUTOGLM_RETURN_IF_ERROR(c.read(&v, what));
  out->v = static_cast<Stored>(v);
  return {};
}

Status read_scalar(Cursor& c, ValueType type, Value* out, const char* what) {
  out->type = type;
  switch (type) {
    case ValueType::U8:
      return read_as<uint64_t, uint8_t>(c, out, what);
    case ValueType::I8:
      return read_as<int64_t, int8_t>(c, out, what);
    case ValueType::U16:
      return read_as<uint64_t, uint16_t>(c, out, what);
    case ValueType::I16:
      return read_as<int64_t, int16_t>(c, out, what);
    case ValueType::U32:
      return read_as<uint64_t, uint32_t>(c, out, what);
    case ValueType::I32:
      return read_as<int64_t, int32_t>(c, out, what);
    case ValueType::U64:
      return read_as<uint64_t, uint64_t>(c, out, what);
    case ValueType::I64:
      return read_as<int64_t, int64_t>(c, out, what);
    case ValueType::F32:
      return read_as<double, float>(c, out, what);
    case ValueType::F64:
      return read_as<double, double>(c, out, what);
    case ValueType::Bool: {
      uint8_t v = 0;
      AUTOGLM_RETURN_IF_ERROR(c.read(&v, what));
      if (v > 1)
        return error(ErrorCode::CorruptFile, std::string("invalid bool value for ") + what);
      out->v = v != 0;
      return {};
    }
    default:
      return error(ErrorCode::Internal, "not a scalar type");
  }
}

Status read_value(Cursor& c, ValueType type, Value* out, const std::string& key, int depth) {
  if (type == ValueType::String) {
    out->type = type;
    std::string s;
    AUTOGLM_RETURN_IF_ERROR(c.read_string(&s, key.c_str()));
    out->v = std::move(s);
    return {};
  }
  if (type != ValueType::Array) return read_scalar(c, type, out, key.c_str());
  if (depth >= static_cast<int>(kMaxArrayDepth)) {
    return error(ErrorCode::CorruptFile, "arrays nested too deeply in '" + key + "'");
  }
  uint32_t elem = 0;
  uint64_t n = 0;
  AUTOGLM_RETURN_IF_ERROR(c.read(&elem, key.c_str()));
  AUTOGLM_RETURN_IF_ERROR(c.read(&n, key.c_str()));
  if (elem > static_cast<uint32_t>(ValueType::F64)) {
    return error(ErrorCode::CorruptFile,
                 "unknown array element type " + std::to_string(elem) + " for key '" + key + "'");
  }
  const auto et = static_cast<ValueType>(elem);
  // Each element takes at least one byte (strings take 8), so a count past the remaining
  // bytes is a lie we can reject before allocating.
  const size_t min_elem =
      et == ValueType::String ? 8 : (et == ValueType::Array ? 12 : scalar_size(et));
  if (n > c.remaining() / min_elem) {
    return error(ErrorCode::CorruptFile, "array '" + key + "' claims " + std::to_string(n) +
                                             " elements, more than the file can hold");
  }
  auto arr = std::make_shared<Array>();
  arr->resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    AUTOGLM_RETURN_IF_ERROR(read_value(c, et, &(*arr)[i], key, depth + 1));
  }
  out->type = ValueType::Array;
  out->elem_type = et;
  out->v = std::move(arr);
  return {};
}

Status type_error(std::string_view key, const char* wanted, const Value& v) {
  return error(ErrorCode::InvalidArgument, "metadata key '" + std::string(key) + "' is " +
                                               value_type_name(v.type) + ", expected " + wanted);
}

Status missing(std::string_view key) {
  return error(ErrorCode::NotFound, "metadata key '" + std::string(key) + "' is missing");
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8:
      return "u8";
    case ValueType::I8:
      return "i8";
    case ValueType::U16:
      return "u16";
    case ValueType::I16:
      return "i16";
    case ValueType::U32:
      return "u32";
    case ValueType::I32:
      return "i32";
    case ValueType::F32:
      return "f32";
    case ValueType::Bool:
      return "bool";
    case ValueType::String:
      return "string";
    case ValueType::Array:
      return "array";
    case ValueType::U64:
      return "u64";
    case ValueType::I64:
      return "i64";
    case ValueType::F64:
      return "f64";
  }
  return "unknown";
}

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v) ||
         std::holds_alternative<bool>(v);
}

int64_t Value::as_int() const {
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  return 0;
}

double Value::as_float() const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  return static_cast<double>(as_int());
}

const std::string& Value::as_string() const {
  static const std::string kEmpty;
  auto* s = std::get_if<std::string>(&v);
  return s ? *s : kEmpty;
}

const Array& Value::as_array() const {
  static const Array kEmpty;
  auto* a = std::get_if<std::shared_ptr<Array>>(&v);
  return a && *a ? **a : kEmpty;
}

std::string Value::to_string(size_t max_items) const {
  switch (type) {
    case ValueType::String: {
      std::string s = as_string();
      if (s.size() > 80) s = s.substr(0, 77) + "...";
      for (auto& ch : s)
        if (ch == '\n') ch = ' ';
      return "\"" + s + "\"";
    }
    case ValueType::Array: {
      const Array& a = as_array();
      std::string s = "[";
      for (size_t i = 0; i < a.size() && i < max_items; ++i) {
        if (i) s += ", ";
        s += a[i].to_string(max_items);
      }
      if (a.size() > max_items) s += ", ... (" + std::to_string(a.size()) + " items)";
      return s + "]";
    }
    case ValueType::Bool:
      return as_int() ? "true" : "false";
    case ValueType::F32:
    case ValueType::F64:
      return std::to_string(as_float());
    default:
      return std::to_string(as_int());
  }
}

Result<std::unique_ptr<File>> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) {
    const int err = errno;
    return error(err == ENOENT ? ErrorCode::NotFound : ErrorCode::IoError,
                 "cannot open '" + path + "': " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(f->fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    return error(ErrorCode::IoError, "'" + path + "' is not a regular file");
  }
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ < 24) {
    return error(ErrorCode::CorruptFile, "'" + path + "' is too small to be a GGUF file (" +
                                             std::to_string(f->size_) + " bytes)");
  }
  void* p = mmap(nullptr, f->size_, PROT_READ, MAP_SHARED, f->fd_, 0);
  if (p == MAP_FAILED) {
    return error(ErrorCode::IoError, "cannot map '" + path + "': " + std::strerror(errno));
  }
  f->base_ = static_cast<const uint8_t*>(p);
  Status st_parse = f->parse();
  if (!st_parse.ok()) {
    return Status(st_parse.code(), "'" + path + "': " + st_parse.message());
  }
  return f;
}

File::~File() {
  if (base_) munmap(const_cast<uint8_t*>(base_), size_);
  if (fd_ >= 0) ::close(fd_);
}

Status File::parse() {
  Cursor c(base_, size_);
  uint32_t magic = 0;
  AUTOGLM_RETURN_IF_ERROR(c.read(&magic, "magic"));
  if (magic != kMagic) {
    return error(ErrorCode::CorruptFile,
                 "not a GGUF file (bad magic); expected a .gguf model file");
  }
  AUTOGLM_RETURN_IF_ERROR(c.read(&version_, "version"));
  if (version_ != 2 && version_ != 3) {
    return error(ErrorCode::Unsupported, "GGUF version " + std::to_string(version_) +
                                             " is not supported (supported: 2, 3)");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  AUTOGLM_RETURN_IF_ERROR(c.read(&n_tensors, "tensor count"));
  AUTOGLM_RETURN_IF_ERROR(c.read(&n_kv, "metadata count"));
  // A tensor entry is at least 8+4+8+4+8 bytes and a kv at least 8+4+1.
  if (n_tensors > c.remaining() / 32) {
    return error(ErrorCode::CorruptFile,
                 "tensor count " + std::to_string(n_tensors) +
                     " is impossible for a file of this size (the file is truncated or corrupt)");
  }
  if (n_kv > c.remaining() / 13) {
    return error(ErrorCode::CorruptFile,
                 "metadata count " + std::to_string(n_kv) +
                     " is impossible for a file of this size (the file is truncated or corrupt)");
  }

  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    AUTOGLM_RETURN_IF_ERROR(c.read_string(&key, "metadata key"));
    uint32_t type = 0;
    AUTOGLM_RETURN_IF_ERROR(c.read(&type, "metadata type"));
    if (type > static_cast<uint32_t>(ValueType::F64)) {
      return error(ErrorCode::CorruptFile,
                   "unknown metadata type " + std::to_string(type) + " for key '" + key + "'");
    }
    Value v;
    AUTOGLM_RETURN_IF_ERROR(read_value(c, static_cast<ValueType>(type), &v, key, 0));
    if (kv_index_.count(key)) {
      return error(ErrorCode::CorruptFile, "duplicate metadata key '" + key + "'");
    }
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const Value* a = find("general.alignment")) {
    const int64_t al = a->as_int();
    if (!a->is_integer() || al <= 0 || (al & (al - 1)) != 0 || al > (1 << 20)) {
      return error(ErrorCode::CorruptFile, "general.alignment must be a power of two");
    }
    alignment_ = static_cast<size_t>(al);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    AUTOGLM_RETURN_IF_ERROR(c.read_string(&t.name, "tensor name"));
    uint32_t n_dims = 0;
    AUTOGLM_RETURN_IF_ERROR(c.read(&n_dims, "tensor dims"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return error(ErrorCode::CorruptFile,
                   "tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions (1..4)");
    }
    int64_t dims[kMaxDims] = {1, 1, 1, 1};
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      AUTOGLM_RETURN_IF_ERROR(c.read(&dim, "tensor dim"));
      if (dim == 0 || dim > (1ull << 40) || elements > (1ull << 50) / dim) {
        return error(ErrorCode::CorruptFile,
                     "tensor '" + t.name + "' has an absurd dimension " + std::to_string(dim));
      }
      elements *= dim;
      dims[d] = static_cast<int64_t>(dim);
    }
    uint32_t type_id = 0;
    AUTOGLM_RETURN_IF_ERROR(c.read(&type_id, "tensor type"));
    auto dt = dtype_from_gguf(type_id);
    if (!dt) {
      return error(ErrorCode::Unsupported, "tensor '" + t.name + "' has data type id " +
                                               std::to_string(type_id) +
                                               " which this build does not support");
    }
    if (dims[0] % dtype_info(*dt).block_size != 0) {
      return error(ErrorCode::CorruptFile, "tensor '" + t.name + "': row of " +
                                               std::to_string(dims[0]) +
                                               " elements is not a whole number of " +
                                               std::string(dtype_name(*dt)) + " blocks");
    }
    AUTOGLM_RETURN_IF_ERROR(c.read(&t.offset, "tensor offset"));
    if (t.offset % alignment_ != 0) {
      return error(ErrorCode::CorruptFile, "tensor '" + t.name + "' offset is not aligned");
    }
    t.desc = TensorDesc::contiguous(*dt, dims, static_cast<int>(n_dims));
    t.bytes = t.desc.bytes();
    if (tensor_index_.count(t.name)) {
      return error(ErrorCode::CorruptFile, "duplicate tensor name '" + t.name + "'");
    }
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  const size_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_start > size_ && !tensors_.empty()) return c.truncated("tensor data");
  for (auto& t : tensors_) {
    const size_t avail = size_ >= data_start ? size_ - data_start : 0;
    if (t.offset > avail || t.bytes > avail - t.offset) {
      return error(ErrorCode::CorruptFile, "tensor '" + t.name + "' (" + std::to_string(t.bytes) +
                                               " bytes at offset " + std::to_string(t.offset) +
                                               ") extends past the end of the file; the file is "
                                               "truncated or corrupt, download it again");
    }
    t.data = base_ + data_start + t.offset;
  }
  return {};
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

Result<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_string()) return type_error(key, "string", *v);
  return v->as_string();
}

Result<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_integer() || v->type == ValueType::Bool) return type_error(key, "an integer", *v);
  return v->as_int();
}

Result<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_float() && !v->is_integer()) return type_error(key, "a number", *v);
  return v->as_float();
}

Result<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (v->type != ValueType::Bool) return type_error(key, "bool", *v);
  return v->as_int() != 0;
}

Result<int64_t> File::get_int_or(std::string_view key, int64_t fallback) const {
  return find(key) ? get_int(key) : Result<int64_t>(fallback);
}

Result<double> File::get_float_or(std::string_view key, double fallback) const {
  return find(key) ? get_float(key) : Result<double>(fallback);
}

Result<std::vector<std::string>> File::get_string_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array() || v->elem_type != ValueType::String) {
    return type_error(key, "an array of strings", *v);
  }
  std::vector<std::string> out;
  out.reserve(v->as_array().size());
  for (const Value& e : v->as_array()) out.push_back(e.as_string());
  return out;
}

Result<std::vector<int64_t>> File::get_int_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array() || scalar_size(v->elem_type) == 0 || v->elem_type == ValueType::F32 ||
      v->elem_type == ValueType::F64) {
    return type_error(key, "an array of integers", *v);
  }
  std::vector<int64_t> out;
  out.reserve(v->as_array().size());
  for (const Value& e : v->as_array()) out.push_back(e.as_int());
  return out;
}

Result<std::vector<float>> File::get_float_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return missing(key);
  if (!v->is_array() || scalar_size(v->elem_type) == 0)
    return type_error(key, "an array of numbers", *v);
  std::vector<float> out;
  out.reserve(v->as_array().size());
  for (const Value& e : v->as_array()) out.push_back(static_cast<float>(e.as_float()));
  return out;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace autoglm::gguf

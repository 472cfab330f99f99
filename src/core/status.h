// Errors as values: a stable code plus a message that tells the user what to do.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace autoglm {

// Stable numeric codes: protocol adapters map these to HTTP/gRPC/MQTT codes, so never renumber.
enum class ErrorCode : int32_t {
  Ok = 0,
  InvalidArgument = 1,    // bad user input (flag, request field, prompt)
  NotFound = 2,           // file, tensor, key or model missing
  IoError = 3,            // read/write/mmap failure
  CorruptFile = 4,        // a file that is truncated, malformed or hostile
  Unsupported = 5,        // valid input this build cannot handle (arch, dtype, op)
  OutOfRange = 6,         // e.g. prompt longer than the context
  ResourceExhausted = 7,  // memory, KV cache, queue full
  Internal = 8,           // a bug: please report
  Cancelled = 9,
  DeadlineExceeded = 10,
  Unavailable = 11,      // not ready: loading or draining
  QueueFull = 12,        // admission refused: the waiting queue is full; retry later
  QueueTimeout = 13,     // waited in the queue past its deadline without starting
  Unauthenticated = 14,  // missing or wrong credentials
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok_status() { return {}; }

  bool ok() const { return code_ == ErrorCode::Ok; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt_file: tensor 'x' extends past the end of the file"
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

inline Status error(ErrorCode code, std::string message) {
  return {code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace autoglm

#define AUTOGLM_CONCAT_INNER(a, b) a##b
#define AUTOGLM_CONCAT(a, b) AUTOGLM_CONCAT_INNER(a, b)

// Return the status from the enclosing function if it is an error.
#define AUTOGLM_RETURN_IF_ERROR(expr) \
  do {                                \
    ::autoglm::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

// auto x = ...Result<T>...; or return its status.
#define AUTOGLM_ASSIGN_OR_RETURN(lhs, expr) \
  AUTOGLM_ASSIGN_OR_RETURN_IMPL(AUTOGLM_CONCAT(_res_, __LINE__), lhs, expr)
#define AUTOGLM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

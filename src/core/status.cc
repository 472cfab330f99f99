#include "core/status.h"

namespace autoglm {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return "ok";
    case ErrorCode::InvalidArgument:
      return "invalid_argument";
    case ErrorCode::NotFound:
      return "not_found";
    case ErrorCode::IoError:
      return "io_error";
    case ErrorCode::CorruptFile:
      return "corrupt_file";
    case ErrorCode::Unsupported:
      return "unsupported";
    case ErrorCode::OutOfRange:
      return "out_of_range";
    case ErrorCode::ResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::Internal:
      return "internal";
    case ErrorCode::Cancelled:
      return "cancelled";
    case ErrorCode::DeadlineExceeded:
      return "deadline_exceeded";
    case ErrorCode::Unavailable:
      return "unavailable";
    case ErrorCode::QueueFull:
      return "queue_full";
    case ErrorCode::QueueTimeout:
      return "queue_timeout";
    case ErrorCode::Unauthenticated:
      return "unauthenticated";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace autoglm

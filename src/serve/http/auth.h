// Bearer API keys. Comparison time depends only on the configured keys, never on how much of a
// presented key matched, and a failure never says which part was wrong.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace autoglm::serve::http {

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: every request is allowed
  explicit ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  // One key per line; blank lines and lines starting with '#' are skipped.
  static Result<ApiKeys> from_file(const std::string& path);

  bool enabled() const { return !keys_.empty(); }
  // authorization: the Authorization header value ("Bearer <key>").
  bool allows(const std::string& authorization) const;

 private:
  std::vector<std::string> keys_;
};

// Equality in time that depends on expected.size() only.
bool constant_time_equal(const std::string& presented, const std::string& expected);

}  // namespace autoglm::serve::http

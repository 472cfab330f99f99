#include "serve/http/auth.h"

#include <fstream>

namespace autoglm::serve::http {

bool constant_time_equal(const std::string& presented, const std::string& expected) {
  // Walk the expected key in full whatever was presented; a length mismatch is folded into the
  // same accumulator instead of returning early.
  volatile unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff = diff | (p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

Result<ApiKeys> ApiKeys::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::NotFound, "cannot read the API key file " + path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    keys.push_back(line);
  }
  if (keys.empty()) {
    return error(ErrorCode::InvalidArgument,
                 "the API key file " + path + " holds no key; put one key per line");
  }
  return ApiKeys(std::move(keys));
}

bool ApiKeys::allows(const std::string& authorization) const {
  if (keys_.empty()) return true;
  static constexpr std::string_view kScheme = "Bearer ";
  const std::string presented = authorization.size() >= kScheme.size() &&
                                        authorization.compare(0, kScheme.size(), kScheme) == 0
                                    ? authorization.substr(kScheme.size())
                                    : std::string();
  // Every key is compared, so the time does not reveal which one (if any) matched.
  bool ok = false;
  for (const std::string& k : keys_) ok = constant_time_equal(presented, k) || ok;
  return ok && !presented.empty();
}

}  // namespace autoglm::serve::http

// Typed reads of request fields: the first wrong type or out-of-range value becomes an
// InvalidArgument that names the field, so a 400 tells the client exactly what to fix.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace autoglm::serve::http {

// Parses a request body; InvalidArgument with the parser's position on malformed JSON, or when
// the top level is not an object.
Result<nlohmann::json> parse_json_object(const std::string& body);

// Reads optional fields of one JSON object; absent (or null) fields leave the output untouched.
// After the first error, further reads do nothing and status() reports that error.
class Fields {
 public:
  // prefix names the object in messages, e.g. "data." for the envelope's data object.
  explicit Fields(const nlohmann::json& obj, std::string prefix = "");
  // The object is held by reference: a temporary would dangle.
  explicit Fields(const nlohmann::json&& obj, std::string prefix = "") = delete;

  bool has(const char* key) const;
  void require(const char* key);  // error "missing required field 'key'" when absent
  void get(const char* key, std::string& out);
  void get(const char* key, bool& out);
  void get(const char* key, int64_t& out, int64_t min, int64_t max);
  void get(const char* key, int32_t& out, int32_t min, int32_t max);
  void get(const char* key, uint64_t& out);
  void get(const char* key, float& out, double min, double max);
  // A string or a list of strings (OpenAI's `stop`), at most max_items.
  void get_string_list(const char* key, std::vector<std::string>& out, size_t max_items);
  // Token ids: a list of integers in [0, n_vocab).
  void get_token_ids(const char* key, std::vector<int32_t>& out, int32_t n_vocab);

  // A field-specific error raised by the caller (keeps the first error).
  void fail(const char* key, const std::string& what);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // The full name of the field that failed ("data.max_tokens"), empty when ok.
  const std::string& failed_field() const { return failed_; }
  std::string name(const char* key) const { return prefix_ + key; }

 private:
  const nlohmann::json* find(const char* key) const;
  const nlohmann::json& obj_;
  std::string prefix_;
  Status status_;
  std::string failed_;
};

}  // namespace autoglm::serve::http

#include "serve/http/json_fields.h"

#include <cmath>
#include <limits>

namespace autoglm::serve::http {

using nlohmann::json;

Result<json> parse_json_object(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return error(ErrorCode::InvalidArgument, "the request body is not valid JSON (at byte " +
                                                 std::to_string(e.byte) + "); send a JSON object");
  }
  if (!j.is_object()) {
    return error(ErrorCode::InvalidArgument, "the request body must be a JSON object");
  }
  return j;
}

Fields::Fields(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

const json* Fields::find(const char* key) const {
  if (!status_.ok() || !obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool Fields::has(const char* key) const {
  if (!obj_.is_object()) return false;
  auto it = obj_.find(key);
  return it != obj_.end() && !it->is_null();
}

void Fields::fail(const char* key, const std::string& what) {
  if (!status_.ok()) return;
  failed_ = name(key);
  status_ = error(ErrorCode::InvalidArgument, "field '" + failed_ + "' " + what);
}

void Fields::require(const char* key) {
  if (status_.ok() && !has(key)) {
    failed_ = name(key);
    status_ = error(ErrorCode::InvalidArgument, "missing required field '" + failed_ + "'");
  }
}

void Fields::get(const char* key, std::string& out) {
  if (const json* v = find(key)) {
    if (!v->is_string()) return fail(key, "must be a string");
    out = v->get<std::string>();
  }
}

void Fields::get(const char* key, bool& out) {
  if (const json* v = find(key)) {
    if (!v->is_boolean()) return fail(key, "must be true or false");
    out = v->get<bool>();
  }
}

void Fields::get(const char* key, int64_t& out, int64_t min, int64_t max) {
  const json* v = find(key);
  if (!v) return;
  // 2.0 is accepted as 2: JSON does not distinguish, and some clients send floats.
  int64_t x = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      return fail(key, "must be at most " + std::to_string(max));
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e18) {
    x = static_cast<int64_t>(v->get<double>());
  } else {
    return fail(key, "must be an integer");
  }
  if (x < min || x > max) {
    return fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         " (got " + std::to_string(x) + ")");
  }
  out = x;
}

void Fields::get(const char* key, int32_t& out, int32_t min, int32_t max) {
  int64_t x = out;
  get(key, x, min, max);
  out = static_cast<int32_t>(x);
}

void Fields::get(const char* key, uint64_t& out) {
  const json* v = find(key);
  if (!v) return;
  if (v->is_number_unsigned()) {
    out = v->get<uint64_t>();
  } else if (v->is_number_integer() && v->get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v->get<int64_t>());
  } else {
    fail(key, "must be a non-negative integer");
  }
}

void Fields::get(const char* key, float& out, double min, double max) {
  const json* v = find(key);
  if (!v) return;
  if (!v->is_number()) return fail(key, "must be a number");
  const double x = v->get<double>();
  if (!(x >= min && x <= max)) {
    return fail(key, "must be between " + json(min).dump() + " and " + json(max).dump() + " (got " +
                         json(x).dump() + ")");
  }
  out = static_cast<float>(x);
}

void Fields::get_string_list(const char* key, std::vector<std::string>& out, size_t max_items) {
  const json* v = find(key);
  if (!v) return;
  std::vector<std::string> items;
  if (v->is_string()) {
    items.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const json& s : *v) {
      if (!s.is_string()) return fail(key, "must be a string or a list of strings");
      items.push_back(s.get<std::string>());
    }
  } else {
    return fail(key, "must be a string or a list of strings");
  }
  if (items.size() > max_items) {
    return fail(key, "has " + std::to_string(items.size()) + " entries; at most " +
                         std::to_string(max_items) + " are allowed");
  }
  for (const std::string& s : items) {
    if (s.empty()) return fail(key, "must not contain empty strings");
  }
  out = std::move(items);
}

void Fields::get_token_ids(const char* key, std::vector<int32_t>& out, int32_t n_vocab) {
  const json* v = find(key);
  if (!v) return;
  if (!v->is_array()) return fail(key, "must be a list of token ids");
  std::vector<int32_t> ids;
  ids.reserve(v->size());
  for (const json& t : *v) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab) {
      return fail(key, "must hold token ids between 0 and " + std::to_string(n_vocab - 1));
    }
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  out = std::move(ids);
}

}  // namespace autoglm::serve::http

// A validator for the subset of JSON Schema (2020-12) the repository's schemas use: type,
// properties, required, additionalProperties (boolean or schema), items, enum, minimum.
// Unknown keywords are an error, so a schema cannot silently outgrow the validator.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace autoglm::testing {

class SchemaValidator {
 public:
  // Every violation as "<json pointer>: <what>"; empty when doc conforms.
  std::vector<std::string> validate(const nlohmann::json& schema, const nlohmann::json& doc) {
    errors_.clear();
    check(schema, doc, "");
    return errors_;
  }

 private:
  static bool has_type(const nlohmann::json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

  void fail(const std::string& at, const std::string& what) {
    errors_.push_back((at.empty() ? "/" : at) + ": " + what);
  }

  void check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at) {
    static const std::set<std::string> known = {
        "$schema", "$id",  "title",   "description",         "type", "properties", "required",
        "items",   "enum", "minimum", "additionalProperties"};
    for (const auto& [key, _] : s.items()) {
      if (!known.count(key)) fail(at, "schema keyword '" + key + "' is not supported by the test");
    }
    if (s.contains("type") && !has_type(v, s["type"])) {
      fail(at, "expected " + s["type"].get<std::string>() + ", got " + v.type_name());
      return;
    }
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) {
      fail(at, v.dump() + " is not one of " + s["enum"].dump());
    }
    if (s.contains("minimum") && v.is_number() && v.get<double>() < s["minimum"].get<double>()) {
      fail(at, v.dump() + " is below the minimum " + s["minimum"].dump());
    }
    if (v.is_object()) {
      for (const auto& r : s.value("required", nlohmann::json::array())) {
        if (!v.contains(r.get<std::string>())) fail(at, "missing '" + r.get<std::string>() + "'");
      }
      const nlohmann::json props = s.value("properties", nlohmann::json::object());
      for (const auto& [key, val] : v.items()) {
        if (props.contains(key)) {
          check(props[key], val, at + "/" + key);
        } else if (s.contains("additionalProperties")) {
          const nlohmann::json& extra = s["additionalProperties"];
          if (extra.is_boolean()) {
            if (!extra.get<bool>()) fail(at, "unexpected property '" + key + "'");
          } else {
            check(extra, val, at + "/" + key);
          }
        }
      }
    }
    if (v.is_array() && s.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) check(s["items"], v[i], at + "/" + std::to_string(i));
    }
  }

  std::vector<std::string> errors_;
};

}  // namespace autoglm::testing

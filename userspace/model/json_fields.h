// Reads the fields of one JSON object without ever throwing, whatever the
// input: the first problem is kept (why()) and every later read is a no-op.
// Used to read recordings back, which may be damaged or hostile.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/event_json.h"

namespace pm::model {

class JsonFields {
 public:
  explicit JsonFields(const nlohmann::json& j) : j_(j) {
    if (!j.is_object()) fail("not an object");
  }
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  void fail(const std::string& why) {
    if (why_.empty()) why_ = why;
  }

  // Integers of any width; `required` false leaves `out` as it is when absent.
  template <typename T>
  void num(const char* key, T& out, bool required = true) {
    const nlohmann::json* v = field(key, required);
    if (!v) return;
    if (v->is_number_unsigned()) {
      auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return fail(std::string(key) + " out of range");
      out = static_cast<T>(u);
    } else if (v->is_number_integer()) {
      auto i = v->get<std::int64_t>();
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          (i > 0 && static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
        return fail(std::string(key) + " out of range");
      out = static_cast<T>(i);
    } else {
      fail(std::string(key) + " is not an integer");
    }
  }
  void str(const char* key, std::string& out, bool required = true) {
    const nlohmann::json* v = field(key, required);
    if (!v) return;
    if (!v->is_string()) return fail(std::string(key) + " is not a string");
    out = v->get_ref<const std::string&>();
  }
  void boolean(const char* key, bool& out, bool required = true) {
    const nlohmann::json* v = field(key, required);
    if (!v) return;
    if (!v->is_boolean()) return fail(std::string(key) + " is not true or false");
    out = v->get<bool>();
  }
  // A name given by one of names.h's functions, turned back into its number.
  template <typename T, typename F>
  void named(const char* key, T& out, F from_name, bool required = true) {
    std::string name;
    if (!field(key, required)) return;
    str(key, name);
    if (!ok()) return;
    if (!from_name(name, out)) fail(std::string(key) + " '" + name.substr(0, 40) + "' is not a known name");
  }
  void addr(const char* key, SockAddr& out, bool required = true) {
    const nlohmann::json* v = field(key, required);
    if (!v) return;
    auto a = sockaddr_from_json(*v);
    if (!a) return fail(std::string(key) + " is not an address");
    out = *a;
  }
  void strings(const char* key, std::vector<std::string>& out, bool required = true) {
    const nlohmann::json* v = field(key, required);
    if (!v) return;
    if (!v->is_array()) return fail(std::string(key) + " is not an array");
    for (const auto& a : *v) {
      if (!a.is_string()) return fail(std::string(key) + " holds a non-string");
      out.push_back(a.get<std::string>());
    }
  }
  const nlohmann::json* field(const char* key, bool required) {
    if (!ok()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) fail(std::string("no ") + key);
      return nullptr;
    }
    return &*it;
  }

 private:
  const nlohmann::json& j_;
  std::string why_;
};

}  // namespace pm::model

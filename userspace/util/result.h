// One error vocabulary for pmtrace: Result<T> holds a value or an Error.
// std::expected would do, but clang 14 (our libFuzzer compiler) cannot build
// libstdc++'s <expected>; this is the small subset we use.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace pm {

struct Error {
  std::string message;  // "failed to <verb> <object>: <reason>"
  int err = 0;          // errno, when one caused it
  std::string hint;     // what the user can do about it, may be empty

  // "message (errno N)"; the hint is printed on its own line by the CLI.
  std::string describe() const;
};

// Builds an Error from errno: "<what>: <strerror> (errno N)".
Error errno_error(const std::string& what, int err = errno, std::string hint = {});
Error make_error(std::string message, std::string hint = {});

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  Error e_;
  bool ok_ = true;
};

}  // namespace pm

// One error vocabulary for pmtrace: Result<T> holds a value or an Error.
// std::expected would do, but clang 14 (our libFuzzer compiler) cannot build
// libstdc++'s <expected>; this is the small subset we use.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace pm {

// What kind of problem an error is: each has one exit status (exit_status_of,
// README "Exit status"). Decided where the error is made.
enum class ErrorKind {
  usage,          // 2: the command line, a target or a configuration is wrong
  cannot_trace,   // 3: this machine or these privileges do not let pmtrace trace, or write what it was asked to
  damaged_input,  // 4: a recording that cannot be read, or not whole
  internal,       // 70: a bug in pmtrace (EX_SOFTWARE)
};

// Exit statuses, the same for every command. The one mapping from errors is
// exit_status_of; 0 and 1 are the investigation's answer.
enum ExitStatus : int {
  kExitOk = 0,            // nothing went wrong (a healthy service, or one stopped on purpose)
  kExitFailureFound = 1,  // the service failed, or a check failed
  kExitUsage = 2,
  kExitCannotTrace = 3,   // also: the capture saw no process of the service (verdict not_seen)
  kExitDamagedInput = 4,
  kExitInternal = 70,
};

struct Error {
  std::string message;  // "failed to <verb> <object>: <reason>"
  int err = 0;          // errno, when one caused it
  std::string hint;     // what the user can do about it, may be empty
  ErrorKind kind = ErrorKind::usage;

  // "message (errno N)"; the hint is printed on its own line by the CLI.
  std::string describe() const;
};

int exit_status_of(ErrorKind kind);

// Builds an Error from errno: "<what>: <strerror> (errno N)". A usage error
// unless made by one of the kinds' own makers below.
Error errno_error(const std::string& what, int err = errno, std::string hint = {});
Error make_error(std::string message, std::string hint = {});
// The same, of another kind.
Error cannot_trace_error(std::string message, std::string hint = {});
Error cannot_trace_errno(const std::string& what, int err = errno, std::string hint = {});
Error damaged_input_error(std::string message, std::string hint = {});
Error internal_error(std::string message);

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

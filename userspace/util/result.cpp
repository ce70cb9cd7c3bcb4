#include "util/result.h"

#include <cstring>

namespace pm {

std::string Error::describe() const {
  if (err == 0) return message;
  return message + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
}

Error errno_error(const std::string& what, int err, std::string hint) {
  return Error{what, err, std::move(hint)};
}

Error make_error(std::string message, std::string hint) {
  return Error{std::move(message), 0, std::move(hint)};
}

Error cannot_trace_error(std::string message, std::string hint) {
  return Error{std::move(message), 0, std::move(hint), ErrorKind::cannot_trace};
}

Error cannot_trace_errno(const std::string& what, int err, std::string hint) {
  return Error{what, err, std::move(hint), ErrorKind::cannot_trace};
}

Error damaged_input_error(std::string message, std::string hint) {
  return Error{std::move(message), 0, std::move(hint), ErrorKind::damaged_input};
}

Error internal_error(std::string message) {
  return Error{"internal error: " + std::move(message), 0, {}, ErrorKind::internal};
}

int exit_status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return kExitUsage;
    case ErrorKind::cannot_trace: return kExitCannotTrace;
    case ErrorKind::damaged_input: return kExitDamagedInput;
    case ErrorKind::internal: return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace pm

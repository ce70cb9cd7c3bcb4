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

}  // namespace pm

// util/redact.h: the input as text to redact, as an argv (split on NUL or
// newline) and as a variable name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "util/redact.h"

namespace {

// A word every secret pattern of redact.h needs (SECRET, PASS..., PWD, TOKEN,
// KEY, CREDENTIAL, in any case), or a URL.
bool secret_looking(std::string_view s) {
  static const std::string_view words[] = {"secret", "pass", "pwd", "token", "key", "credential"};
  std::string lower(s);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (auto w : words)
    if (lower.find(w) != std::string::npos) return true;
  return lower.find("://") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  bool plain = !secret_looking(s);

  std::string r = pm::redact(s);
  if (plain) PM_FUZZ_CHECK(r == s);

  auto argv = pm::fuzz::split_args(s);
  auto ra = pm::redact_argv(argv);
  PM_FUZZ_CHECK(ra.size() == argv.size());  // argument by argument
  if (plain) PM_FUZZ_CHECK(ra == argv);

  bool secret = pm::secret_name(s);
  if (plain) PM_FUZZ_CHECK(!secret);
  return 0;
}

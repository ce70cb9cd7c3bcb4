// util/strings.h: the input as a "#!" line, a size ("64K"), a duration
// ("1.5s") and captured bytes to escape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "util/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);

  std::string interp = pm::shebang_interpreter(s);
  if (!pm::starts_with(s, "#!")) PM_FUZZ_CHECK(interp.empty());
  PM_FUZZ_CHECK(interp.find_first_of(" \t\n") == std::string::npos);  // up to the first blank

  (void)pm::parse_size_bytes(s);

  // Digits, '.', and a unit: never a negative duration.
  if (auto ms = pm::parse_duration_ms(s)) PM_FUZZ_CHECK(*ms >= 0);

  std::string e = pm::escape_bytes(s);
  PM_FUZZ_CHECK(e.size() >= s.size());
  for (unsigned char c : e) PM_FUZZ_CHECK(c >= 0x20 && c != 0x7f);  // control characters escaped
  return 0;
}

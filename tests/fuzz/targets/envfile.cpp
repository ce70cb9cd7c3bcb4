// target/envfile.h parse_env_file: any bytes as a systemd EnvironmentFile=.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "check.h"
#include "target/envfile.h"

namespace {

bool valid_name(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pm::target::EnvFile f = pm::target::parse_env_file(text);

  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  int prev = 1;
  for (const auto& i : f.issues) {
    PM_FUZZ_CHECK(i.line >= prev && i.line <= lines);  // ordered by line, on a line of the file
    PM_FUZZ_CHECK(!i.problem.empty());
    prev = i.line;
  }
  // What systemd sets: valid names only, each once (a later assignment
  // replaces an earlier one); nothing when the file has a NUL byte.
  std::set<std::string> keys;
  for (const auto& v : f.vars) {
    PM_FUZZ_CHECK(valid_name(v.key));
    PM_FUZZ_CHECK(keys.insert(v.key).second);
    PM_FUZZ_CHECK(v.line >= 1 && v.line <= lines);
  }
  if (text.find('\0') != std::string_view::npos) PM_FUZZ_CHECK(f.vars.empty());
  return 0;
}

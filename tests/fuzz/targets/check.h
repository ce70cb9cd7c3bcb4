// PM_FUZZ_CHECK: an invariant a fuzz target checks on a parser's result. A
// failure prints the condition and aborts, which libFuzzer reports as a crash
// and saves the input as crash-<sha1> (with -artifact_prefix).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define PM_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace pm::fuzz {

// The input as an argv: arguments separated by NUL or newline, empty ones kept.
inline std::vector<std::string> split_args(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\0' || s[i] == '\n') {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace pm::fuzz

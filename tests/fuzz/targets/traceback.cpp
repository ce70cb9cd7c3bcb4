// rules/traceback.h: the input as a process's captured stderr.
//
// The two readers were std::regex matches until a long line overflowed the
// stack (libstdc++ recurses per character); those regexes stay here as the
// reference the hand-written matchers must agree with, on inputs short
// enough for them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>

#include "check.h"
#include "rules/traceback.h"
#include "util/strings.h"

namespace {

constexpr std::size_t kReferenceMax = 2048;

std::optional<std::string> reference_error_line(const std::string& output) {
  static const std::regex error_re(
      R"(^([A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit|Interrupt|Warning|ImproperlyConfigured)|HaltServer)(: .*)?$)");
  auto lines = pm::split(output, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string line(pm::trim(*it));
    if (std::regex_match(line, error_re)) return line;
  }
  return std::nullopt;
}

std::optional<std::string> reference_missing_module(const std::string& output) {
  static const std::regex re(R"((?:ModuleNotFoundError|ImportError): No module named '?([A-Za-z_][A-Za-z0-9_.]*)'?)");
  std::optional<std::string> found;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), re); it != std::sregex_iterator(); ++it)
    found = (*it)[1].str();
  if (!found) return std::nullopt;
  auto dot = found->find('.');
  return dot == std::string::npos ? *found : found->substr(0, dot);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pm::rules;
  std::string s(reinterpret_cast<const char*>(data), size);

  auto line = python_error_line(s);
  if (line) {
    PM_FUZZ_CHECK(!line->empty() && line->find('\n') == std::string::npos);
    PM_FUZZ_CHECK(s.find(*line) != std::string::npos);  // a line of the output, trimmed
  }
  auto mod = missing_module(s);
  if (mod) {
    PM_FUZZ_CHECK(!mod->empty() && mod->find('.') == std::string::npos);  // the top-level name
    PM_FUZZ_CHECK(!package_for_module(*mod).empty());
  }
  if (!s.empty()) PM_FUZZ_CHECK(!package_for_module(s).empty());

  if (size <= kReferenceMax) {
    PM_FUZZ_CHECK(line == reference_error_line(s));
    PM_FUZZ_CHECK(mod == reference_missing_module(s));
  }
  return 0;
}

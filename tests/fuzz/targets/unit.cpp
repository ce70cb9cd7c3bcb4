// target/unit.h: the input as a unit file's text, as a unit name, and split on
// NUL/newline as the argv of a command (units_started_by).
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "target/unit.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pm::target;
  std::string s(reinterpret_cast<const char*>(data), size);

  for (const auto& f : environment_files_from_unit_text(s)) {
    PM_FUZZ_CHECK(!f.empty());  // an empty assignment resets the list instead
    PM_FUZZ_CHECK(f.find('\n') == std::string::npos);
  }
  std::string slice = slice_from_unit_text(s);
  PM_FUZZ_CHECK(slice.find('\n') == std::string::npos);
  (void)slice_to_path(slice);

  std::string name = normalize_unit_name(s);
  PM_FUZZ_CHECK(has_unit_suffix(name));
  if (has_unit_suffix(s)) PM_FUZZ_CHECK(name == s);

  auto argv = pm::fuzz::split_args(s);
  auto units = units_started_by(argv);
  PM_FUZZ_CHECK(units.size() <= argv.size());
  for (const auto& u : units) PM_FUZZ_CHECK(has_unit_suffix(u));
  if (!units.empty()) {
    auto slash = argv[0].rfind('/');
    PM_FUZZ_CHECK((slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1)) == "systemctl");
  }
  return 0;
}

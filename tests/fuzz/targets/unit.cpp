// target/unit.h: the input as a unit file's text (and as `systemctl cat`
// output), as a unit name, as a time span, as a shell wrapper's text
// (read_shell_wrapper), and split on NUL/newline as the argv of a command
// (units_started_by, gunicorn's options).
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "analysis/gunicorn_args.h"
#include "target/unit.h"
#include "target/unit_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pm::target;
  std::string s(reinterpret_cast<const char*>(data), size);

  UnitFile parsed;
  parsed.settings = parse_unit_text(s, "");
  for (const auto* f : parsed.list("Service", "EnvironmentFile")) {
    PM_FUZZ_CHECK(!f->value.empty());  // an empty assignment resets the list instead
    PM_FUZZ_CHECK(f->value.find('\n') == std::string::npos);
  }
  std::string slice = slice_from_unit_text(s);
  PM_FUZZ_CHECK(slice.find('\n') == std::string::npos);
  (void)slice_to_path(slice);

  std::string name = normalize_unit_name(s);
  PM_FUZZ_CHECK(has_unit_suffix(name));
  if (has_unit_suffix(s)) PM_FUZZ_CHECK(name == s);

  auto cat = unit_from_systemctl_cat("x", s);
  PM_FUZZ_CHECK(cat.name == "x.service");
  for (const auto& d : cat.dropins) PM_FUZZ_CHECK(d.rfind("/", 0) == 0);
  if (auto ms = parse_timespan_ms(s)) PM_FUZZ_CHECK(*ms >= 0);

  // The input as a shell wrapper's text (doctor reads ExecStart='s wrappers).
  auto w = read_shell_wrapper(s, "/srv/app", {"--workers", "2"});
  PM_FUZZ_CHECK(w.runs_gunicorn == !w.gunicorn_argv.empty());
  if (w.runs_gunicorn) {
    const auto& first = w.gunicorn_argv[0];
    auto slash = first.rfind('/');
    PM_FUZZ_CHECK((slash == std::string::npos ? first : first.substr(slash + 1)) == "gunicorn");
  }
  PM_FUZZ_CHECK(w.cd.find('\n') == std::string::npos && w.cd_unknown.find('\n') == std::string::npos);

  auto argv = pm::fuzz::split_args(s);
  auto g = pm::analysis::parse_gunicorn_args(argv);
  PM_FUZZ_CHECK(g.workers >= 1);
  PM_FUZZ_CHECK(g.binds.size() <= argv.size());
  auto units = units_started_by(argv);
  PM_FUZZ_CHECK(units.size() <= argv.size());
  for (const auto& u : units) PM_FUZZ_CHECK(has_unit_suffix(u));
  if (!units.empty()) {
    auto slash = argv[0].rfind('/');
    PM_FUZZ_CHECK((slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1)) == "systemctl");
  }
  return 0;
}
